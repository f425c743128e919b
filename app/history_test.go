package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/upwatch/upwatch/store"
)

// seed stores checks for a monitor as the result sink would: one up, one
// down with the transition that opens an incident.
func seed(t *testing.T, e *env, id int64) time.Time {
	t.Helper()
	now := e.clock.Now().UTC().Truncate(time.Second)
	up, down := now.Add(-2*time.Minute), now.Add(-time.Minute)
	err := e.st.SaveChecks(context.Background(), []store.Check{
		{MonitorID: id, Region: "local", At: up, OK: true, StatusCode: 200, Latency: 20 * time.Millisecond,
			Phases: store.Phases{Connect: time.Millisecond, TTFB: 15 * time.Millisecond, Transfer: 4 * time.Millisecond}},
		{MonitorID: id, Region: "local", At: down, OK: false, StatusCode: 503, Latency: 5 * time.Millisecond, Reason: "status", Error: "HTTP 503 Service Unavailable"},
	}, []store.StateUpdate{{MonitorID: id, State: store.MonitorState{Status: store.StatusDown, Since: down, FailStreak: 1},
		Transition: &store.Transition{MonitorID: id, From: "up", To: "down", At: down, Reason: "status",
			Error: "HTTP 503 Service Unavailable", StatusCode: 503, Excerpt: "<b>maintenance</b>"}}})
	if err != nil {
		t.Fatal(err)
	}
	return down
}

