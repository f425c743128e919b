package app

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/upwatch/upwatch/store"
)

func dialLive(t *testing.T, e *env, hdr http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/api/v1/live", &websocket.DialOptions{HTTPHeader: hdr})
}

func TestLiveFeed(t *testing.T) {
	e := newEnv(t)
	admin := e.signup(t)
	var mine, theirs monitorJSON
	e.do(t, "POST", "/api/v1/monitors", admin, `{"name":"mine","url":"http://127.0.0.1:9/"}`).json(t, &mine)
	e.do(t, "POST", "/api/v1/users", admin, `{"email":"bob@example.com","password":"bobpassword"}`)
	var bl struct{ Token string }
	e.do(t, "POST", "/api/v1/auth/login", "", `{"email":"bob@example.com","password":"bobpassword"}`).json(t, &bl)
	e.do(t, "POST", "/api/v1/monitors", bl.Token, `{"name":"theirs","url":"http://127.0.0.1:9/"}`).json(t, &theirs)

	if _, res, err := dialLive(t, e, nil); err == nil || res == nil || res.StatusCode != 401 {
		t.Fatalf("anonymous live feed: %v %v", err, res)
	}
	if _, res, err := dialLive(t, e, http.Header{"Authorization": {"Bearer " + admin}, "Origin": {"https://evil.example"}}); err == nil || res == nil || res.StatusCode != 403 {
		t.Fatalf("cross-origin live feed accepted: %v", err)
	}
	conn, _, err := dialLive(t, e, http.Header{"Authorization": {"Bearer " + admin}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()

	at := time.Now().UTC().Truncate(time.Millisecond)
	hub := e.app.hub
	// Wait until the connection is subscribed before publishing.
	deadline := time.Now().Add(5 * time.Second)
	for {
		hub.mu.Lock()
		n := len(hub.subs)
		hub.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("live connection never subscribed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	hub.Published([]store.Check{
		{MonitorID: theirs.ID, Region: "local", At: at, OK: false, Reason: "refused"},
		{MonitorID: mine.ID, Region: "local", At: at.Add(-time.Second), OK: true, StatusCode: 200, Latency: 1500 * time.Microsecond},
		{MonitorID: mine.ID, Region: "local", At: at, OK: false, Reason: "timeout", Error: "timeout after 10s"},
	}, []store.StateUpdate{{MonitorID: mine.ID, State: store.MonitorState{Status: "down", Since: at},
		Transition: &store.Transition{MonitorID: mine.ID, From: "up", To: "down", At: at, Reason: "timeout"}}})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []LiveEvent
	for len(got) < 2 {
		var ev LiveEvent
		if err := wsjson.Read(ctx, conn, &ev); err != nil {
			t.Fatalf("read after %d events: %v", len(got), err)
		}
		got = append(got, ev)
	}
	for _, ev := range got {
		if ev.MonitorID != mine.ID {
			t.Fatalf("received another user's event: %+v", ev)
		}
	}
	if got[0].Type != "check" || got[0].OK || got[0].Reason != "timeout" || !got[0].At.Equal(at) || got[0].Status != "down" {
		t.Errorf("check event: %+v", got[0])
	}
	if got[1].Type != "state" || got[1].Status != "down" {
		t.Errorf("state event: %+v", got[1])
	}
	// A user's change reaches the feed too.
	e.do(t, "PATCH", "/api/v1/monitors/"+itoa(mine.ID), admin, `{"paused":true}`)
	var ev LiveEvent
	if err := wsjson.Read(ctx, conn, &ev); err != nil || ev.Type != "state" || ev.Status != "paused" {
		t.Fatalf("pause event: %+v %v", ev, err)
	}
}

func TestLiveFeedEndsWithSession(t *testing.T) {
	e := newEnv(t)
	e.signup(t)
	c := browser(t)
	if code, _, _ := post(t, c, e.srv.URL+"/login", map[string][]string{"email": {"owner@example.com"}, "password": {"password123"}}); code != 303 {
		t.Fatalf("login: %d", code)
	}
	u := e.srv.URL + "/"
	req, _ := http.NewRequest("GET", u, nil)
	hdr := http.Header{}
	for _, ck := range c.Jar.Cookies(req.URL) {
		hdr.Add("Cookie", ck.Name+"="+ck.Value)
	}
	conn, _, err := dialLive(t, e, hdr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if code, _, _ := post(t, c, e.srv.URL+"/logout", nil); code != 303 {
		t.Fatalf("logout: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err = conn.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("after logout the feed should close with policy violation, got %v", err)
	}
}

// A viewer's feed carries their owner's monitors and ends with the
// viewer's own credentials, not the owner's.
func TestLiveFeedOfAViewer(t *testing.T) {
	e := newEnv(t)
	admin := e.signup(t)
	var mine monitorJSON
	e.do(t, "POST", "/api/v1/monitors", admin, `{"name":"mine","url":"http://127.0.0.1:9/"}`).json(t, &mine)
	var v userJSON
	e.do(t, "POST", "/api/v1/users", admin, `{"email":"v@example.com","password":"viewerpassword","role":"viewer"}`).json(t, &v)
	var vl struct{ Token string }
	e.do(t, "POST", "/api/v1/auth/login", "", `{"email":"v@example.com","password":"viewerpassword"}`).json(t, &vl)
	conn, _, err := dialLive(t, e, http.Header{"Authorization": {"Bearer " + vl.Token}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	hub := e.app.hub
	deadline := time.Now().Add(5 * time.Second)
	for {
		hub.mu.Lock()
		n := len(hub.subs)
		hub.mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("live connection never subscribed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	hub.Published([]store.Check{{MonitorID: mine.ID, At: at, OK: true, StatusCode: 200}}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var ev LiveEvent
	if err := wsjson.Read(ctx, conn, &ev); err != nil || ev.MonitorID != mine.ID {
		t.Fatalf("viewer's feed: %+v %v", ev, err)
	}
	// The admin resets the viewer's password: the feed closes.
	if err := e.st.SetPassword(context.Background(), v.ID, "x"); err != nil {
		t.Fatal(err)
	}
	e.app.credentialsEnded(v.ID, nil)
	_, _, err = conn.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("after the viewer's reset the feed should close, got %v", err)
	}
}
