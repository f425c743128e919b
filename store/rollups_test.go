package store

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"
	"unicode/utf8"
)

func TestLatencyBounds(t *testing.T) {
	b := LatencyBounds()
	if len(b)+1 != histBuckets {
		t.Fatalf("%d bounds for %d buckets", len(b), histBuckets)
	}
	for i := 1; i < len(b); i++ {
		if r := float64(b[i]) / float64(b[i-1]); r < 1.4 || r > 2.6 {
			t.Errorf("bounds %v → %v: ratio %.2f is not log-spaced", b[i-1], b[i], r)
		}
	}
	b[0] = time.Hour // a copy: the table must not change
	if LatencyBounds()[0] == time.Hour {
		t.Error("LatencyBounds returned the table itself")
	}
	for _, tc := range []struct {
		lat  time.Duration
		want int
	}{
		{0, 0},
		{249 * time.Microsecond, 0},
		{250 * time.Microsecond, 1},
		{999 * time.Microsecond, 2},
		{time.Millisecond, 3},
		{10*time.Second - time.Microsecond, 18},
		{10 * time.Second, 19},
		{time.Hour, 19},
	} {
		if got := histBucket(toMicros(tc.lat)); got != tc.want {
			t.Errorf("histBucket(%v) = %d, want %d", tc.lat, got, tc.want)
		}
	}
}

func TestFloorCeil(t *testing.T) {
	for _, tc := range []struct{ ms, unit, floor, ceil int64 }{
		{0, 10, 0, 0}, {1, 10, 0, 10}, {10, 10, 10, 10}, {-1, 10, -10, 0}, {-10, 10, -10, -10},
	} {
		if f, c := floorTo(tc.ms, tc.unit), ceilTo(tc.ms, tc.unit); f != tc.floor || c != tc.ceil {
			t.Errorf("floor/ceil(%d, %d) = %d, %d, want %d, %d", tc.ms, tc.unit, f, c, tc.floor, tc.ceil)
		}
	}
}

func TestCutExcerpt(t *testing.T) {
	if got := cutExcerpt("short"); got != "short" {
		t.Errorf("short excerpt changed: %q", got)
	}
	// "é" is 2 bytes: 1023 ASCII bytes then é straddles the 1 KiB limit.
	s := string(make([]byte, 1023)) + "é" + "tail"
	got := cutExcerpt(s)
	if len(got) != 1023 {
		t.Errorf("cut at %d bytes, want 1023 (before the straddling rune)", len(got))
	}
	long := ""
	for len(long) < 3000 {
		long += "日本語"
	}
	got = cutExcerpt(long)
	if len(got) > maxExcerpt || len(got) < maxExcerpt-3 || !utf8.ValidString(got) {
		t.Errorf("cut to %d bytes, valid=%v", len(got), utf8.ValidString(got))
	}
	if got := cutExcerpt("bad \xff byte"); !utf8.ValidString(got) {
		t.Errorf("invalid UTF-8 kept: %q", got)
	}
}

func TestRollupQuantile(t *testing.T) {
	var r rollup
	lats := []int64{100, 200, 300, 400, 1_500, 2_500, 2_600, 2_700, 40_000, 12_000_000}
	for _, l := range lats {
		r.addCheck(&Check{OK: true, Latency: fromMicros(l)})
	}
	for _, q := range []float64{0.01, 0.5, 0.9, 0.95, 1} {
		truth := lats[int(math.Ceil(q*float64(len(lats))))-1]
		est := r.quantile(q)
		lo, hi := bucketRange(histBucket(truth))
		if est < max(lo, r.min) || est > min(hi, r.max) {
			t.Errorf("q%.2f = %d µs, true %d µs in bucket [%d, %d)", q, est, truth, lo, hi)
		}
	}
	if (&rollup{}).quantile(0.95) != 0 {
		t.Error("quantile of no latencies")
	}
}

