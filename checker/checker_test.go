package checker

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upwatch/upwatch/internal/testredis"
	"github.com/upwatch/upwatch/store"
)

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func openStore(t *testing.T) (*store.Store, store.User) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "upwatch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	u, err := st.CreateFirstUser(context.Background(), "a@example.com", "x")
	if err != nil {
		t.Fatal(err)
	}
	return st, u
}

func addMonitor(t *testing.T, st *store.Store, u store.User, name, url string, interval, timeout time.Duration, conf int) store.Monitor {
	t.Helper()
	m, err := st.CreateMonitor(context.Background(), store.Monitor{
		UserID: u.ID, Name: name, URL: url, Method: "GET", Interval: interval, Timeout: timeout,
		ExpectedStatus: "200-299", FollowRedirects: true, VerifyTLS: true, Confirmations: conf,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// eventually polls cond until it holds or the bound runs out.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func status(t *testing.T, st *store.Store, id int64) store.Monitor {
	t.Helper()
	m, err := st.MonitorByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// startChecker runs a checker until the test ends and checks it stops cleanly.
func startChecker(t *testing.T, c *Checker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("checker run: %v", err)
			}
		case <-time.After(drainTimeout + 5*time.Second):
			t.Error("checker did not stop")
		}
	})
}

func TestCheckerEndToEnd(t *testing.T) {
	testredis.Each(t, func(t *testing.T, b testredis.Backend) {
		ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		defer ok.Close()
		hang := make(chan struct{})
		slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}))
		defer slow.Close()
		defer close(hang)
		var failing atomic.Bool
		flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failing.Load() {
				w.WriteHeader(http.StatusInternalServerError)
			}
		}))
		defer flaky.Close()

		st, u := openStore(t)
		fast := addMonitor(t, st, u, "fast", ok.URL, time.Second, time.Second, 2)
		hung := addMonitor(t, st, u, "hung", slow.URL, time.Second, time.Second, 1)
		fl := addMonitor(t, st, u, "flaky", flaky.URL, 2*time.Second, time.Second, 2)

		c := New(st, NewQueue(b.Client), Config{LocalWorkers: 8, Logger: quietLogger(), RetryDelay: 200 * time.Millisecond})
		startChecker(t, c)
		// Monitors added after start are scheduled through Reschedule.
		late := addMonitor(t, st, u, "late", ok.URL, time.Minute, time.Second, 2)
		if err := c.Reschedule(context.Background(), late.ID); err != nil {
			t.Fatal(err)
		}

		eventually(t, 5*time.Second, "late monitor checked at once", func() bool { return status(t, st, late.ID).State.Status == store.StatusUp })
		eventually(t, 5*time.Second, "flaky up", func() bool { return status(t, st, fl.ID).State.Status == store.StatusUp })
		eventually(t, 5*time.Second, "hung down/timeout", func() bool {
			m := status(t, st, hung.ID)
			return m.State.Status == store.StatusDown && m.LastCheck != nil && m.LastCheck.Reason == ReasonTimeout
		})

		failing.Store(true)
		eventually(t, 8*time.Second, "flaky down after confirmations", func() bool { return status(t, st, fl.ID).State.Status == store.StatusDown })
		checks, err := st.ListChecks(context.Background(), fl.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(checks) < 3 || checks[0].OK || checks[1].OK || checks[0].Reason != ReasonStatus || checks[0].StatusCode != 500 {
			t.Fatalf("flaky checks (newest first): %+v", checks)
		}
		// The confirming re-check ran early: not a whole interval after the first failure.
		if gap := checks[0].At.Sub(checks[1].At); gap >= 2*time.Second {
			t.Errorf("confirming re-check ran %v after the first failure; want the retry delay, not the interval", gap)
		}
		trs, err := st.Transitions(context.Background(), fl.ID, 10)
		if err != nil || len(trs) < 2 || trs[0].To != store.StatusDown || trs[0].Reason != ReasonStatus {
			t.Fatalf("transitions %+v (%v)", trs, err)
		}

		// A hung target never shifts another monitor: fast's runs stay on
		// its 1 s grid and all succeed while hung's checks time out.
		fc, err := st.ListChecks(context.Background(), fast.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(fc) < 3 {
			t.Fatalf("fast monitor ran only %d times", len(fc))
		}
		for i := range fc {
			if !fc[i].OK {
				t.Errorf("fast check %v failed: %s", fc[i].At, fc[i].Error)
			}
			if i > 0 && fc[i-1].At.Sub(fc[i].At) != time.Second {
				t.Errorf("fast checks %v and %v are not one interval apart", fc[i].At, fc[i-1].At)
			}
		}

		// Pausing takes effect at once and the sink does not undo it.
		fast.Paused = true
		if _, err := st.UpdateMonitor(context.Background(), fast); err != nil {
			t.Fatal(err)
		}
		if err := c.Reschedule(context.Background(), fast.ID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond) // a full interval plus in-flight results
		if m := status(t, st, fast.ID); m.State.Status != store.StatusPaused {
			t.Errorf("paused monitor has status %s", m.State.Status)
		}

		// Deleting a monitor with results in flight fails nothing.
		if err := st.DeleteMonitor(context.Background(), u.ID, hung.ID); err != nil {
			t.Fatal(err)
		}
		c.Remove(hung.ID)
		failing.Store(false)
		eventually(t, 8*time.Second, "flaky recovers", func() bool { return status(t, st, fl.ID).State.Status == store.StatusUp })
	})
}

