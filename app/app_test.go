package app

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/internal/testredis"
	"github.com/upwatch/upwatch/notify"
	"github.com/upwatch/upwatch/static"
	"github.com/upwatch/upwatch/store"
)

// recorder stands in for the checker: app tests are about HTTP, and the
// checker has its own tests. It records what the app told it.
type recorder struct {
	mu          sync.Mutex
	rescheduled []int64
	removed     []int64
}

func (r *recorder) Reschedule(_ context.Context, id int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rescheduled = append(r.rescheduled, id)
	return nil
}

func (r *recorder) RegionStates(int64) []checker.RegionState { return nil }

func (r *recorder) Remove(id int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.removed = append(r.removed, id)
}

type env struct {
	app   *App
	srv   *httptest.Server
	st    *store.Store
	sched *recorder
	clock *clock
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newEnv(t *testing.T) *env { return newEnvWith(t, nil) }

// newEnvWith is newEnv with a hook to change the app's collaborators (the
// hook sees the store, so it can build a real checker on it).
func newEnvWith(t *testing.T, mod func(*Deps)) *env { return newEnvConfig(t, nil, mod) }

// newEnvConfig is newEnvWith with a hook to change the app's Config too.
func newEnvConfig(t *testing.T, conf func(*Config), mod func(*Deps)) *env {
	t.Helper()
	clk := &clock{now: time.Now()}
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "app.db"), store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	assets, err := static.New()
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	d := Deps{Store: st, Scheduler: rec, Queue: checker.NewQueue(testredis.Mini(t).Client), Assets: assets,
		Alerts: notify.NewDispatcher(st, notify.DispatchConfig{Now: clk.Now, Logger: slog.New(slog.DiscardHandler)}),
		Logger: slog.New(slog.DiscardHandler), Now: clk.Now}
	if mod != nil {
		mod(&d)
	}
	cfg := Config{JWTSecret: []byte(strings.Repeat("k", 32)), MailFrom: "upwatch@example.com"}
	if conf != nil {
		conf(&cfg)
	}
	a := New(cfg, d)
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &env{app: a, srv: srv, st: st, sched: rec, clock: clk}
}

type resp struct {
	code int
	body []byte
	hdr  http.Header
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

func (e *env) do(t *testing.T, method, path, token, body string, hdr ...string) resp {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, b, res.Header}
}

func (e *env) signup(t *testing.T) string {
	t.Helper()
	r := e.do(t, "POST", "/api/v1/auth/signup", "", `{"email":"Owner@Example.com","password":"password123"}`)
	if r.code != 201 {
		t.Fatalf("signup: %d %s", r.code, r.body)
	}
	var out struct{ Token string }
	r.json(t, &out)
	return out.Token
}

func TestAuthFlow(t *testing.T) {
	e := newEnv(t)
	if r := e.do(t, "GET", "/api/v1/monitors", "", ""); r.code != 401 || r.hdr.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("anonymous list: %d %s", r.code, r.hdr.Get("Content-Type"))
	}
	bad := []struct{ body, field string }{
		{`{"email":"nope","password":"password123"}`, "email"},
		{`{"email":"a@b.co","password":"short"}`, "password"},
	}
	for _, c := range bad {
		r := e.do(t, "POST", "/api/v1/auth/signup", "", c.body)
		var p problem
		r.json(t, &p)
		if r.code != 422 || p.Field != c.field {
			t.Errorf("signup %s: %d field %q", c.body, r.code, p.Field)
		}
	}
	tok := e.signup(t)
	if r := e.do(t, "POST", "/api/v1/auth/signup", "", `{"email":"x@example.com","password":"password123"}`); r.code != 403 {
		t.Errorf("second signup: %d, want 403", r.code)
	}
	if r := e.do(t, "POST", "/api/v1/auth/login", "", `{"email":"owner@example.com","password":"wrong-password"}`); r.code != 401 {
		t.Errorf("wrong password: %d", r.code)
	}
	if r := e.do(t, "POST", "/api/v1/auth/login", "", `{"email":"nobody@example.com","password":"password123"}`); r.code != 401 {
		t.Errorf("unknown user: %d", r.code)
	}
	r := e.do(t, "POST", "/api/v1/auth/login", "", `{"email":" OWNER@example.com ","password":"password123"}`)
	var login struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	r.json(t, &login)
	if r.code != 200 || login.Token == "" || login.ExpiresAt.Before(time.Now()) {
		t.Fatalf("login: %d %s", r.code, r.body)
	}
	for name, h := range map[string]string{
		"garbage":  "Bearer not.a.jwt",
		"scheme":   "Basic " + tok,
		"tampered": "Bearer " + tok[:len(tok)-2] + "xx",
	} {
		if r := e.do(t, "GET", "/api/v1/me", "", "", "Authorization", h); r.code != 401 {
			t.Errorf("%s token: %d", name, r.code)
		}
	}
	if r := e.do(t, "GET", "/api/v1/me", tok, ""); r.code != 200 {
		t.Errorf("me: %d", r.code)
	}
	// Tokens expire.
	e.clock.Add(13 * time.Hour)
	if r := e.do(t, "GET", "/api/v1/me", tok, ""); r.code != 401 {
		t.Errorf("expired token: %d", r.code)
	}
}

