package checker

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/upwatch/upwatch/reason"
)

// httpSettingsFor validates settings as the API does and returns what is
// stored, so the probes below see normalised settings.
func httpSettingsFor(t *testing.T, raw string) json.RawMessage {
	t.Helper()
	norm, errs := ValidateSettings(TypeHTTP, json.RawMessage(raw))
	if len(errs) > 0 {
		t.Fatalf("settings %s: %v", raw, errs)
	}
	return norm
}

// bodyServer serves fixed bodies by path.
func bodyServer(t *testing.T, bodies map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := bodies[r.URL.Path]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
		}
		_, _ = io.WriteString(w, b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestProbeKeyword(t *testing.T) {
	long := strings.Repeat("filler text. ", 10000) + "Status: HEALTHY" // keyword far past the excerpt
	srv := bodyServer(t, map[string]string{
		"/ok":    "<html>Service is Healthy</html>",
		"/err":   "<html>Fatal ERROR: database unreachable</html>",
		"/long":  long,
		"/utf8":  "<p>ÉTAT: prêt</p>",
		"/blank": "",
	})
	p := newTestProber(t, HTTPOptions{})
	for _, tc := range []struct {
		name, path, settings string
		wantErr              string // "" for up
	}{
		{"present, any case", "/ok", `{"keyword":"healthy"}`, ""},
		{"present, same case", "/ok", `{"keyword":"Healthy","case_sensitive":true}`, ""},
		{"case mismatch", "/ok", `{"keyword":"healthy","case_sensitive":true}`, `keyword "healthy" not found`},
		{"missing", "/err", `{"keyword":"healthy"}`, `keyword "healthy" not found`},
		{"absent and absent", "/ok", `{"keyword":"error","keyword_absent":true}`, ""},
		{"absent but found", "/err", `{"keyword":"ERROR","keyword_absent":true}`, `keyword "ERROR" found`},
		{"absent, found only in another case", "/err", `{"keyword":"Error","keyword_absent":true,"case_sensitive":true}`, ""},
		{"past the excerpt", "/long", `{"keyword":"status: healthy"}`, ""},
		{"non-ASCII keyword, any case", "/utf8", `{"keyword":"état: PRÊT"}`, ""},
		{"non-ASCII keyword, same case", "/utf8", `{"keyword":"état","case_sensitive":true}`, `keyword "état" not found`},
		{"empty body", "/blank", `{"keyword":"ok"}`, `keyword "ok" not found`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := p.Probe(context.Background(), Spec{URL: srv.URL + tc.path, Timeout: 5 * time.Second, Settings: httpSettingsFor(t, tc.settings)})
			if tc.wantErr == "" {
				if !out.OK || out.Excerpt != "" {
					t.Fatalf("want up without excerpt, got %+v", out)
				}
				return
			}
			checkFailure(t, out, reason.Keyword)
			if out.Error != tc.wantErr {
				t.Errorf("error = %q, want %q", out.Error, tc.wantErr)
			}
			if out.StatusCode != http.StatusOK {
				t.Errorf("status = %d", out.StatusCode)
			}
		})
	}

	t.Run("excerpt is the original body start", func(t *testing.T) {
		out := p.Probe(context.Background(), Spec{URL: srv.URL + "/err", Timeout: 5 * time.Second, Settings: httpSettingsFor(t, `{"keyword":"healthy"}`)})
		// Not case-folded, although the search folded the body.
		if out.Excerpt != "<html>Fatal ERROR: database unreachable</html>" {
			t.Errorf("excerpt = %q", out.Excerpt)
		}
	})
	t.Run("beyond MaxBody", func(t *testing.T) {
		small := newTestProber(t, HTTPOptions{MaxBody: 4 << 10})
		out := small.Probe(context.Background(), Spec{URL: srv.URL + "/long", Timeout: 5 * time.Second, Settings: httpSettingsFor(t, `{"keyword":"healthy"}`)})
		checkFailure(t, out, reason.Keyword)
		if out.Error != `keyword "healthy" not found in the first 4 KiB` {
			t.Errorf("error = %q", out.Error)
		}
		if !strings.HasPrefix(out.Excerpt, "filler text.") || len(out.Excerpt) > excerptLen {
			t.Errorf("excerpt = %q", out.Excerpt)
		}
	})
	t.Run("status failure comes first", func(t *testing.T) {
		out := p.Probe(context.Background(), Spec{URL: srv.URL + "/nothing", Timeout: 5 * time.Second, Settings: httpSettingsFor(t, `{"keyword":"healthy"}`)})
		checkFailure(t, out, reason.Status)
	})
}

