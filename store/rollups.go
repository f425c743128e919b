package store

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// histBuckets is the number of latency histogram buckets of a roll-up row
// (columns h00…h19).
const histBuckets = 20

// latencyBoundsUS are the upper bounds (exclusive, µs) of histogram buckets
// 0…18; bucket 19 holds everything from 10 s up. Roughly log-spaced on a
// 1-2-3-5 ladder: neighbouring bounds differ by 1.5–2×, and interpolating
// inside a bucket (narrowed by the row's min and max) puts a percentile
// well within that. Changing a bound silently re-labels stored rows: a new
// table is the way to change it.
var latencyBoundsUS = [histBuckets - 1]int64{
	250, 500, // µs
	1_000, 2_000, 3_000, 5_000, // ms
	10_000, 20_000, 30_000, 50_000,
	100_000, 200_000, 300_000, 500_000,
	1_000_000, 2_000_000, 3_000_000, 5_000_000, // s
	10_000_000,
}

// LatencyBounds returns the upper bounds of the roll-ups' latency
// histogram: bucket i counts latencies in [bounds[i-1], bounds[i]) (from 0
// for i = 0), and the last bucket, one past the array, everything at or
// above the last bound. It returns a copy: the table is fixed.
func LatencyBounds() [histBuckets - 1]time.Duration {
	var b [histBuckets - 1]time.Duration
	for i, us := range latencyBoundsUS {
		b[i] = fromMicros(us)
	}
	return b
}

// histBucket is the histogram bucket of a latency in µs.
func histBucket(us int64) int {
	for i, b := range latencyBoundsUS {
		if us < b {
			return i
		}
	}
	return histBuckets - 1
}

// bucketRange is the latency range [lo, hi) of histogram bucket i in µs; hi
// is MaxInt64 for the last bucket.
func bucketRange(i int) (lo, hi int64) {
	if i > 0 {
		lo = latencyBoundsUS[i-1]
	}
	hi = math.MaxInt64
	if i < len(latencyBoundsUS) {
		hi = latencyBoundsUS[i]
	}
	return lo, hi
}

// hasLatency tells whether a check's latency means something: it passed or
// the target answered with a status. A timeout or refused connection has
// none (0 or the timeout), so it counts in Up/Down but not in latency stats.
func hasLatency(ok bool, statusCode int) bool { return ok || statusCode != 0 }

const (
	hourMS = int64(time.Hour / time.Millisecond)
	dayMS  = 24 * hourMS
)

// floorTo rounds ms down to a multiple of unit (also below 0).
func floorTo(ms, unit int64) int64 {
	q := ms / unit
	if ms%unit < 0 {
		q--
	}
	return q * unit
}

// ceilTo rounds ms up to a multiple of unit.
func ceilTo(ms, unit int64) int64 {
	f := floorTo(ms, unit)
	if f < ms {
		f += unit
	}
	return f
}

// rollup is one roll-up row being built in Go, or read back.
type rollup struct {
	monitorID int64
	ts        int64 // bucket start, Unix ms
	region    string

	up, down          int64
	degraded          int64 // up checks that were degraded
	maint             int64 // checks inside a maintenance window: neither up nor down
	n, sum, min, max  int64 // latency over the n checks with one, µs
	dns, connect, tls int64 // phase sums, µs
	ttfb, transfer    int64
	hist              [histBuckets]int64
}

func (r *rollup) addCheck(c *Check) {
	switch {
	case c.Maintenance:
		r.maint++
	case c.OK:
		r.up++
		if c.Degraded {
			r.degraded++
		}
	default:
		r.down++
	}
	if !hasLatency(c.OK, c.StatusCode) {
		return
	}
	lat := toMicros(c.Latency)
	if r.n == 0 || lat < r.min {
		r.min = lat
	}
	r.max = max(r.max, lat)
	r.n++
	r.sum += lat
	r.dns += toMicros(c.Phases.DNS)
	r.connect += toMicros(c.Phases.Connect)
	r.tls += toMicros(c.Phases.TLS)
	r.ttfb += toMicros(c.Phases.TTFB)
	r.transfer += toMicros(c.Phases.Transfer)
	r.hist[histBucket(lat)]++
}

func (r *rollup) merge(o *rollup) {
	r.up += o.up
	r.down += o.down
	r.degraded += o.degraded
	r.maint += o.maint
	if o.n > 0 {
		if r.n == 0 || o.min < r.min {
			r.min = o.min
		}
		r.max = max(r.max, o.max)
	}
	r.n += o.n
	r.sum += o.sum
	r.dns += o.dns
	r.connect += o.connect
	r.tls += o.tls
	r.ttfb += o.ttfb
	r.transfer += o.transfer
	for i, h := range o.hist {
		r.hist[i] += h
	}
}

// quantile estimates the q-quantile (0 < q ≤ 1) of the latencies, in µs,
// from the histogram: it finds the bucket holding the nearest-rank value
// and interpolates linearly inside it, with the bucket narrowed to the
// row's [min, max] (every latency lies there, so the outer buckets shrink
// to what was seen). The estimate always lies in the bucket of the true
// nearest-rank quantile.
func (r *rollup) quantile(q float64) int64 {
	if r.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(r.n))) // 1-based nearest rank
	rank = min(max(rank, 1), r.n)
	var below int64
	for i, c := range r.hist {
		if c == 0 || below+c < rank {
			below += c
			continue
		}
		lo, hi := bucketRange(i)
		lo, hi = max(lo, r.min), min(hi, r.max)
		if hi <= lo {
			return lo
		}
		// The k-th of c values sits at the middle of the k-th of c equal
		// slices of the bucket.
		frac := (float64(rank-below) - 0.5) / float64(c)
		return lo + int64(frac*float64(hi-lo))
	}
	return r.max // unreachable while the histogram sums to n
}

