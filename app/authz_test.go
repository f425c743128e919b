package app

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/upwatch/upwatch/store"
)

// target is how the matrix calls one route: a concrete path (placeholders
// {m} monitor, {c} channel, {i} incident, {t} API token, {w} worker token,
// {u} user, {s} session, all of member one's unless said otherwise) and a
// body that would pass validation, so that a refusal is the authorization's
// and not the input's.
type target struct {
	path string
	body string     // JSON, for API routes
	form url.Values // for dashboard forms
	// objectPath marks routes whose path names member one's object:
	// member two must get 404 (it does not exist for them).
	objectPath bool
	// skipViewerRead: a read route a viewer may use but that cannot
	// answer a plain request (the live feed wants a WebSocket).
	skipViewerRead bool
	// admin: only admins may use it; self: it is about the caller's own
	// account (viewers may). Said here apart from the route table, so a
	// route given the wrong access there fails.
	admin, self bool
}

// matrix has one entry per route of the table: a route without one fails
// the test, so a new route cannot skip authorization review.
var matrix = map[string]target{
	"POST /api/v1/auth/signup":                {path: "/api/v1/auth/signup", body: `{"email":"x@example.com","password":"password123"}`},
	"POST /api/v1/auth/login":                 {path: "/api/v1/auth/login", body: `{"email":"x@example.com","password":"wrong one"}`},
	"POST /api/v1/users":                      {path: "/api/v1/users", body: `{"email":"new@example.com","password":"password123"}`, admin: true},
	"GET /api/v1/users":                       {path: "/api/v1/users", admin: true},
	"PUT /api/v1/users/{id}/role":             {path: "/api/v1/users/{u}/role", body: `{"role":"admin"}`, admin: true},
	"PATCH /api/v1/users/{id}":                {path: "/api/v1/users/{u}", body: `{"quotas":{"monitors":10}}`, admin: true},
	"GET /api/v1/me":                          {path: "/api/v1/me", self: true},
	"POST /api/v1/me/password":                {path: "/api/v1/me/password", body: `{"current_password":"password123","new_password":"another password"}`, self: true},
	"POST /api/v1/monitors":                   {path: "/api/v1/monitors", body: `{"name":"new","url":"http://127.0.0.1:1/"}`},
	"GET /api/v1/monitors":                    {path: "/api/v1/monitors"},
	"GET /api/v1/monitors/{id}":               {path: "/api/v1/monitors/{m}", objectPath: true},
	"PATCH /api/v1/monitors/{id}":             {path: "/api/v1/monitors/{m}", body: `{"name":"renamed"}`, objectPath: true},
	"DELETE /api/v1/monitors/{id}":            {path: "/api/v1/monitors/{m}", objectPath: true},
	"GET /api/v1/monitors/{id}/checks":        {path: "/api/v1/monitors/{m}/checks", objectPath: true},
	"GET /api/v1/monitors/{id}/uptime":        {path: "/api/v1/monitors/{m}/uptime", objectPath: true},
	"GET /api/v1/monitors/{id}/latency":       {path: "/api/v1/monitors/{m}/latency", objectPath: true},
	"GET /api/v1/monitors/{id}/incidents":     {path: "/api/v1/monitors/{m}/incidents", objectPath: true},
	"GET /api/v1/incidents":                   {path: "/api/v1/incidents"},
	"POST /api/v1/incidents/{id}/acknowledge": {path: "/api/v1/incidents/{i}/acknowledge", objectPath: true},
	"POST /api/v1/admin/backup":               {path: "/api/v1/admin/backup", admin: true},
	"GET /api/v1/live":                        {path: "/api/v1/live", skipViewerRead: true},
	"GET /api/v1/channel-types":               {path: "/api/v1/channel-types"},
	"POST /api/v1/channels":                   {path: "/api/v1/channels", body: `{"name":"n","type":"webhook","settings":{"url":"http://127.0.0.1:1/"}}`},
	"GET /api/v1/channels":                    {path: "/api/v1/channels"},
	"GET /api/v1/channels/{id}":               {path: "/api/v1/channels/{c}", objectPath: true},
	"PATCH /api/v1/channels/{id}":             {path: "/api/v1/channels/{c}", body: `{"name":"renamed"}`, objectPath: true},
	"DELETE /api/v1/channels/{id}":            {path: "/api/v1/channels/{c}", objectPath: true},
	"POST /api/v1/channels/{id}/test":         {path: "/api/v1/channels/{c}/test", objectPath: true},
	"GET /api/v1/channels/{id}/deliveries":    {path: "/api/v1/channels/{c}/deliveries", objectPath: true},
	"POST /api/v1/tokens":                     {path: "/api/v1/tokens", body: `{"name":"more"}`, self: true},
	"GET /api/v1/tokens":                      {path: "/api/v1/tokens", self: true},
	"DELETE /api/v1/tokens/{id}":              {path: "/api/v1/tokens/{t}", objectPath: true, self: true},
	"GET /api/v1/workers":                     {path: "/api/v1/workers"},
	"POST /api/v1/worker-tokens":              {path: "/api/v1/worker-tokens", body: `{"name":"pi","regions":["home"]}`, admin: true},
	"GET /api/v1/worker-tokens":               {path: "/api/v1/worker-tokens", admin: true},
	"DELETE /api/v1/worker-tokens/{id}":       {path: "/api/v1/worker-tokens/{w}", admin: true},
	"GET /api/v1/worker/token":                {path: "/api/v1/worker/token"},
	"POST /api/v1/worker/jobs":                {path: "/api/v1/worker/jobs", body: `{"region":"home","max":1}`},
	"POST /api/v1/worker/results":             {path: "/api/v1/worker/results", body: `{"region":"home","results":[]}`},
	"POST /api/v1/worker/heartbeat":           {path: "/api/v1/worker/heartbeat", body: `{}`},
	"POST /api/websites":                      {path: "/api/websites", body: `{"name":"new","url":"http://127.0.0.1:1/"}`},
	"GET /api/websites":                       {path: "/api/websites"},
	"GET /api/websites/{id}":                  {path: "/api/websites/{m}", objectPath: true},
	"DELETE /api/websites/{id}":               {path: "/api/websites/{m}", objectPath: true},
	"/api/":                                   {path: "/api/nothing"},
	"GET /healthz":                            {path: "/healthz"},
	"GET /metrics":                            {path: "/metrics"},
	"GET /api/openapi.json":                   {path: "/api/openapi.json"},
	"GET /api/docs":                           {path: "/api/docs"},
	"GET /api/v1/monitor-types":               {path: "/api/v1/monitor-types"},
	"GET /api/v1/admin/instance-alerts":       {path: "/api/v1/admin/instance-alerts", admin: true},
	"PUT /api/v1/admin/instance-alerts":       {path: "/api/v1/admin/instance-alerts", body: `{"channels":[]}`, admin: true},
	"/ping/{token}":                           {path: "/ping/nonexistent"},
	"/ping/{token}/{action}":                  {path: "/ping/nonexistent/fail"},

	"GET /static/":                        {path: "/static/nothing.css"},
	"GET /setup":                          {path: "/setup"},
	"POST /setup":                         {path: "/setup", form: url.Values{"email": {"x@example.com"}, "password": {"password123"}, "password_confirm": {"password123"}}},
	"GET /login":                          {path: "/login"},
	"POST /login":                         {path: "/login", form: url.Values{"email": {"x@example.com"}, "password": {"wrong one"}}},
	"POST /logout":                        {path: "/logout"},
	"GET /{$}":                            {path: "/"},
	"GET /monitors/new":                   {path: "/monitors/new"},
	"POST /monitors":                      {path: "/monitors", form: url.Values{"type": {"http"}, "name": {"new"}, "url": {"http://127.0.0.1:1/"}}},
	"GET /monitors/{id}":                  {path: "/monitors/{m}", objectPath: true},
	"GET /monitors/{id}/edit":             {path: "/monitors/{m}/edit", objectPath: true},
	"POST /monitors/{id}/edit":            {path: "/monitors/{m}/edit", form: url.Values{"type": {"http"}, "name": {"renamed"}, "url": {"http://127.0.0.1:1/"}}, objectPath: true},
	"POST /monitors/{id}/pause":           {path: "/monitors/{m}/pause", form: url.Values{"paused": {"true"}}, objectPath: true},
	"POST /monitors/{id}/delete":          {path: "/monitors/{m}/delete", objectPath: true},
	"POST /incidents/{id}/acknowledge":    {path: "/incidents/{i}/acknowledge", objectPath: true},
	"GET /channels":                       {path: "/channels"},
	"GET /channels/new":                   {path: "/channels/new"},
	"POST /channels":                      {path: "/channels", form: url.Values{"type": {"webhook"}, "name": {"n"}, "url": {"http://127.0.0.1:1/"}}},
	"GET /channels/{id}":                  {path: "/channels/{c}", objectPath: true},
	"GET /channels/{id}/edit":             {path: "/channels/{c}/edit", objectPath: true},
	"POST /channels/{id}/edit":            {path: "/channels/{c}/edit", form: url.Values{"type": {"webhook"}, "name": {"renamed"}}, objectPath: true},
	"POST /channels/{id}/test":            {path: "/channels/{c}/test", objectPath: true},
	"POST /channels/{id}/delete":          {path: "/channels/{c}/delete", objectPath: true},
	"GET /workers":                        {path: "/workers"},
	"POST /workers/tokens":                {path: "/workers/tokens", form: url.Values{"worker_token_name": {"pi"}, "worker_token_regions": {"home"}}, admin: true},
	"POST /workers/tokens/{id}/revoke":    {path: "/workers/tokens/{w}/revoke", admin: true},
	"GET /settings":                       {path: "/settings", self: true},
	"POST /settings/password":             {path: "/settings/password", form: url.Values{"current_password": {"password123"}, "new_password": {"another password"}, "new_password_confirm": {"another password"}}, self: true},
	"POST /settings/sessions/{id}/revoke": {path: "/settings/sessions/{s}/revoke", self: true},
	"POST /settings/tokens":               {path: "/settings/tokens", form: url.Values{"token_name": {"more"}}, self: true},
	"POST /settings/tokens/{id}/revoke":   {path: "/settings/tokens/{t}/revoke", objectPath: true, self: true},
	"POST /settings/users":                {path: "/settings/users", form: url.Values{"user_email": {"new@example.com"}, "user_password": {"password123"}}, admin: true},
	"POST /settings/users/{id}/disable":   {path: "/settings/users/{u}/disable", form: url.Values{"disabled": {"true"}}, admin: true},
	"POST /settings/users/{id}/password":  {path: "/settings/users/{u}/password", form: url.Values{"password": {"another password"}}, admin: true},
	"POST /settings/users/{id}/role":      {path: "/settings/users/{u}/role", form: url.Values{"role": {"admin"}}, admin: true},
	"/":                                   {path: "/nothing-here"},

	"POST /api/v1/maintenance":                {path: "/api/v1/maintenance", body: `{"title":"new","monitors":[{m}],"starts_at":"2030-01-01T00:00:00Z","ends_at":"2030-01-01T01:00:00Z"}`},
	"GET /api/v1/maintenance":                 {path: "/api/v1/maintenance"},
	"GET /api/v1/maintenance/{id}":            {path: "/api/v1/maintenance/{x}", objectPath: true},
	"PATCH /api/v1/maintenance/{id}":          {path: "/api/v1/maintenance/{x}", body: `{"title":"renamed"}`, objectPath: true},
	"DELETE /api/v1/maintenance/{id}":         {path: "/api/v1/maintenance/{x}", objectPath: true},
	"GET /api/v1/monitors/{id}/sla":           {path: "/api/v1/monitors/{m}/sla", objectPath: true},
	"GET /api/v1/monitors/{id}/escalation":    {path: "/api/v1/monitors/{m}/escalation", objectPath: true},
	"PUT /api/v1/monitors/{id}/escalation":    {path: "/api/v1/monitors/{m}/escalation", body: `{"after_minutes":15,"channels":[{c}]}`, objectPath: true},
	"DELETE /api/v1/monitors/{id}/escalation": {path: "/api/v1/monitors/{m}/escalation", objectPath: true},
	"GET /api/v1/escalation":                  {path: "/api/v1/escalation"},
	"PUT /api/v1/escalation":                  {path: "/api/v1/escalation", body: `{"after_minutes":15,"channels":[{c}]}`},
	"DELETE /api/v1/escalation":               {path: "/api/v1/escalation"},
	"GET /monitors/{id}/sla":                  {path: "/monitors/{m}/sla", objectPath: true},
	"GET /maintenance":                        {path: "/maintenance"},
	"POST /maintenance":                       {path: "/maintenance", form: url.Values{"title": {"new"}, "kind": {"once"}, "starts_at": {"2030-01-01T00:00"}, "ends_at": {"2030-01-01T01:00"}, "timezone": {"UTC"}}},
	"POST /maintenance/{id}/delete":           {path: "/maintenance/{x}/delete", objectPath: true},
}

