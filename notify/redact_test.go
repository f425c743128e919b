package notify

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func decodeMap(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return m
}

func TestRedact(t *testing.T) {
	want := map[string]string{
		TypeEmail:    `{"host":"smtp.example.com","port":587,"tls":"starttls","username":"alerts","password":"••••","from":"upwatch <alerts@example.com>","to":["ops@example.com"]}`,
		TypeSlack:    `{"webhook_url":"https://hooks.slack.com/••••abcd"}`,
		TypeDiscord:  `{"webhook_url":"https://discord.com/••••wxyz"}`,
		TypeTelegram: `{"bot_token":"••••WXYZ","chat_id":"@upwatch_alerts"}`,
		TypeNtfy:     `{"topic":"upwatch-alerts","token":"••••1234","priority":5}`,
		TypeGotify:   `{"server_url":"https://gotify.example.com","app_token":"••••","priority":0}`,
		TypePushover: `{"user_key":"••••VRsG","app_token":"••••nyUi","priority":-2}`,
		TypeTeams:    `{"webhook_url":"https://prod-00.westus.logic.azure.com:443/••••7890"}`,
		TypeWebhook:  `{"url":"https://hooks.example.com/••••cret","method":"PUT","headers":{"Authorization":"••••cdef","X-Env":"••••"},"body_template":"{\"text\": {{json .Title}}}"}`,
	}
	for typ, settings := range validSettings() {
		t.Run(typ, func(t *testing.T) {
			red, err := Redact(typ, json.RawMessage(settings))
			if err != nil {
				t.Fatal(err)
			}
			if got, exp := decodeMap(t, red), decodeMap(t, json.RawMessage(want[typ])); !reflect.DeepEqual(got, exp) {
				t.Fatalf("Redact =\n%s\nwant\n%s", red, want[typ])
			}
			// Round trip: sending the redacted form back keeps every secret.
			merged, err := MergeSecrets(typ, json.RawMessage(settings), red)
			if err != nil {
				t.Fatal(err)
			}
			if got, exp := decodeMap(t, merged), decodeMap(t, json.RawMessage(settings)); !reflect.DeepEqual(got, exp) {
				t.Fatalf("MergeSecrets =\n%s\nwant\n%s", merged, settings)
			}
			if _, err := New(typ, merged, Options{}); err != nil {
				t.Fatalf("merged settings invalid: %v", err)
			}
		})
	}
}

