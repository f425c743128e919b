package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/internal/testredis"
	"github.com/upwatch/upwatch/settings"
	"github.com/upwatch/upwatch/store"
)

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("decode %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("decode want %s: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

// asMap decodes a JSON object body.
func asMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return m
}

// pushTokenRE is a push URL's path with a token of at least 128 bits in
// URL-safe base64.
var pushTokenRE = regexp.MustCompile(`^/ping/([A-Za-z0-9_-]{22,64})$`)

func pushToken(t *testing.T, pushURL string) string {
	t.Helper()
	m := pushTokenRE.FindStringSubmatch(pushURL)
	if m == nil {
		t.Fatalf("push_url %q is not /ping/<token of >= 22 URL-safe chars>", pushURL)
	}
	return m[1]
}

func TestKindsCreate(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	pingErr := checker.PingAvailable()
	cases := []struct {
		name, body string
		typ, url   string
		settings   string // normalised, defaults filled
		conf       int
		degradedMS int64
	}{
		{"tcp", `{"name":"NAS ssh","type":"tcp","settings":{"host":"127.0.0.1","port":22}}`,
			"tcp", "127.0.0.1:22", `{"host":"127.0.0.1","port":22}`, 2, 0},
		{"ping", `{"name":"Router","type":"ping","settings":{"host":"127.0.0.1"}}`,
			"ping", "127.0.0.1", `{"host":"127.0.0.1","count":3,"max_loss_percent":50}`, 2, 0},
		{"dns", `{"name":"Pi-hole","type":"dns","settings":{"name":"example.org","record_type":"A","resolver":"127.0.0.1:53","expect":["93.184.215.14"]}}`,
			"dns", "example.org A", `{"name":"example.org","record_type":"A","resolver":"127.0.0.1:53","protocol":"udp","expect":["93.184.215.14"],"expect_mode":"any"}`, 2, 0},
		{"tls", `{"name":"Cert","type":"tls","settings":{"host":"127.0.0.1","port":443,"warn_days":14}}`,
			"tls", "127.0.0.1:443", `{"host":"127.0.0.1","port":443,"warn_days":14,"verify_tls":true}`, 2, 0},
		{"push period", `{"name":"Backup","type":"push","settings":{"period_seconds":86400,"grace_seconds":3600}}`,
			"push", "", `{"period_seconds":86400,"grace_seconds":3600}`, 1, 0},
		{"push cron", `{"name":"Nightly","type":"push","settings":{"cron":"0 3 * * *","timezone":"Europe/Berlin","grace_seconds":1800}}`,
			"push", "", `{"cron":"0 3 * * *","timezone":"Europe/Berlin","grace_seconds":1800}`, 1, 0},
		{"http degraded", `{"name":"Slow site","url":"http://127.0.0.1:1/","degraded_latency_ms":800}`,
			"http", "http://127.0.0.1:1/", `{}`, 2, 800},
	}
	var created []int64
	tokens := map[string]string{}
	var httpKeys []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, "POST", "/api/v1/monitors", tok, c.body)
			if c.typ == "ping" && pingErr != nil {
				// No ICMP here: the create is refused, naming the type.
				var p problem
				r.json(t, &p)
				if r.code != 422 || p.Field != "type" {
					t.Fatalf("ping without ICMP: %d %s", r.code, r.body)
				}
				if os.Getenv("CI") == "true" {
					t.Fatalf("ICMP must be available in CI: %v", pingErr)
				}
				t.Skipf("ICMP not available: %v", pingErr)
			}
			if r.code != 201 || r.hdr.Get("Content-Type") != "application/json" {
				t.Fatalf("create: %d %s %s", r.code, r.hdr.Get("Content-Type"), r.body)
			}
			var m monitorJSON
			r.json(t, &m)
			created = append(created, m.ID)
			if r.hdr.Get("Location") != "/api/v1/monitors/"+itoa(m.ID) {
				t.Errorf("Location %q", r.hdr.Get("Location"))
			}
			if m.Type != c.typ || m.URL != c.url || m.Confirmations != c.conf || m.DegradedMS != c.degradedMS || m.Status != "pending" {
				t.Errorf("type %q url %q confirmations %d degraded %d status %q; want %q %q %d %d pending",
					m.Type, m.URL, m.Confirmations, m.DegradedMS, m.Status, c.typ, c.url, c.conf, c.degradedMS)
			}
			if !sameJSON(t, m.Settings, c.settings) {
				t.Errorf("settings %s, want %s", m.Settings, c.settings)
			}
			if m.IntervalSeconds != 60 || m.TimeoutSeconds != 10 || m.Paused {
				t.Errorf("defaults: interval %d timeout %d paused %v", m.IntervalSeconds, m.TimeoutSeconds, m.Paused)
			}
			if c.typ != "http" && (m.Method != "GET" || len(m.Headers) != 0 || m.Body != "" || m.ExpectedStatus != checker.DefaultStatusRanges) {
				t.Errorf("HTTP fields of a %s monitor: %q %v %q %q", c.typ, m.Method, m.Headers, m.Body, m.ExpectedStatus)
			}
			raw := asMap(t, r.body)
			if c.typ == "push" {
				pt := pushToken(t, m.PushURL)
				if other, dup := tokens[pt]; dup {
					t.Errorf("push token shared with %s", other)
				}
				tokens[pt] = c.name
				if b, _ := base64.RawURLEncoding.DecodeString(pt); len(b) < 16 {
					t.Errorf("push token %q holds %d bytes, want >= 16", pt, len(b))
				}
				if v, ok := raw["last_body"]; !ok || v != "" {
					t.Errorf("push monitor's last_body: %v %v", v, ok)
				}
				if stored, err := e.st.MonitorByID(context.Background(), m.ID); err != nil || stored.PushToken != pt {
					t.Errorf("stored token %q, URL's %q (%v)", stored.PushToken, pt, err)
				}
			} else {
				for _, k := range []string{"push_url", "last_body"} {
					if _, ok := raw[k]; ok {
						t.Errorf("%s monitor has %s: %s", c.typ, k, r.body)
					}
				}
			}
			if c.typ == "http" {
				for k := range raw {
					httpKeys = append(httpKeys, k)
				}
			}
			g := e.do(t, "GET", "/api/v1/monitors/"+itoa(m.ID), tok, "")
			if g.code != 200 || !reflect.DeepEqual(asMap(t, g.body), raw) {
				t.Errorf("GET differs from the create's answer:\n%s\n%s", g.body, r.body)
			}
		})
	}

	// The seed's alias makes an http monitor of the same shape.
	r := e.do(t, "POST", "/api/websites", tok, `{"name":"x","url":"http://127.0.0.1:1/"}`)
	if r.code != 201 {
		t.Fatalf("alias create: %d %s", r.code, r.body)
	}
	var a monitorJSON
	r.json(t, &a)
	created = append(created, a.ID)
	if a.Type != "http" || string(a.Settings) != "{}" || a.URL != "http://127.0.0.1:1/" || a.DegradedMS != 0 || a.PushURL != "" {
		t.Errorf("alias monitor: %+v", a)
	}
	var aliasKeys []string
	for k := range asMap(t, r.body) {
		aliasKeys = append(aliasKeys, k)
	}
	slices.Sort(aliasKeys)
	slices.Sort(httpKeys)
	if !slices.Equal(aliasKeys, httpKeys) {
		t.Errorf("alias shape %v, v1 shape %v", aliasKeys, httpKeys)
	}
	var list struct{ Items []monitorJSON }
	e.do(t, "GET", "/api/v1/monitors", tok, "").json(t, &list)
	if len(list.Items) != len(created) {
		t.Errorf("list: %d items, created %d", len(list.Items), len(created))
	}
	e.sched.mu.Lock()
	defer e.sched.mu.Unlock()
	if !slices.Equal(e.sched.rescheduled, created) {
		t.Errorf("checker told of %v, created %v", e.sched.rescheduled, created)
	}
}

