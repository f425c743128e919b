package app

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestSecurityHeaders: HTML pages had no Content-Security-Policy and no
// X-Content-Type-Options, and there was no HSTS under an https BASE_URL.
func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	asset := e.app.assets.URL("style.css")
	for _, path := range []string{"/login", "/api/v1/me", "/nowhere", asset, "/healthz"} {
		r := e.do(t, "GET", path, "", "")
		if got := r.hdr.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", path, got)
		}
		if got := r.hdr.Get("Referrer-Policy"); got != "same-origin" {
			t.Errorf("%s: Referrer-Policy %q", path, got)
		}
		if r.hdr.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s: HSTS under an http BASE_URL", path)
		}
	}
	r := e.do(t, "GET", "/login", "", "")
	csp := r.hdr.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
		"connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	if r := e.do(t, "GET", "/api/v1/me", tok, ""); r.hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("API answer without nosniff")
	}

	s := newEnvConfig(t, func(c *Config) { c.BaseURL = "https://upwatch.example" }, nil)
	if got := s.do(t, "GET", "/login", "", "").hdr.Get("Strict-Transport-Security"); got != "max-age=31536000" {
		t.Errorf("HSTS under an https BASE_URL: %q", got)
	}
}

// TestLoginOpenRedirect is the finding: /login?next=/%09/evil.example/x sent
// the browser to evil.example after signing in (browsers drop the tab).
func TestLoginOpenRedirect(t *testing.T) {
	e := newEnv(t)
	e.signup(t)
	hidden := regexp.MustCompile(`name="next" value="([^"]*)"`)
	for _, raw := range []string{"/%09/evil.example/x", "//evil", "/%5Cevil", `/\evil`, "https://evil", "/%2F%2Fevil",
		"/%252F%252Fevil", "/%0D%0A/evil", "javascript:alert(1)", "/%E2%80%A8/evil", "%2F%2Fevil", "///evil"} {
		dec, err := url.QueryUnescape(raw)
		if err != nil {
			dec = raw
		}
		_, _, body := get(t, browser(t), e.srv.URL+"/login?next="+strings.ReplaceAll(raw, `\`, "%5C"))
		if m := hidden.FindStringSubmatch(body); m == nil || m[1] != "/" {
			t.Errorf("login page for next=%s carries %v, want /", raw, m)
		}
		code, loc, _ := post(t, browser(t), e.srv.URL+"/login", url.Values{"email": {"owner@example.com"},
			"password": {"password123"}, "next": {dec}})
		if code != 303 || loc != "/" {
			t.Errorf("next=%q: %d to %q, want / ", dec, code, loc)
		}
	}
	for _, ok := range []string{"/monitors/3", "/?q=a%20b&state=down", "/settings#users"} {
		if got := safeNext(ok); got != ok {
			t.Errorf("safeNext(%q) = %q, want it kept", ok, got)
		}
	}
	code, loc, _ := post(t, browser(t), e.srv.URL+"/login", url.Values{"email": {"owner@example.com"},
		"password": {"password123"}, "next": {"/monitors/3"}})
	if code != 303 || loc != "/monitors/3" {
		t.Errorf("local next: %d %q", code, loc)
	}
}

// TestPagesHaveNoInlineCode renders every page and looks for what the CSP
// refuses: <script> without src, on* handler attributes and style
// attributes (and <style> blocks).
func TestPagesHaveNoInlineCode(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	var m, p monitorJSON
	e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"m","url":"http://127.0.0.1:9/"}`).json(t, &m)
	e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"p","type":"push","settings":{"period_seconds":60}}`).json(t, &p)
	var c channelJSON
	e.do(t, "POST", "/api/v1/channels", tok, `{"name":"c","type":"webhook","settings":{"url":"http://127.0.0.1:9/x"}}`).json(t, &c)
	b := login(t, e, "owner@example.com", "password123")
	inline := []*regexp.Regexp{
		regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>`),
		regexp.MustCompile(`(?i)<[a-z][^>]*\son[a-z]+\s*=`),
		regexp.MustCompile(`(?i)<[a-z][^>]*\sstyle\s*=`),
		regexp.MustCompile(`(?i)<style`),
		regexp.MustCompile(`(?i)(href|src|action)\s*=\s*"\s*javascript:`),
	}
	srcScript := regexp.MustCompile(`(?i)<script\s[^>]*\bsrc=`)
	pages := []string{"/", "/?state=down", "/monitors/new", "/monitors/new?type=tcp", "/monitors/" + itoa(m.ID),
		"/monitors/" + itoa(m.ID) + "/edit", "/monitors/" + itoa(p.ID), "/channels", "/channels/new",
		"/channels/new?type=email", "/channels/" + itoa(c.ID), "/channels/" + itoa(c.ID) + "/edit", "/settings", "/workers", "/maintenance", "/monitors/" + itoa(m.ID) + "/sla", "/nowhere"}
	check := func(path, body string) {
		for _, re := range inline {
			for _, hit := range re.FindAllString(body, -1) {
				if re == inline[0] && srcScript.MatchString(hit) {
					continue
				}
				t.Errorf("%s: inline code the CSP refuses: %s", path, hit)
			}
		}
	}
	for _, path := range pages {
		code, _, body := get(t, b, e.srv.URL+path)
		if code != 200 && code != 404 {
			t.Errorf("%s: %d", path, code)
		}
		check(path, body)
	}
	_, _, body := get(t, browser(t), e.srv.URL+"/login")
	check("/login", body)
	fresh := newEnv(t)
	_, _, body = get(t, browser(t), fresh.srv.URL+"/setup")
	check("/setup", body)
}
