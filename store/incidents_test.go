package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// transition saves a state change of m at t0+at, as the result sink does.
func transition(t *testing.T, s *Store, monitorID int64, from, to string, at time.Duration, tr Transition) {
	t.Helper()
	tr.From, tr.To, tr.At = from, to, t0.Add(at)
	err := s.SaveChecks(context.Background(), nil, []StateUpdate{{
		MonitorID: monitorID, State: MonitorState{Status: to, Since: tr.At}, Transition: &tr,
	}})
	if err != nil {
		t.Fatal(err)
	}
}

func incidents(t *testing.T, s *Store, userID int64, f IncidentFilter) []Incident {
	t.Helper()
	list, err := s.ListIncidents(context.Background(), userID, f)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestIncidentLifecycle(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	path := filepath.Join(t.TempDir(), "upwatch.db")
	s, err := Open(ctx, path, WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	u := newUser(t, s, "a@example.com")
	m := newMonitor(t, s, u.ID)

	excerpt := strings.Repeat("é", 600) // 1,200 bytes
	transition(t, s, m.ID, StatusPending, StatusUp, 0, Transition{})
	if got := incidents(t, s, u.ID, IncidentFilter{}); len(got) != 0 {
		t.Fatalf("incident without going down: %+v", got)
	}
	transition(t, s, m.ID, StatusUp, StatusDown, time.Minute,
		Transition{Reason: "status", Error: "got 503", StatusCode: 503, Excerpt: excerpt})
	// A second down while one is open (e.g. a replayed transition) keeps one.
	transition(t, s, m.ID, StatusDown, StatusDown, 2*time.Minute, Transition{Reason: "timeout"})

	open := incidents(t, s, u.ID, IncidentFilter{Status: "open"})
	if len(open) != 1 {
		t.Fatalf("open incidents: %+v", open)
	}
	in := open[0]
	want := Incident{ID: in.ID, MonitorID: m.ID, StartedAt: t0.Add(time.Minute), Reason: "status",
		Error: "got 503", StatusCode: 503, Excerpt: strings.Repeat("é", 512)}
	if in != want || !in.Open() {
		t.Errorf("incident =\n%+v\nwant\n%+v", in, want)
	}
	_, err = s.w.Exec(`INSERT INTO incidents (monitor_id, started_at) VALUES (?, 0)`, m.ID)
	if !isUniqueViolation(err) {
		t.Errorf("second open incident of a monitor: %v, want a unique violation", err)
	}

	// Survives a restart, then resolves on up.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(ctx, path, WithClock(clk.Now)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetIncident(ctx, u.ID, in.ID); err != nil || got != in {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	transition(t, s, m.ID, StatusDown, StatusUp, 10*time.Minute, Transition{})
	got, err := s.GetIncident(ctx, u.ID, in.ID)
	if err != nil || got.Open() || !got.ResolvedAt.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("after up: %+v, %v", got, err)
	}

	// Down again, then paused: resolved at the pause.
	transition(t, s, m.ID, StatusUp, StatusDown, 20*time.Minute, Transition{Reason: "timeout"})
	clk.t = t0.Add(25 * time.Minute)
	m.Paused = true
	if _, err := s.UpdateMonitor(ctx, m); err != nil {
		t.Fatal(err)
	}
	all := incidents(t, s, u.ID, IncidentFilter{})
	if len(all) != 2 || all[0].Open() || !all[0].ResolvedAt.Equal(clk.Now()) || all[1].ID != in.ID {
		t.Fatalf("after pause, newest first: %+v", all)
	}
	// A down result queued before the pause does not reopen it.
	transition(t, s, m.ID, StatusUp, StatusDown, 26*time.Minute, Transition{})
	if open := incidents(t, s, u.ID, IncidentFilter{Status: "open"}); len(open) != 0 {
		t.Errorf("paused monitor got an incident: %+v", open)
	}
	if res := incidents(t, s, u.ID, IncidentFilter{Status: "resolved", Limit: 1}); len(res) != 1 || res[0].ID != all[0].ID {
		t.Errorf("resolved, limit 1: %+v", res)
	}
}

func TestIncidentScopeAndAck(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	s := openTest(t, WithClock(clk.Now))
	alice, bob := newUser(t, s, "alice@example.com"), newUser(t, s, "bob@example.com")
	a1, a2, b1 := newMonitor(t, s, alice.ID), newMonitor(t, s, alice.ID), newMonitor(t, s, bob.ID)
	for i, id := range []int64{a1.ID, a2.ID, b1.ID} {
		transition(t, s, id, StatusUp, StatusDown, time.Duration(i)*time.Minute, Transition{Reason: "refused"})
	}
	transition(t, s, a1.ID, StatusDown, StatusUp, 5*time.Minute, Transition{})

	if got := incidents(t, s, alice.ID, IncidentFilter{}); len(got) != 2 || got[0].MonitorID != a2.ID || got[1].MonitorID != a1.ID {
		t.Errorf("alice's incidents: %+v", got)
	}
	if got := incidents(t, s, alice.ID, IncidentFilter{MonitorID: a1.ID}); len(got) != 1 || got[0].MonitorID != a1.ID {
		t.Errorf("alice's a1 incidents: %+v", got)
	}
	if got := incidents(t, s, alice.ID, IncidentFilter{MonitorID: b1.ID}); len(got) != 0 {
		t.Errorf("alice sees bob's monitor: %+v", got)
	}
	if got := incidents(t, s, alice.ID, IncidentFilter{Status: "open"}); len(got) != 1 || got[0].MonitorID != a2.ID {
		t.Errorf("alice's open incidents: %+v", got)
	}
	if _, err := s.ListIncidents(ctx, alice.ID, IncidentFilter{Status: "bogus"}); err == nil {
		t.Error("unknown status accepted")
	}
	bobs := incidents(t, s, bob.ID, IncidentFilter{})
	if len(bobs) != 1 {
		t.Fatalf("bob's incidents: %+v", bobs)
	}
	if _, err := s.GetIncident(ctx, alice.ID, bobs[0].ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("alice gets bob's incident: %v", err)
	}
	if _, err := s.AcknowledgeIncident(ctx, alice.ID, bobs[0].ID, alice.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("alice acks bob's incident: %v", err)
	}
	if got, _ := s.GetIncident(ctx, bob.ID, bobs[0].ID); got.AckedBy != 0 {
		t.Errorf("bob's incident acked by someone else: %+v", got)
	}

	clk.Add(time.Minute)
	id := incidents(t, s, alice.ID, IncidentFilter{Status: "open"})[0].ID
	if _, err := s.AcknowledgeIncident(ctx, alice.ID, id, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("ack by an unknown user: %v", err)
	}
	got, err := s.AcknowledgeIncident(ctx, alice.ID, id, alice.ID)
	if err != nil || got.AckedBy != alice.ID || got.AckedEmail != "alice@example.com" || !got.AckedAt.Equal(clk.Now()) {
		t.Fatalf("ack = %+v, %v", got, err)
	}
	first := clk.Now()
	clk.Add(time.Minute)
	// Acknowledging again keeps the first who and when.
	got, err = s.AcknowledgeIncident(ctx, alice.ID, id, bob.ID)
	if err != nil || got.AckedBy != alice.ID || !got.AckedAt.Equal(first) {
		t.Errorf("second ack = %+v, %v", got, err)
	}
	if _, err := s.AcknowledgeIncident(ctx, alice.ID, 12345, alice.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("ack of a missing incident: %v", err)
	}

	// Deleting a monitor takes its incidents with it.
	if err := s.DeleteMonitor(ctx, alice.ID, a2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetIncident(ctx, alice.ID, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("incident of a deleted monitor: %v", err)
	}
}

func TestIncidentListLimit(t *testing.T) {
	s := openTest(t)
	u := newUser(t, s, "a@example.com")
	m := newMonitor(t, s, u.ID)
	for i := range 110 {
		at := time.Duration(2*i) * time.Minute
		transition(t, s, m.ID, StatusUp, StatusDown, at, Transition{})
		transition(t, s, m.ID, StatusDown, StatusUp, at+time.Minute, Transition{})
	}
	got := incidents(t, s, u.ID, IncidentFilter{})
	if len(got) != 100 || !got[0].StartedAt.Equal(t0.Add(218*time.Minute)) {
		t.Errorf("default limit: %d incidents, newest %v", len(got), got[0].StartedAt)
	}
	if got := incidents(t, s, u.ID, IncidentFilter{Limit: 500}); len(got) != 110 {
		t.Errorf("limit 500: %d", len(got))
	}
}
