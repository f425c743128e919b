package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func BenchmarkZZ(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "x.db")+os.Getenv("ZZQ"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	u := newUser(b, s, "a@example.com")
	const monitors, batch = 1000, 500
	ids := make([]int64, monitors)
	for i := range ids {
		ids[i] = newMonitor(b, s, u.ID).ID
	}
	checks := make([]Check, batch)
	updates := make([]StateUpdate, batch)
	n := 0
	for ; b.Loop(); n++ {
		for i := range checks {
			k := n*batch + i
			id := ids[k%monitors]
			checks[i] = check(id, "local", time.Duration(k/monitors)*time.Minute, k%7 != 0)
			updates[i] = StateUpdate{MonitorID: id, State: MonitorState{Status: StatusUp, Since: t0}}
		}
		if err := s.SaveChecks(ctx, checks, updates); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*batch), "ns/check")
	var pages int
	s.r.QueryRow("PRAGMA page_count").Scan(&pages)
	b.ReportMetric(float64(pages), "pages")
}
