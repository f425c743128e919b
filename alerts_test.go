package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// receiver is a webhook endpoint that records what it gets.
type receiver struct {
	mu     sync.Mutex
	events []map[string]any
	at     []time.Time
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev map[string]any
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.events = append(rc.events, ev)
	rc.at = append(rc.at, time.Now())
	rc.mu.Unlock()
}

// kinds lists the received events' kinds in order.
func (rc *receiver) kinds() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, e := range rc.events {
		out = append(out, fmt.Sprint(e["event"]))
	}
	return out
}

func (rc *receiver) waitFor(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for len(rc.kinds()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("after %v the receiver has %v, want %d events", within, rc.kinds(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Target down → exactly one DOWN alert after the confirmations; a restart
// while down sends nothing again; recovery → exactly one UP alert with the
// downtime. Also reports the detection time at interval 5 s, confirmations 2.
func TestAlertsEndToEnd(t *testing.T) {
	var failing atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "db down", http.StatusServiceUnavailable)
		}
	}))
	defer target.Close()
	rc := &receiver{}
	hook := httptest.NewServer(rc)
	defer hook.Close()

	vars := map[string]string{
		"HOST": "127.0.0.1", "PORT": "0", "LOG_LEVEL": "warn", "BASE_URL": "https://upwatch.example.com",
		"DATABASE_URL": filepath.Join(t.TempDir(), "upwatch.db"),
	}
	s := start(t, vars)
	var signup struct{ Token string }
	call(t, "POST", s.url+"/api/v1/auth/signup", "", map[string]string{"email": "a@example.com", "password": "long enough"}, &signup)
	tok := signup.Token
	var ch struct{ ID int64 }
	if code := call(t, "POST", s.url+"/api/v1/channels", tok, map[string]any{
		"name": "ops hook", "type": "webhook", "default": true, "settings": map[string]any{"url": hook.URL + "/alerts"},
	}, &ch); code != 201 {
		t.Fatalf("create channel: %d", code)
	}
	var test struct {
		OK    bool
		Error string
	}
	if code := call(t, "POST", fmt.Sprintf("%s/api/v1/channels/%d/test", s.url, ch.ID), tok, nil, &test); code != 200 || !test.OK {
		t.Fatalf("test send: %d %+v", code, test)
	}
	rc.waitFor(t, 1, 5*time.Second)

	var m struct {
		ID       int64
		Channels []int64
	}
	call(t, "POST", s.url+"/api/v1/monitors", tok, map[string]any{"name": "db", "url": target.URL, "interval_seconds": 5, "confirmations": 2}, &m)
	if len(m.Channels) != 1 || m.Channels[0] != ch.ID {
		t.Fatalf("default channel not linked: %+v", m.Channels)
	}
	waitStatus(t, s, tok, m.ID, "up")

	failing.Store(true)
	failedAt := time.Now()
	rc.waitFor(t, 2, 30*time.Second)
	rc.mu.Lock()
	detect := rc.at[1].Sub(failedAt)
	down := rc.events[1]
	rc.mu.Unlock()
	t.Logf("detection: target failed → DOWN alert received in %v (interval 5 s, confirmations 2, retry delay 5 s)", detect.Round(time.Millisecond))
	if down["event"] != "down" || down["status_code"] != float64(503) || down["reason"] != "status" ||
		down["link"] != fmt.Sprintf("https://upwatch.example.com/monitors/%d", m.ID) {
		t.Fatalf("down alert: %+v", down)
	}

	// Restart while down: nothing is sent twice.
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	s2 := start(t, vars)
	waitStatus(t, s2, tok, m.ID, "down")
	time.Sleep(6 * time.Second) // more than one interval of checks while still down
	if k := rc.kinds(); len(k) != 2 {
		t.Fatalf("after a restart while down: %v", k)
	}

	failing.Store(false)
	rc.waitFor(t, 3, 30*time.Second)
	rc.mu.Lock()
	up := rc.events[2]
	rc.mu.Unlock()
	if up["event"] != "up" || up["duration_seconds"].(float64) < 5 {
		t.Fatalf("up alert: %+v", up)
	}
	time.Sleep(6 * time.Second)
	if k := rc.kinds(); fmt.Sprint(k) != "[test down up]" {
		t.Fatalf("alerts: %v, want exactly test, down, up", k)
	}
	var log struct {
		Items []struct {
			Kind, Status string
		}
	}
	call(t, "GET", fmt.Sprintf("%s/api/v1/channels/%d/deliveries", s2.url, ch.ID), tok, nil, &log)
	if len(log.Items) != 3 || log.Items[0].Kind != "up" || log.Items[0].Status != "sent" {
		t.Fatalf("delivery log: %+v", log.Items)
	}
}
