package checker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/upwatch/upwatch/egress"
	"github.com/upwatch/upwatch/internal/testredis"
	"github.com/upwatch/upwatch/reason"
	"github.com/upwatch/upwatch/store"
)

// The egress policy refuses addresses at connect time, before the socket
// connects: every refused address here is either one nothing listens on
// (and no packet is sent to it) or a loopback listener that counts what it
// accepts.

// countingServer is a loopback HTTP server that counts the connections
// it accepts; by default it answers with a (fake) secret.
type countingServer struct {
	*httptest.Server
	accepted atomic.Int64
}

func newCountingServer(t *testing.T, h http.Handler) *countingServer {
	t.Helper()
	cs := &countingServer{}
	if h == nil {
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, `{"AccessKeyId":"ASIAFAKE","SecretAccessKey":"fake-secret"}`)
		})
	}
	cs.Server = httptest.NewUnstartedServer(h)
	cs.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			cs.accepted.Add(1)
		}
	}
	cs.Start()
	t.Cleanup(cs.Close)
	return cs
}

func (cs *countingServer) port() uint16 {
	return cs.Listener.Addr().(*net.TCPAddr).AddrPort().Port()
}

// A redirect from an allowed loopback target to a metadata address, in
// each of its encodings: the hop is refused before connecting, the check
// fails with reason blocked, and nothing of any body is kept.
func TestHTTPRedirectToBlocked(t *testing.T) {
	var to atomic.Value
	start := newCountingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to.Load().(string), http.StatusFound)
	}))
	p := newTestProber(t, HTTPOptions{})
	for _, tc := range []struct{ target, addr string }{
		{"http://169.254.169.254/latest/meta-data/iam/security-credentials/role", "169.254.169.254"},
		// The dialer unmaps an IPv4-mapped address before the policy sees it.
		{"http://[::ffff:169.254.169.254]/latest/meta-data/", "169.254.169.254"},
		{"http://[::ffff:a9fe:a9fe]/", "169.254.169.254"},
		{"http://[64:ff9b::a9fe:a9fe]/", "64:ff9b::a9fe:a9fe (169.254.169.254)"},
		{"http://[64:ff9b:1::a9fe:a9fe]/", "64:ff9b:1::a9fe:a9fe (169.254.169.254)"},
		{"http://[2002:a9fe:a9fe::1]/", "2002:a9fe:a9fe::1 (169.254.169.254)"},
		{"http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254"},
		{"http://100.100.100.200/latest/meta-data/", "100.100.100.200"},
		{"http://192.0.0.192/opc/v2/instance/", "192.0.0.192"},
		{"http://[fe80::1]:8080/", "fe80::1"},
		{"http://0.0.0.0:8080/", "0.0.0.0"},
	} {
		to.Store(tc.target)
		out := p.Probe(context.Background(), Spec{URL: start.URL + "/go", ExpectedStatus: "599",
			FollowRedirects: true, Timeout: 5 * time.Second})
		if out.OK || out.Reason != reason.Blocked {
			t.Errorf("%s: %+v, want reason blocked", tc.target, out)
			continue
		}
		if !strings.Contains(out.Error, tc.addr+" is a") || !strings.Contains(out.Error, "upwatch never connects to it") {
			t.Errorf("%s: error %q does not name %s and why", tc.target, out.Error, tc.addr)
		}
		if out.Excerpt != "" || out.Body != "" || out.StatusCode != 0 {
			t.Errorf("%s: a blocked check kept something: %+v", tc.target, out)
		}
	}
	// Direct, without a redirect: the same.
	out := p.Probe(context.Background(), Spec{URL: "http://[::ffff:169.254.169.254]/latest/meta-data/", ExpectedStatus: "599", Timeout: 5 * time.Second})
	if out.Reason != reason.Blocked || out.Excerpt != "" {
		t.Errorf("direct: %+v", out)
	}
}

