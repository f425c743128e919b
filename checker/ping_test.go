package checker

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"github.com/upwatch/upwatch/reason"
)

// requirePing skips a test that needs ICMP sockets on a machine that does
// not allow them, except in CI, which must.
func requirePing(t *testing.T) {
	t.Helper()
	if err := PingAvailable(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

// noDNSResolver fails every lookup without sending a packet.
func newPingTestProber() Prober {
	return pingType().newProber(ProbeEnv{Resolver: noDNSResolver()})
}

func pingSpec(t testing.TB, host string, count int, timeout time.Duration) Spec {
	t.Helper()
	raw, errs := validatePing(json.RawMessage(fmt.Sprintf(`{"host":%q,"count":%d}`, host, count)))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return Spec{Type: TypePing, Timeout: timeout, Settings: raw}
}

func TestPingValidate(t *testing.T) {
	tests := []settingsCase{
		{"defaults", `{"host":" example.org "}`, `{"host":"example.org","count":3,"max_loss_percent":50}`, ""},
		{"all set", `{"host":"10.0.0.1","count":10,"max_loss_percent":0}`, `{"host":"10.0.0.1","count":10,"max_loss_percent":0}`, ""},
		{"ipv6", `{"host":"[::1]","count":1,"max_loss_percent":100}`, `{"host":"[::1]","count":1,"max_loss_percent":100}`, ""},
		{"count 0", `{"host":"a.example","count":0}`, "", "count"},
		{"count 11", `{"host":"a.example","count":11}`, "", "count"},
		{"loss 101", `{"host":"a.example","max_loss_percent":101}`, "", "max_loss_percent"},
		{"loss negative", `{"host":"a.example","max_loss_percent":-1}`, "", "max_loss_percent"},
		{"missing host", `{"count":3}`, "", "host"},
		{"bad host", `{"host":"exa mple.org"}`, "", "host"},
		{"count as string", `{"host":"a.example","count":"3"}`, "", "count"},
		{"unknown field", `{"host":"a.example","port":80}`, "", "port"},
	}
	runSettingsCases(t, TypePing, tests)
}

func TestPingLoopback(t *testing.T) {
	requirePing(t)
	out := newPingTestProber().Probe(context.Background(), pingSpec(t, "127.0.0.1", 3, 2*time.Second))
	if !out.OK || out.Degraded || out.Reason != "" {
		t.Fatalf("want up: %+v", out)
	}
	if out.Latency <= 0 || out.Latency > time.Second {
		t.Errorf("latency = %v", out.Latency)
	}
	if !strings.HasPrefix(out.Detail, "3/3 replies from 127.0.0.1 · avg ") || !strings.HasSuffix(out.Detail, " ms · loss 0%") {
		t.Errorf("detail = %q", out.Detail)
	}
}

// TestPingSocketKinds runs an exchange over each kind of socket this
// process may open, IPv4 and IPv6; CI allows both kinds.
func TestPingSocketKinds(t *testing.T) {
	requirePing(t)
	kinds := []struct {
		network, bind, dst string
		dgram              bool
	}{
		{"udp4", "0.0.0.0", "127.0.0.1", true},
		{"ip4:icmp", "0.0.0.0", "127.0.0.1", false},
		{"udp6", "::", "::1", true},
		{"ip6:ipv6-icmp", "::", "::1", false},
	}
	for _, k := range kinds {
		t.Run(k.network, func(t *testing.T) {
			conn, err := icmp.ListenPacket(k.network, k.bind)
			if err != nil {
				if os.Getenv("CI") == "true" && !strings.Contains(k.network, "6") {
					t.Fatal(err)
				}
				t.Skip(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			sess := newEchoSession(conn, k.dgram, netip.MustParseAddr(k.dst), 3)
			if err := sess.run(ctx, 10*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if sess.sent != 3 || len(sess.replies()) != 3 {
				t.Fatalf("sent %d, %d replies", sess.sent, len(sess.replies()))
			}
		})
	}
}

// TestPingParallel: checks running at once must each see their own
// replies, all of them, and no other's.
func TestPingParallel(t *testing.T) {
	requirePing(t)
	p := newPingTestProber()
	const n = 10
	outs := make([]Outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			outs[i] = p.Probe(context.Background(), pingSpec(t, "127.0.0.1", 5, 3*time.Second))
		})
	}
	wg.Wait()
	for i, out := range outs {
		if !out.OK || out.Degraded || !strings.HasPrefix(out.Detail, "5/5 replies") {
			t.Errorf("probe %d: %+v", i, out)
		}
	}
}

func TestPingMatch(t *testing.T) {
	dst := netip.MustParseAddr("192.0.2.7")
	raw := newEchoSession(nil, false, dst, 3)
	raw.sentAt[0], raw.sentAt[1] = time.Now(), time.Now() // seq 2 not sent yet
	raw.rtt[1] = time.Millisecond                         // seq 1 answered already
	from := &net.IPAddr{IP: net.ParseIP("192.0.2.7")}
	msg := func(typ icmp.Type, id, seq int, data []byte) []byte {
		b, err := (&icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq, Data: data}}).Marshal(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	nonce := raw.nonce[:]
	tests := []struct {
		name string
		b    []byte
		from net.Addr
		want bool
	}{
		{"ours", msg(ipv4.ICMPTypeEchoReply, raw.id, 0, nonce), from, true},
		{"padded payload", msg(ipv4.ICMPTypeEchoReply, raw.id, 0, append(append([]byte{}, nonce...), 0, 0)), from, true},
		{"other id", msg(ipv4.ICMPTypeEchoReply, raw.id^1, 0, nonce), from, false},
		{"other nonce", msg(ipv4.ICMPTypeEchoReply, raw.id, 0, []byte("someone")), from, false},
		{"other source", msg(ipv4.ICMPTypeEchoReply, raw.id, 0, nonce), &net.IPAddr{IP: net.ParseIP("192.0.2.8")}, false},
		{"duplicate", msg(ipv4.ICMPTypeEchoReply, raw.id, 1, nonce), from, false},
		{"not sent", msg(ipv4.ICMPTypeEchoReply, raw.id, 2, nonce), from, false},
		{"out of range", msg(ipv4.ICMPTypeEchoReply, raw.id, 3, nonce), from, false},
		{"our own request", msg(ipv4.ICMPTypeEcho, raw.id, 0, nonce), from, false},
		{"garbage", []byte{0, 0}, from, false},
	}
	for _, tt := range tests {
		if _, ok := raw.match(tt.b, tt.from); ok != tt.want {
			t.Errorf("%s: match = %v, want %v", tt.name, ok, tt.want)
		}
	}

	// A datagram socket's ID is the kernel's, whatever we sent.
	dg := newEchoSession(nil, true, netip.MustParseAddr("2001:db8::1"), 1)
	dg.sentAt[0] = time.Now()
	b := msg(ipv6.ICMPTypeEchoReply, dg.id^0x55, 0, dg.nonce[:])
	if seq, ok := dg.match(b, &net.UDPAddr{IP: net.ParseIP("2001:db8::1")}); !ok || seq != 0 {
		t.Errorf("datagram reply not matched")
	}
	if _, ok := dg.match(b, &net.UDPAddr{IP: net.ParseIP("2001:db8::2")}); ok {
		t.Errorf("datagram reply from another host matched")
	}
}

func TestPingVerdict(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name     string
		sent     int
		rtts     []time.Duration
		maxLoss  int
		ok, degr bool
		reason   string
		err      string
		detail   string
		latency  time.Duration
	}{
		{"all answered", 3, []time.Duration{ms, 2 * ms, 3 * ms}, 50, true, false, "", "",
			"3/3 replies from 10.0.0.1 · avg 2.00 ms · loss 0%", 2 * ms},
		{"some lost", 3, []time.Duration{ms, 3 * ms}, 50, true, true, reason.Loss, "1 of 3 lost (33%)",
			"2/3 replies from 10.0.0.1 · avg 2.00 ms · loss 33%", 2 * ms},
		{"loss at the limit", 4, []time.Duration{ms, ms}, 50, true, true, reason.Loss, "2 of 4 lost (50%)", "", ms},
		{"too much loss", 3, []time.Duration{ms}, 50, false, false, reason.Loss, "2 of 3 lost (67%, limit 50%)", "", ms},
		{"no loss allowed", 10, repeat(ms, 9), 0, false, false, reason.Loss, "1 of 10 lost (10%, limit 0%)", "", ms},
		{"all lost", 3, nil, 100, false, false, reason.Timeout, "no reply from 10.0.0.1 (3 sent)",
			"0/3 replies from 10.0.0.1 · loss 100%", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := pingVerdict("10.0.0.1", tt.sent, tt.rtts, tt.maxLoss)
			if out.OK != tt.ok || out.Degraded != tt.degr || out.Reason != tt.reason || out.Error != tt.err || out.Latency != tt.latency {
				t.Errorf("got %+v", out)
			}
			if tt.detail != "" && out.Detail != tt.detail {
				t.Errorf("detail = %q, want %q", out.Detail, tt.detail)
			}
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func TestPingDNSFailure(t *testing.T) {
	start := time.Now()
	out := newPingTestProber().Probe(context.Background(), pingSpec(t, "host.example.test", 3, 2*time.Second))
	checkFailure(t, out, reason.DNS)
	if !strings.Contains(out.Error, "host.example.test") {
		t.Errorf("error does not name the host: %q", out.Error)
	}
	if time.Since(start) > time.Second {
		t.Errorf("took %v", time.Since(start))
	}
}

func TestPingCanceled(t *testing.T) {
	requirePing(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := newPingTestProber().Probe(ctx, pingSpec(t, "127.0.0.1", 3, 2*time.Second))
	if out.OK || out.Reason != reason.Error || out.Error != "check canceled" {
		t.Fatalf("got %+v", out)
	}
}

func TestPingNotPermittedMessage(t *testing.T) {
	perm := os.NewSyscallError("socket", syscall.EACCES)
	raw := os.NewSyscallError("socket", syscall.EPERM)
	msg := icmpOpenError(perm, raw).Error()
	for _, want := range []string{"ICMP is not permitted", `sysctl -w net.ipv4.ping_group_range="0 2147483647"`, "setcap cap_net_raw+ep upwatch"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	other := icmpOpenError(perm, os.NewSyscallError("socket", syscall.EAFNOSUPPORT)).Error()
	if other != "cannot open an ICMP socket: address family not supported by protocol" {
		t.Errorf("other failure: %q", other)
	}
}
