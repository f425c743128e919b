package checker

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/upwatch/upwatch/internal/testredis"
)

var hbT0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestHeartbeatReadBack(t *testing.T) {
	testredis.Each(t, func(t *testing.T, b testredis.Backend) {
		ctx := context.Background()
		q := NewQueue(b.Client)
		if ws, err := q.Workers(ctx, hbT0); err != nil || len(ws) != 0 {
			t.Fatalf("no heartbeats yet: %v %v", ws, err)
		}
		eu := WorkerInfo{Name: "worker-b-2", Region: "eu", Version: "v1.2.3", Host: "b", StartedAt: hbT0.Add(-time.Hour),
			LastSeen: hbT0, InFlight: 3, ChecksPerMinute: 120, Concurrency: 16}
		local := WorkerInfo{Name: "server-a-1", Region: "local", Version: "dev", Host: "a", StartedAt: hbT0.Add(-time.Minute),
			LastSeen: hbT0.Add(-2 * time.Second), Concurrency: 64}
		eu2 := eu
		eu2.Name, eu2.LastSeen = "worker-a-9", hbT0.Add(-40*time.Second) // dead
		for _, w := range []WorkerInfo{eu, local, eu2} {
			if err := q.Heartbeat(ctx, w); err != nil {
				t.Fatal(err)
			}
		}
		ws, err := q.Workers(ctx, hbT0)
		if err != nil {
			t.Fatal(err)
		}
		eu.Alive, local.Alive = true, true
		want := []WorkerInfo{eu, local, eu2} // alive first, then region and name
		if len(ws) != len(want) {
			t.Fatalf("got %d workers, want %d: %+v", len(ws), len(want), ws)
		}
		for i := range want {
			if !sameWorker(ws[i], want[i]) {
				t.Errorf("worker %d:\n got %+v\nwant %+v", i, ws[i], want[i])
			}
		}
		live, err := q.LiveRegions(ctx, hbT0)
		if err != nil {
			t.Fatal(err)
		}
		if len(live) != 2 || live["eu"] != 1 || live["local"] != 1 {
			t.Fatalf("live regions %v, want eu:1 local:1", live)
		}
		// A newer heartbeat replaces the record.
		eu.InFlight, eu.LastSeen = 0, hbT0.Add(5*time.Second)
		if err := q.Heartbeat(ctx, eu); err != nil {
			t.Fatal(err)
		}
		if ws, _ := q.Workers(ctx, hbT0.Add(5*time.Second)); len(ws) != 3 || ws[0].InFlight != 0 || !ws[0].LastSeen.Equal(eu.LastSeen) {
			t.Fatalf("after a second heartbeat: %+v", ws)
		}
	})
}

func sameWorker(a, b WorkerInfo) bool {
	return a.Name == b.Name && a.Region == b.Region && a.Version == b.Version && a.Host == b.Host &&
		a.StartedAt.Equal(b.StartedAt) && a.LastSeen.Equal(b.LastSeen) && a.InFlight == b.InFlight &&
		a.ChecksPerMinute == b.ChecksPerMinute && a.Concurrency == b.Concurrency && a.Alive == b.Alive
}

// A silent worker is dead after WorkerDeadAfter and forgotten (its record
// deleted) after WorkerForgetAfter, judged by the reader's clock alone.
func TestHeartbeatDeadThenForgotten(t *testing.T) {
	testredis.Each(t, func(t *testing.T, b testredis.Backend) {
		ctx := context.Background()
		q := NewQueue(b.Client)
		w := WorkerInfo{Name: "worker-x-1", Region: "eu", StartedAt: hbT0, LastSeen: hbT0, Concurrency: 4}
		if err := q.Heartbeat(ctx, w); err != nil {
			t.Fatal(err)
		}
		// Garbage in the hash is cleaned up too.
		if err := b.Client.HSet(ctx, workersKey, "junk", "not json").Err(); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			after       time.Duration
			listed      bool
			alive       bool
			liveRegions int
		}{
			{0, true, true, 1},
			{WorkerDeadAfter, true, true, 1},
			{WorkerDeadAfter + time.Second, true, false, 0},
			{WorkerForgetAfter, true, false, 0},
			{WorkerForgetAfter + time.Second, false, false, 0},
		} {
			now := hbT0.Add(c.after)
			ws, err := q.Workers(ctx, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(ws) == 1; got != c.listed {
				t.Fatalf("after %v: listed %v (%+v), want %v", c.after, got, ws, c.listed)
			}
			if c.listed && ws[0].Alive != c.alive {
				t.Fatalf("after %v: alive %v, want %v", c.after, ws[0].Alive, c.alive)
			}
			live, err := q.LiveRegions(ctx, now)
			if err != nil {
				t.Fatal(err)
			}
			if live["eu"] != c.liveRegions {
				t.Fatalf("after %v: live regions %v", c.after, live)
			}
		}
		if n, err := b.Client.HLen(ctx, workersKey).Result(); err != nil || n != 0 {
			t.Fatalf("forgotten workers left %d records (%v)", n, err)
		}
	})
}

