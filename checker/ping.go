package checker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/upwatch/upwatch/egress"
	"github.com/upwatch/upwatch/reason"
	"github.com/upwatch/upwatch/settings"
)

// Ping settings' defaults and bounds.
const (
	defaultPingCount   = 3
	maxPingCount       = 10
	defaultPingMaxLoss = 50
	// maxPingInterval spaces echo requests like ping(8) does at a fast
	// rate, without making a check of 10 requests take more than a second.
	maxPingInterval = 100 * time.Millisecond
)

// pingSettings are a ping monitor's stored settings, defaults filled in.
type pingSettings struct {
	Host           string `json:"host"`
	Count          int    `json:"count"`
	MaxLossPercent int    `json:"max_loss_percent"`
}

// pingInput is what a user sends: pointers, because 0 is a valid loss
// limit and must be told apart from "not given".
type pingInput struct {
	Host           string `json:"host"`
	Count          *int   `json:"count"`
	MaxLossPercent *int   `json:"max_loss_percent"`
}

func pingFields() []settings.FieldInfo {
	return []settings.FieldInfo{
		{Name: "host", Label: "Host", Kind: settings.KindText, Required: true,
			Help: "Host name or IP address to ping."},
		{Name: "count", Label: "Echo requests", Kind: settings.KindNumber, Default: strconv.Itoa(defaultPingCount),
			Help: "Echo requests sent per check, 1 to 10."},
		{Name: "max_loss_percent", Label: "Max. loss (%)", Kind: settings.KindNumber, Default: strconv.Itoa(defaultPingMaxLoss),
			Help: "More loss than this fails the check; less marks it degraded."},
	}
}

func pingType() Type {
	return Type{
		Name:     TypePing,
		Label:    "Ping (ICMP)",
		Help:     "A host answers ICMP echo requests without too much loss.",
		Fields:   pingFields(),
		Reasons:  []string{reason.Timeout, reason.Loss, reason.DNS, reason.Blocked, reason.Error},
		Remote:   true,
		validate: validatePing,
		newProber: func(env ProbeEnv) Prober {
			r := env.Resolver
			if r == nil {
				r = net.DefaultResolver
			}
			return &pingProber{resolver: r, egress: env.policy()}
		},
	}
}

