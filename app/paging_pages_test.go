package app

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/upwatch/upwatch/store"
)

var nextLink = regexp.MustCompile(`href="([^"]+)" rel="next"`)

// TestDashboardListsArePaged: no page renders an unbounded list; each has
// a plain "more" link to its next page and one back to its first.
func TestDashboardListsArePaged(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	c := login(t, e, "owner@example.com", "password123")
	ctx := context.Background()
	var me userJSON
	e.do(t, "GET", "/api/v1/me", tok, "").json(t, &me)
	var m monitorJSON
	e.do(t, "POST", "/api/v1/monitors", tok, monitorBody(1, 60)).json(t, &m)
	t0 := e.clock.Now().Add(-2 * time.Hour).Truncate(time.Second)
	for i := 0; i < 25; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		err := e.st.SaveChecks(ctx, nil, []store.StateUpdate{
			{MonitorID: m.ID, State: store.MonitorState{Status: store.StatusDown, Since: at},
				Transition: &store.Transition{MonitorID: m.ID, From: "up", To: "down", At: at, Error: fmt.Sprintf("failure-%02d", i)}},
			{MonitorID: m.ID, State: store.MonitorState{Status: store.StatusUp, Since: at.Add(time.Second)},
				Transition: &store.Transition{MonitorID: m.ID, From: "down", To: "up", At: at.Add(time.Second)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 101; i++ {
		if _, err := e.st.CreateChannel(ctx, store.Channel{UserID: me.ID, Name: fmt.Sprintf("chan-%03d", i), Type: "webhook",
			Settings: []byte(`{"url":"https://hooks.example.com/x"}`), Enabled: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.CreateAPIToken(ctx, me.ID, me.credVersion(t, e), fmt.Sprintf("tok-%03d", i), fmt.Sprintf("upw_%03d", i), store.ScopeWrite,
			[]byte(fmt.Sprintf("hash-%03d", i)), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []struct {
		path, item, anchor string
		first, rest        int
	}{
		{fmt.Sprintf("/monitors/%d", m.ID), "failure-", "Older incidents", 20, 5},
		{"/channels", "chan-", "More channels", 100, 1},
		{"/settings", "tok-", "More tokens", 100, 1},
	} {
		items := func(body string) map[string]bool {
			seen := map[string]bool{}
			for _, x := range regexp.MustCompile(l.item+`\d+`).FindAllString(body, -1) {
				seen[x] = true
			}
			return seen
		}
		code, _, body := get(t, c, e.srv.URL+l.path)
		first := items(body)
		if code != 200 || len(first) != l.first || !strings.Contains(body, l.anchor) {
			t.Errorf("%s: %d, %d items, want %d and a %q link", l.path, code, len(first), l.first, l.anchor)
			continue
		}
		href := html.UnescapeString(nextLink.FindStringSubmatch(body)[1])
		code, _, body = get(t, c, e.srv.URL+href)
		rest := items(body)
		if code != 200 || len(rest) != l.rest || nextLink.MatchString(body) || !strings.Contains(body, "← ") {
			t.Errorf("%s page 2: %d, %d items, want %d, no next link and a way back", href, code, len(rest), l.rest)
		}
		for x := range rest {
			if first[x] {
				t.Errorf("%s: %s on both pages", l.path, x)
			}
		}
	}
}

func (u userJSON) credVersion(t *testing.T, e *env) int64 {
	t.Helper()
	x, err := e.st.UserByID(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return x.CredVersion
}
