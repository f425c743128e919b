package notify

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{42*time.Second + 400*time.Millisecond, "42s"},
		{4*time.Minute + 12*time.Second, "4m12s"},
		{time.Hour + 3*time.Minute + 59*time.Second, "1h3m"},
		{53*time.Hour + 10*time.Minute, "2d5h"},
	} {
		if got := formatDuration(tc.d); got != tc.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestClean(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{hostileHeader, 100, "x Bcc: a@b.c"},
		{"a\u2028b\u2029c\u0085d\te", 100, "a b c d e"},
		{"  lead\x00\x1b[31mred ", 100, "lead [31mred"},
		{"evil\u202Egnp.exe", 100, "evilgnp.exe"},
		{"bad\xffutf8", 100, "bad\uFFFDutf8"},
		{strings.Repeat("é", 10), 10, strings.Repeat("é", 10)},
		{strings.Repeat("é", 10), 9, strings.Repeat("é", 8) + "…"},
	} {
		if got := clean(tc.in, tc.max); got != tc.want {
			t.Errorf("clean(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

func TestBuildMessage(t *testing.T) {
	reminder := downEvent()
	reminder.Kind = EventReminder
	reminder.Duration = time.Hour + 3*time.Minute
	test := Event{Kind: EventTest, At: at0()}
	degraded := downEvent()
	degraded.Kind, degraded.Reason, degraded.Error, degraded.StatusCode = EventDegraded, "slow", "took 1.2 s, more than 800 ms", 0
	undegraded := upEvent()
	undegraded.From = EventDegraded
	for _, tc := range []struct {
		name  string
		e     Event
		title string
		plain string
	}{
		{"down", downEvent(), "🔴 DOWN: API",
			"URL: https://api.example.com/health\nReason: Unexpected status: HTTP 503 Service Unavailable\nStatus code: 503\nStarted: 2025-01-02 15:04:05 UTC\nDetails: https://upwatch.example.com/monitors/42"},
		{"up", upEvent(), "✅ UP: API (down 4m12s)",
			"URL: https://api.example.com/health\nDown for: 4m12s\nStarted: 2025-01-02 15:04:05 UTC\nRecovered: 2025-01-02 15:08:17 UTC\nDetails: https://upwatch.example.com/monitors/42"},
		{"reminder", reminder, "⏰ Still down: API (1h3m)",
			"URL: https://api.example.com/health\nReason: Unexpected status: HTTP 503 Service Unavailable\nStatus code: 503\nStarted: 2025-01-02 15:04:05 UTC\nDown for: 1h3m\nDetails: https://upwatch.example.com/monitors/42"},
		{"degraded", degraded, "🟡 DEGRADED: API",
			"URL: https://api.example.com/health\nReason: Slow response: took 1.2 s, more than 800 ms\nStarted: 2025-01-02 15:04:05 UTC\nDetails: https://upwatch.example.com/monitors/42"},
		{"up from degraded", undegraded, "✅ UP: API (degraded 4m12s)",
			"URL: https://api.example.com/health\nDegraded for: 4m12s\nStarted: 2025-01-02 15:04:05 UTC\nRecovered: 2025-01-02 15:08:17 UTC\nDetails: https://upwatch.example.com/monitors/42"},
		{"instance", Event{Kind: EventInstance, Error: "No worker is running for region eu (3 monitors).", At: at0()},
			"⚠️ upwatch needs attention", "No worker is running for region eu (3 monitors)."},
		{"instance resolved", Event{Kind: EventInstance, From: "resolved", Error: "Resolved: no worker for eu.", At: at0()},
			"✅ upwatch: resolved", "Resolved: no worker for eu."},
		{"test", test, "🔔 Test notification from upwatch",
			"This is a test notification from upwatch. If you can read this, the channel works."},
		{"multiline name and error", Event{Kind: EventDown, Monitor: hostileHeader, Reason: "timeout", Error: "line1\nline2", At: at0(), Link: "javascript:alert(1)"},
			"🔴 DOWN: x Bcc: a@b.c", "Reason: Timed out: line1 line2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := buildMessage(tc.e)
			if err != nil {
				t.Fatal(err)
			}
			if m.Title != tc.title {
				t.Errorf("title = %q, want %q", m.Title, tc.title)
			}
			if got := m.plain(); got != tc.plain {
				t.Errorf("plain =\n%s\nwant\n%s", got, tc.plain)
			}
		})
	}
}

func TestUnknownKindFailsWithoutSending(t *testing.T) {
	srv, ch := receiver(t, 200, "ok")
	s := mustNew(t, TypeSlack, `{"webhook_url":"`+srv.URL+`/x"}`, testOptions())
	err := s.Send(context.Background(), Event{Kind: "exploded"})
	if err == nil || !strings.Contains(err.Error(), "unknown event kind") {
		t.Fatalf("err = %v", err)
	}
	select {
	case <-ch:
		t.Fatal("a request was sent")
	default:
	}
}
