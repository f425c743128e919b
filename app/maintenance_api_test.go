package app

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/upwatch/upwatch/store"
)

func TestMaintenanceAPI(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	r := e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"db","url":"http://127.0.0.1:9/"}`)
	if r.code != 201 {
		t.Fatalf("create monitor: %d %s", r.code, r.body)
	}
	var mon struct{ ID int64 }
	r.json(t, &mon)

	start := e.clock.Now().Add(time.Hour).UTC().Truncate(time.Second)
	body := fmt.Sprintf(`{"title":"DB upgrade","monitors":[%d],"starts_at":%q,"ends_at":%q}`,
		mon.ID, start.Format(time.RFC3339), start.Add(2*time.Hour).Format(time.RFC3339))
	r = e.do(t, "POST", "/api/v1/maintenance", tok, body)
	if r.code != 201 {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	var got maintenanceJSON
	r.json(t, &got)
	if got.Kind != "once" || got.Active || got.NextStart == nil || !got.NextStart.Equal(start) || got.TimeZone != "UTC" {
		t.Errorf("created %+v", got)
	}

	// Recurring forms.
	for _, b := range []string{
		fmt.Sprintf(`{"title":"Sunday reboot","monitors":[%d],"days":["sun"],"start_time":"01:00","end_time":"05:00","timezone":"Europe/Berlin"}`, mon.ID),
		fmt.Sprintf(`{"title":"Nightly","monitors":[%d],"cron":"30 2 * * *","duration_seconds":1800,"timezone":"Europe/Berlin","notify":true}`, mon.ID),
	} {
		if r := e.do(t, "POST", "/api/v1/maintenance", tok, b); r.code != 201 {
			t.Errorf("create %s: %d %s", b, r.code, r.body)
		}
	}
	// Faults name their field.
	for _, tc := range []struct{ body, field string }{
		{`{"title":"","monitors":[1],"starts_at":"2030-01-01T00:00:00Z","ends_at":"2030-01-01T01:00:00Z"}`, "title"},
		{`{"title":"x","monitors":[],"starts_at":"2030-01-01T00:00:00Z","ends_at":"2030-01-01T01:00:00Z"}`, "monitors"},
		{`{"title":"x","monitors":[999],"starts_at":"2030-01-01T00:00:00Z","ends_at":"2030-01-01T01:00:00Z"}`, "monitors"},
		{fmt.Sprintf(`{"title":"x","monitors":[%d],"starts_at":"2030-01-01T01:00:00Z","ends_at":"2030-01-01T00:00:00Z"}`, mon.ID), "ends_at"},
		{fmt.Sprintf(`{"title":"x","monitors":[%d],"cron":"61 * * * *","duration_seconds":60}`, mon.ID), "cron"},
		{fmt.Sprintf(`{"title":"x","monitors":[%d],"days":["sun"],"start_time":"1am","end_time":"05:00"}`, mon.ID), "start_time"},
	} {
		r := e.do(t, "POST", "/api/v1/maintenance", tok, tc.body)
		var p struct {
			Errors []FieldError `json:"errors"`
		}
		_ = json.Unmarshal(r.body, &p)
		if r.code != 422 || len(p.Errors) == 0 || p.Errors[0].Field != tc.field {
			t.Errorf("%s: %d %s, want 422 naming %s", tc.body, r.code, r.body, tc.field)
		}
	}

	r = e.do(t, "GET", "/api/v1/maintenance", tok, "")
	var list struct{ Items []maintenanceJSON }
	r.json(t, &list)
	if r.code != 200 || len(list.Items) != 3 {
		t.Fatalf("list: %d %s", r.code, r.body)
	}
	path := fmt.Sprintf("/api/v1/maintenance/%d", got.ID)
	r = e.do(t, "PATCH", path, tok, `{"title":"DB upgrade (moved)"}`)
	var patched maintenanceJSON
	r.json(t, &patched)
	if r.code != 200 || patched.Title != "DB upgrade (moved)" || !patched.StartsAt.Equal(start) || patched.Kind != "once" {
		t.Errorf("patch: %d %s", r.code, r.body)
	}
	if r := e.do(t, "DELETE", path, tok, ""); r.code != 204 {
		t.Errorf("delete: %d %s", r.code, r.body)
	}
	if r := e.do(t, "GET", path, tok, ""); r.code != 404 || !strings.Contains(r.hdr.Get("Content-Type"), "problem") {
		t.Errorf("after delete: %d", r.code)
	}
}

func TestFlappingSettingsAPI(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	var m monitorJSON
	e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"wifi","url":"http://127.0.0.1:9/"}`).json(t, &m)
	if m.FlapChanges != 5 || m.FlapMinutes != 30 {
		t.Errorf("defaults %d in %d min", m.FlapChanges, m.FlapMinutes)
	}
	r := e.do(t, "PATCH", fmt.Sprintf("/api/v1/monitors/%d", m.ID), tok, `{"flap_changes":3,"flap_minutes":15}`)
	r.json(t, &m)
	if r.code != 200 || m.FlapChanges != 3 || m.FlapMinutes != 15 {
		t.Errorf("patch: %d %s", r.code, r.body)
	}
	r = e.do(t, "PATCH", fmt.Sprintf("/api/v1/monitors/%d", m.ID), tok, `{"flap_minutes":0}`)
	if r.code != 422 || !strings.Contains(string(r.body), `"field":"flap_minutes"`) {
		t.Errorf("bad window: %d %s", r.code, r.body)
	}
}

