package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func check(monitorID int64, region string, at time.Duration, ok bool) Check {
	c := Check{
		MonitorID: monitorID, Region: region, At: t0.Add(at), OK: ok, StatusCode: 200,
		Latency: 1500 * time.Microsecond,
		Phases:  Phases{DNS: 100 * time.Microsecond, Connect: 200 * time.Microsecond, TLS: 300 * time.Microsecond, TTFB: 400 * time.Microsecond, Transfer: 500 * time.Microsecond},
	}
	if !ok {
		c.StatusCode, c.Reason, c.Error = 503, "status", "got 503"
	}
	return c
}

func countChecks(t *testing.T, s *Store, monitorID int64) int {
	t.Helper()
	var n int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM checks WHERE monitor_id = ?`, monitorID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSaveChecksEmpty(t *testing.T) {
	s := openTest(t)
	if err := s.SaveChecks(context.Background(), nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestSaveChecksIdempotent(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := newUser(t, s, "a@example.com")
	m := newMonitor(t, s, u.ID)
	batch := []Check{check(m.ID, "local", 0, true), check(m.ID, "eu", 0, true), check(m.ID, "local", time.Second, false)}
	for range 2 {
		if err := s.SaveChecks(ctx, batch, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := countChecks(t, s, m.ID); n != 3 {
		t.Errorf("%d rows after saving the same batch twice, want 3", n)
	}
	got, err := s.ListChecks(ctx, m.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got[0], batch[2]) {
		t.Errorf("stored check =\n%+v\nwant\n%+v", got[0], batch[2])
	}
}

func TestSaveChecksDeletedMonitor(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := newUser(t, s, "a@example.com")
	gone, kept := newMonitor(t, s, u.ID), newMonitor(t, s, u.ID)
	if err := s.DeleteMonitor(ctx, u.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	err := s.SaveChecks(ctx,
		[]Check{check(gone.ID, "local", 0, true), check(kept.ID, "local", 0, true), check(9999, "local", 0, true)},
		[]StateUpdate{
			{MonitorID: gone.ID, State: MonitorState{Status: StatusUp, Since: t0},
				Transition: &Transition{From: StatusPending, To: StatusUp, At: t0}},
			{MonitorID: kept.ID, State: MonitorState{Status: StatusUp, Since: t0}},
		})
	if err != nil {
		t.Fatal(err)
	}
	if n := countChecks(t, s, gone.ID); n != 0 {
		t.Errorf("deleted monitor got %d checks", n)
	}
	m, err := s.MonitorByID(ctx, kept.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.LastCheck == nil || m.State.Status != StatusUp {
		t.Errorf("kept monitor not updated: %+v", m)
	}
	var tr int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM monitor_transitions`).Scan(&tr); err != nil || tr != 0 {
		t.Errorf("%d transitions for a deleted monitor, %v", tr, err)
	}
}

