package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/internal/testredis"
	"github.com/upwatch/upwatch/static"
	"github.com/upwatch/upwatch/store"
)

// newWorkerEnv is newEnv with a bridge of its own (a short claim margin)
// and the real clock: heartbeats and claims are timed.
func newWorkerEnv(t *testing.T, margin time.Duration) (*env, *checker.Queue) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	assets, err := static.New()
	if err != nil {
		t.Fatal(err)
	}
	q := checker.NewQueue(testredis.Mini(t).Client)
	if err := q.Setup(context.Background()); err != nil { // the results stream and its group
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	rec := &recorder{}
	a := New(Config{JWTSecret: []byte(strings.Repeat("k", 32))}, Deps{Store: st, Scheduler: rec, Queue: q, Assets: assets,
		Bridge: checker.NewBridge(q, checker.BridgeConfig{ClaimMargin: margin, Logger: log}), Logger: log})
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &env{app: a, srv: srv, st: st, sched: rec}, q
}

// workerToken creates a worker token for regions through the API.
func (e *env) workerToken(t *testing.T, admin string, regions ...string) (id int64, token string) {
	t.Helper()
	body := fmt.Sprintf(`{"name":"t-%s","regions":["%s"]}`, strings.Join(regions, "-"), strings.Join(regions, `","`))
	r := e.do(t, "POST", "/api/v1/worker-tokens", admin, body)
	if r.code != 201 {
		t.Fatalf("create worker token: %d %s", r.code, r.body)
	}
	var out workerTokenJSON
	r.json(t, &out)
	return out.ID, out.Token
}

// detail is a problem answer's detail.
func (r resp) detail(t *testing.T) string {
	t.Helper()
	var p problem
	r.json(t, &p)
	return p.Detail
}

