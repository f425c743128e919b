package app

import (
	"strings"
	"testing"
)

func TestChannelsAPI(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	bad := []struct{ body, field string }{
		{`{"name":"x","type":"carrier-pigeon","settings":{}}`, "type"},
		{`{"name":"","type":"slack","settings":{"webhook_url":"https://hooks.slack.com/services/T/B/X"}}`, "name"},
		{`{"name":"x","type":"slack","settings":{}}`, "settings.webhook_url"},
		{`{"name":"x","type":"slack","settings":{"webhook_url":"not a url"}}`, "settings.webhook_url"},
		{`{"name":"x","type":"email","settings":{"host":"smtp.example.com","to":["a@b.c\r\nBcc: x@y.z"]}}`, "settings.to"},
		{`{"name":"x","type":"webhook","settings":{"url":"https://h.example/x","body_template":"{{call .X}}"}}`, "settings.body_template"},
	}
	for _, c := range bad {
		r := e.do(t, "POST", "/api/v1/channels", tok, c.body)
		var p problem
		r.json(t, &p)
		if r.code != 422 || p.Field != c.field {
			t.Errorf("%s: %d field %q (%s), want 422 %q", c.body, r.code, p.Field, r.body, c.field)
		}
	}
	secret := "https://hooks.slack.com/services/T000/B000/supersecretvalue1234"
	r := e.do(t, "POST", "/api/v1/channels", tok, `{"name":"team","type":"slack","default":true,"settings":{"webhook_url":"`+secret+`"}}`)
	var c channelJSON
	r.json(t, &c)
	if r.code != 201 || !c.Enabled || !c.Default {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	if strings.Contains(string(r.body), "supersecret") {
		t.Errorf("secret returned by the API: %s", r.body)
	}
	// Sending the redacted form back keeps the secret; the name changes.
	var got struct{ Settings map[string]string }
	e.do(t, "GET", "/api/v1/channels/"+itoa(c.ID), tok, "").json(t, &got)
	r = e.do(t, "PATCH", "/api/v1/channels/"+itoa(c.ID), tok, `{"name":"renamed","settings":{"webhook_url":"`+got.Settings["webhook_url"]+`"}}`)
	if r.code != 200 {
		t.Fatalf("patch: %d %s", r.code, r.body)
	}
	stored, err := e.st.GetChannel(t.Context(), 1, c.ID)
	if err != nil || !strings.Contains(string(stored.Settings), "supersecretvalue1234") || stored.Name != "renamed" {
		t.Errorf("stored after patch: %+v %v", stored, err)
	}
	if r := e.do(t, "PATCH", "/api/v1/channels/"+itoa(c.ID), tok, `{"type":"discord"}`); r.code != 422 {
		t.Errorf("type change: %d", r.code)
	}

	// New monitors get the default channel; explicit lists are checked.
	var m monitorJSON
	e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"m","url":"http://127.0.0.1:9/","reminder_minutes":30}`).json(t, &m)
	if len(m.Channels) != 1 || m.Channels[0] != c.ID || m.ReminderMinutes != 30 {
		t.Errorf("monitor alerts: %+v %d", m.Channels, m.ReminderMinutes)
	}
	var p problem
	r = e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"m2","url":"http://127.0.0.1:9/","channels":[9999]}`)
	r.json(t, &p)
	if r.code != 422 || p.Field != "channels" {
		t.Errorf("unknown channel: %d %s", r.code, r.body)
	}
	r = e.do(t, "PATCH", "/api/v1/monitors/"+itoa(m.ID), tok, `{"channels":[]}`)
	var none monitorJSON
	r.json(t, &none)
	if r.code != 200 || len(none.Channels) != 0 {
		t.Errorf("unlinking: %d %s", r.code, r.body)
	}
	if r := e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"m3","url":"http://127.0.0.1:9/","reminder_minutes":-1}`); r.code != 422 {
		t.Errorf("negative reminder: %d", r.code)
	}

	// Another user sees none of it.
	e.do(t, "POST", "/api/v1/users", tok, `{"email":"bob@example.com","password":"bobpassword"}`)
	var bl struct{ Token string }
	e.do(t, "POST", "/api/v1/auth/login", "", `{"email":"bob@example.com","password":"bobpassword"}`).json(t, &bl)
	for _, req := range [][2]string{{"GET", "/api/v1/channels/" + itoa(c.ID)}, {"DELETE", "/api/v1/channels/" + itoa(c.ID)},
		{"POST", "/api/v1/channels/" + itoa(c.ID) + "/test"}, {"GET", "/api/v1/channels/" + itoa(c.ID) + "/deliveries"}} {
		if r := e.do(t, req[0], req[1], bl.Token, ""); r.code != 404 {
			t.Errorf("bob %s %s: %d", req[0], req[1], r.code)
		}
	}
	r = e.do(t, "POST", "/api/v1/monitors", bl.Token, `{"name":"b","url":"http://127.0.0.1:9/","channels":[`+itoa(c.ID)+`]}`)
	if r.code != 422 {
		t.Errorf("bob links alice's channel: %d", r.code)
	}
	if r := e.do(t, "GET", "/api/v1/channel-types", tok, ""); r.code != 200 || !strings.Contains(string(r.body), `"telegram"`) {
		t.Errorf("channel types: %d", r.code)
	}
	if r := e.do(t, "DELETE", "/api/v1/channels/"+itoa(c.ID), tok, ""); r.code != 204 {
		t.Errorf("delete: %d", r.code)
	}
}
