package checker

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upwatch/upwatch/internal/testredis"
)

// The pool's rules, on a clock the test moves: pressure grows it, up to
// its cap; at the cap under pressure it reports saturation after a while;
// calm shrinks it back to its base.
func TestPoolAdapts(t *testing.T) {
	p := newPool(quietLogger(), "local", 4, 16)
	now := time.Now()
	// A second of reads (full ones: every slot busy and the read got all
	// it asked for), then the read that adjusts.
	step := func(full bool) {
		for range 3 {
			if full {
				p.observe(2, 2, p.current(), now)
			}
		}
		now = now.Add(poolAdjustEvery)
		p.observe(4, 0, 0, now)
	}
	step(true)
	if got := p.current(); got != 6 {
		t.Fatalf("after pressure: limit %d, want 6", got)
	}
	for range 5 {
		step(true)
	}
	if got := p.current(); got != 16 {
		t.Fatalf("under long pressure: limit %d, want the cap 16", got)
	}
	if p.saturation(now).Saturated {
		t.Fatal("saturated as soon as it reached the cap")
	}
	for range 11 {
		step(true)
	}
	if s := p.saturation(now); !s.Saturated || s.Limit != 16 || s.Max != 16 || s.Base != 4 {
		t.Fatalf("at the cap under pressure: %+v", s)
	}
	step(false)
	if p.saturation(now).Saturated {
		t.Error("still saturated after the pressure ended")
	}
	for range 40 {
		step(false)
	}
	if got := p.current(); got >= 16 || got < 4 {
		t.Errorf("after calm: limit %d, want back toward 4", got)
	}
	for range 200 {
		step(false)
	}
	if got := p.current(); got != 4 {
		t.Errorf("after a long calm: limit %d, want its base 4", got)
	}
}

// Slow targets: a pool of 4 cannot keep 30 one-second monitors whose
// target answers in 300 ms (13 checks/s at most); it grows until it keeps
// up, and is not saturated.
func TestWorkerGrowsForSlowTargets(t *testing.T) {
	var hits atomic.Int64
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	st, u := openStore(t)
	for i := range 30 {
		addMonitor(t, st, u, "slow"+string(rune('a'+i)), slow.URL, time.Second, 2*time.Second, 1)
	}
	c := New(st, NewQueue(testredis.Mini(t).Client), Config{LocalWorkers: 4, LocalWorkersMax: 64, Logger: quietLogger()})
	startChecker(t, c)
	eventually(t, 10*time.Second, "the pool grown", func() bool { return c.Health().Saturation.Limit >= 10 })
	// Now it keeps up: about 30 checks a second.
	start := hits.Load()
	time.Sleep(3 * time.Second)
	rate := float64(hits.Load()-start) / 3
	t.Logf("pool %d, %.1f checks/s for 30 monitors at 1 s", c.Health().Saturation.Limit, rate)
	if rate < 20 {
		t.Errorf("%.1f checks/s with the grown pool, want near 30", rate)
	}
	if c.Health().Saturation.Saturated {
		t.Error("saturated although under its cap")
	}
}

// The checker remembers the wall clock's step for Health.
func TestHealthReportsClockStep(t *testing.T) {
	fc := &fakeClocks{wall: t0, mono: time.Hour}
	st, _ := openStore(t)
	c := New(st, NewQueue(testredis.Mini(t).Client), Config{LocalWorkers: -1, Logger: quietLogger(), Now: fc.Now, Mono: fc.Mono})
	if h := c.Health(); h.ClockStep != 0 {
		t.Fatalf("a step before any: %v", h.ClockStep)
	}
	fc.Advance(time.Second)
	fc.Step(time.Hour)
	c.mu.Lock()
	c.nowLocked()
	c.mu.Unlock()
	h := c.Health()
	if h.ClockStep != time.Hour || !h.ClockSteppedAt.Equal(t0.Add(time.Hour+time.Second)) {
		t.Errorf("health after a step: %v at %v", h.ClockStep, h.ClockSteppedAt)
	}
}
