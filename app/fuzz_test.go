package app

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode"
)

// FuzzCheckURL: whatever a user types, checkURL never panics, and what it
// accepts is an http(s) URL with a host and no space or control character,
// which net/url parses back to the same scheme and host.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"https://example.com/health", "http://127.0.0.1:8080/", "http://[::1]:80/x", "ftp://x",
		"http://", "http://exa mple.com", "http://169.254.169.254/latest", "http://[::ffff:169.254.169.254]/",
		"https://user:pass@host:65536/", "http://h:0/", "javascript:alert(1)", "HTTP://EXAMPLE.COM", "http://\x00/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkURL(s) != "" {
			return
		}
		if strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			t.Fatalf("accepted %q with a space or control character", s)
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			t.Fatalf("accepted %q: %v %+v", s, err, u)
		}
	})
}

// FuzzDecodeMonitor: any request body to the monitor decoder and the one
// validator gives a value or field errors — never a panic — and the
// decoder refuses unknown fields and trailing data.
func FuzzDecodeMonitor(f *testing.F) {
	for _, s := range []string{`{"name":"a","url":"http://127.0.0.1/"}`, `{"name":"a","url":"http://x/","interval_seconds":-1}`,
		`{"type":"tcp","settings":{"host":"h","port":99999}}`, `{"type":"push","settings":{"cron":"61 * * * *"}}`,
		`{"type":"dns","settings":{"name":"x","record_type":"ZZ"}}`, `{"headers":{"A":"b\r\nc"}}`, `[]`, `null`, `{"name":1}`,
		`{"name":"a"} {"x":1}`, `{"regions":["` + strings.Repeat("a", 100) + `"]}`, `{"settings":{"json_path":"$..a[?(@.x)]"}}`} {
		f.Add(s)
	}
	base := newMonitorDefaults(60_000_000_000)
	f.Fuzz(func(t *testing.T, body string) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/api/v1/monitors", strings.NewReader(body))
		var in monitorInput
		if err := decodeJSON(w, r, &in); err != nil {
			if _, ok := err.(*apiError); !ok {
				t.Fatalf("decode error %T is not an API error: %v", err, err)
			}
			return
		}
		m, fe := applyMonitor(base, in, true)
		for _, e := range fe {
			if e.Field == "" || e.Message == "" {
				t.Fatalf("field error without field or message: %+v", e)
			}
		}
		if len(fe) == 0 && (m.Name == "" || m.Interval <= 0 || m.Timeout <= 0) {
			t.Fatalf("accepted without name, interval or timeout: %+v", m)
		}
	})
}
