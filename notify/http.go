package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/upwatch/upwatch/egress"
)

// poster sends one request for an HTTP-based provider and turns the answer
// into an error the caller can log and act on, without leaking secrets.
type poster struct {
	typ    string
	client *http.Client
	ua     string
}

func newPoster(typ string, opts Options) poster {
	return poster{typ: typ, client: opts.httpClient(), ua: opts.userAgent()}
}

// postJSON sends v encoded with encoding/json: user text can never break
// the body's structure.
func (p poster) postJSON(ctx context.Context, method, target string, v any, hdr http.Header) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s: encode body: %w", p.typ, err)
	}
	return p.send(ctx, method, target, "application/json", body, hdr)
}

func (p poster) send(ctx context.Context, method, target, contentType string, body []byte, hdr http.Header) error {
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		// The URL was validated at config time; say nothing of it here, it
		// may hold a token.
		return fmt.Errorf("%s: build request: invalid URL", p.typ)
	}
	for k, vs := range hdr {
		req.Header[k] = slices.Clone(vs) // hdr is shared by concurrent sends
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", contentType)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", p.ua)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		if b, ok := egress.AsBlocked(err); ok {
			// The policy's own words: nothing was sent, nothing read.
			return fmt.Errorf("%s: %w", p.typ, b)
		}
		return fmt.Errorf("%s: %w", p.typ, withoutURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// Drain a little so the connection could be reused; never read an
		// unbounded answer.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	se := &StatusError{Type: p.typ, StatusCode: resp.StatusCode, Body: clean(string(snippet), 300)}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		se.RetryAfter = time.Duration(s) * time.Second
	}
	return se
}

// withoutURL drops the request URL from a client error: webhook URLs and
// Telegram's bot URL carry the secret, and errors end up in logs. The cause
// (e.g. context.DeadlineExceeded) stays reachable with errors.Is.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s request failed: %w", ue.Op, ue.Err)
	}
	return err
}
