package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/upwatch/upwatch/internal/testredis"
)

// server is one run of the whole program on a free loopback port.
type server struct {
	url  string
	stop func() error
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// start runs `upwatch args…` through run() and waits for it to listen.
func start(t *testing.T, vars map[string]string, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, args, env(vars), strings.NewReader(""), pw, io.Discard)
		pw.CloseWithError(fmt.Errorf("run returned: %v", err))
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("server did not start: %v", err)
	}
	go io.Copy(io.Discard, pr)
	_, url, ok := strings.Cut(strings.TrimSpace(line), "listening on ")
	if !ok {
		t.Fatalf("unexpected first line %q", line)
	}
	s := &server{url: url}
	var stopped bool
	s.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			return fmt.Errorf("server did not stop")
		}
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return s
}

// call sends a JSON request and decodes a JSON answer into out (if non-nil).
func call(t *testing.T, method, url, token string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decode: %v", method, url, err)
		}
	}
	return resp.StatusCode
}

type monitor struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	LastCheck *struct {
		OK         bool   `json:"ok"`
		StatusCode int    `json:"status_code"`
		Reason     string `json:"reason"`
	} `json:"last_check"`
}

type check struct {
	At         time.Time `json:"at"`
	OK         bool      `json:"ok"`
	StatusCode int       `json:"status_code"`
	Reason     string    `json:"reason"`
	Phases     struct {
		Connect float64 `json:"connect_ms"`
	} `json:"phases"`
}

