package checker

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/upwatch/upwatch/internal/testredis"
	"github.com/upwatch/upwatch/store"
)

// logCapture is a slog handler that keeps what was logged.
type logCapture struct {
	mu   sync.Mutex
	recs []capturedLog
}

type capturedLog struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (c *logCapture) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *logCapture) WithGroup(string) slog.Handler            { return c }
func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	rec := capturedLog{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	c.mu.Lock()
	c.recs = append(c.recs, rec)
	c.mu.Unlock()
	return nil
}

func (c *logCapture) logger() *slog.Logger { return slog.New(c) }

// dumpOnFailure prints what was logged when the test fails.
func (c *logCapture) dumpOnFailure(t *testing.T) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, r := range c.recs {
			t.Logf("log: %s %s %v", r.level, r.msg, r.attrs)
		}
	})
}

func (c *logCapture) find(substr string) []capturedLog {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []capturedLog
	for _, r := range c.recs {
		if strings.Contains(r.msg, substr) {
			out = append(out, r)
		}
	}
	return out
}

// onceEach fails when a warning or error about the queue was logged more
// than once for the same loop: an outage is reported once, not per retry.
func (c *logCapture) onceEach(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]int{}
	for _, r := range c.recs {
		if r.level < slog.LevelWarn {
			continue
		}
		seen[r.msg+" "+r.attrs["region"]+r.attrs["stream"]]++
	}
	for k, n := range seen {
		if n > 1 {
			t.Errorf("logged %d times during one outage: %s", n, k)
		}
	}
}