func TestProbeJSONAssertion(t *testing.T) {
	const doc = `{
		"status": "ok",
		"code": "OK-200",
		"queue": {"depth": 150, "ratio": 0.25},
		"id": 9007199254740993,
		"count": "42",
		"flags": {"on": true, "off": null},
		"regions": ["eu", "us", 3],
		"items": [{"name": "first"}, {"name": "last"}],
		"odd keys": {"it's": 1},
		"message": "all systems operational"
	}`
	srv := bodyServer(t, map[string]string{
		"/doc":      doc,
		"/html":     "<html><body>502 Bad Gateway</body></html>",
		"/trailing": `{"status":"ok"} {"more":1}`,
	})
	p := newTestProber(t, HTTPOptions{})
	for _, tc := range []struct {
		path, op, value string
		wantErr         string // "" for up
	}{
		{"$.status", "", "ok", ""},
		{"$.status", "==", "degraded", `$.status is "ok", expected == "degraded"`},
		{"$.status", "!=", "ok", `$.status is "ok", expected != "ok"`},
		{"$.status", "!=", "degraded", ""},
		{"$.queue.depth", "<", "100", "$.queue.depth is 150, expected < 100"},
		{"$.queue.depth", ">=", "150", ""},
		{"$.queue.depth", ">", "150", "$.queue.depth is 150, expected > 150"},
		{"$.queue.depth", "==", "150.0", ""},
		{"$.queue.depth", "==", "1.5e2", ""},
		{"$.queue.ratio", "<=", "0.25", ""},
		{"$.queue.ratio", "<", "0.25", "$.queue.ratio is 0.25, expected < 0.25"},
		{"$.id", "==", "9007199254740993", ""},
		{"$.id", "!=", "9007199254740992", ""},
		{"$.count", ">", "41", ""},                                     // a quoted number orders as a number
		{"$.count", "==", "42.0", `$.count is "42", expected == 42.0`}, // but equality of strings is exact
		{"$.status", "<", "5", `$.status is "ok", expected < 5 (not a number)`},
		{"$.flags.on", "==", "true", ""},
		{"$.flags.on", "==", "false", "$.flags.on is true, expected == false"},
		{"$.flags.off", "==", "null", ""},
		{"$.flags.off", "exists", "", ""},
		{"$.flags.gone", "exists", "", "$.flags.gone not found"},
		{"$.regions", "contains", "eu", ""},
		{"$.regions", "contains", "3", ""},
		{"$.regions", "contains", "asia", `$.regions is an array of 3, expected to contain "asia"`},
		{"$.regions[-1]", "==", "3", ""},
		{"$.regions[-4]", "exists", "", "$.regions[-4] not found"},
		{"$.message", "contains", "systems", ""},
		{"$.message", "contains", "degraded", `$.message is "all systems operational", expected to contain "degraded"`},
		{"$.queue.depth", "contains", "1", "$.queue.depth is 150, expected to contain 1 (not a string or an array)"},
		{"$.items[-1].name", "==", "last", ""},
		{"$.items[0]['name']", "==", "first", ""},
		{"$.items[5].name", "==", "x", "$.items[5].name not found"},
		{"$.items.name", "==", "x", "$.items.name not found"},
		{`$['odd keys']['it\'s']`, "==", "1", ""},
		{"$.missing", "!=", "x", "$.missing not found"},
		{"$.queue", "==", "x", `$.queue is an object, expected == "x"`},
		{"$", "exists", "", ""},
	} {
		name := strings.TrimSpace(tc.path + " " + tc.op + " " + tc.value)
		t.Run(name, func(t *testing.T) {
			set := map[string]string{"json_path": tc.path, "json_value": tc.value}
			if tc.op != "" {
				set["json_op"] = tc.op
			}
			raw, _ := json.Marshal(set)
			out := p.Probe(context.Background(), Spec{URL: srv.URL + "/doc", Timeout: 5 * time.Second, Settings: httpSettingsFor(t, string(raw))})
			if tc.wantErr == "" {
				if !out.OK || !strings.HasPrefix(out.Detail, tc.path+" is ") {
					t.Fatalf("want up with a detail, got %+v", out)
				}
				return
			}
			checkFailure(t, out, reason.JSON)
			if out.Error != tc.wantErr {
				t.Errorf("error = %q, want %q", out.Error, tc.wantErr)
			}
			if !strings.HasPrefix(out.Excerpt, "{") {
				t.Errorf("excerpt = %q", out.Excerpt)
			}
		})
	}

	notJSON := []struct {
		name, path string
		opts       HTTPOptions
		want       string
	}{
		{"html", "/html", HTTPOptions{}, "body is not JSON"},
		{"two values", "/trailing", HTTPOptions{}, "body is not JSON"},
		{"cut at MaxBody", "/doc", HTTPOptions{MaxBody: 64}, "body is not JSON (only its start was read: 64 bytes)"},
	}
	for _, tc := range notJSON {
		t.Run(tc.name, func(t *testing.T) {
			out := newTestProber(t, tc.opts).Probe(context.Background(), Spec{URL: srv.URL + tc.path, Timeout: 5 * time.Second,
				Settings: httpSettingsFor(t, `{"json_path":"$.status","json_value":"ok"}`)})
			checkFailure(t, out, reason.JSON)
			if out.Error != tc.want || out.Excerpt == "" {
				t.Errorf("got error %q, excerpt %q; want error %q", out.Error, out.Excerpt, tc.want)
			}
		})
	}

	t.Run("with a keyword", func(t *testing.T) {
		// The JSON check reads the body before the keyword check folds it.
		set := httpSettingsFor(t, `{"json_path":"$.code","json_value":"OK-200","keyword":"ALL SYSTEMS"}`)
		if out := p.Probe(context.Background(), Spec{URL: srv.URL + "/doc", Timeout: 5 * time.Second, Settings: set}); !out.OK {
			t.Fatalf("want up, got %+v", out)
		}
		set = httpSettingsFor(t, `{"json_path":"$.status","json_value":"ok","keyword":"operational","keyword_absent":true}`)
		checkFailure(t, p.Probe(context.Background(), Spec{URL: srv.URL + "/doc", Timeout: 5 * time.Second, Settings: set}), reason.Keyword)
	})
}

