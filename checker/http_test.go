package checker

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

// All servers here are httptest servers, which listen on 127.0.0.1:0, and DNS
// goes to a fake server on loopback: no test traffic leaves the machine.

// newTestProber returns a prober whose resolver can only reach a fake DNS
// server answering NXDOMAIN, so a test that resolves a name by mistake fails
// fast instead of asking the real network.
func newTestProber(t testing.TB, o HTTPOptions) *HTTPProber {
	t.Helper()
	if o.Resolver == nil {
		o.Resolver = fakeResolver(startFakeDNS(t))
	}
	return NewHTTPProber(o)
}

// hangingServer's handler blocks until the test ends: a target that accepted
// the connection and never answers.
func hangingServer(t *testing.T, writeHeader bool) *httptest.Server {
	t.Helper()
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if writeHeader {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
		}
		<-done
	}))
	// Cleanups run last-in first-out: release the handlers, then Close,
	// which waits for them.
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) })
	return srv
}

func okServer(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv
}

// checkFailure asserts the shape every failed outcome must have.
func checkFailure(t *testing.T, out Outcome, reason string) {
	t.Helper()
	if out.OK {
		t.Fatalf("outcome OK, want down/%s: %+v", reason, out)
	}
	if out.Reason != reason {
		t.Fatalf("reason = %q (%s), want %q", out.Reason, out.Error, reason)
	}
	if out.Error == "" {
		t.Errorf("no error message")
	}
	if strings.Contains(out.Error, `Get "`) || strings.Contains(out.Error, "net/http:") {
		t.Errorf("error has Go-internal noise: %q", out.Error)
	}
	if len(out.Error) > maxErrorLen+len("…") {
		t.Errorf("error too long (%d)", len(out.Error))
	}
}

func TestProbeUp(t *testing.T) {
	srv := okServer(t)
	p := newTestProber(t, HTTPOptions{})
	out := p.Probe(context.Background(), Spec{URL: srv.URL, Timeout: 5 * time.Second})
	if !out.OK || out.Reason != "" || out.Error != "" {
		t.Fatalf("want up, got %+v", out)
	}
	if out.StatusCode != 200 {
		t.Errorf("status = %d", out.StatusCode)
	}
	if out.Latency <= 0 || out.TTFB <= 0 || out.Connect <= 0 {
		t.Errorf("want non-zero latency, connect and TTFB: %+v", out)
	}
	if out.DNS != 0 || out.TLS != 0 {
		t.Errorf("IP literal over plain HTTP should have no DNS/TLS phase: %+v", out)
	}
	if sum := out.Connect + out.TTFB + out.Transfer; sum > out.Latency {
		t.Errorf("phases %v exceed latency %v", sum, out.Latency)
	}
}

func TestProbeStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	p := newTestProber(t, HTTPOptions{})

	tests := []struct {
		code     int
		expected string
		up       bool
		err      string
	}{
		{200, "", true, ""},
		{204, "", true, ""},
		{500, "", false, "HTTP 500 Internal Server Error"},
		{404, "", false, "HTTP 404 Not Found"},
		{404, "404", true, ""},
		{404, "2xx,404", true, ""},
		{200, "404", false, "HTTP 200 OK"},
		{503, "5xx", true, ""},
		{299, "", true, ""},
		{599, "", false, "HTTP 599"}, // no standard reason phrase
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.code)+"/"+tt.expected, func(t *testing.T) {
			out := p.Probe(context.Background(), Spec{
				URL: srv.URL + "/" + strconv.Itoa(tt.code), ExpectedStatus: tt.expected, Timeout: 5 * time.Second,
			})
			if out.StatusCode != tt.code {
				t.Errorf("status = %d, want %d", out.StatusCode, tt.code)
			}
			if tt.up {
				if !out.OK {
					t.Fatalf("want up, got %+v", out)
				}
				return
			}
			checkFailure(t, out, ReasonStatus)
			if out.Error != tt.err {
				t.Errorf("error = %q, want %q", out.Error, tt.err)
			}
		})
	}
}

