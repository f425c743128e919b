package app

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/upwatch/upwatch/store"
)

// bobCreds creates bob (by the admin) and gives him every kind of
// credential: a JWT, an API token and a dashboard session.
type creds struct {
	jwt, apiToken string
	browser       *http.Client
	id            int64
}

func bobCreds(t *testing.T, e *env, admin string) creds {
	t.Helper()
	var u userJSON
	if r := e.do(t, "POST", "/api/v1/users", admin, `{"email":"bob@example.com","password":"bobpassword"}`); r.code == 201 {
		r.json(t, &u)
	}
	return freshCreds(t, e, "bobpassword", u.ID)
}

func freshCreds(t *testing.T, e *env, password string, id int64) creds {
	t.Helper()
	var l struct{ Token string }
	r := e.do(t, "POST", "/api/v1/auth/login", "", `{"email":"bob@example.com","password":"`+password+`"}`)
	if r.code != 200 {
		t.Fatalf("bob's login: %d %s", r.code, r.body)
	}
	r.json(t, &l)
	var tok tokenJSON
	if r := e.do(t, "POST", "/api/v1/tokens", l.Token, `{"name":"ci"}`); r.code != 201 {
		t.Fatalf("bob's API token: %d %s", r.code, r.body)
	} else {
		r.json(t, &tok)
	}
	return creds{jwt: l.Token, apiToken: tok.Token, browser: login(t, e, "bob@example.com", password), id: id}
}

// assertEnded: none of the old credentials works any more, and the old JWT
// cannot mint a new API token.
func assertEnded(t *testing.T, e *env, c creds) {
	t.Helper()
	if r := e.do(t, "GET", "/api/v1/me", c.jwt, ""); r.code != 401 {
		t.Errorf("old JWT: %d, want 401", r.code)
	}
	if r := e.do(t, "GET", "/api/v1/me", c.apiToken, ""); r.code != 401 {
		t.Errorf("old API token: %d, want 401", r.code)
	}
	if r := e.do(t, "POST", "/api/v1/tokens", c.jwt, `{"name":"persist"}`); r.code != 401 {
		t.Errorf("old JWT minted an API token: %d %s", r.code, r.body)
	}
	if signedIn(t, e, c.browser) {
		t.Error("old session still signed in")
	}
}

