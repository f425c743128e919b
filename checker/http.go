package checker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/upwatch/upwatch/egress"
)

// Defaults for HTTPOptions and Spec; see DESIGN.md §3.
const (
	DefaultHTTPTimeout    = 10 * time.Second
	DefaultMaxBody        = 1 << 20 // 1 MiB
	DefaultMaxRedirects   = 10
	DefaultMaxHeaderBytes = 64 << 10 // 64 KiB
	DefaultUserAgent      = "upwatch/1 (+uptime monitor)"
)

// maxErrorLen caps Outcome.Error: it is stored with every failed result and
// shown in lists, and some errors quote what the server sent.
const maxErrorLen = 300

// HTTPOptions bounds what one HTTP check may cost. Zero fields take the
// defaults above.
type HTTPOptions struct {
	// MaxBody is how much of the body is read; the rest is not downloaded
	// (the connection is closed) and that is not a failure.
	MaxBody int64
	// MaxRedirects is how many redirects are followed when a monitor follows
	// redirects; one more is a failure (ReasonRedirects).
	MaxRedirects int
	// MaxHeaderBytes caps the response headers.
	MaxHeaderBytes int64
	// UserAgent is sent unless the monitor sets its own User-Agent header.
	UserAgent string
	// Resolver resolves host names; nil means net.DefaultResolver. Tests
	// inject one that talks to a fake DNS server on loopback.
	Resolver *net.Resolver
	// Egress judges every address a check connects to (each redirect hop
	// included); nil means the default policy.
	Egress *egress.Policy
}

// HTTPProber runs HTTP(S) checks. It is safe for concurrent use; build one
// per process (or per worker pool) and share it.
type HTTPProber struct {
	opts HTTPOptions

	// One client per (private addresses allowed, verify TLS, follow
	// redirects). They are built once: a Transport per check would cost
	// allocations and defeat its internal caches, and there is no state in
	// them that differs per check (redirect limits come from opts,
	// timeouts from the context).
	clients [2][2][2]*http.Client
}

// NewHTTPProber builds a prober with o's limits (defaults for zero fields).
func NewHTTPProber(o HTTPOptions) *HTTPProber {
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = DefaultMaxRedirects
	}
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	if o.Egress == nil {
		o.Egress = egress.New(egress.Config{})
	}
	p := &HTTPProber{opts: o}

	base := &net.Dialer{
		Resolver: o.Resolver,
		// No Timeout: the check's context bounds the dial. No TCP
		// keep-alive probes: every connection lives for one request.
		KeepAlive: -1,
	}
	newTransport := func(private, verify bool) *http.Transport {
		return &http.Transport{
			// Monitors must see the target as users do, not through
			// whatever proxy the server's environment happens to name;
			// and a proxy would dial for us, out of the policy's sight.
			Proxy: nil,
			// The policy judges each resolved address just before it
			// connects: a name, a rebinding answer or a redirect cannot
			// reach what it refuses.
			DialContext: o.Egress.DialContext(base, private),
			// A fresh connection per check, so every result includes DNS,
			// connect and TLS time and a broken listener cannot hide
			// behind a pooled connection.
			DisableKeepAlives: true,
			// We only count body bytes (and a keyword check wants plain
			// text): transparent gzip would cost CPU and memory per check
			// and let a small download expand without bound on our side.
			DisableCompression:     true,
			MaxResponseHeaderBytes: o.MaxHeaderBytes,
			ForceAttemptHTTP2:      true,
			TLSClientConfig: &tls.Config{
				// Off only for monitors that ask for it (self-signed
				// internal services); the default verifies.
				InsecureSkipVerify: !verify,
			},
			// No TLSHandshakeTimeout/ResponseHeaderTimeout: the check's
			// context deadline bounds every phase at once.
		}
	}
	for pr, private := range []bool{false, true} {
		for v, verify := range []bool{false, true} {
			tr := newTransport(private, verify)
			for f, follow := range []bool{false, true} {
				p.clients[pr][v][f] = &http.Client{
					Transport:     tr,
					CheckRedirect: p.redirectPolicy(follow),
				}
			}
		}
	}
	return p
}

