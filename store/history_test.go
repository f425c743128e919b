package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

// checksEvery returns a check of monitorID every step over [from, from+d).
func checksEvery(monitorID int64, from time.Time, d, step time.Duration, ok bool) []Check {
	var cs []Check
	for at := from; at.Before(from.Add(d)); at = at.Add(step) {
		c := Check{MonitorID: monitorID, Region: "local", At: at, OK: ok, StatusCode: 200, Latency: 20 * time.Millisecond}
		if !ok {
			c.StatusCode, c.Latency, c.Reason = 0, 0, "timeout"
		}
		cs = append(cs, c)
	}
	return cs
}

func TestUptimeExcludesPausedTime(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	s := openTest(t, WithClock(clk.Now))
	u := newUser(t, s, "a@example.com")
	m := newMonitor(t, s, u.ID)
	start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

	// Up for an hour, paused for two (no checks), down for an hour.
	if err := s.SaveChecks(ctx, checksEvery(m.ID, start, time.Hour, time.Minute, true), nil); err != nil {
		t.Fatal(err)
	}
	clk.t = start.Add(time.Hour)
	m.Paused = true
	if _, err := s.UpdateMonitor(ctx, m); err != nil {
		t.Fatal(err)
	}
	clk.t = start.Add(3 * time.Hour)
	m.Paused = false
	if _, err := s.UpdateMonitor(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveChecks(ctx, checksEvery(m.ID, start.Add(3*time.Hour), time.Hour, time.Minute, false), nil); err != nil {
		t.Fatal(err)
	}

	got, err := s.Uptime(ctx, []int64{m.ID}, start, start.Add(4*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	r, ok := got[m.ID].Ratio()
	if !ok || r != 0.5 || got[m.ID] != (Uptime{Up: 60, Down: 60}) {
		t.Errorf("Uptime = %+v (ratio %v, %v), want 60 up, 60 down: 50%%", got[m.ID], r, ok)
	}
	// The paused hours alone have no checks: no ratio rather than 100%.
	got, err = s.Uptime(ctx, []int64{m.ID}, start.Add(time.Hour), start.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got[m.ID].Ratio(); ok {
		t.Errorf("paused period has a ratio: %+v", got[m.ID])
	}

	// Latency stats leave the timeouts out, Up/Down do not.
	points, res, err := s.LatencySeries(ctx, m.ID, start, start.Add(4*time.Hour), time.Hour)
	if err != nil || res != ResolutionRaw || len(points) != 2 {
		t.Fatalf("LatencySeries = %+v, %q, %v", points, res, err)
	}
	if p := points[1]; p.Down != 60 || p.Count != 0 || p.Avg != 0 || p.P95 != 0 {
		t.Errorf("down hour point = %+v, want 60 down without latency", p)
	}
	if p := points[0]; p.Up != 60 || p.Count != 60 || p.Avg != 20*time.Millisecond || p.P95 != 20*time.Millisecond {
		t.Errorf("up hour point = %+v", p)
	}
}

func TestUptimeManyMonitors(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := newUser(t, s, "a@example.com")
	start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	var ids []int64
	var batch []Check
	for i := range 2*idChunk + 7 { // three chunks
		id := newMonitor(t, s, u.ID).ID
		ids = append(ids, id)
		batch = append(batch, Check{MonitorID: id, Region: "local", At: start, OK: i%3 != 0, StatusCode: 200})
	}
	if err := s.SaveChecks(ctx, batch, nil); err != nil {
		t.Fatal(err)
	}
	// Unknown and repeated ids (a repeat in another chunk too) change nothing.
	query := append(append([]int64{ids[len(ids)-1]}, ids...), 999_999, ids[0])
	got, err := s.Uptime(ctx, query, start.Add(-48*time.Hour), start.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ids) {
		t.Fatalf("%d monitors in the result, want %d", len(got), len(ids))
	}
	for i, id := range ids {
		want := Uptime{Up: 1}
		if i%3 == 0 {
			want = Uptime{Down: 1}
		}
		if got[id] != want {
			t.Fatalf("monitor %d: %+v, want %+v", id, got[id], want)
		}
	}
	bars, err := s.Buckets(ctx, query, start, start.Add(time.Hour), false)
	if err != nil || len(bars) != len(ids) || len(bars[ids[len(ids)-1]]) != 1 || len(bars[ids[0]]) != 1 {
		t.Errorf("Buckets over 3 chunks: %d monitors, %v", len(bars), err)
	}
	if got, err := s.Uptime(ctx, nil, start, start.Add(time.Hour)); err != nil || len(got) != 0 {
		t.Errorf("Uptime of no monitors = %v, %v", got, err)
	}
}

func TestLatencySeriesResolution(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := newUser(t, s, "a@example.com")
	m := newMonitor(t, s, u.ID)
	to := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := s.SaveChecks(ctx, checksEvery(m.ID, to.Add(-40*24*time.Hour), 40*24*time.Hour, 17*time.Minute, true), nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		span, step time.Duration
		res        string
		rounded    time.Duration // the step used: points start at its multiples
	}{
		{6 * time.Hour, 0, ResolutionRaw, time.Minute},
		{6 * time.Hour, 90 * time.Second, ResolutionRaw, 2 * time.Minute},
		{6*time.Hour + time.Millisecond, time.Minute, ResolutionHourly, time.Hour},
		{31 * 24 * time.Hour, 90 * time.Minute, ResolutionHourly, 2 * time.Hour},
		{31*24*time.Hour + time.Hour, time.Hour, ResolutionDaily, 24 * time.Hour},
		{40 * 24 * time.Hour, 36 * time.Hour, ResolutionDaily, 48 * time.Hour},
	} {
		points, res, err := s.LatencySeries(ctx, m.ID, to.Add(-tc.span), to, tc.step)
		if err != nil || res != tc.res || len(points) < 2 {
			t.Errorf("span %v: %d points, %q, %v; want %s", tc.span, len(points), res, err, tc.res)
			continue
		}
		var n int64
		for i, p := range points {
			n += p.Up
			if p.At.UnixMilli()%tc.rounded.Milliseconds() != 0 || (i > 0 && !p.At.After(points[i-1].At)) {
				t.Errorf("span %v step %v: point %d at %v, want increasing multiples of %v", tc.span, tc.step, i, p.At, tc.rounded)
				break
			}
			if p.Up == 0 {
				t.Errorf("span %v: empty point %+v", tc.span, p)
			}
		}
		if min := int64(tc.span / (17 * time.Minute)); n < min {
			t.Errorf("span %v: %d checks in the points, want at least %d", tc.span, n, min)
		}
	}
	if p, _, err := s.LatencySeries(ctx, m.ID, to, to.Add(-time.Hour), time.Minute); err != nil || len(p) != 0 {
		t.Errorf("reversed range: %v, %v", p, err)
	}
}

// planOf returns the EXPLAIN QUERY PLAN details of query, joined.
func planOf(t *testing.T, s *Store, query string, args ...any) string {
	t.Helper()
	rows, err := s.r.Query(`EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, query)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; ")
}

// TestHistoryQueryPlans pins that overview queries read the roll-ups by
// key and never touch the checks table.
func TestHistoryQueryPlans(t *testing.T) {
	s := openTest(t)
	u := newUser(t, s, "a@example.com")
	newMonitor(t, s, u.ID)
	// Statistics like a used database's, so the planner is not guessing.
	if _, err := s.w.Exec(`ANALYZE`); err != nil {
		t.Fatal(err)
	}
	ids := []int64{1, 2, 3, 4, 5}
	now := time.Date(2025, 3, 10, 13, 30, 0, 0, time.UTC)
	type q struct {
		name, sql string
		args      []any
	}
	var qs []q
	for _, d := range []time.Duration{time.Hour, 24 * time.Hour, 30 * 24 * time.Hour, 365 * 24 * time.Hour} {
		days, hours := uptimeSpans(now.Add(-d), now)
		qs = append(qs, q{"uptime " + d.String(), uptimeSQL(days, hours, len(ids), false), uptimeArgs(days, hours, ids, "")})
		qs = append(qs, q{"region uptime " + d.String(), uptimeSQL(days, hours, len(ids), true), uptimeArgs(days, hours, ids, "eu")})
	}
	for _, table := range []string{"hourly", "daily"} {
		args := []any{int64(0), int64(1) << 50}
		for _, id := range ids {
			args = append(args, id)
		}
		qs = append(qs, q{"buckets " + table, bucketsSQL(table, len(ids)), args})
		qs = append(qs, q{"series " + table, rollupSeriesQuery[table][0], []any{hourMS, int64(1), int64(0), int64(1) << 50}})
		qs = append(qs, q{"region series " + table, rollupSeriesQuery[table][1], []any{hourMS, int64(1), int64(0), int64(1) << 50, "eu"}})
	}
	for _, q := range qs {
		plan := planOf(t, s, q.sql, q.args...)
		t.Logf("%s: %s", q.name, plan)
		if strings.Contains(plan, "checks") || strings.Contains(plan, "SCAN") ||
			!strings.Contains(plan, "USING PRIMARY KEY (monitor_id=? AND ts>? AND ts<?)") {
			t.Errorf("%s: plan %s", q.name, plan)
		}
		if strings.HasPrefix(q.name, "buckets") && strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s sorts: %s", q.name, plan)
		}
	}
	// Raw series, all regions or one, read checks through their index.
	for i, q := range rawSeriesQuery {
		plan := planOf(t, s, q, int64(1), int64(0), int64(1)<<50, "eu")
		if i == 0 {
			plan = planOf(t, s, q, int64(1), int64(0), int64(1)<<50)
		}
		t.Logf("raw series %d: %s", i, plan)
		if !strings.Contains(plan, "checks_monitor_ts_region (monitor_id=? AND ts>? AND ts<?)") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("raw series %d: plan %s", i, plan)
		}
	}
	// Retention finds old rows monitor by monitor through the key.
	for _, q := range []string{
		`SELECT c.id FROM monitors AS m CROSS JOIN checks AS c ON c.monitor_id = m.id WHERE c.ts < 5 LIMIT 10`,
		`SELECT h.monitor_id, h.ts, h.region FROM monitors AS m CROSS JOIN hourly AS h ON h.monitor_id = m.id WHERE h.ts < 5 LIMIT 10`,
	} {
		if plan := planOf(t, s, q); !strings.Contains(plan, "(monitor_id=? AND ts<?)") {
			t.Errorf("prune: %s", plan)
		}
	}
}

func TestBucketsDegraded(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := newUser(t, s, "a@example.com")
	m := newMonitor(t, s, u.ID)
	start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	// Hour 10: 60 checks in each of two regions, every 6th degraded in
	// one, every 10th in the other. Hour 11: none degraded; a failed
	// check marked degraded does not count (only up checks can be).
	var batch []Check
	for i, c := range checksEvery(m.ID, start, time.Hour, time.Minute, true) {
		c.Degraded = i%6 == 0
		batch = append(batch, c)
		c.Region, c.Degraded = "eu", i%10 == 0
		batch = append(batch, c)
	}
	batch = append(batch, checksEvery(m.ID, start.Add(time.Hour), time.Hour, time.Minute, true)...)
	bad := checksEvery(m.ID, start.Add(time.Hour+30*time.Second), time.Minute, time.Minute, false)
	bad[0].Degraded = true
	batch = append(batch, bad...)
	if err := s.SaveChecks(ctx, batch, nil); err != nil {
		t.Fatal(err)
	}
	for _, daily := range []bool{false, true} {
		got, err := s.Buckets(ctx, []int64{m.ID}, start, start.Add(2*time.Hour), daily)
		if err != nil {
			t.Fatal(err)
		}
		bars := got[m.ID]
		var want []Bucket
		if daily {
			want = []Bucket{{At: start.Truncate(24 * time.Hour), Up: 180, Down: 1, Degraded: 16}}
		} else {
			want = []Bucket{{At: start, Up: 120, Degraded: 16}, {At: start.Add(time.Hour), Up: 60, Down: 1}}
		}
		if len(bars) != len(want) {
			t.Fatalf("daily=%v: %+v", daily, bars)
		}
		for i := range want {
			b := bars[i]
			if !b.At.Equal(want[i].At) || b.Up != want[i].Up || b.Down != want[i].Down || b.Degraded != want[i].Degraded {
				t.Errorf("daily=%v bucket %d = %+v, want %+v", daily, i, b, want[i])
			}
		}
	}
	// Uptime agrees.
	up, err := s.Uptime(ctx, []int64{m.ID}, start, start.Add(2*time.Hour))
	if err != nil || up[m.ID] != (Uptime{Up: 180, Down: 1, Degraded: 16}) {
		t.Errorf("Uptime = %+v, %v", up[m.ID], err)
	}
}

// TestRegionFilters: two regions with different latencies; each region's
// series and uptime are its own at every resolution, "" is both combined.
func TestRegionFilters(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := newUser(t, s, "a@example.com")
	m := newMonitor(t, s, u.ID)
	to := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	from := to.Add(-40 * 24 * time.Hour)
	var batch []Check
	for at := from; at.Before(to); at = at.Add(30 * time.Minute) {
		batch = append(batch,
			Check{MonitorID: m.ID, Region: "local", At: at, OK: true, StatusCode: 200, Latency: 20 * time.Millisecond},
			Check{MonitorID: m.ID, Region: "eu", At: at, OK: true, StatusCode: 200, Latency: 80 * time.Millisecond})
		if at.Minute() == 0 && at.Hour()%6 == 0 { // eu also fails now and then
			batch = append(batch, Check{MonitorID: m.ID, Region: "eu", At: at.Add(time.Second), Reason: "timeout"})
		}
	}
	if err := s.SaveChecks(ctx, batch, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		span time.Duration
		res  string
	}{{6 * time.Hour, ResolutionRaw}, {7 * 24 * time.Hour, ResolutionHourly}, {40 * 24 * time.Hour, ResolutionDaily}} {
		sum := map[string]Uptime{}
		for region, want := range map[string]time.Duration{"local": 20 * time.Millisecond, "eu": 80 * time.Millisecond, "": 50 * time.Millisecond, "us": 0} {
			points, res, err := s.LatencySeriesInRegion(ctx, m.ID, region, to.Add(-tc.span), to, tc.span/10)
			if err != nil || res != tc.res {
				t.Fatalf("%v %q: %q, %v", tc.span, region, res, err)
			}
			if want == 0 {
				if len(points) != 0 {
					t.Errorf("%v: region without checks has points %+v", tc.span, points)
				}
				continue
			}
			if len(points) == 0 {
				t.Fatalf("%v %q: no points", tc.span, region)
			}
			var up Uptime
			for _, p := range points {
				if p.Avg != want || (region != "" && (p.Min != want || p.Max != want)) {
					t.Fatalf("%v %q: point %+v, want avg %v", tc.span, region, p, want)
				}
				up.Up, up.Down = up.Up+p.Up, up.Down+p.Down
			}
			sum[region] = up
			if region == "local" && up.Down != 0 || region != "local" && up.Down == 0 {
				t.Errorf("%v %q: %+v", tc.span, region, up)
			}
			ut, err := s.UptimeInRegion(ctx, []int64{m.ID}, region, to.Add(-tc.span), to)
			if err != nil || ut[m.ID].Up != up.Up || ut[m.ID].Down != up.Down {
				t.Errorf("%v %q: uptime %+v, %v; series counted %+v", tc.span, region, ut[m.ID], err, up)
			}
		}
		if all, l, eu := sum[""], sum["local"], sum["eu"]; all.Up != l.Up+eu.Up || all.Down != l.Down+eu.Down {
			t.Errorf("%v: all %+v != local %+v + eu %+v", tc.span, all, l, eu)
		}
	}
	if got, err := s.UptimeInRegion(ctx, []int64{m.ID}, "us", from, to); err != nil || len(got) != 0 {
		t.Errorf("uptime in a region without checks = %v, %v", got, err)
	}
}
