package checker

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upwatch/upwatch/internal/testredis"
	"github.com/upwatch/upwatch/reason"
	"github.com/upwatch/upwatch/store"
)

// deliveryKinds lists the kinds of a channel's deliveries, oldest first.
func deliveryKinds(t *testing.T, st *store.Store, u store.User, ch store.Channel) []string {
	t.Helper()
	ds, err := st.ListDeliveries(context.Background(), u.ID, ch.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for i := len(ds) - 1; i >= 0; i-- {
		kinds = append(kinds, ds[i].Kind)
	}
	return kinds
}

func TestDegradedByLatency(t *testing.T) {
	testredis.Each(t, func(t *testing.T, b testredis.Backend) {
		var slow atomic.Bool
		slow.Store(true)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if slow.Load() {
				time.Sleep(120 * time.Millisecond)
			}
		}))
		defer srv.Close()
		st, u := openStore(t)
		ch, err := st.CreateChannel(context.Background(), store.Channel{UserID: u.ID, Name: "hook", Type: "webhook", Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		m, err := st.CreateMonitor(context.Background(), store.Monitor{
			UserID: u.ID, Name: "slow", URL: srv.URL, Method: "GET", Interval: time.Second, Timeout: time.Second,
			ExpectedStatus: "200-299", Confirmations: 2, DegradedLatency: 60 * time.Millisecond, AlertDegraded: true,
			Channels: []int64{ch.ID},
		})
		if err != nil {
			t.Fatal(err)
		}
		c := New(st, NewQueue(b.Client), Config{LocalWorkers: 4, Logger: quietLogger(), RetryDelay: 100 * time.Millisecond})
		startChecker(t, c)

		eventually(t, 8*time.Second, "degraded after two slow checks", func() bool {
			return status(t, st, m.ID).State.Status == store.StatusDegraded
		})
		got := status(t, st, m.ID)
		if lc := got.LastCheck; lc == nil || !lc.OK || !lc.Degraded || lc.Reason != "slow" {
			t.Errorf("last check = %+v, want ok, degraded, reason slow", lc)
		}
		up, err := st.Uptime(context.Background(), []int64{m.ID}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		if err != nil || up[m.ID].Down != 0 || up[m.ID].Degraded < 2 || up[m.ID].Up < up[m.ID].Degraded {
			t.Errorf("uptime = %+v, %v: degraded checks count as up, and beside it", up[m.ID], err)
		}
		slow.Store(false)
		eventually(t, 5*time.Second, "up again when fast", func() bool {
			return status(t, st, m.ID).State.Status == store.StatusUp
		})
		eventually(t, 2*time.Second, "degraded and recovery alerts queued", func() bool {
			k := deliveryKinds(t, st, u, ch)
			return len(k) == 2 && k[0] == store.AlertDegraded && k[1] == store.AlertUp
		})
		ds, _ := st.ListDeliveries(context.Background(), u.ID, ch.ID, 1)
		var ev store.AlertEvent
		if err := json.Unmarshal(ds[0].Event, &ev); err != nil || ev.From != store.StatusDegraded || ev.DurationMS <= 0 {
			t.Errorf("recovery event = %+v, %v: want from degraded with its duration", ev, err)
		}
	})
}

// stepClock is a clock a test moves by hand.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestPushMonitor(t *testing.T) {
	b := testredis.Mini(t)
	st, u := openStore(t)
	ch, err := st.CreateChannel(context.Background(), store.Channel{UserID: u.ID, Name: "hook", Type: "webhook", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.CreateMonitor(context.Background(), store.Monitor{
		UserID: u.ID, Name: "backup", Type: TypePush, Settings: json.RawMessage(`{"period_seconds":60,"grace_seconds":30}`),
		Interval: time.Minute, Timeout: time.Second, Confirmations: 1, PushToken: "secret-token", Channels: []int64{ch.ID},
	})
	if err != nil {
		t.Fatal(err)
	}
	clk := &stepClock{t: time.Now().Truncate(time.Second)}
	c := New(st, NewQueue(b.Client), Config{LocalWorkers: 1, Logger: quietLogger(), Now: clk.Now})
	startChecker(t, c)
	ctx := context.Background()
	// Run loads monitors asynchronously: wait until the token is known.
	eventually(t, 3*time.Second, "push monitor loaded", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.push.has(m.ID)
	})

	if _, err := c.Push(ctx, Ping{Token: "nope", Kind: PingSuccess}); !errors.Is(err, ErrUnknownPushToken) {
		t.Fatalf("unknown token: %v", err)
	}
	if _, err := c.Push(ctx, Ping{Token: "secret-token", Kind: PingSuccess, Body: "all good"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "up after a ping", func() bool { return status(t, st, m.ID).State.Status == store.StatusUp })
	if got := status(t, st, m.ID); got.LastBody != "all good" {
		t.Errorf("last body = %q", got.LastBody)
	}

	// Within period + grace nothing happens; past it the monitor is late.
	clk.Add(89 * time.Second)
	c.poke()
	time.Sleep(150 * time.Millisecond)
	if s := status(t, st, m.ID).State.Status; s != store.StatusUp {
		t.Fatalf("status %s before the deadline, want up", s)
	}
	clk.Add(2 * time.Second)
	c.poke()
	eventually(t, 3*time.Second, "down when late", func() bool { return status(t, st, m.ID).State.Status == store.StatusDown })
	if lc := status(t, st, m.ID).LastCheck; lc.Reason != "late" {
		t.Errorf("late check = %+v", lc)
	}
	// Still missing a period later: one more late check, not one per tick.
	clk.Add(60 * time.Second)
	c.poke()
	eventually(t, 3*time.Second, "second late check", func() bool {
		cs, _ := st.ListChecks(ctx, m.ID, 0)
		return len(cs) == 3
	})

	// A run that starts and succeeds records its duration and recovers.
	if _, err := c.Push(ctx, Ping{Token: "secret-token", Kind: PingStart}); err != nil {
		t.Fatal(err)
	}
	clk.Add(12 * time.Second)
	if _, err := c.Push(ctx, Ping{Token: "secret-token", Kind: PingSuccess}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "up after the run", func() bool { return status(t, st, m.ID).State.Status == store.StatusUp })
	if lc := status(t, st, m.ID).LastCheck; lc.Latency != 12*time.Second || lc.Detail != "run took 12.0 s" {
		t.Errorf("run check = %+v", lc)
	}

	// A non-zero exit code is a failure with the body kept for the incident.
	clk.Add(time.Second)
	if _, err := c.Push(ctx, Ping{Token: "secret-token", Kind: PingSuccess, ExitCode: 3, Body: "disk full"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "down on exit 3", func() bool { return status(t, st, m.ID).State.Status == store.StatusDown })
	incs, err := st.ListIncidents(ctx, u.ID, store.IncidentFilter{MonitorID: m.ID, Status: "open"})
	if err != nil || len(incs) != 1 || incs[0].Reason != "fail" || incs[0].Error != "the job exited with code 3" || incs[0].Excerpt != "disk full" {
		t.Errorf("incident = %+v, %v", incs, err)
	}

	// A start without a success within the grace times out.
	clk.Add(time.Second)
	if _, err := c.Push(ctx, Ping{Token: "secret-token", Kind: PingSuccess}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "up", func() bool { return status(t, st, m.ID).State.Status == store.StatusUp })
	clk.Add(time.Second)
	if _, err := c.Push(ctx, Ping{Token: "secret-token", Kind: PingStart}); err != nil {
		t.Fatal(err)
	}
	clk.Add(31 * time.Second)
	c.poke()
	eventually(t, 3*time.Second, "down on a run that never ends", func() bool {
		m := status(t, st, m.ID)
		return m.State.Status == store.StatusDown && m.LastCheck.Reason == "timeout"
	})
	k := deliveryKinds(t, st, u, ch)
	want := []string{"down", "up", "down", "up", "down"}
	if len(k) != len(want) {
		t.Errorf("deliveries %v, want %v", k, want)
	}
}

// A restart does not forgive a missed run: deadlines are rebuilt from the
// newest stored check.
func TestPushDeadlinesRebuiltAtStart(t *testing.T) {
	b := testredis.Mini(t)
	st, u := openStore(t)
	ctx := context.Background()
	m, err := st.CreateMonitor(ctx, store.Monitor{
		UserID: u.ID, Name: "backup", Type: TypePush, Settings: json.RawMessage(`{"period_seconds":3600,"grace_seconds":600}`),
		Interval: time.Minute, Timeout: time.Second, Confirmations: 1, PushToken: "restart-token",
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	// The last ping was two hours ago, while the server was down.
	err = st.SaveChecks(ctx, []store.Check{{MonitorID: m.ID, Region: LocalRegion, At: now.Add(-2 * time.Hour), OK: true}},
		[]store.StateUpdate{{MonitorID: m.ID, State: store.MonitorState{Status: store.StatusUp, Since: now.Add(-2 * time.Hour)}}})
	if err != nil {
		t.Fatal(err)
	}
	c := New(st, NewQueue(b.Client), Config{LocalWorkers: 1, Logger: quietLogger(), Now: func() time.Time { return now }})
	startChecker(t, c)
	eventually(t, 3*time.Second, "late right after the start", func() bool {
		m := status(t, st, m.ID)
		return m.State.Status == store.StatusDown && m.LastCheck.Reason == "late"
	})
	// Its time is when the run was due (last ping + period + grace), not now.
	if lc := status(t, st, m.ID).LastCheck; !lc.At.Equal(now.Add(-2 * time.Hour).Add(70 * time.Minute).UTC()) {
		t.Errorf("late check at %v, want the deadline %v", lc.At, now.Add(-50*time.Minute))
	}
}

// Runs missed while the server was stopped make one late check, not one
// per missed run.
func TestPushOverdueSkipsMissedRuns(t *testing.T) {
	b := newPushBook()
	sched, err := parsePushSchedule(json.RawMessage(`{"period_seconds":60,"grace_seconds":0}`))
	if err != nil {
		t.Fatal(err)
	}
	now := t0.Add(365 * 24 * time.Hour)
	m := &pushMon{id: 1, active: true, sched: sched, late: t0, index: -1}
	b.byID[1] = m
	b.fix(m)
	if got := b.overdue(now); len(got) != 1 || got[0].Outcome.Reason != "late" {
		t.Fatalf("overdue after a year away = %d results, want 1 late", len(got))
	}
	if !m.late.After(now) || m.late.After(now.Add(time.Minute)) {
		t.Errorf("next deadline %v, want the first one after %v", m.late, now)
	}
	if got := b.overdue(now); len(got) != 0 {
		t.Errorf("a second pass found %d more", len(got))
	}
}

// Every reason a kind may report has a human label in the one table.
func TestTypeReasonsHaveLabels(t *testing.T) {
	for _, typ := range Types() {
		if typ.Label == "" || typ.Help == "" {
			t.Errorf("type %s has no label or help", typ.Name)
		}
		for _, code := range typ.Reasons {
			if reason.Label(code) == code {
				t.Errorf("type %s: reason %q has no label in package reason", typ.Name, code)
			}
		}
		for _, f := range typ.Fields {
			if f.Label == "" {
				t.Errorf("type %s: field %s has no label", typ.Name, f.Name)
			}
		}
	}
}

// settingsCase is one input to a kind's validator: want is the normalised
// settings, or "" when field must be the one field at fault.
type settingsCase struct {
	name, in string
	want     string
	field    string
}

func runSettingsCases(t *testing.T, typ string, cases []settingsCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := ValidateSettings(typ, json.RawMessage(tt.in))
			if tt.want != "" {
				if len(errs) > 0 || string(got) != tt.want {
					t.Fatalf("got %s, %v; want %s", got, errs, tt.want)
				}
				return
			}
			if len(errs) != 1 || errs[0].Field != tt.field {
				t.Fatalf("errors %v, want one for %q", errs, tt.field)
			}
		})
	}
}
