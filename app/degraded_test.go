package app

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/upwatch/upwatch/store"
)

func TestFaviconDegradedIsUp(t *testing.T) {
	for _, tt := range []struct {
		counts map[string]int
		want   string
	}{
		{map[string]int{}, ""},
		{map[string]int{store.StatusPending: 1}, ""},
		{map[string]int{store.StatusDegraded: 1}, "up"},
		{map[string]int{store.StatusDegraded: 1, store.StatusUp: 2}, "up"},
		{map[string]int{store.StatusDegraded: 1, store.StatusDown: 1}, "down"},
	} {
		if got := favicon(tt.counts); got != tt.want {
			t.Errorf("favicon(%v) = %q, want %q", tt.counts, got, tt.want)
		}
	}
	if !(statusOrder[store.StatusDown] < statusOrder[store.StatusDegraded] && statusOrder[store.StatusDegraded] < statusOrder[store.StatusPending]) {
		t.Errorf("statusOrder %v: degraded is not right after down", statusOrder)
	}
}

func TestDegradedPages(t *testing.T) {
	e := newEnv(t)
	c := browser(t)
	base := e.srv.URL
	if code, _, _ := post(t, c, base+"/setup", url.Values{"email": {"me@example.com"}, "password": {"password123"}, "password_confirm": {"password123"}}); code != 303 {
		t.Fatalf("setup: %d", code)
	}
	ctx := context.Background()
	u, err := e.st.UserByEmail(ctx, "me@example.com")
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name string) store.Monitor {
		m, err := e.st.CreateMonitor(ctx, store.Monitor{UserID: u.ID, Name: name, URL: "https://" + name + ".example/", Method: "GET",
			Interval: time.Minute, Timeout: 10 * time.Second, ExpectedStatus: "200-299", Confirmations: 1, DegradedLatency: 800 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	fast, slow := mk("fast"), mk("slow")
	at := e.clock.Now().UTC().Truncate(time.Second).Add(-time.Minute)
	err = e.st.SaveChecks(ctx, []store.Check{
		{MonitorID: fast.ID, Region: "local", At: at, OK: true, StatusCode: 200, Latency: 20 * time.Millisecond},
		{MonitorID: slow.ID, Region: "local", At: at, OK: true, Degraded: true, StatusCode: 200, Latency: 1234 * time.Millisecond,
			Reason: "slow", Error: "took 1.2 s, more than 800 ms"},
	}, []store.StateUpdate{
		{MonitorID: fast.ID, State: store.MonitorState{Status: store.StatusUp, Since: at}},
		{MonitorID: slow.ID, State: store.MonitorState{Status: store.StatusDegraded, Since: at},
			Transition: &store.Transition{MonitorID: slow.ID, From: store.StatusPending, To: store.StatusDegraded, At: at, Reason: "slow"}},
	})
	if err != nil {
		t.Fatal(err)
	}

	code, _, body := get(t, c, base+"/?bars=hours")
	if code != 200 {
		t.Fatalf("overview: %d", code)
	}
	for _, want := range []string{
		`data-count="degraded">1<`, `data-count="up">1<`, `2 monitors`,
		`pill pill-degraded`, `<span class="mon-warn">Slow response: took 1.2 s, more than 800 ms</span>`,
		`b4 bd" title=`, `1 up, 0 down · 1 degraded`, `favicon-up.`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	// Sorted by status: the degraded one before the up one.
	if i, j := strings.Index(body, `data-monitor-id="`+itoa(slow.ID)+`"`), strings.Index(body, `data-monitor-id="`+itoa(fast.ID)+`"`); i < 0 || j < 0 || i > j {
		t.Errorf("degraded row at %d, up row at %d", i, j)
	}

	// The state filter is accepted and applied.
	code, _, body = get(t, c, base+"/?state=degraded")
	if code != 200 || !strings.Contains(body, `<option value="degraded" selected>`) ||
		!strings.Contains(body, `data-monitor-id="`+itoa(slow.ID)+`"`) || strings.Contains(body, `data-monitor-id="`+itoa(fast.ID)+`"`) {
		t.Errorf("state=degraded: %d", code)
	}

	code, _, body = get(t, c, base+"/monitors/"+itoa(slow.ID))
	if code != 200 {
		t.Fatalf("monitor page: %d", code)
	}
	for _, want := range []string{
		`data-status="degraded"`, `status-card-degraded`, `alert alert-degraded`,
		`<p>Slow response: took 1.2 s, more than 800 ms</p>`,
		`class="uptime-degraded" title="1 degraded check, counted as up">100% degraded<`,
		`check-degraded`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("monitor page lacks %q", want)
		}
	}
	code, _, body = get(t, c, base+"/monitors/"+itoa(fast.ID))
	if code != 200 || strings.Contains(body, "uptime-degraded") || strings.Contains(body, "check-degraded") || strings.Contains(body, "alert-degraded") {
		t.Errorf("an up monitor's page shows degraded bits: %d", code)
	}
}
