package notify

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The plain body of downEvent, as ntfy, Gotify and Pushover carry it.
const downPlain = "URL: https://api.example.com/health\nReason: Unexpected status: HTTP 503 Service Unavailable\nStatus code: 503\nStarted: 2025-01-02 15:04:05 UTC\nDetails: https://upwatch.example.com/monitors/42"

func TestSlackPayload(t *testing.T) {
	srv, ch := receiver(t, 200, "ok")
	s := mustNew(t, TypeSlack, `{"webhook_url":"`+srv.URL+`/services/T0/B0/XYZ"}`, testOptions())
	if err := s.Send(context.Background(), hostileEvent(hostileChat)); err != nil {
		t.Fatal(err)
	}
	c := receive(t, ch)
	if c.Method != http.MethodPost || c.Path != "/services/T0/B0/XYZ" || c.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("request = %s %s %q", c.Method, c.Path, c.Header.Get("Content-Type"))
	}
	assertJSON(t, c.Body, `{
		"text": "*🔴 DOWN: &lt;!channel&gt; @everyone *x* \"quotes\" &lt;/script&gt;*\nURL: https://api.example.com/health\nReason: Unexpected status: HTTP 503 Service Unavailable\nStatus code: 503\nStarted: 2025-01-02 15:04:05 UTC\n<https://upwatch.example.com/monitors/42|Open in upwatch>",
		"unfurl_links": false,
		"unfurl_media": false
	}`)
	if strings.Contains(string(c.Body), "<!channel>") {
		t.Fatal("<!channel> reached Slack unescaped")
	}
}

func TestSlackEscapesLinkSyntax(t *testing.T) {
	srv, ch := receiver(t, 200, "ok")
	s := mustNew(t, TypeSlack, `{"webhook_url":"`+srv.URL+`/x"}`, testOptions())
	e := hostileEvent("<https://evil.example|Reset password> & <@U123>")
	if err := s.Send(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	var p slackPayload
	decodeBody(t, receive(t, ch).Body, &p)
	if !strings.HasPrefix(p.Text, "*🔴 DOWN: &lt;https://evil.example|Reset password&gt; &amp; &lt;@U123&gt;*\n") {
		t.Fatalf("text = %q", p.Text)
	}
}

func TestDiscordPayload(t *testing.T) {
	srv, ch := receiver(t, 204, "")
	s := mustNew(t, TypeDiscord, `{"webhook_url":"`+srv.URL+`/api/webhooks/1/tok"}`, testOptions())
	e := hostileEvent(hostileChat + " @here [click](https://evil.example)")
	if err := s.Send(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	c := receive(t, ch)
	if c.Path != "/api/webhooks/1/tok" || c.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("request = %s %q", c.Path, c.Header.Get("Content-Type"))
	}
	title := `🔴 DOWN: \<!channel\> @` + "\u200b" + `everyone \*x\* "quotes" \</script\> @` + "\u200b" + `here \[click\]\(https://evil.example\)`
	assertJSON(t, c.Body, `{
		"content": `+jsonString(title)+`,
		"allowed_mentions": {"parse": []},
		"embeds": [{
			"title": `+jsonString(title)+`,
			"description": "**URL:** https://api.example.com/health\n**Reason:** Unexpected status: HTTP 503 Service Unavailable\n**Status code:** 503\n**Started:** 2025-01-02 15:04:05 UTC",
			"url": "https://upwatch.example.com/monitors/42",
			"color": 15158332,
			"timestamp": "2025-01-02T15:04:05Z"
		}]
	}`)
	if strings.Contains(string(c.Body), "@everyone") || strings.Contains(string(c.Body), "@here") {
		t.Fatal("a mass mention reached Discord intact")
	}
}

func TestTelegramPayload(t *testing.T) {
	srv, ch := receiver(t, 200, `{"ok":true}`)
	const token = "123456789:AAEhBP0av28aaaaaaaaaaaaaaaaaaaaaaaa"
	s := mustNew(t, TypeTelegram, `{"bot_token":"`+token+`","chat_id":"-1001234567890","api_url":"`+srv.URL+`"}`, testOptions())
	if err := s.Send(context.Background(), hostileEvent(hostileChat)); err != nil {
		t.Fatal(err)
	}
	c := receive(t, ch)
	if c.Method != http.MethodPost || c.Path != "/bot"+token+"/sendMessage" || c.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("request = %s %s %q", c.Method, c.Path, c.Header.Get("Content-Type"))
	}
	assertJSON(t, c.Body, `{
		"chat_id": "-1001234567890",
		"text": "<b>🔴 DOWN: &lt;!channel&gt; @everyone *x* &#34;quotes&#34; &lt;/script&gt;</b>\nURL: https://api.example.com/health\nReason: Unexpected status: HTTP 503 Service Unavailable\nStatus code: 503\nStarted: 2025-01-02 15:04:05 UTC\n<a href=\"https://upwatch.example.com/monitors/42\">Open in upwatch</a>",
		"parse_mode": "HTML",
		"link_preview_options": {"is_disabled": true}
	}`)
}

