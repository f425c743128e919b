package views

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// degradedRow is a monitor that passes its checks, but slowly.
func degradedRow() MonitorRow {
	return MonitorRow{ID: 5, Name: "Search", URL: "https://search.example.com/", Status: StatusDegraded,
		StatusSince: testNow.Add(-10 * time.Minute), LastCheckedAt: testNow.Add(-15 * time.Second), LastLatencyMS: 1234,
		LastStatusCode: 200, LastReason: "slow", LastError: "took 1.2 s, more than 800 ms", IntervalSeconds: 60}
}

const degradedMessage = "Slow response: took 1.2 s, more than 800 ms"

func TestDegradedStatus(t *testing.T) {
	if got := StatusLabel(StatusDegraded); got != "Degraded" {
		t.Errorf("label %q", got)
	}
	if got := StatusClass(StatusDegraded); got != "pill pill-degraded" {
		t.Errorf("class %q", got)
	}
	rows := []MonitorRow{{ID: 1, Status: StatusUp}, {ID: 2, Status: StatusPaused}, {ID: 3, Status: StatusDegraded},
		{ID: 4, Status: StatusPending}, {ID: 5, Status: StatusDown}}
	var ids []int64
	for _, r := range SortRows(rows) {
		ids = append(ids, r.ID)
	}
	if want := []int64{5, 3, 4, 1, 2}; !slices.Equal(ids, want) {
		t.Errorf("order %v, want down, degraded, pending, up, paused %v", ids, want)
	}
}

func degradedOverview() Overview {
	o := sampleOverview()
	o.Degraded, o.Total = 1, 5
	d := OverviewRow{MonitorRow: degradedRow(), Uptime24h: pct(100), Uptime30d: pct(99.99), Bars: sampleBars()}
	d.Bars[88].Degraded, d.Bars[89].Degraded = 40, 12
	o.Rows = slices.Insert(o.Rows, 1, d) // after the down one
	return o
}

func TestDegradedOverview(t *testing.T) {
	doc := parse(t, render(t, OverviewPage(degradedOverview())))

	// Its own count, between down and pending, filtering to it.
	counts := byClass(doc, "summary-item")
	var order []string
	for _, a := range counts {
		order = append(order, strings.TrimPrefix(strings.Fields(mustAttr(a, "class"))[1], "summary-"))
	}
	if !slices.Equal(order, []string{"down", "degraded", "flapping", "unreachable", "pending", "up", "maintenance", "paused"}) {
		t.Errorf("counts %v", order)
	}
	c := byClass(doc, "summary-degraded")[0]
	if hasClass(c, "summary-zero") || mustAttr(c, "href") != "/?bars=days&state=degraded" {
		t.Errorf("degraded count: %v", c.Attr)
	}
	if n := find(c, "span", "data-count", "degraded"); len(n) != 1 || textOf(n[0]) != "1" {
		t.Error("degraded count is not 1")
	}
	if !strings.Contains(textOf(c), "Degraded") || len(find(c, "svg")) != 1 {
		t.Errorf("degraded count without word or icon: %q", textOf(c))
	}

	// The row: an amber pill with its word, and why.
	row := find(doc, "li", "data-monitor-id", "5")
	if len(row) != 1 || mustAttr(row[0], "data-status") != "degraded" {
		t.Fatal("no degraded row")
	}
	pill := byClass(row[0], "pill")
	if len(pill) != 1 || !hasClass(pill[0], "pill-degraded") || strings.TrimSpace(textOf(pill[0])) != "Degraded" ||
		len(find(pill[0], "i", "class", "pi")) != 1 {
		t.Errorf("degraded pill: %v", pill)
	}
	if w := byClass(row[0], "mon-warn"); len(w) != 1 || textOf(w[0]) != degradedMessage {
		t.Errorf("degraded reason in the row: %v", w)
	}
	if len(byClass(row[0], "mon-err")) != 0 {
		t.Error("a degraded row shows an error")
	}
	// Only degraded rows warn; a down one still errs.
	if n := byClass(doc, "mon-warn"); len(n) != 1 {
		t.Errorf("%d warnings, want 1", len(n))
	}
	if n := byClass(doc, "mon-err"); len(n) != 1 {
		t.Errorf("%d errors, want 1", len(n))
	}

	// Its bar tints the periods with degraded checks and says so.
	bar := byClass(row[0], "bar")[0]
	periods := find(bar, "i")
	for i, p := range periods {
		if got, want := hasClass(p, "bd"), i >= 88; got != want {
			t.Errorf("period %d: degraded tint %v", i, got)
		}
	}
	if got := mustAttr(periods[89], "class"); got != "b4 bd" {
		t.Errorf("class %q", got)
	}
	if got := mustAttr(periods[89], "title"); got != "24 Nov\n100% · 1440 up, 0 down · 12 degraded · avg 120 ms" {
		t.Errorf("title %q", got)
	}
	if got := mustAttr(bar, "aria-label"); got != "Last 90 days: 99.38% uptime, 3 days with failures, 2 days degraded" {
		t.Errorf("summary %q", got)
	}
	// The other rows have no tint.
	if n := byClass(doc, "bd"); len(n) != 2 {
		t.Errorf("%d tinted periods, want 2", len(n))
	}

	// The state filter offers it, selected, and the list says so.
	o := degradedOverview()
	o.State = StatusDegraded
	o.Rows = o.Rows[1:2]
	doc = parse(t, render(t, OverviewPage(o)))
	sel := find(doc, "option", "value", "degraded")
	if len(sel) != 1 || textOf(sel[0]) != "Degraded" {
		t.Fatal("no Degraded option")
	}
	if _, ok := attr(sel[0], "selected"); !ok {
		t.Error("Degraded option not selected")
	}
	if c := byClass(doc, "summary-degraded")[0]; mustAttr(c, "aria-current") != "true" || mustAttr(c, "href") != "/?bars=days" {
		t.Errorf("current degraded count: %v", c.Attr)
	}
	if h := find(doc, "h2", "id", "list-title"); len(h) != 1 || !strings.Contains(textOf(h[0]), "1 of 5 monitors") ||
		!strings.Contains(textOf(h[0]), "Degraded") {
		t.Errorf("list title %q", textOf(h[0]))
	}
	// Degraded monitors are not down: the tab title does not count them.
	o = degradedOverview()
	o.Down = 0
	if out := render(t, OverviewPage(o)); strings.Contains(out, "down) ") {
		t.Error("degraded counted as down in the title")
	}
}

