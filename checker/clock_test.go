package checker

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/upwatch/upwatch/internal/testredis"
	"github.com/upwatch/upwatch/store"
)

// steppedWall is the real clock with a wall time the test steps; the
// monotonic clock (monoSinceStart) runs on untouched, as a real one does.
type steppedWall struct{ off atomic.Int64 }

func (s *steppedWall) Now() time.Time       { return time.Now().Add(time.Duration(s.off.Load())) }
func (s *steppedWall) Step(d time.Duration) { s.off.Add(int64(d)) }

// fakeClocks are a wall and a monotonic clock a test moves by hand:
// Advance moves both (time passes), Step only the wall clock.
type fakeClocks struct {
	mu   sync.Mutex
	wall time.Time
	mono time.Duration
}

func (c *fakeClocks) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wall
}

func (c *fakeClocks) Mono() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mono
}

func (c *fakeClocks) Advance(d time.Duration) {
	c.mu.Lock()
	c.wall, c.mono = c.wall.Add(d), c.mono+d
	c.mu.Unlock()
}

func (c *fakeClocks) Step(d time.Duration) {
	c.mu.Lock()
	c.wall = c.wall.Add(d)
	c.mu.Unlock()
}

// clockSteps returns the size of each wall-clock step logged.
func clockSteps(t *testing.T, l *logCapture) []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []time.Duration
	for _, r := range l.recs {
		if r.level != slog.LevelWarn || r.msg != "the wall clock stepped; checks keep their schedule, their times follow the new clock" {
			continue
		}
		d, err := time.ParseDuration(r.attrs["step"])
		if err != nil {
			t.Errorf("step logged as %q", r.attrs["step"])
		}
		out = append(out, d)
	}
	return out
}

func TestClockDetectsSteps(t *testing.T) {
	fc := &fakeClocks{wall: t0, mono: time.Hour}
	k := newClock(fc.Now, fc.Mono)
	if w, tick, step := k.read(); !w.Equal(t0) || !tick.Equal(t0) || step != 0 {
		t.Fatalf("first read = %v %v %v", w, tick, step)
	}
	fc.Advance(10 * time.Second)
	fc.Step(time.Hour)
	w, tick, step := k.read()
	if step != time.Hour || !tick.Equal(t0.Add(10*time.Second)) || !w.Equal(t0.Add(time.Hour+10*time.Second)) {
		t.Fatalf("after a step: wall %v tick %v step %v", w.Sub(t0), tick.Sub(t0), step)
	}
	if got := k.label(tick); !got.Equal(w) {
		t.Errorf("label %v, want the new wall time %v", got.Sub(t0), w.Sub(t0))
	}
	if _, _, step := k.read(); step != 0 {
		t.Errorf("a step is reported once; again: %v", step)
	}
	// Slewing (half a second a minute) is followed, never reported.
	for range 10 {
		fc.Advance(time.Minute)
		fc.Step(500 * time.Millisecond)
		if _, _, step := k.read(); step != 0 {
			t.Fatalf("a slew reported as a step of %v", step)
		}
	}
	fc.Step(-5 * time.Second)
	if _, _, step := k.read(); step != -5*time.Second {
		t.Errorf("a step back: %v", step)
	}
	// Ticks never see any of it.
	if got := k.tick(); !got.Equal(t0.Add(10*time.Second + 10*time.Minute)) {
		t.Errorf("tick %v", got.Sub(t0))
	}
}