// dnsAnswers is a name server on 127.0.0.1 answering A and AAAA queries
// from a table: the resolver of a check that must not reach the network.
func dnsAnswers(t *testing.T, records map[string][]string) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		q := req.Question[0]
		addrs, ok := records[strings.ToLower(q.Name)]
		if !ok {
			m.Rcode = dns.RcodeNameError
		}
		for _, a := range addrs {
			ip := netip.MustParseAddr(a)
			switch hdr := (dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: 1}); {
			case q.Qtype == dns.TypeA && ip.Is4():
				hdr.Rrtype = dns.TypeA
				m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: ip.AsSlice()})
			case q.Qtype == dns.TypeAAAA && !ip.Is4():
				hdr.Rrtype = dns.TypeAAAA
				m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: ip.AsSlice()})
			}
		}
		w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return fakeResolver(pc.LocalAddr().String(), nil)
}

// A name that resolves to a refused address (metadata.google.internal with
// its Metadata-Flavor header, a rebinding answer) is judged by the address
// it resolved to, for every kind that dials.
func TestResolvedAddressBlocked(t *testing.T) {
	target := newCountingServer(t, nil)
	port := target.port()
	resolver := dnsAnswers(t, map[string][]string{
		"metadata.google.internal.": {"169.254.169.254"},
		"rebind.test.":              {"::ffff:169.254.169.254"},
		"nat64.test.":               {"64:ff9b::a9fe:a9fe"},
		"nas.test.":                 {"127.0.0.1"},
	})
	env := ProbeEnv{Resolver: resolver}
	pr := NewProber(env)
	for _, host := range []string{"metadata.google.internal", "rebind.test", "nat64.test"} {
		out := pr.Probe(context.Background(), Spec{URL: fmt.Sprintf("http://%s:%d/computeMetadata/v1/", host, port),
			Headers: map[string]string{"Metadata-Flavor": "Google"}, ExpectedStatus: "599", Timeout: 5 * time.Second})
		if out.Reason != reason.Blocked || !strings.Contains(out.Error, "169.254.169.254") || out.Excerpt != "" {
			t.Errorf("http %s: %+v", host, out)
		}
		for _, typ := range []string{TypeTCP, TypeTLS} {
			out := pr.Probe(context.Background(), Spec{Type: typ, Timeout: 5 * time.Second,
				Settings: json.RawMessage(fmt.Sprintf(`{"host":%q,"port":%d,"verify_tls":false}`, host, port))})
			if out.Reason != reason.Blocked || !strings.Contains(out.Error, "169.254.169.254") {
				t.Errorf("%s %s: %+v", typ, host, out)
			}
		}
		// Ping judges the address it resolved before opening a socket.
		out = pr.Probe(context.Background(), Spec{Type: TypePing, Timeout: 5 * time.Second,
			Settings: json.RawMessage(fmt.Sprintf(`{"host":%q,"count":1}`, host))})
		if out.Reason != reason.Blocked || !strings.Contains(out.Error, "169.254.169.254") {
			t.Errorf("ping %s: %+v", host, out)
		}
	}
	// The same resolver's loopback name is allowed by default.
	out := pr.Probe(context.Background(), Spec{URL: fmt.Sprintf("http://nas.test:%d/", port), Timeout: 5 * time.Second})
	if !out.OK {
		t.Errorf("nas.test (127.0.0.1) under the default policy: %+v", out)
	}
	if n := target.accepted.Load(); n != 1 {
		t.Errorf("the target accepted %d connections, want only the allowed one", n)
	}
}

// Ping and DNS literal targets: refused before a packet goes.
func TestPingAndDNSBlocked(t *testing.T) {
	pr := NewProber(ProbeEnv{Resolver: noDNSResolver()})
	for _, host := range []string{"169.254.169.254", "::ffff:169.254.169.254", "fe80::1", "100.100.100.200", "ff02::1", "0.0.0.0"} {
		out := pr.Probe(context.Background(), Spec{Type: TypePing, Timeout: 2 * time.Second,
			Settings: json.RawMessage(fmt.Sprintf(`{"host":%q,"count":1}`, host))})
		if out.Reason != reason.Blocked {
			t.Errorf("ping %s: %+v", host, out)
		}
	}
	// As stored before validation refused such name servers.
	for _, res := range []string{"169.254.169.254:53", "[fd00:ec2::254]:53", "[::ffff:169.254.169.253]:53"} {
		out := pr.Probe(context.Background(), Spec{Type: TypeDNS, Timeout: 2 * time.Second, Settings: json.RawMessage(
			fmt.Sprintf(`{"name":"example.org","record_type":"A","resolver":%q,"protocol":"udp","expect_mode":"any"}`, res))})
		if out.Reason != reason.Blocked || !strings.Contains(out.Error, "link-local/cloud metadata") {
			t.Errorf("dns via %s: %+v", res, out)
		}
	}
}