func TestProbeAuth(t *testing.T) {
	const user, password, token = "monitor", "s3cret-pw", "tok-9f8e7d"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/basic":
			if u, pw, ok := r.BasicAuth(); ok && u == user && pw == password {
				return
			}
		case "/bearer":
			if r.Header.Get("Authorization") == "Bearer "+token {
				return
			}
		}
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	p := newTestProber(t, HTTPOptions{})
	for _, tc := range []struct {
		name, path, settings string
		headers              map[string]string
		wantOK               bool
	}{
		{"basic", "/basic", `{"auth_user":"monitor","auth_password":"s3cret-pw"}`, nil, true},
		{"basic, wrong password", "/basic", `{"auth_user":"monitor","auth_password":"wrong"}`, nil, false},
		{"bearer", "/bearer", `{"bearer_token":"tok-9f8e7d"}`, nil, true},
		{"bearer overrides a header", "/bearer", `{"bearer_token":"tok-9f8e7d"}`, map[string]string{"Authorization": "Bearer old"}, true},
		{"none", "/bearer", `{}`, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := p.Probe(context.Background(), Spec{URL: srv.URL + tc.path, Headers: tc.headers, Timeout: 5 * time.Second, Settings: httpSettingsFor(t, tc.settings)})
			if tc.wantOK {
				if !out.OK {
					t.Fatalf("want up, got %+v", out)
				}
				return
			}
			checkFailure(t, out, reason.Status)
			for _, secret := range []string{password, token, "wrong"} {
				if strings.Contains(out.Error+out.Detail+out.Excerpt, secret) {
					t.Errorf("outcome shows a secret: %+v", out)
				}
			}
		})
	}
}