// Labels never go backwards per monitor; results are ordered by their
// sequence number, whatever their labels; results of workers that do not
// echo the sequence are matched by label; replays are refused.
func TestSinkOrdersBySequence(t *testing.T) {
	fc := &fakeClocks{wall: t0, mono: time.Hour}
	c := New(nil, nil, Config{Logger: quietLogger(), Now: fc.Now, Mono: fc.Mono, Prober: nopProber{}})
	c.mu.Lock()
	defer c.mu.Unlock()
	m := store.Monitor{ID: 1, Interval: 10 * time.Second, Timeout: time.Second, Confirmations: 1,
		State: store.MonitorState{Status: store.StatusUp}, LastCheck: &store.Check{At: t0.Add(-time.Minute)}}
	c.putLocked(m, c.clk.tick())
	st := c.states[1]
	issue := func() Job {
		_, now := c.nowLocked()
		jobs := c.sched.due(now, c.clk.offset, nil)
		c.issueJobsLocked(jobs, now)
		if len(jobs) != 1 {
			t.Fatalf("%d jobs due", len(jobs))
		}
		fc.Advance(10 * time.Second)
		return jobs[0]
	}
	a := issue()
	fc.Step(-time.Hour) // labels would go back an hour
	b := issue()
	if b.Due != a.Due+1 || b.Seq <= a.Seq || b.Run != c.run {
		t.Fatalf("after a step back: a=%d/%d b=%d/%d; want b labelled 1 ms after a", a.Due, a.Seq, b.Due, b.Seq)
	}
	if b.Expires-b.Due != 10_000 || b.TTL != 10_000 {
		t.Errorf("b expires %d after its label, ttl %d", b.Expires-b.Due, b.TTL)
	}
	wall, _ := c.nowLocked()
	answer := func(j Job, seq bool) (uint64, bool) {
		r := Result{MonitorID: 1, Region: LocalRegion, Due: j.Due}
		if seq {
			r.Run, r.Seq = j.Run, j.Seq
		}
		rs := st.regions[0]
		defer func() { st.regions[0] = rs }()
		s, ok := c.answerLocked(&rs, r, wall)
		return s, ok && rs.newer(s, r.Due)
	}
	// b (newer) arrives first, from a worker that echoes the sequence; a,
	// from one that does not, is matched by its label but moves nothing.
	if s, applied := answer(b, true); s != b.Seq || !applied {
		t.Errorf("b: seq %d applied %v", s, applied)
	}
	if s, applied := answer(a, false); s != a.Seq || applied {
		t.Errorf("a after b: seq %d applied %v; want matched, not applied", s, applied)
	}
	// (b's label is ahead of the clock that stepped back: from the future.)
	if _, applied := answer(b, true); applied || c.stats.Future != 1 {
		t.Errorf("a replay of b: applied %v, refused %+v", applied, c.stats)
	}
	// A result of an earlier run (before this checker started, another
	// run id) is taken, after none of this run's.
	old := Result{MonitorID: 1, Region: LocalRegion, Due: t0.Add(-2 * time.Hour).UnixMilli(), Run: c.run + 2, Seq: b.Seq + 100}
	rs := st.regions[0]
	if s, ok := c.answerLocked(&rs, old, wall); !ok || s != 0 || rs.newer(s, old.Due) {
		t.Errorf("earlier run's result: seq %d ok %v", s, ok)
	}
}

// A forward step of the wall clock (an hour: NTP syncing a board that
// booted without an RTC; 5 s: enough to stop 1 s and 2 s monitors for
// good before) changes nothing but the labels: checks go on at the same
// rate and a failing target still goes down, with an alert.
func TestClockStepForward(t *testing.T) {
	for _, step := range []time.Duration{time.Hour, 5 * time.Second} {
		t.Run(step.String(), func(t *testing.T) { testClockStep(t, step) })
	}
}

// A backward step neither freezes state nor stores a check twice: a
// monitor edited after the step still goes down when its target fails,
// labels go on from the newest one, and last_check is the newest check.
func TestClockStepBackward(t *testing.T) {
	for _, step := range []time.Duration{-time.Hour, -5 * time.Second} {
		t.Run(step.String(), func(t *testing.T) { testClockStep(t, step) })
	}
}