func TestProbeBadExpectedStatus(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	out := newTestProber(t, HTTPOptions{}).Probe(context.Background(), Spec{URL: srv.URL, ExpectedStatus: "600"})
	checkFailure(t, out, ReasonError)
	if !strings.Contains(out.Error, `"600" out of 100-599`) {
		t.Errorf("error = %q", out.Error)
	}
	if hits.Load() != 0 {
		t.Errorf("a check with an invalid status set should not reach the target")
	}
}

func TestProbeBadURL(t *testing.T) {
	p := newTestProber(t, HTTPOptions{})
	for _, u := range []string{"", "ftp://127.0.0.1/", "127.0.0.1:80", "http://", "http://[::1", "http://127.0.0.1/\x7f"} {
		out := p.Probe(context.Background(), Spec{URL: u})
		checkFailure(t, out, ReasonError)
		if !strings.HasPrefix(out.Error, "invalid URL") {
			t.Errorf("%q: error = %q", u, out.Error)
		}
	}
	// A method Go refuses to send.
	out := p.Probe(context.Background(), Spec{URL: "http://127.0.0.1:1/", Method: "GE T"})
	checkFailure(t, out, ReasonError)
}

func TestProbeTimeoutHang(t *testing.T) {
	for _, tc := range []struct {
		name       string
		headerSent bool
	}{{"no response", false}, {"hung body", true}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := hangingServer(t, tc.headerSent)
			const timeout = 300 * time.Millisecond
			p := newTestProber(t, HTTPOptions{})
			start := time.Now()
			out := p.Probe(context.Background(), Spec{URL: srv.URL, Timeout: timeout})
			elapsed := time.Since(start)
			checkFailure(t, out, ReasonTimeout)
			// Bounds are loose on purpose (a loaded CI box): the point is
			// that the timeout fires, not the millisecond it fires at.
			if elapsed < timeout*9/10 || elapsed > 10*timeout {
				t.Errorf("took %v, want about %v", elapsed, timeout)
			}
			if !strings.HasPrefix(out.Error, "timeout after 300ms") {
				t.Errorf("error = %q", out.Error)
			}
			if tc.headerSent {
				if out.StatusCode != 200 || !strings.Contains(out.Error, "reading body") {
					t.Errorf("hung body: %+v", out)
				}
			}
			if out.Latency < timeout*9/10 || out.Latency > 10*timeout {
				t.Errorf("latency %v", out.Latency)
			}
		})
	}
}

func TestProbeTimeoutFromCaller(t *testing.T) {
	srv := hangingServer(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	out := newTestProber(t, HTTPOptions{}).Probe(ctx, Spec{URL: srv.URL, Timeout: time.Minute})
	checkFailure(t, out, ReasonTimeout)
	if el := time.Since(start); el > 10*time.Second { // vs the monitor's minute; loose for loaded machines
		t.Errorf("caller's deadline not honoured: %v", el)
	}
	// The message names the deadline that fired, not the monitor's minute.
	if strings.Contains(out.Error, "1m") {
		t.Errorf("error = %q", out.Error)
	}
}

func TestProbeCanceled(t *testing.T) {
	// The caller cancels (shutdown) once the request has reached the target.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel()
		<-r.Context().Done() // the client hangs up
	}))
	t.Cleanup(srv.Close)
	out := newTestProber(t, HTTPOptions{}).Probe(ctx, Spec{URL: srv.URL, Timeout: 5 * time.Second})
	checkFailure(t, out, ReasonError)
	if out.Error != "check canceled" {
		t.Errorf("error = %q", out.Error)
	}
}

