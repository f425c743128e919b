package notify

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func webhookWithTemplate(url, tmpl string) string {
	b, _ := json.Marshal(map[string]any{"url": url, "body_template": tmpl})
	return string(b)
}

func TestWebhookTemplateRendersExactly(t *testing.T) {
	srv, ch := receiver(t, 200, "")
	tmpl := `{"text": {{json .Title}}, "name": {{json .Monitor.Name}}, "id": {{.Monitor.ID}}, "event": "{{upper .Event}}", "reason": "{{lower "TIMEOUT"}}", ` +
		`"code": {{.StatusCode}}{{if eq .Event "down"}}, "down": true{{end}}{{with .Link}}, "link": {{json .}}{{end}}}`
	s := mustNew(t, TypeWebhook, webhookWithTemplate(srv.URL+"/hook", tmpl), testOptions())
	if err := s.Send(context.Background(), hostileEvent(hostileChat)); err != nil {
		t.Fatal(err)
	}
	c := receive(t, ch)
	want := `{"text": "🔴 DOWN: <!channel> @everyone *x* \"quotes\" </script>", "name": "<!channel> @everyone *x* \"quotes\" </script>", "id": 42, "event": "DOWN", "reason": "timeout", "code": 503, "down": true, "link": "https://upwatch.example.com/monitors/42"}`
	if string(c.Body) != want {
		t.Fatalf("body =\n%s\nwant\n%s", c.Body, want)
	}
	if c.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("content type %q", c.Header.Get("Content-Type"))
	}
}

func TestWebhookTemplateCustomContentType(t *testing.T) {
	srv, ch := receiver(t, 200, "")
	b, _ := json.Marshal(map[string]any{
		"url": srv.URL, "body_template": "{{.Title}}\n{{.Message}}",
		"headers": map[string]string{"content-type": "text/plain; charset=utf-8"},
	})
	s := mustNew(t, TypeWebhook, string(b), testOptions())
	if err := s.Send(context.Background(), upEvent()); err != nil {
		t.Fatal(err)
	}
	c := receive(t, ch)
	want := "✅ UP: API (down 4m12s)\nURL: https://api.example.com/health\nDown for: 4m12s\nStarted: 2025-01-02 15:04:05 UTC\nRecovered: 2025-01-02 15:08:17 UTC\nDetails: https://upwatch.example.com/monitors/42"
	if string(c.Body) != want || c.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("body %q, content type %q", c.Body, c.Header.Get("Content-Type"))
	}
}

// The template sees the alert's fields and nothing else: {{.}} is the
// plain data struct, and the channel's own settings are not in it.
func TestWebhookTemplateSeesOnlyAlertFields(t *testing.T) {
	srv, ch := receiver(t, 200, "")
	s := mustNew(t, TypeWebhook, `{"url":"`+srv.URL+`","headers":{"Authorization":"Bearer topsecret"},"body_template":"{{.}}"}`, testOptions())
	if err := s.Send(context.Background(), downEvent()); err != nil {
		t.Fatal(err)
	}
	body := string(receive(t, ch).Body)
	if !strings.Contains(body, "{42 API https://api.example.com/health}") || strings.Contains(body, "topsecret") {
		t.Fatalf("{{.}} = %s", body)
	}
	for _, field := range []string{".Headers", ".URL", ".Settings", ".Env", ".Token"} {
		if _, err := New(TypeWebhook, json.RawMessage(webhookWithTemplate(srv.URL, "{{"+field+"}}")), Options{}); fieldOf(err) != "body_template" {
			t.Errorf("{{%s}}: err = %v, want a body_template error", field, err)
		}
	}
}

func TestWebhookTemplateRejected(t *testing.T) {
	for _, tc := range []struct{ name, tmpl, msg string }{
		{"call", `{{call .Monitor.Name}}`, `"call" is not allowed`},
		{"call in pipeline", `{{.Monitor.Name | call}}`, `"call" is not allowed`},
		{"env", `{{env "HOME"}}`, `function "env" not defined`},
		{"getenv", `{{getenv "PATH"}}`, `function "getenv" not defined`},
		{"readFile", `{{readFile "/etc/passwd"}}`, `function "readFile" not defined`},
		{"printf", `{{printf "%v" .}}`, `"printf" is not allowed`},
		{"nested html", `{{html (html .Title)}}`, `"html" is not allowed`},
		{"range int", `{{range 1000000000}}{{end}}`, `range is not allowed`},
		{"define", `{{define "x"}}a{{end}}b`, `define and block are not allowed`},
		{"block", `{{block "x" .}}a{{end}}`, `not allowed`},
		{"template", `{{template "body_template" .}}`, `template and block are not allowed`},
		{"unknown field", `{{.Monitor.Password}}`, `can't evaluate field Password`},
		{"syntax", `{{.Title`, `unclosed action`},
		{"too large", strings.Repeat("{{.Message}}", 1000), "body exceeds 64 KiB"},
		{"json bomb", strings.Repeat("{{$x := .Message}}", 1) + "{{$x = json $x}}" + strings.Repeat("{{$x = json $x}}", 40) + "{{$x}}", "body exceeds 64 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(TypeWebhook, json.RawMessage(webhookWithTemplate("https://example.com/hook", tc.tmpl)), Options{})
			if fieldOf(err) != "body_template" || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want body_template error containing %q", err, tc.msg)
			}
		})
	}
}

// A template that fits sample data can still exceed the cap on a real
// alert: Send fails instead of sending a truncated body.
func TestWebhookTemplateCapAtSend(t *testing.T) {
	srv, ch := receiver(t, 200, "")
	s := mustNew(t, TypeWebhook, webhookWithTemplate(srv.URL, strings.Repeat("{{.Error}}", 300)), testOptions())
	e := downEvent()
	e.Error = strings.Repeat("e", maxError)
	err := s.Send(context.Background(), e)
	if !errors.Is(err, errBodyTooLarge) {
		t.Fatalf("err = %v", err)
	}
	select {
	case <-ch:
		t.Fatal("a request was sent")
	default:
	}
}
