package views

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
	"golang.org/x/net/html"
)

var testNow = time.Date(2025, 11, 24, 12, 0, 0, 0, time.UTC)

const (
	hostileImg    = `<img src=x onerror=alert(1)>`
	hostileScript = `"><script>alert(1)</script>`
	hostileURL    = `javascript:alert(1)`
)

func testPage(title, email string) Page {
	return Page{
		Title:     title,
		UserEmail: email,
		Asset:     func(name string) string { return "/static/h/" + name },
		Now:       testNow,
	}
}

func render(t *testing.T, c templ.Component) string {
	t.Helper()
	var b bytes.Buffer
	if err := c.Render(context.Background(), &b); err != nil {
		t.Fatalf("render: %v", err)
	}
	return b.String()
}

func parse(t *testing.T, s string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return doc
}

// walk calls fn for every element node.
func walk(n *html.Node, fn func(*html.Node)) {
	if n.Type == html.ElementNode {
		fn(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// find returns the elements with tag name tag whose attributes include all
// of the given key=value pairs.
func find(doc *html.Node, tag string, kv ...string) []*html.Node {
	var out []*html.Node
	walk(doc, func(n *html.Node) {
		if n.Data != tag {
			return
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if v, ok := attr(n, kv[i]); !ok || v != kv[i+1] {
				return
			}
		}
		out = append(out, n)
	})
	return out
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return b.String()
}

func sampleRows() []MonitorRow {
	return []MonitorRow{
		{ID: 1, Name: "Marketing site", URL: "https://www.example.com/", Status: StatusUp, StatusSince: testNow.Add(-time.Hour), LastCheckedAt: testNow.Add(-20 * time.Second), LastLatencyMS: 123.4, LastStatusCode: 200, IntervalSeconds: 60},
		{ID: 2, Name: "Paused one", URL: "https://paused.example.com/", Status: StatusPaused, StatusSince: testNow.Add(-time.Hour), IntervalSeconds: 60},
		{ID: 3, Name: "Payments API", URL: "https://api.example.com/health", Status: StatusDown, StatusSince: testNow.Add(-3 * time.Minute), LastCheckedAt: testNow.Add(-3 * time.Minute), LastLatencyMS: 10000, LastReason: "timeout", LastError: "context deadline exceeded", IntervalSeconds: 30},
		{ID: 4, Name: "New thing", URL: "https://new.example.org:8443/ping", Status: StatusPending, StatusSince: testNow.Add(-5 * time.Second), IntervalSeconds: 300},
	}
}

func sampleChecks() []CheckRow {
	return []CheckRow{
		{At: testNow.Add(-20 * time.Second), OK: true, StatusCode: 200, LatencyMS: 123.4, DNSMS: 1.25, ConnectMS: 10.5, TLSMS: 35.2, TTFBMS: 70.1, TransferMS: 6.4},
		{At: testNow.Add(-80 * time.Second), OK: false, StatusCode: 503, LatencyMS: 98.7, Reason: "status", Error: "got 503, want 200-299"},
	}
}

func sampleForm() MonitorForm {
	return MonitorForm{
		Page:   testPage("Edit monitor", "ada@example.com"),
		Action: "/monitors/7/edit",
		Submit: "Save changes",
		Cancel: "/monitors/7",
		Values: MonitorValues{
			Name: "API", URL: "https://api.example.com", Method: "POST", IntervalSeconds: "abc",
			TimeoutSeconds: "10", ExpectedStatus: "200,301", Headers: "X-A: 1\nX-B: 2", Body: `{"ping":true}`,
			Confirmations: "3", FollowRedirects: true, VerifyTLS: false,
		},
		Errors: map[string]string{"interval_seconds": "Must be a whole number of seconds", "method": "Unsupported"},
	}
}

func TestPagesRender(t *testing.T) {
	rows := sampleRows()
	tests := []struct {
		name string
		c    templ.Component
		want []string
		not  []string
	}{
		{
			name: "setup",
			c:    SetupPage(AuthForm{Page: testPage("Set up", ""), Email: "ada@example.com", Errors: map[string]string{"password_confirm": "Passwords do not match"}}),
			want: []string{"<title>Set up · upwatch</title>", `action="/setup"`, `name="email"`, `name="password"`, `name="password_confirm"`, "admin", `value="ada@example.com"`, "Passwords do not match", `aria-invalid="true"`},
			not:  []string{`action="/logout"`, `http-equiv="refresh"`},
		},
		{
			name: "login",
			c:    LoginPage(AuthForm{Page: testPage("Sign in", ""), Email: "ada@example.com", Next: "/monitors/3", Error: "Wrong email or password"}),
			want: []string{`action="/login"`, `name="email"`, `name="password"`, `type="hidden" name="next" value="/monitors/3"`, "Wrong email or password", `role="alert"`, `autocomplete="current-password"`},
			not:  []string{`action="/logout"`, "Add monitor"},
		},
		{
			name: "list",
			c:    MonitorsList(MonitorsPage{Page: Page{Title: "Monitors", UserEmail: "ada@example.com", Now: testNow, Refresh: 30, Flash: "Monitor created", Asset: func(n string) string { return "/static/h/" + n }}, Rows: rows, Up: 1, Down: 1, Pending: 1, Paused: 1}),
			want: []string{
				`<meta http-equiv="refresh" content="30">`, "Monitor created", `action="/logout"`, "ada@example.com",
				`href="/monitors/new"`, `href="/monitors/3"`, "Payments API", "api.example.com", "123 ms", "10,000 ms",
				"Timed out: context deadline exceeded", `datetime="2025-11-24T11:59:40Z"`, `title="2025-11-24 11:59:40 UTC"`, "20 s ago",
				"pill pill-down", "Down", "Pending", "Paused", `href="/static/h/style.css"`, `src="/static/h/app.js"`,
			},
			not: []string{"No monitors yet"},
		},
		{
			name: "list empty",
			c:    MonitorsList(MonitorsPage{Page: testPage("Monitors", "ada@example.com")}),
			want: []string{"No monitors yet", `href="/monitors/new"`, "Add your first monitor"},
			not:  []string{`http-equiv="refresh"`},
		},
		{
			name: "detail",
			c: MonitorDetail(MonitorPage{
				Page: testPage("Payments API", "ada@example.com"), Monitor: rows[2], Method: "HEAD", ExpectedStatus: "200,301",
				TimeoutSeconds: 10, Confirmations: 3, FollowRedirects: true, VerifyTLS: false, Checks: sampleChecks(),
			}),
			want: []string{
				"Payments API", `href="https://api.example.com/health"`, `href="/monitors/3/edit"`,
				`action="/monitors/3/pause"`, `name="paused" value="true"`, ">Pause<",
				`action="/monitors/3/delete"`, "data-confirm=", "since", "3 min ago", "2025-11-24 11:57:00 UTC",
				"HEAD", "200,301", "10 s", "3 failures in a row", "Latest checks",
				"1.2 ms", "11 ms", "35 ms", "70 ms", "6.4 ms", "Unexpected status", "got 503, want 200-299", "503",
			},
			not: []string{"No checks yet"},
		},
		{
			name: "detail paused, no checks",
			c:    MonitorDetail(MonitorPage{Page: testPage("Paused one", "ada@example.com"), Monitor: rows[1], Paused: true}),
			want: []string{`name="paused" value="false"`, ">Resume<", "No checks yet — the first runs within seconds", "pill pill-paused"},
			not:  []string{"<table"},
		},
		{
			name: "form",
			c:    MonitorFormPage(sampleForm()),
			want: []string{
				`action="/monitors/7/edit"`, "Save changes", `href="/monitors/7"`, `value="abc"`, "Must be a whole number of seconds",
				`<option value="POST" selected>`, `placeholder="200-299"`, `value="200,301"`, "X-A: 1\nX-B: 2",
				`{&#34;ping&#34;:true}`, `name="follow_redirects" value="on" checked`, "Some fields need attention",
			},
			not: []string{`name="verify_tls" value="on" checked`},
		},
		{
			name: "error",
			c:    ErrorPage(testPage("Not found", ""), 404, "Page not found"),
			want: []string{"404", "Page not found", `href="/"`},
		},
		{
			name: "overview",
			c:    OverviewPage(sampleOverview()),
			want: []string{
				"<title>(1 down) Monitors · upwatch</title>", `data-live="/api/v1/live"`, `id="live-status"`,
				`href="/static/h/favicon-down.svg"`, `id="counts" data-live-region`, `id="monitors" data-live-region`,
				`data-monitor-id="3" data-status="down"`, `data-field="status"`, `data-field="latency"`, `data-field="checked"`,
				`data-count="down"`, `href="/?bars=days&amp;state=down"`, `action="/"`, `name="q"`, `name="state"`, `name="sort"`,
				`name="bars" value="days"`, "Payments API", "api.example.com", "97.91%", "99.62%", "10,000 ms", "Last 90 days",
				`href="/?bars=hours"`, "4 monitors", `href="/monitors/new"`, `src="/static/h/live.js"`,
			},
			not: []string{`http-equiv="refresh"`, "No monitors yet", "No monitors match"},
		},
		{
			name: "overview filtered",
			c: func() templ.Component {
				o := sampleOverview()
				o.Query, o.State, o.Sort, o.Rows = "pay", StatusDown, "latency", o.Rows[:1]
				return OverviewPage(o)
			}(),
			want: []string{`value="pay"`, `<option value="down" selected>`, `<option value="latency" selected>`, "1 of 4 monitors", "“pay” · Down", ">Clear<", `aria-current="true"`, `href="/?bars=days&amp;q=pay&amp;sort=latency"`},
		},
		{
			name: "overview no match",
			c: func() templ.Component {
				o := sampleOverview()
				o.Query, o.Rows = "zzz", nil
				return OverviewPage(o)
			}(),
			want: []string{"No monitors match", "“zzz”", "Clear filters", `id="monitors" data-live-region`},
			not:  []string{"No monitors yet", `class="mon-list"`},
		},
		{
			name: "overview empty",
			c:    OverviewPage(Overview{Page: testPage("Monitors", "ada@example.com")}),
			want: []string{"No monitors yet", "Add your first monitor", `id="monitors" data-live-region`},
			not:  []string{`id="counts"`, "(0 down)"},
		},
		{
			name: "detail full",
			c:    MonitorDetail(sampleMonitorPage()),
			want: []string{
				`<main id="main" class="wrap main" tabindex="-1" data-monitor-id="3" data-status="down">`,
				`id="monitor-head" data-live-region`, `id="uptime" data-live-region`, `id="chart" data-live-region`,
				`id="incidents" data-live-region`, `id="checks" data-live-region`, `id="deleted-notice"`,
				"24 hours", "97.91%", "1,410 up · 30 down", "Response time", `href="?range=7d#chart"`,
				`<svg class="chart-svg" viewBox="0 0 1000 200" preserveAspectRatio="none"`, "Average", "95th percentile",
				"Ongoing", `action="/incidents/12/acknowledge"`, "Acknowledge", "Acknowledged", "bob@example.com",
				"<details", "Response body", "503 Service Temporarily Unavailable", "HTTP 503", "Unexpected status",
				`data-incident-id="12"`, "12 min", "3 min",
			},
			not: []string{`http-equiv="refresh"`, "No incidents recorded", `action="/incidents/11/acknowledge"`, `action="/incidents/10/acknowledge"`},
		},
		{
			name: "settings admin",
			c:    Settings(sampleSettings()),
			want: []string{
				`action="/settings/password"`, `name="current_password"`, `name="new_password"`, `name="new_password_confirm"`,
				"signs you out", "This device", `action="/settings/sessions/b2/revoke"`, "Safari on iOS", "Chrome on Linux",
				`action="/settings/tokens"`, `name="token_name"`, `action="/settings/tokens/2/revoke"`, "upw_88c1",
				`value="upw_secret_token_value"`, "copy it now", `data-copy="new-token"`,
				`action="/settings/users"`, `name="user_email"`, `value="carol@example.com"`, `name="user_password"`, `name="user_role"`,
				"Already in use", `action="/settings/users/2/disable"`, `name="disabled" value="true"`, `action="/settings/users/3/disable"`,
				`name="disabled" value="false"`, `action="/settings/users/2/password"`, `name="password"`, ">Enable<", `href="/settings" aria-current="page"`,
			},
			not: []string{`action="/settings/sessions/a1/revoke"`, `action="/settings/users/1/disable"`, `data-live=`},
		},
		{
			name: "settings user",
			c: func() templ.Component {
				s := sampleSettings()
				s.Admin, s.NewToken, s.Errors = false, "", nil
				return Settings(s)
			}(),
			want: []string{`action="/settings/password"`, `action="/settings/tokens"`},
			not:  []string{`action="/settings/users"`, `id="users"`, "copy it now", `aria-invalid`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := render(t, tt.c)
			if !strings.HasPrefix(out, "<!doctype html>") {
				t.Errorf("no doctype: %.40q", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing %q", w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("unexpected %q", n)
				}
			}
			checkAccessible(t, parse(t, out))
		})
	}
}

// checkAccessible asserts ids are unique, every form control has a label,
// every aria-describedby reference exists, and invalid fields point at
// their message.
func checkAccessible(t *testing.T, doc *html.Node) {
	t.Helper()
	ids := map[string]int{}
	walk(doc, func(n *html.Node) {
		if id, ok := attr(n, "id"); ok {
			ids[id]++
		}
	})
	for id, n := range ids {
		if n > 1 {
			t.Errorf("id %q used %d times", id, n)
		}
	}
	labels := map[string]bool{}
	for _, l := range find(doc, "label") {
		if f, ok := attr(l, "for"); ok {
			labels[f] = true
		}
	}
	walk(doc, func(n *html.Node) {
		switch n.Data {
		case "input", "select", "textarea":
		default:
			return
		}
		if typ, _ := attr(n, "type"); typ == "hidden" || typ == "submit" {
			return
		}
		id, _ := attr(n, "id")
		if _, ok := attr(n, "aria-label"); !ok && (id == "" || !labels[id]) {
			name, _ := attr(n, "name")
			t.Errorf("%s %q has no label", n.Data, name)
		}
		if d, ok := attr(n, "aria-describedby"); ok {
			for ref := range strings.FieldsSeq(d) {
				if ids[ref] == 0 {
					t.Errorf("%s: aria-describedby %q does not exist", id, ref)
				}
			}
		}
		if _, invalid := attr(n, "aria-invalid"); invalid {
			if d, _ := attr(n, "aria-describedby"); !strings.Contains(d, id+"-error") {
				t.Errorf("%s is aria-invalid but not described by its error", id)
			}
		}
	})
}

func TestNavOnlyWhenLoggedIn(t *testing.T) {
	out := render(t, ErrorPage(testPage("Oops", ""), 500, "Internal error"))
	if strings.Contains(out, "<nav") || strings.Contains(out, "/logout") {
		t.Error("logged-out page shows the nav")
	}
	out = render(t, ErrorPage(testPage("Oops", "ada@example.com"), 500, "Internal error"))
	doc := parse(t, out)
	if len(find(doc, "nav")) != 1 || len(find(doc, "form", "action", "/logout", "method", "post")) != 1 {
		t.Error("logged-in page has no nav with a logout form")
	}
	for _, w := range []string{`href="/"`, `href="/monitors/new"`, `href="/settings"`, "ada@example.com"} {
		if !strings.Contains(out, w) {
			t.Errorf("nav missing %q", w)
		}
	}
}

func TestFormFieldNames(t *testing.T) {
	doc := parse(t, render(t, MonitorFormPage(sampleForm())))
	for _, name := range []string{"name", "url", "interval_seconds", "timeout_seconds", "expected_status", "confirmations"} {
		if len(find(doc, "input", "name", name)) != 1 {
			t.Errorf("no input %q", name)
		}
	}
	for _, name := range []string{"headers", "body"} {
		if len(find(doc, "textarea", "name", name)) != 1 {
			t.Errorf("no textarea %q", name)
		}
	}
	for _, name := range []string{"follow_redirects", "verify_tls"} {
		if len(find(doc, "input", "name", name, "type", "checkbox", "value", "on")) != 1 {
			t.Errorf("no checkbox %q with value on", name)
		}
	}
	sel := find(doc, "select", "name", "method")
	if len(sel) != 1 {
		t.Fatal("no method select")
	}
	var opts []string
	for _, o := range find(sel[0], "option") {
		v, _ := attr(o, "value")
		opts = append(opts, v)
	}
	if want := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}; !slices.Equal(opts, want) {
		t.Errorf("method options %v, want %v", opts, want)
	}
	if f := find(doc, "form", "method", "post", "action", "/monitors/7/edit"); len(f) != 1 {
		t.Error("no POST form to the action")
	}
	// Field errors: marked invalid, message next to the field.
	in := find(doc, "input", "name", "interval_seconds")[0]
	if v, _ := attr(in, "aria-invalid"); v != "true" {
		t.Error("interval_seconds not aria-invalid")
	}
	if e := find(doc, "p", "id", "interval_seconds-error"); len(e) != 1 || !strings.Contains(textOf(e[0]), "whole number") {
		t.Error("interval_seconds error message missing")
	}
	if _, ok := attr(find(doc, "input", "name", "name")[0], "aria-invalid"); ok {
		t.Error("valid field marked invalid")
	}
}

func TestFormUnknownMethodKept(t *testing.T) {
	f := sampleForm()
	f.Values.Method = "TRACE"
	out := render(t, MonitorFormPage(f))
	if !strings.Contains(out, `<option value="TRACE" selected>`) {
		t.Error("submitted method not re-rendered")
	}
	f.Values.Method = ""
	out = render(t, MonitorFormPage(f))
	if !strings.Contains(out, `<option value="GET" selected>`) {
		t.Error("GET not the default")
	}
}

// TestHostileInput renders every page with hostile names, URLs and errors
// and checks they come out as text: no markup, no script, no js: links.
func TestHostileInput(t *testing.T) {
	for _, name := range []string{hostileImg, hostileScript} {
		t.Run(name, func(t *testing.T) { testHostile(t, name) })
	}
}

func testHostile(t *testing.T, name string) {
	row := MonitorRow{
		ID: 9, Name: name, URL: hostileURL, Status: StatusDown, StatusSince: testNow.Add(-time.Minute),
		LastCheckedAt: testNow, LastReason: name, LastError: name, LastStatusCode: 500,
	}
	row2 := row
	row2.ID, row2.URL = 10, `https://x.example/`+hostileScript
	row3 := row
	row3.ID, row3.URL = 11, "  JavaScript:alert(1)"
	checks := []CheckRow{{At: testNow, Reason: name, Error: name}}
	form := sampleForm()
	form.Values = MonitorValues{Name: name, URL: hostileURL, Method: name, IntervalSeconds: name, TimeoutSeconds: name,
		ExpectedStatus: name, Headers: name, Body: "</textarea>" + name, Confirmations: name}
	form.Errors = map[string]string{"name": name, "url": name, "method": name, "headers": name, "body": name, "verify_tls": name}
	form.FormError = name
	form.Action = hostileURL
	form.Cancel = hostileURL
	page := testPage(name, name)
	page.Flash = name

	ov := hostileOverview(name)
	mp := sampleMonitorPage()
	mp.Page, mp.Monitor = page, row
	mp.Checks = checks
	for i := range mp.Incidents {
		in := &mp.Incidents[i]
		in.Error, in.Reason, in.Excerpt = name, name, "</pre></details>"+name
		if in.AckedEmail != "" {
			in.AckedEmail = name
		}
	}
	mp.Uptime[0].Label = name
	mp.Chart.Range = name
	st := sampleSettings()
	st.Page = page
	st.NewToken, st.NewUserEmail, st.TokenName = name, name, name
	st.Errors = map[string]string{"current_password": name, "token_name": name, "user_email": name}
	for i := range st.Sessions {
		st.Sessions[i].UserAgent, st.Sessions[i].ID = name, name
	}
	for i := range st.Tokens {
		st.Tokens[i].Name, st.Tokens[i].Prefix = name, name
	}
	for i := range st.Users {
		st.Users[i].Email = name
	}

	pages := map[string]templ.Component{
		"overview": OverviewPage(ov),
		"monitor":  MonitorDetail(mp),
		"settings": Settings(st),
		"setup":    SetupPage(AuthForm{Page: page, Email: name, Next: name, Error: name, Errors: map[string]string{"email": name}}),
		"login":    LoginPage(AuthForm{Page: page, Email: name, Next: name, Error: name, Errors: map[string]string{"password": name}}),
		"list":     MonitorsList(MonitorsPage{Page: page, Rows: []MonitorRow{row, row2, row3}, Down: 3}),
		"detail":   MonitorDetail(MonitorPage{Page: page, Monitor: row, Method: name, ExpectedStatus: name, Checks: checks}),
		"detail2":  MonitorDetail(MonitorPage{Page: page, Monitor: row3, Checks: checks}),
		"detail3":  MonitorDetail(MonitorPage{Page: page, Monitor: row2, Checks: checks}),
		"form":     MonitorFormPage(form),
		"error":    ErrorPage(page, 400, name),
	}
	for pname, c := range pages {
		t.Run(pname, func(t *testing.T) {
			out := render(t, c)
			for _, bad := range []string{"<script>", "<img", `href="javascript:`, `href="  javascript:`, `action="javascript:`, "</textarea><"} {
				if strings.Contains(strings.ToLower(out), strings.ToLower(bad)) {
					t.Errorf("output contains %q", bad)
				}
			}
			doc := parse(t, out)
			walk(doc, func(n *html.Node) {
				switch n.Data {
				case "script":
					if src, _ := attr(n, "src"); (src != "/static/h/app.js" && src != "/static/h/live.js") || n.FirstChild != nil {
						t.Errorf("unexpected script element src=%q", src)
					}
				case "img", "iframe", "object", "embed":
					t.Errorf("unexpected <%s>", n.Data)
				}
				for _, a := range n.Attr {
					if strings.HasPrefix(a.Key, "on") {
						t.Errorf("event handler attribute %s=%q on <%s>", a.Key, a.Val, n.Data)
					}
					switch a.Key {
					case "href", "action", "src", "formaction":
						v := strings.ToLower(strings.TrimSpace(a.Val))
						if strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "data:") {
							t.Errorf("%s=%q on <%s>", a.Key, a.Val, n.Data)
						}
					}
				}
			})
			// The text survives, as text.
			if !strings.Contains(textOf(doc), name) && !strings.Contains(out, html.EscapeString(name)) {
				t.Errorf("hostile text not shown escaped")
			}
		})
	}
}

func TestDetailURLLinkOnlyForHTTP(t *testing.T) {
	tests := []struct {
		url  string
		link bool
	}{
		{"https://example.com/x?a=1&b=2", true},
		{"http://example.com", true},
		{"HTTPS://EXAMPLE.COM", true},
		{"javascript:alert(1)", false},
		{" javascript:alert(1)", false},
		{"data:text/html,<script>alert(1)</script>", false},
		{"//evil.example", false},
		{"example.com", false},
		{"ftp://example.com", false},
		{"", false},
	}
	for _, tt := range tests {
		row := MonitorRow{ID: 1, Name: "n", URL: tt.url, Status: StatusUp}
		doc := parse(t, render(t, MonitorDetail(MonitorPage{Page: testPage("n", "a@b.c"), Monitor: row})))
		var found bool
		for _, p := range find(doc, "p", "class", "monitor-url") {
			found = len(find(p, "a")) > 0
			if got := textOf(p); strings.TrimSpace(got) != strings.TrimSpace(tt.url) {
				t.Errorf("%q: shown as %q", tt.url, got)
			}
		}
		if found != tt.link {
			t.Errorf("%q: link=%v, want %v", tt.url, found, tt.link)
		}
	}
}

func TestSortRows(t *testing.T) {
	in := sampleRows()
	in = append(in, MonitorRow{ID: 5, Status: StatusDown}, MonitorRow{ID: 6, Status: "weird"}, MonitorRow{ID: 7, Status: StatusUp})
	orig := slices.Clone(in)
	got := SortRows(in)
	var ids []int64
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	if want := []int64{3, 5, 4, 1, 7, 2, 6}; !slices.Equal(ids, want) {
		t.Errorf("order %v, want %v", ids, want)
	}
	if !slices.EqualFunc(in, orig, func(a, b MonitorRow) bool { return a.ID == b.ID }) {
		t.Error("SortRows modified its input")
	}
	// The overview renders in that order.
	out := render(t, MonitorsList(MonitorsPage{Page: testPage("M", "a@b.c"), Rows: sampleRows()}))
	var last int
	for _, name := range []string{"Payments API", "New thing", "Marketing site", "Paused one"} {
		i := strings.Index(out, name)
		if i < last {
			t.Errorf("%q out of order", name)
		}
		last = i
	}
}

func TestRelTime(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "just now"},
		{3 * time.Second, "just now"},
		{42 * time.Second, "42 s ago"},
		{3*time.Minute + 10*time.Second, "3 min ago"},
		{5 * time.Hour, "5 h ago"},
		{47 * time.Hour, "47 h ago"},
		{72 * time.Hour, "3 d ago"},
		{-3 * time.Minute, "in 3 min"},
	}
	for _, tt := range tests {
		if got := RelTime(testNow, testNow.Add(-tt.d)); got != tt.want {
			t.Errorf("RelTime(-%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	if got := RelTime(testNow, time.Time{}); got != "never" {
		t.Errorf("zero time: %q", got)
	}
}

func TestFormatters(t *testing.T) {
	for ms, want := range map[float64]string{0: "0.00 ms", 0.42: "0.42 ms", 7.46: "7.5 ms", 123.4: "123 ms", 1234.5: "1,235 ms", 1234567: "1,234,567 ms", -1: "—"} {
		if got := FormatMS(ms); got != want {
			t.Errorf("FormatMS(%v) = %q, want %q", ms, got, want)
		}
	}
	for in, want := range map[string]string{
		"https://api.example.com/v1/health": "api.example.com",
		"http://h.example:8080":             "h.example:8080",
		"javascript:alert(1)":               "javascript:alert(1)",
		"not a url":                         "not a url",
	} {
		if got := Host(in); got != want {
			t.Errorf("Host(%q) = %q, want %q", in, got, want)
		}
	}
	for s, want := range map[int]string{30: "30 s", 60: "1 min", 90: "90 s", 300: "5 min", 7200: "2 h", 0: "—"} {
		if got := IntervalText(s); got != want {
			t.Errorf("IntervalText(%d) = %q, want %q", s, got, want)
		}
	}
	for s, want := range map[string]string{StatusUp: "Up", StatusDegraded: "Degraded", StatusDown: "Down", StatusPending: "Pending", StatusPaused: "Paused", "x": "Unknown"} {
		if got := StatusLabel(s); got != want {
			t.Errorf("StatusLabel(%q) = %q, want %q", s, got, want)
		}
	}
	if got := StatusClass(`"><x`); got != "pill pill-unknown" {
		t.Errorf("StatusClass of junk = %q", got)
	}
	if got := (Page{Title: "X"}).FullTitle(); got != "X · upwatch" {
		t.Errorf("FullTitle = %q", got)
	}
	if got := (Page{}).AssetURL("style.css"); got != "/static/style.css" {
		t.Errorf("AssetURL without Asset = %q", got)
	}
}

func TestStatusPillHasWordAndIcon(t *testing.T) {
	for _, s := range []string{StatusUp, StatusDegraded, StatusDown, StatusPending, StatusPaused, "other"} {
		doc := parse(t, render(t, statusPill(s)))
		spans := find(doc, "span", "class", StatusClass(s))
		if len(spans) != 1 {
			t.Fatalf("%s: no pill", s)
		}
		if got := strings.TrimSpace(textOf(spans[0])); got != StatusLabel(s) {
			t.Errorf("%s: pill text %q", s, got)
		}
		if len(find(spans[0], "i", "class", "pi", "aria-hidden", "true")) != 1 {
			t.Errorf("%s: pill has no icon", s)
		}
	}
}

func TestFailureTextSaysItOnce(t *testing.T) {
	cases := []struct{ reason, err, want string }{
		{"refused", "connection refused (127.0.0.1:1)", "connection refused (127.0.0.1:1)"},
		{"status", "HTTP 503 Service Unavailable", ReasonLabel("status") + ": HTTP 503 Service Unavailable"},
		{"timeout", "", ReasonLabel("timeout")},
		{"", "something odd", "something odd"},
	}
	for _, c := range cases {
		if got := (MonitorRow{LastReason: c.reason, LastError: c.err}).failureText(); got != c.want {
			t.Errorf("%s/%q: %q, want %q", c.reason, c.err, got, c.want)
		}
	}
}