func TestProbeDefaultTimeout(t *testing.T) {
	// Timeout 0 must mean the default, not "already expired" nor "none".
	srv := okServer(t)
	out := newTestProber(t, HTTPOptions{}).Probe(context.Background(), Spec{URL: srv.URL})
	if !out.OK {
		t.Fatalf("Timeout=0: %+v", out)
	}
	// Waiting 10 s for a hang is too slow for a unit test; the message of a
	// caller-cancelled check shows which deadline Probe computed instead.
	if got := checkTimeout(context.Background(), Spec{}); got != DefaultHTTPTimeout {
		t.Errorf("checkTimeout(Timeout=0) = %v, want %v", got, DefaultHTTPTimeout)
	}
	if got := checkTimeout(context.Background(), Spec{Timeout: 2 * time.Second}); got != 2*time.Second {
		t.Errorf("checkTimeout(2s) = %v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if got := checkTimeout(ctx, Spec{}); got > time.Second || got < 900*time.Millisecond {
		t.Errorf("checkTimeout under a 1s caller deadline = %v", got)
	}
}

func TestProbeRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	out := newTestProber(t, HTTPOptions{}).Probe(context.Background(), Spec{URL: "http://" + addr + "/", Timeout: 5 * time.Second})
	checkFailure(t, out, ReasonRefused)
	if out.Error != "connection refused ("+addr+")" {
		t.Errorf("error = %q", out.Error)
	}
}

// startFakeDNS serves DNS on UDP 127.0.0.1:0 and answers every query with
// NXDOMAIN, echoing its ID and question as resolvers require. It returns the
// address and a counter of queries answered.
func startFakeDNS(t testing.TB) (string, *atomic.Int64) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 1500)
		for {
			m, from, err := pc.ReadFrom(buf)
			if err != nil {
				return // closed by the cleanup
			}
			if resp := nxdomain(buf[:m]); resp != nil {
				n.Add(1)
				pc.WriteTo(resp, from)
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); wg.Wait() })
	return pc.LocalAddr().String(), &n
}

// nxdomain builds the NXDOMAIN answer to query q (RFC 1035 §4.1), or nil if q
// is not a query with one question.
func nxdomain(q []byte) []byte {
	if len(q) < 12 || q[2]&0x80 != 0 || q[4] != 0 || q[5] != 1 {
		return nil
	}
	i := 12
	for {
		if i >= len(q) {
			return nil
		}
		l := int(q[i])
		if l == 0 {
			i++
			break
		}
		if l&0xC0 != 0 { // no compression in a question we sent
			return nil
		}
		i += 1 + l
	}
	end := i + 4 // QTYPE, QCLASS
	if end > len(q) {
		return nil
	}
	resp := make([]byte, end)
	copy(resp, q[:end])        // ID and question
	resp[2] = 0x80 | q[2]&0x79 // QR=1; keep opcode and RD; AA=TC=0
	resp[3] = 0x80 | 3         // RA=1, RCODE=3 (NXDOMAIN)
	resp[6], resp[7] = 0, 0    // ANCOUNT
	resp[8], resp[9] = 0, 0    // NSCOUNT
	resp[10], resp[11] = 0, 0  // ARCOUNT (drop the query's EDNS OPT)
	return resp
}

// fakeResolver sends every DNS query, whatever server the system
// configuration names, to addr.
func fakeResolver(addr string, _ *atomic.Int64) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", addr)
		},
	}
}

func TestProbeDNS(t *testing.T) {
	addr, queries := startFakeDNS(t)
	p := NewHTTPProber(HTTPOptions{Resolver: fakeResolver(addr, queries)})
	out := p.Probe(context.Background(), Spec{URL: "http://x.invalid/", Timeout: 5 * time.Second})
	checkFailure(t, out, ReasonDNS)
	if out.Error != "lookup x.invalid: no such host" {
		t.Errorf("error = %q", out.Error)
	}
	if queries.Load() == 0 {
		t.Errorf("the fake DNS server got no query: the injected resolver was not used")
	}
	if out.DNS <= 0 {
		t.Errorf("DNS phase not recorded: %+v", out)
	}
}

func TestProbeDNSTimeoutIsDNS(t *testing.T) {
	// A DNS server that never answers: the check's deadline fires during
	// the lookup, and that is still a DNS failure.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	p := NewHTTPProber(HTTPOptions{Resolver: fakeResolver(pc.LocalAddr().String(), nil)})
	out := p.Probe(context.Background(), Spec{URL: "http://x.invalid/", Timeout: 300 * time.Millisecond})
	checkFailure(t, out, ReasonDNS)
	if out.Error != "lookup x.invalid: timeout after 300ms" {
		t.Errorf("error = %q", out.Error)
	}
	if out.DNS < 250*time.Millisecond {
		t.Errorf("the DNS phase should run until the deadline: %+v", out)
	}
}

