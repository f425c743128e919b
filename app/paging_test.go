package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/store"
)

type pageOf struct {
	Items      []json.RawMessage `json:"items"`
	NextCursor *string           `json:"next_cursor"`
}

func withQuery(path, q string) string {
	if strings.Contains(path, "?") {
		return path + "&" + q
	}
	return path + "?" + q
}

// walk reads every page of a list with limit=2 and returns the items.
func walk(t *testing.T, e *env, tok, path string) ([]string, pageOf) {
	t.Helper()
	var all []string
	var first pageOf
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 50 {
			t.Fatalf("%s: no end after 50 pages", path)
		}
		q := "limit=2"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		r := e.do(t, "GET", withQuery(path, q), tok, "")
		var p pageOf
		r.json(t, &p)
		if r.code != 200 || len(p.Items) > 2 {
			t.Fatalf("%s page %d: %d, %d items: %s", path, pages, r.code, len(p.Items), r.body)
		}
		if pages == 0 {
			first = p
		}
		for _, it := range p.Items {
			all = append(all, string(it))
		}
		if p.NextCursor == nil {
			return all, first
		}
		if len(p.Items) != 2 {
			t.Fatalf("%s page %d: a short page with a next_cursor", path, pages)
		}
		cursor = *p.NextCursor
	}
}