func TestProbeCertExpiry(t *testing.T) {
	srv := quietTLSServer(t, nil)
	p := newTestProber(t, HTTPOptions{})
	out := p.Probe(context.Background(), Spec{URL: srv.URL, VerifyTLS: false, Timeout: 5 * time.Second})
	if !out.OK {
		t.Fatalf("want up, got %+v", out)
	}
	if want := srv.Certificate().NotAfter.UnixMilli(); out.CertExpiry != want || want == 0 {
		t.Errorf("CertExpiry = %d, want %d", out.CertExpiry, want)
	}
	if plain := p.Probe(context.Background(), Spec{URL: okServer(t).URL, Timeout: 5 * time.Second}); plain.CertExpiry != 0 {
		t.Errorf("plain HTTP has CertExpiry %d", plain.CertExpiry)
	}
}

func TestProbeUnreadableSettings(t *testing.T) {
	srv := okServer(t)
	p := newTestProber(t, HTTPOptions{})
	for _, raw := range []string{
		`{"auth_password":["s3cret"]}`,
		`{"json_path":"$.*","json_value":"x"}`,
		`{"json_path":"$.a","json_op":"<","json_value":"x"}`,
	} {
		out := p.Probe(context.Background(), Spec{URL: srv.URL, Timeout: 5 * time.Second, Settings: json.RawMessage(raw)})
		checkFailure(t, out, reason.Error)
		if strings.Contains(out.Error, "s3cret") {
			t.Errorf("%s: error shows the secret: %q", raw, out.Error)
		}
	}
}

// Monitors without settings (most of them) must not pay for the options.
func TestHTTPCheckNoSettingsAllocatesNothing(t *testing.T) {
	for _, raw := range []json.RawMessage{nil, json.RawMessage("{}")} {
		var c *httpCheck
		allocs := testing.AllocsPerRun(100, func() { c, _ = newHTTPCheck(raw) })
		if allocs != 0 || c != nil {
			t.Errorf("settings %q: %v allocations, check %v", raw, allocs, c)
		}
	}
}