// startWorker runs w until the test ends (or the returned stop is called,
// which waits for Run to return).
func startWorker(t *testing.T, w *Worker) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("worker run: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Error("worker did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// newestCheck is the due time of a monitor's newest stored check.
func newestCheck(t *testing.T, st *store.Store, id int64) time.Time {
	t.Helper()
	cs, err := st.ListChecks(context.Background(), id, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) == 0 {
		return time.Time{}
	}
	return cs[0].At
}

// a) A FLUSHALL under a running checker: the groups come back by
// themselves and checks are stored again, no restart.
func TestHealAfterFlushAll(t *testing.T) {
	testredis.Each(t, func(t *testing.T, b testredis.Backend) {
		target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		defer target.Close()
		st, u := openStore(t)
		m := addMonitor(t, st, u, "m", target.URL, time.Second, time.Second, 1)
		logs := &logCapture{}
		logs.dumpOnFailure(t)
		c := New(st, NewQueue(b.Client), Config{LocalWorkers: 4, Logger: logs.logger()})
		startChecker(t, c)
		eventually(t, 5*time.Second, "first check stored", func() bool { return !newestCheck(t, st, m.ID).IsZero() })

		for round := 1; round <= 2; round++ {
			if err := b.Client.FlushAll(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
			flushed := time.Now()
			eventually(t, 10*time.Second, "a check due after the flush stored", func() bool {
				return newestCheck(t, st, m.ID).After(flushed)
			})
			t.Logf("flush %d: checks stored again after %v", round, time.Since(flushed).Round(time.Millisecond))
		}
		if len(logs.find("consumer group was gone")) == 0 {
			t.Error("the recreated groups were not logged")
		}
	})
}

// b) Redis restarted without its data (and unreachable for a while) under
// a running checker and a remote worker: both heal, each loop logs the
// outage once and its end once.
func TestHealAfterRedisRestart(t *testing.T) {
	testredis.Each(t, func(t *testing.T, b testredis.Backend) {
		target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		defer target.Close()
		st, u := openStore(t)
		m := addMonitor(t, st, u, "m", target.URL, time.Second, time.Second, 1)
		logs := &logCapture{}
		logs.dumpOnFailure(t)
		c := New(st, NewQueue(b.Client), Config{LocalWorkers: -1, Logger: logs.logger()})
		startChecker(t, c)
		opts, err := redis.ParseURL(b.URL)
		if err != nil {
			t.Fatal(err)
		}
		wc := redis.NewClient(opts) // the worker's own connection, as in another process
		defer wc.Close()
		startWorker(t, NewWorker(NewQueue(wc), NewHTTPProber(HTTPOptions{}), WorkerConfig{
			Region: LocalRegion, Name: "remote-1", Concurrency: 4, Logger: logs.logger(),
		}))
		eventually(t, 5*time.Second, "first check stored", func() bool { return !newestCheck(t, st, m.ID).IsZero() })

		b.Restart(t, 4*time.Second)
		started := time.Now()
		eventually(t, 10*time.Second, "a check due after the restart stored", func() bool {
			return newestCheck(t, st, m.ID).After(started)
		})
		t.Logf("checks stored again %v after the server came back", time.Since(started).Round(time.Millisecond))

		// The loops that hit the outage said so once, and said when it ended.
		failed := logs.find("failed; retrying")
		if len(failed) == 0 {
			t.Error("the outage was not logged")
		}
		eventually(t, 5*time.Second, "recoveries logged", func() bool {
			return len(logs.find("works again")) >= len(failed)
		})
		for _, r := range failed {
			if r.attrs["err"] == "" {
				t.Errorf("outage logged without its cause: %+v", r)
			}
		}
		logs.onceEach(t)
	})
}

// c) A job read by a consumer that then died is taken over after its own
// timeout plus the margin, and run once; one with a longer timeout waits
// longer; an expired one is dropped.
func TestClaimAfterJobTimeout(t *testing.T) {
	testredis.Each(t, func(t *testing.T, b testredis.Backend) {
		ctx := context.Background()
		var hits sync.Map
		target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n, _ := hits.LoadOrStore(r.URL.Path, new(atomic.Int32))
			n.(*atomic.Int32).Add(1)
		}))
		defer target.Close()
		hitsOf := func(path string) int32 {
			n, ok := hits.Load(path)
			if !ok {
				return 0
			}
			return n.(*atomic.Int32).Load()
		}
		q := NewQueue(b.Client)
		if err := q.Setup(ctx, LocalRegion); err != nil {
			t.Fatal(err)
		}
		far := time.Now().Add(time.Hour).UnixMilli()
		jobs := []Job{
			{Spec: Spec{MonitorID: 1, URL: target.URL + "/short", Timeout: 300 * time.Millisecond}, Region: LocalRegion, Due: 1, Expires: far},
			{Spec: Spec{MonitorID: 2, URL: target.URL + "/long", Timeout: 2 * time.Second}, Region: LocalRegion, Due: 1, Expires: far},
			{Spec: Spec{MonitorID: 3, URL: target.URL + "/expired", Timeout: 300 * time.Millisecond}, Region: LocalRegion, Due: 1, Expires: time.Now().Add(500 * time.Millisecond).UnixMilli()},
		}
		if err := q.PublishJobs(ctx, jobs); err != nil {
			t.Fatal(err)
		}
		// The dead worker reads all three and never finishes them.
		if got, err := q.ReadJobs(ctx, LocalRegion, "dead-1", 10, 10*time.Millisecond); err != nil || len(got) != 3 {
			t.Fatalf("dead consumer read %d jobs (%v)", len(got), err)
		}
		read := time.Now()

		const margin = 500 * time.Millisecond
		w := NewWorker(NewQueue(b.Client), NewHTTPProber(HTTPOptions{}), WorkerConfig{
			Region: LocalRegion, Name: "live-1", Concurrency: 4, Logger: quietLogger(), ClaimMargin: margin,
		})
		w.heal.claimEvery = 100 * time.Millisecond
		startWorker(t, w)

		eventually(t, 5*time.Second, "short job re-claimed and run", func() bool { return hitsOf("/short") > 0 })
		took := time.Since(read)
		t.Logf("short job (300ms timeout, %v margin) re-run %v after the dead worker read it", margin, took.Round(time.Millisecond))
		if took < 300*time.Millisecond+margin {
			t.Errorf("short job claimed after %v, before its timeout plus margin", took)
		}
		if took > 300*time.Millisecond+margin+2*time.Second {
			t.Errorf("short job claimed only after %v", took)
		}
		if hitsOf("/long") != 0 {
			t.Error("long job claimed before its own timeout plus margin")
		}
		eventually(t, 5*time.Second, "long job re-claimed and run", func() bool { return hitsOf("/long") > 0 })
		if took := time.Since(read); took < 2*time.Second+margin {
			t.Errorf("long job claimed after %v, before its timeout plus margin", took)
		}
		eventually(t, 3*time.Second, "nothing left pending", func() bool {
			p, err := q.PendingJobs(ctx, LocalRegion, 0, "-", 10)
			return err == nil && len(p) == 0
		})
		time.Sleep(2 * (300*time.Millisecond + margin)) // a second claim would have happened by now
		if s, l, e := hitsOf("/short"), hitsOf("/long"), hitsOf("/expired"); s != 1 || l != 1 || e != 0 {
			t.Errorf("runs: short %d, long %d, expired %d; want 1, 1, 0", s, l, e)
		}
		res, err := q.ReadResults(ctx, sinkConsumer, 10, 10*time.Millisecond, false)
		if err != nil || len(res) != 2 {
			t.Fatalf("results %d (%v), want 2", len(res), err)
		}
		for _, r := range res {
			if !r.Result.Outcome.OK || r.Result.MonitorID == 3 {
				t.Errorf("result %+v", r.Result)
			}
		}
	})
}

