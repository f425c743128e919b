package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upwatch/upwatch/store"
)

// limitsEnv is an app with small quotas and the default minimum interval,
// its admin's token and a member (bob) with a JWT.
func limitsEnv(t *testing.T, quotas store.Quotas) (e *env, admin, bob string, bobID int64) {
	t.Helper()
	e = newEnvConfig(t, func(c *Config) { c.Quotas, c.MinInterval = quotas, 20*time.Second }, nil)
	admin = e.signup(t)
	var u userJSON
	if r := e.do(t, "POST", "/api/v1/users", admin, `{"email":"bob@example.com","password":"password123"}`); r.code != 201 {
		t.Fatalf("create bob: %d %s", r.code, r.body)
	} else {
		r.json(t, &u)
	}
	var l struct{ Token string }
	e.do(t, "POST", "/api/v1/auth/login", "", `{"email":"bob@example.com","password":"password123"}`).json(t, &l)
	return e, admin, l.Token, u.ID
}

func wantProblem(t *testing.T, r resp, code int, field, detail string) {
	t.Helper()
	var p problem
	_ = json.Unmarshal(r.body, &p)
	if r.code != code || p.Field != field || !strings.Contains(p.Detail, detail) {
		t.Errorf("got %d field %q detail %q; want %d %q containing %q", r.code, p.Field, p.Detail, code, field, detail)
	}
}

func monitorBody(i, interval int) string {
	return fmt.Sprintf(`{"name":"m%d","url":"http://127.0.0.1:9/%d","interval_seconds":%d}`, i, i, interval)
}

