package notify

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// validSettings is one accepted configuration per type, with every secret
// set; the redaction tests reuse it.
func validSettings() map[string]string {
	return map[string]string{
		TypeEmail:    `{"host":"smtp.example.com","port":587,"tls":"starttls","username":"alerts","password":"hunter2hunter2hunter2","from":"upwatch <alerts@example.com>","to":["ops@example.com"]}`,
		TypeSlack:    `{"webhook_url":"https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXabcd"}`,
		TypeDiscord:  `{"webhook_url":"https://discord.com/api/webhooks/123/abcdefghijklmnopqrstuvwxyz"}`,
		TypeTelegram: `{"bot_token":"123456789:AAEhBP0av28aaaaaaaaaaaaaaaaaaaWXYZ","chat_id":"@upwatch_alerts"}`,
		TypeNtfy:     `{"topic":"upwatch-alerts","token":"tk_abcdefghijklmnopqrstuvwx1234","priority":5}`,
		TypeGotify:   `{"server_url":"https://gotify.example.com","app_token":"AbCdEf123456789","priority":0}`,
		TypePushover: `{"user_key":"uQiRzpo4DXghDmr9QzzfQu27cmVRsG","app_token":"azGDORePK8gMaC0QOYAMyEEuzJnyUi","priority":-2}`,
		TypeTeams:    `{"webhook_url":"https://prod-00.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=SIGNATURE1234567890"}`,
		TypeWebhook:  `{"url":"https://hooks.example.com/upwatch?key=secretsecretsecret","method":"PUT","headers":{"Authorization":"Bearer sk_live_1234567890abcdef","X-Env":"prod"},"body_template":"{\"text\": {{json .Title}}}"}`,
	}
}

func TestValidSettingsAccepted(t *testing.T) {
	for typ, settings := range validSettings() {
		if _, err := New(typ, json.RawMessage(settings), Options{}); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
	}
}

