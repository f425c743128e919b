package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/internal/testredis"
	"github.com/upwatch/upwatch/notify"
	"github.com/upwatch/upwatch/static"
	"github.com/upwatch/upwatch/store"
)

// newEnvDSN is newEnv on a database opened with dsn's extra parameters
// (a short busy_timeout, so lock waits end quickly); it returns the file's
// path too, for a second connection standing in for another process.
func newEnvDSN(t *testing.T, query string) (*env, string) {
	t.Helper()
	clk := &clock{now: time.Now()}
	path := filepath.Join(t.TempDir(), "app.db")
	st, err := store.Open(context.Background(), path+query, store.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	assets, err := static.New()
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	q := checker.NewQueue(testredis.Mini(t).Client)
	a := New(Config{JWTSecret: []byte(strings.Repeat("k", 32)), MailFrom: "upwatch@example.com"}, Deps{Store: st, Scheduler: rec, Queue: q, Assets: assets,
		Alerts: notify.NewDispatcher(st, notify.DispatchConfig{Now: clk.Now, Logger: slog.New(slog.DiscardHandler)}),
		Logger: slog.New(slog.DiscardHandler), Now: clk.Now})
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(srv.Close)
	return &env{app: a, srv: srv, st: st, sched: rec, clock: clk}, path
}

// lockWrites makes another connection hold the database's write lock, as
// another process would, until the returned function is called.
func lockWrites(t *testing.T, path string) (release func()) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	done := false
	release = func() {
		if !done {
			done = true
			tx.Rollback()
			db.Close()
		}
	}
	t.Cleanup(release)
	return release
}

func TestStorageErrorResponses(t *testing.T) {
	a := &App{log: slog.New(slog.DiscardHandler)}
	r := httptest.NewRequest("GET", "/api/v1/monitors", nil)
	for _, tc := range []struct {
		err        error
		status     int
		retryAfter string
		detail     string
	}{
		{fmt.Errorf("store: save checks: %w", store.ErrDiskFull), 507, "60",
			"upwatch cannot reach its database: the disk holding the database is full; try again in a moment"},
		{fmt.Errorf("store: create session: %w", store.ErrLocked), 503, "5",
			"upwatch cannot reach its database: the database is locked by another process; try again in a moment"},
		{fmt.Errorf("store: x: %w", store.ErrReadOnly), 503, "30", "the database file is read-only"},
		{fmt.Errorf("store: x: %w", store.ErrIO), 503, "30", "I/O error"},
		{errors.New("boom"), 500, "", "internal error"},
	} {
		w := httptest.NewRecorder()
		a.writeError(w, r, tc.err)
		if w.Code != tc.status || w.Header().Get("Retry-After") != tc.retryAfter || !strings.Contains(w.Body.String(), tc.detail) {
			t.Errorf("%v: %d Retry-After %q %s; want %d, %q, %q", tc.err, w.Code, w.Header().Get("Retry-After"), w.Body, tc.status, tc.retryAfter, tc.detail)
		}
	}
}

// Signing in through the form while another process holds the database:
// a page that says so, not "internal error".
func TestLoginDuringStorageOutage(t *testing.T) {
	e, path := newEnvDSN(t, "?_pragma=busy_timeout(50)")
	c := browser(t)
	base := e.srv.URL
	if code, _, _ := post(t, c, base+"/setup", url.Values{"email": {"me@example.com"}, "password": {"password123"}, "password_confirm": {"password123"}}); code != 303 {
		t.Fatalf("setup: %d", code)
	}
	if code, _, _ := post(t, c, base+"/logout", nil); code != 303 {
		t.Fatalf("logout: %d", code)
	}

	release := lockWrites(t, path)
	res, err := c.PostForm(base+"/login", url.Values{"email": {"me@example.com"}, "password": {"password123"}})
	if err != nil {
		t.Fatal(err)
	}
	body := readAll(t, res)
	if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" || !strings.Contains(res.Header.Get("Content-Type"), "text/html") {
		t.Errorf("sign-in during the outage: %d, Retry-After %q, %s", res.StatusCode, res.Header.Get("Retry-After"), res.Header.Get("Content-Type"))
	}
	if want := "upwatch cannot reach its database: the database is locked by another process; try again in a moment"; !strings.Contains(body, want) {
		t.Errorf("page does not say %q:\n%s", want, body)
	}

	release()
	if code, loc, _ := post(t, c, base+"/login", url.Values{"email": {"me@example.com"}, "password": {"password123"}}); code != 303 || loc != "/" {
		t.Errorf("sign-in after the outage: %d %q", code, loc)
	}
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A token's last use is recorded best-effort: reads go on while it cannot
// be written.
func TestAPITokenReadsWhileWritesAreLocked(t *testing.T) {
	e, path := newEnvDSN(t, "?_pragma=busy_timeout(50)")
	jwt := e.signup(t)
	r := e.do(t, "POST", "/api/v1/tokens", jwt, `{"name":"ci"}`)
	if r.code != 201 {
		t.Fatalf("create token: %d %s", r.code, r.body)
	}
	var created struct{ Token string }
	r.json(t, &created)

	release := lockWrites(t, path)
	if r := e.do(t, "GET", "/api/v1/monitors", created.Token, ""); r.code != 200 {
		t.Fatalf("read with an API token while writes are locked: %d %s", r.code, r.body)
	}
	// A write in the meantime says why it failed.
	r = e.do(t, "POST", "/api/v1/monitors", created.Token, `{"name":"x","url":"https://example.com"}`)
	if r.code != 503 || r.hdr.Get("Retry-After") != "5" || !strings.Contains(string(r.body), "locked by another process") {
		t.Errorf("write while locked: %d %q %s", r.code, r.hdr.Get("Retry-After"), r.body)
	}
	release()

	// Once writes are possible again, the next use (a minute on) is recorded.
	e.clock.Add(2 * time.Minute)
	if r := e.do(t, "GET", "/api/v1/monitors", created.Token, ""); r.code != 200 {
		t.Fatalf("read after the lock: %d %s", r.code, r.body)
	}
	var list struct {
		Items []struct {
			LastUsedAt *time.Time `json:"last_used_at"`
		}
	}
	e.do(t, "GET", "/api/v1/tokens", jwt, "").json(t, &list)
	if len(list.Items) != 1 || list.Items[0].LastUsedAt == nil || list.Items[0].LastUsedAt.Before(e.clock.Now().Add(-time.Second)) {
		t.Errorf("last use not recorded after the lock: %+v", list.Items)
	}
}

