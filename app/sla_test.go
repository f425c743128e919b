package app

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/store"
)

// The SLA of a month with outages, a window declared afterwards over one
// of them and a weekly window, checked against a brute-force count over
// every second of the month from the raw checks.
func TestSLAMatchesBruteForce(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	var mon monitorJSON
	e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"=api","url":"http://127.0.0.1:9/"}`).json(t, &mon)
	ctx := context.Background()
	month := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	end := month.AddDate(0, 1, 0)
	if !e.clock.Now().After(end) {
		t.Skip("the test's month must be over")
	}

	// A check a minute; failing in a few runs (the incidents), with a
	// state machine of one confirmation: an incident runs from its first
	// failing check to the next passing one.
	failing := func(at time.Time) bool {
		d := at.Sub(month)
		switch {
		case d >= 2*24*time.Hour && d < 2*24*time.Hour+47*time.Minute: // 47 min
		case d >= 10*24*time.Hour+5*time.Hour && d < 10*24*time.Hour+9*time.Hour: // 4 h, mostly declared maintenance below
		case d >= 28*24*time.Hour+90*time.Minute && d < 28*24*time.Hour+100*time.Minute: // 29 Mar 01:30 UTC, inside the weekly window
		case d >= 30*24*time.Hour+23*time.Hour+50*time.Minute: // open at the month's end
		default:
			return false
		}
		return true
	}
	var checks []store.Check
	var updates []store.StateUpdate
	status := store.StatusUp
	flush := func() {
		if err := e.st.SaveChecks(ctx, checks, updates); err != nil {
			t.Fatal(err)
		}
		checks, updates = checks[:0], updates[:0]
	}
	for at := month.Add(-time.Minute); at.Before(end.Add(time.Minute)); at = at.Add(time.Minute) {
		ok := !failing(at) && at.Before(end) // still down after the month

		checks = append(checks, store.Check{MonitorID: mon.ID, Region: "local", At: at, OK: ok, StatusCode: 200})
		next := store.StatusUp
		if !ok {
			next = store.StatusDown
		}
		if next != status {
			updates = append(updates, store.StateUpdate{MonitorID: mon.ID, State: store.MonitorState{Status: next, Since: at},
				Transition: &store.Transition{MonitorID: mon.ID, From: status, To: next, At: at}})
			status = next
			flush()
		}
		if len(checks) >= 2000 {
			flush()
		}
	}
	flush()

	// Declared afterwards: 10 Mar 06:00–08:30; and every Sunday 01:00–05:00 in Berlin.
	for _, b := range []string{
		fmt.Sprintf(`{"title":"was planned","monitors":[%d],"starts_at":"2026-03-11T06:00:00Z","ends_at":"2026-03-11T08:30:00Z"}`, mon.ID),
		fmt.Sprintf(`{"title":"Sunday","monitors":[%d],"days":["sun"],"start_time":"01:00","end_time":"05:00","timezone":"Europe/Berlin"}`, mon.ID),
	} {
		if r := e.do(t, "POST", "/api/v1/maintenance", tok, b); r.code != 201 {
			t.Fatalf("window: %d %s", r.code, r.body)
		}
	}
	list, _ := e.st.ListMaintenance(ctx, 1)
	var ws []*checker.MaintenanceWindow
	for _, m := range list {
		_, w, _, _ := checker.CompileMaintenance(m)
		ws = append(ws, w)
	}

	// Brute force, second by second.
	var down, maint, measured int64
	incidents, longest, run := 0, int64(0), int64(0)
	prevDown := false
	for s := month; s.Before(end); s = s.Add(time.Second) {
		inMaint := false
		for _, w := range ws {
			if in, _ := w.At(s); in {
				inMaint = true
			}
		}
		isDown := failing(s.Truncate(time.Minute))
		if isDown && !prevDown {
			run = 0
		}
		if isDown && !inMaint {
			run++
		}
		if !isDown && prevDown || isDown && !s.Add(time.Second).Before(end) {
			if run > 0 {
				incidents++
				longest = max(longest, run)
			}
		}
		prevDown = isDown
		if inMaint {
			maint++
			continue
		}
		measured++
		if isDown {
			down++
		}
	}
	r := e.do(t, "GET", fmt.Sprintf("/api/v1/monitors/%d/sla?month=2026-03", mon.ID), tok, "")
	var got slaJSON
	r.json(t, &got)
	wantUp := 100 * float64(measured-down) / float64(measured)
	if r.code != 200 || got.DowntimeSeconds != down || got.MaintenanceSeconds != maint || got.MeasuredSeconds != measured ||
		got.Incidents != incidents || got.LongestSeconds != longest || got.UptimePercent == nil || *got.UptimePercent != wantUp {
		t.Fatalf("SLA %d %s\nwant downtime %d s, maintenance %d s, measured %d s, %d incidents, longest %d s, uptime %v",
			r.code, r.body, down, maint, measured, incidents, longest, wantUp)
	}
	t.Logf("SLA %s", r.body)
	if got.MTTRSeconds == nil {
		t.Errorf("no MTTR: %s", r.body)
	}
	r = e.do(t, "GET", fmt.Sprintf("/api/v1/monitors/%d/sla?month=2026-03&format=csv", mon.ID), tok, "")
	lines := strings.Split(strings.TrimSpace(string(r.body)), "\n")
	if r.code != 200 || !strings.HasPrefix(r.hdr.Get("Content-Type"), "text/csv") || len(lines) != 2 ||
		!strings.HasPrefix(lines[0], "monitor_id,monitor,month") || !strings.Contains(lines[1], ",'=api,2026-03,") {
		t.Errorf("csv: %d %q", r.code, r.body)
	}
	if r := e.do(t, "GET", fmt.Sprintf("/api/v1/monitors/%d/sla?month=2026-13", mon.ID), tok, ""); r.code != 400 {
		t.Errorf("bad month: %d", r.code)
	}
}

func TestSLAPage(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	var mon monitorJSON
	e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"api","url":"http://127.0.0.1:9/"}`).json(t, &mon)
	b := login(t, e, "owner@example.com", "password123")
	month := e.clock.Now().UTC().Format("2006-01")
	code, _, body := get(t, b, e.srv.URL+fmt.Sprintf("/monitors/%d/sla?month=%s", mon.ID, month))
	if code != 200 || !strings.Contains(body, "SLA report: api") || !strings.Contains(body, "Download CSV") ||
		!strings.Contains(body, "100.0000%") {
		t.Fatalf("page: %d %s", code, body)
	}
	// The CSV link works with the page's session.
	code, _, body = get(t, b, e.srv.URL+fmt.Sprintf("/api/v1/monitors/%d/sla?format=csv&month=%s", mon.ID, month))
	if code != 200 || !strings.HasPrefix(body, "monitor_id,") {
		t.Errorf("csv with a session: %d %s", code, body)
	}
	if code, _, _ := get(t, b, e.srv.URL+fmt.Sprintf("/monitors/%d", mon.ID)); code != 200 {
		t.Errorf("monitor page: %d", code)
	}
}
