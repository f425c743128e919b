package checker

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/upwatch/upwatch/internal/testredis"
)

func TestQueueJobsAndResults(t *testing.T) {
	testredis.Each(t, func(t *testing.T, b testredis.Backend) {
		ctx := context.Background()
		q := NewQueue(b.Client)
		if err := q.Setup(ctx, "local"); err != nil {
			t.Fatal(err)
		}
		if err := q.Setup(ctx, "local"); err != nil { // idempotent
			t.Fatalf("second setup: %v", err)
		}
		jobs := make([]Job, 250)
		for i := range jobs {
			jobs[i] = Job{Spec: Spec{MonitorID: int64(i + 1), URL: fmt.Sprintf("http://127.0.0.1/%d", i)}, Region: "local", Due: int64(1000 + i), Expires: 9e12}
		}
		if err := q.PublishJobs(ctx, jobs); err != nil {
			t.Fatal(err)
		}
		var got []JobMsg
		for len(got) < len(jobs) {
			msgs, err := q.ReadJobs(ctx, "local", "w1", 100, 10*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) == 0 {
				t.Fatalf("read stalled at %d of %d jobs", len(got), len(jobs))
			}
			if len(msgs) > 100 {
				t.Fatalf("read %d jobs, asked for at most 100", len(msgs))
			}
			got = append(got, msgs...)
		}
		for i, m := range got {
			if m.Err != nil || m.Job.Spec.MonitorID != int64(i+1) || m.Job.Due != int64(1000+i) {
				t.Fatalf("job %d decoded as %+v (err %v)", i, m.Job, m.Err)
			}
		}
		// Nothing new is left; a read with a short block returns empty.
		if msgs, err := q.ReadJobs(ctx, "local", "w1", 10, 10*time.Millisecond); err != nil || len(msgs) != 0 {
			t.Fatalf("expected no more jobs, got %d (%v)", len(msgs), err)
		}

		// Complete half; the other half stays pending and another worker
		// claims it once idle.
		var results []Result
		var acks []string
		for _, m := range got[:125] {
			acks = append(acks, m.ID)
			results = append(results, Result{MonitorID: m.Job.Spec.MonitorID, Region: "local", Due: m.Job.Due, Outcome: Outcome{OK: true, StatusCode: 200}})
		}
		if err := q.Complete(ctx, "local", results, acks); err != nil {
			t.Fatal(err)
		}
		pend, err := q.PendingJobs(ctx, "local", 0, "-", 500)
		if err != nil || len(pend) != 125 || pend[0].Consumer != "w1" {
			t.Fatalf("pending %d jobs (%v), want the 125 unacknowledged of w1", len(pend), err)
		}
		take := map[string]time.Duration{}
		for _, p := range pend {
			take[p.ID] = 0
		}
		claimed, err := q.ClaimJobs(ctx, "local", "w2", take)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(claimed, func(a, b JobMsg) int { return cmp.Compare(a.Job.Spec.MonitorID, b.Job.Spec.MonitorID) })
		if len(claimed) != 125 || claimed[0].Job.Spec.MonitorID != 126 {
			t.Fatalf("claimed %d stale jobs (first %+v), want the 125 unacknowledged", len(claimed), claimed)
		}

		res, err := q.ReadResults(ctx, "sink", 1000, 10*time.Millisecond, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) != 125 || res[0].Result.MonitorID != 1 || !res[0].Result.Outcome.OK {
			t.Fatalf("read %d results, first %+v", len(res), res)
		}
		// Unacknowledged results are read again as pending (crash recovery).
		again, err := q.ReadResults(ctx, "sink", 1000, 0, true)
		if err != nil || len(again) != 125 {
			t.Fatalf("pending re-read %d results (%v), want 125", len(again), err)
		}
		ids := make([]string, len(res))
		for i, r := range res {
			ids[i] = r.ID
		}
		if err := q.AckResults(ctx, ids); err != nil {
			t.Fatal(err)
		}
		if left, err := q.ReadResults(ctx, "sink", 1000, 0, true); err != nil || len(left) != 0 {
			t.Fatalf("after ack %d results still pending (%v)", len(left), err)
		}
		if n := b.Client.XLen(ctx, resultsStream).Val(); n != 0 {
			t.Errorf("acknowledged results are kept: stream length %d", n)
		}
	})
}

func TestQueueMalformedMessage(t *testing.T) {
	testredis.Each(t, func(t *testing.T, b testredis.Backend) {
		ctx := context.Background()
		q := NewQueue(b.Client)
		if err := q.Setup(ctx, "local"); err != nil {
			t.Fatal(err)
		}
		b.Client.XAdd(ctx, &redis.XAddArgs{Stream: jobsStream("local"), Values: []any{"d", "{not json"}})
		b.Client.XAdd(ctx, &redis.XAddArgs{Stream: jobsStream("local"), Values: []any{"x", "y"}})
		msgs, err := q.ReadJobs(ctx, "local", "w", 10, 10*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 2 || msgs[0].Err == nil || msgs[1].Err == nil {
			t.Fatalf("malformed jobs not reported: %+v", msgs)
		}
	})
}
