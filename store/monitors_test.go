package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"
)

func newUser(t testing.TB, s *Store, email string) User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), email, "h", false)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func sampleMonitor(userID int64) Monitor {
	return Monitor{
		UserID:          userID,
		Name:            "example",
		URL:             "https://example.com/health",
		Method:          "GET",
		Headers:         map[string]string{"Accept": "application/json"},
		Interval:        30 * time.Second,
		Timeout:         10 * time.Second,
		ExpectedStatus:  "200-299",
		FollowRedirects: true,
		VerifyTLS:       true,
		Confirmations:   3,
	}
}

func newMonitor(t testing.TB, s *Store, userID int64) Monitor {
	t.Helper()
	m, err := s.CreateMonitor(context.Background(), sampleMonitor(userID))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMonitorCRUD(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	s := openTest(t, WithClock(clk.Now))
	u := newUser(t, s, "a@example.com")

	in := sampleMonitor(u.ID)
	in.ID, in.State.Status, in.LastCheck = 42, StatusUp, &Check{} // ignored
	m, err := s.CreateMonitor(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	want := sampleMonitor(u.ID)
	want.ID, want.CreatedAt, want.UpdatedAt = m.ID, clk.Now(), clk.Now()
	want.State = MonitorState{Status: StatusPending, Since: clk.Now()}
	want.Type, want.Settings = "http", json.RawMessage("{}") // a monitor of no type is HTTP
	if !reflect.DeepEqual(m, want) {
		t.Errorf("CreateMonitor =\n%+v\nwant\n%+v", m, want)
	}
	got, err := s.GetMonitor(ctx, u.ID, m.ID)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("GetMonitor = %+v, %v", got, err)
	}

	m2 := newMonitor(t, s, u.ID)
	list, err := s.ListMonitors(ctx, u.ID)
	if err != nil || len(list) != 2 || list[0].ID != m.ID || list[1].ID != m2.ID {
		t.Errorf("ListMonitors = %+v, %v", list, err)
	}

	clk.Add(time.Minute)
	upd := got
	upd.Name, upd.URL, upd.Method, upd.Body = "renamed", "http://example.org", "POST", `{"a":1}`
	upd.Headers = nil
	upd.Interval, upd.Timeout, upd.ExpectedStatus = time.Minute, 5*time.Second, "200,301-302"
	upd.FollowRedirects, upd.VerifyTLS, upd.Confirmations = false, false, 1
	upd.State.Status = StatusDown // ignored: state is not config
	got, err = s.UpdateMonitor(ctx, upd)
	if err != nil {
		t.Fatal(err)
	}
	upd.UpdatedAt, upd.State = clk.Now(), want.State
	if !reflect.DeepEqual(got, upd) {
		t.Errorf("UpdateMonitor =\n%+v\nwant\n%+v", got, upd)
	}

	if err := s.DeleteMonitor(ctx, u.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetMonitor(ctx, u.ID, m.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted monitor: %v", err)
	}
	if err := s.DeleteMonitor(ctx, u.ID, m.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
	if _, err := s.UpdateMonitor(ctx, upd); !errors.Is(err, ErrNotFound) {
		t.Errorf("updating a deleted monitor: %v", err)
	}
	if _, err := s.CreateMonitor(ctx, sampleMonitor(u.ID+100)); !errors.Is(err, ErrNotFound) {
		t.Errorf("monitor of unknown user: %v", err)
	}
}

func TestMonitorUserScoping(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	alice, bob := newUser(t, s, "alice@example.com"), newUser(t, s, "bob@example.com")
	am, bm := newMonitor(t, s, alice.ID), newMonitor(t, s, bob.ID)

	if _, err := s.GetMonitor(ctx, bob.ID, am.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob reads alice's monitor: %v", err)
	}
	stolen := am
	stolen.UserID, stolen.Name = bob.ID, "mine now"
	if _, err := s.UpdateMonitor(ctx, stolen); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob updates alice's monitor: %v", err)
	}
	if err := s.DeleteMonitor(ctx, bob.ID, am.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob deletes alice's monitor: %v", err)
	}
	if got, err := s.GetMonitor(ctx, alice.ID, am.ID); err != nil || got.Name != am.Name {
		t.Errorf("alice's monitor after bob's attempts: %+v, %v", got, err)
	}
	if list, err := s.ListMonitors(ctx, bob.ID); err != nil || len(list) != 1 || list[0].ID != bm.ID {
		t.Errorf("bob's list = %+v, %v", list, err)
	}
	if got, err := s.MonitorByID(ctx, am.ID); err != nil || got.UserID != alice.ID {
		t.Errorf("MonitorByID = %+v, %v", got, err)
	}
	if _, err := s.MonitorByID(ctx, bm.ID+1); !errors.Is(err, ErrNotFound) {
		t.Errorf("MonitorByID unknown: %v", err)
	}
	if all, err := s.AllMonitors(ctx); err != nil || len(all) != 2 || all[0].ID != am.ID || all[1].ID != bm.ID {
		t.Errorf("AllMonitors = %+v, %v", all, err)
	}
}

func TestMonitorPauseResume(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	s := openTest(t, WithClock(clk.Now))
	u := newUser(t, s, "a@example.com")
	m := newMonitor(t, s, u.ID)

	// The checker has seen it fail twice.
	down := MonitorState{Status: StatusDown, Since: clk.Now(), FailStreak: 2}
	if err := s.SaveChecks(ctx, nil, []StateUpdate{{MonitorID: m.ID, State: down}}); err != nil {
		t.Fatal(err)
	}

	clk.Add(time.Minute)
	m.Paused = true
	got, err := s.UpdateMonitor(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if want := (MonitorState{Status: StatusPaused, Since: clk.Now()}); got.State != want || !got.Paused {
		t.Errorf("paused state = %+v, want %+v", got.State, want)
	}

	// Editing a paused monitor keeps it paused without a new transition.
	clk.Add(time.Minute)
	got.Name = "still paused"
	if got, err = s.UpdateMonitor(ctx, got); err != nil || got.State.Status != StatusPaused {
		t.Fatalf("edit while paused: %+v, %v", got.State, err)
	}

	clk.Add(time.Minute)
	got.Paused = false
	if got, err = s.UpdateMonitor(ctx, got); err != nil {
		t.Fatal(err)
	}
	if want := (MonitorState{Status: StatusPending, Since: clk.Now()}); got.State != want || got.Paused {
		t.Errorf("resumed state = %+v, want %+v", got.State, want)
	}

	tr, err := s.Transitions(ctx, m.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	start := newTestClock().Now()
	want := []Transition{
		{MonitorID: m.ID, From: StatusPaused, To: StatusPending, At: start.Add(3 * time.Minute)},
		{MonitorID: m.ID, From: StatusDown, To: StatusPaused, At: start.Add(time.Minute)},
	}
	if !reflect.DeepEqual(tr, want) {
		t.Errorf("Transitions =\n%+v\nwant\n%+v", tr, want)
	}

	p := sampleMonitor(u.ID)
	p.Paused = true
	if created, err := s.CreateMonitor(ctx, p); err != nil || created.State.Status != StatusPaused {
		t.Errorf("created paused: %+v, %v", created.State, err)
	}
}