// redirectLimitError is returned by the redirect policy when a monitor would
// follow more than MaxRedirects redirects.
type redirectLimitError struct{ max int }

func (e redirectLimitError) Error() string {
	return fmt.Sprintf("stopped after %d redirects", e.max)
}

func (p *HTTPProber) redirectPolicy(follow bool) func(*http.Request, []*http.Request) error {
	if !follow {
		// The 3xx response itself is judged against the accepted statuses.
		return func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	limit := p.opts.MaxRedirects
	return func(_ *http.Request, via []*http.Request) error {
		// via holds the requests already sent: len(via) == 1 on the first
		// redirect, so this follows exactly limit redirects.
		if len(via) > limit {
			return redirectLimitError{max: limit}
		}
		return nil
	}
}

// Probe runs one check of s and reports what happened; it never returns an
// error of its own, every failure is an Outcome with a Reason.
//
// Phases (each summed over redirect hops):
//   - DNS: DNSStart → DNSDone (zero for IP literals);
//   - Connect: first ConnectStart → successful ConnectDone;
//   - TLS: TLSHandshakeStart → TLSHandshakeDone;
//   - TTFB: request fully written → first response byte, i.e. the server's
//     think time plus one round trip, NOT counting DNS/connect/TLS;
//   - Transfer: first response byte of the final response → body read done.
//
// Latency is from just before the request starts to the end of the body read
// (or to the failure), so it is about DNS+Connect+TLS+TTFB+Transfer.
//
// The type's settings (httpSettings) may add credentials to the request and
// judge a response with an accepted status by its content: a JSON
// assertion (reason.JSON), then a keyword (reason.Keyword), on the first
// MaxBody bytes. Over HTTPS, CertExpiry is the final response's leaf
// certificate's expiry.
func (p *HTTPProber) Probe(ctx context.Context, s Spec) Outcome {
	timeout := checkTimeout(ctx, s)
	accepted, err := ParseStatusRanges(s.ExpectedStatus)
	if err != nil {
		return Outcome{Reason: ReasonError, Error: capError("expected status: " + err.Error())}
	}
	// nil for a monitor without settings: the common case costs nothing.
	check, err := newHTTPCheck(s.Settings)
	if err != nil {
		return Outcome{Reason: ReasonError, Error: capError(err.Error())}
	}
	req, err := p.newRequest(s)
	if err != nil {
		return Outcome{Reason: ReasonError, Error: capError(err.Error())}
	}
	if check != nil {
		check.authorize(req)
	}

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var pt phaseTimer
	req = req.WithContext(httptrace.WithClientTrace(ctx, pt.trace()))

	client := p.clients[boolIndex(!s.DenyPrivate)][boolIndex(s.VerifyTLS)][boolIndex(s.FollowRedirects)]
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		now := time.Now()
		out := Outcome{Latency: now.Sub(start)}
		if resp != nil { // redirect policy refused: resp is the last 3xx
			out.StatusCode = resp.StatusCode
			out.CertExpiry = certExpiry(resp)
		}
		st := pt.fail(&out, now)
		st.host = req.URL.Hostname()
		out.Reason, out.Error = classify(err, st, timeout)
		return out
	}

	// Unless the check judges the content, read into io.Discard: we need
	// the transfer time and to know the body arrives, not its bytes.
	// Closing early makes the Transport drop the connection instead of
	// downloading the rest.
	// The first bytes are kept: a failing response's body often says why.
	var (
		head    [excerptLen]byte
		n       int
		body    []byte
		bodyErr error
	)
	if check != nil && check.readsBody() {
		body, bodyErr = readBody(resp.Body, p.opts.MaxBody, resp.ContentLength)
		n = copy(head[:], body)
	} else {
		n, bodyErr = io.ReadFull(resp.Body, head[:min(int64(excerptLen), p.opts.MaxBody)])
		switch bodyErr {
		case io.EOF, io.ErrUnexpectedEOF: // a body shorter than the excerpt
			bodyErr = io.EOF
		case nil:
			_, bodyErr = io.CopyN(io.Discard, resp.Body, p.opts.MaxBody-int64(n))
		}
	}
	resp.Body.Close()
	end := time.Now()
	if bodyErr == io.EOF { // shorter than MaxBody: the normal case
		bodyErr = nil
	}

	out := Outcome{StatusCode: resp.StatusCode, Latency: end.Sub(start), CertExpiry: certExpiry(resp)}
	pt.fill(&out, end)
	switch {
	case !accepted.Contains(resp.StatusCode):
		// The status is the more useful thing to report even if the body
		// also failed.
		out.Reason = ReasonStatus
		out.Error = capError(statusLine(resp.StatusCode))
		out.Excerpt = excerpt(head[:n])
	case bodyErr != nil:
		reason, msg := classify(bodyErr, failState{}, timeout)
		if reason == ReasonTimeout {
			msg += " while reading body"
		} else {
			msg = "reading body: " + msg
		}
		out.Reason, out.Error = reason, capError(msg)
	case check != nil && check.readsBody():
		// Judged after end: parsing is not the target's latency.
		check.judge(&out, body, int64(len(body)) >= p.opts.MaxBody, head[:n])
	default:
		out.OK = true
	}
	return out
}

