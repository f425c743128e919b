package app

import (
	"context"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/upwatch/upwatch/store"
)

// /metrics in Prometheus's text format, parsed with its own parser:
// blackbox_exporter's probe_* names with monitor labels, upwatch's state
// and uptime; a metrics token reads it and nothing else; anonymous
// scrapes need METRICS_ALLOW.
func TestMetrics(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	var m struct{ ID int64 }
	if r := e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"Jelly \"fin\"","url":"https://user:secret@media.example/health"}`); r.code != 201 {
		t.Fatalf("create: %d %s", r.code, r.body)
	} else {
		r.json(t, &m)
	}
	at := e.clock.Now().Add(-time.Minute).Truncate(time.Millisecond)
	chk := store.Check{MonitorID: m.ID, Region: "local", At: at, OK: true, StatusCode: 200, Latency: 120 * time.Millisecond,
		Phases:     store.Phases{DNS: 5 * time.Millisecond, Connect: 10 * time.Millisecond, TLS: 30 * time.Millisecond, TTFB: 70 * time.Millisecond, Transfer: 5 * time.Millisecond},
		CertExpiry: time.Unix(1_900_000_000, 0)}
	if err := e.st.SaveChecks(context.Background(), []store.Check{chk}, []store.StateUpdate{{MonitorID: m.ID,
		State: store.MonitorState{Status: store.StatusUp, Since: at}, Transition: &store.Transition{MonitorID: m.ID, From: store.StatusPending, To: store.StatusUp, At: at}}}); err != nil {
		t.Fatal(err)
	}
	e.app.ObserveChecks([]store.Check{chk})

	if r := e.do(t, "GET", "/metrics", "", ""); r.code != 401 {
		t.Fatalf("anonymous scrape: %d", r.code)
	}
	var mt struct{ Token string }
	if r := e.do(t, "POST", "/api/v1/tokens", tok, `{"name":"prometheus","scope":"metrics"}`); r.code != 201 {
		t.Fatalf("metrics token: %d %s", r.code, r.body)
	} else {
		r.json(t, &mt)
	}
	if r := e.do(t, "GET", "/api/v1/monitors", mt.Token, ""); r.code != 403 {
		t.Errorf("a metrics token on the API: %d", r.code)
	}
	r := e.do(t, "GET", "/metrics", mt.Token, "")
	if r.code != 200 || !strings.HasPrefix(r.hdr.Get("Content-Type"), "text/plain") {
		t.Fatalf("scrape: %d %s", r.code, r.hdr.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(r.body)))
	if err != nil {
		t.Fatalf("not Prometheus text: %v\n%s", err, r.body)
	}
	value := func(name string, labels map[string]string) (float64, bool) {
		f, ok := families[name]
		if !ok {
			return 0, false
		}
	next:
		for _, mm := range f.Metric {
			got := map[string]string{}
			for _, l := range mm.Label {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			if mm.Gauge != nil {
				return mm.Gauge.GetValue(), true
			}
			return mm.Counter.GetValue(), true
		}
		return 0, false
	}
	mon := map[string]string{"monitor_id": strconv.FormatInt(m.ID, 10), "monitor": `Jelly "fin"`, "type": "http", "target": "https://media.example/health"}
	with := func(k, v string) map[string]string {
		out := map[string]string{k: v}
		for a, b := range mon {
			out[a] = b
		}
		return out
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"probe_success", mon, 1},
		{"probe_duration_seconds", mon, 0.12},
		{"probe_http_status_code", mon, 200},
		{"probe_http_duration_seconds", with("phase", "resolve"), 0.005},
		{"probe_http_duration_seconds", with("phase", "connect"), 0.01},
		{"probe_http_duration_seconds", with("phase", "tls"), 0.03},
		{"probe_http_duration_seconds", with("phase", "processing"), 0.07},
		{"probe_http_duration_seconds", with("phase", "transfer"), 0.005},
		{"probe_dns_lookup_time_seconds", mon, 0.005},
		{"probe_ssl_earliest_cert_expiry", mon, 1_900_000_000},
		{"upwatch_monitor_status", with("status", "up"), 1},
		{"upwatch_monitor_status", with("status", "down"), 0},
		{"upwatch_monitor_uptime_ratio", with("window", "24h"), 1},
	} {
		got, ok := value(c.name, c.labels)
		if !ok || got < c.want-1e-9 || got > c.want+1e-9 {
			t.Errorf("%s%v = %v (found %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if strings.Contains(string(r.body), "secret") {
		t.Error("the target's credentials are in the metrics")
	}
	if _, ok := families["go_goroutines"]; !ok {
		t.Error("no process metrics for the admin")
	}

	// Another member's scrape has none of this monitor.
	if r := e.do(t, "POST", "/api/v1/users", tok, `{"email":"b@example.com","password":"password123"}`); r.code != 201 {
		t.Fatal(r.code)
	}
	var b struct{ Token string }
	e.do(t, "POST", "/api/v1/auth/login", "", `{"email":"b@example.com","password":"password123"}`).json(t, &b)
	if r := e.do(t, "GET", "/metrics", b.Token, ""); r.code != 200 || strings.Contains(string(r.body), "Jelly") || strings.Contains(string(r.body), "go_goroutines") {
		t.Errorf("another member's scrape: %d\n%s", r.code, r.body)
	}

	// METRICS_ALLOW opens it to a network, with every monitor.
	e2 := newEnvConfig(t, func(c *Config) { c.MetricsAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} }, nil)
	if r := e2.do(t, "GET", "/metrics", "", ""); r.code != http.StatusOK {
		t.Errorf("scrape from an allowed network: %d", r.code)
	}
}
