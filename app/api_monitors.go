package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/reason"
	"github.com/upwatch/upwatch/settings"
	"github.com/upwatch/upwatch/store"
)

type monitorJSON struct {
	ID              int64               `json:"id"`
	Name            string              `json:"name"`
	Type            string              `json:"type"`
	Settings        json.RawMessage     `json:"settings"` // secrets redacted
	URL             string              `json:"url"`
	Method          string              `json:"method"`
	Headers         map[string]string   `json:"headers"`
	Body            string              `json:"body"`
	IntervalSeconds int                 `json:"interval_seconds"`
	TimeoutSeconds  int                 `json:"timeout_seconds"`
	ExpectedStatus  string              `json:"expected_status"`
	FollowRedirects bool                `json:"follow_redirects"`
	VerifyTLS       bool                `json:"verify_tls"`
	Confirmations   int                 `json:"confirmations"`
	Paused          bool                `json:"paused"`
	Channels        []int64             `json:"channels"`
	DependsOn       []int64             `json:"depends_on"`
	FlapChanges     int                 `json:"flap_changes"` // more changes than this within flap_minutes: flapping (0: off)
	FlapMinutes     int                 `json:"flap_minutes"`
	ConfirmSeconds  int                 `json:"confirm_seconds"` // failing this long (and confirmations) before DOWN
	RecoverSeconds  int                 `json:"recover_seconds"` // passing this long before the incident resolves
	ReminderMinutes int                 `json:"reminder_minutes"`
	DegradedMS      int64               `json:"degraded_latency_ms"`
	AlertDegraded   bool                `json:"alert_degraded"`
	PushURL         string              `json:"push_url,omitempty"` // push monitors: where the job pings
	Regions         []string            `json:"regions"`            // where it is checked from
	Quorum          int                 `json:"quorum"`             // regions that must see it down
	RegionStates    []regionStateJSON   `json:"region_states"`
	ChecksMissed    int64               `json:"checks_missed"` // not run in time since the server started
	CertExpiresAt   *time.Time          `json:"cert_expires_at,omitempty"`
	LastBody        *string             `json:"last_body,omitempty"` // push monitors: the newest ping's body
	Status          string              `json:"status"`
	StatusSince     time.Time           `json:"status_since"`
	LastCheck       *checkJSON          `json:"last_check"`
	Uptime          map[string]*float64 `json:"uptime"` // percent over "24h" and "30d"; null without checks
	// Degraded is the percentage of checks over the same windows that
	// passed but were degraded (they count as up in Uptime).
	Degraded  map[string]*float64 `json:"degraded"`
	CreatedAt time.Time           `json:"created_at"`
	UpdatedAt time.Time           `json:"updated_at"`

	// ChecksRateLimited counts runs skipped by the host rate cap
	// (HOST_RATE) since the server started.
	ChecksRateLimited int64 `json:"checks_rate_limited"`
}

type checkJSON struct {
	At         time.Time   `json:"at"`
	OK         bool        `json:"ok"`
	StatusCode int         `json:"status_code"`
	LatencyMS  float64     `json:"latency_ms"`
	Phases     *phasesJSON `json:"phases,omitempty"`
	Region     string      `json:"region,omitempty"`
	Worker     string      `json:"worker,omitempty"` // the worker that ran it (check lists)
	Reason     string      `json:"reason"`
	Error      string      `json:"error"`
	Degraded   bool        `json:"degraded"`
	Detail     string      `json:"detail,omitempty"` // the newest check only: what it saw
}

type phasesJSON struct {
	DNS      float64 `json:"dns_ms"`
	Connect  float64 `json:"connect_ms"`
	TLS      float64 `json:"tls_ms"`
	TTFB     float64 `json:"ttfb_ms"`
	Transfer float64 `json:"transfer_ms"`
}

// ms renders a duration in milliseconds with microsecond precision.
func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func toCheckJSON(c store.Check, phases bool) *checkJSON {
	j := &checkJSON{At: c.At.UTC(), OK: c.OK, StatusCode: c.StatusCode, LatencyMS: ms(c.Latency),
		Region: c.Region, Worker: c.Worker, Reason: c.Reason, Error: c.Error, Degraded: c.Degraded}
	if phases {
		p := c.Phases
		j.Phases = &phasesJSON{ms(p.DNS), ms(p.Connect), ms(p.TLS), ms(p.TTFB), ms(p.Transfer)}
	}
	return j
}

