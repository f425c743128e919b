package app

import (
	"strings"
	"testing"
)

// A literal always-refused address is a 422 naming the field, for HTTP
// URLs, other kinds' hosts and channel URLs; the dialer refuses the rest
// (names, redirects) when the check runs.
func TestCreateRefusesMetadataLiterals(t *testing.T) {
	e := newEnv(t)
	tok := e.signup(t)
	for _, c := range []struct{ path, body, field string }{
		{"/api/v1/monitors", `{"name":"a","url":"http://169.254.169.254/latest/meta-data/","expected_status":"599"}`, "url"},
		{"/api/v1/monitors", `{"name":"a","url":"http://[::ffff:169.254.169.254]/latest/meta-data/"}`, "url"},
		{"/api/v1/monitors", `{"name":"a","url":"http://[fd00:ec2::254]/"}`, "url"},
		{"/api/v1/monitors", `{"name":"a","url":"http://100.100.100.200/"}`, "url"},
		{"/api/v1/monitors", `{"name":"a","type":"tcp","settings":{"host":"169.254.169.254","port":80}}`, "settings.host"},
		{"/api/v1/channels", `{"name":"h","type":"webhook","settings":{"url":"http://169.254.169.254/x"}}`, "settings.url"},
	} {
		r := e.do(t, "POST", c.path, tok, c.body)
		var p problem
		r.json(t, &p)
		if r.code != 422 || !strings.HasSuffix(p.Field, strings.TrimPrefix(c.field, "settings.")) || !strings.Contains(p.Detail, "link-local/cloud metadata address") {
			t.Errorf("%s %s: %d field %q (%s)", c.path, c.body, r.code, p.Field, r.body)
		}
	}
	// Loopback stays allowed by default: a homelab needs it.
	if r := e.do(t, "POST", "/api/v1/monitors", tok, `{"name":"nas","url":"http://127.0.0.1:8081/"}`); r.code != 201 {
		t.Errorf("loopback monitor: %d %s", r.code, r.body)
	}
}
