package checker

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/upwatch/upwatch/reason"
)

// testZone is what the in-test name server knows. Names it lacks are
// NXDOMAIN; a known name without the asked type is NOERROR and empty.
const testZone = `
a.test.                 60 IN A     192.0.2.1
a.test.                 60 IN A     192.0.2.2
v6.test.                60 IN AAAA  2001:db8::1
www.test.               60 IN CNAME a.test.
test.                   60 IN MX    10 mx1.test.
test.                   60 IN MX    20 MX2.test.
test.                   60 IN NS    ns1.test.
test.                   60 IN SOA   ns1.test. hostmaster.test. 1 7200 3600 1209600 60
txt.test.               60 IN TXT   "v=spf1 " "-all"
_sip._tcp.test.         60 IN SRV   10 5 5060 sip.test.
test.                   60 IN CAA   0 issue "letsencrypt.org"
1.2.0.192.in-addr.arpa. 60 IN PTR   host.test.
big.test.               60 IN A     192.0.2.99
`

// dnsTestServer is a name server on loopback, over UDP and TCP on the same
// port, serving testZone.
type dnsTestServer struct {
	addr     string
	udp, tcp atomic.Int64 // queries per transport
	// inSlow gets a value when a query for slow.test is being held.
	inSlow chan struct{}
}

// startDNSServer serves testZone plus: slow.test, which never answers
// (until the test ends); refused.test, REFUSED; big.test, truncated over
// UDP so that only TCP gets its record.
func startDNSServer(t *testing.T) *dnsTestServer {
	t.Helper()
	zone := map[string][]dns.RR{} // by owner name
	zp := dns.NewZoneParser(strings.NewReader(testZone), "", "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		zone[rr.Header().Name] = append(zone[rr.Header().Name], rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	srv := &dnsTestServer{inSlow: make(chan struct{}, 10)}
	release := make(chan struct{})
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		udp := w.RemoteAddr().Network() == "udp"
		if udp {
			srv.udp.Add(1)
		} else {
			srv.tcp.Add(1)
		}
		q := req.Question[0]
		m := new(dns.Msg)
		m.SetReply(req)
		switch name := strings.ToLower(q.Name); {
		case name == "slow.test.":
			select {
			case srv.inSlow <- struct{}{}:
			default:
			}
			<-release
			return
		case name == "refused.test.":
			m.Rcode = dns.RcodeRefused
		case name == "big.test." && udp:
			m.Truncated = true
		case zone[name] == nil:
			m.Rcode = dns.RcodeNameError
		default:
			for _, rr := range zone[name] {
				if rr.Header().Rrtype == q.Qtype {
					m.Answer = append(m.Answer, rr)
				}
			}
		}
		w.WriteMsg(m)
	})

	// The same port for both, so that a truncated UDP answer can be
	// retried over TCP; a port taken for TCP means another try.
	var pc net.PacketConn
	var l net.Listener
	for range 20 {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
		pc = nil
	}
	if pc == nil {
		t.Fatal("no port free for both UDP and TCP")
	}
	srv.addr = pc.LocalAddr().String()
	for _, s := range []*dns.Server{{PacketConn: pc, Handler: handler}, {Listener: l, Handler: handler}} {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		go s.ActivateAndServe()
		<-started
		t.Cleanup(func() { s.Shutdown() })
	}
	// Runs before the shutdowns: they wait for the blocked handler.
	t.Cleanup(func() { close(release) })
	return srv
}

// dnsSpec validates settings as the API would and builds the check's spec.
func dnsSpec(t *testing.T, settingsJSON string, timeout time.Duration) Spec {
	t.Helper()
	raw, errs := ValidateSettings(TypeDNS, json.RawMessage(settingsJSON))
	if len(errs) > 0 {
		t.Fatalf("settings %s: %v", settingsJSON, errs)
	}
	return Spec{Type: TypeDNS, Timeout: timeout, Settings: raw}
}

func dnsProbe(t *testing.T, srv *dnsTestServer, settingsJSON string) Outcome {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(settingsJSON), &m); err != nil {
		t.Fatal(err)
	}
	m["resolver"] = srv.addr
	b, _ := json.Marshal(m)
	return dnsType().newProber(ProbeEnv{}).Probe(context.Background(), dnsSpec(t, string(b), 2*time.Second))
}