// monitorsJSON renders monitors with their 24 h and 30 d uptime, read for
// all of them in two queries.
func (a *App) monitorsJSON(ctx context.Context, mons ...store.Monitor) ([]monitorJSON, error) {
	ids := make([]int64, len(mons))
	for i, m := range mons {
		ids[i] = m.ID
	}
	day, month, err := a.uptimeFor(ctx, ids)
	if err != nil {
		return nil, err
	}
	deps, err := a.st.DependenciesOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	flaps, err := a.st.FlapSettingsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	periods, err := a.st.PeriodsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]monitorJSON, len(mons))
	for i, m := range mons {
		out[i] = toMonitorJSON(m, a.pushURL(m))
		out[i].Regions = a.regionsOf(m)
		out[i].Quorum = checker.QuorumOf(m.Quorum, len(out[i].Regions))
		out[i].RegionStates = []regionStateJSON{}
		for _, rs := range a.sched.RegionStates(m.ID) {
			j := regionStateJSON{Region: rs.Region, Status: rs.Status, Reason: rs.Reason, Error: rs.Error}
			if !rs.LastAt.IsZero() {
				at := rs.LastAt.UTC()
				j.LastCheckAt, j.LatencyMS = &at, ms(rs.Latency)
			}
			out[i].RegionStates = append(out[i].RegionStates, j)
			out[i].ChecksMissed += rs.Missed
		}
		out[i].ChecksRateLimited = a.rateLimited(m.ID)
		out[i].Uptime = map[string]*float64{"24h": percent(day[m.ID]), "30d": percent(month[m.ID])}
		out[i].Degraded = map[string]*float64{"24h": degradedPercent(day[m.ID]), "30d": degradedPercent(month[m.ID])}
		out[i].DependsOn = deps[m.ID]
		if out[i].DependsOn == nil {
			out[i].DependsOn = []int64{}
		}
		out[i].FlapChanges, out[i].FlapMinutes = flaps[m.ID].Changes, int(flaps[m.ID].Window/time.Minute)
		out[i].ConfirmSeconds = int(periods[m.ID].Confirm / time.Second)
		out[i].RecoverSeconds = int(periods[m.ID].Recover / time.Second)
	}
	return out, nil
}

// writeMonitor answers with one monitor.
func (a *App) writeMonitor(w http.ResponseWriter, r *http.Request, status int, m store.Monitor) {
	j, err := a.monitorsJSON(r.Context(), m)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, status, j[0])
}

type regionStateJSON struct {
	Region      string     `json:"region"`
	Status      string     `json:"status"` // pending, up, degraded, down or unknown (no recent result)
	LastCheckAt *time.Time `json:"last_check_at"`
	LatencyMS   float64    `json:"latency_ms"`
	Reason      string     `json:"reason"`
	Error       string     `json:"error"`
}

// regionsOf is where a monitor is checked from: its own regions or the
// instance's defaults (push monitors: the server).
func (a *App) regionsOf(m store.Monitor) []string {
	switch {
	case m.Type == checker.TypePush:
		return []string{checker.LocalRegion}
	case len(m.Regions) > 0:
		return m.Regions
	case len(a.cfg.DefaultRegions) > 0:
		return a.cfg.DefaultRegions
	}
	return []string{checker.LocalRegion}
}

// degradedPercent is the share of checks that were degraded, or nil
// without checks.
func degradedPercent(u store.Uptime) *float64 {
	if n := u.Up + u.Down; n > 0 {
		p := math.Round(float64(u.Degraded)/float64(n)*1e6) / 1e4
		return &p
	}
	return nil
}

func toMonitorJSON(m store.Monitor, pushURL string) monitorJSON {
	t, _ := checker.LookupType(m.Type)
	j := monitorJSON{
		ID: m.ID, Name: m.Name, Type: t.Name, Settings: settings.Redact(t.Fields, m.Settings),
		DegradedMS: m.DegradedLatency.Milliseconds(), AlertDegraded: m.AlertDegraded, PushURL: pushURL,
		URL: m.URL, Method: m.Method, Headers: m.Headers, Body: m.Body,
		IntervalSeconds: int(m.Interval / time.Second), TimeoutSeconds: int(m.Timeout / time.Second),
		ExpectedStatus: m.ExpectedStatus, FollowRedirects: m.FollowRedirects, VerifyTLS: m.VerifyTLS,
		Confirmations: m.Confirmations, Paused: m.Paused, Channels: m.Channels, ReminderMinutes: int(m.ReminderEvery / time.Minute),
		Status: m.State.Status, StatusSince: m.State.Since.UTC(),
		CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(),
	}
	if j.Headers == nil {
		j.Headers = map[string]string{}
	}
	if j.Channels == nil {
		j.Channels = []int64{}
	}
	if m.LastCheck != nil {
		j.LastCheck = toCheckJSON(*m.LastCheck, false)
		j.LastCheck.Detail = m.LastCheck.Detail
	}
	if !m.CertExpiresAt.IsZero() {
		exp := m.CertExpiresAt.UTC()
		j.CertExpiresAt = &exp
	}
	if m.Type == checker.TypePush {
		j.LastBody = &m.LastBody
	}
	return j
}

// pathID parses {id}; anything but a positive integer is simply not found.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}

func storeErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound
	}
	return err
}