// principal is one way of calling: a bearer credential or a browser with
// a session (or neither).
type principal struct {
	name   string
	bearer string
	web    *http.Client
}

// call makes one request as p and returns the status and Location.
func (p principal) call(t *testing.T, base, method string, tg target, ids map[string]string, page bool) (int, string) {
	t.Helper()
	path := tg.path
	for k, v := range ids {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
		tg.body = strings.ReplaceAll(tg.body, "{"+k+"}", v)
	}
	var req *http.Request
	if page && method != http.MethodGet {
		req, _ = http.NewRequest(method, base+path, strings.NewReader(tg.form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req, _ = http.NewRequest(method, base+path, strings.NewReader(tg.body))
		req.Header.Set("Content-Type", "application/json")
	}
	if p.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+p.bearer)
	}
	c := p.web
	if c == nil {
		c = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s as %s: %v", method, path, p.name, err)
	}
	res.Body.Close()
	return res.StatusCode, res.Header.Get("Location")
}

// fingerprint is the database's content, less what reads may touch
// (when a session or token was last used), to tell a side effect.
func fingerprint(t *testing.T, db *sql.DB) string {
	t.Helper()
	volatile := map[string]bool{"last_seen_at": true, "user_agent": true, "last_used_at": true}
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	h := sha256.New()
	for _, tbl := range tables {
		rs, err := db.Query(`SELECT * FROM "` + tbl + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rs.Next() {
			rs.Scan(ptrs...)
			for i, c := range cols {
				if !volatile[c] {
					fmt.Fprintf(h, "%s.%s=%v;", tbl, c, vals[i])
				}
			}
		}
		rs.Close()
	}
	return hex.EncodeToString(h.Sum(nil))
}

// The authorization matrix, generated from the route table: every route ×
// anonymous, a viewer, member two on member one's objects, a read-scoped
// token on routes that change something, a member on admin routes. Each
// refusal is checked for its status and for leaving the database as it
// was; each read a viewer may make is checked to answer with their
// owner's data.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	adminJWT := e.signup(t)
	mkUser := func(email, role string, owner int64) (store.User, string) {
		t.Helper()
		body := fmt.Sprintf(`{"email":%q,"password":"password123","role":%q`, email, role)
		if owner != 0 {
			body += fmt.Sprintf(`,"owner_id":%d`, owner)
		}
		if r := e.do(t, "POST", "/api/v1/users", adminJWT, body+"}"); r.code != 201 {
			t.Fatalf("create %s: %d %s", email, r.code, r.body)
		}
		r := e.do(t, "POST", "/api/v1/auth/login", "", fmt.Sprintf(`{"email":%q,"password":"password123"}`, email))
		var out struct{ Token string }
		r.json(t, &out)
		u, err := e.st.UserByEmail(ctx, email)
		if err != nil || out.Token == "" {
			t.Fatalf("login %s: %d %s", email, r.code, r.body)
		}
		return u, out.Token
	}
	m1, m1JWT := mkUser("one@example.com", "member", 0)
	m2, m2JWT := mkUser("two@example.com", "member", 0)
	_, viewerJWT := mkUser("viewer@example.com", "viewer", m1.ID)

	// Member one's objects.
	var mon, ch, tok struct{ ID int64 }
	if r := e.do(t, "POST", "/api/v1/monitors", m1JWT, `{"name":"one's","url":"http://127.0.0.1:1/"}`); r.code != 201 {
		t.Fatalf("monitor: %d %s", r.code, r.body)
	} else {
		r.json(t, &mon)
	}
	if r := e.do(t, "POST", "/api/v1/channels", m1JWT, `{"name":"one's","type":"webhook","settings":{"url":"http://127.0.0.1:1/"}}`); r.code != 201 {
		t.Fatalf("channel: %d %s", r.code, r.body)
	} else {
		r.json(t, &ch)
	}
	r := e.do(t, "POST", "/api/v1/tokens", m1JWT, `{"name":"read","scope":"read"}`)
	var readTok struct {
		ID    int64
		Token string
		Scope string
	}
	r.json(t, &readTok)
	if r.code != 201 || readTok.Scope != "read" {
		t.Fatalf("read token: %d %s", r.code, r.body)
	}
	if r := e.do(t, "POST", "/api/v1/tokens", m1JWT, `{"name":"write"}`); r.code != 201 {
		t.Fatalf("token: %d %s", r.code, r.body)
	} else {
		r.json(t, &tok)
	}
	r = e.do(t, "POST", "/api/v1/tokens", adminJWT, `{"name":"admin read","scope":"read"}`)
	var adminRead struct{ Token string }
	r.json(t, &adminRead)
	if r := e.do(t, "POST", "/api/v1/tokens", viewerJWT, `{"name":"w","scope":"write"}`); r.code != 422 || !strings.Contains(string(r.body), "scope") {
		t.Errorf("a viewer asked for a write token: %d %s", r.code, r.body)
	}
	var wt struct{ ID int64 }
	if r := e.do(t, "POST", "/api/v1/worker-tokens", adminJWT, `{"name":"pi","regions":["home"]}`); r.code != 201 {
		t.Fatalf("worker token: %d %s", r.code, r.body)
	} else {
		r.json(t, &wt)
	}
	var mw struct{ ID int64 }
	if r := e.do(t, "POST", "/api/v1/maintenance", m1JWT, fmt.Sprintf(`{"title":"one's","monitors":[%d],"starts_at":"2030-01-01T00:00:00Z","ends_at":"2030-01-01T01:00:00Z"}`, mon.ID)); r.code != 201 {
		t.Fatalf("maintenance: %d %s", r.code, r.body)
	} else {
		r.json(t, &mw)
	}
	for _, path := range []string{fmt.Sprintf("/api/v1/monitors/%d/escalation", mon.ID), "/api/v1/escalation"} {
		if r := e.do(t, "PUT", path, m1JWT, fmt.Sprintf(`{"after_minutes":15,"channels":[%d]}`, ch.ID)); r.code != 200 {
			t.Fatalf("escalation %s: %d %s", path, r.code, r.body)
		}
	}
	// An incident of member one's monitor.
	at := e.clock.Now().Add(-time.Minute)
	if err := e.st.SaveChecks(ctx, []store.Check{{MonitorID: mon.ID, Region: "local", At: at, Reason: "status", Error: "503"}},
		[]store.StateUpdate{{MonitorID: mon.ID, State: store.MonitorState{Status: store.StatusDown, Since: at},
			Transition: &store.Transition{MonitorID: mon.ID, From: store.StatusUp, To: store.StatusDown, At: at, Reason: "status"}}}); err != nil {
		t.Fatal(err)
	}
	incs, err := e.st.ListIncidents(ctx, m1.ID, store.IncidentFilter{MonitorID: mon.ID})
	if err != nil || len(incs) != 1 {
		t.Fatalf("incident: %v %v", incs, err)
	}

	// Browsers signed in as each.
	signIn := func(email string) *http.Client {
		c := browser(t)
		if code, _, _ := post(t, c, e.srv.URL+"/login", url.Values{"email": {email}, "password": {"password123"}}); code != 303 {
			t.Fatalf("sign in %s: %d", email, code)
		}
		return c
	}
	m1Web, m2Web, viewerWeb := signIn("one@example.com"), signIn("two@example.com"), signIn("viewer@example.com")
	sessions, _ := e.st.ListSessions(ctx, m1.ID)
	ids := map[string]string{
		"m": strconv.FormatInt(mon.ID, 10), "c": strconv.FormatInt(ch.ID, 10), "i": strconv.FormatInt(incs[0].ID, 10),
		"t": strconv.FormatInt(tok.ID, 10), "w": strconv.FormatInt(wt.ID, 10), "u": strconv.FormatInt(m2.ID, 10),
		"s": sessions[0].ID, "x": strconv.FormatInt(mw.ID, 10),
	}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(filepath.Dir(e.st.Path()), filepath.Base(e.st.Path()))+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	anon := principal{name: "anonymous"}
	viewerAPI := principal{name: "viewer", bearer: viewerJWT}
	viewerPage := principal{name: "viewer", web: viewerWeb}
	readAPI := principal{name: "read token", bearer: readTok.Token}
	adminReadAPI := principal{name: "admin's read token", bearer: adminRead.Token}
	m2API := principal{name: "member two", bearer: m2JWT}
	m2Page := principal{name: "member two", web: m2Web}
	memberAPI := principal{name: "member one", bearer: m1JWT}
	memberPage := principal{name: "member one", web: m1Web}

	// refused asks that p gets one of want and changes nothing.
	refused := func(rt route, p principal, page bool, want ...int) {
		t.Helper()
		method, _, _ := strings.Cut(rt.pattern, " ")
		if !strings.Contains(rt.pattern, " ") {
			method = http.MethodGet
		}
		before := fingerprint(t, db)
		code, loc := p.call(t, e.srv.URL, method, matrix[rt.pattern], ids, page)
		if !slices.Contains(want, code) {
			t.Errorf("%s as %s: %d (Location %q), want %v", rt.pattern, p.name, code, loc, want)
		}
		if want[0] == http.StatusSeeOther && !strings.HasPrefix(loc, "/login") {
			t.Errorf("%s as %s: sent to %q, want the sign-in page", rt.pattern, p.name, loc)
		}
		if after := fingerprint(t, db); after != before {
			t.Errorf("%s as %s (%d): the database changed", rt.pattern, p.name, code)
		}
	}
	// allowedRead asks that a read p may make is answered, not refused or
	// hidden.
	allowedRead := func(rt route, p principal, page bool) {
		t.Helper()
		code, _ := p.call(t, e.srv.URL, http.MethodGet, matrix[rt.pattern], ids, page)
		if code == 401 || code == 403 || code == 404 || code >= 500 {
			t.Errorf("%s as %s: %d, want it answered", rt.pattern, p.name, code)
		}
	}

	seen := map[string]bool{}
	for _, rt := range e.app.routeTable() {
		seen[rt.pattern] = true
		tg, ok := matrix[rt.pattern]
		if !ok {
			t.Errorf("route %q has no entry in the authorization matrix: add one", rt.pattern)
			continue
		}
		isAdmin := rt.access == apiAdmin || rt.access == pageAdmin
		isSelf := rt.access == apiSelf || rt.access == apiSelfWrite || rt.access == pageSelf || rt.access == pageSelfWrite
		if isAdmin != tg.admin || isSelf != tg.self {
			t.Errorf("%s has access %s in the route table; the matrix says admin %v, own account %v", rt.pattern, accessName(rt.access), tg.admin, tg.self)
		}
		method, _, hasMethod := strings.Cut(rt.pattern, " ")
		if !hasMethod {
			method = http.MethodGet
		}
		page := rt.access.page()
		switch rt.access {
		case public:
			// Open by design; it must not fail inside (503: push pings
			// need the checker, which this app has not).
			if code, _ := anon.call(t, e.srv.URL, method, tg, ids, page); code >= 500 && code != 503 {
				t.Errorf("%s anonymous: %d", rt.pattern, code)
			}
			continue
		case workerTok:
			refused(rt, anon, false, 401)
			refused(rt, memberAPI, false, 401, 403)
			continue
		case scraper:
			refused(rt, anon, false, 401)
			allowedRead(rt, memberAPI, false)
			allowedRead(rt, viewerAPI, false)
			continue
		}
		if page {
			refused(rt, anon, true, http.StatusSeeOther)
		} else {
			refused(rt, anon, false, 401)
		}
		writes := rt.access.writes(method)
		switch rt.access {
		case apiRead, pageRead, apiSelf, pageSelf:
			if method != http.MethodGet {
				t.Errorf("%s is a %s route: reads are GET; a route that changes something needs write access", rt.pattern, accessName(rt.access))
			}
		}
		switch rt.access {
		case apiRead:
			allowedRead(rt, memberAPI, false)
			if !tg.skipViewerRead {
				allowedRead(rt, viewerAPI, false) // their owner's objects
				allowedRead(rt, readAPI, false)
			}
		case pageRead:
			allowedRead(rt, memberPage, true)
			allowedRead(rt, viewerPage, true)
		case apiWrite:
			refused(rt, viewerAPI, false, 403)
			refused(rt, readAPI, false, 403)
		case pageWrite:
			refused(rt, viewerPage, true, 403)
		case apiSelfWrite:
			refused(rt, readAPI, false, 403)
		case apiAdmin:
			refused(rt, memberAPI, false, 403)
			refused(rt, viewerAPI, false, 403)
			if writes {
				refused(rt, adminReadAPI, false, 403)
			}
		case pageAdmin:
			refused(rt, memberPage, true, 403)
			refused(rt, viewerPage, true, 403)
		}
		if tg.objectPath {
			switch {
			case page && (rt.access == pageRead || rt.access == pageWrite || rt.access == pageSelfWrite):
				refused(rt, m2Page, true, 404)
			case !page:
				refused(rt, m2API, false, 404)
			}
		}
	}
	for p := range matrix {
		if !seen[p] {
			t.Errorf("matrix entry %q names no route", p)
		}
	}
}