func TestWorkerTokensAPI(t *testing.T) {
	e, _ := newWorkerEnv(t, 0)
	admin := e.signup(t)

	r := e.do(t, "POST", "/api/v1/worker-tokens", admin, `{"name":"Pi at home","regions":["home"]}`)
	if r.code != 201 {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	var home workerTokenJSON
	r.json(t, &home)
	if !strings.HasPrefix(home.Token, "upww_") || len(home.Token) < 40 || !strings.HasPrefix(home.Token, home.Prefix) ||
		home.Name != "Pi at home" || len(home.Regions) != 1 || home.Regions[0] != "home" {
		t.Fatalf("created %+v", home)
	}
	if want := "upwatch worker --server " + e.srv.URL + " --token " + home.Token; home.Command != want {
		t.Errorf("command %q, want %q", home.Command, want)
	}
	r = e.do(t, "POST", "/api/v1/worker-tokens", admin, `{"name":"vps","regions":["EU"," us","eu"]}`)
	var vps workerTokenJSON
	r.json(t, &vps)
	if r.code != 201 || strings.Join(vps.Regions, ",") != "eu,us" || !strings.HasSuffix(vps.Command, " --region eu") {
		t.Fatalf("two regions: %d %+v", r.code, vps)
	}

	for body, field := range map[string]string{
		`{"name":"","regions":["eu"]}`:          "name",
		`{"name":"x","regions":[]}`:             "regions",
		`{"name":"x"}`:                          "regions",
		`{"name":"x","regions":["local"]}`:      "regions",
		`{"name":"x","regions":["no way!"]}`:    "regions",
		`{"name":"x","regions":["eu"],"n":1}`:   "n",
		`{"name":"x","regions":"eu"}`:           "regions",
		`{"name":"x","regions":["eu"],"x":1}  `: "x",
	} {
		r := e.do(t, "POST", "/api/v1/worker-tokens", admin, body)
		var p problem
		r.json(t, &p)
		if r.code/100 != 4 || p.Field != field {
			t.Errorf("%s: %d %s, want an error on %s", body, r.code, r.body, field)
		}
	}

	r = e.do(t, "GET", "/api/v1/worker-tokens", admin, "")
	if r.code != 200 || strings.Contains(string(r.body), home.Token) || strings.Contains(string(r.body), `"token"`) {
		t.Fatalf("list shows secrets or failed: %d %s", r.code, r.body)
	}
	var list struct{ Items []workerTokenJSON }
	r.json(t, &list)
	if len(list.Items) != 2 || list.Items[0].ID != vps.ID || list.Items[1].Prefix != home.Prefix {
		t.Fatalf("list %+v", list.Items)
	}

	// Admins only.
	if r := e.do(t, "POST", "/api/v1/users", admin, `{"email":"u@example.com","password":"password123"}`); r.code != 201 {
		t.Fatalf("create user: %d %s", r.code, r.body)
	}
	r = e.do(t, "POST", "/api/v1/auth/login", "", `{"email":"u@example.com","password":"password123"}`)
	var login struct{ Token string }
	r.json(t, &login)
	for _, m := range [][2]string{{"POST", "/api/v1/worker-tokens"}, {"GET", "/api/v1/worker-tokens"}, {"DELETE", fmt.Sprintf("/api/v1/worker-tokens/%d", home.ID)}} {
		if r := e.do(t, m[0], m[1], login.Token, `{"name":"x","regions":["eu"]}`); r.code != 403 {
			t.Errorf("%s %s as a user: %d", m[0], m[1], r.code)
		}
	}

	// A worker token is good for nothing but the worker endpoint…
	for _, path := range []string{"/api/v1/monitors", "/api/v1/me", "/api/v1/worker-tokens", "/api/v1/workers", "/api/websites"} {
		r := e.do(t, "GET", path, home.Token, "")
		if r.code != 401 || !strings.Contains(r.detail(t), "worker token") {
			t.Errorf("worker token on %s: %d %s", path, r.code, r.body)
		}
	}
	// …and nothing else is good there.
	r = e.do(t, "POST", "/api/v1/tokens", admin, `{"name":"script"}`)
	var api struct{ Token string }
	r.json(t, &api)
	for _, cred := range []string{"", admin, api.Token, "upww_" + strings.Repeat("A", 43), home.Token + "x"} {
		r := e.do(t, "GET", checker.WorkerTokenPath, cred, "")
		if r.code != 401 || r.hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("worker endpoint with %.12q: %d %s", cred, r.code, r.body)
		}
	}
	r = e.do(t, "GET", checker.WorkerTokenPath, home.Token, "")
	if r.code != 200 || strings.TrimSpace(string(r.body)) != `{"name":"Pi at home","regions":["home"]}` {
		t.Fatalf("token info: %d %s", r.code, r.body)
	}

	// Revoked: refused at once, listed as revoked, not revocable twice.
	if r := e.do(t, "DELETE", fmt.Sprintf("/api/v1/worker-tokens/%d", home.ID), admin, ""); r.code != 204 {
		t.Fatalf("revoke: %d %s", r.code, r.body)
	}
	if r := e.do(t, "GET", checker.WorkerTokenPath, home.Token, ""); r.code != 401 {
		t.Errorf("revoked token: %d", r.code)
	}
	if r := e.do(t, "DELETE", fmt.Sprintf("/api/v1/worker-tokens/%d", home.ID), admin, ""); r.code != 404 {
		t.Errorf("revoking twice: %d", r.code)
	}
	e.do(t, "GET", "/api/v1/worker-tokens", admin, "").json(t, &list)
	if list.Items[1].RevokedAt == nil || list.Items[0].RevokedAt != nil {
		t.Errorf("after revoking: %+v", list.Items)
	}
}