// history is a randomised workload: checks of a few monitors in two
// regions over several hours and UTC day boundaries, saved in random
// batches with redeliveries.
type history struct {
	s        *Store
	monitors []int64
	start    time.Time
	span     time.Duration
}

// randomCheck makes a plausible result: mostly ok, some failures with a
// status (these have a latency), some timeouts and refusals (no status,
// no meaningful latency), latencies log-uniform from 50 µs to 20 s.
func randomCheck(rng *rand.Rand, monitorID int64, region string, at time.Time) Check {
	lat := time.Duration(math.Exp(rng.Float64()*math.Log(20e6/50))*50) * time.Microsecond
	part := func() time.Duration { return time.Duration(rng.Float64() * float64(lat) / 5) }
	c := Check{MonitorID: monitorID, Region: region, At: at, OK: true, StatusCode: 200, Latency: lat,
		Phases: Phases{DNS: part(), Connect: part(), TLS: part(), TTFB: part(), Transfer: part()}}
	switch x := rng.IntN(10); {
	case x == 0: // timeout: no status, latency is the timeout
		c.OK, c.StatusCode, c.Latency, c.Phases = false, 0, 10*time.Second, Phases{DNS: c.Phases.DNS}
		c.Reason, c.Error = "timeout", "no answer in 10s"
	case x == 1: // refused: nothing at all
		c.OK, c.StatusCode, c.Latency, c.Phases = false, 0, 0, Phases{}
		c.Reason, c.Error = "refused", "connection refused"
	case x <= 3:
		c.OK, c.StatusCode, c.Reason, c.Error = false, 503, "status", "got 503"
	}
	return c
}

