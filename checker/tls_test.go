package checker

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/upwatch/upwatch/reason"
)

// testCA signs certificates for the TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// certOpts describes a certificate to issue.
type certOpts struct {
	cn        string
	dnsNames  []string
	ips       []net.IP
	notBefore time.Time
	notAfter  time.Time
	isCA      bool
}

// issue signs a certificate for o with parent (nil: self-signed).
func issue(t *testing.T, o certOpts, parent *testCA) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: o.cn},
		DNSNames:     o.dnsNames,
		IPAddresses:  o.ips,
		NotBefore:    o.notBefore,
		NotAfter:     o.notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if o.isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign
		tmpl.ExtKeyUsage = nil
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{cert: cert, key: key}
}

// serveTLS serves chain (leaf first) on 127.0.0.1 and returns the port.
func serveTLS(t *testing.T, key *ecdsa.PrivateKey, chain ...*x509.Certificate) int {
	t.Helper()
	cert := tls.Certificate{PrivateKey: key}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	serveConns(t, ln, func(c net.Conn, done <-chan struct{}) {
		if c.(*tls.Conn).Handshake() == nil {
			waitEOF(c, done)
		}
	})
	return portOf(t, ln)
}

func tlsSpec(t *testing.T, set map[string]any, timeout time.Duration) Spec {
	t.Helper()
	raw, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	norm, errs := ValidateSettings(TypeTLS, raw)
	if len(errs) > 0 {
		t.Fatalf("settings %s: %v", raw, errs)
	}
	return Spec{Type: TypeTLS, Timeout: timeout, Settings: norm}
}

// newTLSTestProber trusts only roots and sees the time as now.
func newTLSTestProber(roots *x509.CertPool, now time.Time) Prober {
	p := tlsType().newProber(ProbeEnv{Resolver: noDNSResolver(), RootCAs: roots})
	p.(*tlsProber).now = func() time.Time { return now }
	return p
}

