package checker

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// runFor steps a clock through [from, to] and returns each monitor's due
// times as offsets from t0.
func runFor(s *schedule, from, to time.Time, step time.Duration) map[int64][]time.Duration {
	got := map[int64][]time.Duration{}
	for now := from; !now.After(to); now = now.Add(step) {
		for _, j := range s.due(now, 0, nil) {
			got[j.Spec.MonitorID] = append(got[j.Spec.MonitorID], time.UnixMilli(j.Due).Sub(t0))
		}
	}
	return got
}

func TestScheduleFixedRate(t *testing.T) {
	s := newSchedule()
	s.put(Spec{MonitorID: 1}, []string{"local"}, 10*time.Second, t0)
	s.put(Spec{MonitorID: 2}, []string{"local"}, 3*time.Second, t0.Add(time.Second))
	got := runFor(s, t0, t0.Add(30*time.Second), 250*time.Millisecond)

	want1 := []time.Duration{0, 10 * time.Second, 20 * time.Second, 30 * time.Second}
	if !equalDurations(got[1], want1) {
		t.Errorf("monitor 1 due at %v, want %v", got[1], want1)
	}
	if len(got[2]) != 10 {
		t.Fatalf("monitor 2 ran %d times, want 10: %v", len(got[2]), got[2])
	}
	for i, d := range got[2] {
		if want := time.Second + time.Duration(i)*3*time.Second; d != want {
			t.Errorf("monitor 2 run %d due at %v, want %v", i, d, want)
		}
	}
}

func TestScheduleSkipsMissedSlotsWithoutBurst(t *testing.T) {
	s := newSchedule()
	s.put(Spec{MonitorID: 1}, []string{"local"}, 10*time.Second, t0)
	if jobs := s.due(t0, 0, nil); len(jobs) != 1 {
		t.Fatalf("first run: %d jobs", len(jobs))
	}
	// The process stalls for 35 s: one catch-up run, then back on the grid.
	jobs := s.due(t0.Add(35*time.Second), 0, nil)
	if len(jobs) != 1 {
		t.Fatalf("after a stall got %d jobs, want exactly 1", len(jobs))
	}
	if next, _ := s.nextDue(); !next.Equal(t0.Add(40 * time.Second)) {
		t.Errorf("next due %v, want t0+40s (grid kept)", next.Sub(t0))
	}
	if exp := time.UnixMilli(jobs[0].Expires); !exp.Equal(t0.Add(20 * time.Second)) {
		t.Errorf("stale job expires at %v, want its slot + interval", exp.Sub(t0))
	}
}

func TestScheduleRecheckRunsEarlyThenKeepsGrid(t *testing.T) {
	s := newSchedule()
	s.put(Spec{MonitorID: 1}, []string{"local"}, time.Minute, t0)
	s.due(t0, 0, nil)
	s.recheck(1, t0.Add(5*time.Second))
	got := runFor(s, t0.Add(time.Second), t0.Add(2*time.Minute), time.Second)
	want := []time.Duration{5 * time.Second, time.Minute, 2 * time.Minute}
	if !equalDurations(got[1], want) {
		t.Errorf("due at %v, want %v", got[1], want)
	}
	// A recheck later than the regular slot changes nothing.
	s.recheck(1, t0.Add(10*time.Minute))
	if next, _ := s.nextDue(); !next.Equal(t0.Add(3 * time.Minute)) {
		t.Errorf("late recheck moved next to %v", next.Sub(t0))
	}
}

func TestScheduleEditAndRemove(t *testing.T) {
	s := newSchedule()
	s.put(Spec{MonitorID: 1}, []string{"local"}, time.Minute, t0)
	s.put(Spec{MonitorID: 2}, []string{"local"}, time.Minute, t0)
	s.due(t0, 0, nil)
	// Editing checks at once and moves the grid.
	s.put(Spec{MonitorID: 1, URL: "http://new"}, []string{"local"}, 30*time.Second, t0.Add(7*time.Second))
	jobs := s.due(t0.Add(7*time.Second), 0, nil)
	if len(jobs) != 1 || jobs[0].Spec.URL != "http://new" {
		t.Fatalf("edited monitor not run at once with its new spec: %+v", jobs)
	}
	s.remove(2)
	s.remove(99) // unknown: no-op
	got := runFor(s, t0.Add(8*time.Second), t0.Add(2*time.Minute), time.Second)
	if len(got[2]) != 0 {
		t.Errorf("removed monitor still ran: %v", got[2])
	}
	if want := []time.Duration{37 * time.Second, 67 * time.Second, 97 * time.Second}; !equalDurations(got[1], want) {
		t.Errorf("edited monitor due at %v, want %v", got[1], want)
	}
}

func TestSpreadIsStableAndSpread(t *testing.T) {
	interval := time.Minute
	buckets := make([]int, 10)
	for id := int64(1); id <= 1000; id++ {
		d := spread(id, interval)
		if d < 0 || d >= interval {
			t.Fatalf("spread(%d) = %v outside [0, %v)", id, d, interval)
		}
		if d != spread(id, interval) {
			t.Fatalf("spread(%d) not stable", id)
		}
		buckets[d*10/interval]++
	}
	for i, n := range buckets {
		if n < 50 || n > 150 { // expected 100 per 6-second bucket
			t.Errorf("bucket %d holds %d of 1000 first runs: start-up is not spread", i, n)
		}
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