func TestValidationNamesTheField(t *testing.T) {
	email := func(extra string) string {
		return `{"host":"smtp.example.com","from":"a@example.com","to":["ops@example.com"]` + extra + `}`
	}
	for _, tc := range []struct {
		typ, settings, field string
	}{
		{"sms", `{}`, "type"},
		{TypeSlack, `[]`, "settings"},
		{TypeSlack, `{"webhook_url":`, "settings"},
		{TypeSlack, `{}`, "webhook_url"},
		{TypeSlack, `{"webhook_url":""}`, "webhook_url"},
		{TypeSlack, `{"webhook_url":5}`, "webhook_url"},
		{TypeSlack, `{"webhook_url":"hooks.slack.com/services/x"}`, "webhook_url"},
		{TypeSlack, `{"webhook_url":"ftp://hooks.slack.com/x"}`, "webhook_url"},
		{TypeSlack, `{"webhook_url":"javascript:alert(1)"}`, "webhook_url"},
		{TypeSlack, `{"webhook_url":"https://hooks.slack.com/x","channel":"#ops"}`, "channel"},
		{TypeDiscord, `{"webhook_url":"https://discord.com/api/webhooks/1/x#frag"}`, "webhook_url"},
		{TypeDiscord, `{"webhook_url":"https:///no-host"}`, "webhook_url"},
		{TypeTeams, `{"webhook_url":["https://x"]}`, "webhook_url"},
		{TypeTelegram, `{"chat_id":"1"}`, "bot_token"},
		{TypeTelegram, `{"bot_token":"abc","chat_id":"1"}`, "bot_token"},
		{TypeTelegram, `{"bot_token":"123:AAEhBP0av28aaaaaaaaaaa/../x","chat_id":"1"}`, "bot_token"},
		{TypeTelegram, `{"bot_token":"123456789:AAEhBP0av28aaaaaaaaaaaaaaaaaaaWXYZ","chat_id":"my chat"}`, "chat_id"},
		{TypeTelegram, `{"bot_token":"123456789:AAEhBP0av28aaaaaaaaaaaaaaaaaaaWXYZ","chat_id":1}`, "chat_id"},
		{TypeTelegram, `{"bot_token":"123456789:AAEhBP0av28aaaaaaaaaaaaaaaaaaaWXYZ","chat_id":"1","api_url":"https://x/?a=1"}`, "api_url"},
		{TypeNtfy, `{}`, "topic"},
		{TypeNtfy, `{"topic":"a b"}`, "topic"},
		{TypeNtfy, `{"topic":"t","priority":9}`, "priority"},
		{TypeNtfy, `{"topic":"t","priority":"high"}`, "priority"},
		{TypeNtfy, `{"topic":"t","priority":2.5}`, "priority"},
		{TypeNtfy, `{"topic":"t","token":"tk_a b"}`, "token"},
		{TypeNtfy, `{"topic":"t","token":"tk\r\nX-Evil: 1"}`, "token"},
		{TypeNtfy, `{"topic":"t","server_url":"file:///etc/passwd"}`, "server_url"},
		{TypeGotify, `{"app_token":"x"}`, "server_url"},
		{TypeGotify, `{"server_url":"https://g.example.com"}`, "app_token"},
		{TypeGotify, `{"server_url":"https://g.example.com","app_token":"x","priority":11}`, "priority"},
		{TypeGotify, `{"server_url":"https://g.example.com","app_token":"x","priority":true}`, "priority"},
		{TypePushover, `{"user_key":"short","app_token":"azGDORePK8gMaC0QOYAMyEEuzJnyUi"}`, "user_key"},
		{TypePushover, `{"user_key":"uQiRzpo4DXghDmr9QzzfQu27cmVRsG","app_token":"azGDORePK8gMaC0QOYAMyEEuzJny!!"}`, "app_token"},
		{TypePushover, `{"user_key":"uQiRzpo4DXghDmr9QzzfQu27cmVRsG","app_token":"azGDORePK8gMaC0QOYAMyEEuzJnyUi","priority":2}`, "priority"},
		{TypePushover, `{"user_key":"uQiRzpo4DXghDmr9QzzfQu27cmVRsG","app_token":"azGDORePK8gMaC0QOYAMyEEuzJnyUi","api_url":"nope"}`, "api_url"},
		{TypeEmail, `{"from":"a@example.com","to":["ops@example.com"]}`, "host"},
		{TypeEmail, `{"host":"smtp.example.com:25","from":"a@example.com","to":["ops@example.com"]}`, "host"},
		{TypeEmail, `{"host":"smtp example com","from":"a@example.com","to":["ops@example.com"]}`, "host"},
		{TypeEmail, email(`,"port":70000`), "port"},
		{TypeEmail, email(`,"port":"25"`), "port"},
		{TypeEmail, email(`,"tls":"ssl"`), "tls"},
		{TypeEmail, email(`,"username":"u"`), "password"},
		{TypeEmail, email(`,"password":"p"`), "username"},
		{TypeEmail, email(`,"username":"u\r\nMAIL FROM:<x>","password":"p"`), "username"},
		{TypeEmail, `{"host":"h","from":"a@example.com"}`, "to"},
		{TypeEmail, `{"host":"h","from":"a@example.com","to":[]}`, "to"},
		{TypeEmail, `{"host":"h","from":"a@example.com","to":"ops@example.com"}`, "to"},
		{TypeEmail, `{"host":"h","from":"a@example.com","to":["not an address"]}`, "to"},
		{TypeEmail, `{"host":"h","from":"a@example.com","to":["ops@example.com\r\nBcc: a@b.c"]}`, "to"},
		{TypeEmail, `{"host":"h","from":"a@example.com","to":["nodomain@"]}`, "to"},
		{TypeEmail, `{"host":"h","from":"bad","to":["ops@example.com"]}`, "from"},
		{TypeEmail, `{"host":"h","to":["ops@example.com"]}`, "from"},
		{TypeWebhook, `{}`, "url"},
		{TypeWebhook, `{"url":"https://x.example","method":"GET"}`, "method"},
		{TypeWebhook, `{"url":"https://x.example","headers":["a"]}`, "headers"},
		{TypeWebhook, `{"url":"https://x.example","headers":{"X-A":1}}`, "headers"},
		{TypeWebhook, `{"url":"https://x.example","headers":{"X-A":"b\r\nX-Evil: 1"}}`, "headers"},
		{TypeWebhook, `{"url":"https://x.example","headers":{"bad name":"x"}}`, "headers"},
		{TypeWebhook, `{"url":"https://x.example","headers":{"Host":"internal"}}`, "headers"},
		{TypeWebhook, `{"url":"https://x.example","headers":{"content-length":"1"}}`, "headers"},
		{TypeWebhook, `{"url":"https://x.example","body_template":"{{call .X}}"}`, "body_template"},
		{TypeWebhook, `{"url":"https://x.example","body_template":7}`, "body_template"},
	} {
		t.Run(tc.typ+"/"+tc.field, func(t *testing.T) {
			_, err := New(tc.typ, json.RawMessage(tc.settings), Options{})
			if err == nil {
				t.Fatalf("%s accepted", tc.settings)
			}
			var fes FieldErrors
			if !errors.As(err, &fes) {
				t.Fatalf("err %T is not FieldErrors: %v", err, err)
			}
			var fields []string
			for _, fe := range fes {
				fields = append(fields, fe.Field)
				if fe.Message == "" {
					t.Errorf("empty message for %s", fe.Field)
				}
			}
			if !slices.Contains(fields, tc.field) {
				t.Fatalf("errors name %q, want %q: %v", fields, tc.field, err)
			}
			if fieldOf(err) == "" || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("errors.As(*FieldError) / message: %v", err)
			}
		})
	}
}

