package checker

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upwatch/upwatch/internal/testredis"
	"github.com/upwatch/upwatch/store"
)

// An incident starts at the first failing check of the run that confirmed
// it, not at the confirming check: downtime is not under-reported by the
// confirmation delay.
func TestIncidentStartsAtFirstFailure(t *testing.T) {
	var failing atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	st, u := openStore(t)
	m := addMonitor(t, st, u, "api", srv.URL, time.Second, time.Second, 3)
	c := New(st, NewQueue(testredis.Mini(t).Client), Config{LocalWorkers: 4, Logger: quietLogger(), RetryDelay: 200 * time.Millisecond})
	startChecker(t, c)
	ctx := context.Background()
	eventually(t, 5*time.Second, "up", func() bool { return status(t, st, m.ID).State.Status == store.StatusUp })
	failing.Store(true)
	eventually(t, 8*time.Second, "down after three failures", func() bool { return status(t, st, m.ID).State.Status == store.StatusDown })

	checks, err := st.ListChecks(ctx, m.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Newest first: walk back over the failures to the first of the run.
	var first time.Time
	fails := 0
	for _, ch := range checks {
		if ch.OK {
			break
		}
		first, fails = ch.At, fails+1
	}
	if fails < 3 {
		t.Fatalf("%d failed checks stored, want at least 3", fails)
	}
	if !strings.HasPrefix(checks[0].Worker, "server-") {
		t.Errorf("check run by %q, want the server's own worker recorded", checks[0].Worker)
	}
	incs, err := st.ListIncidents(ctx, u.ID, store.IncidentFilter{MonitorID: m.ID, Status: "open"})
	if err != nil || len(incs) != 1 {
		t.Fatalf("incidents = %+v, %v", incs, err)
	}
	// The run that confirmed it began with the oldest of the failures that
	// were stored before the state changed; later failures only extend it.
	got := status(t, st, m.ID)
	if !incs[0].StartedAt.Equal(got.State.Since) {
		t.Errorf("incident starts %v, state since %v: they should agree", incs[0].StartedAt, got.State.Since)
	}
	if !incs[0].StartedAt.Equal(first) {
		t.Errorf("incident starts %v, want the first failing check %v", incs[0].StartedAt, first)
	}
}