// The API backup copies from a read snapshot: writes go on while it runs.
func TestAPIBackupDoesNotBlockWrites(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the handler stages its copy, to see it start
	e := newEnv(t)
	tok := e.signup(t)
	ctx := context.Background()
	u, err := e.st.UserByEmail(ctx, "owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.st.CreateMonitor(ctx, store.Monitor{UserID: u.ID, Name: "m", URL: "https://example.com", Method: "GET",
		Interval: time.Minute, Timeout: 10 * time.Second, ExpectedStatus: "200-299", Confirmations: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Some thousands of checks, about 20 MB in all, so the copy takes a while.
	at := e.clock.Now().Add(-24 * time.Hour).Truncate(time.Second)
	filler := strings.Repeat("x", 2000)
	var batch []store.Check
	for i := range 10000 {
		batch = append(batch, store.Check{MonitorID: m.ID, Region: "local", At: at.Add(time.Duration(i) * time.Second), Error: filler})
	}
	if err := e.st.SaveChecks(ctx, batch, nil); err != nil {
		t.Fatal(err)
	}

	type result struct {
		res *http.Response
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/admin/backup", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		done <- result{res, err}
	}()
	for {
		if ms, _ := filepath.Glob(filepath.Join(tmp, "upwatch-backup-*", "upwatch.db")); len(ms) > 0 {
			break
		}
		select {
		case r := <-done:
			if r.err == nil {
				r.res.Body.Close() // else the server's Close waits for the handler
			}
			t.Fatalf("backup answered (%v) before the test saw it start", r.err)
		default:
			time.Sleep(time.Millisecond)
		}
	}
	var writes time.Duration
	for i := range 5 {
		w0 := time.Now()
		if err := e.st.SaveChecks(ctx, []store.Check{{MonitorID: m.ID, Region: "local", At: e.clock.Now().Add(time.Duration(i) * time.Second), OK: true}}, nil); err != nil {
			t.Fatal(err)
		}
		if r := e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"during backup","url":"https://example.com"}`); r.code != 201 {
			t.Fatalf("create monitor during the backup: %d %s", r.code, r.body)
		}
		writes += time.Since(w0)
	}
	select {
	case r := <-done:
		if r.err == nil {
			r.res.Body.Close()
		}
		t.Fatalf("the writes waited for the backup: it answered first, after %v", time.Since(start))
	default:
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	dest := filepath.Join(t.TempDir(), "download.db")
	f, err := os.Create(dest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadFrom(r.res.Body); err != nil {
		t.Fatal(err)
	}
	r.res.Body.Close()
	f.Close()
	t.Logf("backup took %v; 10 writes during it took %v", time.Since(start), writes)
	if r.res.StatusCode != 200 {
		t.Fatalf("backup: %d", r.res.StatusCode)
	}

	b, err := store.Open(ctx, dest)
	if err != nil {
		t.Fatalf("the backup is not an upwatch database: %v", err)
	}
	defer b.Close()
	if got, err := b.MonitorByID(ctx, m.ID); err != nil || got.Name != "m" {
		t.Errorf("backup's monitor: %+v %v", got, err)
	}
	if n, err := b.CountUsers(ctx); err != nil || n != 1 {
		t.Errorf("backup's users: %d %v", n, err)
	}
}