func TestWorkerEndpointScopeAndBounds(t *testing.T) {
	e, _ := newWorkerEnv(t, 0)
	admin := e.signup(t)
	_, tok := e.workerToken(t, admin, "eu")

	// Another region: 403, saying which the token is for.
	for path, body := range map[string]string{
		checker.WorkerJobsPath:      `{"region":"us","name":"w1","count":1,"wait_ms":0}`,
		checker.WorkerResultsPath:   `{"region":"us","results":[],"acks":[]}`,
		checker.WorkerHeartbeatPath: `{"region":"us","name":"w1"}`,
	} {
		r := e.do(t, "POST", path, tok, body)
		if r.code != 403 || !strings.Contains(r.detail(t), "region eu") {
			t.Errorf("%s for us: %d %s", path, r.code, r.body)
		}
	}
	for body, field := range map[string]string{
		`{"region":"eu","name":"w1","count":0,"wait_ms":0}`:       "count",
		`{"region":"eu","name":"w1","count":257,"wait_ms":0}`:     "count",
		`{"region":"eu","name":"w1","count":1,"wait_ms":25001}`:   "wait_ms",
		`{"region":"eu","name":"w 1","count":1,"wait_ms":0}`:      "name",
		`{"region":"eu","name":"","count":1,"wait_ms":0}`:         "name",
		`{"region":"eu","name":"w1","count":1,"wait_ms":0,"x":1}`: "x",
	} {
		var p problem
		r := e.do(t, "POST", checker.WorkerJobsPath, tok, body)
		r.json(t, &p)
		if r.code/100 != 4 || p.Field != field {
			t.Errorf("%s: %d %s, want an error on %s", body, r.code, r.body, field)
		}
	}
	for body, field := range map[string]string{
		`{"region":"eu","results":[{"id":1,"region":"us","due":1,"outcome":{"ok":true}}],"acks":[]}`: "results",
		`{"region":"eu","results":[],"acks":["1-1","DEL x"]}`:                                        "acks",
		`{"region":"eu","results":[],"acks":["` + strings.Repeat(`1-1","`, 512) + `1-1"]}`:           "acks",
	} {
		var p problem
		r := e.do(t, "POST", checker.WorkerResultsPath, tok, body)
		r.json(t, &p)
		if r.code != 422 || p.Field != field {
			t.Errorf("%.80s: %d %s, want 422 on %s", body, r.code, r.body, field)
		}
	}
	if r := e.do(t, "POST", checker.WorkerResultsPath, tok, `{"region":"eu","results":[],"acks":["`+strings.Repeat("1", 2<<20)+`"]}`); r.code != 413 {
		t.Errorf("a 2 MiB body: %d", r.code)
	}

	// At most maxPollsPerToken long-polls at once per token.
	var wg sync.WaitGroup
	codes := make(chan int, maxPollsPerToken+1)
	for range maxPollsPerToken {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- e.do(t, "POST", checker.WorkerJobsPath, tok, `{"region":"eu","name":"w1","count":1,"wait_ms":1500}`).code
		}()
	}
	time.Sleep(500 * time.Millisecond)
	if r := e.do(t, "POST", checker.WorkerJobsPath, tok, `{"region":"eu","name":"w9","count":1,"wait_ms":0}`); r.code != 429 || r.hdr.Get("Retry-After") == "" {
		t.Errorf("one poll too many: %d %s", r.code, r.body)
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Errorf("long-poll: %d", c)
		}
	}
	if r := e.do(t, "POST", checker.WorkerJobsPath, tok, `{"region":"eu","name":"w9","count":1,"wait_ms":0}`); r.code != 200 {
		t.Errorf("after the polls ended: %d %s", r.code, r.body)
	}
}

// killable is a transport that can be cut, as a worker's network is when
// its machine dies.
type killable struct {
	rt   http.RoundTripper
	dead atomic.Bool
}

func (k *killable) RoundTrip(r *http.Request) (*http.Response, error) {
	if k.dead.Load() {
		return nil, errors.New("killed")
	}
	return k.rt.RoundTrip(r)
}

// runWorker runs an HTTPS worker until stop, which returns Run's error;
// done is closed when Run returns by itself.
func runWorker(t *testing.T, server, token, name string, hc *http.Client) (stop func() error, done <-chan struct{}) {
	t.Helper()
	w := checker.NewWorker(checker.NewRemoteQueue(server, token, hc), checker.NewHTTPProber(checker.HTTPOptions{}), checker.WorkerConfig{
		Region: "eu", Name: name, Concurrency: 4, Logger: slog.New(slog.DiscardHandler), HeartbeatEvery: 100 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	var err error
	go func() {
		defer close(finished)
		err = w.Run(ctx)
	}()
	stop = func() error {
		cancel()
		select {
		case <-finished:
			return err
		case <-time.After(15 * time.Second):
			return errors.New("worker did not stop")
		}
	}
	t.Cleanup(func() { stop() })
	return stop, finished
}

func publish(t *testing.T, q *checker.Queue, id int64, url string, timeout time.Duration) {
	t.Helper()
	if err := q.PublishJobs(context.Background(), []checker.Job{{Spec: checker.Spec{MonitorID: id, URL: url, Method: "GET", Timeout: timeout},
		Region: "eu", Due: time.Now().UnixMilli(), Expires: time.Now().Add(time.Minute).UnixMilli()}}); err != nil {
		t.Fatal(err)
	}
}

// results waits for n results on the results stream.
func results(t *testing.T, q *checker.Queue, n int, within time.Duration) []checker.Result {
	t.Helper()
	var out []checker.Result
	deadline := time.Now().Add(within)
	for len(out) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d results within %v, want %d", len(out), within, n)
		}
		msgs, err := q.ReadResults(context.Background(), "test", 10, 100*time.Millisecond, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			out = append(out, m.Result)
		}
	}
	return out
}