func validatePing(raw json.RawMessage) (json.RawMessage, settings.FieldErrors) {
	in, errs := decodeAs[pingInput](pingFields(), raw)
	if len(errs) > 0 {
		return nil, errs
	}
	s := pingSettings{Host: strings.TrimSpace(in.Host), Count: defaultPingCount, MaxLossPercent: defaultPingMaxLoss}
	if msg := checkHost(s.Host); msg != "" {
		errs.Add("host", "%s", msg)
	}
	if in.Count != nil {
		s.Count = *in.Count
		if s.Count < 1 || s.Count > maxPingCount {
			errs.Add("count", "must be between 1 and %d", maxPingCount)
		}
	}
	if in.MaxLossPercent != nil {
		s.MaxLossPercent = *in.MaxLossPercent
		if s.MaxLossPercent < 0 || s.MaxLossPercent > 100 {
			errs.Add("max_loss_percent", "must be between 0 and 100")
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return marshalSettings(s)
}

// pingProber sends ICMP echo requests. Every check opens its own socket, so
// checks running in parallel share nothing: a datagram socket only receives
// replies to its own ID (the kernel demultiplexes them), and every raw
// socket receives a copy of every reply, which echoSession filters.
type pingProber struct {
	resolver *net.Resolver
	egress   *egress.Policy
}

func (p *pingProber) Probe(ctx context.Context, s Spec) Outcome {
	var set pingSettings
	if err := json.Unmarshal(s.Settings, &set); err != nil {
		return Outcome{Reason: reason.Error, Error: capError("invalid ping settings: " + err.Error())}
	}
	if set.Count < 1 || set.Count > maxPingCount {
		set.Count = defaultPingCount
	}
	timeout := checkTimeout(ctx, s)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	start := time.Now()
	dst, err := p.resolve(ctx, set.Host)
	if err != nil {
		out := Outcome{Latency: time.Since(start)}
		out.Reason, out.Error = classify(err, failState{host: set.Host}, timeout)
		if out.Reason == reason.Error && !errors.Is(err, context.Canceled) {
			out.Reason = reason.DNS
		}
		return out
	}

	// No dialer here: the policy judges the address before a packet goes.
	if err := p.egress.Check(netip.AddrPortFrom(dst, 0), !s.DenyPrivate); err != nil {
		return Outcome{Reason: reason.Blocked, Error: capError(err.Error()), Latency: time.Since(start)}
	}
	conn, dgram, err := listenICMP(dst.Is6())
	if err != nil {
		return Outcome{Reason: reason.Error, Error: capError(err.Error())}
	}
	defer conn.Close()
	sess := newEchoSession(conn, dgram, dst, set.Count)
	err = sess.run(ctx, pingInterval(timeout, set.Count))
	elapsed := time.Since(start)
	switch {
	case errors.Is(err, context.Canceled):
		// The caller gave up (shutdown): not a verdict on the target.
		return Outcome{Reason: reason.Error, Error: "check canceled", Latency: elapsed}
	case err != nil:
		return Outcome{Reason: reason.Error, Error: capError(err.Error()), Latency: elapsed}
	}
	out := pingVerdict(dst.String(), sess.sent, sess.replies(), set.MaxLossPercent)
	if out.Latency == 0 {
		// No reply at all: like a timed-out HTTP check, the time waited.
		out.Latency = elapsed
	}
	return out
}

// resolve picks the address to ping: an IP literal as it is, else the
// name's first IPv4 address, or its first IPv6 address if it has none.
func (p *pingProber) resolve(ctx context.Context, host string) (netip.Addr, error) {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), nil
	}
	addrs, err := p.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, err
	}
	var v6 netip.Addr
	for _, a := range addrs {
		a = a.Unmap()
		if a.Is4() {
			return a, nil
		}
		if !v6.IsValid() {
			v6 = a
		}
	}
	if !v6.IsValid() {
		return netip.Addr{}, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	return v6, nil
}

// pingInterval spaces count echo requests so that the last one leaves in
// the first half of the timeout, leaving the rest for its reply.
func pingInterval(timeout time.Duration, count int) time.Duration {
	return min(maxPingInterval, timeout/time.Duration(2*count))
}

// listenICMP opens an ICMP socket: an unprivileged datagram socket when
// net.ipv4.ping_group_range allows it, else a raw one (root or CAP_NET_RAW).
func listenICMP(v6 bool) (conn *icmp.PacketConn, dgram bool, err error) {
	dgramNet, rawNet, bind := "udp4", "ip4:icmp", "0.0.0.0"
	if v6 {
		dgramNet, rawNet, bind = "udp6", "ip6:ipv6-icmp", "::"
	}
	c, dErr := icmp.ListenPacket(dgramNet, bind)
	if dErr == nil {
		return c, true, nil
	}
	c, rErr := icmp.ListenPacket(rawNet, bind)
	if rErr == nil {
		return c, false, nil
	}
	return nil, false, icmpOpenError(dErr, rErr)
}