func testClockStep(t *testing.T, step time.Duration) {
	ctx := context.Background()
	b := testredis.Mini(t)
	var failing atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer target.Close()
	st, u := openStore(t)
	ch, err := st.CreateChannel(ctx, store.Channel{UserID: u.ID, Name: "hook", Type: "webhook", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	add := func(name string, interval time.Duration) store.Monitor {
		m, err := st.CreateMonitor(ctx, store.Monitor{
			UserID: u.ID, Name: name, URL: target.URL, Method: "GET", Interval: interval, Timeout: time.Second,
			ExpectedStatus: "200-299", Confirmations: 2, Channels: []int64{ch.ID},
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	one, two := add("every second", time.Second), add("every 2 s", 2*time.Second)

	// Every check stored, in the order stored, with the wall time then.
	type stored struct {
		chk  store.Check
		wall time.Time
	}
	var mu sync.Mutex
	var saved []stored
	clk := &steppedWall{}
	logs := &logCapture{}
	c := New(st, NewQueue(b.Client), Config{LocalWorkers: 4, Logger: logs.logger(), Now: clk.Now, Mono: monoSinceStart,
		RetryDelay: 200 * time.Millisecond, OnSaved: func(cs []store.Check, _ []store.StateUpdate) {
			mu.Lock()
			defer mu.Unlock()
			for _, chk := range cs {
				saved = append(saved, stored{chk, clk.Now()})
			}
		}})
	startChecker(t, c)
	count := func(id int64, from int) (n, all int) {
		mu.Lock()
		defer mu.Unlock()
		for i, s := range saved {
			if s.chk.MonitorID == id && i >= from {
				n++
			}
		}
		return n, len(saved)
	}
	eventually(t, 6*time.Second, "both up", func() bool {
		return status(t, st, one.ID).State.Status == store.StatusUp && status(t, st, two.ID).State.Status == store.StatusUp
	})
	maxBefore := map[int64]time.Time{} // per monitor
	mu.Lock()
	for _, s := range saved {
		if s.chk.At.After(maxBefore[s.chk.MonitorID]) {
			maxBefore[s.chk.MonitorID] = s.chk.At
		}
	}
	mu.Unlock()

	clk.Step(step)
	if step < 0 {
		// The drill's frozen case: a monitor edited after a step back.
		one.Name = "edited"
		if _, err := st.UpdateMonitor(ctx, one); err != nil {
			t.Fatal(err)
		}
		if err := c.Reschedule(ctx, one.ID); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1200 * time.Millisecond) // checks in flight at the step are stored
	_, mark := count(0, 0)
	time.Sleep(3 * time.Second)
	// The same rate as before the step: 3 s of a 1 s and a 2 s monitor.
	if n, _ := count(one.ID, mark); n < 2 {
		t.Errorf("1 s monitor: %d checks in the 3 s after a step of %v", n, step)
	}
	if n, _ := count(two.ID, mark); n < 1 {
		t.Errorf("2 s monitor: %d checks in the 3 s after a step of %v", n, step)
	}

	failing.Store(true)
	for _, m := range []store.Monitor{one, two} {
		eventually(t, 8*time.Second, m.Name+" down after the step", func() bool { return status(t, st, m.ID).State.Status == store.StatusDown })
	}
	eventually(t, 3*time.Second, "down alerts queued", func() bool {
		n := 0
		for _, k := range deliveryKinds(t, st, u, ch) {
			if k == "down" {
				n++
			}
		}
		return n == 2
	})

	mu.Lock()
	defer mu.Unlock()
	for _, m := range []store.Monitor{one, two} {
		got := status(t, st, m.ID).LastCheck // read first: rows can only be newer
		rows, err := st.ListChecks(ctx, m.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		labels := map[int64]bool{}
		var newest store.Check
		for i, s := range saved {
			if s.chk.MonitorID != m.ID {
				continue
			}
			at := s.chk.At.UnixMilli()
			if labels[at] {
				t.Errorf("%s: two checks labelled %v", m.Name, s.chk.At)
			}
			labels[at] = true
			if i >= mark {
				if !s.chk.At.After(maxBefore[m.ID]) {
					t.Errorf("%s: check after a step of %v labelled %v, not after the newest before it (%v)", m.Name, step, s.chk.At, maxBefore[m.ID])
				}
				if step > 0 && s.chk.At.Sub(s.wall).Abs() > 3*time.Second {
					t.Errorf("%s: check labelled %v, stored at %v: labels do not follow the clock", m.Name, s.chk.At, s.wall)
				}
			}
			if s.chk.At.After(newest.At) {
				newest = s.chk
			}
		}
		// The checker still runs: a batch may be stored while its OnSaved
		// waits for mu, so the store may hold more than saved, never less.
		if len(rows) < len(labels) {
			t.Errorf("%s: %d checks sent to the store, %d stored", m.Name, len(labels), len(rows))
		}
		// last_check is the newest stored check when read: never ahead of
		// the labels, never behind what was saved before.
		if got == nil || got.At.After(rows[0].At) || got.At.Before(newest.At) || got.OK {
			t.Errorf("%s: last check %+v, newest saved %v (newest row %v)", m.Name, got, newest.At, rows[0].At)
		}
	}
	if got := clockSteps(t, logs); len(got) != 1 || (got[0]-step).Abs() > time.Second {
		t.Errorf("steps logged: %v, want one of %v", got, step)
	}
}

// A worker's own wall clock, an hour ahead of or behind the server's, no
// longer decides whether a job is stale: a fresh job runs, a stale one is
// dropped. Jobs of older servers (no TTL) keep their expiry.
func TestWorkerIgnoresItsWallClock(t *testing.T) {
	testredis.Each(t, func(t *testing.T, b testredis.Backend) {
		ctx := context.Background()
		q := NewQueue(b.Client)
		if err := q.Setup(ctx, "eu"); err != nil {
			t.Fatal(err)
		}
		// run has a worker whose clock is off by skew work on jobs
		// published wait before it starts, until want results came and a
		// moment more.
		run := func(skew time.Duration, jobs []Job, wait time.Duration, want int) map[int64]Result {
			t.Helper()
			if err := q.PublishJobs(ctx, jobs); err != nil {
				t.Fatal(err)
			}
			time.Sleep(wait)
			w := NewWorker(NewQueue(b.Client), nopProber{}, WorkerConfig{Region: "eu", Name: "w", Logger: quietLogger(),
				Now: func() time.Time { return time.Now().Add(skew) }})
			wctx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- w.Run(wctx) }()
			got := map[int64]Result{}
			deadline := time.Now().Add(3 * time.Second)
			for time.Now().Before(deadline) {
				if end := time.Now().Add(300 * time.Millisecond); len(got) == want && end.Before(deadline) {
					deadline = end
				}
				msgs, err := q.ReadResults(ctx, sinkConsumer, 10, 100*time.Millisecond, false)
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range msgs {
					got[m.Result.MonitorID] = m.Result
				}
			}
			stop()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			return got
		}
		now := time.Now()
		job := func(id int64, ttl time.Duration) Job {
			return Job{Spec: Spec{MonitorID: id}, Region: "eu", Due: now.UnixMilli(), Expires: now.Add(10 * time.Second).UnixMilli(),
				TTL: ttl.Milliseconds(), Run: 7, Seq: uint64(id)}
		}
		for _, skew := range []time.Duration{time.Hour, -time.Hour} {
			got := run(skew, []Job{job(1, 10*time.Second)}, 0, 1)
			if r, ok := got[1]; !ok || r.Run != 7 || r.Seq != 1 || r.Due != now.UnixMilli() {
				t.Errorf("worker %v off: fresh job gave %+v (ran: %v)", skew, r, ok)
			}
		}
		// Published 700 ms before a worker reads it, with 300 ms to live.
		if got := run(-time.Hour, []Job{job(2, 300*time.Millisecond), job(3, 10*time.Second)}, 700*time.Millisecond, 1); len(got) != 1 || got[3].Seq != 3 {
			t.Errorf("stale and fresh job: results %+v, want only the fresh one", got)
		}
		// An older server's jobs: the worker's clock against Expires.
		old := []Job{
			{Spec: Spec{MonitorID: 4}, Region: "eu", Due: now.UnixMilli(), Expires: time.Now().Add(-time.Second).UnixMilli()},
			{Spec: Spec{MonitorID: 5}, Region: "eu", Due: now.UnixMilli(), Expires: time.Now().Add(time.Minute).UnixMilli()},
		}
		if got := run(0, old, 0, 1); len(got) != 1 || got[5].MonitorID != 5 {
			t.Errorf("jobs without a TTL: results %+v, want only the unexpired one", got)
		}
	})
}

// A queue read leaves a job the rest of its TTL, measured on the queue's
// clock; an older server's job (no TTL) keeps none, and decodes.
func TestQueueAgesJobs(t *testing.T) {
	testredis.Each(t, func(t *testing.T, b testredis.Backend) {
		ctx := context.Background()
		q := NewQueue(b.Client)
		if err := q.Setup(ctx, "eu"); err != nil {
			t.Fatal(err)
		}
		if err := q.PublishJobs(ctx, []Job{{Spec: Spec{MonitorID: 1}, Region: "eu", Due: 1, TTL: 10_000}}); err != nil {
			t.Fatal(err)
		}
		// As an older server wrote it.
		legacy, _ := json.Marshal(map[string]any{"spec": map[string]any{"id": 2}, "region": "eu", "due": 5, "expires": 6})
		if err := b.Client.XAdd(ctx, &redis.XAddArgs{Stream: jobsStream("eu"), Values: []any{"d", legacy}}).Err(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(400 * time.Millisecond)
		msgs, err := q.ReadJobs(ctx, "eu", "w", 10, 100*time.Millisecond)
		if err != nil || len(msgs) != 2 {
			t.Fatalf("read %d jobs: %v", len(msgs), err)
		}
		if ttl := msgs[0].Job.TTL; ttl > 9_650 || ttl < 8_000 {
			t.Errorf("TTL after 400 ms in the queue: %d ms", ttl)
		}
		if j := msgs[1].Job; msgs[1].Err != nil || j.TTL != 0 || j.Seq != 0 || j.Expires != 6 || j.Spec.MonitorID != 2 {
			t.Errorf("older server's job: %+v, %v", j, msgs[1].Err)
		}
	})
}

// Push deadlines set from this run's clock keep their distance across a
// step: a step forward makes no monitor late, a step back holds none back.
func TestPushDeadlineAcrossSteps(t *testing.T) {
	b := testredis.Mini(t)
	st, u := openStore(t)
	m, err := st.CreateMonitor(context.Background(), store.Monitor{
		UserID: u.ID, Name: "backup", Type: TypePush, Settings: json.RawMessage(`{"period_seconds":60,"grace_seconds":30}`),
		Interval: time.Minute, Timeout: time.Second, Confirmations: 1, PushToken: "tok",
	})
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeClocks{wall: time.Now().Truncate(time.Second), mono: time.Hour}
	c := New(st, NewQueue(b.Client), Config{LocalWorkers: -1, Logger: quietLogger(), Now: fc.Now, Mono: fc.Mono})
	startChecker(t, c)
	ctx := context.Background()
	eventually(t, 3*time.Second, "push monitor loaded", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.push.has(m.ID)
	})
	if _, err := c.Push(ctx, Ping{Token: "tok", Kind: PingSuccess}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "up after a ping", func() bool { return status(t, st, m.ID).State.Status == store.StatusUp })

	fc.Step(time.Hour)
	fc.Advance(30 * time.Second)
	c.poke()
	time.Sleep(200 * time.Millisecond)
	if s := status(t, st, m.ID).State.Status; s != store.StatusUp {
		t.Fatalf("a step forward made the monitor %s", s)
	}
	fc.Step(-2 * time.Hour)
	fc.Advance(61 * time.Second) // 91 s after the ping
	c.poke()
	eventually(t, 3*time.Second, "late 90 s after the ping, steps or not", func() bool { return status(t, st, m.ID).State.Status == store.StatusDown })
}