func TestPeriodsAPI(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	var m monitorJSON
	e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"api","url":"http://127.0.0.1:9/","confirm_seconds":60}`).json(t, &m)
	if m.ConfirmSeconds != 60 || m.RecoverSeconds != 0 {
		t.Errorf("created %d/%d", m.ConfirmSeconds, m.RecoverSeconds)
	}
	r := e.do(t, "PATCH", fmt.Sprintf("/api/v1/monitors/%d", m.ID), tok, `{"recover_seconds":120}`)
	r.json(t, &m)
	if r.code != 200 || m.ConfirmSeconds != 60 || m.RecoverSeconds != 120 {
		t.Errorf("patch: %d %s", r.code, r.body)
	}
	if r := e.do(t, "PATCH", fmt.Sprintf("/api/v1/monitors/%d", m.ID), tok, `{"recover_seconds":-1}`); r.code != 422 ||
		!strings.Contains(string(r.body), `"field":"recover_seconds"`) {
		t.Errorf("negative: %d %s", r.code, r.body)
	}
}

// Escalation policies: a monitor's own and the user's default, through the
// dispatcher with an injected clock: the second channel hears of an
// unacknowledged incident after the policy's time.
func TestEscalationAPI(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	var ch1, ch2 channelJSON
	e.do(t, "POST", "/api/v1/channels", tok, `{"name":"team","type":"webhook","settings":{"url":"http://127.0.0.1:9/a"}}`).json(t, &ch1)
	e.do(t, "POST", "/api/v1/channels", tok, `{"name":"on-call","type":"webhook","settings":{"url":"http://127.0.0.1:9/b"}}`).json(t, &ch2)
	var m monitorJSON
	e.do(t, "POST", "/api/v1/monitors", tok, fmt.Sprintf(`{"name":"db","url":"http://127.0.0.1:9/","channels":[%d]}`, ch1.ID)).json(t, &m)
	path := fmt.Sprintf("/api/v1/monitors/%d/escalation", m.ID)
	if r := e.do(t, "GET", path, tok, ""); r.code != 404 {
		t.Errorf("none yet: %d", r.code)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"after_minutes":0,"channels":[1]}`, "after_minutes"},
		{`{"after_minutes":5,"channels":[]}`, "channels"},
		{`{"after_minutes":5,"channels":[999]}`, "channels"},
	} {
		if r := e.do(t, "PUT", path, tok, tc.body); r.code != 422 || !strings.Contains(string(r.body), `"field":"`+tc.field+`"`) {
			t.Errorf("%s: %d %s", tc.body, r.code, r.body)
		}
	}
	if r := e.do(t, "PUT", path, tok, fmt.Sprintf(`{"after_minutes":15,"channels":[%d]}`, ch2.ID)); r.code != 200 {
		t.Fatalf("put: %d %s", r.code, r.body)
	}
	if r := e.do(t, "PUT", "/api/v1/escalation", tok, fmt.Sprintf(`{"after_minutes":30,"channels":[%d]}`, ch2.ID)); r.code != 200 {
		t.Fatalf("put default: %d %s", r.code, r.body)
	}
	var got escalationJSON
	e.do(t, "GET", path, tok, "").json(t, &got)
	if got.AfterMinutes != 15 || len(got.Channels) != 1 || got.Channels[0] != ch2.ID {
		t.Errorf("get: %+v", got)
	}
	ctx := t.Context()
	now := e.clock.Now()
	if err := e.st.SaveChecks(ctx, nil, []store.StateUpdate{{MonitorID: m.ID, State: store.MonitorState{Status: store.StatusDown, Since: now},
		Transition: &store.Transition{MonitorID: m.ID, From: store.StatusUp, To: store.StatusDown, At: now, Alert: true}}}); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(15 * time.Minute)
	if n, err := e.st.EnqueueEscalations(ctx, e.clock.Now()); err != nil || n != 1 {
		t.Fatalf("escalations: %d, %v", n, err)
	}
	var log struct{ Items []struct{ Kind string } }
	e.do(t, "GET", fmt.Sprintf("/api/v1/channels/%d/deliveries", ch2.ID), tok, "").json(t, &log)
	if len(log.Items) != 1 || log.Items[0].Kind != "escalation" {
		t.Errorf("on-call deliveries: %+v", log.Items)
	}
	if r := e.do(t, "DELETE", path, tok, ""); r.code != 204 {
		t.Errorf("delete: %d", r.code)
	}
}
