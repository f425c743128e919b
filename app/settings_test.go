package app

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func login(t *testing.T, e *env, email, password string) *http.Client {
	t.Helper()
	c := browser(t)
	if code, loc, _ := post(t, c, e.srv.URL+"/login", url.Values{"email": {email}, "password": {password}}); code != 303 || loc != "/" {
		t.Fatalf("login %s: %d %q", email, code, loc)
	}
	return c
}

func signedIn(t *testing.T, e *env, c *http.Client) bool {
	t.Helper()
	code, _, _ := get(t, c, e.srv.URL+"/settings")
	return code == 200
}

func TestSettingsPasswordAndSessions(t *testing.T) {
	e := newEnv(t)
	e.signup(t)
	a := login(t, e, "owner@example.com", "password123")
	b := login(t, e, "owner@example.com", "password123")

	code, _, body := get(t, a, e.srv.URL+"/settings")
	if code != 200 || strings.Count(body, "/settings/sessions/") != 1 { // b's; a's own has no revoke button
		t.Fatalf("settings: %d, sessions not listed", code)
	}
	cases := []struct {
		form  url.Values
		field string
	}{
		{url.Values{"current_password": {"nope"}, "new_password": {"newpassword1"}, "new_password_confirm": {"newpassword1"}}, "is not your current password"},
		{url.Values{"current_password": {"password123"}, "new_password": {"short"}, "new_password_confirm": {"short"}}, "at least 8"},
		{url.Values{"current_password": {"password123"}, "new_password": {"newpassword1"}, "new_password_confirm": {"other"}}, "does not match"},
	}
	for _, c := range cases {
		if code, _, body := post(t, a, e.srv.URL+"/settings/password", c.form); code != 422 || !strings.Contains(body, c.field) {
			t.Errorf("password change %v: %d, want 422 with %q", c.form, code, c.field)
		}
	}
	code, loc, _ := post(t, a, e.srv.URL+"/settings/password", url.Values{"current_password": {"password123"},
		"new_password": {"newpassword1"}, "new_password_confirm": {"newpassword1"}})
	if code != 303 || !strings.Contains(loc, "m=password") {
		t.Fatalf("password change: %d %q", code, loc)
	}
	if !signedIn(t, e, a) {
		t.Error("the browser that changed the password was signed out")
	}
	if signedIn(t, e, b) {
		t.Error("other session survived a password change")
	}
	if r := e.do(t, "POST", "/api/v1/auth/login", "", `{"email":"owner@example.com","password":"newpassword1"}`); r.code != 200 {
		t.Errorf("new password does not log in: %d", r.code)
	}

	// Revoke a session by its id from another browser.
	c := login(t, e, "owner@example.com", "newpassword1")
	_, _, body = get(t, a, e.srv.URL+"/settings")
	ids := regexp.MustCompile(`/settings/sessions/([0-9A-F]{16})/revoke`).FindAllStringSubmatch(body, -1)
	if len(ids) != 1 {
		t.Fatalf("want the other session listed for revoking, got %d", len(ids))
	}
	post(t, a, e.srv.URL+"/settings/sessions/"+ids[0][1]+"/revoke", nil)
	if signedIn(t, e, c) {
		t.Error("revoked session still signed in")
	}
	if !signedIn(t, e, a) {
		t.Error("revoking another session signed this one out")
	}
	if code, _, _ := post(t, browser(t), e.srv.URL+"/settings/sessions/0000000000000000/revoke", nil); code != 303 {
		t.Errorf("anonymous revoke: %d (want redirect to login)", code)
	}
}

func TestSettingsTokensAndUsers(t *testing.T) {
	e := newEnv(t)
	e.signup(t)
	a := login(t, e, "owner@example.com", "password123")
	if code, _, body := post(t, a, e.srv.URL+"/settings/tokens", url.Values{"token_name": {""}}); code != 422 || !strings.Contains(body, "is required") {
		t.Errorf("empty token name: %d", code)
	}
	code, _, body := post(t, a, e.srv.URL+"/settings/tokens", url.Values{"token_name": {"backup script"}})
	tok := regexp.MustCompile(`upw_[A-Za-z0-9_-]{43}`).FindString(body)
	if code != 201 || tok == "" {
		t.Fatalf("token create: %d, token shown: %q", code, tok)
	}
	if r := e.do(t, "GET", "/api/v1/me", tok, ""); r.code != 200 {
		t.Fatalf("token from the form does not work: %d", r.code)
	}
	_, _, body = get(t, a, e.srv.URL+"/settings")
	if strings.Contains(body, tok) {
		t.Error("the token is shown again after creation")
	}
	id := regexp.MustCompile(`/settings/tokens/(\d+)/revoke`).FindStringSubmatch(body)
	if id == nil {
		t.Fatal("token not listed")
	}
	post(t, a, e.srv.URL+"/settings/tokens/"+id[1]+"/revoke", nil)
	if r := e.do(t, "GET", "/api/v1/me", tok, ""); r.code != 401 {
		t.Errorf("revoked token works: %d", r.code)
	}

	// Users, by the admin.
	if code, _, body := post(t, a, e.srv.URL+"/settings/users", url.Values{"user_email": {"bad"}, "user_password": {"bobpassword"}}); code != 422 || !strings.Contains(body, "valid email") {
		t.Errorf("bad user email: %d", code)
	}
	if code, _, _ := post(t, a, e.srv.URL+"/settings/users", url.Values{"user_email": {"bob@example.com"}, "user_password": {"bobpassword"}}); code != 303 {
		t.Fatalf("create user: %d", code)
	}
	bob := login(t, e, "bob@example.com", "bobpassword")
	if code, _, _ := post(t, bob, e.srv.URL+"/settings/users", url.Values{"user_email": {"eve@example.com"}, "user_password": {"evepassword"}}); code != 403 {
		t.Errorf("non-admin creates user: %d", code)
	}
	u, err := e.st.UserByEmail(t.Context(), "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	post(t, a, e.srv.URL+"/settings/users/"+itoa(u.ID)+"/password", url.Values{"password": {"resetpassword"}})
	if signedIn(t, e, bob) {
		t.Error("password reset kept bob's session")
	}
	bob = login(t, e, "bob@example.com", "resetpassword")
	post(t, a, e.srv.URL+"/settings/users/"+itoa(u.ID)+"/disable", url.Values{"disabled": {"true"}})
	if signedIn(t, e, bob) {
		t.Error("disabled user still signed in")
	}
	if code, _, _ := post(t, browser(t), e.srv.URL+"/login", url.Values{"email": {"bob@example.com"}, "password": {"resetpassword"}}); code != 401 {
		t.Errorf("disabled user logs in: %d", code)
	}
	owner, _ := e.st.UserByEmail(t.Context(), "owner@example.com")
	if code, _, _ := post(t, a, e.srv.URL+"/settings/users/"+itoa(owner.ID)+"/disable", url.Values{"disabled": {"true"}}); code != 400 {
		t.Errorf("admin disables self: %d", code)
	}
}