// TestCredentialsEnd is the finding: after a password change, an admin's
// reset, a reset from the command line and disable-then-enable, the old
// JWT, API token and session kept working.
func TestCredentialsEnd(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	admin := e.signup(t)
	adminPage := login(t, e, "owner@example.com", "password123")
	bob := bobCreds(t, e, admin)
	path := e.srv.URL + "/settings/users/" + itoa(bob.id)

	t.Run("own password change", func(t *testing.T) {
		c := freshCreds(t, e, "bobpassword", bob.id)
		here := login(t, e, "bob@example.com", "bobpassword")
		code, _, _ := post(t, here, e.srv.URL+"/settings/password", url.Values{"current_password": {"bobpassword"},
			"new_password": {"bobpassword2"}, "new_password_confirm": {"bobpassword2"}})
		if code != 303 {
			t.Fatalf("password change: %d", code)
		}
		assertEnded(t, e, c)
		if !signedIn(t, e, here) {
			t.Error("the session that changed the password was signed out")
		}
		// Back to the old password for the next cases.
		if _, err := ResetPassword(ctx, e.st, "bob@example.com", "bobpassword"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("own password change through the API", func(t *testing.T) {
		c := freshCreds(t, e, "bobpassword", bob.id)
		var p problem
		r := e.do(t, "POST", "/api/v1/me/password", c.jwt, `{"current_password":"wrong","new_password":"bobpassword3"}`)
		r.json(t, &p)
		if r.code != 422 || p.Field != "current_password" {
			t.Fatalf("wrong current password: %d %s", r.code, r.body)
		}
		r = e.do(t, "POST", "/api/v1/me/password", c.jwt, `{"current_password":"bobpassword","new_password":"bobpassword3"}`)
		var out struct{ Token string }
		r.json(t, &out)
		if r.code != 200 || out.Token == "" {
			t.Fatalf("API password change: %d %s", r.code, r.body)
		}
		assertEnded(t, e, c)
		if r := e.do(t, "GET", "/api/v1/me", out.Token, ""); r.code != 200 {
			t.Errorf("the JWT the change answered with: %d", r.code)
		}
		if _, err := ResetPassword(ctx, e.st, "bob@example.com", "bobpassword"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("admin reset", func(t *testing.T) {
		c := freshCreds(t, e, "bobpassword", bob.id)
		if code, _, _ := post(t, adminPage, path+"/password", url.Values{"password": {"bobpassword"}}); code != 303 {
			t.Fatalf("admin reset: %d", code)
		}
		assertEnded(t, e, c)
	})
	t.Run("command line reset", func(t *testing.T) {
		c := freshCreds(t, e, "bobpassword", bob.id)
		if _, err := ResetPassword(ctx, e.st, "bob@example.com", "bobpassword"); err != nil {
			t.Fatal(err)
		}
		assertEnded(t, e, c)
	})
	t.Run("disable then enable", func(t *testing.T) {
		c := freshCreds(t, e, "bobpassword", bob.id)
		for _, d := range []string{"true", "false"} {
			if code, _, _ := post(t, adminPage, path+"/disable", url.Values{"disabled": {d}}); code != 303 {
				t.Fatalf("disabled=%s: %d", d, code)
			}
		}
		assertEnded(t, e, c)
	})
	t.Run("admin flag change", func(t *testing.T) {
		c := freshCreds(t, e, "bobpassword", bob.id)
		if err := e.st.SetUserAdmin(ctx, bob.id, true); err != nil {
			t.Fatal(err)
		}
		assertEnded(t, e, c)
	})
	t.Run("a JWT without a version", func(t *testing.T) {
		// Tokens signed before versions existed carry none: refused.
		u, err := e.st.UserByID(ctx, bob.id)
		if err != nil {
			t.Fatal(err)
		}
		u.CredVersion = 0
		old, _, err := e.app.issueToken(u)
		if err != nil {
			t.Fatal(err)
		}
		if r := e.do(t, "GET", "/api/v1/me", old, ""); r.code != 401 {
			t.Errorf("JWT without a version: %d", r.code)
		}
	})
}

// TestLiveFeedEndsWithCredentials: a live feed opened with a JWT closes when
// the password is reset from another process (the command line, which
// cannot tell this server's hub), and reconnecting with that JWT fails.
func TestLiveFeedEndsWithCredentials(t *testing.T) {
	e := newEnv(t)
	admin := e.signup(t)
	bob := bobCreds(t, e, admin)
	conn, _, err := dialLive(t, e, http.Header{"Authorization": {"Bearer " + bob.jwt}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if _, err := ResetPassword(context.Background(), e.st, "bob@example.com", "bobpassword2"); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(2 * credFresh) // the cached version is stale now
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	var ev LiveEvent
	if err := wsjson.Read(ctx, conn, &ev); err == nil || ctx.Err() != nil {
		t.Fatalf("live feed still open after the reset (%v, %v)", err, ctx.Err())
	}
	if d := time.Since(start); d > 3*credFresh {
		t.Errorf("feed closed after %v, want within about %v", d, credFresh)
	}
	if _, res, err := dialLive(t, e, http.Header{"Authorization": {"Bearer " + bob.jwt}}); err == nil || res == nil || res.StatusCode != 401 {
		t.Errorf("reconnect with the old JWT: %v %v", err, res)
	}
	// In this process, a change closes feeds at once.
	c := freshCreds(t, e, "bobpassword2", bob.id)
	conn2, _, err := dialLive(t, e, http.Header{"Authorization": {"Bearer " + c.jwt}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.CloseNow()
	adminPage := login(t, e, "owner@example.com", "password123")
	if code, _, _ := post(t, adminPage, e.srv.URL+"/settings/users/"+itoa(bob.id)+"/disable", url.Values{"disabled": {"true"}}); code != 303 {
		t.Fatalf("disable: %d", code)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), credFresh/2)
	defer cancel2()
	if err := wsjson.Read(ctx2, conn2, &ev); err == nil || ctx2.Err() != nil {
		t.Errorf("live feed not closed at once on disable (%v, %v)", err, ctx2.Err())
	}
}

// TestLiveFeedOfTheChangingSession: after a password change on the
// settings page, the other session's live feed closes and the feed of the
// session that made the change keeps receiving events.
func TestLiveFeedOfTheChangingSession(t *testing.T) {
	e := newEnv(t)
	admin := e.signup(t)
	var m monitorJSON
	e.do(t, "POST", "/api/v1/monitors", admin, `{"name":"mine","url":"http://127.0.0.1:9/"}`).json(t, &m)
	here, there := login(t, e, "owner@example.com", "password123"), login(t, e, "owner@example.com", "password123")
	u, _ := url.Parse(e.srv.URL)
	dial := func(c *http.Client) *websocket.Conn {
		t.Helper()
		hdr := http.Header{}
		for _, ck := range c.Jar.Cookies(u) {
			hdr.Add("Cookie", ck.String())
		}
		conn, _, err := dialLive(t, e, hdr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.CloseNow() })
		return conn
	}
	mine, theirs := dial(here), dial(there)
	code, _, _ := post(t, here, e.srv.URL+"/settings/password", url.Values{"current_password": {"password123"},
		"new_password": {"password456"}, "new_password_confirm": {"password456"}})
	if code != 303 {
		t.Fatalf("password change: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var ev LiveEvent
	if err := wsjson.Read(ctx, theirs, &ev); err == nil || ctx.Err() != nil {
		t.Errorf("the other session's feed stayed open (%v, %v)", err, ctx.Err())
	}
	// Let the per-second version check run on the kept feed.
	e.clock.Add(2 * credFresh)
	time.Sleep(credFresh + credFresh/2)
	e.app.hub.Published([]store.Check{{MonitorID: m.ID, Region: "local", At: time.Now(), OK: true}}, nil)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel2()
	if err := wsjson.Read(ctx2, mine, &ev); err != nil || ev.MonitorID != m.ID {
		t.Errorf("the changing session's feed: %+v, %v", ev, err)
	}
}

// TestMonitorIDNotReused: the newest monitor is deleted; another user's
// next monitor gets a new id, so nothing addressed to the old id (a result
// in flight, a live event, a link) reaches it.
func TestMonitorIDNotReused(t *testing.T) {
	e := newEnv(t)
	admin := e.signup(t)
	bob := bobCreds(t, e, admin)
	var gone, theirs monitorJSON
	e.do(t, "POST", "/api/v1/monitors", admin, `{"name":"a","url":"http://127.0.0.1:9/"}`).json(t, &gone)
	if r := e.do(t, "DELETE", "/api/v1/monitors/"+itoa(gone.ID), admin, ""); r.code != 204 {
		t.Fatalf("delete: %d", r.code)
	}
	e.do(t, "POST", "/api/v1/monitors", bob.jwt, `{"name":"b","url":"http://127.0.0.1:9/"}`).json(t, &theirs)
	if theirs.ID == gone.ID || theirs.ID == 0 {
		t.Errorf("bob's new monitor got id %d, the deleted one had %d", theirs.ID, gone.ID)
	}
}
