package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// signupToken signs the first user (an admin) up and returns its API token.
func signupToken(t *testing.T, s *server) string {
	t.Helper()
	var signup struct {
		Token string `json:"token"`
	}
	creds := map[string]string{"email": "owner@example.com", "password": "correct horse battery"}
	if code := call(t, "POST", s.url+"/api/v1/auth/signup", "", creds, &signup); code != 201 || signup.Token == "" {
		t.Fatalf("signup: %d %+v", code, signup)
	}
	return signup.Token
}

// The server's own port is refused to checks and alerts (on 127.0.0.1 and
// any other local address), while another loopback target is checked;
// with EGRESS_PRIVATE=deny that target is refused too, and a channel test
// answers with the policy's message.
func TestEgressPolicy(t *testing.T) {
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer target.Close()

	vars := map[string]string{
		"HOST": "127.0.0.1", "PORT": "0", "LOG_LEVEL": "warn",
		"DATABASE_URL": filepath.Join(t.TempDir(), "upwatch.db"), "CHECK_INTERVAL": "1000",
	}
	s := start(t, vars)
	tok := signupToken(t, s)
	var self, other monitor
	if code := call(t, "POST", s.url+"/api/v1/monitors", tok, map[string]any{"name": "self", "url": s.url + "/healthz", "confirmations": 1}, &self); code != 201 {
		t.Fatalf("create: %d", code)
	}
	if code := call(t, "POST", s.url+"/api/v1/monitors", tok, map[string]any{"name": "other", "url": target.URL, "confirmations": 1}, &other); code != 201 {
		t.Fatalf("create: %d", code)
	}
	if m := waitStatus(t, s, tok, self.ID, "down"); m.LastCheck == nil || m.LastCheck.Reason != "blocked" {
		t.Fatalf("a monitor of upwatch's own port: %+v", m.LastCheck)
	}
	waitStatus(t, s, tok, other.ID, "up")

	var ch struct {
		ID int64 `json:"id"`
	}
	if code := call(t, "POST", s.url+"/api/v1/channels", tok, map[string]any{"name": "own", "type": "webhook",
		"settings": map[string]any{"url": s.url + "/api/v1/monitors"}}, &ch); code != 201 {
		t.Fatalf("create channel: %d", code)
	}
	var res struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	call(t, "POST", fmt.Sprintf("%s/api/v1/channels/%d/test", s.url, ch.ID), tok, nil, &res)
	if res.OK || !strings.Contains(res.Error, "upwatch's own listener") {
		t.Fatalf("channel test to the server's own port: %+v", res)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}

	vars["EGRESS_PRIVATE"] = "deny"
	vars["DATABASE_URL"] = filepath.Join(t.TempDir(), "deny.db")
	s = start(t, vars)
	tok = signupToken(t, s)
	before := hits.Load()
	if code := call(t, "POST", s.url+"/api/v1/monitors", tok, map[string]any{"name": "other", "url": target.URL, "confirmations": 1}, &other); code != 201 {
		t.Fatalf("create: %d", code)
	}
	if m := waitStatus(t, s, tok, other.ID, "down"); m.LastCheck == nil || m.LastCheck.Reason != "blocked" {
		t.Fatalf("a loopback monitor under deny: %+v", m.LastCheck)
	}
	if code := call(t, "POST", s.url+"/api/v1/channels", tok, map[string]any{"name": "hook", "type": "webhook",
		"settings": map[string]any{"url": target.URL + "/hook"}}, &ch); code != 201 {
		t.Fatalf("create channel: %d", code)
	}
	call(t, "POST", fmt.Sprintf("%s/api/v1/channels/%d/test", s.url, ch.ID), tok, nil, &res)
	if res.OK || !strings.Contains(res.Error, "127.0.0.1 is a loopback address") {
		t.Fatalf("channel test to loopback under deny: %+v", res)
	}
	if n := hits.Load() - before; n != 0 {
		t.Fatalf("the loopback target got %d requests under deny", n)
	}
}