func TestDegradedBarClass(t *testing.T) {
	for _, tt := range []struct {
		b    Bar
		want string
	}{
		{Bar{Uptime: pct(100), Up: 10}, "b4"},
		{Bar{Uptime: pct(100), Up: 10, Degraded: 1}, "b4 bd"},
		{Bar{Uptime: pct(50), Up: 10, Down: 10, Degraded: 10}, "b1 bd"},
		{Bar{Degraded: 3}, "b0"}, // no data: nothing to tint
	} {
		if got := tt.b.Class(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.b, got, tt.want)
		}
		if got := string(appendBar(nil, &tt.b, "")); !strings.HasPrefix(got, `<i class="`+tt.want+`" title="`) {
			t.Errorf("%+v: appendBar %q", tt.b, got)
		}
	}
	if got := BarSummary([]Bar{{Uptime: pct(100), Up: 60, Degraded: 6}, {Uptime: pct(100), Up: 60}}, false); got != "Last 2 hours: 100% uptime, no failures, 1 hour degraded" {
		t.Errorf("summary %q", got)
	}
}

func degradedMonitorPage() MonitorPage {
	p := sampleMonitorPage()
	p.Page = testPage("Search", "ada@example.com")
	p.Live, p.Favicon = true, StatusUp
	p.Monitor = degradedRow()
	p.Incidents = nil
	p.Uptime = []UptimeStat{
		{Label: "24 hours", Percent: pct(100), Up: 1440, Degraded: 7},
		{Label: "7 days", Percent: pct(99.99), Up: 10079, Down: 1, Degraded: 7},
		{Label: "30 days", Percent: pct(99.99), Up: 43199, Down: 1, Degraded: 1},
		{Label: "90 days", Percent: pct(99.99), Up: 129599, Down: 1},
	}
	p.Checks = append([]CheckRow{{At: testNow.Add(-15 * time.Second), OK: true, Degraded: true, StatusCode: 200, LatencyMS: 1234,
		Reason: "slow", Error: "took 1.2 s, more than 800 ms"}}, sampleChecks()...)
	return p
}

