package app

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
)

func TestChannelPages(t *testing.T) {
	var got atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if strings.Contains(string(b), `"event":"test"`) && r.Header.Get("X-Secret") == "s3cret-value-123456" {
			got.Add(1)
		}
	}))
	defer hook.Close()
	e := newEnv(t)
	e.signup(t)
	c := login(t, e, "owner@example.com", "password123")
	base := e.srv.URL

	if code, _, body := get(t, c, base+"/channels/new"); code != 200 || !strings.Contains(body, "/channels/new?type=telegram") {
		t.Fatalf("type picker: %d", code)
	}
	if code, _, body := get(t, c, base+"/channels/new?type=webhook"); code != 200 || !strings.Contains(body, `name="settings.url"`) {
		t.Fatalf("webhook form: %d", code)
	}
	hostile := `<img src=x onerror=alert(1)>`
	code, _, body := post(t, c, base+"/channels", url.Values{"type": {"webhook"}, "name": {hostile}, "settings.url": {"ftp://nope"},
		"settings.headers": {"not a header line"}})
	if code != 422 || strings.Contains(body, "<img src=x") || !strings.Contains(body, "Name: value") {
		t.Fatalf("bad channel form: %d", code)
	}
	code, loc, _ := post(t, c, base+"/channels", url.Values{"type": {"webhook"}, "name": {hostile}, "enabled": {"on"}, "default": {"on"},
		"settings.url": {hook.URL + "/x"}, "settings.headers": {"X-Secret: s3cret-value-123456"}})
	if code != 303 || !strings.HasPrefix(loc, "/channels/") {
		t.Fatalf("create channel: %d %q", code, loc)
	}
	page := strings.TrimSuffix(loc, "?m=channel-created")
	code, _, body = get(t, c, base+page+"/edit")
	if code != 200 || strings.Contains(body, "s3cret-value-123456") {
		t.Fatalf("edit page shows the secret (%d)", code)
	}
	// Saving the form as shown keeps the secret header.
	m := regexp.MustCompile(`name="settings.headers"[^>]*>([^<]*)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("headers textarea not found")
	}
	code, _, _ = post(t, c, base+page+"/edit", url.Values{"name": {"ops"}, "enabled": {"on"}, "default": {"on"}, "settings.url": {hook.URL + "/x"},
		"settings.headers": {htmlUnescape(m[1])}})
	if code != 303 {
		t.Fatalf("edit: %d", code)
	}
	code, _, body = post(t, c, base+page+"/test", nil)
	if code != 200 || got.Load() != 1 || !strings.Contains(body, "ms") {
		t.Fatalf("test send: %d, received %d", code, got.Load())
	}
	if _, _, body = get(t, c, base+page); !strings.Contains(body, "Test") {
		t.Errorf("delivery log missing the test")
	}
	// The monitor form offers the channel, ticked by default.
	code, _, body = get(t, c, base+"/monitors/new?type=http")
	if code != 200 || !regexp.MustCompile(`name="channels"[^>]*checked`).MatchString(body) && !regexp.MustCompile(`checked[^>]*name="channels"`).MatchString(body) {
		t.Errorf("monitor form does not tick the default channel")
	}
	code, loc, _ = post(t, c, base+"/monitors", url.Values{"name": {"m"}, "url": {"http://127.0.0.1:9/"}, "channels_present": {"1"}, "reminder_minutes": {"15"}})
	if code != 303 {
		t.Fatalf("monitor without channels: %d", code)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/monitors/"), "?m=created")
	mon, _ := e.st.MonitorByID(t.Context(), mustInt(t, id))
	if len(mon.Channels) != 0 || mon.ReminderEvery.Minutes() != 15 {
		t.Errorf("unticked channels / reminder: %+v %v", mon.Channels, mon.ReminderEvery)
	}
	if code, loc, _ = post(t, c, base+page+"/delete", nil); code != 303 || !strings.HasPrefix(loc, "/channels") {
		t.Fatalf("delete: %d", code)
	}
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&", "&#34;", `"`, "&#39;", "'").Replace(s)
}