func TestNtfyPayload(t *testing.T) {
	srv, ch := receiver(t, 200, `{"id":"x"}`)
	s := mustNew(t, TypeNtfy, `{"server_url":"`+srv.URL+`","topic":"upwatch-alerts","token":"tk_abcdefghijklmnopqrstuvwxyz123"}`, testOptions())
	if err := s.Send(context.Background(), hostileEvent(hostileHeader)); err != nil {
		t.Fatal(err)
	}
	c := receive(t, ch)
	if c.Path != "/" || c.Header.Get("Authorization") != "Bearer tk_abcdefghijklmnopqrstuvwxyz123" || c.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("request = %s %v", c.Path, c.Header)
	}
	// Nothing user-typed travels in a header.
	for k := range c.Header {
		if k == "Title" || k == "X-Title" || k == "Bcc" {
			t.Fatalf("unexpected header %s", k)
		}
	}
	assertJSON(t, c.Body, `{
		"topic": "upwatch-alerts",
		"title": "🔴 DOWN: x Bcc: a@b.c",
		"message": `+jsonString(downPlain)+`,
		"priority": 4,
		"click": "https://upwatch.example.com/monitors/42"
	}`)

	// Recovery without a configured priority: default 3; no token, no header.
	s = mustNew(t, TypeNtfy, `{"server_url":"`+srv.URL+`/prefix/","topic":"t"}`, testOptions())
	if err := s.Send(context.Background(), upEvent()); err != nil {
		t.Fatal(err)
	}
	c = receive(t, ch)
	var p ntfyPayload
	decodeBody(t, c.Body, &p)
	if c.Path != "/prefix/" || c.Header.Get("Authorization") != "" || p.Priority != 3 || p.Title != "✅ UP: API (down 4m12s)" {
		t.Fatalf("path %s auth %q payload %+v", c.Path, c.Header.Get("Authorization"), p)
	}
}

func TestGotifyPayload(t *testing.T) {
	srv, ch := receiver(t, 200, `{"id":1}`)
	s := mustNew(t, TypeGotify, `{"server_url":"`+srv.URL+`","app_token":"AbCdEf123456789","priority":6}`, testOptions())
	if err := s.Send(context.Background(), hostileEvent(hostileChat)); err != nil {
		t.Fatal(err)
	}
	c := receive(t, ch)
	if c.Path != "/message" || c.Header.Get("X-Gotify-Key") != "AbCdEf123456789" || c.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("request = %s %v", c.Path, c.Header)
	}
	if strings.Contains(c.Path, "token") {
		t.Fatal("token in the query string")
	}
	assertJSON(t, c.Body, `{
		"title": `+jsonString("🔴 DOWN: "+hostileChat)+`,
		"message": `+jsonString(downPlain)+`,
		"priority": 6,
		"extras": {
			"client::display": {"contentType": "text/plain"},
			"client::notification": {"click": {"url": "https://upwatch.example.com/monitors/42"}}
		}
	}`)
}

