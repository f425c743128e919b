package app

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/store"
)

// GET /metrics speaks Prometheus, with blackbox_exporter's names for what
// a probe saw (probe_success, probe_duration_seconds, probe_http_* …), so
// dashboards and alert rules written for it work unchanged, plus upwatch's
// own (monitor state, uptime, the checker's queue and store). Each series
// of a monitor carries monitor_id, monitor (its name), type and target.
//
// Who may scrape: a client from a network in METRICS_ALLOW sees every
// monitor; anyone else needs a bearer credential (an API token of scope
// "metrics", which works nowhere else, or read/write) and sees the
// monitors that credential may read.

// phaseBook keeps the phases of each monitor's newest check, which the
// monitors table does not: fed by the result sink through the hub.
type phaseBook struct {
	mu sync.Mutex
	m  map[int64]phaseEntry
}

type phaseEntry struct {
	at     time.Time
	phases store.Phases
}

func (b *phaseBook) observe(checks []store.Check) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[int64]phaseEntry{}
	}
	for _, c := range checks {
		if e, ok := b.m[c.MonitorID]; !ok || !c.At.Before(e.at) {
			b.m[c.MonitorID] = phaseEntry{c.At, c.Phases}
		}
	}
}

func (b *phaseBook) get(id int64) (store.Phases, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.m[id]
	return e.phases, ok
}

var monitorLabels = []string{"monitor_id", "monitor", "type", "target"}

var (
	descSuccess  = prometheus.NewDesc("probe_success", "Whether the newest check of the monitor succeeded (1) or failed (0).", monitorLabels, nil)
	descDuration = prometheus.NewDesc("probe_duration_seconds", "How long the newest check took, in seconds.", monitorLabels, nil)
	descStatus   = prometheus.NewDesc("probe_http_status_code", "HTTP status code of the newest check (0 if none).", monitorLabels, nil)
	descPhase    = prometheus.NewDesc("probe_http_duration_seconds", "Duration of each phase of the newest HTTP check, in seconds.", append(slices.Clone(monitorLabels), "phase"), nil)
	descDNS      = prometheus.NewDesc("probe_dns_lookup_time_seconds", "How long the newest check's DNS lookup took, in seconds.", monitorLabels, nil)
	descCert     = prometheus.NewDesc("probe_ssl_earliest_cert_expiry", "When the certificate the newest TLS check saw expires, in Unix seconds.", monitorLabels, nil)
	descState    = prometheus.NewDesc("upwatch_monitor_status", "The monitor's state: 1 for the current one.", append(slices.Clone(monitorLabels), "status"), nil)
	descUptime   = prometheus.NewDesc("upwatch_monitor_uptime_ratio", "Share of checks that passed over the window (degraded counts as up).", append(slices.Clone(monitorLabels), "window"), nil)
	descLastAt   = prometheus.NewDesc("upwatch_monitor_last_check_timestamp_seconds", "When the newest check ran, in Unix seconds.", monitorLabels, nil)
)

// metricStates are the states upwatch_monitor_status lists for each monitor.
var metricStates = []string{store.StatusPending, store.StatusUp, store.StatusDegraded, store.StatusDown, store.StatusPaused, checker.StatusUnknown}