// rollupColumns are the roll-up tables' columns in the order of
// rollup.args; the histogram columns come last.
var rollupColumns = func() []string {
	cols := []string{"monitor_id", "ts", "region", "up", "down", "degraded", "lat_n", "lat_sum_us", "lat_min_us",
		"lat_max_us", "dns_us", "connect_us", "tls_us", "ttfb_us", "transfer_us", "maint"}
	for i := range histBuckets {
		cols = append(cols, fmt.Sprintf("h%02d", i))
	}
	return cols
}()

func (r *rollup) args(dst []any) []any {
	dst = append(dst, r.monitorID, r.ts, r.region, r.up, r.down, r.degraded, r.n, r.sum, r.min, r.max,
		r.dns, r.connect, r.tls, r.ttfb, r.transfer, r.maint)
	for _, h := range r.hist {
		dst = append(dst, h)
	}
	return dst
}

// upsertRows is how many roll-up rows one upsert statement carries: a
// statement per row costs ~10% more in driver round trips (measured with
// BenchmarkSaveChecks). Each row is a distinct key, and it is still one
// "INSERT … ON CONFLICT DO UPDATE" per key as far as SQLite is concerned.
const upsertRows = 16

// upsertSQL adds n rows into table: counts and sums add up, min and max
// combine, and the first row of a key is inserted as is. Parameters are
// anonymous: the driver resolves numbered ones by name, in time growing
// with their number.
func upsertSQL(table string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", table, strings.Join(rollupColumns, ", "))
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(rollupColumns)), ", ") + ")"
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	b.WriteString(` ON CONFLICT (monitor_id, ts, region) DO UPDATE SET
		lat_min_us = CASE WHEN excluded.lat_n = 0 THEN lat_min_us
			WHEN lat_n = 0 THEN excluded.lat_min_us
			ELSE min(lat_min_us, excluded.lat_min_us) END,
		lat_max_us = max(lat_max_us, excluded.lat_max_us)`)
	// Every right-hand side reads the row as it was, so lat_n above is the
	// old count whatever the order of the assignments.
	for _, c := range rollupColumns[3:] {
		if c == "lat_min_us" || c == "lat_max_us" {
			continue
		}
		fmt.Fprintf(&b, ",\n\t\t%s = %s + excluded.%s", c, c, c)
	}
	return b.String()
}

var (
	upsertHourly = [2]string{upsertSQL("hourly", 1), upsertSQL("hourly", upsertRows)}
	upsertDaily  = [2]string{upsertSQL("daily", 1), upsertSQL("daily", upsertRows)}
)

// addToHours folds an inserted check into hours, which saveChecks fills in
// (monitor, region, time) order, so a check's hour is either the last
// entry or a new one.
func addToHours(hours []rollup, c *Check) []rollup {
	ts := floorTo(toMillis(c.At), hourMS)
	if n := len(hours); n > 0 {
		if h := &hours[n-1]; h.monitorID == c.MonitorID && h.ts == ts && h.region == c.Region {
			h.addCheck(c)
			return hours
		}
	}
	hours = append(hours, rollup{monitorID: c.MonitorID, ts: ts, region: c.Region})
	hours[len(hours)-1].addCheck(c)
	return hours
}

// daysOf merges hours, in (monitor, region, time) order, into their UTC days.
func daysOf(hours []rollup) []rollup {
	var days []rollup
	for i := range hours {
		h := &hours[i]
		ts := floorTo(h.ts, dayMS)
		if n := len(days); n > 0 {
			if d := &days[n-1]; d.monitorID == h.monitorID && d.ts == ts && d.region == h.region {
				d.merge(h)
				continue
			}
		}
		d := *h
		d.ts = ts
		days = append(days, d)
	}
	return days
}

// saveRollups adds the hours (and the days they make up) of the checks a
// batch inserted to the roll-up tables.
func saveRollups(ctx context.Context, tx wtx, hours []rollup) error {
	if len(hours) == 0 {
		return nil
	}
	if err := upsertRollups(ctx, tx, upsertHourly, hours); err != nil {
		return fmt.Errorf("hourly roll-ups: %w", err)
	}
	if err := upsertRollups(ctx, tx, upsertDaily, daysOf(hours)); err != nil {
		return fmt.Errorf("daily roll-ups: %w", err)
	}
	return nil
}

func upsertRollups(ctx context.Context, tx wtx, stmts [2]string, rows []rollup) error {
	args := make([]any, 0, upsertRows*len(rollupColumns))
	if len(rows) >= upsertRows {
		many, err := tx.PrepareContext(ctx, stmts[1])
		if err != nil {
			return err
		}
		defer many.Close()
		for len(rows) >= upsertRows {
			args = args[:0]
			for i := range upsertRows {
				args = rows[i].args(args)
			}
			if _, err := many.ExecContext(ctx, args...); err != nil {
				return err
			}
			rows = rows[upsertRows:]
		}
	}
	if len(rows) == 0 {
		return nil
	}
	one, err := tx.PrepareContext(ctx, stmts[0])
	if err != nil {
		return err
	}
	defer one.Close()
	for i := range rows {
		if _, err := one.ExecContext(ctx, rows[i].args(args[:0])...); err != nil {
			return err
		}
	}
	return nil
}
