package app

import (
	"context"
	"encoding/csv"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/store"
	"github.com/upwatch/upwatch/views"
)

// slaJSON is GET /api/v1/monitors/{id}/sla?month=YYYY-MM.
type slaJSON struct {
	MonitorID          int64     `json:"monitor_id"`
	Monitor            string    `json:"monitor"`
	Month              string    `json:"month"`
	From               time.Time `json:"from"`
	To                 time.Time `json:"to"` // the month's end, or now for the current month
	UptimePercent      *float64  `json:"uptime_percent"`
	DowntimeSeconds    int64     `json:"downtime_seconds"`
	DowntimeMinutes    float64   `json:"downtime_minutes"`
	MaintenanceSeconds int64     `json:"maintenance_seconds"`
	MeasuredSeconds    int64     `json:"measured_seconds"` // the period without maintenance
	Incidents          int       `json:"incidents"`
	LongestSeconds     int64     `json:"longest_incident_seconds"`
	MTTRSeconds        *int64    `json:"mttr_seconds"` // nil when no incident was resolved in the month
}

// monthSpan parses "YYYY-MM" (empty: this month) into the month's span in
// UTC, cut at now.
func monthSpan(v string, now time.Time) (string, time.Time, time.Time, error) {
	now = now.UTC()
	if v == "" {
		v = now.Format("2006-01")
	}
	from, err := time.Parse("2006-01", v)
	if err != nil {
		return v, from, from, badRequest("month", "must be a month as YYYY-MM")
	}
	if from.After(now) {
		return v, from, from, badRequest("month", "is in the future")
	}
	to := from.AddDate(0, 1, 0)
	if to.After(now) {
		to = now
	}
	return v, from, to, nil
}

// maintenanceSpans are the occurrences of a monitor's windows in [from, to).
func (a *App) maintenanceSpans(ctx context.Context, userID, monitorID int64, from, to time.Time) ([]store.Span, error) {
	list, err := a.st.ListMaintenance(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []store.Span
	for _, m := range list {
		if !slices.Contains(m.Monitors, monitorID) {
			continue
		}
		_, w, _, _ := checker.CompileMaintenance(m)
		if w == nil {
			continue
		}
		t := from
		for range 10000 { // a month of a window every few minutes at most
			s, e, ok := w.Occurrence(t)
			if !ok || !s.Before(to) {
				break
			}
			out = append(out, store.Span{From: s, To: e})
			t = e
		}
	}
	return out, nil
}

// sla computes a monitor's SLA for a month.
func (a *App) sla(r *http.Request) (slaJSON, error) {
	u := userFrom(r.Context())
	id, err := pathID(r)
	if err != nil {
		return slaJSON{}, err
	}
	m, err := a.st.GetMonitor(r.Context(), u.ID, id)
	if err != nil {
		return slaJSON{}, storeErr(err)
	}
	month, from, to, err := monthSpan(r.URL.Query().Get("month"), a.now())
	if err != nil {
		return slaJSON{}, err
	}
	incidents, resolved, err := a.st.IncidentSpans(r.Context(), id, from, to)
	if err != nil {
		return slaJSON{}, err
	}
	maint, err := a.maintenanceSpans(r.Context(), u.ID, id, from, to)
	if err != nil {
		return slaJSON{}, err
	}
	s := store.ComputeSLA(from, to, incidents, resolved, maint)
	j := slaJSON{MonitorID: id, Monitor: m.Name, Month: month, From: from, To: to,
		DowntimeSeconds: int64(s.Downtime / time.Second), DowntimeMinutes: float64(s.Downtime) / float64(time.Minute),
		MaintenanceSeconds: int64(s.Maintenance / time.Second), MeasuredSeconds: int64(s.Measured() / time.Second),
		Incidents: s.Incidents, LongestSeconds: int64(s.Longest / time.Second)}
	if p, ok := s.UptimePercent(); ok {
		j.UptimePercent = &p
	}
	if s.Resolved > 0 {
		v := int64(s.MTTR / time.Second)
		j.MTTRSeconds = &v
	}
	return j, nil
}

func (a *App) apiSLA(w http.ResponseWriter, r *http.Request) {
	j, err := a.sla(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if r.URL.Query().Get("format") == "csv" {
		writeSLACSV(w, j)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// writeSLACSV answers with a header and one row.
func writeSLACSV(w http.ResponseWriter, j slaJSON) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="sla-`+strconv.FormatInt(j.MonitorID, 10)+"-"+j.Month+`.csv"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	cw := csv.NewWriter(w)
	up, mttr := "", ""
	if j.UptimePercent != nil {
		up = strconv.FormatFloat(*j.UptimePercent, 'f', 4, 64)
	}
	if j.MTTRSeconds != nil {
		mttr = strconv.FormatInt(*j.MTTRSeconds, 10)
	}
	_ = cw.Write([]string{"monitor_id", "monitor", "month", "from", "to", "uptime_percent", "downtime_minutes",
		"maintenance_minutes", "incidents", "longest_incident_seconds", "mttr_seconds"})
	_ = cw.Write([]string{strconv.FormatInt(j.MonitorID, 10), csvSafe(j.Monitor), j.Month, j.From.Format(time.RFC3339),
		j.To.Format(time.RFC3339), up, strconv.FormatFloat(j.DowntimeMinutes, 'f', 2, 64),
		strconv.FormatFloat(float64(j.MaintenanceSeconds)/60, 'f', 2, 64), strconv.Itoa(j.Incidents),
		strconv.FormatInt(j.LongestSeconds, 10), mttr})
	cw.Flush()
}

// csvSafe keeps a spreadsheet from reading a user's text as a formula.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}

// slaPage is the printable report, GET /monitors/{id}/sla?month=YYYY-MM.
func (a *App) slaPage(w http.ResponseWriter, r *http.Request) {
	j, err := a.sla(r)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	p := views.SLAPage{Page: a.page(r, "SLA "+j.Month+" · "+j.Monitor), MonitorID: j.MonitorID, Monitor: j.Monitor,
		Month: j.Month, From: j.From, To: j.To, Uptime: "no data", Incidents: strconv.Itoa(j.Incidents),
		Downtime: span(j.DowntimeSeconds), Longest: span(j.LongestSeconds), Maintenance: span(j.MaintenanceSeconds), MTTR: "—"}
	if j.UptimePercent != nil {
		p.Uptime = strconv.FormatFloat(*j.UptimePercent, 'f', 4, 64) + "%"
	}
	if j.MTTRSeconds != nil {
		p.MTTR = span(*j.MTTRSeconds)
	}
	a.render(w, r, http.StatusOK, views.SLAReport(p))
}

// span writes seconds for people: "0 s", "2 h 5 min", "1 day 3 h".
func span(secs int64) string {
	if secs <= 0 {
		return "0 s"
	}
	out := ""
	for _, u := range []struct {
		n    int64
		unit string
	}{{86400, " d"}, {3600, " h"}, {60, " min"}, {1, " s"}} {
		if k := secs / u.n; k > 0 {
			if out != "" {
				out += " "
			}
			out += strconv.FormatInt(k, 10) + u.unit
			secs -= k * u.n
		}
	}
	return out
}
