package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// A router outage behind a chain grandparent → parent → child sends one
// alert (the router's DOWN, then its UP): the others show unreachable and
// alert nobody, and are checked again as soon as the router is back. A
// child failing on its own afterwards alerts as usual. End to end with a
// real webhook receiver on 127.0.0.1.
func TestDependencyChainOneAlertPerOutage(t *testing.T) {
	var outage, childBroken atomic.Bool
	target := func(own *atomic.Bool) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if outage.Load() || own != nil && own.Load() {
				http.Error(w, "unreachable", http.StatusBadGateway)
			}
		}))
	}
	router, nas, app := target(nil), target(nil), target(&childBroken)
	defer router.Close()
	defer nas.Close()
	defer app.Close()
	rc := &receiver{}
	hook := httptest.NewServer(rc)
	defer hook.Close()

	s := start(t, map[string]string{
		"HOST": "127.0.0.1", "PORT": "0", "LOG_LEVEL": "warn",
		"DATABASE_URL": filepath.Join(t.TempDir(), "upwatch.db"),
	})
	var signup struct{ Token string }
	call(t, "POST", s.url+"/api/v1/auth/signup", "", map[string]string{"email": "a@example.com", "password": "long enough"}, &signup)
	tok := signup.Token
	if code := call(t, "POST", s.url+"/api/v1/channels", tok, map[string]any{
		"name": "ops", "type": "webhook", "default": true, "settings": map[string]any{"url": hook.URL + "/alerts"},
	}, nil); code != 201 {
		t.Fatalf("create channel: %d", code)
	}
	add := func(name, url string, deps ...int64) int64 {
		t.Helper()
		var m struct{ ID int64 }
		body := map[string]any{"name": name, "url": url, "interval_seconds": 5, "confirmations": 2}
		if deps != nil {
			body["depends_on"] = deps
		}
		if code := call(t, "POST", s.url+"/api/v1/monitors", tok, body, &m); code != 201 {
			t.Fatalf("create %s: %d", name, code)
		}
		return m.ID
	}
	gp := add("router", router.URL)
	parent := add("nas", nas.URL, gp)
	child := add("app", app.URL, parent)
	for _, id := range []int64{gp, parent, child} {
		waitStatus(t, s, tok, id, "up")
	}
	// A cycle is refused, naming the field.
	var problem struct {
		Errors []struct{ Field string }
	}
	if code := call(t, "PATCH", fmt.Sprintf("%s/api/v1/monitors/%d", s.url, gp), tok, map[string]any{"depends_on": []int64{child}}, &problem); code != 422 ||
		len(problem.Errors) == 0 || problem.Errors[0].Field != "depends_on" {
		t.Fatalf("cycle: %d %+v", code, problem)
	}

	outage.Store(true)
	rc.waitFor(t, 1, 30*time.Second)
	waitLong := func(id int64, want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			var m monitor
			call(t, "GET", fmt.Sprintf("%s/api/v1/monitors/%d", s.url, id), tok, nil, &m)
			if m.Status == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("monitor %d is %q, want %q", id, m.Status, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitLong(gp, "down")
	waitLong(parent, "unreachable")
	waitLong(child, "unreachable")
	time.Sleep(6 * time.Second) // more checks of all three while the router is down
	if k := rc.kinds(); fmt.Sprint(k) != "[down]" {
		t.Fatalf("during the outage: %v, want one down", k)
	}
	rc.mu.Lock()
	first := rc.events[0]
	rc.mu.Unlock()
	if m := first["monitor"].(map[string]any); m["name"] != "router" {
		t.Fatalf("the alert is for %v, want the router", m)
	}

	outage.Store(false)
	recovered := time.Now()
	waitLong(child, "up")
	// Checked again at once, not at its next slot (up to 5 s away) after
	// the router's own recovery check.
	t.Logf("child up %v after the router's targets recovered", time.Since(recovered).Round(time.Millisecond))
	rc.waitFor(t, 2, 10*time.Second)
	time.Sleep(2 * time.Second)
	if k := rc.kinds(); fmt.Sprint(k) != "[down up]" {
		t.Fatalf("after the outage: %v, want the router's down and up", k)
	}

	// The child on its own: an alert as usual.
	childBroken.Store(true)
	rc.waitFor(t, 3, 30*time.Second)
	rc.mu.Lock()
	third := rc.events[2]
	rc.mu.Unlock()
	if third["event"] != "down" || third["monitor"].(map[string]any)["name"] != "app" {
		t.Fatalf("child alone: %+v", third)
	}
}
