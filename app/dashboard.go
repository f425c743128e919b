package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/settings"
	"github.com/upwatch/upwatch/store"
	"github.com/upwatch/upwatch/views"
)

// overviewPageSize bounds the rows (and so the history read) of one
// overview page: 10,000 monitors cost a page of 100, not 10,000 bars.
const overviewPageSize = 100

// favicon is the overall state shown in the tab icon: degraded monitors
// pass their checks, so they count as up.
func favicon(counts map[string]int) string {
	switch {
	case counts[store.StatusDown] > 0:
		return "down"
	case counts[store.StatusUp]+counts[store.StatusDegraded] > 0:
		return "up"
	}
	return ""
}

// livePage is a page that subscribes to the live feed, with the favicon
// reflecting the user's overall state.
func (a *App) livePage(r *http.Request, title string) (views.Page, error) {
	p := a.page(r, title)
	counts, err := a.st.StatusCounts(r.Context(), userFrom(r.Context()).ID)
	if err != nil {
		return p, err
	}
	p.Live, p.Favicon = true, favicon(counts)
	return p, nil
}

var statusOrder = map[string]int{store.StatusDown: 0, store.StatusDegraded: 1, store.StatusPending: 2, store.StatusUp: 3, store.StatusPaused: 4, store.StatusMaintenance: 4, store.StatusUnreachable: 1, store.StatusFlapping: 1}

func (a *App) overviewPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	o := views.Overview{
		Query: strings.TrimSpace(q.Get("q")), State: q.Get("state"), Sort: q.Get("sort"),
		BarsDaily: q.Get("bars") != "hours",
	}
	if _, ok := statusOrder[o.State]; !ok {
		o.State = ""
	}
	uid := userFrom(r.Context()).ID
	counts, err := a.st.StatusCounts(r.Context(), uid)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	shown, _, err := a.st.QueryMonitors(r.Context(), store.MonitorQuery{
		UserID: uid, Search: o.Query, Status: o.State, Sort: o.Sort, Limit: overviewPageSize,
	})
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	o.Page = a.page(r, "Monitors")
	o.Page.Live = true
	o.Up, o.Down, o.Pending, o.Paused = counts[store.StatusUp], counts[store.StatusDown], counts[store.StatusPending], counts[store.StatusPaused]
	o.Degraded, o.Maintenance = counts[store.StatusDegraded], counts[store.StatusMaintenance]
	o.Unreachable, o.Flapping = counts[store.StatusUnreachable], counts[store.StatusFlapping]
	o.Total = 0
	for _, n := range counts { // unknown ones too: they are monitors all the same
		o.Total += n
	}
	o.Page.Favicon = favicon(counts)
	rows, err := a.overviewRows(r, shown, o.BarsDaily)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	o.Rows = rows
	a.render(w, r, http.StatusOK, views.OverviewPage(o))
}

// overviewRows adds uptime and the 90-period history bars, read from
// roll-ups for all rows at once.
func (a *App) overviewRows(r *http.Request, mons []store.Monitor, daily bool) ([]views.OverviewRow, error) {
	ids := make([]int64, len(mons))
	for i, m := range mons {
		ids[i] = m.ID
	}
	period, layout := time.Hour, "2 Jan 15:00"
	now := a.now().UTC()
	first := now.Truncate(time.Hour).Add(-(views.BarCount - 1) * time.Hour)
	if daily {
		period, layout = 24*time.Hour, "2 Jan 2006"
		first = now.Truncate(24*time.Hour).AddDate(0, 0, -(views.BarCount - 1))
	}
	// The three reads are independent and the read pool has several
	// connections: run them side by side.
	var (
		day, month map[int64]store.Uptime
		buckets    map[int64][]store.Bucket
		errs       [3]error
		wg         sync.WaitGroup
	)
	ctx := r.Context()
	wg.Go(func() { day, errs[0] = a.st.Uptime(ctx, ids, now.Add(-24*time.Hour), now) })
	wg.Go(func() { month, errs[1] = a.st.Uptime(ctx, ids, now.Add(-30*24*time.Hour), now) })
	wg.Go(func() { buckets, errs[2] = a.st.Buckets(ctx, ids, first, now, daily) })
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	labels := make([]string, views.BarCount)
	for i := range labels {
		labels[i] = first.Add(time.Duration(i) * period).Format(layout)
	}
	rows := make([]views.OverviewRow, len(mons))
	for i, m := range mons {
		row := views.OverviewRow{MonitorRow: monitorRow(m), Uptime24h: percent(day[m.ID]), Uptime30d: percent(month[m.ID])}
		row.Bars = make([]views.Bar, views.BarCount)
		for j := range row.Bars {
			row.Bars[j] = views.Bar{At: first.Add(time.Duration(j) * period), Label: labels[j]}
		}
		for _, b := range buckets[m.ID] {
			j := int(b.At.Sub(first) / period)
			if j < 0 || j >= views.BarCount {
				continue
			}
			bar := &row.Bars[j]
			bar.Up, bar.Down, bar.Degraded, bar.AvgMS = b.Up, b.Down, b.Degraded, ms(b.Avg)
			bar.Uptime = percent(store.Uptime{Up: b.Up, Down: b.Down})
		}
		rows[i] = row
	}
	return rows, nil
}

