package app

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/upwatch/upwatch/checker"
)

func TestWorkersAPIAndPage(t *testing.T) {
	e := newEnv(t)
	if r := e.do(t, "GET", "/api/v1/workers", "", ""); r.code != 401 || r.hdr.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("without auth: %d %s", r.code, r.hdr.Get("Content-Type"))
	}
	tok := e.signup(t)
	if r := e.do(t, "GET", "/api/v1/workers", tok, ""); r.code != 200 || strings.TrimSpace(string(r.body)) != `{"items":[]}` {
		t.Fatalf("no workers: %d %s", r.code, r.body)
	}

	now := e.clock.Now()
	q := e.app.queue.(*checker.Queue)
	for _, w := range []checker.WorkerInfo{
		{Name: "worker-fra-7", Region: "eu", Version: "v1.3.2", Host: "fra", StartedAt: now.Add(-time.Hour),
			LastSeen: now.Add(-45 * time.Second), Concurrency: 16},
		{Name: "server-web1-1", Region: "local", Version: "v1.4.0", Host: "web1", StartedAt: now.Add(-time.Minute),
			LastSeen: now.Add(-3 * time.Second), InFlight: 2, ChecksPerMinute: 90, Concurrency: 64},
	} {
		if err := q.Heartbeat(context.Background(), w); err != nil {
			t.Fatal(err)
		}
	}
	r := e.do(t, "GET", "/api/v1/workers", tok, "")
	if r.code != 200 || r.hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("list: %d %s", r.code, r.body)
	}
	var raw struct{ Items []map[string]any }
	r.json(t, &raw)
	if len(raw.Items) != 2 {
		t.Fatalf("items %s", r.body)
	}
	keys := []string{"name", "region", "version", "host", "started_at", "last_seen", "alive", "in_flight", "checks_per_minute", "concurrency"}
	for _, it := range raw.Items {
		if len(it) != len(keys) {
			t.Errorf("item has keys %v, want %v", it, keys)
		}
		for _, k := range keys {
			if _, ok := it[k]; !ok {
				t.Errorf("item lacks %q: %v", k, it)
			}
		}
	}
	var out struct {
		Items []workerJSON `json:"items"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatal(err)
	}
	live, dead := out.Items[0], out.Items[1] // alive first
	if live.Name != "server-web1-1" || !live.Alive || live.Region != "local" || live.Version != "v1.4.0" || live.Host != "web1" ||
		live.InFlight != 2 || live.ChecksPerMinute != 90 || live.Concurrency != 64 ||
		!live.LastSeen.Equal(now.Add(-3*time.Second).Truncate(time.Millisecond)) || !live.StartedAt.Equal(now.Add(-time.Minute).Truncate(time.Millisecond)) {
		t.Errorf("alive worker %+v", live)
	}
	if dead.Name != "worker-fra-7" || dead.Alive {
		t.Errorf("silent worker %+v, want it dead", dead)
	}
	if !strings.Contains(string(r.body), `"last_seen":"`) || !strings.Contains(string(r.body), `Z"`) {
		t.Errorf("times not RFC 3339 UTC: %s", r.body)
	}

	// The page, for a signed-in browser; anyone else goes to the login.
	c := browser(t)
	if code, loc, _ := get(t, c, e.srv.URL+"/workers"); code != 303 || !strings.HasPrefix(loc, "/login") {
		t.Fatalf("workers page signed out: %d %q", code, loc)
	}
	if code, _, _ := post(t, c, e.srv.URL+"/login", url.Values{"email": {"owner@example.com"}, "password": {"password123"}}); code != 303 {
		t.Fatalf("login: %d", code)
	}
	code, _, body := get(t, c, e.srv.URL+"/workers")
	if code != 200 || !strings.Contains(body, "server-web1-1") || !strings.Contains(body, "worker-fra-7") ||
		!strings.Contains(body, "worker-offline") || !strings.Contains(body, `href="/workers" aria-current="page"`) {
		t.Fatalf("workers page: %d\n%s", code, body)
	}
}
