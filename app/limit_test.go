package app

import (
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"
)

// throttleEnv trusts 127.0.0.1 as a proxy, so X-Forwarded-For stands for
// the client's address.
func throttleEnv(t *testing.T) *env {
	return newEnvConfig(t, func(c *Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}, nil)
}

func (e *env) loginFrom(t *testing.T, addr, email, password string) resp {
	t.Helper()
	return e.do(t, "POST", "/api/v1/auth/login", "", `{"email":"`+email+`","password":"`+password+`"}`,
		"X-Forwarded-For", addr)
}

func retryAfter(t *testing.T, r resp) time.Duration {
	t.Helper()
	n, err := strconv.Atoi(r.hdr.Get("Retry-After"))
	if err != nil || n <= 0 {
		t.Fatalf("429 without a Retry-After: %q", r.hdr.Get("Retry-After"))
	}
	return time.Duration(n) * time.Second
}

// TestLoginThrottleConcurrent is the race: 60 concurrent wrong guesses were
// all evaluated, because the limit was checked before the hash and the
// failure recorded after it.
func TestLoginThrottleConcurrent(t *testing.T) {
	e := throttleEnv(t)
	e.signup(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.loginFrom(t, "203.0.113."+strconv.Itoa(i%3+1), "owner@example.com", "wrong-password")
			if r.code == 429 && r.hdr.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			mu.Lock()
			codes[r.code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[401] > accountFree || codes[401]+codes[429] != 60 {
		t.Errorf("answers %v: want at most %d evaluated (401), the rest 429", codes, accountFree)
	}
	// The right password waits the short backoff, then works.
	r := e.loginFrom(t, "198.51.100.7", "owner@example.com", "password123")
	if r.code != 429 {
		t.Fatalf("right password inside the backoff: %d", r.code)
	}
	if d := retryAfter(t, r); d > backoffMax {
		t.Errorf("Retry-After %v, want at most %v", d, backoffMax)
	}
	e.clock.Add(retryAfter(t, r))
	if r := e.loginFrom(t, "198.51.100.7", "owner@example.com", "password123"); r.code != 200 {
		t.Errorf("after the backoff: %d %s", r.code, r.body)
	}
}

// TestLoginThrottleNoLockout: an attacker's failures from one address
// (behind the same proxy, or anywhere) cost the real user on another at
// most the short backoff, never the old 15-minute lockout.
func TestLoginThrottleNoLockout(t *testing.T) {
	e := throttleEnv(t)
	e.signup(t)
	for i := 0; i < 40; i++ { // a patient attacker: every guess the backoff allows
		r := e.loginFrom(t, "203.0.113.66", "owner@example.com", "guess"+strconv.Itoa(i)+"xxxxxx")
		if r.code == 429 {
			e.clock.Add(retryAfter(t, r))
		} else if r.code != 401 {
			t.Fatalf("guess %d: %d", i, r.code)
		}
	}
	r := e.loginFrom(t, "198.51.100.7", "owner@example.com", "password123")
	if r.code == 429 {
		if d := retryAfter(t, r); d > backoffMax {
			t.Fatalf("real user told to wait %v, want at most %v", d, backoffMax)
		}
		e.clock.Add(retryAfter(t, r))
		r = e.loginFrom(t, "198.51.100.7", "owner@example.com", "password123")
	}
	if r.code != 200 {
		t.Errorf("real user after the short backoff: %d %s", r.code, r.body)
	}
	// The form says so too.
	if code, _, _ := post(t, browser(t), e.srv.URL+"/login", url.Values{"email": {"owner@example.com"}, "password": {"password123"}}); code != 303 && code != 429 {
		t.Errorf("form login: %d", code)
	}
}

// TestLoginThrottleSuccessResetsNothing: the real user's success (from
// another address) does not reset the counters into letting a burst of
// guesses through, and one address cannot spray many accounts.
func TestLoginThrottleSuccessResetsNothing(t *testing.T) {
	e := throttleEnv(t)
	admin := e.signup(t)
	e.do(t, "POST", "/api/v1/users", admin, `{"email":"bob@example.com","password":"bobpassword"}`)
	for range accountFree {
		if r := e.loginFrom(t, "203.0.113.66", "owner@example.com", "wrong-password"); r.code != 401 {
			t.Fatalf("guess: %d", r.code)
		}
	}
	e.clock.Add(backoffBase)
	if r := e.loginFrom(t, "198.51.100.7", "owner@example.com", "password123"); r.code != 200 {
		t.Fatalf("real user: %d", r.code)
	}
	evaluated := 0
	for range 5 {
		if r := e.loginFrom(t, "203.0.113.66", "owner@example.com", "wrong-password"); r.code == 401 {
			evaluated++
		}
	}
	if evaluated > 1 {
		t.Errorf("after the real user's success, %d of 5 guesses were evaluated; want at most 1", evaluated)
	}

	// Spraying: one address, a new account each time.
	e.clock.Add(loginWindow)
	evaluated = 0
	for i := range addressFree + 10 {
		if r := e.loginFrom(t, "192.0.2.9", "user"+strconv.Itoa(i)+"@example.com", "wrong-password"); r.code == 401 {
			evaluated++
		}
	}
	if evaluated > addressFree {
		t.Errorf("one address got %d guesses over new accounts, want at most %d", evaluated, addressFree)
	}
	// That address's failures do not throttle another address.
	if r := e.loginFrom(t, "192.0.2.10", "bob@example.com", "bobpassword"); r.code != 200 {
		t.Errorf("another address: %d", r.code)
	}
}

// TestClientAddr: X-Forwarded-For counts only from a trusted proxy, read
// from the right.
func TestClientAddr(t *testing.T) {
	a := New(Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, Deps{})
	for _, c := range []struct {
		peer, xff, want string
	}{
		{"192.0.2.1:5000", "198.51.100.1", "192.0.2.1"},                      // untrusted peer: header ignored
		{"10.0.0.1:5000", "198.51.100.1", "198.51.100.1"},                    // trusted proxy
		{"10.0.0.1:5000", "6.6.6.6, 198.51.100.1, 10.0.0.2", "198.51.100.1"}, // spoofed left part skipped
		{"10.0.0.1:5000", "", "10.0.0.1"},
		{"10.0.0.1:5000", "garbage", "10.0.0.1"},
		{"[::ffff:10.0.0.1]:5000", "2001:db8::1", "2001:db8::1"},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := a.clientAddr(r).String(); got != c.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %s, want %s", c.peer, c.xff, got, c.want)
		}
	}
	if k := addrKey(netip.MustParseAddr("2001:db8:1:2:3:4:5:6")); k != "2001:db8:1:2::/64" {
		t.Errorf("IPv6 key %s", k)
	}
}

func TestBackoffWait(t *testing.T) {
	for n, want := range map[int]time.Duration{0: 0, 4: 0, 5: time.Second, 6: 2 * time.Second, 8: 8 * time.Second, 11: time.Minute, 100: time.Minute} {
		if got := backoffWait(n, accountFree); got != want {
			t.Errorf("backoffWait(%d) = %v, want %v", n, got, want)
		}
	}
}