// Literal always-refused addresses are refused when the monitor is saved,
// naming the setting.
func TestValidationRefusesMetadata(t *testing.T) {
	for _, tc := range []struct{ typ, settings, field string }{
		{TypeTCP, `{"host":"169.254.169.254","port":80}`, "host"},
		{TypeTCP, `{"host":"[::ffff:169.254.169.254]","port":80}`, "host"},
		{TypeTLS, `{"host":"fd00:ec2::254"}`, "host"},
		{TypePing, `{"host":"100.100.100.200"}`, "host"},
		{TypeDNS, `{"name":"example.org","resolver":"169.254.169.253"}`, "resolver"},
		{TypeDNS, `{"name":"example.org","resolver":"[fe80::1]:53"}`, "resolver"},
	} {
		_, errs := ValidateSettings(tc.typ, json.RawMessage(tc.settings))
		if len(errs) != 1 || errs[0].Field != tc.field || !strings.Contains(errs[0].Message, "link-local/cloud metadata address; upwatch never connects to it") {
			t.Errorf("%s %s: %v", tc.typ, tc.settings, errs)
		}
	}
	if _, errs := ValidateSettings(TypeTCP, json.RawMessage(`{"host":"127.0.0.1","port":22}`)); len(errs) != 0 {
		t.Errorf("loopback refused at validation: %v", errs)
	}
}

// Under EGRESS_PRIVATE=deny a loopback target is refused for every kind,
// and the listener never sees a connection; under allow the same checks
// work. A job the server marked DenyPrivate is refused by a worker whose
// own policy allows private addresses.
func TestPrivateDeny(t *testing.T) {
	target := newCountingServer(t, nil)
	port := target.port()
	dnsSrv := startDNSServer(t)
	specs := map[string]Spec{
		"http": {URL: target.URL, Timeout: 5 * time.Second},
		"tcp":  {Type: TypeTCP, Timeout: 5 * time.Second, Settings: json.RawMessage(fmt.Sprintf(`{"host":"127.0.0.1","port":%d}`, port))},
		"dns":  dnsSpec(t, fmt.Sprintf(`{"name":"a.test","resolver":%q}`, dnsSrv.addr), 2*time.Second),
	}
	deny := NewProber(ProbeEnv{Resolver: noDNSResolver(), Egress: egress.New(egress.Config{Private: egress.Deny})})
	allow := NewProber(ProbeEnv{Resolver: noDNSResolver()})
	for name, s := range specs {
		out := deny.Probe(context.Background(), s)
		if out.Reason != reason.Blocked || !strings.Contains(out.Error, "127.0.0.1 is a loopback address") || !strings.Contains(out.Error, "EGRESS_PRIVATE=deny") {
			t.Errorf("%s under deny: %+v", name, out)
		}
		marked := s
		marked.DenyPrivate = true
		if out := allow.Probe(context.Background(), marked); out.Reason != reason.Blocked {
			t.Errorf("%s marked DenyPrivate by the server: %+v", name, out)
		}
	}
	if n := target.accepted.Load(); n != 0 {
		t.Fatalf("refused checks opened %d connections", n)
	}
	if n := dnsSrv.udp.Load() + dnsSrv.tcp.Load(); n != 0 {
		t.Fatalf("refused DNS checks sent %d queries", n)
	}
	for name, s := range specs {
		if out := allow.Probe(context.Background(), s); !out.OK {
			t.Errorf("%s under allow: %+v", name, out)
		}
	}
	// EGRESS_ALLOW opens 127.0.0.0/8 even under deny.
	cidrs, _ := egress.ParseAllow("127.0.0.0/8")
	opened := NewProber(ProbeEnv{Resolver: noDNSResolver(), Egress: egress.New(egress.Config{Private: egress.Deny, Allow: cidrs})})
	if out := opened.Probe(context.Background(), specs["http"]); !out.OK {
		t.Errorf("http under deny with EGRESS_ALLOW=127.0.0.0/8: %+v", out)
	}
}

