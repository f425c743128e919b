package checker

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/upwatch/upwatch/internal/testredis"
	"github.com/upwatch/upwatch/store"
)

// More than the limit of changes within the window: one "flapping" alert
// instead of one per flip, then one summary as it settles.
func TestFlappingAlertsOnceThenSummarises(t *testing.T) {
	b := testredis.Mini(t)
	st, u := openStore(t)
	ctx := context.Background()
	m, err := st.CreateMonitor(ctx, store.Monitor{
		UserID: u.ID, Name: "wifi", URL: "http://127.0.0.1:1/", Method: "GET", Interval: 10 * time.Second,
		Timeout: time.Second, ExpectedStatus: "200-299", Confirmations: 1, Regions: []string{"eu"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetFlapSettings(ctx, u.ID, m.ID, store.FlapSettings{Changes: 3, Window: 30 * time.Minute}); err != nil {
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
	sent := 0
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
		if err := q.Complete(ctx, "eu", []Result{{MonitorID: m.ID, Region: "eu", Due: last.Job.Due, Outcome: o}}, nil); err != nil {
			t.Fatal(err)
		}
		sent++
		eventually(t, 3*time.Second, "stored", func() bool {
			cs, _ := st.ListChecks(ctx, m.ID, 0)
			return len(cs) == sent
		})
	}
	kinds := func() string {
		ds, _ := st.ListDeliveries(ctx, u.ID, ch.ID, 0)
		var out []string
		for i := len(ds) - 1; i >= 0; i-- {
			out = append(out, ds[i].Kind)
		}
		return fmt.Sprint(out)
	}
	send(true)
	// Four changes (more than 3): down, up, down alert as usual, the
	// fourth is "flapping"; the flips after it send nothing.
	for i := range 10 {
		send(i%2 == 1)
	}
	if got := status(t, st, m.ID).State.Status; got != store.StatusFlapping {
		t.Fatalf("status %s, want flapping", got)
	}
	if k := kinds(); k != "[down up down flapping]" {
		t.Fatalf("alerts while flapping: %s", k)
	}
	send(true)
	// Held for a third of the window: settled, with a summary.
	clk.Add(10 * time.Minute)
	for range 2 {
		if err := c.flapSweep(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := status(t, st, m.ID).State.Status; got != store.StatusUp {
		t.Fatalf("status %s after settling, want up", got)
	}
	if k := kinds(); k != "[down up down flapping flapping_end]" {
		t.Fatalf("alerts: %s", k)
	}
	ds, _ := st.ListDeliveries(ctx, u.ID, ch.ID, 1)
	var ev store.AlertEvent
	if err := json.Unmarshal(ds[0].Event, &ev); err != nil || ev.From != store.StatusUp || ev.Changes < 6 {
		t.Errorf("summary %+v, %v", ev, err)
	}
	// Calm again: a later outage alerts as usual.
	send(false)
	if k := kinds(); k != "[down up down flapping flapping_end down]" {
		t.Errorf("after settling: %s", k)
	}
}
