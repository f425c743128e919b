package app

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var chartSummary = regexp.MustCompile(`aria-label="(Response time[^"]*)"`)

func TestRegionChartPage(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	var m monitorJSON
	e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"m","url":"http://127.0.0.1:9/","regions":["local","eu"]}`).json(t, &m)
	seedRegions(t, e, m.ID)
	c := browser(t)
	base := e.srv.URL
	if code, _, _ := post(t, c, base+"/login", url.Values{"email": {"owner@example.com"}, "password": {"password123"}}); code != 303 {
		t.Fatalf("login: %d", code)
	}
	page := base + "/monitors/" + itoa(m.ID)
	for _, tc := range []struct {
		query, summary string
		current        []string // hrefs marked aria-current
	}{
		{"", "Response time, last 24 hours, times in UTC: average 50 ms", []string{"?range=24h#chart", "?range=24h#chart"}},
		{"?region=eu", "Response time from eu, last 24 hours, times in UTC: average 80 ms", []string{"?range=24h&region=eu#chart", "?range=24h&region=eu#chart"}},
		{"?range=1h&region=local", "Response time from local, last hour, times in UTC: average 20 ms", []string{"?range=1h&region=local#chart", "?range=1h&region=local#chart"}},
		{"?range=7d&region=us", "Response time, last 7 days, times in UTC: average 50 ms", []string{"?range=7d#chart", "?range=7d#chart"}}, // not its region: all
	} {
		code, _, body := get(t, c, page+tc.query)
		if code != 200 {
			t.Fatalf("%s: %d", tc.query, code)
		}
		got := chartSummary.FindStringSubmatch(body)
		if got == nil || !strings.HasPrefix(html.UnescapeString(got[1]), tc.summary) {
			t.Errorf("%s: chart summary %q, want %q…", tc.query, got, tc.summary)
		}
		var cur []string
		for _, m := range regexp.MustCompile(`<a href="([^"]*)" aria-current="true"`).FindAllStringSubmatch(body, -1) {
			if h := html.UnescapeString(m[1]); strings.Contains(h, "#chart") {
				cur = append(cur, h)
			}
		}
		if strings.Join(cur, " ") != strings.Join(tc.current, " ") {
			t.Errorf("%s: current tabs %q, want %q", tc.query, cur, tc.current)
		}
	}
	// Region tabs keep the range, range tabs the region; All regions first.
	_, _, body := get(t, c, page+"?range=7d&region=eu")
	for _, h := range []string{`href="?range=7d#chart"`, `href="?range=7d&amp;region=local#chart"`, `href="?range=1h&amp;region=eu#chart"`, `href="?range=90d&amp;region=eu#chart"`} {
		if !strings.Contains(body, h) {
			t.Errorf("7d eu page lacks %s", h)
		}
	}
	if i, j := strings.Index(body, ">All regions<"), strings.Index(body, ">eu</a>"); i < 0 || j < i {
		t.Errorf("All regions tab at %d, eu at %d", i, j)
	}
	// One region: no region tabs.
	var plain monitorJSON
	e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"p","url":"http://127.0.0.1:9/"}`).json(t, &plain)
	if _, _, body := get(t, c, base+"/monitors/"+itoa(plain.ID)+"?region=local"); strings.Contains(body, "Chart region") || strings.Contains(body, "All regions") {
		t.Error("a one-region monitor has region tabs")
	}
}