func (a *App) apiCreateMonitor(w http.ResponseWriter, r *http.Request) {
	var in monitorInput
	if err := decodeJSON(w, r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	m, err := a.createMonitor(r, in)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/monitors/"+strconv.FormatInt(m.ID, 10))
	a.writeMonitor(w, r, http.StatusCreated, m)
}

// createMonitor validates, stores and schedules; shared by API and form.
func (a *App) createMonitor(r *http.Request, in monitorInput) (store.Monitor, error) {
	u := userFrom(r.Context())
	m, fe := applyMonitor(newMonitorDefaults(a.defaultIntervalFor(u)), in, true)
	if fe = append(fe, a.intervalFloor(u, &m, in, true)...); len(fe) > 0 {
		return m, fe
	}
	m.UserID = u.ID
	if err := ensurePushToken(&m); err != nil {
		return m, err
	}
	if err := a.checkQuiet(r.Context(), m.UserID, 0, in); err != nil {
		return m, err
	}
	m, err := a.st.CreateMonitor(r.Context(), m)
	err = quotaFields(err)
	if errors.Is(err, store.ErrNotFound) {
		return m, FieldErrors{{Field: "channels", Message: "names a channel that does not exist"}}
	}
	if err != nil {
		return m, err
	}
	if err := a.setQuiet(r.Context(), m.UserID, m.ID, in); err != nil {
		return m, err
	}
	a.reschedule(r.Context(), m.ID)
	return m, nil
}

// updateMonitor applies a partial update; shared by API and form.
func (a *App) updateMonitor(r *http.Request, id int64, in monitorInput) (store.Monitor, error) {
	cur, err := a.st.GetMonitor(r.Context(), userFrom(r.Context()).ID, id)
	if err != nil {
		return cur, storeErr(err)
	}
	m, fe := applyMonitor(cur, in, false)
	if fe = append(fe, a.intervalFloor(userFrom(r.Context()), &m, in, false)...); len(fe) > 0 {
		return m, fe
	}
	if err := ensurePushToken(&m); err != nil {
		return m, err
	}
	if err := a.checkQuiet(r.Context(), m.UserID, m.ID, in); err != nil {
		return m, err
	}
	m, err = a.st.UpdateMonitor(r.Context(), m)
	if errors.Is(err, store.ErrNotFound) && in.Channels != nil {
		// The monitor was there a moment ago: the channel is what is missing.
		if _, gerr := a.st.GetMonitor(r.Context(), m.UserID, m.ID); gerr == nil {
			return m, FieldErrors{{Field: "channels", Message: "names a channel that does not exist"}}
		}
	}
	if err != nil {
		return m, storeErr(err)
	}
	if err := a.setQuiet(r.Context(), m.UserID, m.ID, in); err != nil {
		return m, err
	}
	a.reschedule(r.Context(), m.ID)
	a.hub.MonitorChanged(m, false)
	return m, nil
}

// ensurePushToken gives a push monitor its secret URL once, and takes it
// from a monitor that is no longer a push monitor.
func ensurePushToken(m *store.Monitor) error {
	switch {
	case m.Type != checker.TypePush:
		m.PushToken = ""
	case m.PushToken == "":
		tok, err := newPushToken()
		if err != nil {
			return fmt.Errorf("push token: %w", err)
		}
		m.PushToken = tok
	}
	return nil
}

type reasonJSON struct {
	Code  string `json:"code"`
	Label string `json:"label"`
}

type monitorTypeJSON struct {
	checker.Type
	Reasons []reasonJSON `json:"reasons"`
}

// apiMonitorTypes lists every monitor type with its settings fields, like
// channel-types does for alert channels.
func (a *App) apiMonitorTypes(w http.ResponseWriter, r *http.Request) {
	var items []monitorTypeJSON
	for _, t := range checker.Types() {
		j := monitorTypeJSON{Type: t, Reasons: []reasonJSON{}}
		j.Fields = append([]settings.FieldInfo{}, t.Fields...) // [] rather than null for a type without settings
		for _, c := range t.Reasons {
			j.Reasons = append(j.Reasons, reasonJSON{c, reason.Label(c)})
		}
		items = append(items, j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (a *App) deleteMonitor(r *http.Request, id int64) error {
	if err := a.st.DeleteMonitor(r.Context(), userFrom(r.Context()).ID, id); err != nil {
		return storeErr(err)
	}
	a.sched.Remove(id)
	a.hub.MonitorChanged(store.Monitor{ID: id}, true)
	return nil
}

func (a *App) apiGetMonitor(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	m, err := a.st.GetMonitor(r.Context(), userFrom(r.Context()).ID, id)
	if err != nil {
		a.writeError(w, r, storeErr(err))
		return
	}
	a.writeMonitor(w, r, http.StatusOK, m)
}

func (a *App) apiUpdateMonitor(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in monitorInput
	if err := decodeJSON(w, r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	m, err := a.updateMonitor(r, id, in)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeMonitor(w, r, http.StatusOK, m)
}

func (a *App) apiDeleteMonitor(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = a.deleteMonitor(r, id)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *App) apiNotFound(w http.ResponseWriter, r *http.Request) {
	a.writeError(w, r, &apiError{Status: http.StatusNotFound, Title: "Not found", Detail: "no such endpoint: " + r.Method + " " + r.URL.Path})
}
