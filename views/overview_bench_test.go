package views

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"
)

// benchOverview is an overview of n monitors with 90 days of history each,
// the labels shared between rows as a server would build them.
func benchOverview(n int) Overview {
	labels := make([]string, BarCount)
	ats := make([]time.Time, BarCount)
	for i := range labels {
		ats[i] = testNow.Truncate(24*time.Hour).AddDate(0, 0, i-BarCount+1)
		labels[i] = ats[i].Format("2 Jan")
	}
	o := Overview{Page: testPage("Monitors", "ada@example.com"), Total: n, BarsDaily: true}
	o.Live = true
	for i := range n {
		r := OverviewRow{MonitorRow: MonitorRow{
			ID: int64(i + 1), Name: fmt.Sprintf("Service %d", i+1), URL: fmt.Sprintf("https://svc%d.example.com/health", i+1),
			Status: StatusUp, StatusSince: testNow.Add(-time.Hour), LastCheckedAt: testNow.Add(-time.Duration(i%60) * time.Second),
			LastLatencyMS: float64(20 + i%300), LastStatusCode: 200, IntervalSeconds: 60,
		}}
		switch {
		case i%50 == 0:
			r.Status, r.LastReason, r.LastError = StatusDown, "timeout", "context deadline exceeded"
			o.Down++
		case i%70 == 1:
			r.Status = StatusPaused
			o.Paused++
		default:
			o.Up++
		}
		u24, u30 := 100.0, 99.97
		r.Uptime24h, r.Uptime30d = &u24, &u30
		r.Bars = make([]Bar, BarCount)
		for j := range r.Bars {
			b := Bar{At: ats[j], Label: labels[j]}
			if (i+j)%23 != 0 { // some periods without data
				down := int64((i * j) % 7 / 6)
				up := 1440 - down
				u := float64(up) * 100 / 1440
				b.Uptime, b.Up, b.Down, b.AvgMS = &u, up, down, 80+float64((i+j)%90)
			}
			r.Bars[j] = b
		}
		o.Rows = append(o.Rows, r)
	}
	return o
}

// BenchmarkOverview renders the overview as the server does (into a
// buffer). Reported: html-bytes per page and bytes/row.
func BenchmarkOverview(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			o := benchOverview(n)
			c := OverviewPage(o)
			var buf bytes.Buffer
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				buf.Reset()
				if err := c.Render(context.Background(), &buf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "html-bytes")
			b.ReportMetric(float64(buf.Len())/float64(n), "bytes/row")
		})
	}
}
