package checker

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/upwatch/upwatch/internal/testredis"
	"github.com/upwatch/upwatch/store"
)

func mustCompile(t *testing.T, m store.Maintenance) *MaintenanceWindow {
	t.Helper()
	_, w, field, msg := CompileMaintenance(m)
	if w == nil {
		t.Fatalf("%+v: %s %s", m, field, msg)
	}
	return w
}

// A recurring window keeps its wall-clock time in its zone across both
// daylight-saving changes of Europe/Berlin (2026-03-29 and 2026-10-25).
func TestMaintenanceRecurringAcrossDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	weekly := store.Maintenance{Kind: store.MaintenanceWeekly, Days: []string{"Sun"}, StartTime: "01:00", EndTime: "05:00", TimeZone: "Europe/Berlin"}
	cronForm := store.Maintenance{Kind: store.MaintenanceCron, Cron: "0 1 * * sun", Duration: 4 * time.Hour, TimeZone: "Europe/Berlin"}
	for name, m := range map[string]store.Maintenance{"weekly": weekly, "cron": cronForm} {
		w := mustCompile(t, m)
		for _, day := range []string{"2026-03-22", "2026-03-29", "2026-04-05", "2026-10-18", "2026-10-25", "2026-11-01"} {
			d, _ := time.ParseInLocation("2006-01-02", day, berlin)
			start := time.Date(d.Year(), d.Month(), d.Day(), 1, 0, 0, 0, berlin)
			end := time.Date(d.Year(), d.Month(), d.Day(), 5, 0, 0, 0, berlin)
			for _, tc := range []struct {
				at   time.Time
				want bool
			}{
				{start.Add(-time.Second), false}, {start, true}, {end.Add(-time.Second), true}, {end, false},
			} {
				// Looked up cold and through the cache alike.
				in, since := mustCompile(t, m).At(tc.at)
				in2, _ := w.At(tc.at)
				if in != tc.want || in2 != tc.want || in && !since.Equal(start) {
					t.Errorf("%s %s: At(%v) = %v (cached %v) since %v, want %v since %v", name, day,
						tc.at.In(berlin), in, in2, since.In(berlin), tc.want, start)
				}
			}
		}
	}
	// 01:00–05:00 lasts 3 real hours the night clocks go forward, 5 the
	// night they go back.
	w := mustCompile(t, weekly)
	if s, e, ok := w.Occurrence(time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC)); !ok || e.Sub(s) != 3*time.Hour {
		t.Errorf("spring occurrence %v–%v (%v)", s, e, ok)
	}
	if s, e, ok := w.Occurrence(time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC)); !ok || e.Sub(s) != 5*time.Hour {
		t.Errorf("autumn occurrence %v–%v (%v)", s, e, ok)
	}
}

func TestCompileMaintenanceRefuses(t *testing.T) {
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		m     store.Maintenance
		field string
	}{
		{store.Maintenance{Kind: store.MaintenanceOnce, EndsAt: at}, "starts_at"},
		{store.Maintenance{Kind: store.MaintenanceOnce, StartsAt: at, EndsAt: at}, "ends_at"},
		{store.Maintenance{Kind: store.MaintenanceWeekly, Days: []string{"moon"}, StartTime: "01:00", EndTime: "02:00"}, "days"},
		{store.Maintenance{Kind: store.MaintenanceWeekly, Days: []string{"mon"}, StartTime: "25:00", EndTime: "02:00"}, "start_time"},
		{store.Maintenance{Kind: store.MaintenanceCron, Cron: "0 1 * *", Duration: time.Hour}, "cron"},
		{store.Maintenance{Kind: store.MaintenanceCron, Cron: "0 1 * * *"}, "duration_seconds"},
		{store.Maintenance{Kind: store.MaintenanceOnce, StartsAt: at, EndsAt: at.Add(time.Hour), TimeZone: "Mars/Base"}, "timezone"},
		{store.Maintenance{Kind: "sometimes"}, "kind"},
	} {
		if _, w, field, _ := CompileMaintenance(tc.m); w != nil || field != tc.field {
			t.Errorf("%+v: field %q, want %q", tc.m, field, tc.field)
		}
	}
}

