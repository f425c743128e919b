package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/store"
)

// Pusher takes the pings of push monitors (the checker).
type Pusher interface {
	Push(ctx context.Context, p checker.Ping) (int64, error)
	PushStarted(id int64) time.Time // a run reported by /start, zero if none
}

// newPushToken makes a push URL's secret: 192 random bits, URL-safe.
func newPushToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// pushURL is where a push monitor's job pings; "" for other types.
func (a *App) pushURL(m store.Monitor) string {
	if m.Type != checker.TypePush || m.PushToken == "" {
		return ""
	}
	return strings.TrimRight(a.cfg.BaseURL, "/") + "/ping/" + m.PushToken
}

// Pings allowed per token: a burst, then a steady rate. A job pings a few
// times per run; more is a loop gone wrong or a flood, and it must not
// cost other monitors anything.
const (
	pingBurst = 20
	pingRate  = 2 // per second
)

// pingLimiter is a token bucket per push token, in memory.
type pingLimiter struct {
	mu      sync.Mutex
	buckets map[string]*pingBucket
}

type pingBucket struct {
	tokens float64
	at     time.Time
}

// allow takes one ping from key's bucket; false means too many.
func (l *pingLimiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil || len(l.buckets) > 100_000 {
		l.buckets = map[string]*pingBucket{} // bounded memory under a spray of tokens
	}
	b := l.buckets[key]
	if b == nil {
		b = &pingBucket{tokens: pingBurst, at: now}
		l.buckets[key] = b
	}
	b.tokens = min(pingBurst, b.tokens+now.Sub(b.at).Seconds()*pingRate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// ping takes /ping/{token} and /ping/{token}/{start|fail|log|exit code}:
// GET, HEAD or POST, no session (the token is the credential). A POST's
// body is kept, cut at store.MaxPushBody.
func (a *App) ping(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		pingAnswer(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	p := checker.Ping{Token: r.PathValue("token"), Kind: checker.PingSuccess}
	switch action := r.PathValue("action"); action {
	case "":
	case "start":
		p.Kind = checker.PingStart
	case "fail":
		p.Kind = checker.PingFail
	case "log":
		p.Kind = checker.PingLog
	default:
		code, err := strconv.Atoi(action)
		if err != nil || code < 0 || code > 255 || strconv.Itoa(code) != action {
			pingAnswer(w, http.StatusNotFound, "not found: use /start, /fail, /log or an exit code from 0 to 255")
			return
		}
		p.ExitCode = code
	}
	if a.push == nil {
		pingAnswer(w, http.StatusServiceUnavailable, "push monitors are not available")
		return
	}
	if len(p.Token) < 16 || len(p.Token) > 64 {
		pingAnswer(w, http.StatusNotFound, "not found")
		return
	}
	if !a.pings.allow(p.Token, a.now()) {
		w.Header().Set("Retry-After", "1")
		pingAnswer(w, http.StatusTooManyRequests, "too many pings")
		return
	}
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(io.LimitReader(r.Body, store.MaxPushBody))
		if err != nil {
			pingAnswer(w, http.StatusBadRequest, "could not read the body")
			return
		}
		p.Body = strings.ToValidUTF8(string(body), "\uFFFD")
	}
	id, err := a.push.Push(r.Context(), p)
	switch {
	case errors.Is(err, checker.ErrUnknownPushToken):
		pingAnswer(w, http.StatusNotFound, "not found")
		return
	case err != nil:
		a.log.Error("ping failed", "err", err)
		pingAnswer(w, http.StatusServiceUnavailable, "could not record the ping, try again")
		return
	}
	if p.Kind == checker.PingLog && p.Body != "" {
		if err := a.st.SetPushBody(r.Context(), id, p.Body); err != nil {
			a.log.Error("ping log failed", "monitor", id, "err", err)
			pingAnswer(w, http.StatusServiceUnavailable, "could not record the log, try again")
			return
		}
	}
	pingAnswer(w, http.StatusOK, "OK")
}

func pingAnswer(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}