func TestDNSProbe(t *testing.T) {
	srv := startDNSServer(t)
	tests := []struct {
		name     string
		settings string
		reason   string // "" for up
		detail   string // "" not checked
		err      string // substring of Error
	}{
		{"A", `{"name":"a.test"}`, "", "A 192.0.2.1, 192.0.2.2", ""},
		{"name case and dot", `{"name":"A.Test."}`, "", "A 192.0.2.1, 192.0.2.2", ""},
		{"AAAA", `{"name":"v6.test","record_type":"AAAA","expect":["2001:DB8:0::1"]}`, "", "AAAA 2001:db8::1", ""},
		{"CNAME", `{"name":"www.test","record_type":"CNAME","expect":["A.test."]}`, "", "CNAME a.test", ""},
		{"MX", `{"name":"test","record_type":"MX","expect":["20 mx2.test"]}`, "", "MX 10 mx1.test, 20 mx2.test", ""},
		{"MX host only", `{"name":"test","record_type":"MX","expect":["mx1.test"]}`, "", "", ""},
		{"MX wrong preference", `{"name":"test","record_type":"MX","expect":["30 mx1.test"]}`, reason.Mismatch, "",
			"expected 30 mx1.test, got 10 mx1.test, 20 mx2.test"},
		{"NS", `{"name":"test","record_type":"NS","expect":["ns1.test"]}`, "", "NS ns1.test", ""},
		{"SOA", `{"name":"test","record_type":"SOA","expect":["ns1.test."]}`, "", "SOA ns1.test", ""},
		{"TXT joined", `{"name":"txt.test","record_type":"TXT","expect":["v=spf1 -all"]}`, "", "TXT v=spf1 -all", ""},
		{"SRV", `{"name":"_sip._tcp.test","record_type":"SRV","expect":["10 5 5060 sip.test"]}`, "", "SRV 10 5 5060 sip.test", ""},
		{"CAA", `{"name":"test","record_type":"CAA","expect":["0 issue \"LetsEncrypt.org\""]}`, "", `CAA 0 issue "letsencrypt.org"`, ""},
		{"CAA unquoted", `{"name":"test","record_type":"CAA","expect":["0 issue letsencrypt.org"]}`, "", "", ""},
		{"PTR from an IP", `{"name":"192.0.2.1","record_type":"PTR","expect":["host.test"]}`, "", "PTR host.test", ""},
		{"PTR by name", `{"name":"1.2.0.192.in-addr.arpa","record_type":"PTR"}`, "", "PTR host.test", ""},
		{"any matches", `{"name":"a.test","expect":["192.0.2.9","192.0.2.2"]}`, "", "", ""},
		{"any mismatch", `{"name":"a.test","expect":["192.0.2.9"]}`, reason.Mismatch, "A 192.0.2.1, 192.0.2.2",
			"expected 192.0.2.9, got 192.0.2.1, 192.0.2.2"},
		{"all match", `{"name":"a.test","expect":["192.0.2.2","192.0.2.1"],"expect_mode":"all"}`, "", "", ""},
		{"all mismatch", `{"name":"a.test","expect":["192.0.2.1","192.0.2.9"],"expect_mode":"all"}`, reason.Mismatch, "",
			"missing 192.0.2.9, got 192.0.2.1, 192.0.2.2"},
		{"NXDOMAIN", `{"name":"nope.test"}`, reason.DNS, "NXDOMAIN", "NXDOMAIN for nope.test"},
		{"no records of the type", `{"name":"a.test","record_type":"MX"}`, reason.DNS, "NOERROR, no MX records", "no MX records for a.test"},
		{"REFUSED", `{"name":"refused.test"}`, reason.DNS, "REFUSED", "REFUSED for refused.test"},
		{"expect NXDOMAIN", `{"name":"nope.test","expect_rcode":"NXDOMAIN"}`, "", "NXDOMAIN", ""},
		{"expect NXDOMAIN, name exists", `{"name":"a.test","expect_rcode":"NXDOMAIN"}`, reason.DNS, "",
			"NOERROR for a.test, expected NXDOMAIN"},
		{"expect NOERROR without records", `{"name":"a.test","record_type":"MX","expect_rcode":"NOERROR"}`, "", "", ""},
		{"expect NOERROR and values", `{"name":"a.test","record_type":"MX","expect_rcode":"NOERROR","expect":["mx.test"]}`,
			reason.Mismatch, "", "expected mx.test, got nothing"},
		{"truncated over UDP, retried over TCP", `{"name":"big.test"}`, "", "A 192.0.2.99", ""},
		{"tcp", `{"name":"a.test","protocol":"tcp"}`, "", "A 192.0.2.1, 192.0.2.2", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := dnsProbe(t, srv, tt.settings)
			if tt.reason == "" {
				if !out.OK || out.Reason != "" || out.Degraded {
					t.Fatalf("want up: %+v", out)
				}
			} else {
				checkFailure(t, out, tt.reason)
			}
			if tt.detail != "" && out.Detail != tt.detail {
				t.Errorf("detail = %q, want %q", out.Detail, tt.detail)
			}
			if !strings.Contains(out.Error, tt.err) {
				t.Errorf("error = %q, want it to contain %q", out.Error, tt.err)
			}
			if out.Latency <= 0 {
				t.Errorf("latency = %v", out.Latency)
			}
		})
	}
}

