package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// History is read from the roll-ups (see migrations/0002_history.sql), so
// its cost depends on the length of the range asked for and the number of
// monitors, not on how many raw checks are stored. Only LatencySeries over
// short ranges (≤ rawSpan) reads raw checks, through the (monitor_id, ts)
// index.

const (
	// rawSpan is the longest range LatencySeries answers from raw checks.
	rawSpan = 6 * time.Hour
	// hourlySpan is the longest it answers from hourly roll-ups.
	hourlySpan = 31 * 24 * time.Hour
	// idChunk bounds the IN list of one statement over many monitors.
	idChunk = 500
)

// inList returns "?, ?, …" for n parameters. They are anonymous on
// purpose: the driver resolves a numbered one (?NNN) by looking its name up
// in a list, which makes binding quadratic in the number of parameters.
func inList(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// chunks calls fn with successive pieces of at most idChunk of the ids,
// sorted and without repeats (a repeat in two pieces would count twice).
func chunks(ids []int64, fn func([]int64) error) error {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	for len(ids) > 0 {
		n := min(len(ids), idChunk)
		if err := fn(ids[:n]); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// span is a half-open range [from, to) of Unix ms.
type span struct{ from, to int64 }

func (s span) empty() bool { return s.to <= s.from }

// uptimeSpans splits [from, to), snapped outward to whole hours, into the
// whole UTC days inside it (read from daily) and the hours before and after
// them (read from hourly).
func uptimeSpans(from, to time.Time) (days span, hours []span) {
	h := span{floorTo(toMillis(from), hourMS), ceilTo(ceilMillis(to), hourMS)}
	if h.empty() {
		return span{}, nil
	}
	days = span{ceilTo(h.from, dayMS), floorTo(h.to, dayMS)}
	if days.empty() {
		return span{}, []span{h}
	}
	for _, s := range []span{{h.from, days.from}, {days.to, h.to}} {
		if !s.empty() {
			hours = append(hours, s)
		}
	}
	return days, hours
}

// ceilMillis is t in Unix ms, rounded up, so [from, to) ranges keep a check
// at to's millisecond when to has finer precision.
func ceilMillis(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.After(time.UnixMilli(ms)) {
		ms++
	}
	return ms
}

// uptimeSQL sums up/down per monitor over the given spans, one part per
// span, each with the span's bounds, the region if byRegion, and then the n
// ids as parameters.
func uptimeSQL(days span, hours []span, n int, byRegion bool) string {
	where := `ts >= ? AND ts < ?`
	if byRegion {
		where += ` AND region = ?`
	}
	part := func(table string) string {
		return `SELECT monitor_id, SUM(up), SUM(down), SUM(degraded) FROM ` + table + `
			WHERE ` + where + ` AND monitor_id IN (` + inList(n) + `) GROUP BY monitor_id`
	}
	var parts []string
	if !days.empty() {
		parts = append(parts, part("daily"))
	}
	for range hours {
		parts = append(parts, part("hourly"))
	}
	return strings.Join(parts, "\nUNION ALL\n")
}

func uptimeArgs(days span, hours []span, ids []int64, region string) []any {
	var args []any
	add := func(s span) {
		args = append(args, s.from, s.to)
		if region != "" {
			args = append(args, region)
		}
		for _, id := range ids {
			args = append(args, id)
		}
	}
	if !days.empty() {
		add(days)
	}
	for _, h := range hours {
		add(h)
	}
	return args
}

// Uptime counts the up and down checks of each monitor in [from, to),
// snapped outward to whole hours: the whole UTC days inside come from the
// daily roll-ups, the hours at either end from the hourly ones. Roll-ups
// are updated with every batch of checks, so the current hour is included.
// Monitors without checks in the range are absent from the map (their zero
// Uptime has no Ratio). Paused time has no checks and drops out.
func (s *Store) Uptime(ctx context.Context, monitorIDs []int64, from, to time.Time) (map[int64]Uptime, error) {
	return s.UptimeInRegion(ctx, monitorIDs, "", from, to)
}

// UptimeInRegion is Uptime counting only the checks made from region; ""
// counts every region's, as Uptime does.
func (s *Store) UptimeInRegion(ctx context.Context, monitorIDs []int64, region string, from, to time.Time) (map[int64]Uptime, error) {
	out := make(map[int64]Uptime)
	days, hours := uptimeSpans(from, to)
	if days.empty() && len(hours) == 0 {
		return out, nil
	}
	err := chunks(monitorIDs, func(ids []int64) error {
		rows, err := s.r.QueryContext(ctx, uptimeSQL(days, hours, len(ids), region != ""), uptimeArgs(days, hours, ids, region)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var u Uptime
			if err := rows.Scan(&id, &u.Up, &u.Down, &u.Degraded); err != nil {
				return err
			}
			t := out[id]
			t.Up += u.Up
			t.Down += u.Down
			t.Degraded += u.Degraded
			out[id] = t
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: uptime of %d monitors: %w", len(monitorIDs), err)
	}
	return out, nil
}

// bucketsSQL reads the history bars of n monitors: parameters are the
// range, then the ids. Rows come in primary key order, so the regions
// of one period are adjacent and Buckets adds them up as they come: cheaper
// than a GROUP BY, whose per-group set-up costs more than the sums.
func bucketsSQL(table string, n int) string {
	return `SELECT monitor_id, ts, up, down, degraded, lat_n, lat_sum_us FROM ` + table + `
		WHERE ts >= ? AND ts < ? AND monitor_id IN (` + inList(n) + `)
		ORDER BY monitor_id, ts`
}

// Buckets returns each monitor's history bar over [from, to), snapped
// outward to whole hours (or UTC days if daily): one Bucket per hour or day
// that has checks, all regions together, oldest first. Avg is over the
// checks with a latency; Degraded sums the roll-ups' degraded checks.
// Monitors without checks are absent.
func (s *Store) Buckets(ctx context.Context, monitorIDs []int64, from, to time.Time, daily bool) (map[int64][]Bucket, error) {
	table, unit := "hourly", hourMS
	if daily {
		table, unit = "daily", dayMS
	}
	r := span{floorTo(toMillis(from), unit), ceilTo(ceilMillis(to), unit)}
	out := make(map[int64][]Bucket)
	if r.empty() {
		return out, nil
	}
	err := chunks(monitorIDs, func(ids []int64) error {
		args := []any{r.from, r.to}
		for _, id := range ids {
			args = append(args, id)
		}
		rows, err := s.r.QueryContext(ctx, bucketsSQL(table, len(ids)), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var (
			cur  rollup // the period being summed
			have bool   // cur holds a row
			bars []Bucket
		)
		flush := func() {
			b := Bucket{At: fromMillis(cur.ts), Up: cur.up, Down: cur.down, Degraded: cur.degraded}
			if cur.n > 0 {
				b.Avg = fromMicros(cur.sum / cur.n)
			}
			bars = append(bars, b)
		}
		for rows.Next() {
			var r rollup
			if err := rows.Scan(&r.monitorID, &r.ts, &r.up, &r.down, &r.degraded, &r.n, &r.sum); err != nil {
				return err
			}
			if have && r.monitorID == cur.monitorID && r.ts == cur.ts {
				cur.up, cur.down, cur.n, cur.sum = cur.up+r.up, cur.down+r.down, cur.n+r.n, cur.sum+r.sum
				cur.degraded += r.degraded
				continue // another region of the same period
			}
			if have {
				flush()
				if r.monitorID != cur.monitorID {
					out[cur.monitorID], bars = bars, nil
				}
			}
			cur, have = r, true
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if have {
			flush()
			out[cur.monitorID] = bars
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: history of %d monitors: %w", len(monitorIDs), err)
	}
	return out, nil
}

// LatencySeries summarises a monitor's checks (all regions) over [from, to)
// in points of step, and says which resolution it read: raw checks when
// the range is at most 6 h, hourly roll-ups up to 31 days, daily beyond.
// Step is rounded up to a whole number of the resolution's unit (1 min for
// raw, else 1 h or 1 day); points start at multiples of step since the
// Unix epoch (UTC), come in time order, and steps without checks are left
// out. For roll-ups the range is snapped outward to whole hours or days.
//
// Up and Down count every check. Latency figures (Count, Avg, P95, Min,
// Max, phase averages) are over the checks with a latency only: those that
// passed or got a status code; a timeout or refused connection has none.
// P95 is the exact nearest-rank value for raw checks, and interpolated in
// the latency histogram (see LatencyBounds) for roll-ups; the other
// figures are exact at every resolution (averages truncated to 1 µs).
func (s *Store) LatencySeries(ctx context.Context, monitorID int64, from, to time.Time, step time.Duration) ([]LatencyPoint, string, error) {
	return s.LatencySeriesInRegion(ctx, monitorID, "", from, to, step)
}

// LatencySeriesInRegion is LatencySeries over the checks made from region
// only, at every resolution; "" is all regions together, as LatencySeries.
func (s *Store) LatencySeriesInRegion(ctx context.Context, monitorID int64, region string, from, to time.Time, step time.Duration) ([]LatencyPoint, string, error) {
	res, unit := ResolutionDaily, 24*time.Hour
	switch d := to.Sub(from); {
	case d <= rawSpan:
		res, unit = ResolutionRaw, time.Minute
	case d <= hourlySpan:
		res, unit = ResolutionHourly, time.Hour
	}
	step = max(step, unit)
	if r := step % unit; r != 0 {
		step += unit - r
	}
	var (
		points []LatencyPoint
		err    error
	)
	switch res {
	case ResolutionRaw:
		points, err = s.rawSeries(ctx, monitorID, region, from, to, step)
	case ResolutionHourly:
		points, err = s.rollupSeries(ctx, "hourly", monitorID, region, from, to, step, hourMS)
	default:
		points, err = s.rollupSeries(ctx, "daily", monitorID, region, from, to, step, dayMS)
	}
	if err != nil {
		if region != "" {
			return nil, res, fmt.Errorf("store: latency of monitor %d in %q (%s): %w", monitorID, region, res, err)
		}
		return nil, res, fmt.Errorf("store: latency of monitor %d (%s): %w", monitorID, res, err)
	}
	return points, res, nil
}

// rawP95 is the nearest-rank 95th percentile of the latencies, sorting them.
func rawP95(lat []int64) int64 {
	if len(lat) == 0 {
		return 0
	}
	slices.Sort(lat)
	rank := (95*len(lat) + 99) / 100 // ceil(0.95 n)
	return lat[max(rank, 1)-1]
}

// rawSeriesSQL reads one monitor's checks in a range, in time order, through
// the (monitor_id, ts, region) index: monitor, range, then the region if
// byRegion.
func rawSeriesSQL(byRegion bool) string {
	q := `SELECT ts, ok, status_code, latency_us,
		dns_us, connect_us, tls_us, ttfb_us, transfer_us
		FROM checks WHERE monitor_id = ? AND ts >= ? AND ts < ?`
	if byRegion {
		q += ` AND region = ?`
	}
	return q + ` ORDER BY ts`
}

var rawSeriesQuery = [2]string{rawSeriesSQL(false), rawSeriesSQL(true)}

func (s *Store) rawSeries(ctx context.Context, monitorID int64, region string, from, to time.Time, step time.Duration) ([]LatencyPoint, error) {
	if !from.Before(to) {
		return nil, nil
	}
	stepMS := step.Milliseconds()
	args := []any{monitorID, ceilMillis(from), ceilMillis(to)}
	if region != "" {
		args = append(args, region)
	}
	rows, err := s.r.QueryContext(ctx, rawSeriesQuery[b2i(region != "")], args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		points []LatencyPoint
		cur    rollup // of the step being read
		lat    []int64
	)
	flush := func() {
		if cur.up+cur.down > 0 {
			p := cur.point()
			p.P95 = fromMicros(rawP95(lat))
			points = append(points, p)
		}
		lat = lat[:0]
	}
	for rows.Next() {
		var ts int64
		var c Check
		var latUS, dns, conn, tls, ttfb, xfer int64
		if err := rows.Scan(&ts, &c.OK, &c.StatusCode, &latUS, &dns, &conn, &tls, &ttfb, &xfer); err != nil {
			return nil, err
		}
		c.Latency = fromMicros(latUS)
		c.Phases = Phases{DNS: fromMicros(dns), Connect: fromMicros(conn), TLS: fromMicros(tls),
			TTFB: fromMicros(ttfb), Transfer: fromMicros(xfer)}
		if at := floorTo(ts, stepMS); at != cur.ts || cur.up+cur.down == 0 {
			flush()
			cur = rollup{ts: at}
		}
		cur.addCheck(&c)
		if hasLatency(c.OK, c.StatusCode) {
			lat = append(lat, latUS)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	flush()
	return points, nil
}

// rollupSeriesSQL sums the roll-up rows of one monitor per step (?1 ms):
// ?2 monitor, ?3/?4 the range, and ?5 the region if byRegion (all regions
// otherwise).
func rollupSeriesSQL(table string, byRegion bool) string {
	var b strings.Builder
	b.WriteString(`SELECT ts / ?1 * ?1 AS at, SUM(up), SUM(down), SUM(lat_n), SUM(lat_sum_us),
		MIN(CASE WHEN lat_n > 0 THEN lat_min_us END), MAX(lat_max_us),
		SUM(dns_us), SUM(connect_us), SUM(tls_us), SUM(ttfb_us), SUM(transfer_us)`)
	for i := range histBuckets {
		fmt.Fprintf(&b, ", SUM(h%02d)", i)
	}
	b.WriteString(` FROM ` + table + ` WHERE monitor_id = ?2 AND ts >= ?3 AND ts < ?4`)
	if byRegion {
		b.WriteString(` AND region = ?5`)
	}
	b.WriteString(` GROUP BY at ORDER BY at`)
	return b.String()
}

// rollupSeriesQuery is the query of each table, all regions [0] or one [1].
var rollupSeriesQuery = map[string][2]string{
	"hourly": {rollupSeriesSQL("hourly", false), rollupSeriesSQL("hourly", true)},
	"daily":  {rollupSeriesSQL("daily", false), rollupSeriesSQL("daily", true)},
}

// b2i is 1 for true, 0 for false.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *Store) rollupSeries(ctx context.Context, table string, monitorID int64, region string, from, to time.Time, step time.Duration, unit int64) ([]LatencyPoint, error) {
	r := span{floorTo(toMillis(from), unit), ceilTo(ceilMillis(to), unit)}
	if r.empty() {
		return nil, nil
	}
	args := []any{step.Milliseconds(), monitorID, r.from, r.to}
	if region != "" {
		args = append(args, region)
	}
	rows, err := s.r.QueryContext(ctx, rollupSeriesQuery[table][b2i(region != "")], args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var points []LatencyPoint
	for rows.Next() {
		var x rollup
		var minLat sql.NullInt64
		dest := []any{&x.ts, &x.up, &x.down, &x.n, &x.sum, &minLat, &x.max,
			&x.dns, &x.connect, &x.tls, &x.ttfb, &x.transfer}
		for i := range x.hist {
			dest = append(dest, &x.hist[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		x.min = minLat.Int64
		p := x.point()
		p.P95 = fromMicros(x.quantile(0.95))
		points = append(points, p)
	}
	return points, rows.Err()
}

// point is the LatencyPoint of a summed roll-up, without P95.
func (r *rollup) point() LatencyPoint {
	p := LatencyPoint{At: fromMillis(r.ts), Count: r.n, Up: r.up, Down: r.down}
	if r.n > 0 {
		avg := func(sum int64) time.Duration { return fromMicros(sum / r.n) }
		p.Avg, p.Min, p.Max = avg(r.sum), fromMicros(r.min), fromMicros(r.max)
		p.DNS, p.Connect, p.TLS, p.TTFB, p.Transfer = avg(r.dns), avg(r.connect), avg(r.tls), avg(r.ttfb), avg(r.transfer)
	}
	return p
}

// RegionUptime counts one monitor's up, down and degraded checks in
// [from, to) per region, from the hourly roll-ups (snapped outward to
// whole hours).
func (s *Store) RegionUptime(ctx context.Context, monitorID int64, from, to time.Time) (map[string]Uptime, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT region, SUM(up), SUM(down), SUM(degraded) FROM hourly
		WHERE monitor_id = ? AND ts >= ? AND ts < ? GROUP BY region`,
		monitorID, floorTo(toMillis(from), hourMS), ceilTo(ceilMillis(to), hourMS))
	if err != nil {
		return nil, fmt.Errorf("store: region uptime of monitor %d: %w", monitorID, err)
	}
	defer rows.Close()
	out := map[string]Uptime{}
	for rows.Next() {
		var region string
		var u Uptime
		if err := rows.Scan(&region, &u.Up, &u.Down, &u.Degraded); err != nil {
			return nil, fmt.Errorf("store: region uptime of monitor %d: %w", monitorID, err)
		}
		out[region] = u
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: region uptime of monitor %d: %w", monitorID, err)
	}
	return out, nil
}