func TestQuotas(t *testing.T) {
	e, admin, bob, bobID := limitsEnv(t, store.Quotas{store.QuotaMonitors: 3, store.QuotaChannels: 2, store.QuotaTokens: 2})
	for i := 0; i < 3; i++ {
		if r := e.do(t, "POST", "/api/v1/monitors", bob, monitorBody(i, 60)); r.code != 201 {
			t.Fatalf("monitor %d: %d %s", i, r.code, r.body)
		}
	}
	wantProblem(t, e.do(t, "POST", "/api/v1/monitors", bob, monitorBody(3, 60)), 422, "quota.monitors", "limit of 3 monitors")
	wantProblem(t, e.do(t, "POST", "/api/websites", bob, monitorBody(3, 60)), 422, "quota.monitors", "limit of 3 monitors")

	var me userJSON
	e.do(t, "GET", "/api/v1/me", bob, "").json(t, &me)
	if q := me.Quotas["monitors"]; q.Limit == nil || *q.Limit != 3 || q.Used != 3 || q.Own || me.MinInterval == nil || *me.MinInterval != 20 {
		t.Errorf("me: %+v min %v", me.Quotas, me.MinInterval)
	}

	// An admin raises bob's quota; bob may not do it himself.
	path := fmt.Sprintf("/api/v1/users/%d", bobID)
	if r := e.do(t, "PATCH", path, bob, `{"quotas":{"monitors":100}}`); r.code != 403 {
		t.Errorf("member sets own quota: %d", r.code)
	}
	wantProblem(t, e.do(t, "PATCH", path, admin, `{"quotas":{"lemons":1}}`), 422, "quotas.lemons", "is not a quota")
	wantProblem(t, e.do(t, "PATCH", path, admin, `{"quotas":{"monitors":-1}}`), 422, "quotas.monitors", "from 0")
	r := e.do(t, "PATCH", path, admin, `{"quotas":{"monitors":4}}`)
	var u userJSON
	r.json(t, &u)
	if q := u.Quotas["monitors"]; r.code != 200 || q.Limit == nil || *q.Limit != 4 || !q.Own {
		t.Fatalf("raise quota: %d %s", r.code, r.body)
	}
	if r := e.do(t, "POST", "/api/v1/monitors", bob, monitorBody(3, 60)); r.code != 201 {
		t.Errorf("after raise: %d %s", r.code, r.body)
	}
	wantProblem(t, e.do(t, "POST", "/api/v1/monitors", bob, monitorBody(4, 60)), 422, "quota.monitors", "limit of 4 monitors")
	// null goes back to the instance's default (3: bob is over it, and stays).
	e.do(t, "PATCH", path, admin, `{"quotas":{"monitors":null}}`).json(t, &u)
	if q := u.Quotas["monitors"]; q.Own || *q.Limit != 3 || q.Used != 4 {
		t.Errorf("back to default: %+v", q)
	}

	// Channels and API tokens.
	for i := 0; i < 2; i++ {
		body := fmt.Sprintf(`{"name":"c%d","type":"webhook","settings":{"url":"https://hooks.example.com/%d"}}`, i, i)
		if r := e.do(t, "POST", "/api/v1/channels", bob, body); r.code != 201 {
			t.Fatalf("channel %d: %d %s", i, r.code, r.body)
		}
	}
	wantProblem(t, e.do(t, "POST", "/api/v1/channels", bob, `{"name":"c","type":"webhook","settings":{"url":"https://hooks.example.com/x"}}`),
		422, "quota.channels", "limit of 2 alert channels")
	for i := 0; i < 2; i++ {
		if r := e.do(t, "POST", "/api/v1/tokens", bob, fmt.Sprintf(`{"name":"t%d"}`, i)); r.code != 201 {
			t.Fatalf("token %d: %d %s", i, r.code, r.body)
		}
	}
	wantProblem(t, e.do(t, "POST", "/api/v1/tokens", bob, `{"name":"t"}`), 422, "quota.tokens", "limit of 2 API tokens")

	// The admin is not held to the defaults...
	for i := 0; i < 5; i++ {
		if r := e.do(t, "POST", "/api/v1/monitors", admin, monitorBody(i, 60)); r.code != 201 {
			t.Fatalf("admin monitor %d: %d %s", i, r.code, r.body)
		}
	}
	// ...but to a quota set on their own account (worker tokens too).
	var adminMe userJSON
	e.do(t, "GET", "/api/v1/me", admin, "").json(t, &adminMe)
	if q := adminMe.Quotas["monitors"]; q.Limit != nil || q.Used != 5 {
		t.Errorf("admin's quota: %+v", q)
	}
	e.do(t, "PATCH", fmt.Sprintf("/api/v1/users/%d", adminMe.ID), admin, `{"quotas":{"worker_tokens":1}}`)
	if r := e.do(t, "POST", "/api/v1/worker-tokens", admin, `{"name":"w1","regions":["home"]}`); r.code != 201 {
		t.Fatalf("worker token: %d %s", r.code, r.body)
	}
	wantProblem(t, e.do(t, "POST", "/api/v1/worker-tokens", admin, `{"name":"w2","regions":["home"]}`),
		422, "quota.worker_tokens", "limit of 1 worker tokens")
}

// TestQuotaConcurrentCreates: the count and the insert share one
// transaction, so 20 creates at once stop exactly at the quota.
func TestQuotaConcurrentCreates(t *testing.T) {
	e, _, bob, bobID := limitsEnv(t, store.Quotas{store.QuotaMonitors: 5, store.QuotaTokens: 3})
	var wg sync.WaitGroup
	codes := make(chan int, 40)
	for i := 0; i < 20; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			codes <- e.do(t, "POST", "/api/v1/monitors", bob, monitorBody(i, 60)).code
		}()
		go func() {
			defer wg.Done()
			codes <- -e.do(t, "POST", "/api/v1/tokens", bob, fmt.Sprintf(`{"name":"t%d"}`, i)).code
		}()
	}
	wg.Wait()
	close(codes)
	n := map[int]int{}
	for c := range codes {
		n[c]++
	}
	if n[201] != 5 || n[422] != 15 || n[-201] != 3 || n[-422] != 17 {
		t.Errorf("answers: %v; want 5×201 and 15×422 for monitors, 3 and 17 for tokens", n)
	}
	qs, err := e.st.UserQuotas(context.Background(), bobID)
	if err != nil {
		t.Fatal(err)
	}
	if qs[0].Used != 5 || qs[2].Used != 3 {
		t.Errorf("stored: %+v", qs)
	}
}