func TestDNSProtocol(t *testing.T) {
	srv := startDNSServer(t)
	if out := dnsProbe(t, srv, `{"name":"a.test","protocol":"tcp"}`); !out.OK {
		t.Fatalf("tcp: %+v", out)
	}
	if u, c := srv.udp.Load(), srv.tcp.Load(); u != 0 || c != 1 {
		t.Fatalf("tcp protocol: %d UDP and %d TCP queries", u, c)
	}
	if out := dnsProbe(t, srv, `{"name":"big.test"}`); !out.OK {
		t.Fatalf("truncated: %+v", out)
	}
	if u, c := srv.udp.Load(), srv.tcp.Load(); u != 1 || c != 2 {
		t.Fatalf("truncated answer: %d UDP and %d TCP queries, want 1 and 2", u, c)
	}
}

func TestDNSTimeout(t *testing.T) {
	srv := startDNSServer(t)
	for _, proto := range []string{"udp", "tcp"} {
		t.Run(proto, func(t *testing.T) {
			spec := dnsSpec(t, `{"name":"slow.test","protocol":"`+proto+`","resolver":"`+srv.addr+`"}`, 200*time.Millisecond)
			start := time.Now()
			out := dnsType().newProber(ProbeEnv{}).Probe(context.Background(), spec)
			checkFailure(t, out, reason.Timeout)
			if !strings.Contains(out.Error, "200ms") {
				t.Errorf("error does not name the timeout: %q", out.Error)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

func TestDNSCanceled(t *testing.T) {
	srv := startDNSServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	spec := dnsSpec(t, `{"name":"slow.test","resolver":"`+srv.addr+`"}`, 5*time.Second)
	done := make(chan Outcome)
	go func() { done <- dnsType().newProber(ProbeEnv{}).Probe(ctx, spec) }()
	select {
	case <-srv.inSlow:
	case <-time.After(2 * time.Second):
		t.Fatal("query never reached the server")
	}
	cancel()
	select {
	case out := <-done:
		if out.OK || out.Reason != reason.Error || out.Error != "check canceled" {
			t.Fatalf("got %+v", out)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("probe did not return on cancel")
	}
}

func TestDNSResolverDown(t *testing.T) {
	// A UDP port nothing listens on: the kernel answers port unreachable.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	out := dnsType().newProber(ProbeEnv{}).Probe(context.Background(),
		dnsSpec(t, `{"name":"a.test","resolver":"`+addr+`"}`, 2*time.Second))
	checkFailure(t, out, reason.DNS)
	if out.Error != "query to "+addr+": connection refused" {
		t.Errorf("error = %q", out.Error)
	}
}

func TestDNSValidate(t *testing.T) {
	long := strings.Repeat("a123456789.", 23) + "example" // 260 bytes
	tests := []settingsCase{
		{"defaults", `{"name":" Example.ORG. "}`,
			`{"name":"example.org","record_type":"A","protocol":"udp","expect_mode":"any"}`, ""},
		{"all set", `{"name":"example.org","record_type":"AAAA","resolver":"[2620:fe::fe]:5353","protocol":"tcp","expect":["2001:DB8::1",""],"expect_mode":"all","expect_rcode":"NOERROR"}`,
			`{"name":"example.org","record_type":"AAAA","resolver":"[2620:fe::fe]:5353","protocol":"tcp","expect":["2001:db8::1"],"expect_mode":"all","expect_rcode":"NOERROR"}`, ""},
		{"resolver without port", `{"name":"example.org","resolver":"9.9.9.9"}`,
			`{"name":"example.org","record_type":"A","resolver":"9.9.9.9:53","protocol":"udp","expect_mode":"any"}`, ""},
		{"bracketed ipv6 resolver", `{"name":"example.org","resolver":"[::1]"}`,
			`{"name":"example.org","record_type":"A","resolver":"[::1]:53","protocol":"udp","expect_mode":"any"}`, ""},
		{"PTR from an IP", `{"name":"2001:db8::1","record_type":"PTR"}`,
			`{"name":"2001:db8::1","record_type":"PTR","protocol":"udp","expect_mode":"any"}`, ""},
		{"MX expect", `{"name":"example.org","record_type":"MX","expect":["10  Mail.Example.org."]}`,
			`{"name":"example.org","record_type":"MX","protocol":"udp","expect":["10 mail.example.org"],"expect_mode":"any"}`, ""},
		{"CAA expect with spaces", `{"name":"example.org","record_type":"CAA","expect":["0 issue \"ca.example; account=1\""]}`,
			`{"name":"example.org","record_type":"CAA","protocol":"udp","expect":["0 issue \"ca.example; account=1\""],"expect_mode":"any"}`, ""},
		{"root", `{"name":".","record_type":"NS"}`,
			`{"name":".","record_type":"NS","protocol":"udp","expect_mode":"any"}`, ""},
		{"bad record_type", `{"name":"example.org","record_type":"ANY"}`, "", "record_type"},
		{"resolver not an ip", `{"name":"example.org","resolver":"not-an-ip"}`, "", "resolver"},
		{"resolver port 0", `{"name":"example.org","resolver":"9.9.9.9:0"}`, "", "resolver"},
		{"resolver port too big", `{"name":"example.org","resolver":"9.9.9.9:65536"}`, "", "resolver"},
		{"empty name", `{"name":""}`, "", "name"},
		{"missing name", `{}`, "", "name"},
		{"name too long", `{"name":"` + long + `"}`, "", "name"},
		{"label too long", `{"name":"` + strings.Repeat("a", 64) + `.org"}`, "", "name"},
		{"bad name", `{"name":"exa mple.org"}`, "", "name"},
		{"IP for A", `{"name":"192.0.2.1:53"}`, "", "name"},
		{"PTR from an IP with a zone", `{"name":"fe80::1%eth0","record_type":"PTR"}`, "", "name"},
		{"unicode name", `{"name":"bücher.example"}`, "", "name"},
		{"bad protocol", `{"name":"example.org","protocol":"quic"}`, "", "protocol"},
		{"A expects an IPv4", `{"name":"example.org","expect":["2001:db8::1"]}`, "", "expect"},
		{"AAAA expects an IPv6", `{"name":"example.org","record_type":"AAAA","expect":["192.0.2.1"]}`, "", "expect"},
		{"bad MX expect", `{"name":"example.org","record_type":"MX","expect":["x 10 mail"]}`, "", "expect"},
		{"bad SRV expect", `{"name":"example.org","record_type":"SRV","expect":["10 5 sip.example"]}`, "", "expect"},
		{"expect with NXDOMAIN", `{"name":"example.org","expect":["192.0.2.1"],"expect_rcode":"NXDOMAIN"}`, "", "expect"},
		{"bad expect_rcode", `{"name":"example.org","expect_rcode":"NOTAUTH"}`, "", "expect_rcode"},
		{"unknown field", `{"name":"example.org","ttl":60}`, "", "ttl"},
	}
	runSettingsCases(t, TypeDNS, tests)
}

func TestDNSListText(t *testing.T) {
	vals := []string{"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"}
	if got := listText(vals, 25); got != "192.0.2.1, 192.0.2.2, … (2 more)" {
		t.Errorf("listText = %q", got)
	}
	if got := listText(vals[:1], 3); got != "192.0.2.1" {
		t.Errorf("one long value: %q", got)
	}
}

func TestDNSSystemResolver(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, conf, want string }{
		{"first server", "search example.org\nnameserver 192.0.2.53\nnameserver 192.0.2.54\n", "192.0.2.53:53"},
		{"ipv6", "nameserver 2001:db8::53\n", "[2001:db8::53]:53"},
		{"no server", "search example.org\n", fallbackResolver},
		{"no file", "", fallbackResolver},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			if tt.conf != "" {
				if err := os.WriteFile(path, []byte(tt.conf), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if got := systemResolver(path); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
