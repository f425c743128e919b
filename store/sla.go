package store

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Span is a half-open interval of time [From, To).
type Span struct {
	From, To time.Time
}

// SLA is a monitor's service level over a period (a month, up to now
// for the current one): downtime is the time its incidents were open,
// minus maintenance; the period it is measured against leaves maintenance
// out as well. Exact to the millisecond the store keeps.
type SLA struct {
	From, To    time.Time     // the period measured
	Maintenance time.Duration // of it, inside maintenance windows
	Downtime    time.Duration // incidents, outside maintenance
	Incidents   int           // incidents with downtime in the period
	Longest     time.Duration // the longest incident's downtime in the period
	// MTTR is the mean time to recovery of the incidents resolved in the
	// period (their whole downtime outside maintenance); zero if none.
	MTTR     time.Duration
	Resolved int
}

// Measured is the period without maintenance.
func (s SLA) Measured() time.Duration { return s.To.Sub(s.From) - s.Maintenance }

// UptimePercent is 100 × (measured − downtime) / measured; false when
// nothing was measured (the whole period was maintenance).
func (s SLA) UptimePercent() (float64, bool) {
	m := s.Measured()
	if m <= 0 {
		return 0, false
	}
	return 100 * float64(m-s.Downtime) / float64(m), true
}

// IncidentSpans lists a monitor's incidents that overlap [from, to), as
// they were (an open one ends at to), oldest first.
func (s *Store) IncidentSpans(ctx context.Context, monitorID int64, from, to time.Time) ([]Span, []bool, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT started_at, resolved_at FROM incidents
		WHERE monitor_id = ? AND started_at < ? AND (resolved_at IS NULL OR resolved_at > ?)
		ORDER BY started_at, id`, monitorID, toMillis(to), toMillis(from))
	if err != nil {
		return nil, nil, fmt.Errorf("store: incidents of monitor %d: %w", monitorID, err)
	}
	defer rows.Close()
	var spans []Span
	var resolved []bool
	for rows.Next() {
		var st int64
		var end *int64
		if err := rows.Scan(&st, &end); err != nil {
			return nil, nil, fmt.Errorf("store: incidents of monitor %d: %w", monitorID, err)
		}
		sp := Span{From: fromMillis(st), To: to}
		if end != nil {
			sp.To = fromMillis(*end)
		}
		spans = append(spans, sp)
		resolved = append(resolved, end != nil)
	}
	return spans, resolved, rows.Err()
}

// MergeSpans sorts spans and joins the overlapping ones.
func MergeSpans(spans []Span) []Span {
	s := slices.Clone(spans)
	slices.SortFunc(s, func(a, b Span) int { return a.From.Compare(b.From) })
	var out []Span
	for _, sp := range s {
		if !sp.From.Before(sp.To) {
			continue
		}
		if n := len(out); n > 0 && !sp.From.After(out[n-1].To) {
			if sp.To.After(out[n-1].To) {
				out[n-1].To = sp.To
			}
			continue
		}
		out = append(out, sp)
	}
	return out
}

// outside is how much of sp lies in [from, to) and outside the merged
// spans maint.
func outside(sp Span, from, to time.Time, maint []Span) time.Duration {
	if sp.From.Before(from) {
		sp.From = from
	}
	if sp.To.After(to) {
		sp.To = to
	}
	if !sp.From.Before(sp.To) {
		return 0
	}
	d := sp.To.Sub(sp.From)
	for _, m := range maint {
		lo, hi := m.From, m.To
		if lo.Before(sp.From) {
			lo = sp.From
		}
		if hi.After(sp.To) {
			hi = sp.To
		}
		if lo.Before(hi) {
			d -= hi.Sub(lo)
		}
	}
	return d
}

// ComputeSLA measures [from, to) from the incidents (resolved[i] tells
// whether incidents[i] was resolved) and the maintenance intervals.
func ComputeSLA(from, to time.Time, incidents []Span, resolved []bool, maintenance []Span) SLA {
	maint := MergeSpans(maintenance)
	out := SLA{From: from, To: to}
	for _, m := range maint {
		out.Maintenance += outside(Span{m.From, m.To}, from, to, nil)
	}
	var sum time.Duration
	for i, in := range incidents {
		d := outside(in, from, to, maint)
		if d <= 0 {
			continue
		}
		out.Incidents++
		out.Downtime += d
		out.Longest = max(out.Longest, d)
		if i < len(resolved) && resolved[i] && in.To.After(from) && !in.To.After(to) {
			// Its whole downtime, also the part before the period.
			sum += outside(in, in.From, in.To, maint)
			out.Resolved++
		}
	}
	if out.Resolved > 0 {
		out.MTTR = sum / time.Duration(out.Resolved)
	}
	return out
}
