package checker

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upwatch/upwatch/internal/testredis"
	"github.com/upwatch/upwatch/notify"
	"github.com/upwatch/upwatch/store"
)

// failingStore is the real store whose result writes fail while failing is
// set, as with a full disk: reads and every other write go on.
type failingStore struct {
	*store.Store
	failing atomic.Bool
	refused atomic.Int64
}

func (f *failingStore) SaveChecks(ctx context.Context, checks []store.Check, updates []store.StateUpdate) error {
	if f.failing.Load() {
		f.refused.Add(1)
		return fmt.Errorf("store: save %d checks: %w", len(checks), store.ErrDiskFull)
	}
	return f.Store.SaveChecks(ctx, checks, updates)
}

// hookServer counts the webhook alerts it receives, by event.
type hookServer struct {
	*httptest.Server
	mu     sync.Mutex
	events map[string]int
}

func newHookServer(t *testing.T) *hookServer {
	h := &hookServer{events: map[string]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Event string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		h.mu.Lock()
		h.events[body.Event]++
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) count(event string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.events[event]
}

// toggled is a target that fails while down is set.
func toggled(t *testing.T) (*httptest.Server, *atomic.Bool) {
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &down
}

func linkWebhook(t *testing.T, st *store.Store, u store.User, m store.Monitor, url string) store.Channel {
	t.Helper()
	ch, err := st.CreateChannel(context.Background(), store.Channel{UserID: u.ID, Name: "hook", Type: "webhook",
		Settings: json.RawMessage(`{"url":"` + url + `"}`), Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetMonitorChannels(context.Background(), u.ID, m.ID, []int64{ch.ID}); err != nil {
		t.Fatal(err)
	}
	return ch
}

func runDispatcher(t *testing.T, d *notify.Dispatcher) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// While results cannot be written, a target going down is still detected
// and alerted at once; when the database takes writes again the backlog
// is stored, the transition once, and the alert's delivery is recorded as
// sent instead of going out a second time.
func TestStorageOutageDetectsAndAlerts(t *testing.T) {
	real, u := openStore(t)
	st := &failingStore{Store: real}
	target, targetDown := toggled(t)
	hook := newHookServer(t)
	m := addMonitor(t, real, u, "site", target.URL, time.Second, time.Second, 1)
	ch := linkWebhook(t, real, u, m, hook.URL)
	disp := notify.NewDispatcher(real, notify.DispatchConfig{Logger: quietLogger()})
	runDispatcher(t, disp)
	spool := store.OpenSpool(filepath.Join(t.TempDir(), "upwatch.db-spool"))
	c := New(st, NewQueue(testredis.Mini(t).Client), Config{LocalWorkers: 4, Logger: quietLogger(),
		RetryDelay: 200 * time.Millisecond, Alerter: disp, Spool: spool,
		OnSaved: func([]store.Check, []store.StateUpdate) { disp.Poke() }})
	startChecker(t, c)
	eventually(t, 5*time.Second, "monitor up", func() bool { return status(t, real, m.ID).State.Status == store.StatusUp })

	st.failing.Store(true)
	eventually(t, 5*time.Second, "a write refused", func() bool { return st.refused.Load() > 0 })
	targetDown.Store(true)
	eventually(t, 5*time.Second, "the down alert sent during the outage", func() bool { return hook.count("down") == 1 })
	if got := status(t, real, m.ID).State.Status; got != store.StatusUp {
		t.Fatalf("the database says %s during the outage: it was written to", got)
	}
	h := c.Health()
	if h.Backlog.Checks == 0 || h.StoreErr == "" || h.Backlog.Unspooled {
		t.Fatalf("health during the outage: %+v, store error %q", h.Backlog, h.StoreErr)
	}
	if fi, err := os.Stat(spool.Path()); err != nil || fi.Size() == 0 {
		t.Fatalf("spool: %v", err)
	}
	time.Sleep(1500 * time.Millisecond) // more checks pile up

	st.failing.Store(false)
	eventually(t, 10*time.Second, "backlog stored", func() bool {
		return c.Health().Backlog.Checks == 0 && status(t, real, m.ID).State.Status == store.StatusDown
	})
	if _, err := os.Stat(spool.Path()); !os.IsNotExist(err) {
		t.Errorf("spool left after the backlog was stored: %v", err)
	}
	if h := c.Health(); h.StoreErr != "" {
		t.Errorf("store error still reported: %q", h.StoreErr)
	}
	trs, err := real.Transitions(context.Background(), m.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	downs := 0
	for _, tr := range trs {
		if tr.To == store.StatusDown {
			downs++
		}
	}
	if downs != 1 {
		t.Errorf("%d transitions to down stored, want 1: %+v", downs, trs)
	}
	ds, err := real.ListDeliveries(context.Background(), u.ID, ch.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Kind != "down" || ds[0].Status != store.DeliverySent || ds[0].Attempts != 1 {
		t.Fatalf("deliveries after the outage: %+v", ds)
	}
	as, err := real.DeliveryAttempts(context.Background(), u.ID, ds[0].ID)
	if err != nil || len(as) != 1 || !as[0].OK {
		t.Errorf("attempts of the early delivery: %+v %v", as, err)
	}
	// The dispatcher must not send it again.
	time.Sleep(1500 * time.Millisecond)
	if n := hook.count("down"); n != 1 {
		t.Errorf("%d down alerts received, want 1", n)
	}
	// Every check of the outage is stored: the monitor was checked about
	// every second throughout (1 s interval, about 3.5 s of outage).
	checks, err := real.ListChecks(context.Background(), m.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, ck := range checks {
		if !ck.OK {
			failed++
		}
	}
	if failed < 2 {
		t.Errorf("%d failed checks stored after the outage, want those of the outage", failed)
	}
}

// Stopping while the database refuses writes keeps the results in the
// spool; the next start stores them before loading the monitors.
func TestShutdownDuringStorageOutageKeepsResults(t *testing.T) {
	real, u := openStore(t)
	st := &failingStore{Store: real}
	target, targetDown := toggled(t)
	m := addMonitor(t, real, u, "site", target.URL, time.Second, time.Second, 1)
	spool := store.OpenSpool(filepath.Join(t.TempDir(), "upwatch.db-spool"))
	q := NewQueue(testredis.Mini(t).Client)
	c := New(st, q, Config{LocalWorkers: 2, Logger: quietLogger(), RetryDelay: 200 * time.Millisecond, Spool: spool})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	eventually(t, 5*time.Second, "monitor up", func() bool { return status(t, real, m.ID).State.Status == store.StatusUp })
	st.failing.Store(true)
	targetDown.Store(true)
	eventually(t, 8*time.Second, "failures held", func() bool { h := c.Health(); return h.Backlog.Checks >= 2 && h.Backlog.Updates >= 1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	held, err := spool.Load()
	if err != nil || len(held) == 0 {
		t.Fatalf("spool after stopping: %d batches, %v", len(held), err)
	}
	spooled := 0
	for _, b := range held {
		spooled += len(b.Checks)
	}
	if c.lost.Load() != 0 {
		t.Errorf("%d checks counted lost although spooled", c.lost.Load())
	}
	before, _ := real.ListChecks(context.Background(), m.ID, 0)

	// The next run, with a database that works.
	c2 := New(real, q, Config{LocalWorkers: 2, Logger: quietLogger(), Spool: spool})
	startChecker(t, c2)
	eventually(t, 5*time.Second, "spooled results stored", func() bool {
		_, err := os.Stat(spool.Path())
		return os.IsNotExist(err) && status(t, real, m.ID).State.Status == store.StatusDown
	})
	after, _ := real.ListChecks(context.Background(), m.ID, 0)
	if len(after)-len(before) < spooled {
		t.Errorf("%d checks stored after the restart, want at least the %d spooled", len(after)-len(before), spooled)
	}
	if _, err := os.Stat(spool.Path()); !os.IsNotExist(err) {
		t.Errorf("spool left after replay: %v", err)
	}
}

// Without a spool that works, a stop during the outage loses the held
// results: counted and said, never silent.
func TestShutdownWithoutSpoolCountsLoss(t *testing.T) {
	real, u := openStore(t)
	st := &failingStore{Store: real}
	target, _ := toggled(t)
	m := addMonitor(t, real, u, "site", target.URL, time.Second, time.Second, 1)
	// A spool in a directory that does not exist cannot be written.
	spool := store.OpenSpool(filepath.Join(t.TempDir(), "missing", "spool"))
	c := New(st, NewQueue(testredis.Mini(t).Client), Config{LocalWorkers: 2, Logger: quietLogger(), Spool: spool})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	eventually(t, 5*time.Second, "monitor up", func() bool { return status(t, real, m.ID).State.Status == store.StatusUp })
	st.failing.Store(true)
	eventually(t, 5*time.Second, "results held, unspooled", func() bool {
		h := c.Health()
		return h.Backlog.Checks > 0 && h.Backlog.Unspooled
	})
	cancel()
	<-done
	if c.lost.Load() == 0 {
		t.Error("results lost at shutdown were not counted")
	}
}