func TestHistoryAPI(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	var m monitorJSON
	e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"m","url":"http://127.0.0.1:9/"}`).json(t, &m)
	downAt := seed(t, e, m.ID)
	base := "/api/v1/monitors/" + itoa(m.ID)

	var up struct{ Items []uptimeJSON }
	r := e.do(t, "GET", base+"/uptime?windows=24h,7d,30d,90d", tok, "")
	r.json(t, &up)
	if r.code != 200 || len(up.Items) != 4 {
		t.Fatalf("uptime: %d %s", r.code, r.body)
	}
	for _, it := range up.Items {
		if it.Up != 1 || it.Down != 1 || it.Uptime == nil || *it.Uptime != 50 {
			t.Errorf("window %s: %+v", it.Window, it)
		}
	}
	var one monitorJSON
	e.do(t, "GET", base, tok, "").json(t, &one)
	if one.Uptime["24h"] == nil || *one.Uptime["24h"] != 50 || one.Uptime["30d"] == nil {
		t.Errorf("monitor uptime: %+v", one.Uptime)
	}

	var lat struct {
		Resolution string
		Items      []pointJSON
	}
	r = e.do(t, "GET", base+"/latency?step=1m&from="+itoa(e.clock.Now().Add(-time.Hour).Unix()), tok, "")
	r.json(t, &lat)
	if r.code != 200 || len(lat.Items) == 0 || lat.Resolution != "raw" {
		t.Fatalf("latency: %d %s", r.code, r.body)
	}
	var sawTTFB bool
	for _, p := range lat.Items {
		sawTTFB = sawTTFB || p.TTFBMS == 15
	}
	if !sawTTFB {
		t.Errorf("latency points lack the phases: %s", r.body)
	}

	var incs struct{ Items []incidentJSON }
	e.do(t, "GET", "/api/v1/incidents?status=open", tok, "").json(t, &incs)
	if len(incs.Items) != 1 {
		t.Fatalf("open incidents: %+v", incs.Items)
	}
	inc := incs.Items[0]
	if inc.MonitorID != m.ID || inc.Status != "open" || !inc.StartedAt.Equal(downAt) || inc.StatusCode != 503 ||
		inc.Reason != "status" || inc.Excerpt != "<b>maintenance</b>" || inc.Acknowledged != nil {
		t.Errorf("incident: %+v", inc)
	}
	var acked incidentJSON
	r = e.do(t, "POST", "/api/v1/incidents/"+itoa(inc.ID)+"/acknowledge", tok, "")
	r.json(t, &acked)
	if r.code != 200 || acked.Acknowledged == nil || acked.Acknowledged.Email != "owner@example.com" {
		t.Errorf("ack: %d %s", r.code, r.body)
	}
	e.do(t, "GET", base+"/incidents?status=resolved", tok, "").json(t, &incs)
	if len(incs.Items) != 0 {
		t.Errorf("resolved incidents: %+v", incs.Items)
	}

	bad := []struct{ path, field string }{
		{base + "/uptime?windows=abc", "windows"},
		{base + "/uptime?windows=0d", "windows"},
		{base + "/uptime?windows=2000d", "windows"},
		{base + "/uptime?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "from"},
		{base + "/uptime?from=yesterday", "from"},
		{base + "/latency?from=2010-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", "from"},
		{base + "/latency?step=0", "step"},
		{base + "/latency?step=-5m", "step"},
		{base + "/latency?step=1s&from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", "step"},
		{"/api/v1/incidents?status=maybe", "status"},
		{"/api/v1/incidents?monitor_id=x", "monitor_id"},
	}
	for _, c := range bad {
		r := e.do(t, "GET", c.path, tok, "")
		var p problem
		r.json(t, &p)
		if r.code != 400 || p.Field != c.field {
			t.Errorf("%s: %d field %q, want 400 %q", c.path, r.code, p.Field, c.field)
		}
	}

	// Another user sees none of it.
	e.do(t, "POST", "/api/v1/users", tok, `{"email":"bob@example.com","password":"bobpassword"}`)
	var bl struct{ Token string }
	e.do(t, "POST", "/api/v1/auth/login", "", `{"email":"bob@example.com","password":"bobpassword"}`).json(t, &bl)
	for _, p := range []string{base + "/uptime", base + "/latency", base + "/incidents"} {
		if r := e.do(t, "GET", p, bl.Token, ""); r.code != 404 {
			t.Errorf("bob %s: %d", p, r.code)
		}
	}
	if r := e.do(t, "POST", "/api/v1/incidents/"+itoa(inc.ID)+"/acknowledge", bl.Token, ""); r.code != 404 {
		t.Errorf("bob acks: %d", r.code)
	}
	e.do(t, "GET", "/api/v1/incidents", bl.Token, "").json(t, &incs)
	if len(incs.Items) != 0 {
		t.Errorf("bob sees incidents: %+v", incs.Items)
	}
	if r := e.do(t, "POST", "/api/v1/admin/backup", bl.Token, ""); r.code != 403 {
		t.Errorf("non-admin backup: %d", r.code)
	}
	r = e.do(t, "POST", "/api/v1/admin/backup", tok, "")
	if r.code != 200 || !strings.HasPrefix(string(r.body), "SQLite format 3\x00") || r.hdr.Get("Content-Type") != "application/vnd.sqlite3" {
		t.Errorf("backup: %d %q", r.code, r.hdr)
	}
}

func TestAPITokensAPI(t *testing.T) {
	e := newEnv(t)
	jwt := e.signup(t)
	r := e.do(t, "POST", "/api/v1/tokens", jwt, `{"name":"terraform"}`)
	var created tokenJSON
	r.json(t, &created)
	if r.code != 201 || !strings.HasPrefix(created.Token, "upw_") || created.Prefix == "" || !strings.HasPrefix(created.Token, created.Prefix) {
		t.Fatalf("create token: %d %s", r.code, r.body)
	}
	if r := e.do(t, "GET", "/api/v1/me", created.Token, ""); r.code != 200 {
		t.Fatalf("token does not authenticate: %d", r.code)
	}
	var list struct{ Items []tokenJSON }
	e.do(t, "GET", "/api/v1/tokens", created.Token, "").json(t, &list)
	if len(list.Items) != 1 || list.Items[0].Token != "" || list.Items[0].LastUsedAt == nil {
		t.Errorf("list shows the secret or misses last use: %+v", list.Items)
	}
	for body, field := range map[string]string{`{"name":""}`: "name", `{"name":"x","expires_in_days":-1}`: "expires_in_days"} {
		var p problem
		e.do(t, "POST", "/api/v1/tokens", jwt, body).json(t, &p)
		if p.Field != field {
			t.Errorf("%s: field %q", body, p.Field)
		}
	}
	if r := e.do(t, "DELETE", "/api/v1/tokens/"+itoa(created.ID), jwt, ""); r.code != 204 {
		t.Fatalf("revoke: %d", r.code)
	}
	if r := e.do(t, "GET", "/api/v1/me", created.Token, ""); r.code != 401 {
		t.Errorf("revoked token still works: %d", r.code)
	}
	if r := e.do(t, "GET", "/api/v1/me", "", "", "Authorization", "Bearer upw_forged"); r.code != 401 {
		t.Errorf("forged token: %d", r.code)
	}
}