func TestProbeRedirects(t *testing.T) {
	var loops atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		loops.Add(1)
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/b", http.StatusFound) })
	mux.HandleFunc("/b", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusMovedPermanently) })
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/post", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/echo", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || string(b) != "payload" {
			w.WriteHeader(http.StatusBadRequest)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ctx := context.Background()

	t.Run("loop default limit", func(t *testing.T) {
		loops.Store(0)
		out := newTestProber(t, HTTPOptions{}).Probe(ctx, Spec{URL: srv.URL + "/loop", FollowRedirects: true, Timeout: 5 * time.Second})
		checkFailure(t, out, ReasonRedirects)
		if out.Error != "stopped after 10 redirects" || out.StatusCode != http.StatusFound {
			t.Errorf("got %+v", out)
		}
		if n := loops.Load(); n != 11 { // the first request and 10 redirects
			t.Errorf("server saw %d requests, want 11", n)
		}
	})
	t.Run("loop custom limit", func(t *testing.T) {
		loops.Store(0)
		out := newTestProber(t, HTTPOptions{MaxRedirects: 2}).Probe(ctx, Spec{URL: srv.URL + "/loop", FollowRedirects: true, Timeout: 5 * time.Second})
		checkFailure(t, out, ReasonRedirects)
		if n := loops.Load(); n != 3 {
			t.Errorf("server saw %d requests, want 3", n)
		}
	})
	t.Run("chain within limit", func(t *testing.T) {
		out := newTestProber(t, HTTPOptions{MaxRedirects: 2}).Probe(ctx, Spec{URL: srv.URL + "/a", FollowRedirects: true, Timeout: 5 * time.Second})
		if !out.OK || out.StatusCode != 200 {
			t.Fatalf("want up after 2 redirects, got %+v", out)
		}
	})
	t.Run("307 resends body", func(t *testing.T) {
		out := newTestProber(t, HTTPOptions{}).Probe(ctx, Spec{URL: srv.URL + "/post", Method: "POST", Body: "payload", FollowRedirects: true, Timeout: 5 * time.Second})
		if !out.OK {
			t.Fatalf("got %+v", out)
		}
	})
	t.Run("not followed", func(t *testing.T) {
		loops.Store(0)
		out := newTestProber(t, HTTPOptions{}).Probe(ctx, Spec{URL: srv.URL + "/loop", Timeout: 5 * time.Second})
		checkFailure(t, out, ReasonStatus)
		if out.StatusCode != http.StatusFound || out.Error != "HTTP 302 Found" {
			t.Errorf("got %+v", out)
		}
		if n := loops.Load(); n != 1 {
			t.Errorf("server saw %d requests, want 1", n)
		}
	})
	t.Run("not followed, 3xx accepted", func(t *testing.T) {
		out := newTestProber(t, HTTPOptions{}).Probe(ctx, Spec{URL: srv.URL + "/a", ExpectedStatus: "200-399", Timeout: 5 * time.Second})
		if !out.OK || out.StatusCode != http.StatusFound {
			t.Errorf("got %+v", out)
		}
	})
}