// During a window checks go on and are marked, the monitor shows
// maintenance, no incident opens and no alert is queued; a monitor still
// down when the window ends is one DOWN alert then, not a replay.
func TestMaintenanceMutesAlerts(t *testing.T) {
	b := testredis.Mini(t)
	st, u := openStore(t)
	ctx := context.Background()
	m, err := st.CreateMonitor(ctx, store.Monitor{
		UserID: u.ID, Name: "site", URL: "http://127.0.0.1:1/", Method: "GET", Interval: 10 * time.Second,
		Timeout: time.Second, ExpectedStatus: "200-299", Confirmations: 1, Regions: []string{"eu"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := st.CreateChannel(ctx, store.Channel{UserID: u.ID, Name: "hook", Type: "webhook",
		Settings: []byte(`{"url":"http://127.0.0.1:1/"}`), Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetMonitorChannels(ctx, u.ID, m.ID, []int64{ch.ID}); err != nil {
		t.Fatal(err)
	}
	clk := &stepClock{t: time.Now().Truncate(time.Second)}
	q := NewQueue(b.Client)
	c := New(st, q, Config{LocalWorkers: -1, Logger: quietLogger(), Now: clk.Now, RetryDelay: 10 * time.Second})
	startChecker(t, c)
	eventually(t, 3*time.Second, "monitor loaded", func() bool { return len(c.RegionStates(m.ID)) == 1 })
	if err := q.Setup(ctx, "eu"); err != nil {
		t.Fatal(err)
	}
	send := func(ok bool) {
		t.Helper()
		clk.Add(10 * time.Second)
		c.poke()
		msgs, err := q.ReadJobs(ctx, "eu", "test-worker", 10, 3*time.Second)
		if err != nil || len(msgs) == 0 {
			t.Fatalf("no job: %v", err)
		}
		last := msgs[len(msgs)-1]
		o := Outcome{OK: ok, Latency: time.Millisecond}
		if !ok {
			o.Reason, o.Error = "refused", "connection refused"
		}
		res := []Result{{MonitorID: m.ID, Region: "eu", Due: last.Job.Due, Outcome: o}}
		if err := q.Complete(ctx, "eu", res, nil); err != nil {
			t.Fatal(err)
		}
	}
	statusIs := func(what, want string) {
		t.Helper()
		eventually(t, 3*time.Second, what, func() bool { return status(t, st, m.ID).State.Status == want })
	}
	send(true)
	statusIs("up", store.StatusUp)

	// Checks are labelled with their slot, a little before the clock.
	wStart := clk.Now().Add(time.Second)
	wEnd := wStart.Add(time.Minute)
	if _, err := st.CreateMaintenance(ctx, store.Maintenance{UserID: u.ID, Title: "reboot", Kind: store.MaintenanceOnce,
		StartsAt: wStart, EndsAt: wEnd, TimeZone: "UTC", Monitors: []int64{m.ID}}); err != nil {
		t.Fatal(err)
	}
	if err := c.ReloadMaintenance(ctx); err != nil {
		t.Fatal(err)
	}
	if s := status(t, st, m.ID).State.Status; s != store.StatusUp {
		t.Fatalf("before the window: %s", s)
	}
	clk.Add(time.Second) // the window begins: the sweep moves it without a result
	if err := c.maintenanceSweep(ctx); err != nil {
		t.Fatal(err)
	}
	if got := status(t, st, m.ID).State; got.Status != store.StatusMaintenance || !got.Since.Equal(wStart.UTC()) {
		t.Fatalf("in the window: %+v, want maintenance since %v", got, wStart)
	}
	for range 3 {
		send(false)
	}
	eventually(t, 3*time.Second, "failures stored", func() bool {
		cs, _ := st.ListChecks(ctx, m.ID, 0)
		return len(cs) == 4
	})
	if got := status(t, st, m.ID).State.Status; got != store.StatusMaintenance {
		t.Fatalf("failing inside the window: %s", got)
	}
	incs, _ := st.ListIncidents(ctx, u.ID, store.IncidentFilter{MonitorID: m.ID})
	ds, _ := st.ListDeliveries(ctx, u.ID, ch.ID, 0)
	if len(incs) != 0 || len(ds) != 0 {
		t.Fatalf("inside the window: incidents %+v, deliveries %+v", incs, ds)
	}
	up, err := st.Uptime(ctx, []int64{m.ID}, wStart.Add(-time.Hour), wEnd.Add(time.Hour))
	if err != nil || up[m.ID] != (store.Uptime{Up: 1}) {
		t.Errorf("uptime %+v, %v: the window's failures should be left out", up[m.ID], err)
	}

	clk.Add(wEnd.Sub(clk.Now())) // still failing as the window ends: one DOWN, now
	if err := c.maintenanceSweep(ctx); err != nil {
		t.Fatal(err)
	}
	got := status(t, st, m.ID).State
	if got.Status != store.StatusDown || !got.Since.Equal(wEnd.UTC()) {
		t.Fatalf("after the window: %+v, want down since %v", got, wEnd)
	}
	send(false)
	eventually(t, 3*time.Second, "a failure after the window stored", func() bool {
		cs, _ := st.ListChecks(ctx, m.ID, 0)
		return len(cs) == 5
	})
	incs, _ = st.ListIncidents(ctx, u.ID, store.IncidentFilter{MonitorID: m.ID})
	ds, _ = st.ListDeliveries(ctx, u.ID, ch.ID, 0)
	if len(incs) != 1 || !incs[0].StartedAt.Equal(wEnd.UTC()) || len(ds) != 1 || ds[0].Kind != "down" {
		t.Fatalf("after the window: incidents %+v, deliveries %+v; want one incident from the end and one DOWN", incs, ds)
	}
	if err := c.maintenanceSweep(ctx); err != nil { // nothing more to do
		t.Fatal(err)
	}
	if ds, _ = st.ListDeliveries(ctx, u.ID, ch.ID, 0); len(ds) != 1 {
		t.Errorf("deliveries %+v, want still one", ds)
	}
}

// A window that asks for it tells the monitor's channels when it starts
// and when it ends, once each however often the sweep runs.
func TestMaintenanceNotifiesStartAndEnd(t *testing.T) {
	st, u := openStore(t)
	ctx := context.Background()
	m := addMonitor(t, st, u, "nas", "http://127.0.0.1:1/", time.Hour, time.Second, 1)
	ch, err := st.CreateChannel(ctx, store.Channel{UserID: u.ID, Name: "hook", Type: "webhook",
		Settings: []byte(`{"url":"http://127.0.0.1:1/"}`), Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetMonitorChannels(ctx, u.ID, m.ID, []int64{ch.ID}); err != nil {
		t.Fatal(err)
	}
	clk := &stepClock{t: time.Now().Truncate(time.Second)}
	c := New(st, NewQueue(testredis.Mini(t).Client), Config{LocalWorkers: -1, Logger: quietLogger(), Now: clk.Now})
	startChecker(t, c)
	eventually(t, 3*time.Second, "monitor loaded", func() bool { return len(c.RegionStates(m.ID)) == 1 })
	start := clk.Now().Add(time.Minute)
	if _, err := st.CreateMaintenance(ctx, store.Maintenance{UserID: u.ID, Title: "disk swap", Kind: store.MaintenanceOnce,
		StartsAt: start, EndsAt: start.Add(time.Hour), TimeZone: "UTC", Notify: true, Monitors: []int64{m.ID}}); err != nil {
		t.Fatal(err)
	}
	if err := c.ReloadMaintenance(ctx); err != nil {
		t.Fatal(err)
	}
	kinds := func() []string {
		ds, err := st.ListDeliveries(ctx, u.ID, ch.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i := len(ds) - 1; i >= 0; i-- {
			out = append(out, ds[i].Kind)
		}
		return out
	}
	for _, step := range []struct {
		at   time.Time
		want string
	}{{start, "maintenance_start"}, {start.Add(time.Hour), "maintenance_end"}} {
		clk.Add(step.at.Sub(clk.Now()))
		for range 2 {
			if err := c.maintenanceSweep(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got := kinds(); len(got) == 0 || got[len(got)-1] != step.want {
			t.Fatalf("deliveries %v, want %s last", got, step.want)
		}
	}
	if got := kinds(); len(got) != 2 {
		t.Errorf("deliveries %v, want a start and an end", got)
	}
	ds, _ := st.ListDeliveries(ctx, u.ID, ch.ID, 0)
	var ev store.AlertEvent
	if err := json.Unmarshal(ds[0].Event, &ev); err != nil || ev.Window != "disk swap" || ev.DurationMS != time.Hour.Milliseconds() {
		t.Errorf("end event %+v, %v", ev, err)
	}
}