func waitStatus(t *testing.T, s *server, token string, id int64, want string) monitor {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var m monitor
		if code := call(t, "GET", fmt.Sprintf("%s/api/v1/monitors/%d", s.url, id), token, nil, &m); code != 200 {
			t.Fatalf("get monitor: %d", code)
		}
		if m.Status == want {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("monitor %d is %q, want %q", id, m.Status, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestEndToEnd(t *testing.T) {
	var failing atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "boom", http.StatusInternalServerError)
		}
	}))
	defer target.Close()

	vars := map[string]string{
		"HOST": "127.0.0.1", "PORT": "0", "LOG_LEVEL": "warn",
		"DATABASE_URL": filepath.Join(t.TempDir(), "upwatch.db"), "CHECK_INTERVAL": "1000",
	}
	s := start(t, vars)

	if code := call(t, "GET", s.url+"/healthz", "", nil, nil); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	var signup struct {
		Token string `json:"token"`
		User  struct {
			Admin bool `json:"admin"`
		} `json:"user"`
	}
	creds := map[string]string{"email": "owner@example.com", "password": "correct horse battery"}
	if code := call(t, "POST", s.url+"/api/v1/auth/signup", "", creds, &signup); code != 201 || signup.Token == "" || !signup.User.Admin {
		t.Fatalf("signup: %d %+v", code, signup)
	}
	tok := signup.Token

	var m monitor
	if code := call(t, "POST", s.url+"/api/v1/monitors", tok, map[string]any{
		"name": "target", "url": target.URL, "confirmations": 2,
	}, &m); code != 201 {
		t.Fatalf("create: %d", code)
	}
	// The seed's alias sees the same resource.
	var viaAlias monitor
	if code := call(t, "GET", fmt.Sprintf("%s/api/websites/%d", s.url, m.ID), tok, nil, &viaAlias); code != 200 || viaAlias.Name != "target" {
		t.Fatalf("alias get: %d %+v", code, viaAlias)
	}

	up := waitStatus(t, s, tok, m.ID, "up")
	if up.LastCheck == nil || !up.LastCheck.OK || up.LastCheck.StatusCode != 200 {
		t.Fatalf("up without a good last check: %+v", up.LastCheck)
	}
	failing.Store(true)
	down := waitStatus(t, s, tok, m.ID, "down")
	if down.LastCheck == nil || down.LastCheck.Reason != "status" || down.LastCheck.StatusCode != 500 {
		t.Fatalf("down for the wrong reason: %+v", down.LastCheck)
	}

	var checks struct{ Items []check }
	if code := call(t, "GET", fmt.Sprintf("%s/api/v1/monitors/%d/checks?limit=100", s.url, m.ID), tok, nil, &checks); code != 200 {
		t.Fatalf("checks: %d", code)
	}
	var oks, fails int
	for i, c := range checks.Items {
		if i > 0 && !c.At.Before(checks.Items[i-1].At) {
			t.Fatalf("checks not newest first: %v then %v", checks.Items[i-1].At, c.At)
		}
		if c.OK {
			oks++
		} else if c.Reason == "status" && c.StatusCode == 500 {
			fails++
		}
	}
	if oks == 0 || fails < 2 {
		t.Fatalf("history has %d ok and %d failed checks, want both (≥2 failures)", oks, fails)
	}

	// Restart on the same database: monitor, state and history are kept,
	// and the token still works (the generated JWT secret was stored).
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	s2 := start(t, vars)
	var again monitor
	if code := call(t, "GET", fmt.Sprintf("%s/api/v1/monitors/%d", s2.url, m.ID), tok, nil, &again); code != 200 {
		t.Fatalf("after restart: %d", code)
	}
	if again.Status != "down" {
		t.Errorf("status after restart %q, want down", again.Status)
	}
	var after struct{ Items []check }
	call(t, "GET", fmt.Sprintf("%s/api/v1/monitors/%d/checks?limit=1000", s2.url, m.ID), tok, nil, &after)
	if len(after.Items) < len(checks.Items) {
		t.Errorf("history shrank across restart: %d < %d", len(after.Items), len(checks.Items))
	}
	// Login works against the restarted server too.
	var login struct{ Token string }
	if code := call(t, "POST", s2.url+"/api/v1/auth/login", "", creds, &login); code != 200 || login.Token == "" {
		t.Fatalf("login after restart: %d", code)
	}
	type incident struct {
		Status     string     `json:"status"`
		StatusCode int        `json:"status_code"`
		Reason     string     `json:"reason"`
		Excerpt    string     `json:"excerpt"`
		ResolvedAt *time.Time `json:"resolved_at"`
	}
	var incs struct{ Items []incident }
	call(t, "GET", fmt.Sprintf("%s/api/v1/monitors/%d/incidents", s2.url, m.ID), login.Token, nil, &incs)
	if len(incs.Items) != 1 || incs.Items[0].Status != "open" || incs.Items[0].StatusCode != 500 || incs.Items[0].Excerpt != "boom" {
		t.Fatalf("incident across restart: %+v", incs.Items)
	}
	failing.Store(false)
	waitStatus(t, s2, login.Token, m.ID, "up")
	call(t, "GET", fmt.Sprintf("%s/api/v1/incidents?monitor_id=%d", s2.url, m.ID), login.Token, nil, &incs)
	if len(incs.Items) != 1 || incs.Items[0].Status != "resolved" || incs.Items[0].ResolvedAt == nil {
		t.Fatalf("incident not resolved by the recovery: %+v", incs.Items)
	}
	if code := call(t, "DELETE", fmt.Sprintf("%s/api/websites/%d", s2.url, m.ID), login.Token, nil, nil); code != 204 {
		t.Fatalf("delete via alias: %d", code)
	}
	if code := call(t, "GET", fmt.Sprintf("%s/api/v1/monitors/%d", s2.url, m.ID), login.Token, nil, nil); code != 404 {
		t.Fatalf("deleted monitor: %d", code)
	}
}

// With REDIS_URL the server can run no checks itself and a separate
// `upwatch worker` process serves them through a real redis-server.
func TestServerWithRemoteWorker(t *testing.T) {
	rb := testredis.Real(t)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer target.Close()
	s := start(t, map[string]string{
		"HOST": "127.0.0.1", "PORT": "0", "LOG_LEVEL": "warn", "WORKERS": "0",
		"DATABASE_URL": filepath.Join(t.TempDir(), "upwatch.db"), "REDIS_URL": rb.URL,
		"JWT_SECRET": strings.Repeat("s", 40),
	})
	var signup struct{ Token string }
	call(t, "POST", s.url+"/api/v1/auth/signup", "", map[string]string{"email": "a@example.com", "password": "longenough"}, &signup)
	var m monitor
	if code := call(t, "POST", s.url+"/api/websites", signup.Token, map[string]any{"name": "t", "url": target.URL, "interval_seconds": 1}, &m); code != 201 {
		t.Fatalf("create: %d", code)
	}
	time.Sleep(300 * time.Millisecond)
	if got := waitStatusNow(t, s, signup.Token, m.ID); got != "pending" {
		t.Fatalf("checked without any worker: %s", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"worker", "--workers", "4"}, env(map[string]string{"REDIS_URL": rb.URL, "LOG_LEVEL": "warn"}), nil, io.Discard, io.Discard)
	}()
	waitStatus(t, s, signup.Token, m.ID, "up")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("worker: %v", err)
	}
}