func TestHTTPSettingsValidation(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string            // normalised, when valid
		errs     map[string]string // field → message substring
	}{
		{name: "none", in: ``, want: `{}`},
		{name: "empty", in: `{}`, want: `{}`},
		{name: "blank keyword", in: `{"keyword":"  ","case_sensitive":true}`, want: `{}`},
		{name: "keyword", in: `{"keyword":"All good ","case_sensitive":true}`, want: `{"keyword":"All good ","case_sensitive":true}`},
		{name: "keyword absent", in: `{"keyword":"error","keyword_absent":true}`, want: `{"keyword":"error","keyword_absent":true}`},
		{name: "keyword too long", in: `{"keyword":"` + strings.Repeat("a", 1025) + `"}`, errs: map[string]string{"keyword": "at most 1024 bytes"}},
		{name: "keyword absent without keyword", in: `{"keyword_absent":true}`, errs: map[string]string{"keyword": "is required"}},
		{name: "keyword with a line break", in: `{"keyword":"a\nb"}`, errs: map[string]string{"keyword": "control characters"}},
		{name: "json default op", in: `{"json_path":" $.status ","json_value":"ok"}`, want: `{"json_path":"$.status","json_op":"==","json_value":"ok"}`},
		{name: "json exists drops value", in: `{"json_path":"$.a","json_op":"exists","json_value":"x"}`, want: `{"json_path":"$.a","json_op":"exists"}`},
		{name: "json ordering trims number", in: `{"json_path":"$.a","json_op":"<","json_value":" 100 "}`, want: `{"json_path":"$.a","json_op":"<","json_value":"100"}`},
		{name: "json bad path", in: `{"json_path":"$.items[*]","json_value":"x"}`, errs: map[string]string{"json_path": "wildcards are not supported"}},
		{name: "json path without $", in: `{"json_path":"status","json_value":"x"}`, errs: map[string]string{"json_path": "must start with $"}},
		{name: "json value missing", in: `{"json_path":"$.a","json_op":"contains"}`, errs: map[string]string{"json_value": "is required for contains"}},
		{name: "json value missing, default op", in: `{"json_path":"$.a"}`, errs: map[string]string{"json_value": "is required for =="}},
		{name: "json ordering on text", in: `{"json_path":"$.a","json_op":">=","json_value":"high"}`, errs: map[string]string{"json_value": "must be a number for >="}},
		{name: "json op without path", in: `{"json_op":"exists"}`, errs: map[string]string{"json_path": "is required"}},
		{name: "json value without path", in: `{"json_value":"ok"}`, errs: map[string]string{"json_path": "is required"}},
		{name: "json unknown op", in: `{"json_path":"$.a","json_op":"~=","json_value":"x"}`, errs: map[string]string{"json_op": "must be one of"}},
		{name: "basic auth", in: `{"auth_user":" bob ","auth_password":"pw with spaces "}`, want: `{"auth_user":"bob","auth_password":"pw with spaces "}`},
		{name: "basic auth user only", in: `{"auth_user":"bob"}`, want: `{"auth_user":"bob"}`},
		{name: "password without user", in: `{"auth_password":"pw"}`, errs: map[string]string{"auth_user": "is required with a password"}},
		{name: "user with colon", in: `{"auth_user":"a:b","auth_password":"pw"}`, errs: map[string]string{"auth_user": "must not contain a colon"}},
		{name: "bearer", in: `{"bearer_token":"abc.def"}`, want: `{"bearer_token":"abc.def"}`},
		{name: "bearer and basic", in: `{"bearer_token":"abc","auth_user":"bob","auth_password":"pw"}`, errs: map[string]string{"bearer_token": "cannot be used together with basic auth"}},
		{name: "several faults", in: `{"keyword_absent":true,"json_op":"<","auth_password":"pw"}`,
			errs: map[string]string{"keyword": "is required", "json_path": "is required", "auth_user": "is required"}},
		{name: "unknown field", in: `{"keywords":"x"}`, errs: map[string]string{"keywords": "unknown field"}},
		{name: "wrong type", in: `{"keyword":5}`, errs: map[string]string{"keyword": "must be a string"}},
		{name: "not an object", in: `[1]`, errs: map[string]string{"settings": "must be a JSON object"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := ValidateSettings(TypeHTTP, json.RawMessage(tc.in))
			if tc.errs == nil {
				if len(errs) > 0 {
					t.Fatalf("errors: %v", errs)
				}
				// Compared as values: json.Marshal escapes < and >.
				var gotV, wantV map[string]any
				if err := json.Unmarshal(got, &gotV); err != nil {
					t.Fatalf("normalised %s: %v", got, err)
				}
				_ = json.Unmarshal([]byte(tc.want), &wantV)
				if !reflect.DeepEqual(gotV, wantV) {
					t.Errorf("normalised = %s, want %s", got, tc.want)
				}
				return
			}
			if len(errs) != len(tc.errs) {
				t.Errorf("errors = %v, want %d", errs, len(tc.errs))
			}
			for _, e := range errs {
				if want, ok := tc.errs[e.Field]; !ok || !strings.Contains(e.Message, want) {
					t.Errorf("error %s: %q, want one containing %q", e.Field, e.Message, want)
				}
			}
		})
	}
}

// The type lists what its checks can carry.
func TestHTTPTypeFields(t *testing.T) {
	typ, ok := LookupType(TypeHTTP)
	if !ok {
		t.Fatal("no http type")
	}
	secret := map[string]bool{}
	for _, f := range typ.Fields {
		secret[f.Name] = f.Secret
	}
	if !secret["auth_password"] || !secret["bearer_token"] || secret["auth_user"] {
		t.Errorf("secret fields: %v", secret)
	}
	for _, r := range []string{reason.Keyword, reason.JSON} {
		if !strings.Contains(strings.Join(typ.Reasons, " "), r) {
			t.Errorf("reasons %v lack %s", typ.Reasons, r)
		}
	}
}
