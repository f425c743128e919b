package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestQueryMonitors(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u, _ := s.CreateUser(ctx, "a@example.com", "h", false)
	other, _ := s.CreateUser(ctx, "b@example.com", "h", false)
	mk := func(user User, name, url string) Monitor {
		m, err := s.CreateMonitor(ctx, Monitor{UserID: user.ID, Name: name, URL: url, Method: "GET", Interval: time.Minute,
			Timeout: time.Second, ExpectedStatus: "200-299", Confirmations: 1})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	web := mk(u, "web", "https://web.example")
	db := mk(u, "Database", "https://db.example")
	mk(u, "api_100%", "https://api.example")
	mk(other, "web", "https://web.example")
	at := time.Now().UTC().Truncate(time.Millisecond)
	if err := s.SaveChecks(ctx, []Check{
		{MonitorID: web.ID, Region: "local", At: at, OK: true, Latency: 30 * time.Millisecond},
		{MonitorID: db.ID, Region: "local", At: at, OK: false, Latency: 90 * time.Millisecond},
	}, []StateUpdate{
		{MonitorID: web.ID, State: MonitorState{Status: StatusUp, Since: at}},
		{MonitorID: db.ID, State: MonitorState{Status: StatusDown, Since: at}},
	}); err != nil {
		t.Fatal(err)
	}
	names := func(ms []Monitor) string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Name)
		}
		return fmt.Sprint(out)
	}
	cases := []struct {
		q     MonitorQuery
		want  string
		total int
	}{
		{MonitorQuery{}, "[Database api_100% web]", 3},             // down, pending, up
		{MonitorQuery{Sort: "name"}, "[api_100% Database web]", 3}, // case-insensitive
		{MonitorQuery{Sort: "latency"}, "[Database web api_100%]", 3},
		{MonitorQuery{Status: StatusUp}, "[web]", 1},
		{MonitorQuery{Search: "DATA"}, "[Database]", 1},
		{MonitorQuery{Search: "100%"}, "[api_100%]", 1}, // % is literal
		{MonitorQuery{Search: "_"}, "[api_100%]", 1},    // _ is literal
		{MonitorQuery{Search: "example", Limit: 2}, "[Database api_100%]", 3},
	}
	for _, c := range cases {
		c.q.UserID = u.ID
		got, total, err := s.QueryMonitors(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		if names(got) != c.want || total != c.total {
			t.Errorf("%+v: got %s (%d), want %s (%d)", c.q, names(got), total, c.want, c.total)
		}
	}
	counts, err := s.StatusCounts(ctx, u.ID)
	if err != nil || counts[StatusUp] != 1 || counts[StatusDown] != 1 || counts[StatusPending] != 1 {
		t.Errorf("counts: %v %v", counts, err)
	}
}

func TestQueryMonitorsDegraded(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := newUser(t, s, "a@example.com")
	mk := func(name, status string) Monitor {
		m := sampleMonitor(u.ID)
		m.Name = name
		m, err := s.CreateMonitor(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		if status != StatusPending {
			at := time.Now().UTC().Truncate(time.Millisecond)
			c := Check{MonitorID: m.ID, Region: "local", At: at, OK: status != StatusDown, Degraded: status == StatusDegraded, StatusCode: 200}
			if err := s.SaveChecks(ctx, []Check{c}, []StateUpdate{{MonitorID: m.ID, State: MonitorState{Status: status, Since: at}}}); err != nil {
				t.Fatal(err)
			}
		}
		return m
	}
	// Named so that by name alone the order would be different.
	mk("a up", StatusUp)
	mk("b pending", StatusPending)
	mk("c degraded", StatusDegraded)
	mk("d down", StatusDown)
	mk("e degraded", StatusDegraded)
	names := func(ms []Monitor) string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Name)
		}
		return fmt.Sprint(out)
	}
	for _, c := range []struct {
		q     MonitorQuery
		want  string
		total int
	}{
		{MonitorQuery{}, "[d down c degraded e degraded b pending a up]", 5}, // degraded right after down
		{MonitorQuery{Status: StatusDegraded}, "[c degraded e degraded]", 2},
		{MonitorQuery{Status: StatusDegraded, Search: "e deg"}, "[e degraded]", 1},
		{MonitorQuery{Status: StatusUp}, "[a up]", 1}, // degraded is not up here
	} {
		c.q.UserID = u.ID
		got, total, err := s.QueryMonitors(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		if names(got) != c.want || total != c.total {
			t.Errorf("%+v: got %s (%d), want %s (%d)", c.q, names(got), total, c.want, c.total)
		}
	}
	counts, err := s.StatusCounts(ctx, u.ID)
	if err != nil || counts[StatusDegraded] != 2 || counts[StatusUp] != 1 || counts[StatusDown] != 1 {
		t.Errorf("counts: %v %v", counts, err)
	}
}