// A worker joins over real TLS with its token, runs its region's jobs and
// shows on the Workers list; it leaves the list when it stops.
func TestHTTPSWorkerOverTLS(t *testing.T) {
	e, q := newWorkerEnv(t, 0)
	admin := e.signup(t)
	_, tok := e.workerToken(t, admin, "eu")
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer target.Close()
	tls := httptest.NewTLSServer(e.app.Handler())
	defer tls.Close()

	stop, _ := runWorker(t, tls.URL, tok, "w1", tls.Client())
	publish(t, q, 7, target.URL, time.Second)
	res := results(t, q, 1, 5*time.Second)
	if res[0].MonitorID != 7 || res[0].Region != "eu" || !res[0].Outcome.OK {
		t.Fatalf("result %+v", res[0])
	}
	// Jobs published while the worker's poll waits reach it at once.
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	publish(t, q, 8, target.URL, time.Second)
	res = results(t, q, 1, 5*time.Second)
	t.Logf("a job published during a long-poll came back as a result after %v", time.Since(start).Round(time.Millisecond))
	if res[0].MonitorID != 8 {
		t.Fatalf("result %+v", res[0])
	}

	var ws struct{ Items []workerJSON }
	e.do(t, "GET", "/api/v1/workers", admin, "").json(t, &ws)
	if len(ws.Items) != 1 || ws.Items[0].Name != "https:w1" || ws.Items[0].Region != "eu" || !ws.Items[0].Alive || ws.Items[0].Concurrency != 4 {
		t.Fatalf("workers %+v", ws.Items)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	e.do(t, "GET", "/api/v1/workers", admin, "").json(t, &ws)
	if len(ws.Items) != 0 {
		t.Errorf("a stopped worker is still listed: %+v", ws.Items)
	}
}

// A wrong token stops the worker with a 401 that says so; revoking a
// running worker's token cuts it off within seconds.
func TestHTTPSWorkerWrongAndRevokedToken(t *testing.T) {
	e, _ := newWorkerEnv(t, 0)
	admin := e.signup(t)
	id, tok := e.workerToken(t, admin, "eu")

	stop, done := runWorker(t, e.srv.URL, "upww_wrong", "w0", nil)
	select {
	case <-done:
		if err := stop(); !errors.Is(err, checker.ErrDenied) || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "worker token") {
			t.Fatalf("wrong token: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a worker with a wrong token kept running")
	}

	stop, done = runWorker(t, e.srv.URL, tok, "w1", nil)
	time.Sleep(500 * time.Millisecond) // its first long-poll waits
	revoked := time.Now()
	if r := e.do(t, "DELETE", fmt.Sprintf("/api/v1/worker-tokens/%d", id), admin, ""); r.code != 204 {
		t.Fatalf("revoke: %d", r.code)
	}
	select {
	case <-done:
		err := stop()
		t.Logf("cut off %v after the token was revoked: %v", time.Since(revoked).Round(time.Millisecond), err)
		if !errors.Is(err, checker.ErrDenied) {
			t.Fatalf("revoked: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a worker with a revoked token kept running for 5 s")
	}
}

// A job an HTTPS worker took is re-run by another worker when the first
// dies mid-check: after the job's timeout plus the claim margin.
func TestHTTPSWorkerDiesItsJobRerun(t *testing.T) {
	const margin = 500 * time.Millisecond
	const timeout = time.Second
	e, q := newWorkerEnv(t, margin)
	admin := e.signup(t)
	_, tok := e.workerToken(t, admin, "eu")
	var hits atomic.Int32
	firstHit := make(chan struct{})
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			close(firstHit)
			time.Sleep(300 * time.Millisecond) // mid-check when its worker dies
		}
	}))
	defer target.Close()

	net1 := &killable{rt: http.DefaultTransport.(*http.Transport).Clone()}
	stop1, _ := runWorker(t, e.srv.URL, tok, "w1", &http.Client{Transport: net1})
	time.Sleep(200 * time.Millisecond)
	publish(t, q, 7, target.URL, timeout)
	<-firstHit
	taken := time.Now()
	net1.dead.Store(true) // its result never arrives
	stop1()

	stop2, _ := runWorker(t, e.srv.URL, tok, "w2", nil)
	defer stop2()
	res := results(t, q, 1, 10*time.Second)
	took := time.Since(taken)
	t.Logf("re-run %v after the dead worker took it (timeout %v + margin %v)", took.Round(time.Millisecond), timeout, margin)
	if res[0].MonitorID != 7 || !res[0].Outcome.OK || hits.Load() != 2 {
		t.Fatalf("result %+v after %d hits", res[0], hits.Load())
	}
	if took < timeout+margin {
		t.Errorf("re-run after %v, before the job's timeout + margin", took)
	}
}

