package app

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/upwatch/upwatch/checker"
)

// /healthz must not wait for the writer: with another process holding the
// write lock and a write of upwatch's own stuck behind it, it answers at
// once, and once that write has failed it says the database does not take
// writes.
func TestHealthzWhileWritesAreLocked(t *testing.T) {
	e, path := newEnvDSN(t, "?_pragma=busy_timeout(3000)")
	tok := e.signup(t)
	release := lockWrites(t, path)
	// A write that waits for the lock, holding upwatch's one writer.
	wrote := make(chan resp, 1)
	go func() {
		wrote <- e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"a","url":"http://127.0.0.1:1/"}`)
	}()
	time.Sleep(200 * time.Millisecond) // let it take the writer
	var slowest time.Duration
	for range 5 {
		start := time.Now()
		r := e.do(t, "GET", "/healthz", "", "")
		slowest = max(slowest, time.Since(start))
		if r.code != 200 && r.code != http.StatusServiceUnavailable {
			t.Fatalf("healthz: %d %s", r.code, r.body)
		}
	}
	// 100 ms is the goal (measured ~1-5 ms); the bound leaves room for a
	// loaded machine, far below the 3 s the writer is held.
	t.Logf("slowest /healthz while the writer waits on a lock: %v", slowest)
	if slowest > time.Second {
		t.Errorf("/healthz took %v while the writer was held", slowest)
	}
	if r := <-wrote; r.code != http.StatusServiceUnavailable {
		t.Fatalf("write under the lock: %d %s", r.code, r.body)
	}
	e.clock.Add(3 * time.Second) // past the problem cache
	r := e.do(t, "GET", "/healthz", "", "")
	if r.code != http.StatusServiceUnavailable || !strings.Contains(string(r.body), `"store":"not_writable"`) ||
		!strings.Contains(string(r.body), `"store_write"`) || !strings.Contains(string(r.body), "locked by another process") {
		t.Errorf("healthz after a failed write: %d %s", r.code, r.body)
	}
	release()
	if r := e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"b","url":"http://127.0.0.1:1/"}`); r.code != 201 {
		t.Fatalf("write after the lock: %d %s", r.code, r.body)
	}
	e.clock.Add(3 * time.Second)
	if r := e.do(t, "GET", "/healthz", "", ""); strings.Contains(string(r.body), "store_write") || !strings.Contains(string(r.body), `"store":"ok"`) {
		t.Errorf("healthz after the lock ended: %d %s", r.code, r.body)
	}
}

// Each condition the checker reports becomes a problem with its own code
// and words, on /healthz and the banner.
func TestHealthzReportsCheckerConditions(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name string
		h    checker.Health
		code string
		want string
	}{
		{"backlog", checker.Health{Backlog: checker.BacklogHealth{Checks: 40, Updates: 2, Since: now.Add(-time.Minute)}, StoreErr: "the disk holding the database is full"},
			"backlog", "40 check results and 2 state changes wait to be stored"},
		{"unspooled", checker.Health{Backlog: checker.BacklogHealth{Checks: 1, Since: now, Unspooled: true, SpoolErr: "no space left on device"}},
			"backlog", "would be lost if upwatch stopped now"},
		{"stalled", checker.Health{Monitors: 3, Stalled: true, StalledFor: 95 * time.Second}, "stalled", "No check result has arrived for 1m35s"},
		{"clock", checker.Health{ClockStep: time.Hour, ClockSteppedAt: now.Add(-time.Minute)}, "clock_step", "jumped by +1h0m0s"},
		{"saturated", checker.Health{Saturation: checker.Saturation{Limit: 256, Base: 64, Max: 256, Saturated: true, Since: now.Add(-20 * time.Second)}},
			"saturated", "run 256 checks at once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnvWith(t, func(d *Deps) { d.Scheduler = healthStub{&recorder{}, tc.h} })
			r := e.do(t, "GET", "/healthz", "", "")
			if r.code != http.StatusServiceUnavailable || !strings.Contains(string(r.body), `"code":"`+tc.code+`"`) || !strings.Contains(string(r.body), tc.want) {
				t.Errorf("healthz = %d %s", r.code, r.body)
			}
		})
	}
	// An old step is no longer news.
	e := newEnvWith(t, func(d *Deps) {
		d.Scheduler = healthStub{&recorder{}, checker.Health{ClockStep: time.Hour, ClockSteppedAt: now.Add(-time.Hour)}}
	})
	if r := e.do(t, "GET", "/healthz", "", ""); r.code != 200 {
		t.Errorf("healthz an hour after a step: %d %s", r.code, r.body)
	}
}

// The banner on every page shows the same problems.
func TestBannerShowsStorageBacklog(t *testing.T) {
	e := newEnvWith(t, func(d *Deps) {
		d.Scheduler = healthStub{&recorder{}, checker.Health{Backlog: checker.BacklogHealth{Checks: 7, Since: time.Now()}}}
	})
	e.signup(t)
	c := browser(t)
	if code, _, _ := post(t, c, e.srv.URL+"/login", map[string][]string{"email": {"owner@example.com"}, "password": {"password123"}}); code != 303 {
		t.Fatalf("login: %d", code)
	}
	if _, _, page := get(t, c, e.srv.URL+"/"); !strings.Contains(page, "alert-instance") || !strings.Contains(page, "7 check results") {
		t.Errorf("overview has no backlog warning")
	}
}
