package checker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptrace"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/upwatch/upwatch/egress"
	"github.com/upwatch/upwatch/reason"
	"github.com/upwatch/upwatch/settings"
)

// Limits of a TCP check's exchange.
const (
	maxTCPSend = 1 << 10 // bytes sent, after unescaping
	maxTCPRead = 4 << 10 // bytes read while looking for expect
)

// tcpSettings are a TCP monitor's settings as stored. Send keeps the
// escapes the user typed, so the form shows them back unchanged.
type tcpSettings struct {
	Host   string `json:"host"`
	Port   int    `json:"port"`
	Send   string `json:"send,omitempty"`
	Expect string `json:"expect,omitempty"`
}

func tcpType() Type {
	return Type{
		Name:  TypeTCP,
		Label: "TCP port",
		Help:  "A TCP port accepts connections and, optionally, answers as expected.",
		Fields: []settings.FieldInfo{
			{Name: "host", Label: "Host", Kind: settings.KindText, Required: true, Help: "Host name or IP address."},
			{Name: "port", Label: "Port", Kind: settings.KindNumber, Required: true, Help: "1 to 65535."},
			{Name: "send", Label: "Send", Kind: settings.KindText, Help: `Text to send once connected; \r, \n, \t and \\ stand for CR, LF, tab and a backslash.`},
			{Name: "expect", Label: "Expect", Kind: settings.KindText, Help: "Text the server must send within its first 4 KiB, e.g. SSH- (matched as typed)."},
		},
		Reasons:   []string{reason.Timeout, reason.DNS, reason.Refused, reason.Mismatch, reason.Blocked, reason.Error},
		Remote:    true,
		validate:  validateTCP,
		newProber: func(env ProbeEnv) Prober { return &tcpProber{resolver: env.Resolver, egress: env.policy()} },
	}
}

func validateTCP(raw json.RawMessage) (json.RawMessage, settings.FieldErrors) {
	s, errs := decodeAs[tcpSettings](tcpType().Fields, raw)
	if len(errs) > 0 {
		return nil, errs
	}
	if msg := checkHost(s.Host); msg != "" {
		errs.Add("host", "%s", msg)
	}
	if msg := checkPort(s.Port); msg != "" {
		errs.Add("port", "%s", msg)
	}
	if send, err := unescapeSend(s.Send); err != nil {
		errs.Add("send", "%s", err.Error())
	} else if len(send) > maxTCPSend {
		errs.Add("send", "must be at most %d bytes", maxTCPSend)
	}
	if strings.TrimSpace(s.Expect) == "" {
		// Only spaces would match almost any answer: treat it as unset,
		// as the form does for an empty field.
		s.Expect = ""
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return marshalSettings(s)
}

// unescapeSend turns the escapes a user can type in a one-line field
// (\r \n \t \\) into the bytes they stand for. Any other backslash is an
// error rather than kept literally, so a typo such as \m cannot silently
// send something else.
func unescapeSend(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		i++
		if i == len(s) {
			return "", errors.New(`ends with a lone \ (type \\ for a backslash)`)
		}
		switch s[i] {
		case 'r':
			b.WriteByte('\r')
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '\\':
			b.WriteByte('\\')
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			return "", fmt.Errorf(`has an unknown escape \%c (use \r, \n, \t or \\)`, r)
		}
	}
	return b.String(), nil
}

// tcpProber connects to a port and, when asked, sends a line and looks for
// an expected answer.
type tcpProber struct {
	resolver *net.Resolver // nil: the system's
	egress   *egress.Policy
}