func accessName(k access) string {
	return [...]string{"public", "worker", "scraper", "apiRead", "apiWrite", "apiSelf", "apiSelfWrite", "apiAdmin",
		"pageRead", "pageWrite", "pageSelf", "pageSelfWrite", "pageAdmin"}[k]
}

// A viewer reads their owner's monitors and nobody else's, changes
// nothing, and a role change ends the credentials issued before it.
func TestViewerAndRoleChange(t *testing.T) {
	e := newEnv(t)
	adminJWT := e.signup(t)
	login := func(email string) string {
		t.Helper()
		r := e.do(t, "POST", "/api/v1/auth/login", "", fmt.Sprintf(`{"email":%q,"password":"password123"}`, email))
		var out struct{ Token string }
		r.json(t, &out)
		if out.Token == "" {
			t.Fatalf("login %s: %d %s", email, r.code, r.body)
		}
		return out.Token
	}
	var one, viewer struct{ ID int64 }
	e.do(t, "POST", "/api/v1/users", adminJWT, `{"email":"one@example.com","password":"password123"}`).json(t, &one)
	if r := e.do(t, "POST", "/api/v1/users", adminJWT, fmt.Sprintf(`{"email":"v@example.com","password":"password123","role":"viewer","owner_id":%d}`, one.ID)); r.code != 201 {
		t.Fatalf("viewer: %d %s", r.code, r.body)
	} else {
		r.json(t, &viewer)
	}
	if r := e.do(t, "POST", "/api/v1/users", adminJWT, fmt.Sprintf(`{"email":"v2@example.com","password":"password123","role":"viewer","owner_id":%d}`, viewer.ID)); r.code != 422 || !strings.Contains(string(r.body), "owner_id") {
		t.Errorf("a viewer of a viewer: %d %s", r.code, r.body)
	}
	oneJWT := login("one@example.com")
	e.do(t, "POST", "/api/v1/monitors", oneJWT, `{"name":"one's site","url":"http://127.0.0.1:1/"}`)
	e.do(t, "POST", "/api/v1/monitors", adminJWT, `{"name":"admin's site","url":"http://127.0.0.1:1/"}`)
	vJWT := login("v@example.com")
	r := e.do(t, "GET", "/api/v1/monitors", vJWT, "")
	if r.code != 200 || !strings.Contains(string(r.body), "one's site") || strings.Contains(string(r.body), "admin's site") {
		t.Errorf("viewer's list: %d %s", r.code, r.body)
	}
	if r := e.do(t, "GET", "/api/v1/me", vJWT, ""); !strings.Contains(string(r.body), `"role":"viewer"`) || !strings.Contains(string(r.body), `"email":"v@example.com"`) {
		t.Errorf("viewer's /me: %s", r.body)
	}
	if r := e.do(t, "POST", "/api/v1/monitors", vJWT, `{"name":"x","url":"http://127.0.0.1:1/"}`); r.code != 403 {
		t.Errorf("viewer creates: %d %s", r.code, r.body)
	}
	// Promote the viewer: their old JWT ends; a new sign-in is a member
	// with monitors of their own (none).
	if r := e.do(t, "PUT", fmt.Sprintf("/api/v1/users/%d/role", viewer.ID), adminJWT, `{"role":"member"}`); r.code != 200 || !strings.Contains(string(r.body), `"role":"member"`) {
		t.Fatalf("role change: %d %s", r.code, r.body)
	}
	if r := e.do(t, "GET", "/api/v1/monitors", vJWT, ""); r.code != 401 {
		t.Errorf("JWT from before the role change: %d", r.code)
	}
	vJWT = login("v@example.com")
	if r := e.do(t, "GET", "/api/v1/monitors", vJWT, ""); r.code != 200 || strings.Contains(string(r.body), "one's site") {
		t.Errorf("as a member: %d %s", r.code, r.body)
	}
	if r := e.do(t, "POST", "/api/v1/monitors", vJWT, `{"name":"mine","url":"http://127.0.0.1:1/"}`); r.code != 201 {
		t.Errorf("member creates: %d %s", r.code, r.body)
	}
	var me struct{ ID int64 }
	e.do(t, "GET", "/api/v1/me", adminJWT, "").json(t, &me)
	if r := e.do(t, "PUT", fmt.Sprintf("/api/v1/users/%d/role", me.ID), adminJWT, `{"role":"member"}`); r.code != 422 {
		t.Errorf("an admin demoting themselves: %d %s", r.code, r.body)
	}
	if r := e.do(t, "PUT", fmt.Sprintf("/api/v1/users/%d/role", one.ID), adminJWT, `{"role":"owner"}`); r.code != 422 || !strings.Contains(string(r.body), `"field":"role"`) {
		t.Errorf("a role that does not exist: %d %s", r.code, r.body)
	}
}