func TestTLSProbeCertificates(t *testing.T) {
	// Certificates carry whole seconds; a fixed "now" makes messages exact.
	now := time.Now().Truncate(time.Second)
	days := func(n int) time.Time { return now.Add(time.Duration(n) * 24 * time.Hour) }
	date := func(tm time.Time) string { return tm.UTC().Format("2006-01-02") }

	ca := issue(t, certOpts{cn: "Test CA", notBefore: days(-365), notAfter: days(3650), isCA: true}, nil)
	inter := issue(t, certOpts{cn: "Test Intermediate", notBefore: days(-365), notAfter: days(3650), isCA: true}, &ca)
	otherCA := issue(t, certOpts{cn: "Other CA", notBefore: days(-365), notAfter: days(3650), isCA: true}, nil)
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)

	leaf := func(notBefore, notAfter time.Time, parent *testCA) testCA {
		return issue(t, certOpts{cn: "a.example", dnsNames: []string{"a.example"}, notBefore: notBefore, notAfter: notAfter}, parent)
	}
	good := leaf(days(-30), days(60), &ca)
	soon := leaf(days(-30), days(3), &ca)
	expired := leaf(days(-90), days(-3), &ca)
	future := leaf(days(1), days(90), &ca)
	unknown := leaf(days(-30), days(60), &otherCA)
	unknownSoon := leaf(days(-30), days(3), &otherCA)
	viaInter := leaf(days(-30), days(60), &inter)
	byIP := issue(t, certOpts{cn: "127.0.0.1", ips: []net.IP{net.IPv4(127, 0, 0, 1)}, notBefore: days(-30), notAfter: days(60)}, &ca)
	manyNames := issue(t, certOpts{cn: "a.example", dnsNames: []string{"a.example", "b.example", "c.example", "d.example", "e.example"},
		notBefore: days(-30), notAfter: days(60)}, &ca)

	tests := []struct {
		name     string
		leaf     testCA
		chain    []*x509.Certificate // after the leaf
		set      map[string]any      // host and port are added
		ok       bool
		degraded bool
		reason   string
		err      string
		detail   string // "" to skip
	}{
		{name: "valid", leaf: good, set: map[string]any{"server_name": "a.example"}, ok: true,
			detail: "CN=a.example · issued by Test CA · expires " + date(days(60)) + " (60 days)"},
		{name: "expires within warn_days", leaf: soon, set: map[string]any{"server_name": "a.example"}, ok: true, degraded: true,
			reason: reason.Cert, err: "certificate expires in 3 days (" + date(days(3)) + ")"},
		{name: "warn_days 0 never warns", leaf: soon, set: map[string]any{"server_name": "a.example", "warn_days": 0}, ok: true},
		{name: "warn_days 2", leaf: soon, set: map[string]any{"server_name": "a.example", "warn_days": 2}, ok: true},
		{name: "expired", leaf: expired, set: map[string]any{"server_name": "a.example"},
			reason: reason.Cert, err: "certificate expired 3 days ago (" + date(days(-3)) + ")",
			detail: "CN=a.example · issued by Test CA · expired " + date(days(-3)) + " (3 days ago)"},
		{name: "not yet valid", leaf: future, set: map[string]any{"server_name": "a.example"},
			reason: reason.Cert, err: "certificate is not valid before " + days(1).UTC().Format("2006-01-02 15:04") + " UTC"},
		{name: "wrong host name", leaf: good, set: map[string]any{"server_name": "b.example"},
			reason: reason.Cert, err: "certificate is for a.example, not b.example"},
		{name: "wrong host name, many names", leaf: manyNames, set: map[string]any{"server_name": "z.example"},
			reason: reason.Cert, err: "certificate is for a.example, b.example, c.example and 2 more, not z.example"},
		{name: "wrong host name, IP host", leaf: good, set: map[string]any{},
			reason: reason.Cert, err: "certificate is for a.example, not 127.0.0.1"},
		{name: "IP address in the certificate", leaf: byIP, set: map[string]any{}, ok: true},
		{name: "unknown authority", leaf: unknown, set: map[string]any{"server_name": "a.example"},
			reason: reason.Cert, err: "certificate signed by unknown authority"},
		{name: "intermediate sent by the server", leaf: viaInter, chain: []*x509.Certificate{inter.cert},
			set: map[string]any{"server_name": "a.example"}, ok: true},
		{name: "intermediate missing", leaf: viaInter, set: map[string]any{"server_name": "a.example"},
			reason: reason.Cert, err: "certificate signed by unknown authority"},
		{name: "verify off: unknown authority and wrong name", leaf: unknown, set: map[string]any{"server_name": "b.example", "verify_tls": false}, ok: true,
			detail: "CN=a.example · issued by Other CA · expires " + date(days(60)) + " (60 days)"},
		{name: "verify off: still warns", leaf: unknownSoon, set: map[string]any{"verify_tls": false}, ok: true, degraded: true,
			reason: reason.Cert, err: "certificate expires in 3 days (" + date(days(3)) + ")"},
		{name: "verify off: still expired", leaf: expired, set: map[string]any{"verify_tls": false},
			reason: reason.Cert, err: "certificate expired 3 days ago (" + date(days(-3)) + ")"},
	}
	p := newTLSTestProber(roots, now)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := serveTLS(t, tt.leaf.key, append([]*x509.Certificate{tt.leaf.cert}, tt.chain...)...)
			set := map[string]any{"host": "127.0.0.1", "port": port}
			for k, v := range tt.set {
				set[k] = v
			}
			out := p.Probe(context.Background(), tlsSpec(t, set, 5*time.Second))
			if out.OK != tt.ok || out.Degraded != tt.degraded || out.Reason != tt.reason || out.Error != tt.err {
				t.Fatalf("got ok=%v degraded=%v reason=%q error=%q\nwant ok=%v degraded=%v reason=%q error=%q",
					out.OK, out.Degraded, out.Reason, out.Error, tt.ok, tt.degraded, tt.reason, tt.err)
			}
			if want := tt.leaf.cert.NotAfter.UnixMilli(); out.CertExpiry != want {
				t.Errorf("cert expiry = %d, want %d", out.CertExpiry, want)
			}
			if out.TLS <= 0 || out.Connect <= 0 || out.Latency < out.TLS+out.Connect {
				t.Errorf("phases: latency %v, connect %v, tls %v", out.Latency, out.Connect, out.TLS)
			}
			if tt.detail != "" && out.Detail != tt.detail {
				t.Errorf("detail = %q\nwant     %q", out.Detail, tt.detail)
			}
		})
	}
}