var metricWindows = []struct {
	name string
	d    time.Duration
}{{"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}}

// monitorCollector reports one scrape's monitors.
type monitorCollector struct {
	mons    []store.Monitor
	uptime  [](map[int64]store.Uptime) // by metricWindows
	phases  *phaseBook
	checker *checker.Health
}

func (c *monitorCollector) Describe(ch chan<- *prometheus.Desc) {} // unchecked: the series depend on the monitors

func (c *monitorCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, m := range c.mons {
		l := []string{strconv.FormatInt(m.ID, 10), m.Name, m.Type, metricTarget(m)}
		for _, s := range metricStates {
			v := 0.0
			if m.State.Status == s {
				v = 1
			}
			gauge(descState, v, append(l, s)...)
		}
		for i, w := range metricWindows {
			if r, ok := c.uptime[i][m.ID].Ratio(); ok {
				gauge(descUptime, r, append(l, w.name)...)
			}
		}
		last := m.LastCheck
		if last == nil || m.Paused {
			continue
		}
		ok := 0.0
		if last.OK {
			ok = 1
		}
		gauge(descSuccess, ok, l...)
		gauge(descDuration, last.Latency.Seconds(), l...)
		gauge(descLastAt, float64(last.At.UnixMilli())/1000, l...)
		if m.Type == checker.TypeHTTP || m.Type == "" {
			gauge(descStatus, float64(last.StatusCode), l...)
		}
		if p, ok := c.phases.get(m.ID); ok {
			if m.Type == checker.TypeHTTP || m.Type == "" {
				for _, ph := range []struct {
					name string
					d    time.Duration
				}{{"resolve", p.DNS}, {"connect", p.Connect}, {"tls", p.TLS}, {"processing", p.TTFB}, {"transfer", p.Transfer}} {
					gauge(descPhase, ph.d.Seconds(), append(l, ph.name)...)
				}
			}
			if p.DNS > 0 || m.Type == checker.TypeDNS {
				gauge(descDNS, p.DNS.Seconds(), l...)
			}
		}
		if !m.CertExpiresAt.IsZero() {
			gauge(descCert, float64(m.CertExpiresAt.Unix()), l...)
		}
	}
	if h := c.checker; h != nil {
		gauge(prometheus.NewDesc("upwatch_monitors_active", "Monitors being checked (not paused).", nil, nil), float64(h.Monitors))
		gauge(prometheus.NewDesc("upwatch_monitors_no_data", "Active monitors without a recent result from any region.", nil, nil), float64(h.NoData))
		gauge(prometheus.NewDesc("upwatch_results_backlog", "Check results and state changes waiting for the database.", nil, nil), float64(h.Backlog.Checks+h.Backlog.Updates))
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc("upwatch_checks_missed_total", "Checks no worker ran in time, since the server started.", nil, nil), prometheus.CounterValue, float64(h.Missed))
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc("upwatch_results_refused_total", "Results refused as not issued, replayed or from the future.", nil, nil), prometheus.CounterValue, float64(h.Refused.NotIssued+h.Refused.Future))
		gauge(prometheus.NewDesc("upwatch_workers_concurrency", "Checks the server's own workers run at once now.", nil, nil), float64(h.Saturation.Limit))
		sat := 0.0
		if h.Saturation.Saturated {
			sat = 1
		}
		gauge(prometheus.NewDesc("upwatch_workers_saturated", "1 while the server's workers are at their cap and jobs wait.", nil, nil), sat)
		if !h.LastStored.IsZero() {
			gauge(prometheus.NewDesc("upwatch_last_stored_timestamp_seconds", "When the newest batch of results was stored, in Unix seconds.", nil, nil), float64(h.LastStored.UnixMilli())/1000)
		}
	}
}

// metricTarget is what a monitor checks, without any credentials a URL
// may carry.
func metricTarget(m store.Monitor) string {
	u, err := url.Parse(m.URL)
	if err != nil || u.User == nil {
		return m.URL
	}
	u.User = nil
	return u.String()
}

// metricsAllowed tells whether the client's address is in METRICS_ALLOW.
// The connection's own address is used: a proxy's X-Forwarded-For would
// let anyone claim to be inside.
func (a *App) metricsAllowed(r *http.Request) bool {
	addr := peerAddr(r)
	return addr.IsValid() && inPrefixes(addr, a.cfg.MetricsAllow)
}

// metricsEndpoint answers GET /metrics: every monitor for an allowed
// network, else those of the bearer's account.
func (a *App) metricsEndpoint(w http.ResponseWriter, r *http.Request) {
	if a.metricsAllowed(r) {
		a.serveMetrics(w, r, 0, true)
		return
	}
	a.requireAPI(a.guardMetricsUser)(w, r)
}

func (a *App) guardMetricsUser(w http.ResponseWriter, r *http.Request) {
	u := userFrom(r.Context())
	id := u.ID
	if u.Role == store.RoleViewer {
		id = u.OwnerID
	}
	a.serveMetrics(w, r, id, u.Role == store.RoleAdmin)
}

// serveMetrics writes the monitors of userID (0: all) and, for the
// instance's operators, the process's and the checker's own metrics.
func (a *App) serveMetrics(w http.ResponseWriter, r *http.Request, userID int64, operator bool) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	all, err := a.st.AllMonitors(ctx)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	mons := all
	if userID != 0 {
		mons = mons[:0:0]
		for _, m := range all {
			if m.UserID == userID {
				mons = append(mons, m)
			}
		}
	}
	ids := make([]int64, len(mons))
	for i, m := range mons {
		ids[i] = m.ID
	}
	col := &monitorCollector{mons: mons, phases: &a.phases}
	now := a.now()
	for _, win := range metricWindows {
		up, err := a.st.Uptime(ctx, ids, now.Add(-win.d), now)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		col.uptime = append(col.uptime, up)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(col)
	if operator {
		if hr, ok := a.sched.(healthReader); ok {
			h := hr.Health()
			col.checker = &h
		}
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}).ServeHTTP(w, r)
}

// ObserveChecks keeps the phases of each monitor's newest check for
// /metrics; the result sink's callback calls it with every batch.
func (a *App) ObserveChecks(checks []store.Check) { a.phases.observe(checks) }