func TestPushoverPayload(t *testing.T) {
	srv, ch := receiver(t, 200, `{"status":1}`)
	s := mustNew(t, TypePushover, `{"user_key":"uQiRzpo4DXghDmr9QzzfQu27cmVRsG","app_token":"azGDORePK8gMaC0QOYAMyEEuzJnyUi","priority":1,"api_url":"`+srv.URL+`/1/messages.json"}`, testOptions())
	if err := s.Send(context.Background(), hostileEvent(hostileChat+"&user=attacker")); err != nil {
		t.Fatal(err)
	}
	c := receive(t, ch)
	if c.Path != "/1/messages.json" || c.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("request = %s %q", c.Path, c.Header.Get("Content-Type"))
	}
	got, err := url.ParseQuery(string(c.Body))
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{
		"token":     {"azGDORePK8gMaC0QOYAMyEEuzJnyUi"},
		"user":      {"uQiRzpo4DXghDmr9QzzfQu27cmVRsG"},
		"title":     {"🔴 DOWN: " + hostileChat + "&user=attacker"},
		"message":   {downPlain},
		"priority":  {"1"},
		"timestamp": {"1735830245"},
		"url":       {"https://upwatch.example.com/monitors/42"},
		"url_title": {"Open in upwatch"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("form =\n%v\nwant\n%v", got, want)
	}
}

func TestTeamsPayload(t *testing.T) {
	srv, ch := receiver(t, 202, "")
	s := mustNew(t, TypeTeams, `{"webhook_url":"`+srv.URL+`/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=S"}`, testOptions())
	if err := s.Send(context.Background(), hostileEvent(hostileChat+" [Reset password](https://evil.example)")); err != nil {
		t.Fatal(err)
	}
	c := receive(t, ch)
	if c.Path != "/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=S" || c.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("request = %s %q", c.Path, c.Header.Get("Content-Type"))
	}
	assertJSON(t, c.Body, `{
		"type": "message",
		"attachments": [{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"contentUrl": null,
			"content": {
				"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
				"type": "AdaptiveCard",
				"version": "1.4",
				"body": [
					{"type": "TextBlock", "text": `+jsonString("🔴 DOWN: "+hostileChat+" [Reset password]\u200b(https://evil.example)")+`, "wrap": true, "size": "Medium", "weight": "Bolder", "color": "Attention"},
					{"type": "FactSet", "facts": [
						{"title": "URL", "value": "https://api.example.com/health"},
						{"title": "Reason", "value": "Unexpected status: HTTP 503 Service Unavailable"},
						{"title": "Status code", "value": "503"},
						{"title": "Started", "value": "2025-01-02 15:04:05 UTC"}
					]}
				],
				"actions": [{"type": "Action.OpenUrl", "title": "Open in upwatch", "url": "https://upwatch.example.com/monitors/42"}]
			}
		}]
	}`)
}

func TestWebhookDefaultPayload(t *testing.T) {
	srv, ch := receiver(t, 200, "")
	s := mustNew(t, TypeWebhook, `{"url":"`+srv.URL+`/hook?key=k","method":"PUT","headers":{"Authorization":"Bearer sk_1","X-Source":"upwatch"}}`, testOptions())
	if err := s.Send(context.Background(), hostileEvent(hostileChat)); err != nil {
		t.Fatal(err)
	}
	c := receive(t, ch)
	if c.Method != http.MethodPut || c.Path != "/hook?key=k" || c.Header.Get("Authorization") != "Bearer sk_1" ||
		c.Header.Get("X-Source") != "upwatch" || c.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("request = %s %s %v", c.Method, c.Path, c.Header)
	}
	assertJSON(t, c.Body, `{
		"version": 1,
		"event": "down",
		"monitor": {"id": 42, "name": `+jsonString(hostileChat)+`, "url": "https://api.example.com/health"},
		"reason": "status",
		"error": "HTTP 503 Service Unavailable",
		"status_code": 503,
		"started_at": "2025-01-02T15:04:05Z",
		"at": "2025-01-02T15:04:05Z",
		"duration_seconds": 0,
		"link": "https://upwatch.example.com/monitors/42",
		"title": `+jsonString("🔴 DOWN: "+hostileChat)+`,
		"message": `+jsonString(downPlain)+`
	}`)

	// A test event has no incident: started_at is null.
	if err := s.Send(context.Background(), Event{Kind: EventTest, At: at0()}); err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	decodeBody(t, receive(t, ch).Body, &p)
	if v, ok := p["started_at"]; !ok || v != nil {
		t.Fatalf("started_at = %v (present %v), want null", v, ok)
	}
}