// readBody reads up to limit bytes of a body. A declared length sizes the
// buffer once; reaching the limit is not an error (the rest is not read).
func readBody(r io.Reader, limit, declared int64) ([]byte, error) {
	size := int64(4 << 10)
	if declared >= 0 {
		size = declared + 1 // room to see EOF without growing
	}
	buf := make([]byte, 0, min(size, limit))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) >= limit {
				return buf, nil
			}
			grown := make([]byte, len(buf), min(2*int64(cap(buf))+512, limit))
			copy(grown, buf)
			buf = grown
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// certExpiry is when the leaf certificate the final response came over
// expires (Unix ms), or 0 over plain HTTP.
func certExpiry(resp *http.Response) int64 {
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		return 0
	}
	return resp.TLS.PeerCertificates[0].NotAfter.UnixMilli()
}

// excerptLen bounds the part of a failing response's body kept for the
// incident it opens.
const excerptLen = 512

// excerpt turns the start of a body into short, printable text: invalid
// UTF-8 (including a rune cut at the end) and control characters other than
// newlines and tabs are dropped.
func excerpt(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		if r == utf8.RuneError && size <= 1 {
			continue
		}
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			continue
		}
		sb.WriteRune(r)
	}
	return strings.TrimSpace(sb.String())
}

// checkTimeout is how long the check may take: the monitor's timeout (the
// default if unset), or less if the caller's context ends sooner, so that a
// timeout message names the deadline that actually fired.
func checkTimeout(ctx context.Context, s Spec) time.Duration {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < timeout {
			timeout = left.Round(time.Millisecond)
		}
	}
	return timeout
}

