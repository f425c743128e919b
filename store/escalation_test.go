package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// An incident still unacknowledged after the policy's time goes to the
// policy's channels, once; the monitor's own policy wins over the user's
// default; acknowledging stops it. Times from an injected clock.
func TestEscalation(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	s := openTest(t, WithClock(clk.Now))
	u := newUser(t, s, "a@example.com")
	stranger := newUser(t, s, "b@example.com")
	own, def := newMonitor(t, s, u.ID), newMonitor(t, s, u.ID)
	mk := func(uid int64, name string) Channel {
		c, err := s.CreateChannel(ctx, Channel{UserID: uid, Name: name, Type: "webhook", Settings: []byte(`{}`), Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	first, oncall, manager := mk(u.ID, "team"), mk(u.ID, "on-call"), mk(u.ID, "manager")
	theirs := mk(stranger.ID, "theirs")
	for _, m := range []Monitor{own, def} {
		if err := s.SetMonitorChannels(ctx, u.ID, m.ID, []int64{first.ID}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetEscalation(ctx, Escalation{UserID: u.ID, MonitorID: own.ID, After: 10 * time.Minute, Channels: []int64{oncall.ID}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEscalation(ctx, Escalation{UserID: u.ID, After: 5 * time.Minute, Channels: []int64{manager.ID}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEscalation(ctx, Escalation{UserID: u.ID, After: 5 * time.Minute, Channels: []int64{theirs.ID}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("another user's channel: %v", err)
	}
	start := clk.Now()
	for _, m := range []Monitor{own, def} {
		if err := s.SaveChecks(ctx, nil, []StateUpdate{{MonitorID: m.ID, State: MonitorState{Status: StatusDown, Since: start},
			Transition: &Transition{MonitorID: m.ID, From: StatusUp, To: StatusDown, At: start, Alert: true}}}); err != nil {
			t.Fatal(err)
		}
	}
	kinds := func(ch Channel) []string {
		ds, err := s.ListDeliveries(ctx, u.ID, ch.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			out = append(out, d.Kind+"/"+d.Status)
		}
		return out
	}
	step := func(at time.Duration, want int) {
		t.Helper()
		clk.t = start.Add(at)
		n, err := s.EnqueueEscalations(ctx, clk.Now())
		if err != nil || n != want {
			t.Fatalf("at +%v: %d escalations, %v; want %d", at, n, err, want)
		}
	}
	step(4*time.Minute, 0)
	step(5*time.Minute, 1) // the default, for the monitor without its own
	step(9*time.Minute, 0)
	step(10*time.Minute, 1) // the monitor's own
	step(30*time.Minute, 0) // once each
	if k := kinds(oncall); len(k) != 1 || k[0] != "escalation/pending" {
		t.Errorf("on-call: %v", k)
	}
	if k := kinds(manager); len(k) != 1 {
		t.Errorf("manager: %v", k)
	}

	// A new incident, acknowledged in time: no escalation, and what was
	// waiting is cancelled.
	clk.t = start.Add(time.Hour)
	for _, tr := range []*Transition{{From: StatusDown, To: StatusUp, Alert: true}, {From: StatusUp, To: StatusDown, Alert: true}} {
		tr.MonitorID, tr.At = own.ID, clk.Now()
		if err := s.SaveChecks(ctx, nil, []StateUpdate{{MonitorID: own.ID, State: MonitorState{Status: tr.To, Since: clk.Now()}, Transition: tr}}); err != nil {
			t.Fatal(err)
		}
		clk.t = clk.t.Add(time.Second)
	}
	incs, err := s.ListIncidents(ctx, u.ID, IncidentFilter{MonitorID: own.ID, Status: "open"})
	if err != nil || len(incs) != 1 {
		t.Fatalf("open incidents %+v, %v", incs, err)
	}
	if _, err := s.AcknowledgeIncident(ctx, u.ID, incs[0].ID, u.ID); err != nil {
		t.Fatal(err)
	}
	step(time.Hour+20*time.Minute, 0)
	if k := kinds(oncall); len(k) != 1 {
		t.Errorf("on-call after an acknowledged incident: %v", k)
	}
	if err := s.DeleteEscalation(ctx, u.ID, own.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetEscalation(ctx, u.ID, own.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if e, err := s.GetEscalation(ctx, u.ID, 0); err != nil || e.After != 5*time.Minute || e.Channels[0] != manager.ID {
		t.Errorf("default: %+v, %v", e, err)
	}
}
