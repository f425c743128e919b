package checker

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upwatch/upwatch/reason"
)

// Every server here listens on loopback, port 0, and the probers' resolver
// cannot reach any DNS server: no test traffic leaves the machine.

// noDNSResolver fails every query without sending it.
func noDNSResolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("no DNS in tests")
		},
	}
}

// serveConns accepts on ln until the test ends, running handle for each
// connection in its own goroutine. done is closed when the test ends, for
// handlers that wait; the cleanup waits for every handler.
func serveConns(t *testing.T, ln net.Listener, handle func(c net.Conn, done <-chan struct{})) {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed by the cleanup
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c, done)
			}()
		}
	}()
	t.Cleanup(func() {
		close(done)
		ln.Close()
		wg.Wait()
	})
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func portOf(t *testing.T, ln net.Listener) int {
	t.Helper()
	return ln.Addr().(*net.TCPAddr).Port
}

// closedPort is a port nothing listens on (listened on, then closed).
func closedPort(t *testing.T) int {
	t.Helper()
	ln := listenLoopback(t)
	port := portOf(t, ln)
	ln.Close()
	return port
}

// waitEOF keeps a connection open until the client closes it or the test ends.
func waitEOF(c net.Conn, done <-chan struct{}) {
	go func() { <-done; c.Close() }()
	io.Copy(io.Discard, c)
}

// tcpSpec validates settings as the API would and wraps them in a Spec.
func tcpSpec(t *testing.T, set map[string]any, timeout time.Duration) Spec {
	t.Helper()
	raw, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	norm, errs := ValidateSettings(TypeTCP, raw)
	if len(errs) > 0 {
		t.Fatalf("settings %s: %v", raw, errs)
	}
	return Spec{Type: TypeTCP, Timeout: timeout, Settings: norm}
}

func newTCPTestProber() Prober {
	return tcpType().newProber(ProbeEnv{Resolver: noDNSResolver()})
}

// wantDown asserts the shape of a failed outcome.
func wantDown(t *testing.T, out Outcome, reason string) {
	t.Helper()
	if out.OK || out.Reason != reason {
		t.Fatalf("got ok=%v reason=%q (%s), want down/%s", out.OK, out.Reason, out.Error, reason)
	}
	if out.Error == "" || len(out.Error) > maxErrorLen+len("…") {
		t.Errorf("error %q: empty or too long", out.Error)
	}
}

func TestTCPProbeOpen(t *testing.T) {
	for _, network := range []struct{ name, addr string }{{"ipv4", "127.0.0.1:0"}, {"ipv6", "[::1]:0"}} {
		t.Run(network.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", network.addr)
			if err != nil {
				// Not CI-dependent: some hosts (containers) have no IPv6
				// loopback at all, and then there is nothing to test.
				t.Skipf("no loopback for %s: %v", network.name, err)
			}
			serveConns(t, ln, waitEOF)
			host := ln.Addr().(*net.TCPAddr).IP.String()
			out := newTCPTestProber().Probe(context.Background(), tcpSpec(t, map[string]any{"host": host, "port": portOf(t, ln)}, 5*time.Second))
			if !out.OK || out.Reason != "" || out.Error != "" || out.Degraded {
				t.Fatalf("want up, got %+v", out)
			}
			if out.Latency <= 0 || out.Connect <= 0 || out.Connect > out.Latency {
				t.Errorf("latency %v, connect %v", out.Latency, out.Connect)
			}
			if out.DNS != 0 {
				t.Errorf("an IP literal has no DNS phase, got %v", out.DNS)
			}
			if want := "connected to " + ln.Addr().String(); out.Detail != want {
				t.Errorf("detail = %q, want %q", out.Detail, want)
			}
		})
	}
}

func TestTCPProbeRefused(t *testing.T) {
	port := closedPort(t)
	out := newTCPTestProber().Probe(context.Background(), tcpSpec(t, map[string]any{"host": "127.0.0.1", "port": port}, 5*time.Second))
	wantDown(t, out, ReasonRefused)
	if want := "connection refused (127.0.0.1:" + strconv.Itoa(port) + ")"; out.Error != want {
		t.Errorf("error = %q, want %q", out.Error, want)
	}
}

func TestTCPProbeDNS(t *testing.T) {
	out := newTCPTestProber().Probe(context.Background(), tcpSpec(t, map[string]any{"host": "nonexistent.invalid", "port": 22}, 5*time.Second))
	wantDown(t, out, ReasonDNS)
	// The injected resolver's failure shows: the system's was not asked.
	if !strings.HasPrefix(out.Error, "lookup nonexistent.invalid: ") || !strings.Contains(out.Error, "no DNS in tests") {
		t.Errorf("error = %q", out.Error)
	}
	if out.DNS <= 0 {
		t.Errorf("DNS phase not recorded: %+v", out)
	}
}