func TestRedactEdgeCases(t *testing.T) {
	for _, tc := range []struct{ typ, in, want string }{
		// Unset stays visibly unset; a URL with nothing secret shows as is.
		{TypeNtfy, `{"topic":"t","token":""}`, `{"topic":"t","token":""}`},
		{TypeWebhook, `{"url":"https://hooks.example.com"}`, `{"url":"https://hooks.example.com"}`},
		// User info is hidden with the path.
		{TypeWebhook, `{"url":"https://user:pass@hooks.example.com/"}`, `{"url":"https://hooks.example.com/••••"}`},
		// A wrongly typed secret is hidden whole.
		{TypeSlack, `{"webhook_url":{"nested":"secret"}}`, `{"webhook_url":"••••"}`},
	} {
		red, err := Redact(tc.typ, json.RawMessage(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(decodeMap(t, red), decodeMap(t, json.RawMessage(tc.want))) {
			t.Errorf("Redact(%s) = %s, want %s", tc.in, red, tc.want)
		}
	}
	if _, err := Redact("sms", json.RawMessage(`{}`)); err == nil {
		t.Error("unknown type accepted")
	}
	if _, err := Redact(TypeSlack, json.RawMessage(`"x"`)); err == nil {
		t.Error("non-object accepted")
	}
}

// TestMergeSecretsStayPut is the attack: change a channel's destination
// while sending a redacted secret back, and the stored secret would be
// delivered to the new destination. Every kept secret must be typed again.
func TestMergeSecretsStayPut(t *testing.T) {
	v := validSettings()
	for _, tc := range []struct {
		typ, new, field string // field: "" when the edit is fine
	}{
		// webhook: a new URL with the headers' placeholders
		{TypeWebhook, `{"url":"https://evil.example/x","headers":{"Authorization":"••••cdef","X-Env":"prod"}}`, "headers"},
		{TypeWebhook, `{"url":"https://hooks.example.com/other","headers":{"Authorization":"••••cdef"}}`, "headers"},
		{TypeWebhook, `{"url":"https://evil.example/x","headers":{"Authorization":"Bearer new","X-Env":"prod"}}`, ""},
		{TypeWebhook, `{"url":"https://hooks.example.com/••••cret","headers":{"Authorization":"••••cdef"}}`, ""},
		// gotify: a new server with the app token's placeholder
		{TypeGotify, `{"server_url":"https://evil.example","app_token":"••••"}`, "app_token"},
		{TypeGotify, `{"server_url":"https://evil.example","app_token":"NewToken123"}`, ""},
		{TypeGotify, `{"server_url":"https://gotify.example.com","app_token":"••••","priority":3}`, ""},
		// ntfy: the default server is ntfy.sh; naming another one moves the token
		{TypeNtfy, `{"server_url":"https://evil.example","topic":"upwatch-alerts","token":"••••1234"}`, "token"},
		{TypeNtfy, `{"server_url":"https://ntfy.sh","topic":"upwatch-alerts","token":"••••1234"}`, ""},
		// email: host or port
		{TypeEmail, `{"host":"smtp.evil.example","port":587,"password":"••••","to":["ops@example.com"]}`, "password"},
		{TypeEmail, `{"host":"smtp.example.com","port":2525,"password":"••••","to":["ops@example.com"]}`, "password"},
		{TypeEmail, `{"host":"smtp.example.com","port":587,"password":"••••","to":["x@example.com"]}`, ""},
	} {
		_, err := MergeSecrets(tc.typ, json.RawMessage(v[tc.typ]), json.RawMessage(tc.new))
		if fieldOf(err) != tc.field {
			t.Errorf("%s %s: err = %v, want field %q", tc.typ, tc.new, err, tc.field)
		}
	}
}

func TestMergeSecrets(t *testing.T) {
	old := json.RawMessage(validSettings()[TypeWebhook])

	// A changed secret replaces the old one; a placeholder keeps it, even
	// when the header name's case changed.
	merged, err := MergeSecrets(TypeWebhook, old, json.RawMessage(
		`{"url":"https://hooks.example.com/••••cret","headers":{"authorization":"••••cdef","X-Env":"staging"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"url":"https://hooks.example.com/upwatch?key=secretsecretsecret","headers":{"authorization":"Bearer sk_live_1234567890abcdef","X-Env":"staging"}}`
	if !reflect.DeepEqual(decodeMap(t, merged), decodeMap(t, json.RawMessage(want))) {
		t.Fatalf("merged %s, want %s", merged, want)
	}

	// A placeholder with no old secret behind it, or that is not the old
	// secret's redaction, must be typed again.
	for _, tc := range []struct{ old, new, field string }{
		{``, `{"url":"https://hooks.example.com/••••cret"}`, "url"},
		{string(old), `{"url":"https://attacker.example/••••cret"}`, "url"},
		{string(old), `{"url":"https://hooks.example.com/x","headers":{"X-Other":"••••"}}`, "headers"},
		{`{"topic":"t"}`, `{"topic":"t","token":"••••"}`, "token"},
	} {
		_, err := MergeSecrets(typeOf(tc.new), json.RawMessage(tc.old), json.RawMessage(tc.new))
		if fieldOf(err) != tc.field {
			t.Errorf("MergeSecrets(%s, %s) err = %v, want field %s", tc.old, tc.new, err, tc.field)
		}
	}

	// Non-secret fields pass through unchanged, and an empty secret clears it.
	merged, err = MergeSecrets(TypeNtfy, json.RawMessage(validSettings()[TypeNtfy]), json.RawMessage(`{"topic":"other","token":""}`))
	if err != nil || !strings.Contains(string(merged), `"token":""`) || !strings.Contains(string(merged), `"topic":"other"`) {
		t.Fatalf("merged %s: %v", merged, err)
	}
}

func typeOf(settings string) string {
	if strings.Contains(settings, "topic") {
		return TypeNtfy
	}
	return TypeWebhook
}