func waitStatusNow(t *testing.T, s *server, token string, id int64) string {
	var m monitor
	call(t, "GET", fmt.Sprintf("%s/api/v1/monitors/%d", s.url, id), token, nil, &m)
	return m.Status
}

func TestConfigErrorsNameTheSetting(t *testing.T) {
	base := map[string]string{"HOST": "127.0.0.1", "PORT": "0", "DATABASE_URL": filepath.Join(t.TempDir(), "x.db")}
	cases := map[string]map[string]string{
		"PORT":            {"PORT": "eighty"},
		"CHECK_INTERVAL":  {"CHECK_INTERVAL": "5"},
		"LOG_LEVEL":       {"LOG_LEVEL": "loud"},
		"REDIS_URL":       {"REDIS_URL": "http://x"},
		"JWT_SECRET":      {"JWT_SECRET": "short"},
		"DATABASE_URL":    {"DATABASE_URL": ":memory:"},
		"EGRESS_PRIVATE":  {"EGRESS_PRIVATE": "sometimes"},
		"EGRESS_ALLOW":    {"EGRESS_ALLOW": "10.0.0.0/40"},
		"TRUSTED_PROXIES": {"TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"},
		// Fair limits.
		"QUOTA_MONITORS":       {"QUOTA_MONITORS": "-1"},
		"QUOTA_CHANNELS":       {"QUOTA_CHANNELS": "many"},
		"QUOTA_TOKENS":         {"QUOTA_TOKENS": "1.5"},
		"MIN_INTERVAL_SECONDS": {"MIN_INTERVAL_SECONDS": "0"},
		"HOST_RATE":            {"HOST_RATE": "fast"},
	}
	for name, over := range cases {
		t.Run(name, func(t *testing.T) {
			vars := map[string]string{}
			for k, v := range base {
				vars[k] = v
			}
			for k, v := range over {
				vars[k] = v
			}
			err := run(context.Background(), nil, env(vars), nil, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("error %v does not name %s", err, name)
			}
		})
	}
	if err := run(context.Background(), []string{"worker"}, env(map[string]string{}), nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "REDIS_URL") {
		t.Errorf("worker without REDIS_URL: %v", err)
	}
	// Flags override env.
	if err := run(context.Background(), []string{"--port", "x"}, env(base), nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "PORT") {
		t.Errorf("flag --port x: %v", err)
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := parsePrefixes(" 10.1.2.3/8, 127.0.0.1 ,::1, ::ffff:192.0.2.1/120,")
	want := "[10.0.0.0/8 127.0.0.1/32 ::1/128 192.0.2.0/24]"
	if err != nil || fmt.Sprint(got) != want {
		t.Errorf("parsePrefixes = %v, %v; want %s", got, err, want)
	}
	if got, err := parsePrefixes(""); err != nil || len(got) != 0 {
		t.Errorf("empty: %v %v", got, err)
	}
}

func TestUserCreateAndVersion(t *testing.T) {
	db := filepath.Join(t.TempDir(), "u.db")
	var out bytes.Buffer
	err := run(context.Background(), []string{"user", "create", "--email", "Admin@Example.com"}, env(map[string]string{"DATABASE_URL": db}),
		strings.NewReader("a long password\n"), &out, io.Discard)
	if err != nil || !strings.Contains(out.String(), "created admin admin@example.com") {
		t.Fatalf("user create: %v %q", err, out.String())
	}
	out.Reset()
	err = run(context.Background(), []string{"user", "create", "--email", "b@example.com"}, env(map[string]string{"DATABASE_URL": db}),
		strings.NewReader("short\n"), &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("short password accepted: %v", err)
	}
	err = run(context.Background(), []string{"user", "create", "--email", "admin@example.com"}, env(map[string]string{"DATABASE_URL": db}),
		strings.NewReader("another long one\n"), &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "already") {
		t.Fatalf("duplicate accepted: %v", err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"user", "password", "--email", "admin@example.com"}, env(map[string]string{"DATABASE_URL": db}),
		strings.NewReader("a brand new password\n"), &out, io.Discard); err != nil || !strings.Contains(out.String(), "password changed") {
		t.Fatalf("user password: %v %q", err, out.String())
	}
	if err := run(context.Background(), []string{"user", "password", "--email", "nobody@example.com"}, env(map[string]string{"DATABASE_URL": db}),
		strings.NewReader("a brand new password\n"), io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "email") {
		t.Fatalf("unknown user: %v", err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"version"}, env(nil), nil, &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "upwatch ") {
		t.Fatalf("version: %v %q", err, out.String())
	}
	if err := run(context.Background(), []string{"frobnicate"}, env(nil), nil, io.Discard, io.Discard); err == nil {
		t.Fatal("unknown command accepted")
	}
}

func TestBackupCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "live.db")
	vars := env(map[string]string{"DATABASE_URL": db})
	if err := run(context.Background(), []string{"user", "create", "--email", "a@example.com"}, vars, strings.NewReader("a long password\n"), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "copy.db")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"backup", dest}, vars, nil, &out, io.Discard); err != nil {
		t.Fatalf("backup: %v", err)
	}
	// The copy is a working database holding the account.
	if err := run(context.Background(), []string{"user", "create", "--email", "a@example.com"}, env(map[string]string{"DATABASE_URL": dest}),
		strings.NewReader("a long password\n"), io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "already") {
		t.Fatalf("backup lacks the user: %v", err)
	}
	if err := run(context.Background(), []string{"backup", dest}, vars, nil, io.Discard, io.Discard); err == nil {
		t.Error("backup overwrote an existing file")
	}
	if err := run(context.Background(), []string{"backup"}, vars, nil, io.Discard, io.Discard); err == nil {
		t.Error("backup without a file accepted")
	}
}