// d) Consumers that died with nothing pending are removed from the group;
// one that still has pending jobs is kept (its jobs wait to be claimed).
func TestReapDeadConsumers(t *testing.T) {
	testredis.Each(t, func(t *testing.T, b testredis.Backend) {
		ctx := context.Background()
		q := NewQueue(b.Client)
		if err := q.Setup(ctx, LocalRegion); err != nil {
			t.Fatal(err)
		}
		stream := jobsStream(LocalRegion)
		if err := b.Client.XGroupCreateConsumer(ctx, stream, workersGroup, "dead-idle").Err(); err != nil {
			t.Fatal(err)
		}
		job := Job{Spec: Spec{MonitorID: 1, URL: "http://127.0.0.1:9/", Timeout: time.Hour}, Region: LocalRegion, Due: 1, Expires: time.Now().Add(time.Hour).UnixMilli()}
		if err := q.PublishJobs(ctx, []Job{job}); err != nil {
			t.Fatal(err)
		}
		if got, err := q.ReadJobs(ctx, LocalRegion, "dead-busy", 10, 10*time.Millisecond); err != nil || len(got) != 1 {
			t.Fatalf("read %d (%v)", len(got), err)
		}

		w := NewWorker(NewQueue(b.Client), NewHTTPProber(HTTPOptions{}), WorkerConfig{
			Region: LocalRegion, Name: "live-1", Concurrency: 2, Logger: quietLogger(),
		})
		w.heal.reapEvery, w.heal.reapIdle = 100*time.Millisecond, 300*time.Millisecond
		startWorker(t, w)

		names := func() map[string]int64 {
			cs, err := b.Client.XInfoConsumers(ctx, stream, workersGroup).Result()
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]int64{}
			for _, c := range cs {
				out[c.Name] = c.Pending
			}
			return out
		}
		start := time.Now()
		eventually(t, 5*time.Second, "dead consumer removed", func() bool {
			_, ok := names()["dead-idle"]
			return !ok
		})
		t.Logf("dead consumer removed after %v", time.Since(start).Round(time.Millisecond))
		time.Sleep(500 * time.Millisecond) // more rounds
		if n := names(); n["dead-busy"] != 1 {
			t.Errorf("consumer with a pending job removed or changed: %v", n)
		}
	})
}

// e) Stopping a worker: checks that finished, and those in flight that
// finish within the grace, are delivered; one that hangs is abandoned
// after the grace, its job left pending for another worker.
func TestWorkerStopDeliversResults(t *testing.T) {
	testredis.Each(t, func(t *testing.T, b testredis.Backend) {
		ctx := context.Background()
		var fast, slow, hung atomic.Int32
		release := make(chan struct{})
		defer close(release)
		target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/fast":
				fast.Add(1)
			case "/slow":
				slow.Add(1)
				time.Sleep(300 * time.Millisecond)
			case "/hung":
				hung.Add(1)
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}
		}))
		defer target.Close()
		q := NewQueue(b.Client)
		if err := q.Setup(ctx, LocalRegion); err != nil {
			t.Fatal(err)
		}
		w := NewWorker(NewQueue(b.Client), NewHTTPProber(HTTPOptions{}), WorkerConfig{
			Region: LocalRegion, Name: "w-1", Concurrency: 16, Logger: quietLogger(),
		})
		w.heal.stopGrace = time.Second
		stop := startWorker(t, w)

		far := time.Now().Add(time.Hour).UnixMilli()
		var jobs []Job
		for i := range 6 {
			path, timeout := "/fast", 2*time.Second
			switch {
			case i >= 3 && i < 5:
				path = "/slow"
			case i == 5:
				path, timeout = "/hung", time.Minute
			}
			jobs = append(jobs, Job{Spec: Spec{MonitorID: int64(i + 1), URL: target.URL + path, Timeout: timeout}, Region: LocalRegion, Due: 1, Expires: far})
		}
		if err := q.PublishJobs(ctx, jobs); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "all checks started", func() bool {
			return fast.Load() == 3 && slow.Load() == 2 && hung.Load() == 1
		})
		stopped := time.Now()
		stop()
		took := time.Since(stopped)
		t.Logf("worker stopped in %v", took.Round(time.Millisecond))
		if took > 3*time.Second {
			t.Errorf("stopping took %v with a 1s grace", took)
		}
		if n := b.Client.XLen(ctx, resultsStream).Val(); n != 5 {
			t.Errorf("%d results delivered, want the 5 finished", n)
		}
		p, err := q.PendingJobs(ctx, LocalRegion, 0, "-", 10)
		if err != nil || len(p) != 1 || p[0].Consumer != "w-1" {
			t.Errorf("pending after stop: %+v (%v), want only the hung job", p, err)
		}
	})
}

