package app

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/upwatch/upwatch/store"
)

// Failed sign-ins allowed per client and email within loginWindow; more
// are refused until the oldest failure ages out. Password hashing is slow
// by design, but a guesser should not get even that many tries.
const (
	loginFailures = 10
	loginWindow   = 15 * time.Minute
)

// loginLimiter remembers recent failed sign-ins in memory (a restart
// forgets them, which only helps a guesser once).
type loginLimiter struct {
	mu    sync.Mutex
	fails map[string][]time.Time
}

func loginKey(r *http.Request, email string) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return host + "|" + strings.ToLower(strings.TrimSpace(email))
}

// wait is how long the key must wait before another try (0: go ahead).
func (l *loginLimiter) wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	recent := l.recent(key, now)
	if len(recent) < loginFailures {
		return 0
	}
	return recent[0].Add(loginWindow).Sub(now)
}

func (l *loginLimiter) failed(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fails == nil || len(l.fails) > 100_000 {
		l.fails = map[string][]time.Time{} // bounded memory under a spray of keys
	}
	l.fails[key] = append(l.recent(key, now), now)
}

func (l *loginLimiter) succeeded(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

// recent drops failures older than the window; callers hold mu.
func (l *loginLimiter) recent(key string, now time.Time) []time.Time {
	ts := l.fails[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= loginWindow {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, key)
		return nil
	}
	l.fails[key] = ts
	return ts
}

func tooManyLogins(wait time.Duration) *apiError {
	mins := int(wait.Round(time.Minute) / time.Minute)
	return &apiError{Status: http.StatusTooManyRequests, Title: "Too many sign-in attempts",
		Detail: "too many failed sign-ins; try again in " + strconv.Itoa(max(mins, 1)) + " min"}
}

// limitedAuthenticate is authenticate behind the failed-login limiter.
func (a *App) limitedAuthenticate(r *http.Request, w http.ResponseWriter, email, password string) (store.User, error) {
	key := loginKey(r, email)
	if wait := a.logins.wait(key, a.now()); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return store.User{}, tooManyLogins(wait)
	}
	u, err := a.authenticate(r.Context(), email, password)
	switch {
	case err == errBadLogin:
		a.logins.failed(key, a.now())
	case err == nil:
		a.logins.succeeded(key)
	}
	return u, err
}