func TestBackupCommandFaults(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "live.db")
	vars := env(map[string]string{"DATABASE_URL": db + "?_pragma=busy_timeout(50)"})
	if err := run(ctx, []string{"user", "create", "--email", "a@example.com"}, vars, strings.NewReader("a long password\n"), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	open := func(dsn string) *sql.DB {
		h, err := sql.Open("sqlite", dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		h.SetMaxOpenConns(1)
		return h
	}

	// Another process in the middle of a write: the backup only reads.
	writer := open("file:" + db + "?_txlock=immediate")
	tx, err := writer.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"backup", filepath.Join(dir, "copy1.db")}, vars, nil, io.Discard, io.Discard); err != nil {
		t.Errorf("backup while another process holds the write lock: %v", err)
	}
	tx.Rollback()
	writer.Close()

	// A lock that keeps readers out too: said so, and DATABASE_URL is not
	// blamed.
	excl := open("file:" + db + "?_pragma=locking_mode(EXCLUSIVE)")
	if _, err := excl.Exec(`BEGIN IMMEDIATE; INSERT INTO settings (key, value) VALUES ('held', '1'); COMMIT`); err != nil {
		t.Fatal(err)
	}
	err = run(ctx, []string{"backup", filepath.Join(dir, "copy2.db")}, vars, nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "the database is locked by another process") || strings.Contains(err.Error(), "DATABASE_URL") {
		t.Errorf("backup under an exclusive lock: %v", err)
	}
	err = run(ctx, []string{"user", "create", "--email", "b@example.com"}, vars, strings.NewReader("a long password\n"), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "the database is locked by another process") || strings.Contains(err.Error(), "DATABASE_URL") {
		t.Errorf("user create under an exclusive lock: %v", err)
	}
	excl.Close()

	// A wrong DATABASE_URL is blamed, and the file is left alone.
	foreign := filepath.Join(dir, "other-app.db")
	h := open("file:" + foreign)
	if _, err := h.Exec(`CREATE TABLE posts (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	h.Close()
	before, err := os.ReadFile(foreign)
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{{"backup", filepath.Join(dir, "copy3.db")}, {"serve"}} {
		err = run(ctx, cmd, env(map[string]string{"DATABASE_URL": foreign, "PORT": "0", "HOST": "127.0.0.1"}), nil, io.Discard, io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), "DATABASE_URL: ") || !strings.Contains(err.Error(), foreign+": not an upwatch database") {
			t.Errorf("%s on another application's database: %v", cmd[0], err)
		}
	}
	if after, _ := os.ReadFile(foreign); !bytes.Equal(before, after) {
		t.Error("the foreign database changed")
	}
	if _, err := os.Stat(foreign + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a -wal file appeared beside the foreign database: %v", err)
	}
	err = run(ctx, []string{"backup", filepath.Join(dir, "copy4.db")}, env(map[string]string{"DATABASE_URL": filepath.Join(dir, "typo.db")}), nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no database there") {
		t.Errorf("backup of a missing database: %v", err)
	}
}

// The embedded queue refuses a local process that connects without the
// server's own random password: it could otherwise forge results.
func TestEmbeddedQueueRefusesStrangers(t *testing.T) {
	ctx := context.Background()
	rdb, closeQueue, err := openQueue(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer closeQueue()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("the server's own client: %v", err)
	}
	stranger := redis.NewClient(&redis.Options{Addr: rdb.Options().Addr})
	defer stranger.Close()
	err = stranger.XAdd(ctx, &redis.XAddArgs{Stream: "upwatch:results", Values: []any{"d", `{"id":1}`}}).Err()
	if err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("unauthenticated XADD: %v, want NOAUTH", err)
	}
	guess := redis.NewClient(&redis.Options{Addr: rdb.Options().Addr, Password: "upwatch"})
	defer guess.Close()
	if err := guess.Ping(ctx).Err(); err == nil {
		t.Fatal("a guessed password was accepted")
	}
}

// Two worker regions against a real redis-server: a monitor checked from
// both with quorum 2 is not down when one region fails, and is down when
// both do. The target fails per region (it reads the region in the
// User-Agent each worker sends).
func TestRegionsQuorumWithWorkers(t *testing.T) {
	rb := testredis.Real(t)
	var failing sync.Map // region → bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, region := range []string{"eu", "us"} {
			if v, _ := failing.Load(region); v == true && strings.Contains(r.UserAgent(), "region "+region+")") {
				http.Error(w, "down from "+region, http.StatusServiceUnavailable)
				return
			}
		}
	}))
	defer target.Close()
	s := start(t, map[string]string{
		"HOST": "127.0.0.1", "PORT": "0", "LOG_LEVEL": "warn", "WORKERS": "0", "REGIONS": "eu,us",
		"DATABASE_URL": filepath.Join(t.TempDir(), "upwatch.db"), "REDIS_URL": rb.URL,
		"JWT_SECRET": strings.Repeat("s", 40),
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, region := range []string{"eu", "us"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := run(ctx, []string{"worker", "--workers", "4", "--region", region}, env(map[string]string{"REDIS_URL": rb.URL, "LOG_LEVEL": "warn"}), nil, io.Discard, io.Discard)
			if err != nil {
				t.Errorf("worker %s: %v", region, err)
			}
		}()
	}
	defer func() { cancel(); wg.Wait() }()

	var signup struct{ Token string }
	call(t, "POST", s.url+"/api/v1/auth/signup", "", map[string]string{"email": "a@example.com", "password": "longenough"}, &signup)
	var m struct {
		monitor
		Regions []string `json:"regions"`
		Quorum  int      `json:"quorum"`
	}
	body := map[string]any{"name": "t", "url": target.URL, "interval_seconds": 1, "confirmations": 1}
	if code := call(t, "POST", s.url+"/api/v1/monitors", signup.Token, body, &m); code != 201 {
		t.Fatalf("create: %d", code)
	}
	if len(m.Regions) != 2 || m.Quorum != 2 {
		t.Fatalf("regions %v quorum %d, want the instance's eu and us with a majority of 2", m.Regions, m.Quorum)
	}
	waitStatus(t, s, signup.Token, m.ID, "up")
	failing.Store("eu", true)
	waitStatus(t, s, signup.Token, m.ID, "degraded")
	// Still not down a few checks later.
	time.Sleep(2500 * time.Millisecond)
	if got := waitStatusNow(t, s, signup.Token, m.ID); got != "degraded" {
		t.Fatalf("one region of two failing: %s, want degraded", got)
	}
	failing.Store("us", true)
	waitStatus(t, s, signup.Token, m.ID, "down")
	var full struct {
		RegionStates []struct{ Region, Status string } `json:"region_states"`
	}
	call(t, "GET", fmt.Sprintf("%s/api/v1/monitors/%d", s.url, m.ID), signup.Token, nil, &full)
	if len(full.RegionStates) != 2 || full.RegionStates[0].Status != "down" || full.RegionStates[1].Status != "down" {
		t.Errorf("region states = %+v", full.RegionStates)
	}
	failing.Store("eu", false)
	failing.Store("us", false)
	waitStatus(t, s, signup.Token, m.ID, "up")
}

// A password with reserved characters gets an error that says what to do
// and never quotes the password.
func TestRedisURLErrors(t *testing.T) {
	for _, raw := range []string{"redis://:se#cret@127.0.0.1:6379", "redis://:se/cret@127.0.0.1:6379", "redis://:se%cret@127.0.0.1:6379", "http://127.0.0.1:6379"} {
		_, err := parseRedisURL(raw)
		if err == nil || !strings.Contains(err.Error(), "REDIS_URL") || strings.Contains(err.Error(), "cret") {
			t.Errorf("%s: %v", raw, err)
		}
	}
	if _, err := parseRedisURL("redis://:se%23cret@127.0.0.1:6379"); err != nil {
		t.Errorf("percent-encoded password refused: %v", err)
	}
	rb := testredis.Real(t)
	if err := rb.Client.Do(context.Background(), "CONFIG", "SET", "requirepass", "s3cret#1").Err(); err != nil {
		t.Fatal(err)
	}
	_, _, err := openQueue(context.Background(), "unix://:wrong@"+strings.TrimPrefix(rb.URL, "unix://"))
	if err == nil || !strings.Contains(err.Error(), "refused the credentials") {
		t.Errorf("wrong password: %v", err)
	}
}

// workerACL is the least a remote worker needs of a shared Redis (README
// documents it): its region's job stream, the results stream and the
// workers hash.
const workerACL = "on >w0rker-pass ~upwatch:* resetchannels -@all +ping +hello +auth " +
	"+xreadgroup +xack +xadd +xdel +xclaim +xpending +xrange +xgroup|create +xgroup|delconsumer +xinfo|consumers +time " +
	"+evalsha +eval +hset +hdel"

// A worker logged in with only workerACL runs the checks of its region.
func TestWorkerWithMinimalACL(t *testing.T) {
	rb := testredis.Real(t)
	ctx := context.Background()
	if err := rb.Client.Do(ctx, append([]any{"ACL", "SETUSER", "worker"}, toAny(strings.Fields(workerACL))...)...).Err(); err != nil {
		t.Fatal(err)
	}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer target.Close()
	s := start(t, map[string]string{
		"HOST": "127.0.0.1", "PORT": "0", "LOG_LEVEL": "warn", "WORKERS": "0", "REGIONS": "eu",
		"DATABASE_URL": filepath.Join(t.TempDir(), "upwatch.db"), "REDIS_URL": rb.URL,
		"JWT_SECRET": strings.Repeat("s", 40),
	})
	workerURL := "unix://worker:w0rker-pass@" + strings.TrimPrefix(rb.URL, "unix://")
	wctx, cancel := context.WithCancel(ctx)
	var stderr strings.Builder
	done := make(chan error, 1)
	go func() {
		done <- run(wctx, []string{"worker", "--region", "eu"}, env(map[string]string{"REDIS_URL": workerURL, "LOG_LEVEL": "warn"}), nil, io.Discard, &lockedWriter{w: &stderr})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	}()
	var signup struct{ Token string }
	call(t, "POST", s.url+"/api/v1/auth/signup", "", map[string]string{"email": "a@example.com", "password": "longenough"}, &signup)
	var m monitor
	if code := call(t, "POST", s.url+"/api/v1/monitors", signup.Token, map[string]any{"name": "t", "url": target.URL, "interval_seconds": 1}, &m); code != 201 {
		t.Fatalf("create: %d", code)
	}
	waitStatus(t, s, signup.Token, m.ID, "up")
	// Let the worker's upkeep (re-claims every 2 s) run under the ACL too;
	// Redis logs every command the ACL refused.
	time.Sleep(2500 * time.Millisecond)
	denied, err := rb.Client.Do(ctx, "ACL", "LOG").Slice()
	if err != nil || len(denied) != 0 {
		t.Errorf("commands refused by the worker ACL: %v %v", denied, err)
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// lockedWriter lets a goroutine write while the test reads.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
