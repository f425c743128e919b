package static

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func newAssets(t *testing.T) *Assets {
	t.Helper()
	a, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func get(t *testing.T, h http.Handler, method, path string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestHashedURLs(t *testing.T) {
	a := newAssets(t)
	for _, tt := range []struct{ name, pattern string }{
		{"style.css", `^/static/style\.[0-9a-f]{10}\.css$`},
		{"app.js", `^/static/app\.[0-9a-f]{10}\.js$`},
		{"favicon.svg", `^/static/favicon\.[0-9a-f]{10}\.svg$`},
		{"favicon-up.svg", `^/static/favicon-up\.[0-9a-f]{10}\.svg$`},
		{"favicon-down.svg", `^/static/favicon-down\.[0-9a-f]{10}\.svg$`},
		{"live.js", `^/static/live\.[0-9a-f]{10}\.js$`},
	} {
		u := a.URL(tt.name)
		if !regexp.MustCompile(tt.pattern).MatchString(u) {
			t.Errorf("URL(%q) = %q, want match %s", tt.name, u, tt.pattern)
		}
		body, err := files.ReadFile(tt.name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(body)
		if want := hex.EncodeToString(sum[:])[:10]; !strings.Contains(u, "."+want+".") {
			t.Errorf("URL(%q) = %q, want hash %s", tt.name, u, want)
		}
	}
	if got := a.URL("nope.css"); got != "/static/nope.css" {
		t.Errorf("URL of unknown file = %q", got)
	}
	// Same content, same URL across instances.
	if b := newAssets(t); b.URL("style.css") != a.URL("style.css") {
		t.Error("URL not stable across New calls")
	}
}

func TestServe(t *testing.T) {
	a := newAssets(t)
	for name, ctype := range map[string]string{
		"style.css":        "text/css; charset=utf-8",
		"app.js":           "text/javascript; charset=utf-8",
		"favicon.svg":      "image/svg+xml",
		"live.js":          "text/javascript; charset=utf-8",
		"favicon-up.svg":   "image/svg+xml",
		"favicon-down.svg": "image/svg+xml",
	} {
		res := get(t, a, http.MethodGet, a.URL(name))
		body, _ := io.ReadAll(res.Body)
		want, _ := files.ReadFile(name)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", name, res.StatusCode)
		}
		if string(body) != string(want) {
			t.Errorf("%s: body differs", name)
		}
		if got := res.Header.Get("Content-Type"); got != ctype {
			t.Errorf("%s: Content-Type %q, want %q", name, got, ctype)
		}
		if got := res.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", name, got)
		}
		if res.Header.Get("ETag") == "" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: missing ETag or nosniff", name)
		}

		// Revalidation with the ETag gets a 304 without a body.
		res = get(t, a, http.MethodGet, a.URL(name), "If-None-Match", res.Header.Get("ETag"))
		body, _ = io.ReadAll(res.Body)
		if res.StatusCode != http.StatusNotModified || len(body) != 0 {
			t.Errorf("%s: If-None-Match: status %d, %d bytes", name, res.StatusCode, len(body))
		}

		res = get(t, a, http.MethodHead, a.URL(name))
		body, _ = io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK || len(body) != 0 || res.Header.Get("Content-Length") == "" {
			t.Errorf("%s: HEAD: status %d, %d bytes", name, res.StatusCode, len(body))
		}
	}
}

func TestServeNotFound(t *testing.T) {
	a := newAssets(t)
	for _, path := range []string{
		"/static/style.css",                               // unhashed
		"/static/style.0000000000.css",                    // stale hash
		"/static/nope.0123456789.css",                     // unknown file
		"/static/",                                        // directory
		"/static/../static/static.go",                     // not an asset
		strings.TrimPrefix(a.URL("style.css"), "/static"), // wrong prefix
		"/other" + a.URL("style.css"),
	} {
		res := get(t, a, http.MethodGet, path)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, res.StatusCode)
		}
		if cc := res.Header.Get("Cache-Control"); strings.Contains(cc, "immutable") {
			t.Errorf("%s: 404 cached as immutable", path)
		}
	}
}

func TestServeMethodNotAllowed(t *testing.T) {
	a := newAssets(t)
	res := get(t, a, http.MethodPost, a.URL("app.js"))
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: status %d, Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
}

func TestServeThroughMux(t *testing.T) {
	a := newAssets(t)
	mux := http.NewServeMux()
	mux.Handle("GET /static/", a)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	res, err := http.Get(srv.URL + a.URL("style.css"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/css") {
		t.Errorf("status %d, type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

func TestAppJSIsTiny(t *testing.T) {
	body, _ := files.ReadFile("app.js")
	if len(body) > 1024 || !strings.Contains(string(body), "data-confirm") || !strings.Contains(string(body), "data-copy") {
		t.Errorf("app.js: %d bytes, want a tiny data-confirm and data-copy handler", len(body))
	}
}

// TestEverythingEmbedded guards against an asset added to the directory but
// not to the embed list (it would 404 in production only).
func TestEverythingEmbedded(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasSuffix(name, ".go") {
			continue
		}
		if _, err := files.ReadFile(name); err != nil {
			t.Errorf("%s is not embedded", name)
		}
	}
}

// TestScriptsBuildNoHTML: the scripts may set text and attributes, or move
// in elements the server rendered, but never turn strings into markup.
func TestScriptsBuildNoHTML(t *testing.T) {
	banned := regexp.MustCompile(`\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|createContextualFragment|\.srcdoc|setTimeout\(\s*["']`)
	for _, name := range []string{"app.js", "live.js"} {
		body, err := files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			if m := banned.FindString(line); m != "" {
				t.Errorf("%s:%d uses %s", name, i+1, m)
			}
		}
	}
}

func TestLiveJS(t *testing.T) {
	body, _ := files.ReadFile("live.js")
	js := string(body)
	if len(body) > 16<<10 {
		t.Errorf("live.js is %d bytes; keep it small", len(body))
	}
	// The hooks the views render, and the feed's message fields.
	for _, w := range []string{
		`data-live`, `data-live-region`, `data-monitor-id`, `data-status`, `data-field=status`, `data-field=latency`,
		`data-field=checked`, `data-count=down`, `data-relative`, `data-now`, `"favicon"`, `data-icon-down`, `live-status`,
		`deleted-notice`, `"check"`, `"state"`, `"deleted"`, `monitor_id`, `latency_ms`, `DOMParser`, `pagehide`,
		`wss://`, `30000`, `2000`, `15000`,
	} {
		if !strings.Contains(js, w) {
			t.Errorf("live.js does not mention %s", w)
		}
	}
	// Syntax check when node is around (CI may not have it).
	if node, err := exec.LookPath("node"); err == nil {
		if out, err := exec.Command(node, "--check", "live.js").CombinedOutput(); err != nil {
			t.Errorf("node --check live.js: %v\n%s", err, out)
		}
		if out, err := exec.Command(node, "--check", "app.js").CombinedOutput(); err != nil {
			t.Errorf("node --check app.js: %v\n%s", err, out)
		}
	}
}