func newHistory(t *testing.T, seed uint64) *history {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 1))
	s := openTest(t)
	u := newUser(t, s, "h@example.com")
	h := &history{s: s, start: time.Date(2025, 3, 1, 20, 17, 23, 0, time.UTC), span: 53 * time.Hour}
	for range 3 {
		h.monitors = append(h.monitors, newMonitor(t, s, u.ID).ID)
	}
	var all []Check
	for _, id := range h.monitors {
		for _, region := range []string{"eu", "us"} {
			// Every ~6 minutes with a random offset, plus checks exactly on
			// hour boundaries and a millisecond before them.
			for at := h.start; at.Before(h.start.Add(h.span)); at = at.Add(5*time.Minute + time.Duration(rng.IntN(120_000))*time.Millisecond) {
				all = append(all, randomCheck(rng, id, region, at))
			}
			for hr := h.start.Truncate(time.Hour).Add(time.Hour); hr.Before(h.start.Add(h.span)); hr = hr.Add(5 * time.Hour) {
				all = append(all, randomCheck(rng, id, region, hr), randomCheck(rng, id, region, hr.Add(-time.Millisecond)))
			}
		}
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })

	var sent [][]Check
	for len(all) > 0 {
		n := min(len(all), 1+rng.IntN(400))
		batch := slices.Clone(all[:n])
		all = all[n:]
		// A duplicate inside the batch, and now and then a whole earlier
		// batch again (or part of one): the queue redelivers.
		if rng.IntN(3) == 0 {
			batch = append(batch, batch[rng.IntN(len(batch))])
		}
		if len(sent) > 0 && rng.IntN(4) == 0 {
			old := sent[rng.IntN(len(sent))]
			batch = append(batch, old[:1+rng.IntN(len(old))]...)
		}
		if err := s.SaveChecks(ctx, batch, nil); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, batch)
		if rng.IntN(5) == 0 {
			if err := s.SaveChecks(ctx, sent[rng.IntN(len(sent))], nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	return h
}

// rawCheck is a stored check, read back for brute-force sums.
type rawCheck struct {
	monitorID, ts                          int64
	region                                 string
	ok                                     bool
	status                                 int
	lat, dns, connect, tls, ttfb, transfer int64
}

func (r rawCheck) hasLatency() bool { return hasLatency(r.ok, r.status) }

func readChecks(t *testing.T, s *Store) []rawCheck {
	t.Helper()
	rows, err := s.r.Query(`SELECT monitor_id, ts, region, ok, status_code, latency_us,
		dns_us, connect_us, tls_us, ttfb_us, transfer_us FROM checks ORDER BY monitor_id, ts, region`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []rawCheck
	for rows.Next() {
		var c rawCheck
		if err := rows.Scan(&c.monitorID, &c.ts, &c.region, &c.ok, &c.status, &c.lat,
			&c.dns, &c.connect, &c.tls, &c.ttfb, &c.transfer); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// model is the brute-force sum of some checks, computed independently of
// rollup.addCheck.
type model struct {
	up, down, n, sum, min, max        int64
	dns, connect, tls, ttfb, transfer int64
	hist                              [histBuckets]int64
	lats                              []int64
}

func (m *model) add(c rawCheck) {
	if c.ok {
		m.up++
	} else {
		m.down++
	}
	if !c.hasLatency() {
		return
	}
	if m.n == 0 || c.lat < m.min {
		m.min = c.lat
	}
	if c.lat > m.max {
		m.max = c.lat
	}
	m.n++
	m.sum += c.lat
	m.dns += c.dns
	m.connect += c.connect
	m.tls += c.tls
	m.ttfb += c.ttfb
	m.transfer += c.transfer
	bounds := LatencyBounds()
	m.hist[sort.Search(len(bounds), func(i int) bool { return fromMicros(c.lat) < bounds[i] })]++
	m.lats = append(m.lats, c.lat)
}

func (m *model) p95() int64 {
	if len(m.lats) == 0 {
		return 0
	}
	l := slices.Sorted(slices.Values(m.lats))
	return l[int(math.Ceil(0.95*float64(len(l))))-1]
}

type rollupKey struct {
	monitorID, ts int64
	region        string
}

func readRollups(t *testing.T, s *Store, table string) map[rollupKey]rollup {
	t.Helper()
	rows, err := s.r.Query(`SELECT monitor_id, ts, region, up, down, lat_n, lat_sum_us, lat_min_us, lat_max_us,
		dns_us, connect_us, tls_us, ttfb_us, transfer_us,
		h00, h01, h02, h03, h04, h05, h06, h07, h08, h09, h10, h11, h12, h13, h14, h15, h16, h17, h18, h19
		FROM ` + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[rollupKey]rollup{}
	for rows.Next() {
		var r rollup
		dest := []any{&r.monitorID, &r.ts, &r.region, &r.up, &r.down, &r.n, &r.sum, &r.min, &r.max,
			&r.dns, &r.connect, &r.tls, &r.ttfb, &r.transfer}
		for i := range r.hist {
			dest = append(dest, &r.hist[i])
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		out[rollupKey{r.monitorID, r.ts, r.region}] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHistoryMatchesChecks compares everything read from the roll-ups
// with a brute-force computation over the stored raw checks, for random
// workloads (see newHistory).
func TestHistoryMatchesChecks(t *testing.T) {
	for seed := range uint64(2) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			h := newHistory(t, seed)
			checks := readChecks(t, h.s)
			if len(checks) < 2500 {
				t.Fatalf("only %d checks stored", len(checks))
			}
			rng := rand.New(rand.NewPCG(seed, 2))
			t.Run("rollups", func(t *testing.T) { testRollups(t, h, checks) })
			t.Run("uptime", func(t *testing.T) { testUptime(t, h, checks, rng) })
			t.Run("latency", func(t *testing.T) { testLatencySeries(t, h, checks, rng) })
			t.Run("buckets", func(t *testing.T) { testBuckets(t, h, checks, rng) })
		})
	}
}

// testRollups: every hourly and daily row equals the sums of its checks.
func testRollups(t *testing.T, h *history, checks []rawCheck) {
	for _, tc := range []struct {
		table string
		unit  int64
	}{{"hourly", hourMS}, {"daily", dayMS}} {
		want := map[rollupKey]*model{}
		for _, c := range checks {
			k := rollupKey{c.monitorID, floorTo(c.ts, tc.unit), c.region}
			if want[k] == nil {
				want[k] = &model{}
			}
			want[k].add(c)
		}
		got := readRollups(t, h.s, tc.table)
		if len(got) != len(want) {
			t.Errorf("%s: %d rows, want %d", tc.table, len(got), len(want))
		}
		for k, m := range want {
			r := got[k]
			w := rollup{monitorID: k.monitorID, ts: k.ts, region: k.region, up: m.up, down: m.down,
				n: m.n, sum: m.sum, min: m.min, max: m.max, dns: m.dns, connect: m.connect, tls: m.tls,
				ttfb: m.ttfb, transfer: m.transfer, hist: m.hist}
			if r != w {
				t.Errorf("%s %+v:\n got %+v\nwant %+v", tc.table, k, r, w)
			}
		}
	}
}

// testUptime: Uptime over random ranges counts the checks whose hour,
// the range snapped outward to whole hours, is inside.
func testUptime(t *testing.T, h *history, checks []rawCheck, rng *rand.Rand) {
	ctx := context.Background()
	for i := range 300 {
		from := h.start.Add(time.Duration(rng.Int64N(int64(h.span+4*time.Hour))) - 2*time.Hour)
		to := from.Add(time.Duration(rng.Int64N(int64(60 * time.Hour))))
		switch i % 10 { // edges: whole hours, whole days, empty and reversed ranges
		case 0:
			from, to = from.Truncate(time.Hour), to.Truncate(time.Hour)
		case 1:
			from, to = from.Truncate(24*time.Hour), to.Truncate(24*time.Hour)
		case 2:
			to = from
		case 3:
			from, to = to, from
		}
		got, err := h.s.Uptime(ctx, h.monitors, from, to)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := floorTo(toMillis(from), hourMS), ceilTo(ceilMillis(to), hourMS)
		want := map[int64]Uptime{}
		for _, c := range checks {
			if c.ts >= lo && c.ts < hi {
				u := want[c.monitorID]
				if c.ok {
					u.Up++
				} else {
					u.Down++
				}
				want[c.monitorID] = u
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("Uptime(%v, %v) = %v, want %v", from, to, got, want)
		}
	}
}

// testLatencySeries: every figure exact, except a roll-up P95, which must
// lie in the histogram bucket of the true one.
func testLatencySeries(t *testing.T, h *history, checks []rawCheck, rng *rand.Rand) {
	ctx := context.Background()
	bounds := LatencyBounds()
	for i := range 120 {
		id := h.monitors[rng.IntN(len(h.monitors))]
		var span, step time.Duration
		switch i % 3 {
		case 0:
			span, step = time.Duration(rng.Int64N(int64(rawSpan))), time.Duration(rng.Int64N(int64(time.Hour)))
		case 1:
			span, step = rawSpan+time.Duration(rng.Int64N(int64(3*24*time.Hour))), time.Duration(rng.Int64N(int64(7*time.Hour)))
		default:
			span, step = hourlySpan+time.Duration(rng.Int64N(int64(10*24*time.Hour))), time.Duration(rng.Int64N(int64(72*time.Hour)))
		}
		from := h.start.Add(time.Duration(rng.Int64N(int64(h.span))) - span/2)
		to := from.Add(span)
		points, res, err := h.s.LatencySeries(ctx, id, from, to, step)
		if err != nil {
			t.Fatal(err)
		}

		// The brute force: resolution, rounded step, snapped range.
		wantRes, unit := ResolutionDaily, 24*time.Hour
		switch {
		case span <= rawSpan:
			wantRes, unit = ResolutionRaw, time.Minute
		case span <= hourlySpan:
			wantRes, unit = ResolutionHourly, time.Hour
		}
		if res != wantRes {
			t.Fatalf("span %v: resolution %s, want %s", span, res, wantRes)
		}
		stepMS := int64(max(unit, (step+unit-1)/unit*unit) / time.Millisecond)
		lo, hi := ceilMillis(from), ceilMillis(to)
		if res != ResolutionRaw {
			lo, hi = floorTo(toMillis(from), unit.Milliseconds()), ceilTo(ceilMillis(to), unit.Milliseconds())
		}
		want := map[int64]*model{}
		var order []int64
		for _, c := range checks {
			if c.monitorID != id || c.ts < lo || c.ts >= hi {
				continue
			}
			at := floorTo(c.ts, stepMS)
			if want[at] == nil {
				want[at] = &model{}
				order = append(order, at)
			}
			want[at].add(c)
		}
		slices.Sort(order)
		if len(points) != len(order) {
			t.Fatalf("%s %v..%v step %v: %d points, want %d", res, from, to, step, len(points), len(order))
		}
		for j, p := range points {
			m := want[order[j]]
			w := LatencyPoint{At: fromMillis(order[j]), Count: m.n, Up: m.up, Down: m.down}
			if m.n > 0 {
				w.Avg, w.Min, w.Max = fromMicros(m.sum/m.n), fromMicros(m.min), fromMicros(m.max)
				w.DNS, w.Connect, w.TLS = fromMicros(m.dns/m.n), fromMicros(m.connect/m.n), fromMicros(m.tls/m.n)
				w.TTFB, w.Transfer = fromMicros(m.ttfb/m.n), fromMicros(m.transfer/m.n)
			}
			truth := fromMicros(m.p95())
			if res == ResolutionRaw {
				w.P95 = truth
			} else {
				// Within the histogram bucket of the true P95.
				b := sort.Search(len(bounds), func(i int) bool { return truth < bounds[i] })
				lo, hi := time.Duration(0), time.Duration(math.MaxInt64)
				if b > 0 {
					lo = bounds[b-1]
				}
				if b < len(bounds) {
					hi = bounds[b]
				}
				if p.P95 < lo || p.P95 > hi || p.P95 < p.Min || p.P95 > p.Max {
					t.Errorf("%s point %v: P95 %v outside [%v, %v] (true %v, min %v, max %v)", res, p.At, p.P95, lo, hi, truth, p.Min, p.Max)
				}
				w.P95 = p.P95
			}
			if p != w {
				t.Fatalf("%s %v..%v step %v, point %d:\n got %+v\nwant %+v", res, from, to, step, j, p, w)
			}
		}
	}
}

// testBuckets: the history bars are the per-period sums of the checks.
func testBuckets(t *testing.T, h *history, checks []rawCheck, rng *rand.Rand) {
	ctx := context.Background()
	for i := range 60 {
		daily := i%2 == 1
		unit := hourMS
		if daily {
			unit = dayMS
		}
		from := h.start.Add(time.Duration(rng.Int64N(int64(h.span))) - 5*time.Hour)
		to := from.Add(time.Duration(rng.Int64N(int64(40 * time.Hour))))
		got, err := h.s.Buckets(ctx, h.monitors, from, to, daily)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := floorTo(toMillis(from), unit), ceilTo(ceilMillis(to), unit)
		sums := map[int64]map[int64]*model{}
		for _, c := range checks {
			if c.ts < lo || c.ts >= hi {
				continue
			}
			if sums[c.monitorID] == nil {
				sums[c.monitorID] = map[int64]*model{}
			}
			at := floorTo(c.ts, unit)
			if sums[c.monitorID][at] == nil {
				sums[c.monitorID][at] = &model{}
			}
			sums[c.monitorID][at].add(c)
		}
		want := map[int64][]Bucket{}
		for id, byAt := range sums {
			for _, at := range slices.Sorted(maps.Keys(byAt)) {
				m := byAt[at]
				b := Bucket{At: fromMillis(at), Up: m.up, Down: m.down}
				if m.n > 0 {
					b.Avg = fromMicros(m.sum / m.n)
				}
				want[id] = append(want[id], b)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("Buckets(%v, %v, daily=%v) =\n%v\nwant\n%v", from, to, daily, got, want)
		}
	}
}