func TestProbeLargeBody(t *testing.T) {
	const size = 50 << 20
	var written atomic.Int64
	handlerDone := make(chan struct{}, 1)
	chunk := make([]byte, 64<<10) // allocated once so the handler adds nothing to the heap
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { handlerDone <- struct{}{} }()
		// A Content-Length avoids chunked encoding and its per-write work.
		w.Header().Set("Content-Length", strconv.Itoa(size))
		for written.Load() < size {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return // the client hung up, as it should
			}
		}
	}))
	t.Cleanup(srv.Close)
	p := newTestProber(t, HTTPOptions{})

	// Warm up the code paths (TLS-free, but transport and trace setup) so
	// one-time allocations do not count.
	p.Probe(context.Background(), Spec{URL: okServer(t).URL})

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	out := p.Probe(context.Background(), Spec{URL: srv.URL, Timeout: 10 * time.Second})
	runtime.ReadMemStats(&after)

	if !out.OK {
		t.Fatalf("want up, got %+v", out)
	}
	if out.Transfer <= 0 {
		t.Errorf("transfer phase not recorded: %+v", out)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 8<<20 {
		t.Errorf("probe allocated %d bytes for a 50 MB body, want < 8 MiB", d)
	}
	select {
	case <-handlerDone:
	case <-time.After(10 * time.Second):
		t.Fatal("server still writing: the client did not hang up")
	}
	if w := written.Load(); w > size/4 {
		t.Errorf("server wrote %d bytes; the client should stop after %d", w, DefaultMaxBody)
	}
	t.Logf("server wrote %.1f MB before the client hung up", float64(written.Load())/1e6)
}

func TestProbeMaxBodyOption(t *testing.T) {
	var written atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 1<<10)
		for written.Load() < 100<<20 {
			n, err := w.Write(buf)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	out := newTestProber(t, HTTPOptions{MaxBody: 1024}).Probe(context.Background(), Spec{URL: srv.URL, Timeout: 5 * time.Second})
	if !out.OK {
		t.Fatalf("reaching MaxBody is not a failure: %+v", out)
	}
}

func TestProbeHeaderLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Big", strings.Repeat("a", 70<<10))
	}))
	t.Cleanup(srv.Close)
	out := newTestProber(t, HTTPOptions{}).Probe(context.Background(), Spec{URL: srv.URL, Timeout: 5 * time.Second})
	checkFailure(t, out, ReasonError)
	if !strings.Contains(out.Error, "headers exceeded") {
		t.Errorf("error = %q", out.Error)
	}
}

func TestProbeServerClosesConnection(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	out := newTestProber(t, HTTPOptions{}).Probe(context.Background(), Spec{URL: srv.URL, Timeout: 5 * time.Second})
	checkFailure(t, out, ReasonError)
	if out.Error != "connection closed by server" {
		t.Errorf("error = %q", out.Error)
	}
}

func TestProbeTLS(t *testing.T) {
	srv := quietTLSServer(t, nil) // what httptest.NewTLSServer gives, minus the logs
	p := newTestProber(t, HTTPOptions{})

	t.Run("verify", func(t *testing.T) {
		out := p.Probe(context.Background(), Spec{URL: srv.URL, VerifyTLS: true, Timeout: 5 * time.Second})
		checkFailure(t, out, ReasonTLS)
		if !strings.Contains(out.Error, "certificate") {
			t.Errorf("error = %q", out.Error)
		}
	})
	t.Run("no verify", func(t *testing.T) {
		out := p.Probe(context.Background(), Spec{URL: srv.URL, VerifyTLS: false, Timeout: 5 * time.Second})
		if !out.OK {
			t.Fatalf("want up, got %+v", out)
		}
		if out.TLS <= 0 || out.Connect <= 0 || out.TTFB <= 0 {
			t.Errorf("phases not recorded: %+v", out)
		}
	})
	t.Run("http2", func(t *testing.T) {
		h2 := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ProtoMajor != 2 {
				w.WriteHeader(http.StatusHTTPVersionNotSupported)
			}
			w.Write(make([]byte, 4<<20)) // more than MaxBody
		}))
		h2.EnableHTTP2 = true
		h2.Config.ErrorLog = log.New(io.Discard, "", 0)
		h2.StartTLS()
		t.Cleanup(h2.Close)
		out := p.Probe(context.Background(), Spec{URL: h2.URL, Timeout: 5 * time.Second})
		if !out.OK || out.TLS <= 0 || out.TTFB <= 0 || out.Transfer <= 0 {
			t.Fatalf("want up over HTTP/2 with phases, got %+v", out)
		}
	})
	t.Run("https to plain http", func(t *testing.T) {
		plain := okServer(t)
		out := p.Probe(context.Background(), Spec{URL: strings.Replace(plain.URL, "http://", "https://", 1), Timeout: 5 * time.Second})
		checkFailure(t, out, ReasonTLS)
	})
	// A server that requires a client certificate fails the handshake
	// with an alert, an error type crypto/tls does not export. With TLS 1.2
	// it arrives during the handshake, with TLS 1.3 on the first read.
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run("client cert required/"+tls.VersionName(v), func(t *testing.T) {
			mtls := quietTLSServer(t, &tls.Config{ClientAuth: tls.RequireAnyClientCert, MaxVersion: v})
			out := p.Probe(context.Background(), Spec{URL: mtls.URL, Timeout: 5 * time.Second})
			checkFailure(t, out, ReasonTLS)
			if !strings.HasPrefix(out.Error, "remote error: tls:") {
				t.Errorf("error = %q", out.Error)
			}
		})
	}
}