func TestSaveChecksLastCheckFollowsNewest(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := newUser(t, s, "a@example.com")
	m := newMonitor(t, s, u.ID)

	newest := check(m.ID, "eu", 2*time.Minute, false)
	batches := [][]Check{
		{check(m.ID, "local", time.Minute, true)},
		// Within one batch, the newest is not last.
		{newest, check(m.ID, "local", 90*time.Second, true)},
		// A late batch of older results must not roll the monitor back.
		{check(m.ID, "local", 0, true), check(m.ID, "us", 30*time.Second, true)},
	}
	for _, b := range batches {
		if err := s.SaveChecks(ctx, b, nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetMonitor(ctx, u.ID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := newest
	want.Phases = Phases{} // not denormalised
	if got.LastCheck == nil || !reflect.DeepEqual(*got.LastCheck, want) {
		t.Errorf("LastCheck = %+v, want %+v", got.LastCheck, want)
	}
	if list, _ := s.ListMonitors(ctx, u.ID); list[0].LastCheck == nil || !list[0].LastCheck.At.Equal(newest.At) {
		t.Errorf("ListMonitors LastCheck = %+v", list[0].LastCheck)
	}

	// Two regions at the same instant: the later in the batch wins, even
	// though it sorts first.
	tie := []Check{check(m.ID, "zz", 3*time.Minute, true), check(m.ID, "aa", 3*time.Minute, false)}
	if err := s.SaveChecks(ctx, tie, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.MonitorByID(ctx, m.ID); got.LastCheck == nil || got.LastCheck.Region != "aa" {
		t.Errorf("tie: LastCheck = %+v, want region aa", got.LastCheck)
	}
}

func TestSaveChecksStateAndTransitions(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := newUser(t, s, "a@example.com")
	active, paused := newMonitor(t, s, u.ID), newMonitor(t, s, u.ID)
	paused.Paused = true
	if _, err := s.UpdateMonitor(ctx, paused); err != nil {
		t.Fatal(err)
	}
	pausedBefore, _ := s.MonitorByID(ctx, paused.ID)
	trBefore, _ := s.Transitions(ctx, paused.ID, 0)

	down := MonitorState{Status: StatusDown, Since: t0.Add(time.Minute), FailStreak: 3}
	tr := &Transition{From: StatusPending, To: StatusDown, At: t0.Add(time.Minute), Reason: "timeout", Error: "no answer in 10s"}
	err := s.SaveChecks(ctx, []Check{check(paused.ID, "local", time.Minute, false)}, []StateUpdate{
		{MonitorID: active.ID, State: down, Transition: tr},
		{MonitorID: paused.ID, State: down, Transition: tr},
	})
	if err != nil {
		t.Fatal(err)
	}

	got, _ := s.MonitorByID(ctx, active.ID)
	if got.State != down {
		t.Errorf("active state = %+v, want %+v", got.State, down)
	}
	trs, err := s.Transitions(ctx, active.ID, 10)
	want := *tr
	want.MonitorID = active.ID
	if err != nil || len(trs) != 1 || trs[0] != want {
		t.Errorf("Transitions = %+v, %v, want [%+v]", trs, err, want)
	}

	got, _ = s.MonitorByID(ctx, paused.ID)
	if got.State != pausedBefore.State {
		t.Errorf("paused monitor state overwritten: %+v, was %+v", got.State, pausedBefore.State)
	}
	if got.LastCheck == nil {
		t.Error("paused monitor's check not recorded")
	}
	if trs, _ := s.Transitions(ctx, paused.ID, 0); len(trs) != len(trBefore) {
		t.Errorf("paused monitor got a transition: %+v", trs)
	}
}

func TestListChecksNewestFirst(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := newUser(t, s, "a@example.com")
	m, other := newMonitor(t, s, u.ID), newMonitor(t, s, u.ID)
	var batch []Check
	for i := range 10 {
		batch = append(batch, check(m.ID, "local", time.Duration(i)*time.Minute, true))
	}
	batch = append(batch, check(other.ID, "local", time.Hour, true))
	if err := s.SaveChecks(ctx, batch, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListChecks(ctx, m.ID, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d checks, want 3", len(got))
	}
	for i, c := range got {
		if want := t0.Add(time.Duration(9-i) * time.Minute); !c.At.Equal(want) || c.MonitorID != m.ID {
			t.Errorf("check %d at %v of %d, want %v of %d", i, c.At, c.MonitorID, want, m.ID)
		}
	}
	if all, _ := s.ListChecks(ctx, m.ID, 0); len(all) != 10 {
		t.Errorf("limit 0 returned %d, want all 10", len(all))
	}
}

func TestDeleteMonitorCascades(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := newUser(t, s, "a@example.com")
	m := newMonitor(t, s, u.ID)
	err := s.SaveChecks(ctx, []Check{check(m.ID, "local", 0, false)}, []StateUpdate{{
		MonitorID: m.ID, State: MonitorState{Status: StatusDown, Since: t0},
		Transition: &Transition{From: StatusPending, To: StatusDown, At: t0},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMonitor(ctx, u.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"checks", "monitor_transitions"} {
		var n int
		if err := s.r.QueryRow(`SELECT COUNT(*) FROM `+table+` WHERE monitor_id = ?`, m.ID).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s: %d rows left, %v", table, n, err)
		}
	}
}

func TestSaveChecksCancelled(t *testing.T) {
	s := openTest(t)
	u := newUser(t, s, "a@example.com")
	m := newMonitor(t, s, u.ID)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.SaveChecks(ctx, []Check{check(m.ID, "local", 0, true)}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled SaveChecks: %v", err)
	}
	// The writer must still be usable afterwards.
	if err := s.SaveChecks(context.Background(), []Check{check(m.ID, "local", 0, true)}, nil); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkSaveChecks writes batches of 500 results spread over 1,000
// monitors, each with its state update, as the result sink does.
func BenchmarkSaveChecks(b *testing.B) {
	ctx := context.Background()
	s := openTest(b)
	u := newUser(b, s, "a@example.com")
	const monitors, batch = 1000, 500
	ids := make([]int64, monitors)
	for i := range ids {
		ids[i] = newMonitor(b, s, u.ID).ID
	}
	checks := make([]Check, batch)
	updates := make([]StateUpdate, batch)
	n := 0
	for ; b.Loop(); n++ {
		for i := range checks {
			k := n*batch + i
			id := ids[k%monitors]
			checks[i] = check(id, "local", time.Duration(k/monitors)*time.Minute, k%7 != 0)
			updates[i] = StateUpdate{MonitorID: id, State: MonitorState{Status: StatusUp, Since: t0}}
		}
		if err := s.SaveChecks(ctx, checks, updates); err != nil {
			b.Fatal(fmt.Errorf("batch %d: %w", n, err))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*batch), "ns/check")
}