// httpSettings returns valid settings for every HTTP provider, pointed at base.
func httpSettings(base string) map[string]string {
	return map[string]string{
		TypeSlack:    `{"webhook_url":"` + base + `/services/T0/B0/SECRETSECRET"}`,
		TypeDiscord:  `{"webhook_url":"` + base + `/api/webhooks/1/SECRETSECRET"}`,
		TypeTeams:    `{"webhook_url":"` + base + `/invoke?sig=SECRETSECRET"}`,
		TypeTelegram: `{"bot_token":"123456789:SECRETSECRETaaaaaaaaaaaaaaaa","chat_id":"42","api_url":"` + base + `"}`,
		TypeNtfy:     `{"server_url":"` + base + `","topic":"t","token":"SECRETSECRET"}`,
		TypeGotify:   `{"server_url":"` + base + `","app_token":"SECRETSECRET"}`,
		TypePushover: `{"user_key":"uQiRzpo4DXghDmr9QzzfQu27cmVRsG","app_token":"azGDORePK8gMaC0QOYAMyEEuzJnyUi","api_url":"` + base + `/1/messages.json"}`,
		TypeWebhook:  `{"url":"` + base + `/hook?key=SECRETSECRET"}`,
	}
}

func TestServerErrorIsReported(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("upstream\r\nbroke"))
	}))
	t.Cleanup(srv.Close)
	for typ, settings := range httpSettings(srv.URL) {
		t.Run(typ, func(t *testing.T) {
			err := mustNew(t, typ, settings, testOptions()).Send(context.Background(), downEvent())
			var se *StatusError
			if !errors.As(err, &se) || se.StatusCode != 500 || se.RetryAfter != 30*time.Second || se.Type != typ {
				t.Fatalf("err = %#v", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "500") || !strings.Contains(msg, "upstream broke") {
				t.Fatalf("message %q lacks the status or the body", msg)
			}
		})
	}
}

func TestHangingReceiverHonoursContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: frees any handler still waiting
	for typ, settings := range httpSettings(srv.URL) {
		t.Run(typ, func(t *testing.T) {
			s := mustNew(t, typ, settings, testOptions())
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := s.Send(ctx, downEvent())
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want deadline exceeded", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("Send took %v", d)
			}
		})
	}
}

// Errors end up in logs and in the dashboard: they must not carry the
// webhook URL or the bot token.
func TestErrorsDoNotLeakSecrets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now: connection refused
	for typ, settings := range httpSettings(base) {
		t.Run(typ, func(t *testing.T) {
			err := mustNew(t, typ, settings, testOptions()).Send(context.Background(), downEvent())
			if err == nil {
				t.Fatal("send to a closed port succeeded")
			}
			if strings.Contains(err.Error(), "SECRETSECRET") || strings.Contains(err.Error(), "azGDORe") {
				t.Fatalf("error leaks a secret: %v", err)
			}
		})
	}
}

func TestDefaultHTTPClient(t *testing.T) {
	var hops atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hops.Add(1)
		http.Redirect(w, r, srv.URL+"/again", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(srv.Close)
	c := defaultHTTPClient((&net.Dialer{}).DialContext)
	tr := c.Transport.(*http.Transport)
	// No proxy from the environment: a proxy would connect for us, out of
	// the egress policy's sight.
	if c.Timeout != 10*time.Second || tr.Proxy != nil || !tr.DisableKeepAlives {
		t.Fatalf("default client: timeout %v, proxy set %v, keep-alives off %v", c.Timeout, tr.Proxy != nil, tr.DisableKeepAlives)
	}
	s := mustNew(t, TypeSlack, `{"webhook_url":"`+srv.URL+`/x"}`, Options{HTTPClient: c})
	err := s.Send(context.Background(), downEvent())
	if err == nil || !strings.Contains(err.Error(), "redirects") || hops.Load() != maxRedirects+1 {
		t.Fatalf("err = %v after %d requests", err, hops.Load())
	}
}

func decodeBody(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}