// holdProber blocks every check until released.
type holdProber struct{ release chan struct{} }

func (p holdProber) Probe(ctx context.Context, _ Spec) Outcome {
	select {
	case <-p.release:
	case <-ctx.Done():
	}
	return Outcome{OK: true, StatusCode: 200}
}

// A running worker reports itself with its checks in flight and done, and
// removes its record when it stops.
func TestWorkerHeartbeatLifecycle(t *testing.T) {
	testredis.Each(t, func(t *testing.T, b testredis.Backend) {
		q := NewQueue(b.Client)
		clock := func() time.Time { return hbT0 }
		p := holdProber{release: make(chan struct{})}
		w := NewWorker(q, p, WorkerConfig{
			Region: "eu", Name: "worker-test-1", Concurrency: 8, Version: "v9.9.9",
			Now: clock, HeartbeatEvery: 10 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ran := make(chan error, 1)
		go func() { ran <- w.Run(ctx) }()

		first := waitWorker(t, q, func(w WorkerInfo) bool { return true })
		if first.Region != "eu" || first.Version != "v9.9.9" || first.Concurrency != 8 || !first.Alive ||
			!first.StartedAt.Equal(hbT0) || first.Host == "" {
			t.Fatalf("first heartbeat %+v", first)
		}
		jobs := []Job{
			{Spec: Spec{MonitorID: 1}, Region: "eu", Due: 1, Expires: 9e12},
			{Spec: Spec{MonitorID: 2}, Region: "eu", Due: 2, Expires: 9e12},
		}
		if err := q.PublishJobs(context.Background(), jobs); err != nil {
			t.Fatal(err)
		}
		waitWorker(t, q, func(w WorkerInfo) bool { return w.InFlight == 2 })
		close(p.release)
		done := waitWorker(t, q, func(w WorkerInfo) bool { return w.InFlight == 0 && w.ChecksPerMinute == 2 })

		// Silent for longer than WorkerDeadAfter by the reader's clock: dead.
		if ws, err := q.Workers(context.Background(), done.LastSeen.Add(WorkerDeadAfter+time.Second)); err != nil || len(ws) != 1 || ws[0].Alive {
			t.Fatalf("a worker silent for too long should be dead: %+v %v", ws, err)
		}

		cancel()
		select {
		case err := <-ran:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("worker did not stop")
		}
		if ok, err := b.Client.HExists(context.Background(), workersKey, "worker-test-1").Result(); err != nil || ok {
			t.Fatalf("record left after a clean stop: %v %v", ok, err)
		}
	})
}

// waitWorker polls the heartbeats (written every few milliseconds here)
// until the one worker matches.
func waitWorker(t *testing.T, q *Queue, ok func(WorkerInfo) bool) WorkerInfo {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var last []WorkerInfo
	for time.Now().Before(deadline) {
		ws, err := q.Workers(context.Background(), hbT0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ws) == 1 && ok(ws[0]) {
			return ws[0]
		}
		last = ws
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("heartbeat never matched; last %+v", last)
	return WorkerInfo{}
}

func TestRatePerMinute(t *testing.T) {
	var r rate
	steps := []struct {
		at    time.Duration
		total int64
		want  int
	}{
		{0, 0, 0},
		{5 * time.Second, 10, 10}, // younger than a minute: all so far
		{30 * time.Second, 40, 40},
		{60 * time.Second, 100, 100}, // exactly a minute since the first sample
		{65 * time.Second, 100, 90},  // base is the 5 s sample: 90 checks in 60 s
		{120 * time.Second, 100, 0},  // nothing in the last minute
		{125 * time.Second, 130, 30},
	}
	for _, s := range steps {
		if got := r.perMinute(hbT0.Add(s.at), s.total); got != s.want {
			t.Errorf("at %v total %d: %d/min, want %d", s.at, s.total, got, s.want)
		}
	}
	if len(r.samples) > 3 {
		t.Errorf("kept %d samples; older than the base should go", len(r.samples))
	}
}
