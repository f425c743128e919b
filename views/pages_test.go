package views

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
	"golang.org/x/net/html"
)

func templEscape(s string) string { return templ.EscapeString(s) }

func pct(v float64) *float64 { return &v }

// sampleBars is 90 days of history: full uptime, with one bad, one amber,
// one yellow-green and one empty day.
func sampleBars() []Bar {
	bars := make([]Bar, BarCount)
	for i := range bars {
		at := testNow.Truncate(24*time.Hour).AddDate(0, 0, i-BarCount+1)
		bars[i] = Bar{At: at, Label: at.Format("2 Jan"), Uptime: pct(100), Up: 1440, AvgMS: 120}
	}
	bars[10] = Bar{At: bars[10].At, Label: bars[10].Label} // no data
	bars[20].Uptime, bars[20].Up, bars[20].Down = pct(50), 720, 720
	bars[30].Uptime, bars[30].Up, bars[30].Down = pct(96), 1382, 58
	bars[40].Uptime, bars[40].Up, bars[40].Down = pct(99.5), 1433, 7
	return bars
}

func sampleOverview() Overview {
	rows := sampleRows()
	o := Overview{Page: testPage("Monitors", "ada@example.com"), Up: 1, Down: 1, Pending: 1, Paused: 1, Total: 4, BarsDaily: true}
	o.Live, o.Favicon, o.Refresh = true, StatusDown, 15
	for _, r := range SortRows(rows) {
		or := OverviewRow{MonitorRow: r, Bars: sampleBars()}
		if r.ID == 3 {
			or.Uptime24h, or.Uptime30d = pct(97.91), pct(99.62)
		}
		o.Rows = append(o.Rows, or)
	}
	return o
}

func hostileOverview(name string) Overview {
	o := sampleOverview()
	o.Page = testPage(name, name)
	o.Query, o.State, o.Sort = name, name, name
	for i := range o.Rows {
		r := &o.Rows[i]
		r.Name, r.URL, r.LastError, r.LastReason = name, hostileURL, name, name
		for j := range r.Bars {
			r.Bars[j].Label = name
		}
	}
	return o
}

func sampleChart(n int) Chart {
	from := testNow.Add(-24 * time.Hour)
	c := Chart{Range: "24h", From: from, To: testNow, Resolution: "hourly"}
	step := 24 * time.Hour / time.Duration(max(n, 1))
	for i := range n {
		p := ChartPoint{At: from.Add(time.Duration(i) * step), DNSMS: 2, ConnectMS: 10, TLSMS: 30, TTFBMS: 60 + float64(i%7), TransferMS: 5, Up: 60}
		p.AvgMS = p.DNSMS + p.ConnectMS + p.TLSMS + p.TTFBMS + p.TransferMS
		p.P95MS, p.MinMS, p.MaxMS = p.AvgMS*1.4, p.AvgMS*0.8, p.AvgMS*2
		if i%5 == 2 {
			p.Down = 3
		}
		c.Points = append(c.Points, p)
	}
	return c
}

func sampleMonitorPage() MonitorPage {
	m := sampleRows()[2]
	p := MonitorPage{Page: testPage("Payments API", "ada@example.com"), Monitor: m, Method: "GET", TimeoutSeconds: 10, Confirmations: 2, Checks: sampleChecks()}
	p.Live, p.Favicon = true, StatusDown
	p.Uptime = []UptimeStat{{"24 hours", pct(97.91), 1410, 30, 0}, {"7 days", pct(99.7), 10050, 30, 0}, {"30 days", pct(99.62), 43034, 166, 0}, {"90 days", nil, 0, 0, 0}}
	p.Chart = sampleChart(24)
	p.Incidents = []IncidentRow{
		{ID: 12, StartedAt: testNow.Add(-3 * time.Minute), Duration: 3 * time.Minute, Reason: "timeout", Error: "context deadline exceeded"},
		{ID: 11, StartedAt: testNow.Add(-26 * time.Hour), ResolvedAt: testNow.Add(-26*time.Hour + 12*time.Minute), Reason: "status", Error: "got 503, want 200-299", StatusCode: 503,
			Excerpt: "<html><title>503 Service Temporarily Unavailable</title></html>", AckedEmail: "bob@example.com", AckedAt: testNow.Add(-25 * time.Hour)},
		{ID: 10, StartedAt: testNow.Add(-9 * 24 * time.Hour), ResolvedAt: testNow.Add(-9*24*time.Hour + 4*time.Minute), Reason: "dns"},
	}
	return p
}

