package app

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/upwatch/upwatch/store"
)

// maxRange bounds history queries: five years of daily points at most.
const maxRange = 5 * 366 * 24 * time.Hour

// parseWindow reads "24h", "7d", "2w" (hours, days, weeks).
func parseWindow(s string) (time.Duration, bool) {
	if len(s) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 {
		return 0, false
	}
	unit := map[byte]time.Duration{'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[s[len(s)-1]]
	if unit == 0 || time.Duration(n) > maxRange/unit {
		return 0, false
	}
	return time.Duration(n) * unit, true
}

// parseTime accepts RFC 3339 or Unix seconds.
func parseTime(field, s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > 1<<40 {
			return time.Time{}, badRequest(field, "is out of range")
		}
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, badRequest(field, "must be RFC 3339 (2026-01-02T15:04:05Z) or Unix seconds")
	}
	return t.UTC(), nil
}

// timeRange reads from/to (default: the last `def` up to now) and checks them.
func (a *App) timeRange(r *http.Request, def time.Duration) (time.Time, time.Time, error) {
	q := r.URL.Query()
	to := a.now().UTC()
	if s := q.Get("to"); s != "" {
		t, err := parseTime("to", s)
		if err != nil {
			return to, to, err
		}
		to = t
	}
	from := to.Add(-def)
	if s := q.Get("from"); s != "" {
		t, err := parseTime("from", s)
		if err != nil {
			return from, to, err
		}
		from = t
	}
	switch {
	case !from.Before(to):
		return from, to, badRequest("from", "must be before to")
	case to.Sub(from) > maxRange:
		return from, to, badRequest("from", "range is longer than 5 years")
	}
	return from, to, nil
}

// regionParam reads ?region=: "" (absent or empty) for all regions
// together, else one of the monitor's regions; any other is refused (422).
func (a *App) regionParam(r *http.Request, m store.Monitor) (string, error) {
	region := r.URL.Query().Get("region")
	if region == "" {
		return "", nil
	}
	regions := a.regionsOf(m)
	if !slices.Contains(regions, region) {
		return "", invalid(FieldErrors{{Field: "region",
			Message: fmt.Sprintf("%q is not a region of this monitor (%s)", trunc(region, 40), strings.Join(regions, ", "))}})
	}
	return region, nil
}

// percent renders an uptime ratio as a percentage, or null without checks.
func percent(u store.Uptime) *float64 {
	r, ok := u.Ratio()
	if !ok {
		return nil
	}
	p := math.Round(r*1e6) / 1e4
	return &p
}