// Results that cannot be sent because the queue is down when the worker
// stops are logged with their count, not silently lost.
func TestWorkerStopQueueDown(t *testing.T) {
	testredis.Each(t, func(t *testing.T, b testredis.Backend) {
		ctx := context.Background()
		var started atomic.Int32
		target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			started.Add(1)
			time.Sleep(300 * time.Millisecond)
		}))
		defer target.Close()
		q := NewQueue(b.Client)
		if err := q.Setup(ctx, LocalRegion); err != nil {
			t.Fatal(err)
		}
		logs := &logCapture{}
		w := NewWorker(NewQueue(b.Client), NewHTTPProber(HTTPOptions{}), WorkerConfig{
			Region: LocalRegion, Name: "w-1", Concurrency: 4, Logger: logs.logger(),
		})
		stop := startWorker(t, w)
		var jobs []Job
		for i := range 2 {
			jobs = append(jobs, Job{Spec: Spec{MonitorID: int64(i + 1), URL: fmt.Sprintf("%s/%d", target.URL, i), Timeout: 2 * time.Second}, Region: LocalRegion, Due: 1, Expires: time.Now().Add(time.Hour).UnixMilli()})
		}
		if err := q.PublishJobs(ctx, jobs); err != nil {
			t.Fatal(err)
		}
		eventually(t, 5*time.Second, "checks started", func() bool { return started.Load() == 2 })
		b.Stop(t)
		stop()
		lost := logs.find("results lost")
		if len(lost) != 1 || lost[0].attrs["n"] != "2" {
			t.Fatalf("lost results logged as %+v, want one line with n=2", lost)
		}
		b.Start(t) // for the cleanup
	})
}

func TestNextID(t *testing.T) {
	for in, want := range map[string]string{"1700000000000-0": "1700000000000-1", "5-41": "5-42", "junk": "-"} {
		if got := nextID(in); got != want {
			t.Errorf("nextID(%q) = %q, want %q", in, got, want)
		}
	}
}

// A job to take over behind more pending jobs than one XPENDING page (all
// still within their timeouts) is found on a later page.
func TestClaimPagesThroughPending(t *testing.T) {
	testredis.Each(t, func(t *testing.T, b testredis.Backend) {
		ctx := context.Background()
		var hits atomic.Int32
		target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
		defer target.Close()
		q := NewQueue(b.Client)
		if err := q.Setup(ctx, LocalRegion); err != nil {
			t.Fatal(err)
		}
		far := time.Now().Add(time.Hour).UnixMilli()
		busy := make([]Job, claimPage+50)
		for i := range busy {
			busy[i] = Job{Spec: Spec{MonitorID: int64(i + 1), URL: "http://127.0.0.1:9/", Timeout: time.Hour}, Region: LocalRegion, Due: 1, Expires: far}
		}
		if err := q.PublishJobs(ctx, busy); err != nil {
			t.Fatal(err)
		}
		if got, err := q.ReadJobs(ctx, LocalRegion, "slow-1", len(busy), 10*time.Millisecond); err != nil || len(got) != len(busy) {
			t.Fatalf("read %d (%v)", len(got), err)
		}
		short := Job{Spec: Spec{MonitorID: 9999, URL: target.URL, Timeout: 100 * time.Millisecond}, Region: LocalRegion, Due: 1, Expires: far}
		if err := q.PublishJobs(ctx, []Job{short}); err != nil {
			t.Fatal(err)
		}
		if got, err := q.ReadJobs(ctx, LocalRegion, "dead-1", 1, 10*time.Millisecond); err != nil || len(got) != 1 {
			t.Fatalf("read %d (%v)", len(got), err)
		}
		w := NewWorker(NewQueue(b.Client), NewHTTPProber(HTTPOptions{}), WorkerConfig{
			Region: LocalRegion, Name: "live-1", Concurrency: 4, Logger: quietLogger(), ClaimMargin: 200 * time.Millisecond,
		})
		w.heal.claimEvery = 50 * time.Millisecond
		startWorker(t, w)
		eventually(t, 5*time.Second, "job behind a full page claimed", func() bool { return hits.Load() == 1 })
		eventually(t, 3*time.Second, "claimed job acknowledged, the busy ones untouched", func() bool {
			p, err := q.PendingJobs(ctx, LocalRegion, 0, "-", len(busy)+10)
			return err == nil && len(p) == len(busy) && p[len(p)-1].Consumer == "slow-1"
		})
	})
}
