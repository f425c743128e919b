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

	due := clk.Now()
	send := func(region string, ok bool) {
		t.Helper()
		o := Outcome{OK: ok, Latency: time.Millisecond}
		if !ok {
			o.Reason, o.Error = "refused", "connection refused"
		}
		if err := q.Complete(ctx, region, []Result{{MonitorID: m.ID, Region: region, Due: due.UnixMilli(), Outcome: o}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	statusIs := func(what, want string) {
		t.Helper()
		eventually(t, 3*time.Second, what, func() bool { return status(t, st, m.ID).State.Status == want })
	}

	send("eu", true)
	send("us", true)
	statusIs("up from both", store.StatusUp)

	due = due.Add(10 * time.Second)
	clk.Add(10 * time.Second)
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

	due = due.Add(10 * time.Second)
	clk.Add(10 * time.Second)
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
	due = due.Add(10 * time.Second)
	clk.Add(10 * time.Second)
	send("us", true)
	statusIs("degraded while eu still says down", store.StatusDegraded)
	clk.Add(staleAfter(10*time.Second, time.Second))
	due = due.Add(staleAfter(10*time.Second, time.Second))
	send("us", true)
	statusIs("up once silent eu is unknown", store.StatusUp)
	rs := c.RegionStates(m.ID)
	if len(rs) != 2 || rs[0].Region != "eu" || rs[0].Status != "unknown" || rs[1].Status != store.StatusUp {
		t.Errorf("region states = %+v", rs)
	}

	// A result from a region the monitor does not use moves nothing.
	due = due.Add(10 * time.Second)
	send("ap", false)
	time.Sleep(200 * time.Millisecond)
	if s := status(t, st, m.ID).State.Status; s != store.StatusUp {
		t.Errorf("a result from region ap moved the monitor to %s", s)
	}
}

// The scheduler sends one job per region per slot.
func TestScheduleOneJobPerRegion(t *testing.T) {
	s := newSchedule()
	s.put(Spec{MonitorID: 1}, []string{"eu", "us", "local"}, time.Minute, t0)
	jobs := s.due(t0, nil)
	if len(jobs) != 3 || jobs[0].Region != "eu" || jobs[1].Region != "us" || jobs[2].Region != "local" || jobs[0].Due != jobs[2].Due {
		t.Fatalf("jobs = %+v", jobs)
	}
}