type uptimeJSON struct {
	Window string    `json:"window,omitempty"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Up     int64     `json:"up"`
	Down   int64     `json:"down"`
	Uptime *float64  `json:"uptime"` // percent
}

func (a *App) apiUptime(w http.ResponseWriter, r *http.Request) {
	m, err := a.ownedMonitor(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	region, err := a.regionParam(r, m)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	var items []uptimeJSON
	if q.Has("from") || q.Has("to") {
		from, to, err := a.timeRange(r, 24*time.Hour)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		items = append(items, uptimeJSON{From: from, To: to})
	} else {
		spec := q.Get("windows")
		if spec == "" {
			spec = "24h,7d,30d,90d"
		}
		now := a.now().UTC()
		parts := strings.Split(spec, ",")
		if len(parts) > 10 {
			a.writeError(w, r, badRequest("windows", "at most 10 windows"))
			return
		}
		for _, p := range parts {
			d, ok := parseWindow(strings.TrimSpace(p))
			if !ok {
				a.writeError(w, r, badRequest("windows", "%q is not a window like 24h, 7d or 2w (at most 5 years)", trunc(p, 20)))
				return
			}
			items = append(items, uptimeJSON{Window: strings.TrimSpace(p), From: now.Add(-d), To: now})
		}
	}
	for i := range items {
		u, err := a.st.UptimeInRegion(r.Context(), []int64{m.ID}, region, items[i].From, items[i].To)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		items[i].Up, items[i].Down, items[i].Uptime = u[m.ID].Up, u[m.ID].Down, percent(u[m.ID])
	}
	out := map[string]any{"items": items}
	if region != "" {
		out["region"] = region
	}
	writeJSON(w, http.StatusOK, out)
}

type pointJSON struct {
	At         time.Time `json:"at"`
	Count      int64     `json:"count"`
	Up         int64     `json:"up"`
	Down       int64     `json:"down"`
	AvgMS      float64   `json:"avg_ms"`
	P95MS      float64   `json:"p95_ms"`
	MinMS      float64   `json:"min_ms"`
	MaxMS      float64   `json:"max_ms"`
	DNSMS      float64   `json:"dns_ms"`
	ConnectMS  float64   `json:"connect_ms"`
	TLSMS      float64   `json:"tls_ms"`
	TTFBMS     float64   `json:"ttfb_ms"`
	TransferMS float64   `json:"transfer_ms"`
}

// maxPoints caps a latency series; a finer step than that is refused.
const maxPoints = 5000

func (a *App) apiLatency(w http.ResponseWriter, r *http.Request) {
	m, err := a.ownedMonitor(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	from, to, err := a.timeRange(r, 24*time.Hour)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	region, err := a.regionParam(r, m)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	step := (to.Sub(from) / 200).Round(time.Minute)
	if s := r.URL.Query().Get("step"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			if n, nerr := strconv.Atoi(s); nerr == nil {
				d, err = time.Duration(n)*time.Second, nil
			}
		}
		if err != nil || d <= 0 {
			a.writeError(w, r, badRequest("step", "must be a positive duration like 5m, 1h or seconds"))
			return
		}
		if to.Sub(from)/d > maxPoints {
			a.writeError(w, r, badRequest("step", "gives more than %d points for this range", maxPoints))
			return
		}
		step = d
	}
	points, res, err := a.st.LatencySeriesInRegion(r.Context(), m.ID, region, from, to, max(step, time.Minute))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	items := make([]pointJSON, len(points))
	for i, p := range points {
		items[i] = pointJSON{At: p.At.UTC(), Count: p.Count, Up: p.Up, Down: p.Down,
			AvgMS: ms(p.Avg), P95MS: ms(p.P95), MinMS: ms(p.Min), MaxMS: ms(p.Max),
			DNSMS: ms(p.DNS), ConnectMS: ms(p.Connect), TLSMS: ms(p.TLS), TTFBMS: ms(p.TTFB), TransferMS: ms(p.Transfer)}
	}
	out := map[string]any{"from": from, "to": to, "resolution": res, "items": items}
	if region != "" {
		out["region"] = region
	}
	writeJSON(w, http.StatusOK, out)
}

type incidentJSON struct {
	ID              int64      `json:"id"`
	MonitorID       int64      `json:"monitor_id"`
	Status          string     `json:"status"` // open|resolved
	StartedAt       time.Time  `json:"started_at"`
	ResolvedAt      *time.Time `json:"resolved_at"`
	DurationSeconds int64      `json:"duration_seconds"`
	Reason          string     `json:"reason"`
	Error           string     `json:"error"`
	StatusCode      int        `json:"status_code"`
	Excerpt         string     `json:"excerpt"`
	Acknowledged    *ackJSON   `json:"acknowledged"`
}

type ackJSON struct {
	By    int64     `json:"by"`
	Email string    `json:"email"`
	At    time.Time `json:"at"`
}

func (a *App) toIncidentJSON(i store.Incident) incidentJSON {
	j := incidentJSON{ID: i.ID, MonitorID: i.MonitorID, Status: "open", StartedAt: i.StartedAt.UTC(),
		Reason: i.Reason, Error: i.Error, StatusCode: i.StatusCode, Excerpt: i.Excerpt}
	end := a.now()
	if !i.Open() {
		t := i.ResolvedAt.UTC()
		j.Status, j.ResolvedAt, end = "resolved", &t, t
	}
	j.DurationSeconds = int64(end.Sub(i.StartedAt) / time.Second)
	if i.AckedBy != 0 {
		j.Acknowledged = &ackJSON{By: i.AckedBy, Email: i.AckedEmail, At: i.AckedAt.UTC()}
	}
	return j
}

func (a *App) apiAcknowledge(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	u := userFrom(r.Context())
	inc, err := a.st.AcknowledgeIncident(r.Context(), u.ID, id, u.ID)
	if err != nil {
		a.writeError(w, r, storeErr(err))
		return
	}
	writeJSON(w, http.StatusOK, a.toIncidentJSON(inc))
}

// apiBackup streams a consistent copy of the live database (admins only).
// The copy is made from a read snapshot (see store.Backup), so checks and
// other writes go on while it is made; it is staged in the temporary
// directory, then sent.
func (a *App) apiBackup(w http.ResponseWriter, r *http.Request) {
	if !userFrom(r.Context()).Admin {
		a.writeError(w, r, errForbidden)
		return
	}
	dir, err := os.MkdirTemp("", "upwatch-backup-")
	if err != nil {
		a.writeError(w, r, fmt.Errorf("backup temp dir: %w", err))
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "upwatch.db")
	if err := a.st.Backup(r.Context(), path); err != nil {
		if store.Fault(err) == store.ErrDiskFull { // the copy's disk, not the database's
			a.log.Warn("backup failed: no room for the copy", "dir", dir, "err", err)
			err = &apiError{Status: http.StatusInsufficientStorage, Title: "Insufficient storage", RetryAfter: 60,
				Detail: "no room for the backup copy in the server's temporary directory (" + os.TempDir() + "); free space there or set TMPDIR", wrapped: err}
		}
		a.writeError(w, r, err)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		a.writeError(w, r, fmt.Errorf("open backup: %w", err))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		a.writeError(w, r, fmt.Errorf("stat backup: %w", err))
		return
	}
	name := "upwatch-" + a.now().UTC().Format("20060102-150405") + ".db"
	w.Header().Set("Content-Type", "application/vnd.sqlite3")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
	// A large database takes longer than the server's write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	if _, err := io.Copy(w, f); err != nil {
		a.log.Warn("backup download interrupted", "err", err)
	}
}

// uptimeFor fetches 24 h and 30 d uptime of many monitors at once.
func (a *App) uptimeFor(ctx context.Context, ids []int64) (day, month map[int64]store.Uptime, err error) {
	now := a.now()
	if day, err = a.st.Uptime(ctx, ids, now.Add(-24*time.Hour), now); err != nil {
		return nil, nil, err
	}
	if month, err = a.st.Uptime(ctx, ids, now.Add(-30*24*time.Hour), now); err != nil {
		return nil, nil, err
	}
	return day, month, nil
}
