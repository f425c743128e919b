package checker

import (
	"context"
	"testing"
	"time"

	"github.com/upwatch/upwatch/internal/testredis"
	"github.com/upwatch/upwatch/store"
)

func TestQuorumOf(t *testing.T) {
	for _, c := range []struct{ q, n, want int }{
		{0, 1, 1}, {0, 2, 2}, {0, 3, 2}, {0, 4, 3}, {1, 3, 1}, {3, 3, 3}, {4, 3, 2}, {-1, 5, 3},
	} {
		if got := quorumOf(c.q, c.n); got != c.want {
			t.Errorf("quorumOf(%d, %d) = %d, want %d", c.q, c.n, got, c.want)
		}
	}
}

// Results from two regions drive one monitor: one region failing is not
// an outage with quorum 2, both are; a region that stops reporting is
// unknown and counts for nothing.
func TestRegionsQuorum(t *testing.T) {
	b := testredis.Mini(t)
	st, u := openStore(t)
	ctx := context.Background()
	m, err := st.CreateMonitor(ctx, store.Monitor{
		UserID: u.ID, Name: "site", URL: "http://127.0.0.1:1/", Method: "GET", Interval: 10 * time.Second,
		Timeout: time.Second, ExpectedStatus: "200-299", Confirmations: 1, Regions: []string{"eu", "us"}, Quorum: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	clk := &stepClock{t: time.Now().Truncate(time.Second)}
	q := NewQueue(b.Client)
	c := New(st, q, Config{LocalWorkers: -1, Logger: quietLogger(), Now: clk.Now})
	startChecker(t, c)
	eventually(t, 3*time.Second, "monitor loaded", func() bool { return len(c.RegionStates(m.ID)) == 2 })

	if err := q.Setup(ctx, "eu", "us"); err != nil {
		t.Fatal(err)
	}
	// Each round moves the clock one interval on, so the scheduler sends
	// a job to each region; send answers the region's job as a worker
	// there would.
	var due time.Time
	round := func() {
		clk.Add(10 * time.Second)
		c.poke()
	}
	send := func(region string, ok bool) {
		t.Helper()
		msgs, err := q.ReadJobs(ctx, region, "test-worker", 1, 3*time.Second)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("no job for %s: %v", region, err)
		}
		due = time.UnixMilli(msgs[0].Job.Due)
		o := Outcome{OK: ok, Latency: time.Millisecond}
		if !ok {
			o.Reason, o.Error = "refused", "connection refused"
		}
		res := []Result{{MonitorID: m.ID, Region: region, Due: msgs[0].Job.Due, Outcome: o}}
		if err := q.Complete(ctx, region, res, []string{msgs[0].ID}); err != nil {
			t.Fatal(err)
		}
	}
	statusIs := func(what, want string) {
		t.Helper()
		eventually(t, 3*time.Second, what, func() bool { return status(t, st, m.ID).State.Status == want })
	}

	round()
	send("eu", true)
	send("us", true)
	statusIs("up from both", store.StatusUp)

	round()
	send("eu", false)
	send("us", true)
	statusIs("one region down is degraded, not down", store.StatusDegraded)
	if got := status(t, st, m.ID); got.LastCheck == nil {
		t.Fatal("no last check")
	}
	incs, _ := st.ListIncidents(ctx, u.ID, store.IncidentFilter{MonitorID: m.ID, Status: "open"})
	if len(incs) != 0 {
		t.Fatalf("an incident opened with one region of two down: %+v", incs)
	}

	round()
	send("eu", false)
	send("us", false)
	statusIs("both regions down is down", store.StatusDown)
	incs, _ = st.ListIncidents(ctx, u.ID, store.IncidentFilter{MonitorID: m.ID, Status: "open"})
	if len(incs) != 1 {
		t.Fatalf("incidents = %+v", incs)
	}
	// Down since the quorum was reached: when the second region went down.
	if !incs[0].StartedAt.Equal(due.UTC().Truncate(time.Millisecond)) {
		t.Errorf("incident starts %v, want %v", incs[0].StartedAt, due)
	}

	// us recovers; eu goes silent (its workers are gone). Once eu's last
	// result is stale it is unknown: the monitor is up on us alone.
	round()
	send("us", true)
	statusIs("degraded while eu still says down", store.StatusDegraded)
	clk.Add(staleAfter(10*time.Second, time.Second))
	round()
	for {
		// Skip the jobs us was sent while eu was going stale.
		msgs, err := q.ReadJobs(ctx, "us", "test-worker", 10, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			break
		}
		last := msgs[len(msgs)-1]
		res := []Result{{MonitorID: m.ID, Region: "us", Due: last.Job.Due, Outcome: Outcome{OK: true}}}
		if err := q.Complete(ctx, "us", res, nil); err != nil {
			t.Fatal(err)
		}
	}
	statusIs("up once silent eu is unknown", store.StatusUp)
	rs := c.RegionStates(m.ID)
	if len(rs) != 2 || rs[0].Region != "eu" || rs[0].Status != "unknown" || rs[1].Status != store.StatusUp {
		t.Errorf("region states = %+v", rs)
	}

	// Results for jobs never issued — another region, a made-up time, a
	// replay, a time in the future — are refused and counted.
	before := c.Stats().NotIssued
	now := clk.Now()
	forged := []Result{
		{MonitorID: m.ID, Region: "ap", Due: now.UnixMilli(), Outcome: Outcome{}},
		{MonitorID: m.ID, Region: "us", Due: now.Add(-3 * time.Second).UnixMilli(), Outcome: Outcome{}},
		{MonitorID: m.ID, Region: "us", Due: due.UnixMilli(), Outcome: Outcome{}},
		{MonitorID: m.ID, Region: "us", Due: now.Add(time.Hour).UnixMilli(), Outcome: Outcome{}},
	}
	if err := q.Complete(ctx, "us", forged, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "forged results counted", func() bool {
		s := c.Stats()
		return s.NotIssued-before == 3 && s.Future == 1
	})
	if s := status(t, st, m.ID).State.Status; s != store.StatusUp {
		t.Errorf("forged failures moved the monitor to %s", s)
	}
}

// The scheduler sends one job per region per slot.
func TestScheduleOneJobPerRegion(t *testing.T) {
	s := newSchedule()
	s.put(Spec{MonitorID: 1}, []string{"eu", "us", "local"}, time.Minute, t0)
	jobs := s.due(t0, 0, nil)
	if len(jobs) != 3 || jobs[0].Region != "eu" || jobs[1].Region != "us" || jobs[2].Region != "local" || jobs[0].Due != jobs[2].Due {
		t.Fatalf("jobs = %+v", jobs)
	}
}

// A monitor whose regions all stay silent becomes unknown — no incident,
// no alert — and Health says so; a result brings it back.
func TestNoDataIsUnknown(t *testing.T) {
	b := testredis.Mini(t)
	st, u := openStore(t)
	ctx := context.Background()
	ch, err := st.CreateChannel(ctx, store.Channel{UserID: u.ID, Name: "hook", Type: "webhook", Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.CreateMonitor(ctx, store.Monitor{
		UserID: u.ID, Name: "site", URL: "http://127.0.0.1:1/", Method: "GET", Interval: 10 * time.Second,
		Timeout: time.Second, ExpectedStatus: "200-299", Confirmations: 1, Regions: []string{"eu"}, Channels: []int64{ch.ID},
	})
	if err != nil {
		t.Fatal(err)
	}
	clk := &stepClock{t: time.Now().Truncate(time.Second)}
	q := NewQueue(b.Client)
	c := New(st, q, Config{LocalWorkers: -1, Logger: quietLogger(), Now: clk.Now})
	startChecker(t, c)
	eventually(t, 3*time.Second, "monitor loaded", func() bool { return len(c.RegionStates(m.ID)) == 1 })
	clk.Add(staleAfter(10*time.Second, time.Second) + time.Second)
	eventually(t, 6*time.Second, "unknown without data", func() bool { return status(t, st, m.ID).State.Status == StatusUnknown })
	h := c.Health()
	if h.Monitors != 1 || h.NoData != 1 || h.Regions["eu"] != 1 {
		t.Errorf("health = %+v", h)
	}
	tr, err := st.Transitions(ctx, m.ID, 1)
	if err != nil || len(tr) != 1 || tr[0].Reason != "no_data" || tr[0].To != StatusUnknown {
		t.Errorf("transition = %+v, %v", tr, err)
	}
	incs, _ := st.ListIncidents(ctx, u.ID, store.IncidentFilter{MonitorID: m.ID})
	if len(incs) != 0 || len(deliveryKinds(t, st, u, ch)) != 0 {
		t.Errorf("no data opened an incident or alerted: %+v", incs)
	}

	// A worker for eu appears: its result brings the monitor back.
	if err := q.Setup(ctx, "eu"); err != nil {
		t.Fatal(err)
	}
	c.poke()
	msgs, err := q.ReadJobs(ctx, "eu", "late-worker", 1, 3*time.Second)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("no job for eu: %v", err)
	}
	res := []Result{{MonitorID: m.ID, Region: "eu", Due: msgs[0].Job.Due, Outcome: Outcome{OK: true}}}
	if err := q.Complete(ctx, "eu", res, []string{msgs[0].ID}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "up again", func() bool { return status(t, st, m.ID).State.Status == store.StatusUp })
}

// A job no result answered by long after its slot counts as missed, per
// region and in Health; answered ones do not.
func TestMissedChecksCounted(t *testing.T) {
	st, u := openStore(t)
	ctx := context.Background()
	m, err := st.CreateMonitor(ctx, store.Monitor{
		UserID: u.ID, Name: "site", URL: "http://127.0.0.1:1/", Method: "GET", Interval: time.Second,
		Timeout: time.Second, ExpectedStatus: "200-299", Confirmations: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := New(st, NewQueue(testredis.Mini(t).Client), Config{LocalWorkers: -1, Logger: quietLogger()})
	c.mu.Lock()
	c.putLocked(m, time.Now())
	ms := c.states[m.ID]
	t1 := time.Now()
	c.issueLocked(ms, LocalRegion, 1000, 1, t1)
	c.issueLocked(ms, LocalRegion, 2000, 2, t1.Add(time.Second))
	// The second is answered.
	rs := ms.regions[0]
	if _, ok := c.answerLocked(&rs, Result{MonitorID: m.ID, Region: LocalRegion, Due: 2000, Run: c.run, Seq: 2}, t1.Add(2*time.Second)); !ok {
		t.Fatal("the answer to an issued job was refused")
	}
	ms.regions[0] = rs
	// Much later, the next job prunes the first: never answered.
	c.issueLocked(ms, LocalRegion, 90_000, 3, t1.Add(90*time.Second))
	c.mu.Unlock()

	if rs := c.RegionStates(m.ID); len(rs) != 1 || rs[0].Missed != 1 {
		t.Fatalf("region states = %+v, want 1 missed", rs)
	}
	if err := c.sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if h := c.Health(); h.Missed != 1 || h.MissedRecent != 1 {
		t.Errorf("health = %+v, want 1 missed, recently", h)
	}
}
