package app

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// The Maintenance page lists windows and adds them with a plain form
// (no JavaScript); a fault re-renders the form with what was typed.
func TestMaintenancePageForm(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	var m monitorJSON
	e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"router","url":"http://127.0.0.1:9/"}`).json(t, &m)
	b := login(t, e, "owner@example.com", "password123")

	code, _, body := get(t, b, e.srv.URL+"/maintenance")
	if code != 200 || !strings.Contains(body, "No maintenance windows") || !strings.Contains(body, `name="monitors"`) ||
		!strings.Contains(body, `href="/maintenance" aria-current="page"`) {
		t.Fatalf("empty page: %d %s", code, body)
	}
	// A fault: no title. The rest comes back as typed.
	form := url.Values{"title": {""}, "kind": {"weekly"}, "monitors": {itoa(m.ID)}, "days": {"sun"},
		"start_time": {"01:00"}, "end_time": {"05:00"}, "timezone": {"Europe/Berlin"}}
	code, _, body = post(t, b, e.srv.URL+"/maintenance", form)
	if code != 422 || !strings.Contains(body, "is required") || !strings.Contains(body, `value="Europe/Berlin"`) ||
		!strings.Contains(body, `id="day-sun" name="days" value="sun" checked`) {
		t.Fatalf("fault: %d %s", code, body)
	}
	form.Set("title", "Sunday reboot")
	code, loc, _ := post(t, b, e.srv.URL+"/maintenance", form)
	if code != 303 || loc != "/maintenance?m=maintenance-created" {
		t.Fatalf("create: %d %s", code, loc)
	}
	// A one-off window now, in its zone: the monitor is in maintenance.
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := e.clock.Now().In(berlin)
	once := url.Values{"title": {"Router swap"}, "kind": {"once"}, "monitors": {itoa(m.ID)}, "timezone": {"Europe/Berlin"},
		"starts_at": {now.Add(-time.Minute).Format(formTimeLayout)}, "ends_at": {now.Add(time.Hour).Format(formTimeLayout)}}
	if code, _, body := post(t, b, e.srv.URL+"/maintenance", once); code != 303 {
		t.Fatalf("create once: %d %s", code, body)
	}
	code, _, body = get(t, b, e.srv.URL+"/maintenance?m=maintenance-created")
	if code != 200 || !strings.Contains(body, "Sunday reboot") || !strings.Contains(body, "Every Sun 01:00–05:00 (Europe/Berlin)") ||
		!strings.Contains(body, "Router swap") || !strings.Contains(body, "in progress") || !strings.Contains(body, "router") {
		t.Fatalf("list: %d %s", code, body)
	}
	list, _ := e.st.ListMaintenance(t.Context(), 1)
	if len(list) != 2 {
		t.Fatalf("stored %+v", list)
	}
	code, loc, _ = post(t, b, e.srv.URL+"/maintenance/"+itoa(list[0].ID)+"/delete", nil)
	if code != 303 || loc != "/maintenance?m=maintenance-deleted" {
		t.Fatalf("delete: %d %s", code, loc)
	}
	if list, _ := e.st.ListMaintenance(t.Context(), 1); len(list) != 1 {
		t.Errorf("after delete: %+v", list)
	}
}

// The monitor form offers the other monitors as "Depends on" and saves
// the ticked ones (none ticked clears them).
func TestMonitorFormDependsOn(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	var router, nas monitorJSON
	e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"router","url":"http://127.0.0.1:9/"}`).json(t, &router)
	e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"nas","url":"http://127.0.0.1:9/"}`).json(t, &nas)
	b := login(t, e, "owner@example.com", "password123")
	edit := "/monitors/" + itoa(nas.ID) + "/edit"
	code, _, body := get(t, b, e.srv.URL+edit)
	if code != 200 || !strings.Contains(body, `id="dep-`+itoa(router.ID)+`"`) || strings.Contains(body, `id="dep-`+itoa(nas.ID)+`"`) {
		t.Fatalf("edit form: %d %s", code, body)
	}
	form := url.Values{"name": {"nas"}, "url": {"http://127.0.0.1:9/"}, "method": {"GET"}, "expected_status": {"200-299"},
		"interval_seconds": {"60"}, "confirmations": {"1"}, "type": {"http"}, "depends_on_present": {"1"}, "depends_on": {itoa(router.ID)}}
	if code, loc, body := post(t, b, e.srv.URL+edit, form); code != 303 || !strings.HasPrefix(loc, "/monitors/") {
		t.Fatalf("save: %d %s %s", code, loc, body)
	}
	var got monitorJSON
	e.do(t, "GET", "/api/v1/monitors/"+itoa(nas.ID), tok, "").json(t, &got)
	if len(got.DependsOn) != 1 || got.DependsOn[0] != router.ID {
		t.Fatalf("depends_on = %v", got.DependsOn)
	}
	if _, _, body := get(t, b, e.srv.URL+edit); !strings.Contains(body, `id="dep-`+itoa(router.ID)+`" name="depends_on" value="`+itoa(router.ID)+`" checked`) {
		t.Errorf("stored dependency not ticked: %s", body)
	}
	// The router depending on the nas would close a cycle.
	r := e.do(t, "PATCH", "/api/v1/monitors/"+itoa(router.ID), tok, `{"depends_on":[`+itoa(nas.ID)+`]}`)
	if r.code != 422 || !strings.Contains(string(r.body), `"field":"depends_on"`) {
		t.Errorf("cycle: %d %s", r.code, r.body)
	}
}