func TestKindsBadInput(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	cases := []struct {
		name, body, field, msg string
	}{
		{"unknown type", `{"name":"a","type":"smtp"}`, "type", "must be one of http, tcp, ping, dns, tls, push"},
		{"tcp port", `{"name":"a","type":"tcp","settings":{"host":"x","port":70000}}`, "settings.port", "between 1 and 65535"},
		{"tcp no host", `{"name":"a","type":"tcp","settings":{"port":22}}`, "settings.host", "required"},
		{"another type's setting", `{"name":"a","type":"tcp","settings":{"host":"x","port":22,"record_type":"A"}}`, "settings.record_type", "unknown field"},
		{"tcp with url", `{"name":"a","type":"tcp","url":"http://x/","settings":{"host":"x","port":22}}`, "url", "only for http monitors"},
		{"tcp with method", `{"name":"a","type":"tcp","method":"POST","settings":{"host":"x","port":22}}`, "method", "only for http monitors"},
		{"dns record type", `{"name":"a","type":"dns","settings":{"name":"example.org","record_type":"XYZ"}}`, "settings.record_type", "must be one of"},
		{"push cron and period", `{"name":"a","type":"push","settings":{"cron":"0 3 * * *","period_seconds":3600}}`, "settings.cron", "not both"},
		{"push no schedule", `{"name":"a","type":"push"}`, "settings.period_seconds", "set a period"},
		{"cron 6 fields", `{"name":"a","type":"push","settings":{"cron":"* * * * * *"}}`, "settings.cron", "must have 5 fields"},
		{"degraded negative", `{"name":"a","url":"http://127.0.0.1:1/","degraded_latency_ms":-1}`, "degraded_latency_ms", "from 0"},
		{"settings array", `{"name":"a","type":"tcp","settings":[1]}`, "settings", "JSON object"},
		{"http settings array", `{"name":"a","url":"http://127.0.0.1:1/","settings":[1]}`, "settings", "JSON object"},
		{"http unknown setting", `{"name":"a","url":"http://127.0.0.1:1/","settings":{"colour":"red"}}`, "settings.colour", "unknown field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(t, "POST", "/api/v1/monitors", tok, c.body)
			var p problem
			r.json(t, &p)
			if r.code != 422 || r.hdr.Get("Content-Type") != "application/problem+json" || p.Status != 422 || p.Title != "Invalid input" {
				t.Fatalf("%d %s %s", r.code, r.hdr.Get("Content-Type"), r.body)
			}
			if p.Field != c.field || !strings.Contains(p.Detail, c.msg) {
				t.Errorf("field %q detail %q; want field %q saying %q", p.Field, p.Detail, c.field, c.msg)
			}
			if len(p.Errors) == 0 || p.Errors[0].Field != c.field || !strings.Contains(p.Errors[0].Message, c.msg) {
				t.Errorf("errors %+v", p.Errors)
			}
			// The raw document uses the problem+json names.
			raw := asMap(t, r.body)
			for _, k := range []string{"type", "title", "status", "detail", "field", "errors"} {
				if _, ok := raw[k]; !ok {
					t.Errorf("problem lacks %q: %s", k, r.body)
				}
			}
		})
	}
	var list struct{ Items []monitorJSON }
	e.do(t, "GET", "/api/v1/monitors", tok, "").json(t, &list)
	if len(list.Items) != 0 {
		t.Errorf("bad input stored %d monitors", len(list.Items))
	}
	e.sched.mu.Lock()
	defer e.sched.mu.Unlock()
	if len(e.sched.rescheduled) != 0 {
		t.Errorf("checker told of %v", e.sched.rescheduled)
	}
}

