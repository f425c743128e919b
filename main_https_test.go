package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startWorker runs `upwatch worker args…` until the test ends; done
// carries run's error.
func startWorker(t *testing.T, vars map[string]string, stderr io.Writer, args ...string) (stop func(), done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	go func() { ch <- run(ctx, append([]string{"worker"}, args...), env(vars), nil, io.Discard, stderr) }()
	t.Cleanup(cancel)
	return cancel, ch
}

// The whole program, single-binary style: the server keeps its queue to
// itself (embedded, WORKERS=0) and a worker joins through a reverse proxy
// with a worker token. While the proxy's backend is down the worker waits
// (saying so once); then its region's monitor goes up. A wrong token stops
// a worker with a 401 it names; a worker token opens no other door; a
// revoked token cuts its worker off within seconds.
func TestServerWithHTTPSWorker(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer target.Close()
	s := start(t, map[string]string{
		"HOST": "127.0.0.1", "PORT": "0", "LOG_LEVEL": "warn", "WORKERS": "0", "REGIONS": "home",
		"DATABASE_URL": filepath.Join(t.TempDir(), "upwatch.db"), "JWT_SECRET": strings.Repeat("s", 40),
	})
	backend, _ := url.Parse(s.url)
	var up atomic.Bool
	rp := httputil.NewSingleHostReverseProxy(backend)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "502 Bad Gateway: upstream is restarting", http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()

	var signup struct{ Token string }
	call(t, "POST", s.url+"/api/v1/auth/signup", "", map[string]string{"email": "a@example.com", "password": "longenough"}, &signup)
	var tok struct {
		ID      int64
		Token   string
		Command string
	}
	if code := call(t, "POST", s.url+"/api/v1/worker-tokens", signup.Token, map[string]any{"name": "pi", "regions": []string{"home"}}, &tok); code != 201 {
		t.Fatalf("create worker token: %d", code)
	}
	var m monitor
	if code := call(t, "POST", s.url+"/api/v1/monitors", signup.Token, map[string]any{"name": "t", "url": target.URL, "interval_seconds": 1}, &m); code != 201 {
		t.Fatalf("create monitor: %d", code)
	}
	if code := call(t, "GET", s.url+"/api/v1/monitors", tok.Token, nil, nil); code != 401 {
		t.Errorf("a worker token lists monitors: %d", code)
	}

	// A wrong token: the worker stops at once and says why.
	_, done := startWorker(t, nil, io.Discard, "--server", s.url, "--token", "upww_wrong")
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "WORKER_TOKEN") || !strings.Contains(err.Error(), "401") {
			t.Errorf("wrong token: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a worker with a wrong token kept running")
	}

	// The right one, through a proxy whose backend is down at first.
	logs := &syncBuffer{}
	_, done = startWorker(t, map[string]string{"UPWATCH_SERVER": proxy.URL, "WORKER_TOKEN": tok.Token, "LOG_LEVEL": "warn"}, logs, "--workers", "4")
	time.Sleep(2500 * time.Millisecond)
	if got := strings.Count(logs.String(), "cannot reach the server"); got != 1 {
		t.Errorf("while the server was down the worker logged %d times:\n%s", got, logs)
	}
	if waitStatusNow(t, s, signup.Token, m.ID) != "pending" {
		t.Error("checked without a worker")
	}
	up.Store(true)
	waitStatus(t, s, signup.Token, m.ID, "up")
	var ws struct {
		Items []struct{ Name, Region string }
	}
	call(t, "GET", s.url+"/api/v1/workers", signup.Token, nil, &ws)
	if len(ws.Items) != 1 || !strings.HasPrefix(ws.Items[0].Name, "https:worker-") || ws.Items[0].Region != "home" {
		t.Errorf("workers %+v", ws.Items)
	}

	revoked := time.Now()
	if code := call(t, "DELETE", fmt.Sprintf("%s/api/v1/worker-tokens/%d", s.url, tok.ID), signup.Token, nil, nil); code != 204 {
		t.Fatalf("revoke: %d", code)
	}
	select {
	case err := <-done:
		t.Logf("cut off %v after the revocation: %v", time.Since(revoked).Round(time.Millisecond), err)
		if err == nil || !strings.Contains(err.Error(), "revoked") {
			t.Errorf("revoked: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a worker with a revoked token kept running for 5 s")
	}
}

func TestHTTPSWorkerConfigErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/worker/token" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"name":"vps","regions":["eu","us"]}`)
	}))
	defer srv.Close()
	tok := "upww_" + strings.Repeat("x", 43)
	for name, c := range map[string]struct {
		vars map[string]string
		args []string
	}{
		"REDIS_URL and UPWATCH_SERVER":                      {map[string]string{"REDIS_URL": "redis://127.0.0.1:1", "UPWATCH_SERVER": srv.URL, "WORKER_TOKEN": tok}, nil},
		"WORKER_TOKEN: a worker":                            {nil, []string{"--server", srv.URL}},
		"UPWATCH_SERVER: a worker":                          {map[string]string{"WORKER_TOKEN": tok}, nil},
		"UPWATCH_SERVER: \"ftp":                             {nil, []string{"--server", "ftp://x", "--token", tok}},
		"WORKER_TOKEN: not a worker":                        {nil, []string{"--server", srv.URL, "--token", "upw_apitoken"}},
		"choose one with --region":                          {nil, []string{"--server", srv.URL, "--token", tok}},
		`not "asia"`:                                        {nil, []string{"--server", srv.URL, "--token", tok, "--region", "asia"}},
		"UPWATCH_SERVER: /api/v1/worker/token answered 404": {nil, []string{"--server", srv.URL + "/nothing-here", "--token", tok}},
	} {
		t.Run(name, func(t *testing.T) {
			vars := c.vars
			if vars == nil {
				vars = map[string]string{}
			}
			err := run(context.Background(), append([]string{"worker"}, c.args...), env(vars), nil, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("error %v does not say %q", err, name)
			}
		})
	}
}
