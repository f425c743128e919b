package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

func signIn(t *testing.T, ctx context.Context, base, email, password string) {
	t.Helper()
	do(t, ctx, "sign in as "+email,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), email),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), password),
		chromedp.Submit(chromedp.CSS(`input[name="email"]`)),
	)
	// Signed in once a page with the signed-in navigation is shown (the
	// sign-in page has a heading too).
	waitJS(t, ctx, "signed in as "+email, `location.pathname !== "/login" && document.querySelector('a[href="/settings"]') !== null`, 30*time.Second)
}

// A viewer sees their owner's monitors with no button that changes
// anything; the admin's settings offer roles and token scopes.
func TestRolesInTheBrowser(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer target.Close()
	base := startServer(t)
	tok := apiSignup(t, base)
	apiCall(t, "POST", base+"/api/v1/monitors", tok, map[string]any{"name": "Family NAS", "url": target.URL}, nil)
	var admin struct{ ID int64 }
	apiCall(t, "GET", base+"/api/v1/me", tok, nil, &admin)
	apiCall(t, "POST", base+"/api/v1/users", tok, map[string]any{"email": "kid@example.com", "password": "long enough", "role": "viewer"}, nil)
	apiCall(t, "POST", base+"/api/v1/users", tok, map[string]any{"email": "friend@example.com", "password": "long enough"}, nil)

	ctx := newBrowser(t, false)
	signIn(t, ctx, base, "kid@example.com", "long enough")
	waitJS(t, ctx, "the owner's monitor listed", `document.body.innerText.includes("Family NAS")`, 10*time.Second)
	if n := eval[int](t, ctx, `document.querySelectorAll('a[href="/monitors/new"]').length`); n != 0 {
		t.Errorf("a viewer's overview links to Add monitor (%d)", n)
	}
	screenshot(t, ctx, "viewer-overview")
	do(t, ctx, "monitor page", chromedp.Click(chromedp.CSS(`a[href^="/monitors/"]`)), chromedp.WaitVisible(chromedp.CSS(`#monitor-head`)))
	if n := eval[int](t, ctx, `document.querySelectorAll('a[href$="/edit"], form[action$="/delete"], form[action$="/pause"]').length`); n != 0 {
		t.Errorf("a viewer's monitor page has %d change buttons", n)
	}
	screenshot(t, ctx, "viewer-monitor")

	adm := newBrowser(t, false)
	signIn(t, adm, base, "k@example.com", "long enough")
	do(t, adm, "settings", chromedp.Navigate(base+"/settings#users"), chromedp.WaitVisible(chromedp.CSS(`select#user_role`)))
	text := eval[string](t, adm, `document.body.innerText`)
	for _, want := range []string{"Viewer", "reads k@example.com’s monitors", "Member", "Change role", "Read only"} {
		if !strings.Contains(text, want) {
			t.Errorf("settings page lacks %q", want)
		}
	}
	screenshot(t, adm, "settings-roles")
}