// The Workers page: admins create a token (shown once with its command),
// see the list and revoke; users see no tokens.
func TestWorkerTokensPage(t *testing.T) {
	e, _ := newWorkerEnv(t, 0)
	admin := e.signup(t)
	if r := e.do(t, "POST", "/api/v1/users", admin, `{"email":"u@example.com","password":"password123"}`); r.code != 201 {
		t.Fatal(r.code)
	}
	c := browser(t)
	if code, _, _ := post(t, c, e.srv.URL+"/login", url.Values{"email": {"owner@example.com"}, "password": {"password123"}}); code != 303 {
		t.Fatalf("login: %d", code)
	}
	code, _, body := get(t, c, e.srv.URL+"/workers")
	if code != 200 || !strings.Contains(body, "Worker tokens") || !strings.Contains(body, "No worker tokens yet") ||
		!strings.Contains(body, "upwatch worker --server "+e.srv.URL+" --token upww_…") {
		t.Fatalf("workers page: %d\n%s", code, body)
	}
	code, _, body = post(t, c, e.srv.URL+"/workers/tokens", url.Values{"worker_token_name": {"Pi"}, "worker_token_regions": {"local"}})
	if code != 422 || !strings.Contains(body, "local is the server") || !strings.Contains(body, `value="Pi"`) {
		t.Fatalf("invalid token form: %d\n%s", code, body)
	}
	code, _, body = post(t, c, e.srv.URL+"/workers/tokens", url.Values{"worker_token_name": {"Pi"}, "worker_token_regions": {"home, eu"}})
	if code != 201 || !strings.Contains(body, "copy it now") || !strings.Contains(body, `data-copy="new-worker-command"`) {
		t.Fatalf("create: %d\n%s", code, body)
	}
	_, cmd, _ := strings.Cut(body, `id="new-worker-command" class="mono" value="`)
	cmd, _, _ = strings.Cut(cmd, `"`)
	if !strings.HasPrefix(cmd, "upwatch worker --server "+e.srv.URL+" --token upww_") || !strings.HasSuffix(cmd, " --region home") {
		t.Fatalf("command %q", cmd)
	}
	_, rest, _ := strings.Cut(cmd, "--token ")
	tok, _, _ := strings.Cut(rest, " ")
	if r := e.do(t, "GET", checker.WorkerTokenPath, tok, ""); r.code != 200 {
		t.Fatalf("the page's token: %d", r.code)
	}
	code, _, body = get(t, c, e.srv.URL+"/workers")
	if strings.Contains(body, tok) || !strings.Contains(body, tok[:11]) || !strings.Contains(body, "/workers/tokens/1/revoke") {
		t.Fatalf("the list shows the secret, or not the token: %d\n%s", code, body)
	}
	if code, loc, _ := post(t, c, e.srv.URL+"/workers/tokens/1/revoke", nil); code != 303 || loc != "/workers?m=worker-token-revoked" {
		t.Fatalf("revoke: %d %q", code, loc)
	}
	if _, _, body = get(t, c, e.srv.URL+"/workers?m=worker-token-revoked"); !strings.Contains(body, "Worker token revoked") ||
		!strings.Contains(body, "Revoked") || strings.Contains(body, "/workers/tokens/1/revoke") {
		t.Fatalf("after revoking:\n%s", body)
	}
	if r := e.do(t, "GET", checker.WorkerTokenPath, tok, ""); r.code != 401 {
		t.Errorf("revoked on the page, still accepted: %d", r.code)
	}

	u := browser(t)
	post(t, u, e.srv.URL+"/login", url.Values{"email": {"u@example.com"}, "password": {"password123"}})
	if _, _, body := get(t, u, e.srv.URL+"/workers"); strings.Contains(body, `id="worker-tokens"`) {
		t.Error("a user sees the worker tokens")
	}
	if code, _, _ := post(t, u, e.srv.URL+"/workers/tokens", url.Values{"worker_token_name": {"x"}, "worker_token_regions": {"eu"}}); code != 403 {
		t.Errorf("a user creates a worker token: %d", code)
	}
}
