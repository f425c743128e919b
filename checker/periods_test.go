package checker

import (
	"context"
	"testing"
	"time"

	"github.com/upwatch/upwatch/internal/testredis"
	"github.com/upwatch/upwatch/store"
)

// confirm_seconds: DOWN only once failing for that long (the incident
// still starts at the first failure); recover_seconds: resolved only once
// passing for that long.
func TestConfirmAndRecoverPeriods(t *testing.T) {
	b := testredis.Mini(t)
	st, u := openStore(t)
	ctx := context.Background()
	m, err := st.CreateMonitor(ctx, store.Monitor{
		UserID: u.ID, Name: "api", URL: "http://127.0.0.1:1/", Method: "GET", Interval: 10 * time.Second,
		Timeout: time.Second, ExpectedStatus: "200-299", Confirmations: 1, Regions: []string{"eu"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetPeriods(ctx, u.ID, m.ID, store.Periods{Confirm: 25 * time.Second, Recover: 25 * time.Second}); err != nil {
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
	sent := 0
	var firstFail time.Time
	send := func(ok bool) string {
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
			if firstFail.IsZero() {
				firstFail = time.UnixMilli(last.Job.Due).UTC()
			}
		}
		if err := q.Complete(ctx, "eu", []Result{{MonitorID: m.ID, Region: "eu", Due: last.Job.Due, Outcome: o}}, nil); err != nil {
			t.Fatal(err)
		}
		sent++
		eventually(t, 3*time.Second, "stored", func() bool {
			cs, _ := st.ListChecks(ctx, m.ID, 0)
			return len(cs) == sent
		})
		return status(t, st, m.ID).State.Status
	}
	if s := send(true); s != store.StatusUp {
		t.Fatalf("first: %s", s)
	}
	var got []string
	for range 4 {
		got = append(got, send(false))
	}
	if got[0] != "up" || got[1] != "up" || got[2] != "up" || got[3] != "down" {
		t.Fatalf("failing every 10 s with confirm_seconds 25: %v", got)
	}
	incs, _ := st.ListIncidents(ctx, u.ID, store.IncidentFilter{MonitorID: m.ID})
	if len(incs) != 1 || !incs[0].StartedAt.Equal(firstFail) {
		t.Fatalf("incidents %+v, want one from %v", incs, firstFail)
	}
	got = nil
	for range 4 {
		got = append(got, send(true))
	}
	if got[0] != "down" || got[1] != "down" || got[2] != "down" || got[3] != "up" {
		t.Fatalf("passing every 10 s with recover_seconds 25: %v", got)
	}
	// A failure while recovering starts the recovery period again.
	for range 4 {
		send(false)
	}
	got = nil
	for _, ok := range []bool{true, true, false, true, true, true, true} {
		got = append(got, send(ok))
	}
	if want := []string{"down", "down", "down", "down", "down", "down", "up"}; !equalStrings(got, want) {
		t.Errorf("interrupted recovery: %v, want %v", got, want)
	}
}

func equalStrings(a, b []string) bool {
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