// Every field at fault is reported at once, for the form to show them all.
func TestValidationReportsAllFields(t *testing.T) {
	_, err := New(TypeEmail, json.RawMessage(`{"port":"x","tls":"ssl","bogus":1}`), Options{})
	var fes FieldErrors
	if !errors.As(err, &fes) {
		t.Fatalf("err = %v", err)
	}
	var fields []string
	for _, fe := range fes {
		fields = append(fields, fe.Field)
	}
	want := []string{"bogus", "host", "port", "tls", "to"}
	if !slices.Equal(fields, want) {
		t.Fatalf("fields %q, want %q", fields, want)
	}
}

func TestTypes(t *testing.T) {
	types := Types()
	var names []string
	kinds := []string{KindText, KindPassword, KindURL, KindNumber, KindBool, KindSelect, KindTextarea, KindList, KindMap}
	for _, ti := range types {
		names = append(names, ti.Type)
		if ti.Label == "" || len(ti.Fields) == 0 {
			t.Errorf("%s: no label or fields", ti.Type)
		}
		for _, f := range ti.Fields {
			if f.Name == "" || f.Label == "" || !slices.Contains(kinds, f.Kind) {
				t.Errorf("%s.%s: bad field %+v", ti.Type, f.Name, f)
			}
			if (f.Kind == KindSelect) != (len(f.Options) > 0) {
				t.Errorf("%s.%s: options only for selects", ti.Type, f.Name)
			}
		}
	}
	want := []string{TypeEmail, TypeSlack, TypeDiscord, TypeTelegram, TypeNtfy, TypeGotify, TypePushover, TypeTeams, TypeWebhook}
	if !slices.Equal(names, want) {
		t.Fatalf("types %q, want %q", names, want)
	}
	// Callers get copies: changing one does not change the registry.
	types[0].Fields[0].Required = false
	types[0].Label = "changed"
	if again := Types(); again[0].Label == "changed" || !again[0].Fields[0].Required {
		t.Fatal("Types shares state with its callers")
	}
	// The table serialises for the dashboard.
	if b, err := json.Marshal(Types()); err != nil || !strings.Contains(string(b), `"secret":true`) {
		t.Fatalf("json: %v %s", err, b)
	}
}