// quietTLSServer starts an HTTPS test server whose failed handshakes are not
// logged (they are what the tests provoke).
func quietTLSServer(t *testing.T, cfg *tls.Config) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = cfg
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestProbeRequestShape(t *testing.T) {
	type seen struct {
		method, host, ua, token, ctype, body string
		clen                                 int64
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.Host, r.UserAgent(), r.Header.Get("X-Token"), r.Header.Get("Content-Type"), string(b), r.ContentLength}
	}))
	t.Cleanup(srv.Close)
	p := newTestProber(t, HTTPOptions{})

	out := p.Probe(context.Background(), Spec{
		URL:    srv.URL + "/hook",
		Method: "PUT",
		Headers: map[string]string{
			"X-Token": "abc", "Content-Type": "application/json",
			"host": "status.example", "User-Agent": "custom/2",
		},
		Body:    `{"a":1}`,
		Timeout: 5 * time.Second,
	})
	if !out.OK {
		t.Fatalf("got %+v", out)
	}
	s := <-got
	want := seen{"PUT", "status.example", "custom/2", "abc", "application/json", `{"a":1}`, 7}
	if s != want {
		t.Errorf("server saw %+v, want %+v", s, want)
	}

	p.Probe(context.Background(), Spec{URL: srv.URL, Timeout: 5 * time.Second})
	s = <-got
	if s.method != "GET" || s.ua != DefaultUserAgent || s.body != "" || !strings.HasPrefix(s.host, "127.0.0.1:") {
		t.Errorf("defaults: server saw %+v", s)
	}

	p2 := newTestProber(t, HTTPOptions{UserAgent: "ops-bot/3"})
	p2.Probe(context.Background(), Spec{URL: srv.URL, Timeout: 5 * time.Second})
	if s = <-got; s.ua != "ops-bot/3" {
		t.Errorf("UserAgent option: server saw %q", s.ua)
	}
}

func TestProbeNoProxyFromEnv(t *testing.T) {
	// A proxy in the environment must not be used: the "proxy" here
	// answers 418 to anything, the target 200.
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(proxy.Close)
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("http_proxy", proxy.URL)
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")
	srv := okServer(t)
	out := newTestProber(t, HTTPOptions{}).Probe(context.Background(), Spec{URL: srv.URL, Timeout: 5 * time.Second})
	if !out.OK {
		t.Fatalf("went through the env proxy? %+v", out)
	}
	// net/http reads the proxy environment once per process, so the probe
	// above can pass by luck; the transports themselves must have no Proxy.
	p := newTestProber(t, HTTPOptions{})
	for _, plane := range p.clients {
		for _, row := range plane {
			for _, c := range row {
				if c.Transport.(*http.Transport).Proxy != nil {
					t.Fatal("transport has a Proxy func")
				}
			}
		}
	}
}