func TestKindsPatch(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	ctx := context.Background()
	var m monitorJSON
	r := e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"web","url":"http://127.0.0.1:1/","method":"POST",
		"headers":{"X-A":"1"},"body":"hi","expected_status":"200","confirmations":3}`)
	if r.code != 201 {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	r.json(t, &m)
	path := "/api/v1/monitors/" + itoa(m.ID)
	patch := func(t *testing.T, body string) (monitorJSON, map[string]any) {
		t.Helper()
		r := e.do(t, "PATCH", path, tok, body)
		if r.code != 200 {
			t.Fatalf("PATCH %s: %d %s", body, r.code, r.body)
		}
		var out monitorJSON
		r.json(t, &out)
		return out, asMap(t, r.body)
	}
	noPush := func(t *testing.T, raw map[string]any) {
		t.Helper()
		for _, k := range []string{"push_url", "last_body"} {
			if _, ok := raw[k]; ok {
				t.Errorf("non-push monitor has %s", k)
			}
		}
		if s, _ := e.st.MonitorByID(ctx, m.ID); s.PushToken != "" {
			t.Errorf("non-push monitor keeps push token %q", s.PushToken)
		}
	}

	// http → tcp: the HTTP request fields go, url names the target.
	u, raw := patch(t, `{"type":"tcp","settings":{"host":"127.0.0.1","port":22}}`)
	if u.Type != "tcp" || u.URL != "127.0.0.1:22" || u.Method != "GET" || len(u.Headers) != 0 || u.Body != "" ||
		u.ExpectedStatus != checker.DefaultStatusRanges || u.Confirmations != 3 || u.Name != "web" ||
		!sameJSON(t, u.Settings, `{"host":"127.0.0.1","port":22}`) {
		t.Errorf("http → tcp: %+v", u)
	}
	noPush(t, raw)

	// Refused changes leave it as it was.
	for _, c := range []struct{ body, field string }{
		{`{"url":"http://127.0.0.1:2/"}`, "url"},
		{`{"headers":{"X":"y"}}`, "headers"},
		{`{"type":"dns"}`, "settings.name"},
		{`{"settings":{"host":"127.0.0.1","port":0}}`, "settings.port"},
		{`{"type":"nope"}`, "type"},
	} {
		r := e.do(t, "PATCH", path, tok, c.body)
		var p problem
		r.json(t, &p)
		if r.code != 422 || p.Field != c.field {
			t.Errorf("PATCH %s: %d field %q, want 422 %q", c.body, r.code, p.Field, c.field)
		}
	}
	if s, _ := e.st.MonitorByID(ctx, m.ID); s.Type != "tcp" || s.URL != "127.0.0.1:22" || !sameJSON(t, s.Settings, `{"host":"127.0.0.1","port":22}`) {
		t.Errorf("refused PATCH changed the monitor: %+v", s)
	}

	// Only the name: settings stay.
	u, _ = patch(t, `{"name":"NAS"}`)
	if u.Name != "NAS" || u.Type != "tcp" || u.URL != "127.0.0.1:22" || !sameJSON(t, u.Settings, `{"host":"127.0.0.1","port":22}`) {
		t.Errorf("name only: %+v", u)
	}
	// New settings of the same type move the target.
	u, _ = patch(t, `{"settings":{"host":"127.0.0.1","port":2222,"expect":"SSH-"}}`)
	if u.URL != "127.0.0.1:2222" || !sameJSON(t, u.Settings, `{"host":"127.0.0.1","port":2222,"expect":"SSH-"}`) {
		t.Errorf("tcp settings: %+v", u)
	}

	// tcp → push: a push URL, a stable one.
	u, raw = patch(t, `{"type":"push","settings":{"period_seconds":3600}}`)
	first := pushToken(t, u.PushURL)
	if u.Type != "push" || u.URL != "" || !sameJSON(t, u.Settings, `{"period_seconds":3600,"grace_seconds":3600}`) {
		t.Errorf("tcp → push: %+v", u)
	}
	if v, ok := raw["last_body"]; !ok || v != "" {
		t.Errorf("push last_body %v %v", v, ok)
	}
	if u, _ = patch(t, `{"name":"job"}`); u.PushURL != "/ping/"+first || !sameJSON(t, u.Settings, `{"period_seconds":3600,"grace_seconds":3600}`) {
		t.Errorf("rename changed the push monitor: %+v", u)
	}
	if u, _ = patch(t, `{"settings":{"cron":"@daily"}}`); u.PushURL != "/ping/"+first || !sameJSON(t, u.Settings, `{"cron":"@daily","timezone":"UTC","grace_seconds":3600}`) {
		t.Errorf("new schedule: %+v", u)
	}

	// push → tcp drops the token; back to push makes a new one.
	_, raw = patch(t, `{"type":"tcp","settings":{"host":"127.0.0.1","port":22}}`)
	noPush(t, raw)
	u, _ = patch(t, `{"type":"push","settings":{"period_seconds":60,"grace_seconds":0}}`)
	if second := pushToken(t, u.PushURL); second == first {
		t.Errorf("push token reused after the monitor was another type: %q", second)
	}

	// push → http needs a URL again.
	if r := e.do(t, "PATCH", path, tok, `{"type":"http"}`); r.code != 422 {
		t.Errorf("push → http without url: %d %s", r.code, r.body)
	}
	u, raw = patch(t, `{"type":"http","url":"http://127.0.0.1:1/x"}`)
	if u.Type != "http" || u.URL != "http://127.0.0.1:1/x" || string(u.Settings) != "{}" || u.Method != "GET" {
		t.Errorf("push → http: %+v", u)
	}
	noPush(t, raw)
	e.sched.mu.Lock()
	n := len(e.sched.rescheduled)
	e.sched.mu.Unlock()
	if n != 1+9 { // the create and each accepted PATCH
		t.Errorf("checker told %d times, want 10", n)
	}
}

func TestKindsHTTPSecretSettings(t *testing.T) {
	ht, _ := checker.LookupType(checker.TypeHTTP)
	if !slices.ContainsFunc(ht.Fields, func(f settings.FieldInfo) bool { return f.Name == "bearer_token" && f.Secret }) {
		t.Fatal("the http type has no secret bearer_token setting")
	}
	e := newEnv(t)
	tok := e.signup(t)
	ctx := context.Background()
	r := e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"api","url":"http://127.0.0.1:1/","settings":{"bearer_token":"s3cret"}}`)
	if r.code != 201 {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	var m monitorJSON
	r.json(t, &m)
	secretOf := func(raw json.RawMessage) string {
		var s struct {
			BearerToken string `json:"bearer_token"`
		}
		_ = json.Unmarshal(raw, &s)
		return s.BearerToken
	}
	if strings.Contains(string(r.body), "s3cret") || secretOf(m.Settings) != settings.Redacted {
		t.Errorf("create answer shows the secret: %s", m.Settings)
	}
	g := e.do(t, "GET", "/api/v1/monitors/"+itoa(m.ID), tok, "")
	if strings.Contains(string(g.body), "s3cret") {
		t.Errorf("GET shows the secret: %s", g.body)
	}
	var got monitorJSON
	g.json(t, &got)
	if secretOf(got.Settings) != settings.Redacted {
		t.Errorf("GET settings %s, want bearer_token %q", got.Settings, settings.Redacted)
	}
	// Sending the redacted settings back keeps the stored secret.
	body, _ := json.Marshal(map[string]any{"settings": got.Settings})
	if r := e.do(t, "PATCH", "/api/v1/monitors/"+itoa(m.ID), tok, string(body)); r.code != 200 || strings.Contains(string(r.body), "s3cret") {
		t.Fatalf("PATCH redacted back: %d %s", r.code, r.body)
	}
	owner, err := e.st.MonitorByID(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := e.st.GetMonitor(ctx, owner.UserID, m.ID)
	if err != nil || secretOf(stored.Settings) != "s3cret" {
		t.Errorf("stored secret after round trip: %s %v", stored.Settings, err)
	}
	// A new value replaces it.
	e.do(t, "PATCH", "/api/v1/monitors/"+itoa(m.ID), tok, `{"settings":{"bearer_token":"other"}}`)
	if s, _ := e.st.MonitorByID(ctx, m.ID); secretOf(s.Settings) != "other" {
		t.Errorf("new secret not stored: %s", s.Settings)
	}
}

func TestMonitorTypesAPI(t *testing.T) {
	e := newEnv(t)
	if r := e.do(t, "GET", "/api/v1/monitor-types", "", ""); r.code != 401 || r.hdr.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("anonymous: %d %s", r.code, r.hdr.Get("Content-Type"))
	}
	tok := e.signup(t)
	r := e.do(t, "GET", "/api/v1/monitor-types", tok, "")
	if r.code != 200 || r.hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("monitor-types: %d %s", r.code, r.body)
	}
	var out struct {
		Items []struct {
			Type    string               `json:"type"`
			Label   string               `json:"label"`
			Help    string               `json:"help"`
			Remote  bool                 `json:"remote"`
			Fields  []settings.FieldInfo `json:"fields"`
			Reasons []map[string]string  `json:"reasons"`
		} `json:"items"`
	}
	r.json(t, &out)
	var names []string
	for _, it := range out.Items {
		names = append(names, it.Type)
		if it.Label == "" || it.Help == "" || len(it.Reasons) == 0 {
			t.Errorf("%s: label %q help %q reasons %v", it.Type, it.Label, it.Help, it.Reasons)
		}
		if it.Remote != (it.Type != "push") {
			t.Errorf("%s: remote %v", it.Type, it.Remote)
		}
		for _, rs := range it.Reasons {
			if len(rs) != 2 || rs["code"] == "" || rs["label"] == "" || rs["label"] == rs["code"] {
				t.Errorf("%s: reason %v is not {code,label}", it.Type, rs)
			}
		}
	}
	if !slices.Equal(names, []string{"http", "tcp", "ping", "dns", "tls", "push"}) {
		t.Errorf("types %v", names)
	}
	// Spot checks of the field tables, and the raw shape of each item.
	var raw struct{ Items []map[string]json.RawMessage }
	r.json(t, &raw)
	for i, it := range raw.Items {
		for _, k := range []string{"type", "label", "help", "fields", "reasons", "remote"} {
			if _, ok := it[k]; !ok {
				t.Errorf("item %d lacks %q", i, k)
			}
		}
		if string(it["fields"]) == "null" {
			t.Errorf("%s: fields is null, want a list", names[i])
		}
	}
	fieldNames := func(typ string) []string {
		for _, it := range out.Items {
			if it.Type == typ {
				var n []string
				for _, f := range it.Fields {
					n = append(n, f.Name)
				}
				return n
			}
		}
		return nil
	}
	for typ, want := range map[string][]string{
		"tcp":  {"host", "port", "send", "expect"},
		"ping": {"host", "count", "max_loss_percent"},
		"tls":  {"host", "port", "warn_days", "verify_tls", "server_name"},
		"push": {"period_seconds", "cron", "timezone", "grace_seconds"},
	} {
		if got := fieldNames(typ); !slices.Equal(got, want) {
			t.Errorf("%s fields %v, want %v", typ, got, want)
		}
	}
	for _, it := range out.Items {
		if it.Type != "dns" {
			continue
		}
		for _, f := range it.Fields {
			if f.Name == "record_type" && (f.Kind != settings.KindSelect || !slices.Contains(f.Options, "AAAA") || f.Default != "A") {
				t.Errorf("dns record_type field: %+v", f)
			}
		}
	}
}

