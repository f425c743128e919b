package checker

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkScheduleDue measures the scheduler's hot path: 10,000 monitors
// at 10 s spread over 100 hosts (10 checks/s per host), one op is one 50 ms
// quantum of due().
func BenchmarkScheduleDue(b *testing.B) {
	b.Run("uncapped", func(b *testing.B) { benchScheduleDue(b, newSchedule()) })
	// At the cap: every host gets exactly its 10 checks/s.
	b.Run("host-rate=10", func(b *testing.B) { benchScheduleDue(b, newCappedSchedule(10)) })
	// Under a cap of 5/s half the runs are deferred or skipped.
	b.Run("host-rate=5", func(b *testing.B) { benchScheduleDue(b, newCappedSchedule(5)) })
}

func benchScheduleDue(b *testing.B, s *schedule) {
	start := time.Unix(1_000_000, 0)
	for i := 0; i < 10000; i++ {
		id := int64(i + 1)
		spec := Spec{MonitorID: id, URL: fmt.Sprintf("https://h%03d.example.test/x", i%100)}
		s.put(spec, []string{LocalRegion}, 10*time.Second, start.Add(spread(id, 10*time.Second)))
	}
	var jobs []Job
	now, n := start, 0
	for b.Loop() {
		now = now.Add(schedQuantum)
		jobs = s.due(now, 0, jobs[:0])
		n += len(jobs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(n, 1)), "ns/job")
}