func TestProbeConcurrent(t *testing.T) {
	// One prober is shared by all workers; -race checks the trace hooks
	// and the shared transports.
	srv := okServer(t)
	p := newTestProber(t, HTTPOptions{})
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for range 16 {
		wg.Go(func() {
			for range 8 {
				if out := p.Probe(context.Background(), Spec{URL: srv.URL, Timeout: 5 * time.Second}); !out.OK {
					errs <- out.Error
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestClassifyOrder(t *testing.T) {
	// A DNS error that is also a timeout is a DNS failure.
	dnsTimeout := &net.DNSError{Err: "i/o timeout", Name: "example.test", IsTimeout: true}
	if r, msg := classify(dnsTimeout, failState{}, time.Second); r != ReasonDNS || msg != "lookup example.test: timeout" {
		t.Errorf("dns timeout → %s %q", r, msg)
	}
	if r, msg := classify(context.DeadlineExceeded, failState{}, 2*time.Second); r != ReasonTimeout || msg != "timeout after 2s" {
		t.Errorf("deadline → %s %q", r, msg)
	}
	if r, _ := classify(errors.New("boom"), failState{tlsErr: errors.New("tls: handshake failure")}, time.Second); r != ReasonTLS {
		t.Errorf("handshake error → %s", r)
	}
	long := errors.New(strings.Repeat("é", 400))
	if _, msg := classify(long, failState{}, time.Second); len(msg) > maxErrorLen+len("…") || !strings.HasSuffix(msg, "…") {
		t.Errorf("long message not capped: %d bytes", len(msg))
	}
}

// BenchmarkHTTPProbe measures one check against a loopback 200 server with a
// fresh connection each time. The process CPU includes the server's.
func BenchmarkHTTPProbe(b *testing.B) {
	srv := okServer(b)
	p := newTestProber(b, HTTPOptions{})
	spec := Spec{URL: srv.URL, Timeout: 5 * time.Second}
	b.Run("sequential", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		for b.Loop() {
			if out := p.Probe(context.Background(), spec); !out.OK {
				b.Fatal(out.Error)
			}
		}
		b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/check")
	})
	b.Run("parallel16", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(8) // 8 × GOMAXPROCS(2) = 16 checks in flight
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if out := p.Probe(context.Background(), spec); !out.OK {
					b.Error(out.Error)
					return
				}
			}
		})
		b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/check")
	})
}

func TestProbeHangLeavesNoClientGoroutines(t *testing.T) {
	// A timed-out check must release its connection: no Transport
	// goroutines (persistConn read/write loops, dials) outlive it.
	srv := hangingServer(t, true)
	p := newTestProber(t, HTTPOptions{})
	for range 5 {
		if out := p.Probe(context.Background(), Spec{URL: srv.URL, Timeout: 100 * time.Millisecond}); out.Reason != ReasonTimeout {
			t.Fatalf("got %+v", out)
		}
	}
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(5 * time.Second)
	for {
		stacks := string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "net/http.(*persistConn)") && !strings.Contains(stacks, "net/http.(*Transport).dialConn") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("client goroutines left after timed-out checks:\n%s", stacks)
		}
		time.Sleep(10 * time.Millisecond) // polling the runtime: no event to wait on
	}
}

func TestProbeExcerptOfFailingBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ok" {
			_, _ = io.WriteString(w, "all good")
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		// Control characters are dropped, a long body is cut at 512 bytes
		// on a rune boundary.
		_, _ = io.WriteString(w, "\x00upstream \x1b[31mdown\x1b[0m: database unreachable\n"+strings.Repeat("é", 400))
	}))
	t.Cleanup(srv.Close)
	p := newTestProber(t, HTTPOptions{})
	out := p.Probe(context.Background(), Spec{URL: srv.URL + "/fail", Timeout: 5 * time.Second})
	if out.OK || out.Reason != ReasonStatus {
		t.Fatalf("want status failure, got %+v", out)
	}
	if !strings.HasPrefix(out.Excerpt, "upstream [31mdown[0m: database unreachable\né") {
		t.Errorf("excerpt = %q", out.Excerpt)
	}
	if len(out.Excerpt) > excerptLen || !utf8.ValidString(out.Excerpt) {
		t.Errorf("excerpt of %d bytes, valid UTF-8 %v", len(out.Excerpt), utf8.ValidString(out.Excerpt))
	}
	if ok := p.Probe(context.Background(), Spec{URL: srv.URL + "/ok", Timeout: 5 * time.Second}); !ok.OK || ok.Excerpt != "" {
		t.Errorf("a good response keeps no excerpt: %+v", ok)
	}
}