// pingEnv is an app wired to a real checker (no local workers: push
// monitors need none).
func pingEnv(t *testing.T) *env {
	t.Helper()
	var c *checker.Checker
	e := newEnvWith(t, func(d *Deps) {
		c = checker.New(d.Store, checker.NewQueue(testredis.Mini(t).Client), checker.Config{LocalWorkers: -1, Logger: slog.New(slog.DiscardHandler)})
		d.Push, d.Scheduler = c, c
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("checker: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("checker did not stop")
		}
	})
	return e
}

// pollUntil polls cond every few milliseconds for up to 5 s and fails
// the test with what() when it never holds.
func pollUntil(t *testing.T, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s: %s", what())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func randomPushToken(t *testing.T) string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestPingEndpoints(t *testing.T) {
	e := pingEnv(t)
	tok := e.signup(t)
	ctx := context.Background()
	r := e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"Backup","type":"push","settings":{"period_seconds":86400}}`)
	if r.code != 201 {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	var m monitorJSON
	r.json(t, &m)
	ping := m.PushURL
	pushToken(t, ping)
	get := func() monitorJSON {
		var out monitorJSON
		e.do(t, "GET", "/api/v1/monitors/"+itoa(m.ID), tok, "").json(t, &out)
		return out
	}
	waitStatus := func(status string) monitorJSON {
		t.Helper()
		var cur monitorJSON
		pollUntil(t, func() string { return "status " + cur.Status + ", want " + status },
			func() bool { cur = get(); return cur.Status == status })
		return cur
	}
	okPing := func(method, path, body string) {
		t.Helper()
		r := e.do(t, method, path, "", body) // no session, no API token
		want := "OK\n"
		if method == "HEAD" {
			want = ""
		}
		if r.code != 200 || string(r.body) != want || !strings.HasPrefix(r.hdr.Get("Content-Type"), "text/plain") || r.hdr.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s %s: %d %q %v", method, path, r.code, r.body, r.hdr)
		}
	}
	checks := func() int {
		cs, err := e.st.ListChecks(ctx, m.ID, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return len(cs)
	}

	// A success ping: up.
	okPing("GET", ping, "")
	if got := waitStatus("up"); got.LastCheck == nil || !got.LastCheck.OK {
		t.Errorf("after a ping: %+v", got.LastCheck)
	}

	// A failure with its output: down at once (confirmations 1), and the
	// incident quotes it.
	okPing("POST", ping+"/fail", "backup failed: disk full")
	down := waitStatus("down")
	if down.LastCheck == nil || down.LastCheck.Reason != "fail" || down.LastBody == nil || *down.LastBody != "backup failed: disk full" {
		t.Errorf("after /fail: %+v body %v", down.LastCheck, down.LastBody)
	}
	var inc struct {
		Items []incidentJSON `json:"items"`
	}
	e.do(t, "GET", "/api/v1/monitors/"+itoa(m.ID)+"/incidents", tok, "").json(t, &inc)
	if len(inc.Items) != 1 || inc.Items[0].Excerpt != "backup failed: disk full" || inc.Items[0].Reason != "fail" || inc.Items[0].Status != "open" {
		t.Errorf("incidents: %+v", inc.Items)
	}

	// A body over the cap is cut to exactly store.MaxPushBody bytes.
	okPing("POST", ping, strings.Repeat("x", store.MaxPushBody+500))
	pollUntil(t, func() string { return "the long body not stored" }, func() bool {
		s, _ := e.st.MonitorByID(ctx, m.ID)
		return s.State.Status == "up" && len(s.LastBody) == store.MaxPushBody && strings.Trim(s.LastBody, "x") == ""
	})
	if got := get(); got.LastBody == nil || len(*got.LastBody) != store.MaxPushBody {
		t.Errorf("API last_body is not the cut body")
	}
	// Cut inside a multi-byte character: still valid UTF-8, within the cap.
	okPing("POST", ping, "a"+strings.Repeat("é", store.MaxPushBody))
	pollUntil(t, func() string { return "the long UTF-8 body not stored" }, func() bool {
		s, _ := e.st.MonitorByID(ctx, m.ID)
		return strings.HasPrefix(s.LastBody, "aé")
	})
	if s, _ := e.st.MonitorByID(ctx, m.ID); !utf8.ValidString(s.LastBody) || len(s.LastBody) > store.MaxPushBody || len(s.LastBody) < store.MaxPushBody-3 {
		t.Errorf("cut UTF-8 body: %d bytes, valid %v", len(s.LastBody), utf8.ValidString(s.LastBody))
	}

	// Exit codes.
	okPing("GET", ping+"/3", "")
	if got := waitStatus("down"); got.LastCheck == nil || got.LastCheck.Error != "the job exited with code 3" {
		t.Errorf("after /3: %+v", got.LastCheck)
	}
	okPing("HEAD", ping+"/0", "")
	waitStatus("up")
	before := checks()

	// start and log store no check; log keeps its body.
	okPing("GET", ping+"/start", "")
	okPing("POST", ping+"/log", "step 2 of 5")
	if s, _ := e.st.MonitorByID(ctx, m.ID); s.LastBody != "step 2 of 5" {
		t.Errorf("last_body after /log: %q", s.LastBody)
	}
	if got := get(); got.LastBody == nil || *got.LastBody != "step 2 of 5" || got.Status != "up" {
		t.Errorf("API after /log: %+v", got)
	}

	// Unknown tokens, bad actions and methods: nothing stored.
	for _, c := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/ping/" + randomPushToken(t), 404},
		{"POST", "/ping/" + randomPushToken(t) + "/fail", 404},
		{"GET", "/ping/short", 404},
		{"GET", ping + "/256", 404},
		{"GET", ping + "/abc", 404},
		{"GET", ping + "/-1", 404},
		{"GET", ping + "/01", 404},
		{"PUT", ping, 405},
		{"DELETE", ping + "/fail", 405},
	} {
		r := e.do(t, c.method, c.path, "", "body")
		if r.code != c.code {
			t.Errorf("%s %s: %d, want %d (%s)", c.method, c.path, r.code, c.code, r.body)
		}
		if c.code == 405 && r.hdr.Get("Allow") != "GET, HEAD, POST" {
			t.Errorf("%s %s: Allow %q", c.method, c.path, r.hdr.Get("Allow"))
		}
	}
	time.Sleep(300 * time.Millisecond) // let anything wrongly queued reach the store
	if n := checks(); n != before {
		t.Errorf("checks went from %d to %d without a judging ping", before, n)
	}
	if s, _ := e.st.MonitorByID(ctx, m.ID); s.LastBody != "step 2 of 5" || s.State.Status != "up" {
		t.Errorf("after refused pings: %q %s", s.LastBody, s.State.Status)
	}

	// A flood on one token is throttled; another monitor does not notice.
	r = e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"Loop","type":"push","settings":{"period_seconds":60}}`)
	var loop monitorJSON
	r.json(t, &loop)
	pushToken(t, loop.PushURL)
	var ok, limited int
	for range 60 {
		r := e.do(t, "GET", loop.PushURL, "", "")
		switch r.code {
		case 200:
			ok++
		case 429:
			limited++
			if r.hdr.Get("Retry-After") == "" || string(r.body) != "too many pings\n" {
				t.Errorf("429: Retry-After %q body %q", r.hdr.Get("Retry-After"), r.body)
			}
		default:
			t.Fatalf("flood: %d %s", r.code, r.body)
		}
	}
	// The app's clock stands still here, so the bucket never refills:
	// exactly the burst gets through.
	if ok != pingBurst || limited != 60-pingBurst {
		t.Errorf("flood of 60: %d ok, %d limited; want %d ok", ok, limited, pingBurst)
	}
	okPing("GET", ping, "")
}