// newRequest builds the request for s without a context; errors are already
// phrased for the user.
func (p *HTTPProber) newRequest(s Spec) (*http.Request, error) {
	u, err := url.Parse(s.URL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("invalid URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("invalid URL: scheme must be http or https")
	}
	if u.Host == "" {
		return nil, fmt.Errorf("invalid URL: no host")
	}
	method := s.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if s.Body != "" {
		// A *strings.Reader gives the request a ContentLength and a
		// GetBody, so 307/308 redirects can resend it.
		body = strings.NewReader(s.Body)
	}
	// context.Background is replaced by Probe with the check's context.
	req, err := http.NewRequestWithContext(context.Background(), method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("invalid request: %s", strings.TrimPrefix(err.Error(), "net/http: "))
	}
	req.Header.Set("User-Agent", p.opts.UserAgent)
	for k, v := range s.Headers {
		if strings.EqualFold(k, "Host") {
			// Go ignores a Host entry in Header; req.Host is what is sent.
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	return req, nil
}

// failState is what the trace saw of a failed request: the error alone does
// not always say which phase failed.
type failState struct {
	host       string
	dnsPending bool  // the deadline fired during the lookup
	dnsErr     error // from DNSDone
	tlsErr     error // from TLSHandshakeDone
}

// classify maps a transport error to a reason and a short human message. The
// order matters: a DNS lookup that timed out is still a DNS problem, and a
// TLS handshake cut by the deadline is a timeout.
func classify(err error, st failState, timeout time.Duration) (reason, msg string) {
	var (
		dnsErr  *net.DNSError
		netErr  net.Error
		certErr *tls.CertificateVerificationError
		recErr  tls.RecordHeaderError
		alert   tls.AlertError
		opErr   *net.OpError
		unkAuth x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		limit   redirectLimitError
		blocked *egress.BlockedError
	)
	isTimeout := errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout()
	switch {
	case errors.As(err, &blocked):
		// Refused before connecting: the message names the address and
		// why, and nothing was read from it.
		return ReasonBlocked, capError(blocked.Error())
	case errors.Is(err, context.Canceled):
		// The caller gave up (shutdown): not a verdict on the target.
		return ReasonError, "check canceled"
	case errors.As(err, &dnsErr), errors.As(st.dnsErr, &dnsErr):
		msg := "lookup " + dnsErr.Name + ": "
		switch {
		case dnsErr.IsNotFound:
			msg += "no such host"
		case dnsErr.IsTimeout:
			msg += "timeout"
		default:
			msg += dnsErr.Err
		}
		return ReasonDNS, capError(msg)
	case st.dnsErr != nil:
		return ReasonDNS, capError("lookup " + st.host + ": " + st.dnsErr.Error())
	case st.dnsPending && isTimeout:
		// The Transport returns the bare context error as soon as the
		// deadline fires, while the lookup goes on in the background.
		return ReasonDNS, fmt.Sprintf("lookup %s: timeout after %s", st.host, timeout)
	case isTimeout:
		return ReasonTimeout, fmt.Sprintf("timeout after %s", timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		msg := "connection refused"
		var op *net.OpError
		if errors.As(err, &op) && op.Addr != nil {
			msg += " (" + op.Addr.String() + ")"
		}
		return ReasonRefused, msg
	case errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &alert),
		errors.As(err, &unkAuth), errors.As(err, &host), errors.As(err, &invalid),
		st.tlsErr != nil, errors.As(err, &opErr) && isTLSAlertOp(opErr.Op):
		// The last two catch TLS alerts, which have no exported type over
		// TCP: "remote error: tls: handshake failure" during the handshake,
		// or, with TLS 1.3, "remote error: tls: certificate required" on
		// the first read after it, when a server wants a client certificate.
		return ReasonTLS, capError(errorText(err))
	case errors.As(err, &limit):
		return ReasonRedirects, limit.Error()
	}
	return ReasonError, capError(errorText(err))
}

// errorText renders err without Go-internal wrapping: the `Get "url":`
// prefix of *url.Error, the address soup of *net.OpError and the "net/http: "
// package prefix mean nothing to a user looking at a failed check.
func errorText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		if isTLSAlertOp(op.Op) {
			// The op is the useful part: who sent the alert.
			return op.Op + ": " + op.Err.Error()
		}
		err = op.Err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "connection closed by server"
	}
	msg := strings.TrimPrefix(err.Error(), "HTTP/1.x transport connection broken: ")
	return strings.ReplaceAll(msg, "net/http: ", "")
}

// isTLSAlertOp tells the *net.OpError ops crypto/tls uses for alerts.
func isTLSAlertOp(op string) bool { return op == "remote error" || op == "local error" }

// statusLine is the message for an unaccepted status. It uses Go's reason
// phrase, not the server's, which may be anything.
func statusLine(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("HTTP %d %s", code, t)
	}
	return fmt.Sprintf("HTTP %d", code)
}