func TestDegradedMonitorPage(t *testing.T) {
	doc := parse(t, render(t, MonitorDetail(degradedMonitorPage())))
	if len(find(doc, "main", "data-status", "degraded")) != 1 {
		t.Error("<main> not data-status=degraded")
	}
	head := find(doc, "section", "id", "monitor-head")[0]
	if !hasClass(head, "status-card-degraded") {
		t.Errorf("status card class %q", mustAttr(head, "class"))
	}
	if p := byClass(head, "pill-degraded"); len(p) != 1 || strings.TrimSpace(textOf(p[0])) != "Degraded" {
		t.Error("no Degraded pill in the status card")
	}
	box := byClass(head, "alert-degraded")
	if len(box) != 1 || strings.TrimSpace(textOf(box[0])) != degradedMessage || len(find(box[0], "svg")) != 1 {
		t.Fatalf("degraded box: %v", box)
	}
	if len(byClass(head, "alert-down")) != 0 {
		t.Error("a degraded monitor shows the down box")
	}

	// Uptime tiles: the degraded share beside uptime, only where some were.
	tiles := byClass(doc, "uptime-item")
	if len(tiles) != 4 {
		t.Fatalf("%d uptime tiles", len(tiles))
	}
	var got []string
	for _, tile := range tiles {
		d := byClass(tile, "uptime-degraded")
		switch len(d) {
		case 0:
			got = append(got, "")
		case 1:
			got = append(got, textOf(d[0]))
			if !strings.HasSuffix(mustAttr(d[0], "title"), "counted as up") {
				t.Errorf("degraded tile title %q", mustAttr(d[0], "title"))
			}
		default:
			t.Fatal("two degraded figures in a tile")
		}
	}
	if want := []string{"0.48% degraded", "0.06% degraded", "<0.01% degraded", ""}; !slices.Equal(got, want) {
		t.Errorf("degraded figures %q, want %q", got, want)
	}

	// The checks table marks the degraded check with a word and its reason.
	rows := find(find(doc, "table")[0], "tr")[1:]
	if !hasClass(rows[0], "check-degraded") || hasClass(rows[0], "check-failed") {
		t.Errorf("degraded check row class %q", mustAttr(rows[0], "class"))
	}
	if p := byClass(rows[0], "pill-degraded"); len(p) != 1 || strings.TrimSpace(textOf(p[0])) != "Degraded" || len(find(p[0], "svg")) != 1 {
		t.Error("degraded check without its pill")
	}
	if r := byClass(rows[0], "reason-code"); len(r) != 1 || textOf(r[0]) != "Slow response" {
		t.Error("degraded check without its reason")
	}
	if e := byClass(rows[0], "reason-error"); len(e) != 1 || textOf(e[0]) != "took 1.2 s, more than 800 ms" {
		t.Error("degraded check without its message")
	}
	if hasClass(rows[1], "check-degraded") || len(byClass(rows[1], "reason")[0].Attr) != 1 || textOf(byClass(rows[1], "reason")[0]) != "" {
		t.Error("a plain OK check is marked")
	}
	if !hasClass(rows[2], "check-failed") || hasClass(rows[2], "check-degraded") {
		t.Error("a failed check is not marked failed")
	}
}

func TestDegradedText(t *testing.T) {
	for _, tt := range []struct {
		u    UptimeStat
		want string
	}{
		{UptimeStat{}, ""},
		{UptimeStat{Up: 100}, ""},
		{UptimeStat{Up: 100, Degraded: 100}, "100% degraded"},
		{UptimeStat{Up: 50, Down: 50, Degraded: 25}, "25.00% degraded"},
		{UptimeStat{Up: 1_000_000, Degraded: 1}, "<0.01% degraded"},
		{UptimeStat{Up: 12_345, Degraded: 1_234}, "9.99% degraded"},
		{UptimeStat{Degraded: 3}, ""}, // inconsistent: no checks
	} {
		if got := tt.u.degradedText(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.u, got, tt.want)
		}
	}
	if got := (UptimeStat{Up: 10, Degraded: 1}).degradedTitle(); got != "1 degraded check, counted as up" {
		t.Errorf("title %q", got)
	}
}

func TestDegradedAlertKind(t *testing.T) {
	doc := parse(t, render(t, alertKind(KindDegraded)))
	k := byClass(doc, "kind")
	if len(k) != 1 || !hasClass(k[0], "kind-degraded") || strings.TrimSpace(textOf(k[0])) != "Degraded" || len(find(k[0], "svg")) != 1 {
		t.Errorf("degraded alert kind: %v %q", k, textOf(doc))
	}
}

func TestMonitorPageShowsMissedChecks(t *testing.T) {
	var buf strings.Builder
	p := MonitorPage{Monitor: MonitorRow{ID: 1, Name: "api", Status: StatusUp}, Missed: 7}
	if err := MonitorDetail(p).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Checks missed") || !strings.Contains(buf.String(), ">7<") {
		t.Error("the page does not say how many checks were missed")
	}
	buf.Reset()
	p.Missed = 0
	if err := MonitorDetail(p).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "Checks missed") {
		t.Error("missed checks shown when there are none")
	}
}
