package app

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/upwatch/upwatch/store"
)

// Sign-in throttling. Every attempt reserves its place before the password
// is hashed, under one lock, and counts as a failure until it succeeds: so
// N concurrent guesses are judged as if they came one after another, and
// only the allowed number reach the hash. Two keys are throttled:
//
//   - the account (the email, whether or not it exists), whatever address
//     the attempts come from: after accountFree failures each further try
//     waits a delay that doubles from backoffBase up to backoffMax. An
//     attacker gets about one guess a minute per account; the real user,
//     whoever else is guessing, waits at most backoffMax — never a long
//     lockout;
//   - the client address (behind TRUSTED_PROXIES, the address the proxy
//     saw; IPv6 per /64): after addressFree failures over any accounts the
//     same backoff, so one client cannot spray guesses across many
//     accounts.
//
// A success releases its own reservation and nothing else: it resets no
// counter, so logging in to one's own account buys a guesser nothing.
// Failures older than loginWindow are forgotten. State is in memory (a
// restart forgets it, which helps a guesser once).
const (
	accountFree = 5
	addressFree = 20
	backoffBase = time.Second
	backoffMax  = time.Minute
	loginWindow = 15 * time.Minute
)

// loginLimiter holds both throttles.
type loginLimiter struct {
	mu       sync.Mutex
	accounts map[string][]time.Time // recent failures and attempts in flight, oldest first
	addrs    map[string][]time.Time
}

// loginTicket is a reserved attempt; pass it back to done.
type loginTicket struct {
	account, addr string
	at            time.Time
}

// backoffWait is how long after the newest of n recent failures the next
// attempt must wait, given free failures without delay.
func backoffWait(n, free int) time.Duration {
	if n < free {
		return 0
	}
	d := backoffBase
	for i := free; i < n && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

func (l *loginLimiter) waitLocked(m map[string][]time.Time, key string, free int, now time.Time) time.Duration {
	ts := recentFails(m, key, now)
	if len(ts) == 0 {
		return 0
	}
	ready := ts[len(ts)-1].Add(backoffWait(len(ts), free))
	return max(ready.Sub(now), 0)
}

// reserve books an attempt for account from addr, or says how long to wait.
func (l *loginLimiter) reserve(account, addr string, now time.Time) (loginTicket, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.accounts == nil || len(l.accounts) > 100_000 {
		l.accounts = map[string][]time.Time{} // bounded memory under a spray of emails
	}
	if l.addrs == nil || len(l.addrs) > 100_000 {
		l.addrs = map[string][]time.Time{}
	}
	wait := max(l.waitLocked(l.accounts, account, accountFree, now), l.waitLocked(l.addrs, addr, addressFree, now))
	if wait > 0 {
		return loginTicket{}, wait
	}
	l.accounts[account] = append(l.accounts[account], now)
	l.addrs[addr] = append(l.addrs[addr], now)
	return loginTicket{account: account, addr: addr, at: now}, 0
}

// done settles a reserved attempt: a failure stays counted, a success (or
// an attempt that could not be judged, e.g. the store failed) is taken
// back.
func (l *loginLimiter) done(t loginTicket, failed bool) {
	if failed || t.at.IsZero() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	unbook(l.accounts, t.account, t.at)
	unbook(l.addrs, t.addr, t.at)
}

func unbook(m map[string][]time.Time, key string, at time.Time) {
	ts := m[key]
	for i := len(ts) - 1; i >= 0; i-- {
		if ts[i].Equal(at) {
			ts = append(ts[:i:i], ts[i+1:]...)
			break
		}
	}
	if len(ts) == 0 {
		delete(m, key)
		return
	}
	m[key] = ts
}

// recentFails drops failures older than the window; callers hold mu.
func recentFails(m map[string][]time.Time, key string, now time.Time) []time.Time {
	ts := m[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= loginWindow {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(m, key)
		return nil
	}
	m[key] = ts
	return ts
}

func tooManyLogins(wait time.Duration) *apiError {
	return &apiError{Status: http.StatusTooManyRequests, Title: "Too many sign-in attempts",
		Detail: "too many failed sign-ins; try again in " + strconv.Itoa(retrySeconds(wait)) + " s"}
}

func retrySeconds(wait time.Duration) int {
	return int((wait + time.Second - 1) / time.Second)
}

// limitedAuthenticate is authenticate behind the sign-in throttle.
func (a *App) limitedAuthenticate(r *http.Request, w http.ResponseWriter, email, password string) (store.User, error) {
	var u store.User
	err := a.throttled(r, w, email, func() error {
		var err error
		u, err = a.authenticate(r.Context(), email, password)
		return err
	})
	return u, err
}

// throttled runs check (one password verification for email) behind the
// sign-in throttle: errBadLogin from it counts as a failure.
func (a *App) throttled(r *http.Request, w http.ResponseWriter, email string, check func() error) error {
	account := strings.ToLower(strings.TrimSpace(email))
	t, wait := a.logins.reserve(account, addrKey(a.clientAddr(r)), a.now())
	if wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(wait)))
		return tooManyLogins(wait)
	}
	err := check()
	a.logins.done(t, err == errBadLogin)
	return err
}

// clientAddr is the address a request came from: the peer, or, when the
// peer is a trusted proxy (TRUSTED_PROXIES), the nearest address in
// X-Forwarded-For that is not one — read from the right, since everything
// left of what our own proxies appended is the client's to write.
func (a *App) clientAddr(r *http.Request) netip.Addr {
	addr := peerAddr(r)
	if !addr.IsValid() {
		return addr
	}
	if !a.trustedProxy(addr) {
		return addr
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // malformed: the last trusted hop is all we know
		}
		hop = hop.Unmap()
		if !a.trustedProxy(hop) {
			return hop
		}
		addr = hop
	}
	return addr
}

func (a *App) trustedProxy(addr netip.Addr) bool { return inPrefixes(addr, a.cfg.TrustedProxies) }

// peerAddr is the address of the connection's other end (unmapped), or
// the zero Addr when it cannot be read.
func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return addr.Unmap()
}

// inPrefixes tells whether addr is in one of the ranges.
func inPrefixes(addr netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// addrKey is the throttle's key for an address: IPv6 by /64, the block a
// single host is usually given.
func addrKey(addr netip.Addr) string {
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}