func TestUsersAndIsolation(t *testing.T) {
	e := newEnv(t)
	admin := e.signup(t)
	if r := e.do(t, "POST", "/api/v1/users", admin, `{"email":"bob@example.com","password":"bobpassword"}`); r.code != 201 {
		t.Fatalf("admin creates user: %d %s", r.code, r.body)
	}
	if r := e.do(t, "POST", "/api/v1/users", admin, `{"email":"BOB@example.com","password":"bobpassword"}`); r.code != 409 {
		t.Errorf("duplicate user: %d", r.code)
	}
	var login struct{ Token string }
	e.do(t, "POST", "/api/v1/auth/login", "", `{"email":"bob@example.com","password":"bobpassword"}`).json(t, &login)
	bob := login.Token
	if r := e.do(t, "POST", "/api/v1/users", bob, `{"email":"eve@example.com","password":"evepassword"}`); r.code != 403 {
		t.Errorf("non-admin creates user: %d", r.code)
	}
	r := e.do(t, "POST", "/api/v1/monitors", admin, `{"name":"mine","url":"http://127.0.0.1:9/"}`)
	var m monitorJSON
	r.json(t, &m)
	path := "/api/v1/monitors/" + itoa(m.ID)
	for _, req := range [][2]string{{"GET", path}, {"PATCH", path}, {"DELETE", path}, {"GET", path + "/checks"}, {"GET", "/api/websites/" + itoa(m.ID)}} {
		body := ""
		if req[0] == "PATCH" {
			body = `{"name":"stolen"}`
		}
		if r := e.do(t, req[0], req[1], bob, body); r.code != 404 {
			t.Errorf("bob %s %s: %d, want 404", req[0], req[1], r.code)
		}
	}
	var list struct{ Items []monitorJSON }
	e.do(t, "GET", "/api/v1/monitors", bob, "").json(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("bob sees %d monitors", len(list.Items))
	}
	if got, _ := e.st.MonitorByID(context.Background(), m.ID); got.Name != "mine" {
		t.Errorf("monitor changed by another user: %q", got.Name)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestMonitorCRUD(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	r := e.do(t, "POST", "/api/v1/monitors", tok, `{"name":" Home ","url":"https://example.test/health","interval_seconds":30,
		"method":"head","headers":{"X-Token":"abc"},"expected_status":"2xx, 301","follow_redirects":false,"verify_tls":false,"confirmations":3}`)
	if r.code != 201 {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	var m monitorJSON
	r.json(t, &m)
	if m.Name != "Home" || m.Method != "HEAD" || m.IntervalSeconds != 30 || m.TimeoutSeconds != 10 || m.Headers["X-Token"] != "abc" ||
		m.ExpectedStatus != "200-299,301" || m.FollowRedirects || m.VerifyTLS || m.Confirmations != 3 || m.Status != "pending" || m.LastCheck != nil {
		t.Fatalf("created monitor: %+v", m)
	}
	if r.hdr.Get("Location") != "/api/v1/monitors/"+itoa(m.ID) {
		t.Errorf("Location %q", r.hdr.Get("Location"))
	}
	// Defaults.
	var d monitorJSON
	e.do(t, "POST", "/api/websites", tok, `{"name":"d","url":"http://127.0.0.1:9/"}`).json(t, &d)
	if d.IntervalSeconds != 60 || d.TimeoutSeconds != 10 || d.Method != "GET" || d.ExpectedStatus != "200-299" || !d.FollowRedirects || !d.VerifyTLS || d.Confirmations != 2 {
		t.Errorf("defaults: %+v", d)
	}
	// Partial update; pausing sets the status; shortening the interval pulls the timeout.
	var u monitorJSON
	r = e.do(t, "PATCH", "/api/v1/monitors/"+itoa(m.ID), tok, `{"paused":true,"interval_seconds":5}`)
	r.json(t, &u)
	if r.code != 200 || !u.Paused || u.Status != "paused" || u.IntervalSeconds != 5 || u.TimeoutSeconds != 5 || u.Name != "Home" {
		t.Fatalf("patch: %d %+v", r.code, u)
	}
	e.do(t, "PATCH", "/api/v1/monitors/"+itoa(m.ID), tok, `{"paused":false}`).json(t, &u)
	if u.Paused || u.Status != "pending" {
		t.Errorf("resume: %+v", u)
	}
	var list struct{ Items []monitorJSON }
	e.do(t, "GET", "/api/websites", tok, "").json(t, &list)
	if len(list.Items) != 2 {
		t.Errorf("list: %d items", len(list.Items))
	}
	if r := e.do(t, "DELETE", "/api/websites/"+itoa(m.ID), tok, ""); r.code != 204 {
		t.Errorf("delete: %d", r.code)
	}
	if r := e.do(t, "DELETE", "/api/v1/monitors/"+itoa(m.ID), tok, ""); r.code != 404 {
		t.Errorf("delete again: %d", r.code)
	}
	e.sched.mu.Lock()
	defer e.sched.mu.Unlock()
	if len(e.sched.rescheduled) != 4 || len(e.sched.removed) != 1 || e.sched.removed[0] != m.ID {
		t.Errorf("checker told: rescheduled %v removed %v", e.sched.rescheduled, e.sched.removed)
	}
}

func TestBadMonitorInput(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	long := strings.Repeat("n", 201)
	cases := []struct {
		name, body string
		code       int
		field      string
	}{
		{"invalid json", `{"name":`, 400, "body"},
		{"not json", `name=x`, 400, "body"},
		{"empty", ``, 400, "body"},
		{"trailing", `{"name":"a","url":"http://a"} {}`, 400, "body"},
		{"array", `[]`, 400, "body"},
		{"unknown field", `{"name":"a","url":"http://a","colour":"red"}`, 400, "colour"},
		{"wrong type", `{"name":"a","url":"http://a","interval_seconds":"60"}`, 400, "interval_seconds"},
		{"fractional", `{"name":"a","url":"http://a","interval_seconds":1.5}`, 400, "interval_seconds"},
		{"bool as string", `{"name":"a","url":"http://a","paused":"yes"}`, 400, "paused"},
		{"missing name", `{"url":"http://a"}`, 422, "name"},
		{"long name", `{"name":"` + long + `","url":"http://a"}`, 422, "name"},
		{"control chars", `{"name":"a\u0007b","url":"http://a"}`, 422, "name"},
		{"missing url", `{"name":"a"}`, 422, "url"},
		{"ftp url", `{"name":"a","url":"ftp://a"}`, 422, "url"},
		{"javascript url", `{"name":"a","url":"javascript:alert(1)"}`, 422, "url"},
		{"no host", `{"name":"a","url":"http://"}`, 422, "url"},
		{"relative", `{"name":"a","url":"/x"}`, 422, "url"},
		{"spaces", `{"name":"a","url":"http://a b"}`, 422, "url"},
		{"bad port", `{"name":"a","url":"http://a:99999"}`, 422, "url"},
		{"interval 0", `{"name":"a","url":"http://a","interval_seconds":0}`, 422, "interval_seconds"},
		{"interval big", `{"name":"a","url":"http://a","interval_seconds":86401}`, 422, "interval_seconds"},
		{"timeout > interval", `{"name":"a","url":"http://a","interval_seconds":5,"timeout_seconds":6}`, 422, "timeout_seconds"},
		{"timeout 0", `{"name":"a","url":"http://a","timeout_seconds":0}`, 422, "timeout_seconds"},
		{"method", `{"name":"a","url":"http://a","method":"BREW"}`, 422, "method"},
		{"header name", `{"name":"a","url":"http://a","headers":{"Bad Name":"x"}}`, 422, "headers"},
		{"header injection", `{"name":"a","url":"http://a","headers":{"X":"a\r\nEvil: 1"}}`, 422, "headers"},
		{"status range", `{"name":"a","url":"http://a","expected_status":"600"}`, 422, "expected_status"},
		{"status garbage", `{"name":"a","url":"http://a","expected_status":"ok"}`, 422, "expected_status"},
		{"confirmations", `{"name":"a","url":"http://a","confirmations":0}`, 422, "confirmations"},
		{"body too big", `{"name":"a","url":"http://a","body":"` + strings.Repeat("b", maxRequestBody+1) + `"}`, 422, "body"},
		{"request too big", `{"name":"a","url":"http://a","body":"` + strings.Repeat("b", maxBody) + `"}`, 413, "body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, "POST", "/api/v1/monitors", tok, c.body)
			var p problem
			r.json(t, &p)
			if r.code != c.code || p.Field != c.field || p.Status != c.code || p.Detail == "" {
				t.Errorf("got %d field %q (%s), want %d field %q", r.code, p.Field, r.body, c.code, c.field)
			}
		})
	}
	var list struct{ Items []monitorJSON }
	e.do(t, "GET", "/api/v1/monitors", tok, "").json(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("bad input stored %d monitors", len(list.Items))
	}
	for _, p := range []string{"/api/v1/monitors/abc", "/api/v1/monitors/-1", "/api/v1/monitors/99999999999999999999", "/api/v1/monitors/1/checks?limit=0"} {
		if r := e.do(t, "GET", p, tok, ""); r.code != 404 && r.code != 400 {
			t.Errorf("%s: %d", p, r.code)
		}
	}
	if r := e.do(t, "GET", "/api/v1/nope", tok, ""); r.code != 404 {
		t.Errorf("unknown endpoint: %d", r.code)
	}
}

func TestCrossOriginRefused(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	r := e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"a","url":"http://a"}`, "Sec-Fetch-Site", "cross-site")
	if r.code != 403 {
		t.Errorf("cross-site API post: %d", r.code)
	}
	r = e.do(t, "POST", "/logout", "", "", "Origin", "https://evil.example")
	if r.code != 403 {
		t.Errorf("cross-origin form post: %d", r.code)
	}
}

// browser is a cookie-keeping client that does not follow redirects.
func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func post(t *testing.T, c *http.Client, u string, form url.Values) (int, string, string) {
	t.Helper()
	res, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(b)
}

func get(t *testing.T, c *http.Client, u string) (int, string, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(b)
}

func TestPagesFlow(t *testing.T) {
	e := newEnv(t)
	c := browser(t)
	base := e.srv.URL
	if code, loc, _ := get(t, c, base+"/"); code != 303 || loc != "/setup" {
		t.Fatalf("first visit: %d %q", code, loc)
	}
	code, _, body := post(t, c, base+"/setup", url.Values{"email": {"me@example.com"}, "password": {"password123"}, "password_confirm": {"different"}})
	if code != 422 || !strings.Contains(body, "does not match") {
		t.Fatalf("setup mismatch: %d", code)
	}
	if code, loc, _ := post(t, c, base+"/setup", url.Values{"email": {"me@example.com"}, "password": {"password123"}, "password_confirm": {"password123"}}); code != 303 || loc != "/" {
		t.Fatalf("setup: %d %q", code, loc)
	}
	if code, loc, _ := get(t, c, base+"/setup"); code != 303 || loc != "/login" {
		t.Errorf("setup after first user: %d %q", code, loc)
	}
	code, _, body = get(t, c, base+"/")
	if code != 200 || !strings.Contains(body, "me@example.com") {
		t.Fatalf("overview: %d", code)
	}
	hostile := `<img src=x onerror=alert(1)>`
	code, _, body = post(t, c, base+"/monitors", url.Values{"name": {hostile}, "url": {"javascript:alert(1)"}, "interval_seconds": {"abc"}})
	if code != 422 || !strings.Contains(body, "must start with http") || !strings.Contains(body, "whole number") || strings.Contains(body, "<img src=x") {
		t.Fatalf("bad form: %d %s", code, body)
	}
	code, loc, _ := post(t, c, base+"/monitors", url.Values{"name": {hostile}, "url": {"http://127.0.0.1:9/"}, "method": {"GET"},
		"interval_seconds": {"30"}, "headers": {"X-A: 1\nX-B: two"}, "verify_tls": {"on"}})
	if code != 303 || !strings.HasPrefix(loc, "/monitors/") {
		t.Fatalf("create via form: %d %q", code, loc)
	}
	detail := strings.TrimSuffix(loc, "?m=created")
	code, _, body = get(t, c, base+loc)
	if code != 200 || strings.Contains(body, "<img src=x") || !strings.Contains(body, "&lt;img src=x") || !strings.Contains(body, "Monitor created") {
		t.Fatalf("detail: %d", code)
	}
	id := strings.TrimPrefix(detail, "/monitors/")
	m, err := e.st.MonitorByID(context.Background(), mustInt(t, id))
	if err != nil || m.Headers["X-B"] != "two" || m.FollowRedirects || !m.VerifyTLS || m.Interval != 30*time.Second {
		t.Fatalf("stored from form: %+v %v", m, err)
	}
	if code, _, body = get(t, c, base+detail+"/edit"); code != 200 || !strings.Contains(body, "X-B: two") {
		t.Fatalf("edit page: %d", code)
	}
	if code, loc, _ = post(t, c, base+detail+"/edit", url.Values{"name": {"renamed"}, "url": {"http://127.0.0.1:9/"}, "interval_seconds": {"0"}}); code != 422 {
		t.Fatalf("edit with bad interval: %d", code)
	}
	if code, loc, _ = post(t, c, base+detail+"/edit", url.Values{"name": {"renamed"}, "url": {"http://127.0.0.1:9/"}, "interval_seconds": {"10"}}); code != 303 {
		t.Fatalf("edit: %d %s", code, loc)
	}
	if code, loc, _ = post(t, c, base+detail+"/pause", url.Values{"paused": {"true"}}); code != 303 || !strings.Contains(loc, "paused") {
		t.Fatalf("pause: %d %q", code, loc)
	}
	if m, _ := e.st.MonitorByID(context.Background(), mustInt(t, id)); !m.Paused || m.Name != "renamed" {
		t.Errorf("after edit+pause: %+v", m)
	}
	if code, loc, _ = post(t, c, base+detail+"/delete", nil); code != 303 || loc != "/?m=deleted" {
		t.Fatalf("delete: %d %q", code, loc)
	}
	if code, _, _ = get(t, c, base+detail); code != 404 {
		t.Errorf("deleted detail: %d", code)
	}
	// Logout revokes the session server-side.
	if code, loc, _ = post(t, c, base+"/logout", nil); code != 303 || loc != "/login" {
		t.Fatalf("logout: %d", code)
	}
	if code, loc, _ = get(t, c, base+"/monitors/new"); code != 303 || !strings.HasPrefix(loc, "/login?next=") {
		t.Errorf("after logout: %d %q", code, loc)
	}
	// Login honours next, but only on this site.
	if code, loc, _ = post(t, c, base+"/login", url.Values{"email": {"me@example.com"}, "password": {"nope"}}); code != 401 {
		t.Errorf("bad login: %d", code)
	}
	if code, loc, _ = post(t, c, base+"/login", url.Values{"email": {"me@example.com"}, "password": {"password123"}, "next": {"//evil.example/x"}}); code != 303 || loc != "/" {
		t.Errorf("login with foreign next: %d %q", code, loc)
	}
	if code, loc, _ = post(t, c, base+"/login", url.Values{"email": {"me@example.com"}, "password": {"password123"}, "next": {"/monitors/new"}}); code != 303 || loc != "/monitors/new" {
		t.Errorf("login with next: %d %q", code, loc)
	}
	if code, _, _ = get(t, c, base+"/no/such/page"); code != 404 {
		t.Errorf("unknown page: %d", code)
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

func TestGzip(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	r := e.do(t, "GET", "/api/v1/monitors", tok, "", "Accept-Encoding", "gzip")
	if r.hdr.Get("Content-Encoding") != "gzip" || !strings.Contains(r.hdr.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("JSON not compressed: %v", r.hdr)
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !strings.Contains(string(plain), `"items"`) {
		t.Errorf("decompressed body %q", plain)
	}
	if r := e.do(t, "GET", "/api/v1/monitors", tok, ""); r.hdr.Get("Content-Encoding") != "" {
		t.Error("compressed without Accept-Encoding")
	}
	if r := e.do(t, "DELETE", "/api/v1/monitors/999", tok, "", "Accept-Encoding", "gzip"); r.code != 404 {
		t.Errorf("error through gzip: %d", r.code)
	}
}
