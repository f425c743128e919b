package main

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The whole server while another process holds the database's write lock:
// a target that goes down is alerted during the lock, /healthz says what is
// wrong at once, and when the lock goes the backlog is stored, the alert
// recorded as sent, and nothing is sent twice.
func TestServerAlertsWhileDatabaseLocked(t *testing.T) {
	var failing atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	defer target.Close()
	rc := &receiver{}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	db := filepath.Join(t.TempDir(), "upwatch.db")
	s := start(t, map[string]string{"HOST": "127.0.0.1", "PORT": "0", "LOG_LEVEL": "error", "DATABASE_URL": db})
	var signup struct{ Token string }
	call(t, "POST", s.url+"/api/v1/auth/signup", "", map[string]string{"email": "a@example.com", "password": "long enough"}, &signup)
	tok := signup.Token
	var ch struct{ ID int64 }
	if code := call(t, "POST", s.url+"/api/v1/channels", tok, map[string]any{
		"name": "hook", "type": "webhook", "default": true, "settings": map[string]any{"url": hook.URL},
	}, &ch); code != 201 {
		t.Fatalf("create channel: %d", code)
	}
	var m struct{ ID int64 }
	call(t, "POST", s.url+"/api/v1/monitors", tok, map[string]any{"name": "site", "url": target.URL, "interval_seconds": 1, "confirmations": 1}, &m)
	waitStatus(t, s, tok, m.ID, "up")

	// Another process takes the write lock and keeps it.
	other, err := sql.Open("sqlite", "file:"+db+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	failing.Store(true)
	lockedAt := time.Now()
	rc.waitFor(t, 1, 20*time.Second)
	t.Logf("DOWN alert received %v after the target failed, with the database locked", time.Since(lockedAt).Round(time.Millisecond))
	if k := rc.kinds(); k[0] != "down" {
		t.Fatalf("alerts during the lock: %v", k)
	}
	var health struct {
		Status   string
		Store    string
		Backlog  int
		Problems []struct{ Code, Message string }
	}
	start := time.Now()
	code := call(t, "GET", s.url+"/healthz", "", nil, &health)
	took := time.Since(start)
	codes := fmt.Sprint(health.Problems)
	if code != 503 || health.Store != "not_writable" || health.Backlog == 0 || !strings.Contains(codes, "store_write") || !strings.Contains(codes, "backlog") {
		t.Errorf("healthz during the lock (%v): %d %+v", took, code, health)
	}
	if took > time.Second {
		t.Errorf("healthz took %v during the lock", took)
	}

	lock.Rollback()
	waitStatus(t, s, tok, m.ID, "down")
	deadline := time.Now().Add(15 * time.Second)
	for {
		call(t, "GET", s.url+"/healthz", "", nil, &health)
		if health.Backlog == 0 && health.Store == "ok" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("backlog not stored after the lock: %+v", health)
		}
		time.Sleep(100 * time.Millisecond)
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/channels/%d/deliveries", s.url, ch.ID), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `"kind":"down"`) || !strings.Contains(string(body), `"status":"sent"`) || strings.Count(string(body), `"kind":"down"`) != 1 {
		t.Errorf("delivery log after the lock: %s", body)
	}
	time.Sleep(2 * time.Second)
	if k := rc.kinds(); len(k) != 1 {
		t.Errorf("alerts after the lock: %v, want the one down", k)
	}
}