func TestPagingEveryList(t *testing.T) {
	e := newEnv(t)
	admin := e.signup(t)
	ctx := context.Background()
	var me userJSON
	e.do(t, "GET", "/api/v1/me", admin, "").json(t, &me)

	var ch channelJSON
	for i := 0; i < 5; i++ {
		e.do(t, "POST", "/api/v1/channels", admin, fmt.Sprintf(`{"name":"c%d","type":"webhook","settings":{"url":"https://hooks.example.com/%d"}}`, i, i)).json(t, &ch)
	}
	var m monitorJSON
	for i := 0; i < 5; i++ {
		e.do(t, "POST", "/api/v1/monitors", admin, monitorBody(i, 60)).json(t, &m)
	}
	if err := e.st.SetMonitorChannels(ctx, me.ID, m.ID, []int64{ch.ID}); err != nil {
		t.Fatal(err)
	}
	// Checks in two regions and five incidents (each with alerts queued).
	t0 := e.clock.Now().Add(-time.Hour).Truncate(time.Second)
	var checks []store.Check
	for i := 0; i < 3; i++ {
		for _, rg := range []string{"local", "eu"} {
			checks = append(checks, store.Check{MonitorID: m.ID, Region: rg, At: t0.Add(time.Duration(i) * time.Minute), OK: true})
		}
	}
	if err := e.st.SaveChecks(ctx, checks, nil); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		down, up := t0.Add(time.Duration(10+2*i)*time.Minute), t0.Add(time.Duration(11+2*i)*time.Minute)
		err := e.st.SaveChecks(ctx, nil, []store.StateUpdate{
			{MonitorID: m.ID, State: store.MonitorState{Status: store.StatusDown, Since: down},
				Transition: &store.Transition{MonitorID: m.ID, From: "up", To: "down", At: down, Reason: "status", Alert: true}},
			{MonitorID: m.ID, State: store.MonitorState{Status: store.StatusUp, Since: up},
				Transition: &store.Transition{MonitorID: m.ID, From: "down", To: "up", At: up, Alert: true}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 5; i++ {
		e.do(t, "POST", "/api/v1/tokens", admin, fmt.Sprintf(`{"name":"t%d"}`, i))
		e.do(t, "POST", "/api/v1/users", admin, fmt.Sprintf(`{"email":"u%d@example.com","password":"password123"}`, i))
		id, _ := e.workerToken(t, admin, "home")
		if i%2 == 0 {
			if err := e.st.RevokeWorkerToken(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		err := e.app.queue.(*checker.Queue).Heartbeat(ctx, checker.WorkerInfo{Name: fmt.Sprintf("w%d", 4-i), Region: "home",
			StartedAt: e.clock.Now(), LastSeen: e.clock.Now()})
		if err != nil {
			t.Fatal(err)
		}
	}

	mid := itoa(m.ID)
	lists := map[string]int{
		"/api/v1/monitors":                                5,
		"/api/websites":                                   5,
		"/api/v1/monitors/" + mid + "/checks":             6,
		"/api/v1/incidents":                               5,
		"/api/v1/incidents?status=resolved":               5,
		"/api/v1/incidents?monitor_id=" + mid:             5,
		"/api/v1/monitors/" + mid + "/incidents":          5,
		"/api/v1/channels":                                5,
		"/api/v1/channels/" + itoa(ch.ID) + "/deliveries": 10,
		"/api/v1/tokens":                                  5,
		"/api/v1/worker-tokens":                           5,
		"/api/v1/workers":                                 5,
		"/api/v1/users":                                   6,
	}
	for path, n := range lists {
		got, first := walk(t, e, admin, path)
		var all pageOf
		e.do(t, "GET", withQuery(path, "limit=1000"), admin, "").json(t, &all)
		want := make([]string, len(all.Items))
		for i, it := range all.Items {
			want[i] = string(it)
		}
		seen := map[string]bool{}
		for _, it := range got {
			if seen[it] {
				t.Errorf("%s: an item twice: %s", path, it)
			}
			seen[it] = true
		}
		if len(got) != n || strings.Join(got, "\n") != strings.Join(want, "\n") || all.NextCursor != nil {
			t.Errorf("%s: walked %d items, want %d in the order of one big page (%d)", path, len(got), n, len(want))
		}
		// Bad parameters name their field.
		for _, q := range []string{"limit=0", "limit=1001", "limit=abc", "limit="} {
			wantProblem(t, e.do(t, "GET", withQuery(path, q), admin, ""), 422, "limit", "from 1 to 1000")
		}
		c := *first.NextCursor
		tampered := c[:len(c)/2] + string(rune('A'+(c[len(c)/2]-'A'+1)%26)) + c[len(c)/2+1:]
		for _, bad := range []string{tampered, "abc", "", c + "x"} {
			wantProblem(t, e.do(t, "GET", withQuery(path, "cursor="+url.QueryEscape(bad)), admin, ""), 422, "cursor", "not a cursor")
		}
	}
	// A cursor is good for its own list only.
	_, first := walk(t, e, admin, "/api/v1/monitors")
	wantProblem(t, e.do(t, "GET", "/api/v1/channels?cursor="+url.QueryEscape(*first.NextCursor), admin, ""), 422, "cursor", "not a cursor")
	_, first = walk(t, e, admin, "/api/v1/incidents")
	wantProblem(t, e.do(t, "GET", "/api/v1/incidents?status=open&cursor="+url.QueryEscape(*first.NextCursor), admin, ""), 422, "cursor", "not a cursor")
	// The seed's alias keeps its shape: {"items":[…]} (plus next_cursor).
	var seedShape map[string]json.RawMessage
	e.do(t, "GET", "/api/websites", admin, "").json(t, &seedShape)
	if _, ok := seedShape["items"]; !ok || len(seedShape) != 1 {
		t.Errorf("/api/websites with every item on one page: keys %v", seedShape)
	}
}

// TestMonitorListMemoryBounded: at 1,000 monitors the default page reads,
// renders and allocates for 100 of them, not for all.
func TestMonitorListMemoryBounded(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	var me userJSON
	e.do(t, "GET", "/api/v1/me", tok, "").json(t, &me)
	for i := 0; i < 1000; i++ {
		_, err := e.st.CreateMonitor(context.Background(), store.Monitor{UserID: me.ID, Name: fmt.Sprint("service ", i),
			URL: fmt.Sprintf("https://svc%04d.example.test/health", i), Method: "GET", Interval: time.Minute,
			Timeout: 10 * time.Second, ExpectedStatus: "200-299", Confirmations: 2})
		if err != nil {
			t.Fatal(err)
		}
	}
	h := e.app.Handler()
	measure := func(q string) (alloc uint64, size int, items int) {
		req := httptest.NewRequest("GET", "/api/v1/monitors"+q, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		runtime.ReadMemStats(&after)
		var p pageOf
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != 200 {
			t.Fatalf("%s: %d %v", q, rec.Code, err)
		}
		return after.TotalAlloc - before.TotalAlloc, rec.Body.Len(), len(p.Items)
	}
	measure("") // warm caches
	pageAlloc, pageSize, n := measure("")
	allAlloc, allSize, all := measure("?limit=1000")
	t.Logf("default page: %d items, %d bytes, %d KB allocated; limit=1000: %d items, %d bytes, %d KB", n, pageSize, pageAlloc>>10, all, allSize, allAlloc>>10)
	if n != 100 || all != 1000 || pageSize*5 > allSize || pageAlloc*3 > allAlloc {
		t.Errorf("the default page is not bounded by its 100 items")
	}
}