// chartRanges are the monitor page's chart tabs.
var chartRanges = map[string]time.Duration{
	"1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour, "90d": 90 * 24 * time.Hour,
}

// uptimeWindows are the monitor page's uptime figures.
var uptimeWindows = []struct {
	label string
	d     time.Duration
}{{"24 hours", 24 * time.Hour}, {"7 days", 7 * 24 * time.Hour}, {"30 days", 30 * 24 * time.Hour}, {"90 days", 90 * 24 * time.Hour}}

const detailIncidents = 20

func (a *App) monitorPage(w http.ResponseWriter, r *http.Request) {
	m, err := a.ownedMonitor(r)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	ctx := r.Context()
	p := views.MonitorPage{
		Monitor: monitorRow(m), Method: m.Method, ExpectedStatus: m.ExpectedStatus,
		TimeoutSeconds: int(m.Timeout / time.Second), Confirmations: m.Confirmations,
		FollowRedirects: m.FollowRedirects, VerifyTLS: m.VerifyTLS, Paused: m.Paused,
		Kind: a.monitorKind(m),
	}
	if p.Regions, err = a.regionRows(r.Context(), m); err != nil {
		a.pageError(w, r, err)
		return
	}
	p.Quorum = checker.QuorumOf(m.Quorum, len(p.Regions))
	for _, rs := range a.sched.RegionStates(m.ID) {
		p.Missed += rs.Missed
	}
	if p.Page, err = a.livePage(r, m.Name); err != nil {
		a.pageError(w, r, err)
		return
	}
	now := a.now().UTC()
	for _, win := range uptimeWindows {
		u, err := a.st.Uptime(ctx, []int64{m.ID}, now.Add(-win.d), now)
		if err != nil {
			a.pageError(w, r, err)
			return
		}
		up := u[m.ID]
		p.Uptime = append(p.Uptime, views.UptimeStat{Label: win.label, Percent: percent(up), Up: up.Up, Down: up.Down, Degraded: up.Degraded})
	}
	rng := r.URL.Query().Get("range")
	span, ok := chartRanges[rng]
	if !ok {
		rng, span = "24h", 24*time.Hour
	}
	// The chart's region tabs: all regions, or one of the monitor's (any
	// other falls back to all, as an unknown range falls back to 24 h).
	regions := make([]string, len(p.Regions))
	for i, rr := range p.Regions {
		regions[i] = rr.Region
	}
	region := r.URL.Query().Get("region")
	if !slices.Contains(regions, region) {
		region = ""
	}
	step := max(time.Minute, (span / 150).Truncate(time.Minute))
	points, res, err := a.st.LatencySeriesInRegion(ctx, m.ID, region, now.Add(-span), now, step)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	p.Chart = views.Chart{Range: rng, From: now.Add(-span), To: now, Resolution: res, Region: region, Regions: regions}
	for _, pt := range points {
		p.Chart.Points = append(p.Chart.Points, views.ChartPoint{At: pt.At, AvgMS: ms(pt.Avg), P95MS: ms(pt.P95),
			MinMS: ms(pt.Min), MaxMS: ms(pt.Max), DNSMS: ms(pt.DNS), ConnectMS: ms(pt.Connect), TLSMS: ms(pt.TLS),
			TTFBMS: ms(pt.TTFB), TransferMS: ms(pt.Transfer), Up: pt.Up, Down: pt.Down})
	}
	list := "page-incidents:" + itoa64(m.ID)
	incs, next, err := a.st.IncidentsPage(ctx, userFrom(ctx).ID, store.IncidentFilter{MonitorID: m.ID},
		store.Page{Limit: detailIncidents, After: a.pageCursor(r, "incidents", list)})
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	p.IncidentsPager = a.pager(r, r.URL.Path, "#incidents", "incidents", list, next)
	for _, i := range incs {
		row := views.IncidentRow{ID: i.ID, StartedAt: i.StartedAt, ResolvedAt: i.ResolvedAt, Reason: i.Reason, Error: i.Error,
			StatusCode: i.StatusCode, Excerpt: i.Excerpt, AckedEmail: i.AckedEmail, AckedAt: i.AckedAt}
		end := now
		if !i.Open() {
			end = i.ResolvedAt
		}
		row.Duration = end.Sub(i.StartedAt)
		p.Incidents = append(p.Incidents, row)
	}
	checks, err := a.st.ListChecks(ctx, m.ID, detailChecks)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	for _, c := range checks {
		p.Checks = append(p.Checks, views.CheckRow{
			At: c.At, OK: c.OK, Degraded: c.OK && c.Degraded, StatusCode: c.StatusCode, LatencyMS: ms(c.Latency),
			DNSMS: ms(c.Phases.DNS), ConnectMS: ms(c.Phases.Connect), TLSMS: ms(c.Phases.TLS),
			TTFBMS: ms(c.Phases.TTFB), TransferMS: ms(c.Phases.Transfer), Reason: c.Reason, Error: c.Error,
		})
	}
	a.render(w, r, http.StatusOK, views.MonitorDetail(p))
}