// capError keeps messages short and valid UTF-8.
func capError(s string) string {
	if len(s) <= maxErrorLen {
		return s
	}
	cut := maxErrorLen
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// phaseTimer collects httptrace events. It has a mutex because the hooks run
// on the Transport's goroutines (parallel dials, background connection
// setup) and some may fire after Probe has stopped waiting.
type phaseTimer struct {
	mu sync.Mutex

	dnsStart, connStart, tlsStart time.Time
	wrote, firstByte              time.Time
	dns, conn, tls, ttfb          time.Duration
	dnsErr, tlsErr                error
}

func (t *phaseTimer) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) {
			t.mu.Lock()
			t.dnsStart = time.Now()
			t.mu.Unlock()
		},
		DNSDone: func(info httptrace.DNSDoneInfo) {
			t.mu.Lock()
			if !t.dnsStart.IsZero() {
				t.dns += time.Since(t.dnsStart)
				t.dnsStart = time.Time{}
			}
			if info.Err != nil {
				t.dnsErr = info.Err
			}
			t.mu.Unlock()
		},
		ConnectStart: func(string, string) {
			t.mu.Lock()
			// With several addresses (happy eyeballs) keep the first
			// start, so the phase is the time until a connection exists.
			if t.connStart.IsZero() {
				t.connStart = time.Now()
			}
			t.mu.Unlock()
		},
		ConnectDone: func(_, _ string, err error) {
			t.mu.Lock()
			if err == nil && !t.connStart.IsZero() {
				t.conn += time.Since(t.connStart)
				t.connStart = time.Time{}
			}
			t.mu.Unlock()
		},
		TLSHandshakeStart: func() {
			t.mu.Lock()
			t.tlsStart = time.Now()
			t.mu.Unlock()
		},
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			t.mu.Lock()
			if !t.tlsStart.IsZero() {
				t.tls += time.Since(t.tlsStart)
				t.tlsStart = time.Time{}
			}
			if err != nil {
				t.tlsErr = err
			}
			t.mu.Unlock()
		},
		WroteRequest: func(httptrace.WroteRequestInfo) {
			t.mu.Lock()
			t.wrote = time.Now()
			t.mu.Unlock()
		},
		GotFirstResponseByte: func() {
			t.mu.Lock()
			now := time.Now()
			if !t.wrote.IsZero() {
				t.ttfb += now.Sub(t.wrote)
				t.wrote = time.Time{}
			}
			t.firstByte = now
			t.mu.Unlock()
		},
	}
}

// fill copies the phases into out once the body was read at end.
func (t *phaseTimer) fill(out *Outcome, end time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out.DNS, out.Connect, out.TLS, out.TTFB = t.dns, t.conn, t.tls, t.ttfb
	if !t.firstByte.IsZero() {
		out.Transfer = end.Sub(t.firstByte)
	}
}

// fail fills out for a request that failed at time now: a phase still
// running counts until now (a DNS timeout shows as a long DNS phase). It
// returns what classify needs to know.
func (t *phaseTimer) fail(out *Outcome, now time.Time) failState {
	t.mu.Lock()
	defer t.mu.Unlock()
	out.DNS, out.Connect, out.TLS, out.TTFB = t.dns, t.conn, t.tls, t.ttfb
	if !t.dnsStart.IsZero() {
		out.DNS += now.Sub(t.dnsStart)
	}
	if !t.connStart.IsZero() {
		out.Connect += now.Sub(t.connStart)
	}
	if !t.tlsStart.IsZero() {
		out.TLS += now.Sub(t.tlsStart)
	}
	return failState{dnsPending: !t.dnsStart.IsZero(), dnsErr: t.dnsErr, tlsErr: t.tlsErr}
}