func TestTLSProbeConnection(t *testing.T) {
	plain := func(t *testing.T, handle func(c net.Conn, done <-chan struct{})) int {
		ln := listenLoopback(t)
		serveConns(t, ln, handle)
		return portOf(t, ln)
	}
	tests := []struct {
		name    string
		port    func(t *testing.T) int
		host    string
		timeout time.Duration
		reason  string
		err     string // exact, or a prefix when it ends in "…"
	}{
		{name: "not TLS", port: func(t *testing.T) int {
			return plain(t, func(c net.Conn, done <-chan struct{}) {
				io.WriteString(c, "SSH-2.0-OpenSSH_9.2\r\n")
				waitEOF(c, done)
			})
		}, reason: reason.TLS, err: "TLS handshake failed: first record does not look like a TLS handshake"},
		{name: "closed during handshake", port: func(t *testing.T) int {
			return plain(t, func(c net.Conn, done <-chan struct{}) {
				// A half close: a full close with the ClientHello unread
				// could be a reset instead of an end of stream.
				c.(*net.TCPConn).CloseWrite()
				waitEOF(c, done)
			})
		}, reason: reason.TLS, err: "TLS handshake failed: connection closed by server"},
		{name: "silent server", port: func(t *testing.T) int { return plain(t, waitEOF) },
			timeout: 300 * time.Millisecond, reason: reason.Timeout, err: "timeout after 300ms"},
		{name: "closed port", port: closedPort, reason: reason.Refused, err: "connection refused (127.0.0.1:…"},
		{name: "unresolvable", port: func(*testing.T) int { return 443 }, host: "nonexistent.invalid",
			reason: reason.DNS, err: "lookup nonexistent.invalid: …"},
	}
	p := newTLSTestProber(x509.NewCertPool(), time.Now())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, timeout := tt.host, tt.timeout
			if host == "" {
				host = "127.0.0.1"
			}
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			start := time.Now()
			out := p.Probe(context.Background(), tlsSpec(t, map[string]any{"host": host, "port": tt.port(t)}, timeout))
			wantDown(t, out, tt.reason)
			if prefix, ok := strings.CutSuffix(tt.err, "…"); ok {
				if !strings.HasPrefix(out.Error, prefix) {
					t.Errorf("error = %q, want %q…", out.Error, prefix)
				}
			} else if out.Error != tt.err {
				t.Errorf("error = %q, want %q", out.Error, tt.err)
			}
			if out.CertExpiry != 0 || out.Detail != "" {
				t.Errorf("no certificate was received: %+v", out)
			}
			if el := time.Since(start); el > timeout+3*time.Second {
				t.Errorf("took %v with a %v timeout", el, timeout)
			}
		})
	}
}

func TestTLSValidate(t *testing.T) {
	tests := []struct {
		name, in string
		field    string // "" when valid
		msg      string // field error, or the normalised settings
	}{
		{"defaults", `{"host":"example.com"}`, "", `{"host":"example.com","port":443,"warn_days":14,"verify_tls":true}`},
		{"all set", `{"host":"10.0.0.1","port":8443,"warn_days":0,"verify_tls":false,"server_name":"a.example"}`, "",
			`{"host":"10.0.0.1","port":8443,"warn_days":0,"verify_tls":false,"server_name":"a.example"}`},
		{"nulls are defaults", `{"host":"h","port":null,"warn_days":null,"verify_tls":null}`, "", `{"host":"h","port":443,"warn_days":14,"verify_tls":true}`},
		{"warn_days 365", `{"host":"h","warn_days":365}`, "", `{"host":"h","port":443,"warn_days":365,"verify_tls":true}`},
		{"missing host", `{"port":443}`, "host", "is required"},
		{"blank host", `{"host":"  "}`, "host", "is required"},
		{"port 0", `{"host":"h","port":0}`, "port", "must be between 1 and 65535"},
		{"port 70000", `{"host":"h","port":70000}`, "port", "must be between 1 and 65535"},
		{"port as text", `{"host":"h","port":"443"}`, "port", "must be a number"},
		{"warn_days negative", `{"host":"h","warn_days":-1}`, "warn_days", "must be between 0 and 365"},
		{"warn_days 366", `{"host":"h","warn_days":366}`, "warn_days", "must be between 0 and 365"},
		{"verify_tls as text", `{"host":"h","verify_tls":"yes"}`, "verify_tls", "must be true or false"},
		{"bad server_name", `{"host":"h","server_name":"a b"}`, "server_name", "must be a host name or an IP address"},
		{"unknown field", `{"host":"h","expect":"x"}`, "expect", "unknown field"},
		{"control char in host", `{"host":"h\nx"}`, "host", "must not contain control characters or line breaks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errs := ValidateSettings(TypeTLS, json.RawMessage(tt.in))
			if tt.field == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				if string(out) != tt.msg {
					t.Errorf("normalised = %s, want %s", out, tt.msg)
				}
				return
			}
			if len(errs) != 1 || errs[0].Field != tt.field || errs[0].Message != tt.msg {
				t.Fatalf("errors = %v, want %s: %s", errs, tt.field, tt.msg)
			}
		})
	}
}

func TestCertSpan(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{72 * time.Hour, "3 days"},
		{72*time.Hour - time.Second, "3 days"},
		{72*time.Hour + time.Second, "3 days"},
		{36 * time.Hour, "2 days"},
		{13 * time.Hour, "1 day"},
		{5 * time.Hour, "5 hours"},
		{61 * time.Minute, "1 hour"},
		{10 * time.Minute, "less than an hour"},
	}
	for _, tt := range tests {
		if got := certSpan(tt.d); got != tt.want {
			t.Errorf("certSpan(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