func TestTCPProbeExpect(t *testing.T) {
	tests := []struct {
		name   string
		sent   string // what the server writes before waiting for EOF
		close  bool   // the server closes right after writing
		expect string
		reason string // "" for up
		err    string
		detail string // suffix after "connected to …"
	}{
		{name: "banner matches", sent: "SSH-2.0-OpenSSH_9.2\r\n", expect: "SSH-",
			detail: ` · banner "SSH-2.0-OpenSSH_9.2"`},
		{name: "match past the first line", sent: "220-hello\r\n220 mail.example ESMTP\r\n", expect: "ESMTP",
			detail: ` · banner "220-hello"`},
		{name: "mismatch on close", sent: "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", close: true, expect: "SSH-",
			reason: reason.Mismatch, err: `expected "SSH-" but got "HTTP/1.1 400 Bad Request Content-Length: 0"`,
			detail: ` · banner "HTTP/1.1 400 Bad Request"`},
		{name: "long answer is cut", sent: strings.Repeat("x", 100), close: true, expect: "SSH-",
			reason: reason.Mismatch, err: `expected "SSH-" but got "` + strings.Repeat("x", 59) + `…"`,
			detail: ` · banner "` + strings.Repeat("x", 59) + `…"`},
		{name: "closed without a word", close: true, expect: "SSH-",
			reason: reason.Mismatch, err: `expected "SSH-" but the server sent nothing before closing`},
		{name: "control characters are not shown", sent: "\x1b[31mOK\u202e\x00 ready\r\n", close: true, expect: "nope",
			reason: reason.Mismatch, err: `expected "nope" but got "[31mOK ready"`,
			detail: ` · banner "[31mOK ready"`},
		{name: "4 KiB without a match", sent: strings.Repeat("y", 5000) + "SSH-", expect: "SSH-",
			reason: reason.Mismatch, err: `expected "SSH-" but got "` + strings.Repeat("y", 59) + `…"`,
			detail: ` · banner "` + strings.Repeat("y", 59) + `…"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln := listenLoopback(t)
			serveConns(t, ln, func(c net.Conn, done <-chan struct{}) {
				io.WriteString(c, tt.sent)
				if !tt.close {
					waitEOF(c, done)
				}
			})
			out := newTCPTestProber().Probe(context.Background(), tcpSpec(t, map[string]any{
				"host": "127.0.0.1", "port": portOf(t, ln), "expect": tt.expect,
			}, 5*time.Second))
			if tt.reason == "" {
				if !out.OK || out.Reason != "" {
					t.Fatalf("want up, got %+v", out)
				}
			} else {
				wantDown(t, out, tt.reason)
				if out.Error != tt.err {
					t.Errorf("error = %q\nwant    %q", out.Error, tt.err)
				}
			}
			if want := "connected to " + ln.Addr().String() + tt.detail; out.Detail != want {
				t.Errorf("detail = %q\nwant     %q", out.Detail, want)
			}
			if out.Latency < out.Connect || out.Connect <= 0 {
				t.Errorf("latency %v should include connect %v", out.Latency, out.Connect)
			}
		})
	}
}

func TestTCPProbeSend(t *testing.T) {
	// A server that answers one exact line, so the escapes must have been
	// turned into CR LF for the check to pass.
	got := make(chan string, 1)
	ln := listenLoopback(t)
	serveConns(t, ln, func(c net.Conn, done <-chan struct{}) {
		line, _ := bufio.NewReader(c).ReadString('\n')
		got <- line
		if line == "PING\r\n" {
			io.WriteString(c, "+PONG\r\n")
		} else {
			io.WriteString(c, "-ERR unknown\r\n")
		}
		waitEOF(c, done)
	})
	tests := []struct {
		name, send, expect string
		up                 bool
	}{
		{"escaped CR LF", `PING\r\n`, "+PONG", true},
		{"escapes not typed", `PING`, "+PONG", false}, // the server waits for \n: timeout
		{"send only", `PING\r\n`, "", true},
		{"wrong command", `PONG\r\n`, "+PONG", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := map[string]any{"host": "127.0.0.1", "port": portOf(t, ln), "send": tt.send}
			if tt.expect != "" {
				set["expect"] = tt.expect
			}
			out := newTCPTestProber().Probe(context.Background(), tcpSpec(t, set, 500*time.Millisecond))
			if out.OK != tt.up {
				t.Fatalf("ok = %v, want %v: %+v", out.OK, tt.up, out)
			}
			if tt.expect == "" {
				// Nothing to wait for: the check must not have read.
				if strings.Contains(out.Detail, "banner") {
					t.Errorf("detail = %q", out.Detail)
				}
			}
			select {
			case line := <-got:
				if want, _ := unescapeSend(tt.send); line != want {
					t.Errorf("server got %q, want %q", line, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the server never got a line")
			}
		})
	}
}

func TestTCPProbeSilentServer(t *testing.T) {
	accepted := make(chan struct{}, 1)
	ln := listenLoopback(t)
	serveConns(t, ln, func(c net.Conn, done <-chan struct{}) {
		accepted <- struct{}{}
		waitEOF(c, done)
	})
	spec := tcpSpec(t, map[string]any{"host": "127.0.0.1", "port": portOf(t, ln), "expect": "SSH-"}, 300*time.Millisecond)

	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		out := newTCPTestProber().Probe(context.Background(), spec)
		<-accepted
		wantDown(t, out, ReasonTimeout)
		if want := `timeout after 300ms waiting for "SSH-"`; out.Error != want {
			t.Errorf("error = %q, want %q", out.Error, want)
		}
		// Loose upper bound: a loaded CI box; the point is it is bounded.
		if el := time.Since(start); el < 300*time.Millisecond || el > 3*time.Second {
			t.Errorf("took %v, want about 300ms", el)
		}
		if out.Latency < 300*time.Millisecond || !strings.HasPrefix(out.Detail, "connected to ") {
			t.Errorf("latency %v, detail %q", out.Latency, out.Detail)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-accepted; cancel() }()
		spec := spec
		spec.Timeout = 10 * time.Second
		start := time.Now()
		out := newTCPTestProber().Probe(ctx, spec)
		wantDown(t, out, ReasonError)
		if out.Error != "check canceled" {
			t.Errorf("error = %q", out.Error)
		}
		if el := time.Since(start); el > 3*time.Second {
			t.Errorf("took %v: the read did not end when the caller canceled", el)
		}
	})
}

func TestTCPExchangeSplitMatch(t *testing.T) {
	// net.Pipe hands each Write to one Read, so the expected text arrives
	// cut in two, as it may over a real network.
	client, server := net.Pipe()
	defer client.Close()
	go func() {
		defer server.Close()
		for _, part := range []string{"SS", "H-2.0-x\r\n"} {
			if _, err := io.WriteString(server, part); err != nil {
				return
			}
		}
	}()
	client.SetDeadline(time.Now().Add(5 * time.Second))
	got, matched, err := tcpExchange(client, "", "SSH-")
	if err != nil || !matched {
		t.Fatalf("got %q, matched %v, err %v", got, matched, err)
	}
}

func TestTCPValidate(t *testing.T) {
	tests := []struct {
		name, in string
		field    string // "" when valid
		msg      string // field error, or the normalised settings
	}{
		{"minimal", `{"host":"db.internal","port":5432}`, "", `{"host":"db.internal","port":5432}`},
		{"ipv6", `{"host":"::1","port":22}`, "", `{"host":"::1","port":22}`},
		{"ipv6 brackets", `{"host":"[2001:db8::1]","port":22}`, "", `{"host":"[2001:db8::1]","port":22}`},
		{"send kept as typed", `{"host":"h","port":6379,"send":"PING\\r\\n","expect":"+PONG"}`, "",
			`{"host":"h","port":6379,"send":"PING\\r\\n","expect":"+PONG"}`},
		{"blank expect dropped", `{"host":"h","port":1,"expect":"  "}`, "", `{"host":"h","port":1}`},
		{"missing host", `{"port":22}`, "host", "is required"},
		{"missing port", `{"host":"h"}`, "port", "is required"},
		{"port 0", `{"host":"h","port":0}`, "port", "must be between 1 and 65535"},
		{"port 70000", `{"host":"h","port":70000}`, "port", "must be between 1 and 65535"},
		{"port as text", `{"host":"h","port":"22"}`, "port", "must be a number"},
		{"port fraction", `{"host":"h","port":22.5}`, "port", "must be a whole number"},
		{"unknown field", `{"host":"h","port":22,"tls":true}`, "tls", "unknown field"},
		{"control char in host", `{"host":"h\u0000x","port":22}`, "host", "must not contain control characters or line breaks"},
		{"bad host", `{"host":"a b","port":22}`, "host", "must be a host name or an IP address"},
		{"url as host", `{"host":"http://h/","port":22}`, "host", "must be a host name or an IP address"},
		{"send too long", `{"host":"h","port":22,"send":"` + strings.Repeat("a", 1025) + `"}`, "send", "must be at most 1024 bytes"},
		{"send at limit with escapes", `{"host":"h","port":22,"send":"` + strings.Repeat(`\\n`, 1024) + `"}`, "", ""},
		{"send unknown escape", `{"host":"h","port":22,"send":"a\\qb"}`, "send", `has an unknown escape \q (use \r, \n, \t or \\)`},
		{"send lone backslash", `{"host":"h","port":22,"send":"a\\"}`, "send", `ends with a lone \ (type \\ for a backslash)`},
		{"settings not an object", `[1]`, "settings", "must be a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errs := ValidateSettings(TypeTCP, json.RawMessage(tt.in))
			if tt.field == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				if tt.msg != "" && string(out) != tt.msg {
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

func TestUnescapeSend(t *testing.T) {
	tests := []struct{ in, want string }{
		{``, ``},
		{`plain`, `plain`},
		{`PING\r\n`, "PING\r\n"},
		{`a\tb`, "a\tb"},
		{`C:\\dir`, `C:\dir`},
		{`\\n`, `\n`},
		{`é\n`, "é\n"},
	}
	for _, tt := range tests {
		if got, err := unescapeSend(tt.in); err != nil || got != tt.want {
			t.Errorf("unescapeSend(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{`\`, `a\x41`, `\é`} {
		if got, err := unescapeSend(in); err == nil {
			t.Errorf("unescapeSend(%q) = %q, want an error", in, got)
		}
	}
}
