package notify

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// Maintenance start and end reach a webhook as their own events, with the
// window's title; a round trip through the delivery snapshot keeps it.
func TestMaintenanceEvents(t *testing.T) {
	at := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)
	start := Event{Kind: EventMaintenanceStart, MonitorID: 7, Monitor: "Router", URL: "http://192.168.1.1/",
		At: at, Window: "Firmware <b>update</b>"}
	end := start
	end.Kind, end.From, end.At, end.Duration = EventMaintenanceEnd, "up", at.Add(2*time.Hour), 2*time.Hour
	for _, tc := range []struct {
		e            Event
		title, event string
	}{{start, "🔧 MAINTENANCE: Router", "maintenance_start"}, {end, "🔧 Maintenance over: Router", "maintenance_end"}} {
		raw, err := EncodeEvent(tc.e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeEvent(raw)
		if err != nil || back.Window != tc.e.Window || back.Kind != tc.e.Kind {
			t.Fatalf("round trip %+v, %v", back, err)
		}
		srv, ch := receiver(t, 200, "")
		s := mustNew(t, TypeWebhook, `{"url":"`+srv.URL+`"}`, testOptions())
		if err := s.Send(context.Background(), back); err != nil {
			t.Fatal(err)
		}
		var p WebhookPayload
		if err := json.Unmarshal(receive(t, ch).Body, &p); err != nil {
			t.Fatal(err)
		}
		if p.Event != tc.event || p.Title != tc.title || p.Window != tc.e.Window || !strings.Contains(p.Message, "Window: Firmware") {
			t.Errorf("payload %+v", p)
		}
		if tc.e.Kind == EventMaintenanceEnd && (p.DurationSeconds != 7200 || !strings.Contains(p.Message, "Now: up")) {
			t.Errorf("end payload %+v", p)
		}
	}
}

func TestFlappingEvents(t *testing.T) {
	at := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		e     Event
		title string
	}{
		{Event{Kind: EventFlapping, Monitor: "Wi-Fi", Changes: 6, Reason: "timeout", At: at}, "🟠 FLAPPING: Wi-Fi"},
		{Event{Kind: EventFlappingEnd, Monitor: "Wi-Fi", Changes: 9, From: "up", Duration: 40 * time.Minute, At: at}, "🟠 Flapping settled: Wi-Fi"},
	} {
		raw, _ := EncodeEvent(tc.e)
		back, err := DecodeEvent(raw)
		if err != nil || back.Changes != tc.e.Changes {
			t.Fatalf("round trip %+v, %v", back, err)
		}
		srv, ch := receiver(t, 200, "")
		s := mustNew(t, TypeWebhook, `{"url":"`+srv.URL+`"}`, testOptions())
		if err := s.Send(context.Background(), back); err != nil {
			t.Fatal(err)
		}
		var p WebhookPayload
		if err := json.Unmarshal(receive(t, ch).Body, &p); err != nil {
			t.Fatal(err)
		}
		if p.Event != tc.e.Kind || p.Title != tc.title || p.Changes != tc.e.Changes || !strings.Contains(p.Message, "state changes") {
			t.Errorf("payload %+v", p)
		}
	}
}

func TestEscalationMessage(t *testing.T) {
	e := Event{Kind: EventEscalation, Monitor: "DB", Reason: "timeout", Duration: 15 * time.Minute, At: time.Now()}
	raw, _ := EncodeEvent(e)
	back, err := DecodeEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	m, err := buildMessage(back)
	if err != nil || !strings.HasPrefix(m.Title, "🚨 ESCALATED: DB") || !m.urgent() || !strings.Contains(m.plain(), "Down for: 15m") {
		t.Errorf("message %+v, %v", m, err)
	}
}