// Results a crashed server read but never stored are stored by the next run.
func TestSinkRecoversPendingResults(t *testing.T) {
	testredis.Each(t, func(t *testing.T, b testredis.Backend) {
		ctx := context.Background()
		st, u := openStore(t)
		m := addMonitor(t, st, u, "m", "http://127.0.0.1:9/", time.Hour, time.Second, 1)
		q := NewQueue(b.Client)
		if err := q.Setup(ctx, LocalRegion); err != nil {
			t.Fatal(err)
		}
		due := time.Now().Add(-time.Minute).UnixMilli()
		res := []Result{
			{MonitorID: m.ID, Region: LocalRegion, Due: due, Outcome: Outcome{OK: false, Reason: ReasonRefused, Error: "refused"}},
			{MonitorID: m.ID + 1000, Region: LocalRegion, Due: due, Outcome: Outcome{OK: true}}, // unknown monitor
		}
		if err := q.Complete(ctx, LocalRegion, res, nil); err != nil {
			t.Fatal(err)
		}
		// The "crashed" server had read them without acknowledging.
		if got, err := q.ReadResults(ctx, sinkConsumer, 10, 10*time.Millisecond, false); err != nil || len(got) != 2 {
			t.Fatalf("read %d (%v)", len(got), err)
		}
		c := New(st, q, Config{LocalWorkers: -1, Logger: quietLogger()})
		// Keep the monitor from being checked again: pause it in memory only
		// after load is not possible, so use a long interval and a dead port.
		startChecker(t, c)
		eventually(t, 5*time.Second, "pending result stored", func() bool {
			cs, err := st.ListChecks(ctx, m.ID, 10)
			return err == nil && len(cs) >= 1 && cs[len(cs)-1].At.UnixMilli() == due
		})
		if got := status(t, st, m.ID); got.State.Status != store.StatusDown {
			t.Errorf("state after replay: %s", got.State.Status)
		}
		eventually(t, 5*time.Second, "pending results acknowledged", func() bool {
			left, err := q.ReadResults(ctx, sinkConsumer, 10, 0, true)
			return err == nil && len(left) == 0
		})
	})
}

// A worker in another process (here: goroutine with its own client) serves
// the server's jobs through the shared Redis.
func TestRemoteWorker(t *testing.T) {
	testredis.Each(t, func(t *testing.T, b testredis.Backend) {
		target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		defer target.Close()
		st, u := openStore(t)
		m := addMonitor(t, st, u, "m", target.URL, time.Second, time.Second, 1)
		c := New(st, NewQueue(b.Client), Config{LocalWorkers: -1, Logger: quietLogger()})
		startChecker(t, c)

		w := NewWorker(NewQueue(b.Client), NewHTTPProber(HTTPOptions{}), WorkerConfig{
			Region: LocalRegion, Name: "remote-1", Concurrency: 4, Logger: quietLogger(),
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("worker: %v", err)
			}
		}()
		eventually(t, 5*time.Second, "checked by the remote worker", func() bool {
			return status(t, st, m.ID).State.Status == store.StatusUp
		})
	})
}