func TestQuotaForms(t *testing.T) {
	e, _, _, _ := limitsEnv(t, store.Quotas{store.QuotaMonitors: 1, store.QuotaChannels: 1})
	c := login(t, e, "bob@example.com", "password123")
	form := url.Values{"type": {"http"}, "name": {"a"}, "url": {"http://127.0.0.1:9/"}, "method": {"GET"}, "interval_seconds": {"60"}}
	if code, _, body := post(t, c, e.srv.URL+"/monitors", form); code != 303 {
		t.Fatalf("first monitor: %d %s", code, body)
	}
	code, _, body := post(t, c, e.srv.URL+"/monitors", form)
	if code != 422 || !strings.Contains(body, "limit of 1 monitors") {
		t.Errorf("form over quota: %d %s", code, body)
	}
	ch := url.Values{"type": {"webhook"}, "name": {"c"}, "enabled": {"on"}, "settings.url": {"https://hooks.example.com/x"}}
	if code, _, body := post(t, c, e.srv.URL+"/channels", ch); code != 303 {
		t.Fatalf("first channel: %d %s", code, body)
	}
	if code, _, body := post(t, c, e.srv.URL+"/channels", ch); code != 422 || !strings.Contains(body, "limit of 1 alert channels") {
		t.Errorf("channel form over quota: %d %s", code, body)
	}
	// Too short an interval, on the form.
	form.Set("interval_seconds", "5")
	if code, _, body := post(t, c, e.srv.URL+"/monitors", form); code != 422 || !strings.Contains(body, "at least 20 seconds") {
		t.Errorf("form interval: %d %s", code, body)
	}
}

func TestMinInterval(t *testing.T) {
	e, admin, bob, bobID := limitsEnv(t, nil)
	wantProblem(t, e.do(t, "POST", "/api/v1/monitors", bob, monitorBody(1, 5)), 422, "interval_seconds", "at least 20 seconds")
	if r := e.do(t, "POST", "/api/v1/monitors", bob, monitorBody(2, 20)); r.code != 201 {
		t.Errorf("member at the minimum: %d %s", r.code, r.body)
	}
	if r := e.do(t, "POST", "/api/v1/monitors", admin, monitorBody(3, 1)); r.code != 201 {
		t.Errorf("admin at 1 s: %d %s", r.code, r.body)
	}
	// A monitor from before the limit keeps its 1 s; an edit that leaves
	// it running must respect the minimum, a pause need not.
	old, err := e.st.CreateMonitor(context.Background(), store.Monitor{UserID: bobID, Name: "old", URL: "http://127.0.0.1:9/",
		Method: "GET", Interval: time.Second, Timeout: time.Second, ExpectedStatus: "200-299", Confirmations: 2})
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/api/v1/monitors/%d", old.ID)
	var m monitorJSON
	if r := e.do(t, "GET", path, bob, ""); r.code != 200 {
		t.Fatalf("old monitor: %d", r.code)
	} else if r.json(t, &m); m.IntervalSeconds != 1 {
		t.Errorf("old interval: %d", m.IntervalSeconds)
	}
	wantProblem(t, e.do(t, "PATCH", path, bob, `{"name":"renamed"}`), 422, "interval_seconds", "at least 20 seconds")
	if r := e.do(t, "PATCH", path, bob, `{"paused":true}`); r.code != 200 {
		t.Errorf("pause old: %d %s", r.code, r.body)
	}
	wantProblem(t, e.do(t, "PATCH", path, bob, `{"paused":false}`), 422, "interval_seconds", "at least 20 seconds")
	if r := e.do(t, "PATCH", path, bob, `{"paused":false,"interval_seconds":30}`); r.code != 200 {
		t.Errorf("resume at 30 s: %d %s", r.code, r.body)
	}
}