// icmpOpenError explains why neither socket kind could be opened. Lack of
// permission is what a user can fix, so that message says how.
func icmpOpenError(dgramErr, rawErr error) error {
	if errors.Is(dgramErr, os.ErrPermission) && errors.Is(rawErr, os.ErrPermission) {
		bin := "upwatch"
		if exe, err := os.Executable(); err == nil && !strings.HasSuffix(exe, ".test") {
			bin = exe
		}
		return fmt.Errorf("ICMP is not permitted: allow unprivileged ping with "+
			"`sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"` "+
			"or give the binary CAP_NET_RAW (`setcap cap_net_raw+ep %s`)", filepath.Clean(bin))
	}
	return fmt.Errorf("cannot open an ICMP socket: %s", errnoText(rawErr))
}

// PingAvailable tells whether this process may send ICMP echo requests,
// and if not, what to change. The API calls it when a ping monitor is
// created, so the user learns it then rather than from failing checks.
func PingAvailable() error {
	c, _, err := listenICMP(false)
	if err != nil {
		return err
	}
	c.Close()
	return nil
}

// errnoText is an error's system-call reason alone ("network is
// unreachable"), without the op and addresses Go wraps it in.
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return errorText(err)
}

// echoSession is one check's exchange of echo requests and replies.
type echoSession struct {
	conn  *icmp.PacketConn
	dgram bool
	dst   netip.Addr
	to    net.Addr
	// id is the echo identifier on a raw socket. On a datagram socket the
	// kernel sets it (and only delivers our replies), so it is not checked.
	id int
	// nonce is the echo payload. Raw sockets of parallel checks see each
	// other's replies and a 16-bit ID can collide; the reply must carry
	// our nonce back.
	nonce  [8]byte
	sentAt []time.Time     // by sequence number; zero until sent
	rtt    []time.Duration // by sequence number; zero until answered
	sent   int
}

func newEchoSession(conn *icmp.PacketConn, dgram bool, dst netip.Addr, count int) *echoSession {
	e := &echoSession{
		conn:   conn,
		dgram:  dgram,
		dst:    dst,
		id:     rand.IntN(1 << 16),
		sentAt: make([]time.Time, count),
		rtt:    make([]time.Duration, count),
	}
	for i := range e.nonce {
		e.nonce[i] = byte(rand.Uint32())
	}
	ip := net.IP(dst.AsSlice())
	if dgram {
		e.to = &net.UDPAddr{IP: ip, Zone: dst.Zone()}
	} else {
		e.to = &net.IPAddr{IP: ip, Zone: dst.Zone()}
	}
	return e
}

// run sends the echo requests interval apart and collects replies until
// every request was answered or ctx's deadline. A lost reply is not an
// error; errors are failures to send or to read.
func (e *echoSession) run(ctx context.Context, interval time.Duration) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		return errors.New("ping needs a deadline")
	}
	// Unblock a read when the caller cancels; the deadline alone covers
	// the normal end.
	stop := context.AfterFunc(ctx, func() { e.conn.Close() })
	defer stop()

	buf := make([]byte, 1500)
	count := len(e.sentAt)
	next := time.Now()
	answered := 0
	for answered < count {
		now := time.Now()
		if !now.Before(deadline) {
			return nil
		}
		if e.sent < count && !now.Before(next) {
			if err := e.send(e.sent); err != nil {
				return contextOr(ctx, fmt.Errorf("cannot send to %s: %s", e.dst, errnoText(err)))
			}
			e.sent++
			next = now.Add(interval)
		}
		wake := deadline
		if e.sent < count && next.Before(wake) {
			wake = next
		}
		if err := e.conn.SetReadDeadline(wake); err != nil {
			return contextOr(ctx, fmt.Errorf("reading replies: %s", errnoText(err)))
		}
		n, from, err := e.conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			return contextOr(ctx, fmt.Errorf("reading replies: %s", errnoText(err)))
		}
		at := time.Now()
		if seq, ok := e.match(buf[:n], from); ok {
			e.rtt[seq] = max(at.Sub(e.sentAt[seq]), time.Nanosecond)
			answered++
		}
	}
	return nil
}

// contextOr is ctx's error when it has one (a read failed because the
// socket was closed on cancel or deadline; a deadline is a normal end),
// else err.
func contextOr(ctx context.Context, err error) error {
	switch ctx.Err() {
	case nil:
		return err
	case context.DeadlineExceeded:
		return nil
	}
	return ctx.Err()
}

func (e *echoSession) send(seq int) error {
	typ := icmp.Type(ipv4.ICMPTypeEcho)
	if e.dst.Is6() {
		typ = ipv6.ICMPTypeEchoRequest
	}
	msg := icmp.Message{Type: typ, Body: &icmp.Echo{ID: e.id, Seq: seq, Data: e.nonce[:]}}
	// For ICMPv6 the kernel computes the checksum (it needs the source
	// address), so no pseudo-header is passed.
	b, err := msg.Marshal(nil)
	if err != nil {
		return err
	}
	e.sentAt[seq] = time.Now()
	_, err = e.conn.WriteTo(b, e.to)
	return err
}

// match tells whether b, received from from, is the first reply to one of
// our requests, and to which.
func (e *echoSession) match(b []byte, from net.Addr) (seq int, ok bool) {
	proto, reply := 1, icmp.Type(ipv4.ICMPTypeEchoReply) // 1: ICMP's IP protocol number
	if e.dst.Is6() {
		proto, reply = 58, ipv6.ICMPTypeEchoReply // 58: ICMPv6
	}
	m, err := icmp.ParseMessage(proto, b)
	if err != nil || m.Type != reply {
		return 0, false
	}
	echo, ok := m.Body.(*icmp.Echo)
	if !ok || (!e.dgram && echo.ID != e.id) || !bytes.HasPrefix(echo.Data, e.nonce[:]) {
		return 0, false
	}
	if echo.Seq < 0 || echo.Seq >= len(e.sentAt) || e.sentAt[echo.Seq].IsZero() || e.rtt[echo.Seq] != 0 {
		return 0, false // not ours, or a duplicate
	}
	var ip net.IP
	switch a := from.(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.IPAddr:
		ip = a.IP
	}
	src, _ := netip.AddrFromSlice(ip)
	if src.Unmap() != e.dst.WithZone("") {
		return 0, false
	}
	return echo.Seq, true
}

// replies are the round trips of the answered requests.
func (e *echoSession) replies() []time.Duration {
	var out []time.Duration
	for _, d := range e.rtt {
		if d > 0 {
			out = append(out, d)
		}
	}
	return out
}

// pingVerdict judges a check that sent requests to addr and got replies
// with round trips rtts, against the monitor's loss limit (percent).
func pingVerdict(addr string, sent int, rtts []time.Duration, maxLoss int) Outcome {
	got := len(rtts)
	if sent == 0 {
		// The lookup used up the timeout.
		return Outcome{Reason: reason.Timeout, Error: "timeout before an echo request was sent to " + addr}
	}
	lost := sent - got
	pct := (lost*100 + sent/2) / sent
	out := Outcome{Detail: fmt.Sprintf("%d/%d replies from %s · loss %d%%", got, sent, addr, pct)}
	if got == 0 {
		out.Reason = reason.Timeout
		out.Error = fmt.Sprintf("no reply from %s (%d sent)", addr, sent)
		return out
	}
	var sum time.Duration
	for _, d := range rtts {
		sum += d
	}
	out.Latency = sum / time.Duration(got)
	out.Detail = fmt.Sprintf("%d/%d replies from %s · avg %s ms · loss %d%%", got, sent, addr, formatMs(out.Latency), pct)
	switch {
	case lost*100 > maxLoss*sent:
		out.Reason = reason.Loss
		out.Error = fmt.Sprintf("%d of %d lost (%d%%, limit %d%%)", lost, sent, pct, maxLoss)
	case lost > 0:
		out.OK, out.Degraded = true, true
		out.Reason = reason.Loss
		out.Error = fmt.Sprintf("%d of %d lost (%d%%)", lost, sent, pct)
	default:
		out.OK = true
	}
	return out
}

// formatMs renders a round trip in milliseconds with about three
// significant digits: 0.05, 1.23, 12.3, 123.
func formatMs(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	prec := 0
	switch {
	case ms < 10:
		prec = 2
	case ms < 100:
		prec = 1
	}
	return strconv.FormatFloat(ms, 'f', prec, 64)
}
