package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/upwatch/upwatch/static"
	"github.com/upwatch/upwatch/store"
)

// benchDB builds (once, cached in the temp dir) a database with n monitors
// of one user and 90 days of history: one check per monitor per hour for the
// last 48 hours and one per day before that, enough to fill hourly and daily
// roll-ups for every bar and uptime window.
func benchDB(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("upwatch-bench-pages-v1-%d.db", n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	tmp := path + ".building"
	os.Remove(tmp)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Hour)
	st, err := store.Open(ctx, tmp, store.WithClock(func() time.Time { return now }))
	if err != nil {
		b.Fatal(err)
	}
	u, err := st.CreateFirstUser(ctx, "bench@example.com", "x")
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]int64, n)
	for i := range ids {
		m, err := st.CreateMonitor(ctx, store.Monitor{UserID: u.ID, Name: fmt.Sprintf("service %05d", i),
			URL: fmt.Sprintf("https://svc%05d.example.test/health", i), Method: "GET", Interval: time.Minute,
			Timeout: 10 * time.Second, ExpectedStatus: "200-299", Confirmations: 2})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = m.ID
	}
	var times []time.Time
	for h := 0; h < 48; h++ {
		times = append(times, now.Add(-time.Duration(h)*time.Hour))
	}
	for d := 2; d < 90; d++ {
		times = append(times, now.AddDate(0, 0, -d))
	}
	batch := make([]store.Check, 0, 1000)
	flush := func() {
		if err := st.SaveChecks(ctx, batch, nil); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for i, id := range ids {
		for j, at := range times {
			ok := (i+j)%17 != 0
			c := store.Check{MonitorID: id, Region: "local", At: at, OK: ok, StatusCode: 200,
				Latency: time.Duration(20+(i*7+j*3)%200) * time.Millisecond,
				Phases:  store.Phases{Connect: time.Millisecond, TTFB: 15 * time.Millisecond, Transfer: time.Millisecond}}
			if !ok {
				c.StatusCode, c.Reason, c.Error = 503, "status", "HTTP 503 Service Unavailable"
			}
			batch = append(batch, c)
			if len(batch) == cap(batch) {
				flush()
			}
		}
	}
	flush()
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
	return path
}

// benchApp serves pages for the benchmark user over a real HTTP server.
func benchApp(b *testing.B, dbPath string) (*httptest.Server, *http.Cookie, int64) {
	b.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dbPath)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	assets, err := static.New()
	if err != nil {
		b.Fatal(err)
	}
	a := New(Config{JWTSecret: []byte(strings.Repeat("k", 32))}, Deps{Store: st, Scheduler: &recorder{}, Assets: assets,
		Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(a.Handler())
	b.Cleanup(srv.Close)
	u, err := st.UserByEmail(ctx, "bench@example.com")
	if err != nil {
		b.Fatal(err)
	}
	tok := fmt.Sprintf("bench-session-%d", time.Now().UnixNano())
	if err := st.CreateSession(ctx, u.ID, 1, hashToken(tok), time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	ms, err := st.ListMonitors(ctx, u.ID)
	if err != nil {
		b.Fatal(err)
	}
	return srv, &http.Cookie{Name: sessionCookie, Value: tok}, ms[len(ms)/2].ID
}

// BenchmarkPages measures whole page requests (auth, store reads from the
// roll-ups, rendering, gzip) with 90 days of history, as p50/p95 latency
// and the bytes sent (compressed, as a browser receives them).
func BenchmarkPages(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		db := benchDB(b, n)
		srv, cookie, mid := benchApp(b, db)
		for _, pg := range []struct{ name, path string }{
			{"overview", "/"},
			{"overview-hourly", "/?bars=hours"},
			{"monitor-90d", fmt.Sprintf("/monitors/%d?range=90d", mid)},
			{"monitor-24h", fmt.Sprintf("/monitors/%d", mid)},
		} {
			b.Run(fmt.Sprintf("monitors=%d/%s", n, pg.name), func(b *testing.B) {
				var lat []time.Duration
				var size int64
				for b.Loop() {
					req, _ := http.NewRequest("GET", srv.URL+pg.path, nil)
					req.AddCookie(cookie)
					req.Header.Set("Accept-Encoding", "gzip") // as browsers do: bytes are what goes over the wire
					start := time.Now()
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					size, _ = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					lat = append(lat, time.Since(start))
					if res.StatusCode != 200 {
						b.Fatalf("%s: %d", pg.path, res.StatusCode)
					}
				}
				slices.Sort(lat)
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
				b.ReportMetric(float64(size), "bytes")
			})
		}
	}
}
