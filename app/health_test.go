package app

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/internal/testredis"
)

// healthEnv is an app with a real checker on a shared embedded queue;
// workers < 0 runs none in the server.
func healthEnv(t *testing.T, workers int) *env {
	t.Helper()
	var c *checker.Checker
	e := newEnvWith(t, func(d *Deps) {
		q := checker.NewQueue(testredis.Mini(t).Client)
		c = checker.New(d.Store, q, checker.Config{LocalWorkers: workers, Logger: slog.New(slog.DiscardHandler)})
		d.Queue, d.Push, d.Scheduler = q, c, c
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("checker did not stop")
		}
	})
	return e
}

func TestHealthzNoWorkers(t *testing.T) {
	e := healthEnv(t, -1)
	tok := e.signup(t)
	if r := e.do(t, "GET", "/healthz", "", ""); r.code != 200 {
		t.Fatalf("healthz with no monitors: %d %s", r.code, r.body)
	}
	if r := e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"a","url":"http://127.0.0.1:1/"}`); r.code != 201 {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	var last resp
	pollUntil(t, func() string { return "healthz never said no_workers: " + string(last.body) }, func() bool {
		last = e.do(t, "GET", "/healthz", "", "")
		return last.code == http.StatusServiceUnavailable && strings.Contains(string(last.body), `"no_workers"`)
	})
	var body struct {
		Status   string
		Problems []Problem
	}
	last.json(t, &body)
	if body.Status != "unhealthy" || len(body.Problems) == 0 || !strings.Contains(body.Problems[0].Message, "upwatch worker --region local") {
		t.Errorf("healthz = %s", last.body)
	}
	// The dashboard says it too.
	c := browser(t)
	if code, _, _ := post(t, c, e.srv.URL+"/login", map[string][]string{"email": {"owner@example.com"}, "password": {"password123"}}); code != 303 {
		t.Fatalf("login: %d", code)
	}
	if _, _, page := get(t, c, e.srv.URL+"/"); !strings.Contains(page, "alert-instance") || !strings.Contains(page, "No worker is running for region local") {
		t.Errorf("overview has no instance warning")
	}
}

func TestHealthzHealthy(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer target.Close()
	e := healthEnv(t, 2)
	tok := e.signup(t)
	if r := e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"a","url":"`+target.URL+`","interval_seconds":1}`); r.code != 201 {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	var last resp
	pollUntil(t, func() string { return "never healthy: " + string(last.body) }, func() bool {
		last = e.do(t, "GET", "/healthz", "", "")
		return last.code == 200 && strings.Contains(string(last.body), `"last_stored_at"`)
	})
}

// healthStub is the recorder with a checker's health to report.
type healthStub struct {
	*recorder
	h checker.Health
}

func (s healthStub) Health() checker.Health { return s.h }

func TestHealthzMissedChecks(t *testing.T) {
	e := newEnvWith(t, func(d *Deps) {
		d.Scheduler = healthStub{&recorder{}, checker.Health{Monitors: 3, MissedRecent: 4, Missed: 9}}
	})
	r := e.do(t, "GET", "/healthz", "", "")
	if r.code != http.StatusServiceUnavailable || !strings.Contains(string(r.body), `"missed"`) || !strings.Contains(string(r.body), "4 checks were not run in time") {
		t.Errorf("healthz = %d %s", r.code, r.body)
	}
}

// An admin's chosen channels hear when the instance gets a problem and
// when it is over, once each.
func TestInstanceAlerts(t *testing.T) {
	e := healthEnv(t, -1)
	tok := e.signup(t)
	var ch struct{ ID int64 }
	r := e.do(t, "POST", "/api/v1/channels", tok, `{"name":"ops","type":"webhook","settings":{"url":"https://hooks.example.com/x"}}`)
	if r.code != 201 {
		t.Fatalf("channel: %d %s", r.code, r.body)
	}
	r.json(t, &ch)
	if r := e.do(t, "PUT", "/api/v1/admin/instance-alerts", tok, `{"channels":[999]}`); r.code != 422 {
		t.Errorf("unknown channel: %d %s", r.code, r.body)
	}
	if r := e.do(t, "PUT", "/api/v1/admin/instance-alerts", tok, `{"channels":[`+itoa(ch.ID)+`]}`); r.code != 200 {
		t.Fatalf("set: %d %s", r.code, r.body)
	}
	if r := e.do(t, "GET", "/api/v1/admin/instance-alerts", tok, ""); r.code != 200 || !strings.Contains(string(r.body), itoa(ch.ID)) {
		t.Errorf("get: %d %s", r.code, r.body)
	}
	var m struct{ ID int64 }
	e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"a","url":"http://127.0.0.1:1/"}`).json(t, &m)

	ctx := context.Background()
	var w instanceWatch
	kinds := func() (n int, last string) {
		ds, err := e.st.ListDeliveries(ctx, 1, ch.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.Kind == "instance" {
				n++
			}
		}
		if len(ds) > 0 {
			last = string(ds[0].Event)
		}
		return n, last
	}
	pollUntil(t, func() string { n, _ := kinds(); return "no instance alert queued: " + itoa(int64(n)) }, func() bool {
		if err := e.app.checkInstance(ctx, &w); err != nil {
			t.Fatal(err)
		}
		n, last := kinds()
		return n == 1 && strings.Contains(last, "No worker is running for region local")
	})
	// Told once, however often it looks.
	for range 3 {
		if err := e.app.checkInstance(ctx, &w); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := kinds(); n != 1 {
		t.Fatalf("%d instance alerts for one problem", n)
	}
	// The monitor goes: the region has nothing to check, the problem ends.
	if r := e.do(t, "DELETE", "/api/v1/monitors/"+itoa(m.ID), tok, ""); r.code != 204 {
		t.Fatalf("delete: %d", r.code)
	}
	pollUntil(t, func() string { return "no resolved alert" }, func() bool {
		if err := e.app.checkInstance(ctx, &w); err != nil {
			t.Fatal(err)
		}
		n, last := kinds()
		return n == 2 && strings.Contains(last, `"from":"resolved"`)
	})
}