func (p *tcpProber) Probe(ctx context.Context, s Spec) Outcome {
	var set tcpSettings
	if err := json.Unmarshal(s.Settings, &set); err != nil {
		return Outcome{Reason: reason.Error, Error: capError("invalid settings: " + err.Error())}
	}
	send, err := unescapeSend(set.Send)
	if err != nil || set.Host == "" {
		// validateTCP makes this unreachable for stored monitors.
		return Outcome{Reason: reason.Error, Error: "invalid settings: host or send"}
	}

	dialer := p.dialer(s) // built before the check's time starts
	timeout := checkTimeout(ctx, s)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var out Outcome
	conn := dialTarget(ctx, dialer, set.Host, set.Port, timeout, &out)
	if conn == nil {
		return out
	}
	defer conn.Close()
	out.Detail = "connected to " + conn.RemoteAddr().String()
	if send == "" && set.Expect == "" {
		out.OK = true
		return out
	}

	// The deadline set by dialTarget ends a silent peer; this also ends
	// the exchange when the caller cancels (shutdown).
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()

	start := time.Now()
	got, matched, err := tcpExchange(conn, send, set.Expect)
	out.Latency += time.Since(start)
	if len(got) > 0 {
		out.Detail += " · banner " + strconv.Quote(peerText(firstLine(got), 60))
	}
	if err != nil && ctx.Err() != nil {
		// A read cut by our own deadline or cancellation: say which.
		err = ctx.Err()
	}
	switch {
	case err == nil && matched:
		out.OK = true
	case err == nil:
		out.Reason = reason.Mismatch
		if len(got) == 0 {
			out.Error = capError(fmt.Sprintf("expected %s but the server sent nothing before closing", settings.Quote(set.Expect, 40)))
		} else {
			out.Error = capError(fmt.Sprintf("expected %s but got %s", settings.Quote(set.Expect, 40), strconv.Quote(peerText(got, 60))))
		}
	default:
		out.Reason, out.Error = classify(err, failState{host: set.Host}, timeout)
		switch {
		case out.Reason == reason.Timeout && set.Expect != "":
			msg := out.Error + " waiting for " + settings.Quote(set.Expect, 40)
			if len(got) > 0 {
				msg += " (got " + strconv.Quote(peerText(got, 60)) + ")"
			}
			out.Error = capError(msg)
		case out.Reason == reason.Error && !errors.Is(err, context.Canceled):
			out.Error = capError("after connecting: " + out.Error)
		}
	}
	return out
}

// tcpExchange writes send, then reads until expect appears, returning what
// was read and whether it matched. A peer that closes, or fills the read
// limit, without the expected text is no error: matched is false. With no
// expect it only writes.
func tcpExchange(conn net.Conn, send, expect string) (got []byte, matched bool, err error) {
	if send != "" {
		if _, err := io.WriteString(conn, send); err != nil {
			return nil, false, err
		}
	}
	if expect == "" {
		return nil, true, nil
	}
	buf := make([]byte, maxTCPRead)
	n := 0
	for n < len(buf) {
		m, err := conn.Read(buf[n:])
		n += m
		// Searching everything read so far each time is simple and cheap
		// at 4 KiB, and finds a match split across reads.
		if bytes.Contains(buf[:n], []byte(expect)) {
			return buf[:n], true, nil
		}
		if errors.Is(err, io.EOF) {
			return buf[:n], false, nil
		}
		if err != nil {
			return buf[:n], false, err
		}
	}
	return buf[:n], false, nil
}

// dialer is how a check of s connects: through the resolver and the
// egress policy, with the server's decision on private addresses.
func (p *tcpProber) dialer(s Spec) *net.Dialer {
	return p.egress.Dialer(&net.Dialer{Resolver: p.resolver, KeepAlive: -1}, !s.DenyPrivate)
}

// dialTarget opens a TCP connection to host:port with d (its resolver and
// egress policy), IPv4 or IPv6 as the name resolves. It fills out's DNS
// and Connect phases and Latency; on failure also Reason and Error, and
// returns nil. The connection's deadline is ctx's.
func dialTarget(ctx context.Context, d *net.Dialer, host string, port int, timeout time.Duration, out *Outcome) net.Conn {
	// The net package reports DNS and connect events to an httptrace
	// ClientTrace in the context, so the HTTP check's phase timer serves
	// here too.
	var pt phaseTimer
	start := time.Now()
	conn, err := d.DialContext(httptrace.WithClientTrace(ctx, pt.trace()), "tcp", hostPort(host, port))
	now := time.Now()
	out.Latency = now.Sub(start)
	if err != nil {
		st := pt.fail(out, now)
		st.host = strings.Trim(host, "[]")
		out.Reason, out.Error = classify(err, st, timeout)
		return nil
	}
	pt.fill(out, now)
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	return conn
}

// peerText renders bytes a peer sent for a message or a detail line:
// printable characters only (anything else, invalid UTF-8 included, becomes
// a space; runs of spaces collapse), at most max runes.
func peerText(b []byte, max int) string {
	s := strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, string(b))
	return settings.Clean(s, max)
}

// firstLine is b's first non-blank line: a banner, or a status line.
func firstLine(b []byte) []byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i]
	}
	return b
}