// acknowledgeSubmit acknowledges an incident from its monitor page.
func (a *App) acknowledgeSubmit(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	u := userFrom(r.Context())
	inc, err := a.st.AcknowledgeIncident(r.Context(), u.ID, id, u.ID)
	if err != nil {
		a.pageError(w, r, storeErr(err))
		return
	}
	http.Redirect(w, r, "/monitors/"+itoa64(inc.MonitorID)+"#incidents", http.StatusSeeOther)
}

// monitorKind is what the monitor page shows of the monitor's type.
func (a *App) monitorKind(m store.Monitor) views.MonitorKind {
	t, _ := checker.LookupType(m.Type)
	k := views.MonitorKind{Type: t.Name, Label: t.Label, CertExpires: m.CertExpiresAt}
	if m.LastCheck != nil {
		k.Detail = m.LastCheck.Detail
	}
	var values map[string]any
	_ = json.Unmarshal(settings.Redact(t.Fields, m.Settings), &values)
	for _, f := range t.Fields {
		v, ok := values[f.Name]
		if !ok || v == "" || v == false {
			continue
		}
		text := fmt.Sprint(v)
		switch x := v.(type) {
		case bool:
			text = "yes"
		case float64:
			text = strconv.FormatFloat(x, 'f', -1, 64)
		case []any:
			parts := make([]string, len(x))
			for i, p := range x {
				parts[i] = fmt.Sprint(p)
			}
			text = strings.Join(parts, ", ")
		}
		k.Settings = append(k.Settings, views.ConfigItem{Label: f.Label, Value: text})
	}
	if m.Type == checker.TypePush {
		k.PushURL, k.LastBody = a.pushURL(m), m.LastBody
		k.Schedule, k.Cron = checker.PushScheduleText(m.Settings)
		if a.push != nil {
			k.RunStarted = a.push.PushStarted(m.ID)
		}
	}
	return k
}

// regionRows is each region's view of a monitor with its 24 h uptime.
func (a *App) regionRows(ctx context.Context, m store.Monitor) ([]views.RegionRow, error) {
	now := a.now()
	up, err := a.st.RegionUptime(ctx, m.ID, now.Add(-24*time.Hour), now)
	if err != nil {
		return nil, err
	}
	states := a.sched.RegionStates(m.ID)
	var rows []views.RegionRow
	for _, region := range a.regionsOf(m) {
		row := views.RegionRow{Region: region, Status: store.StatusPending, Uptime24h: percent(up[region])}
		for _, rs := range states {
			if rs.Region == region {
				row.Status, row.LastAt, row.LatencyMS, row.Reason, row.Error = rs.Status, rs.LastAt, ms(rs.Latency), rs.Reason, rs.Error
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}