func sampleSettings() SettingsPage {
	s := SettingsPage{Page: testPage("Settings", "ada@example.com"), Admin: true, NewToken: "upw_secret_token_value",
		Errors: map[string]string{"user_email": "Already in use"}, NewUserEmail: "carol@example.com"}
	s.Sessions = []SessionRow{
		{ID: "a1", CreatedAt: testNow.Add(-72 * time.Hour), ExpiresAt: testNow.Add(27 * 24 * time.Hour), LastSeenAt: testNow.Add(-10 * time.Second), UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36", Current: true},
		{ID: "b2", CreatedAt: testNow.Add(-240 * time.Hour), ExpiresAt: testNow.Add(20 * 24 * time.Hour), UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"},
	}
	s.Tokens = []TokenRow{
		{ID: 1, Name: "Home Assistant", Prefix: "upw_3f9a", CreatedAt: testNow.Add(-time.Minute)},
		{ID: 2, Name: "Grafana", Prefix: "upw_88c1", CreatedAt: testNow.Add(-40 * 24 * time.Hour), LastUsedAt: testNow.Add(-2 * time.Minute), ExpiresAt: testNow.Add(50 * 24 * time.Hour)},
	}
	s.Users = []UserRow{
		{ID: 1, Email: "ada@example.com", Admin: true, Self: true, CreatedAt: testNow.Add(-90 * 24 * time.Hour)},
		{ID: 2, Email: "bob@example.com", CreatedAt: testNow.Add(-30 * 24 * time.Hour)},
		{ID: 3, Email: "eve@example.com", Disabled: true, CreatedAt: testNow.Add(-400 * 24 * time.Hour)},
	}
	return s
}

func hasClass(n *html.Node, class string) bool {
	c, _ := attr(n, "class")
	return slices.Contains(strings.Fields(c), class)
}

// byClass returns the elements that have class among their classes.
func byClass(doc *html.Node, class string) []*html.Node {
	var out []*html.Node
	walk(doc, func(n *html.Node) {
		if hasClass(n, class) {
			out = append(out, n)
		}
	})
	return out
}

func TestBarLevels(t *testing.T) {
	for _, tt := range []struct {
		u    *float64
		want string
	}{
		{nil, "b0"}, {pct(math.NaN()), "b0"},
		{pct(100), "b4"}, {pct(99.9), "b4"}, {pct(99.95), "b4"},
		{pct(99.89), "b3"}, {pct(99), "b3"},
		{pct(98.99), "b2"}, {pct(95), "b2"},
		{pct(94.99), "b1"}, {pct(0), "b1"},
	} {
		if got := BarClass(tt.u); got != tt.want {
			v := "nil"
			if tt.u != nil {
				v = fmt.Sprint(*tt.u)
			}
			t.Errorf("BarClass(%s) = %s, want %s", v, got, tt.want)
		}
	}
}

// TestOverviewBars checks every row's bar: 90 periods, coloured by the
// thresholds, each with a tooltip, and an accessible summary.
func TestOverviewBars(t *testing.T) {
	doc := parse(t, render(t, OverviewPage(sampleOverview())))
	bars := byClass(doc, "bar")
	if len(bars) != 4 {
		t.Fatalf("%d bars, want one per row (4)", len(bars))
	}
	want := sampleBars()
	for _, bar := range bars {
		if r, _ := attr(bar, "role"); r != "img" {
			t.Errorf("bar role %q", r)
		}
		if l, _ := attr(bar, "aria-label"); l != "Last 90 days: 99.38% uptime, 3 days with failures" {
			t.Errorf("bar label %q", l)
		}
		periods := find(bar, "i")
		if len(periods) != BarCount {
			t.Fatalf("%d periods, want %d", len(periods), BarCount)
		}
		for i, p := range periods {
			cls, _ := attr(p, "class")
			if cls != BarClass(want[i].Uptime) {
				t.Errorf("period %d class %q, want %q", i, cls, BarClass(want[i].Uptime))
			}
			title, _ := attr(p, "title")
			if title != BarTitle(want[i]) {
				t.Errorf("period %d title %q, want %q", i, title, BarTitle(want[i]))
			}
		}
		for i, w := range map[int]string{
			0:  "27 Aug\n100% · 1440 up, 0 down · avg 120 ms",
			10: "6 Sep\nNo data",
			20: "16 Sep\n50.00% · 720 up, 720 down · avg 120 ms",
			40: "6 Oct\n99.50% · 1433 up, 7 down · avg 120 ms",
		} {
			if got, _ := attr(periods[i], "title"); got != w {
				t.Errorf("period %d title %q, want %q", i, got, w)
			}
		}
		got := make([]string, 0, 4)
		for _, i := range []int{10, 20, 30, 40} {
			c, _ := attr(periods[i], "class")
			got = append(got, c)
		}
		if !slices.Equal(got, []string{"b0", "b1", "b2", "b3"}) {
			t.Errorf("classes of the odd days %v", got)
		}
	}
}

func TestBarTitleFormats(t *testing.T) {
	for _, tt := range []struct {
		b    Bar
		want string
	}{
		{Bar{Label: "24 Nov 14:00", Uptime: pct(99.999), Up: 99999, Down: 1, AvgMS: 0.42}, "24 Nov 14:00\n99.99% · 99999 up, 1 down · avg 0.42 ms"},
		{Bar{Label: "x", Uptime: pct(0), Down: 60}, "x\n0% · 0 up, 60 down"},
		{Bar{Uptime: pct(100), Up: 12345678, AvgMS: 1234.5}, "100% · 12345678 up, 0 down · avg 1,235 ms"},
		{Bar{Label: "<b>", Uptime: pct(100), Up: 1, AvgMS: 7.46}, "&lt;b&gt;\n100% · 1 up, 0 down · avg 7.5 ms"},
		{Bar{Label: strings.Repeat("L", 100), Uptime: pct(100), Up: 1, AvgMS: math.Inf(1)}, strings.Repeat("L", 100) + "\n100% · 1 up, 0 down · avg —"},
		{Bar{Label: "24 Nov", Uptime: pct(99.5), Up: 1433, Down: 7, Degraded: 12, AvgMS: 812}, "24 Nov\n99.50% · 1433 up, 7 down · 12 degraded · avg 812 ms"},
		{Bar{Label: strings.Repeat("L", 100), Uptime: pct(100), Up: 3, Degraded: 3, AvgMS: 900}, strings.Repeat("L", 100) + "\n100% · 3 up, 0 down · 3 degraded · avg 900 ms"},
	} {
		// The fast path (appendBar) and the plain one must agree.
		got := string(appendBar(nil, &tt.b, templEscape(tt.b.Label)))
		want := `<i class="` + tt.b.Class() + `" title="` + tt.want + `"></i>`
		if got != want {
			t.Errorf("appendBar:\n got %q\nwant %q", got, want)
		}
	}
}

func TestBarSummary(t *testing.T) {
	if got := BarSummary(nil, true); got != "Last 0 days: no data yet" {
		t.Errorf("empty: %q", got)
	}
	bars := []Bar{{Uptime: pct(100), Up: 60}, {Uptime: pct(50), Up: 30, Down: 30}, {}}
	if got := BarSummary(bars, false); got != "Last 3 hours: 75.00% uptime, 1 hour with failures" {
		t.Errorf("hours: %q", got)
	}
	// A row without history reserves the bar's space.
	o := sampleOverview()
	o.Rows[0].Bars = nil
	doc := parse(t, render(t, OverviewPage(o)))
	if n := byClass(doc, "bar-none"); len(n) != 1 {
		t.Errorf("%d empty bars, want 1", len(n))
	}
}

func TestOverviewLiveHooks(t *testing.T) {
	doc := parse(t, render(t, OverviewPage(sampleOverview())))
	body := find(doc, "body")[0]
	if v, _ := attr(body, "data-live"); v != LivePath {
		t.Errorf("body data-live %q", v)
	}
	if v, _ := attr(body, "data-now"); v != "2025-11-24T12:00:00Z" {
		t.Errorf("body data-now %q", v)
	}
	rows := byClass(doc, "mon")
	if len(rows) != 4 {
		t.Fatalf("%d rows", len(rows))
	}
	var order []string
	for _, r := range rows {
		id, ok := attr(r, "data-monitor-id")
		st, ok2 := attr(r, "data-status")
		if !ok || !ok2 {
			t.Fatal("row without data-monitor-id/data-status")
		}
		order = append(order, st)
		for _, f := range []string{"status", "latency", "checked"} {
			var found []*html.Node
			walk(r, func(n *html.Node) {
				if v, _ := attr(n, "data-field"); v == f {
					found = append(found, n)
				}
			})
			if len(found) != 1 {
				t.Errorf("row %s: %d [data-field=%s]", id, len(found), f)
			}
		}
		pill := byClass(r, "pill")[0]
		if v, _ := attr(pill, "data-field"); v != "status" || !hasClass(pill, "pill-"+st) {
			t.Errorf("row %s: pill %v", id, pill.Attr)
		}
	}
	// The server's order is kept.
	if !slices.Equal(order, []string{"down", "pending", "up", "paused"}) {
		t.Errorf("row order %v", order)
	}
	for _, s := range []string{"up", "degraded", "down", "pending", "paused"} {
		if len(find(doc, "span", "data-count", s)) != 1 {
			t.Errorf("no count for %s", s)
		}
	}
	for _, id := range []string{"counts", "monitors"} {
		var n []*html.Node
		walk(doc, func(x *html.Node) {
			if v, _ := attr(x, "id"); v == id {
				n = append(n, x)
			}
		})
		if len(n) != 1 {
			t.Fatalf("no #%s", id)
		}
		if _, ok := attr(n[0], "data-live-region"); !ok {
			t.Errorf("#%s is not a live region", id)
		}
	}
	if strings.Contains(render(t, OverviewPage(sampleOverview())), `http-equiv="refresh"`) {
		t.Error("a live page meta-refreshes")
	}
	o := sampleOverview()
	o.Live = false
	out := render(t, OverviewPage(o))
	if !strings.Contains(out, `<meta http-equiv="refresh" content="15">`) || strings.Contains(out, "data-live=") || strings.Contains(out, "live-status") {
		t.Error("a non-live page should refresh and not subscribe")
	}
}

func TestFavicon(t *testing.T) {
	for fav, want := range map[string]string{StatusUp: "favicon-up.svg", StatusDown: "favicon-down.svg", "": "favicon.svg", "weird": "favicon.svg"} {
		p := testPage("x", "a@b.c")
		p.Favicon = fav
		doc := parse(t, render(t, ErrorPage(p, 404, "x")))
		l := find(doc, "link", "id", "favicon")
		if len(l) != 1 {
			t.Fatal("no #favicon")
		}
		if h, _ := attr(l[0], "href"); h != "/static/h/"+want {
			t.Errorf("Favicon %q: href %q", fav, h)
		}
		for k, v := range map[string]string{"data-icon": "favicon.svg", "data-icon-up": "favicon-up.svg", "data-icon-down": "favicon-down.svg"} {
			if h, _ := attr(l[0], k); h != "/static/h/"+v {
				t.Errorf("%s = %q", k, h)
			}
		}
	}
}

func TestOverviewFilterForm(t *testing.T) {
	o := sampleOverview()
	o.State, o.Sort, o.BarsDaily = StatusUp, "name", false
	doc := parse(t, render(t, OverviewPage(o)))
	f := find(doc, "form", "method", "get", "action", "/")
	if len(f) != 1 {
		t.Fatal("no GET form to /")
	}
	if len(find(f[0], "input", "name", "q", "type", "search")) != 1 || len(find(f[0], "button", "type", "submit")) != 1 {
		t.Error("filter form without search field or submit button")
	}
	opts := func(name string) (vals []string, sel string) {
		for _, o := range find(find(f[0], "select", "name", name)[0], "option") {
			v, _ := attr(o, "value")
			vals = append(vals, v)
			if _, ok := attr(o, "selected"); ok {
				sel = v
			}
		}
		return vals, sel
	}
	if v, sel := opts("state"); !slices.Equal(v, []string{"", "down", "degraded", "flapping", "unreachable", "pending", "up", "maintenance", "paused"}) || sel != "up" {
		t.Errorf("state options %v selected %q", v, sel)
	}
	if v, sel := opts("sort"); !slices.Equal(v, []string{"", "name", "latency"}) || sel != "name" {
		t.Errorf("sort options %v selected %q", v, sel)
	}
	// Counts link to their state (the current one back to all), keeping
	// the other filters.
	links := map[string]string{}
	for _, a := range byClass(doc, "summary-item") {
		h, _ := attr(a, "href")
		links[strings.TrimPrefix(strings.Fields(mustAttr(a, "class"))[1], "summary-")] = h
	}
	want := map[string]string{
		"down":     "/?bars=hours&sort=name&state=down",
		"degraded": "/?bars=hours&sort=name&state=degraded",
		"pending":  "/?bars=hours&sort=name&state=pending",
		"up":       "/?bars=hours&sort=name",
		"paused":   "/?bars=hours&sort=name&state=paused",
	}
	for k, v := range want {
		if links[k] != v {
			t.Errorf("count %s links to %q, want %q", k, links[k], v)
		}
	}
	if h := find(doc, "a", "aria-current", "true"); len(h) < 2 {
		t.Error("current state and bars toggle not marked aria-current")
	}
	if !strings.Contains(render(t, OverviewPage(o)), "Last 90 hours") {
		t.Error("hourly bars not labelled")
	}
}

func mustAttr(n *html.Node, k string) string {
	v, _ := attr(n, k)
	return v
}

func TestMonitorLiveHooks(t *testing.T) {
	doc := parse(t, render(t, MonitorDetail(sampleMonitorPage())))
	m := find(doc, "main", "id", "main", "data-monitor-id", "3", "data-status", "down")
	if len(m) != 1 {
		t.Fatal("no <main data-monitor-id data-status>")
	}
	head := find(doc, "section", "id", "monitor-head")
	if len(head) != 1 {
		t.Fatal("no #monitor-head")
	}
	for _, f := range []string{"status", "latency", "checked"} {
		var n int
		walk(head[0], func(x *html.Node) {
			if v, _ := attr(x, "data-field"); v == f {
				n++
			}
		})
		if n != 1 {
			t.Errorf("#monitor-head: %d [data-field=%s]", n, f)
		}
	}
	for _, id := range []string{"monitor-head", "uptime", "chart", "incidents", "checks"} {
		var found *html.Node
		walk(doc, func(x *html.Node) {
			if v, _ := attr(x, "id"); v == id {
				found = x
			}
		})
		if found == nil {
			t.Errorf("no #%s", id)
		} else if _, ok := attr(found, "data-live-region"); !ok {
			t.Errorf("#%s is not a live region", id)
		}
	}
	if n := find(doc, "div", "id", "deleted-notice"); len(n) != 1 {
		t.Error("no deleted notice")
	} else if _, ok := attr(n[0], "hidden"); !ok {
		t.Error("deleted notice is visible")
	}
}

func TestIncidents(t *testing.T) {
	doc := parse(t, render(t, MonitorDetail(sampleMonitorPage())))
	items := byClass(doc, "incident")
	if len(items) != 3 {
		t.Fatalf("%d incidents", len(items))
	}
	// Ongoing and not acknowledged: a button; acknowledged: who; resolved
	// without acknowledgement: neither.
	if f := find(items[0], "form", "method", "post", "action", "/incidents/12/acknowledge"); len(f) != 1 || len(find(f[0], "input")) != 0 {
		t.Error("ongoing incident: no acknowledge form (without fields)")
	}
	if !strings.Contains(textOf(items[0]), "Ongoing") || !strings.Contains(textOf(items[0]), "3 min") {
		t.Errorf("ongoing incident text: %q", textOf(items[0]))
	}
	if len(find(items[1], "form")) != 0 || !strings.Contains(textOf(items[1]), "Acknowledged by bob@example.com") {
		t.Errorf("acknowledged incident: %q", textOf(items[1]))
	}
	d := find(items[1], "details")
	if len(d) != 1 || len(find(d[0], "pre")) != 1 || !strings.Contains(textOf(d[0]), "<title>503") {
		t.Error("excerpt not in <details><pre> as text")
	}
	if len(find(items[2], "form")) != 0 || strings.Contains(textOf(items[2]), "Acknowledged") {
		t.Error("resolved incident offers acknowledgement")
	}
	p := sampleMonitorPage()
	p.Incidents = nil
	if !strings.Contains(render(t, MonitorDetail(p)), "No incidents recorded") {
		t.Error("no empty state for incidents")
	}
}

func TestChartRenders(t *testing.T) {
	weird := sampleChart(3)
	weird.Points[0].AvgMS, weird.Points[1].P95MS, weird.Points[2].DNSMS = math.NaN(), math.Inf(1), -5
	weird.Points[0], weird.Points[2] = weird.Points[2], weird.Points[0] // unsorted
	zero := Chart{Points: []ChartPoint{{At: testNow}}}
	flat := sampleChart(10)
	for i := range flat.Points {
		flat.Points[i] = ChartPoint{At: flat.Points[i].At, Down: 1}
	}
	for name, c := range map[string]Chart{
		"0 points":     {Range: "24h", From: testNow.Add(-24 * time.Hour), To: testNow, Resolution: "hourly"},
		"0, no range":  {},
		"1 point":      sampleChart(1),
		"1 point bare": zero,
		"2000 points":  sampleChart(2000),
		"bad numbers":  weird,
		"all down":     flat,
		"reversed":     {From: testNow, To: testNow.Add(-time.Hour), Points: sampleChart(5).Points},
	} {
		t.Run(name, func(t *testing.T) {
			out := render(t, chartCard(c))
			doc := parse(t, out)
			svg := find(doc, "svg", "class", "chart-svg")
			if len(svg) != 1 {
				t.Fatal("no chart svg")
			}
			if v, _ := attr(svg[0], "viewBox"); v != "0 0 1000 200" {
				t.Errorf("viewBox %q", v)
			}
			walk(doc, func(n *html.Node) {
				for _, a := range n.Attr {
					switch a.Key {
					case "d", "x", "y", "width", "height", "viewBox", "points":
						l := strings.ToLower(a.Val)
						if strings.Contains(l, "nan") || strings.Contains(l, "inf") {
							t.Errorf("<%s %s=%q>", n.Data, a.Key, a.Val)
						}
					}
				}
			})
			targets := find(doc, "g", "class", "hit")
			if len(c.Points) == 0 {
				if len(targets) != 0 || !strings.Contains(out, "No checks in the") {
					t.Error("empty chart: no empty state")
				}
				return
			}
			if len(targets) != 1 {
				t.Fatal("no hover targets")
			}
			rects := find(targets[0], "rect")
			if len(rects) != len(c.Points) {
				t.Errorf("%d hover targets for %d points", len(rects), len(c.Points))
			}
			for _, r := range rects {
				if len(find(r, "title")) != 1 {
					t.Fatal("hover target without <title>")
				}
			}
			for _, cls := range []string{"line line-avg", "line line-p95", "area ph-dns", "area ph-transfer"} {
				if len(find(doc, "path", "class", cls)) != 1 {
					t.Errorf("no path %q", cls)
				}
			}
		})
	}
}

func TestChartContent(t *testing.T) {
	c := sampleChart(24)
	doc := parse(t, render(t, chartCard(c)))
	title := textOf(find(find(doc, "g", "class", "hit")[0], "title")[2])
	for _, w := range []string{"23 Nov 14:00–15:00 UTC", "Average 109 ms", "p95 153 ms", "Min 87 ms", "max 218 ms", "DNS 2.0 ms", "connect 10 ms", "TLS 30 ms", "TTFB 62 ms", "transfer 5.0 ms", "60 up, 3 down"} {
		if !strings.Contains(title, w) {
			t.Errorf("tooltip %q lacks %q", title, w)
		}
	}
	// Failed periods are marked under the plot: points 2, 7, 12, 17, 22.
	if n := len(find(find(doc, "g", "class", "down")[0], "rect")); n != 5 {
		t.Errorf("%d failure marks, want 5", n)
	}
	// Axis labels: ms on y, UTC times on x.
	var ys, xs []string
	for _, tx := range find(find(doc, "svg", "class", "chart-y")[0], "text") {
		ys = append(ys, textOf(tx))
	}
	for _, tx := range find(find(doc, "svg", "class", "chart-x")[0], "text") {
		xs = append(xs, textOf(tx))
	}
	if !slices.Equal(ys, []string{"0", "50 ms", "100 ms", "150 ms", "200 ms"}) {
		t.Errorf("y labels %v", ys)
	}
	if !slices.Equal(xs, []string{"18:00", "24 Nov", "06:00"}) {
		t.Errorf("x labels %v", xs)
	}
	// Range tabs link to ?range=… and mark the current one.
	var tabs []string
	for _, a := range find(find(doc, "nav", "aria-label", "Chart range")[0], "a") {
		h, _ := attr(a, "href")
		tabs = append(tabs, h)
		if _, cur := attr(a, "aria-current"); cur != (h == "?range=24h#chart") {
			t.Errorf("%s aria-current=%v", h, cur)
		}
	}
	if !slices.Equal(tabs, []string{"?range=1h#chart", "?range=24h#chart", "?range=7d#chart", "?range=30d#chart", "?range=90d#chart"}) {
		t.Errorf("tabs %v", tabs)
	}
}

func TestSettingsForms(t *testing.T) {
	doc := parse(t, render(t, Settings(sampleSettings())))
	post := func(action string) *html.Node {
		t.Helper()
		f := find(doc, "form", "method", "post", "action", action)
		if len(f) != 1 {
			t.Fatalf("no POST form to %s", action)
		}
		return f[0]
	}
	names := func(f *html.Node) []string {
		var out []string
		walk(f, func(n *html.Node) {
			if v, ok := attr(n, "name"); ok && (n.Data == "input" || n.Data == "select" || n.Data == "textarea") {
				out = append(out, v)
			}
		})
		return out
	}
	for action, want := range map[string][]string{
		"/settings/password":           {"current_password", "new_password", "new_password_confirm"},
		"/settings/tokens":             {"token_name", "token_scope"},
		"/settings/users":              {"user_email", "user_password", "user_role"},
		"/settings/users/2/password":   {"password"},
		"/settings/users/2/disable":    {"disabled"},
		"/settings/users/3/disable":    {"disabled"},
		"/settings/sessions/b2/revoke": nil,
		"/settings/tokens/1/revoke":    nil,
	} {
		if got := names(post(action)); !slices.Equal(got, want) {
			t.Errorf("%s fields %v, want %v", action, got, want)
		}
	}
	if _, ok := attr(post("/settings/tokens/1/revoke"), "data-confirm"); !ok {
		t.Error("token revoke without confirmation")
	}
	if v, _ := attr(find(post("/settings/users/3/disable"), "input")[0], "value"); v != "false" {
		t.Error("disabled user's button does not enable")
	}
	if len(find(doc, "form", "action", "/settings/users/1/disable")) != 0 || len(find(doc, "form", "action", "/settings/sessions/a1/revoke")) != 0 {
		t.Error("the admin can disable themselves or revoke this session")
	}
	if e := find(doc, "input", "name", "user_email"); mustAttr(e[0], "aria-invalid") != "true" {
		t.Error("user_email error not marked")
	}
	tok := find(doc, "input", "id", "new-token")
	if len(tok) != 1 || mustAttr(tok[0], "value") != "upw_secret_token_value" {
		t.Error("new token not shown")
	}
	if _, ok := attr(tok[0], "readonly"); !ok {
		t.Error("new token field is editable")
	}
}

// TestOverviewRowSize keeps the overview light: a row with 90 periods of
// history stays under 8 KB of HTML.
func TestOverviewRowSize(t *testing.T) {
	o := benchOverview(200)
	out := render(t, OverviewPage(o))
	if per := len(out) / 200; per > 8<<10 {
		t.Errorf("%d bytes per row", per)
	}
	// The parallel path renders the same as the sequential one.
	big := benchOverview(parallelRows + 7)
	par := render(t, OverviewPage(big))
	var seq strings.Builder
	lc := new(labelCache)
	for i := range big.Rows {
		if err := overviewRow(big.Now, &big.Rows[i], big.BarsDaily, lc).Render(t.Context(), &seq); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(par, seq.String()) {
		t.Error("parallel rows differ from sequential ones")
	}
}

func TestHelpers(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0 s"}, {42 * time.Second, "42 s"}, {3 * time.Minute, "3 min"}, {2*time.Hour + 5*time.Minute, "2 h 5 min"},
		{2 * time.Hour, "2 h"}, {27 * time.Hour, "1 d 3 h"}, {48 * time.Hour, "2 d"}, {-time.Second, "0 s"},
	} {
		if got := DurationText(tt.d); got != tt.want {
			t.Errorf("DurationText(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	for _, tt := range []struct {
		p    *float64
		want string
	}{
		{nil, "—"}, {pct(100), "100%"}, {pct(99.999), "99.99%"}, {pct(99.95), "99.95%"}, {pct(0), "0%"}, {pct(50), "50.00%"}, {pct(math.NaN()), "—"},
	} {
		if got := UptimeText(tt.p); got != tt.want {
			t.Errorf("UptimeText = %q, want %q", got, tt.want)
		}
	}
	for in, want := range map[string]string{
		"https://user:pw@h.example:8443/x?y#z": "h.example:8443",
		"HTTP://EXAMPLE.COM":                   "EXAMPLE.COM",
		"https://":                             "https://",
		"://nohost":                            "://nohost",
	} {
		if got := Host(in); got != want {
			t.Errorf("Host(%q) = %q, want %q", in, got, want)
		}
	}
	for _, tm := range []time.Time{testNow, time.Date(1999, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600)), {}, time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if got, want := ISOTime(tm), tm.UTC().Format(time.RFC3339); got != want {
			t.Errorf("ISOTime = %q, want %q", got, want)
		}
		if !tm.IsZero() {
			if got, want := FullTime(tm), tm.UTC().Format("2006-01-02 15:04:05 UTC"); got != want {
				t.Errorf("FullTime = %q, want %q", got, want)
			}
		}
	}
	for ua, want := range map[string]string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0":                                            "Firefox on Windows",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15":          "Safari on macOS",
		"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36 EdgA/131 Edg/131.0": "Edge on Android",
		"curl/8.5.0": "curl",
		"":           "Unknown device",
	} {
		if got := DeviceLabel(ua); got != want {
			t.Errorf("DeviceLabel(%q) = %q, want %q", ua, got, want)
		}
	}
}

func TestChartRegionTabs(t *testing.T) {
	// One region (or none): no region tabs, range tabs without a region.
	for _, regions := range [][]string{nil, {"local"}} {
		c := sampleChart(4)
		c.Regions = regions
		doc := parse(t, render(t, chartCard(c)))
		if len(find(doc, "nav", "aria-label", "Chart region")) != 0 {
			t.Errorf("regions %v: region tabs", regions)
		}
	}
	c := sampleChart(24)
	c.Range, c.Region, c.Regions = "7d", "eu", []string{"local", "eu", "us-east"}
	out := render(t, chartCard(c))
	doc := parse(t, out)
	navs := find(doc, "nav", "aria-label", "Chart region")
	if len(navs) != 1 {
		t.Fatal("no region tabs")
	}
	var labels, hrefs, current []string
	for _, a := range find(navs[0], "a") {
		h, _ := attr(a, "href")
		labels, hrefs = append(labels, textOf(a)), append(hrefs, h)
		if _, cur := attr(a, "aria-current"); cur {
			current = append(current, h)
		}
	}
	if !slices.Equal(labels, []string{"All regions", "local", "eu", "us-east"}) {
		t.Errorf("region tabs %v", labels)
	}
	if !slices.Equal(hrefs, []string{"?range=7d#chart", "?range=7d&region=local#chart", "?range=7d&region=eu#chart", "?range=7d&region=us-east#chart"}) {
		t.Errorf("region links %v (they keep the range)", hrefs)
	}
	if !slices.Equal(current, []string{"?range=7d&region=eu#chart"}) {
		t.Errorf("current region %v", current)
	}
	var ranges []string
	for _, a := range find(find(doc, "nav", "aria-label", "Chart range")[0], "a") {
		h, _ := attr(a, "href")
		ranges = append(ranges, h)
	}
	if !slices.Equal(ranges, []string{"?range=1h&region=eu#chart", "?range=24h&region=eu#chart", "?range=7d&region=eu#chart", "?range=30d&region=eu#chart", "?range=90d&region=eu#chart"}) {
		t.Errorf("range links %v (they keep the region)", ranges)
	}
	if h := find(doc, "h2", "id", "chart-title"); len(h) != 1 || strings.Join(strings.Fields(textOf(h[0])), " ") != "Response time from eu" {
		t.Error("chart title does not name the region")
	}
	svg := find(doc, "svg", "class", "chart-svg")[0]
	if l, _ := attr(svg, "aria-label"); !strings.HasPrefix(l, "Response time from eu, last 7 days") {
		t.Errorf("summary %q", l)
	}
	// All regions selected, no range yet: 24 h, All regions current.
	c.Range, c.Region, c.Points = "", "", nil
	doc = parse(t, render(t, chartCard(c)))
	a := find(find(doc, "nav", "aria-label", "Chart region")[0], "a")[0]
	if h, _ := attr(a, "href"); h != "?range=24h#chart" {
		t.Errorf("All regions href %q", h)
	}
	if _, cur := attr(a, "aria-current"); !cur {
		t.Error("All regions not current")
	}
	c.Region = "us-east"
	if out := render(t, chartCard(c)); !strings.Contains(out, "No checks from us-east in the last 24 hours yet.") {
		t.Error("empty region chart does not say which region")
	}
}