// upwatch's own port (a listener registered as "self") is refused on
// every local address, while another loopback port stays allowed.
func TestSelfPortBlocked(t *testing.T) {
	self := newCountingServer(t, nil)
	other := newCountingServer(t, nil)
	pol := egress.New(egress.Config{Self: []netip.AddrPort{netip.AddrPortFrom(netip.IPv4Unspecified(), self.port())}})
	pr := NewProber(ProbeEnv{Resolver: noDNSResolver(), Egress: pol})
	for _, u := range []string{self.URL + "/healthz", fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/", self.port()),
		fmt.Sprintf("http://127.0.0.2:%d/", self.port()), fmt.Sprintf("http://[::1]:%d/", self.port())} {
		out := pr.Probe(context.Background(), Spec{URL: u, Timeout: 5 * time.Second})
		if out.Reason != reason.Blocked || !strings.Contains(out.Error, "upwatch's own listener") {
			t.Errorf("%s: %+v", u, out)
		}
	}
	out := pr.Probe(context.Background(), Spec{Type: TypeTCP, Timeout: 5 * time.Second, Settings: json.RawMessage(fmt.Sprintf(`{"host":"localhost","port":%d}`, self.port()))})
	if out.Reason != reason.Blocked && out.Reason != reason.DNS { // localhost resolves from /etc/hosts
		t.Errorf("tcp localhost: %+v", out)
	}
	// A redirect from another local port to the own one: refused too.
	redir := newCountingServer(t, http.RedirectHandler(self.URL+"/api/v1/monitors", http.StatusFound))
	if out := pr.Probe(context.Background(), Spec{URL: redir.URL, FollowRedirects: true, Timeout: 5 * time.Second}); out.Reason != reason.Blocked {
		t.Errorf("redirect to self: %+v", out)
	}
	if n := self.accepted.Load(); n != 0 {
		t.Fatalf("upwatch's own port accepted %d connections", n)
	}
	if out := pr.Probe(context.Background(), Spec{URL: other.URL, Timeout: 5 * time.Second}); !out.OK {
		t.Errorf("another loopback port: %+v", out)
	}
}

// EGRESS_PRIVATE=admins: the server decides per owner and the job carries
// the decision to the worker: an admin's loopback monitor is checked, a
// user's is blocked without a connection.
func TestPrivateAdminsThroughTheQueue(t *testing.T) {
	b := testredis.Mini(t)
	var hits atomic.Int64
	target := newCountingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/admin" {
			hits.Add(1000)
		}
		hits.Add(1)
	}))
	st, admin := openStore(t)
	user, err := st.CreateUser(context.Background(), "b@example.com", "x", false)
	if err != nil {
		t.Fatal(err)
	}
	am := addMonitor(t, st, admin, "admin's", target.URL+"/admin", time.Hour, time.Second, 1)
	um := addMonitor(t, st, user, "user's", target.URL+"/user", time.Hour, time.Second, 1)
	pol := egress.New(egress.Config{Private: egress.Admins})
	c := New(st, NewQueue(b.Client), Config{LocalWorkers: 2, Logger: quietLogger(), Egress: pol})
	startChecker(t, c)
	for _, m := range []store.Monitor{am, um} { // checked at once, not spread over the hour
		if err := c.Reschedule(context.Background(), m.ID); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 5*time.Second, "both checked", func() bool {
		return status(t, st, am.ID).LastCheck != nil && status(t, st, um.ID).LastCheck != nil
	})
	if m := status(t, st, am.ID); !m.LastCheck.OK {
		t.Errorf("admin's monitor: %+v", m.LastCheck)
	}
	m := status(t, st, um.ID)
	if m.State.Status != store.StatusDown || m.LastCheck.OK || m.LastCheck.Reason != reason.Blocked || !strings.Contains(m.LastCheck.Error, "EGRESS_PRIVATE=admins") {
		t.Errorf("user's monitor: %+v", m.LastCheck)
	}
	if n := hits.Load(); n < 1 || n >= 1000 {
		t.Errorf("the target got requests other than the admin's (%d)", n)
	}
}
