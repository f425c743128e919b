package notify

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/upwatch/upwatch/reason"
	"github.com/upwatch/upwatch/settings"
)

// Caps on user-controlled text, in runes: long enough for any real name, URL
// or error, short enough that every provider's size limits hold (Pushover's
// message is 1024 characters, Discord's title 256).
const (
	maxName   = 200
	maxURL    = 500
	maxError  = 500
	maxReason = 40
)

// fact is one "Label: value" line of a message.
type fact struct {
	Label, Value string
}

// message is an Event turned into provider-neutral, sanitised plain text:
// every string is one line without control characters. Providers escape it
// for their own format; nothing here is escaped yet.
type message struct {
	Kind  string
	Title string
	Intro string // a sentence before the facts (test messages)
	Facts []fact
	Link  string // absolute http(s) link or ""
	At    time.Time
}

func buildMessage(e Event) (message, error) {
	name := clean(e.Monitor, maxName)
	if name == "" {
		name = "(unnamed monitor)"
	}
	target := clean(e.URL, maxURL)
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	m := message{Kind: e.Kind, Link: safeLink(e.Link), At: at.UTC()}
	reason := reasonText(e)
	started := ""
	if !e.StartedAt.IsZero() {
		started = formatTime(e.StartedAt)
	}
	add := func(label, value string) {
		if value != "" {
			m.Facts = append(m.Facts, fact{label, value})
		}
	}

	status := ""
	if e.StatusCode > 0 {
		status = strconv.Itoa(e.StatusCode)
	}
	// stillDown is a reminder's or an escalation's body: how long so far.
	stillDown := func(title string) {
		m.Title = title
		if e.Duration > 0 {
			m.Title += " (" + formatDuration(e.Duration) + ")"
		}
		add("URL", target)
		add("Reason", reason)
		add("Status code", status)
		add("Started", started)
		if e.Duration > 0 {
			add("Down for", formatDuration(e.Duration))
		}
	}
	switch e.Kind {
	case EventDown:
		m.Title = "🔴 DOWN: " + name
		add("URL", target)
		add("Reason", reason)
		add("Status code", status)
		add("Started", started)
	case EventReminder:
		stillDown("⏰ Still down: " + name)
	case EventDegraded:
		m.Title = "🟡 DEGRADED: " + name
		add("URL", target)
		add("Reason", reason)
		add("Started", started)
	case EventUp:
		m.Title = "✅ UP: " + name
		add("URL", target)
		was, label := "down", "Down for"
		if e.From == EventDegraded {
			was, label = "degraded", "Degraded for"
		}
		if e.Duration > 0 {
			m.Title += " (" + was + " " + formatDuration(e.Duration) + ")"
			add(label, formatDuration(e.Duration))
		}
		add("Started", started)
		add("Recovered", formatTime(m.At))
	case EventMaintenanceStart:
		m.Title = "🔧 MAINTENANCE: " + name
		add("URL", target)
		add("Window", clean(e.Window, maxName))
		add("Started", formatTime(m.At))
		m.Intro = "Checks go on; no alerts are sent until the window ends."
	case EventMaintenanceEnd:
		m.Title = "🔧 Maintenance over: " + name
		add("URL", target)
		add("Window", clean(e.Window, maxName))
		if e.Duration > 0 {
			add("Lasted", formatDuration(e.Duration))
		}
		add("Now", clean(e.From, 20))
	case EventEscalation:
		stillDown("🚨 ESCALATED: " + name + " is down and nobody has acknowledged it")
	case EventFlapping:
		m.Title = "🟠 FLAPPING: " + name
		add("URL", target)
		add("Changes", strconv.Itoa(e.Changes)+" state changes")
		add("Last failure", reason)
		m.Intro = "It keeps going up and down; no alert per change is sent until it settles."
	case EventFlappingEnd:
		m.Title = "🟠 Flapping settled: " + name
		add("URL", target)
		add("Now", clean(e.From, 20))
		add("Changes", strconv.Itoa(e.Changes)+" state changes while flapping")
		if e.Duration > 0 {
			add("Flapped for", formatDuration(e.Duration))
		}
		add("Reason", reason)
	case EventInstance:
		m.Title = "⚠️ upwatch needs attention"
		if e.From == "resolved" {
			m.Title = "✅ upwatch: resolved"
		}
		m.Intro = clean(e.Error, maxError)
	case EventTest:
		m.Title = "🔔 Test notification from upwatch"
		m.Intro = "This is a test notification from upwatch. If you can read this, the channel works."
		if e.Monitor != "" {
			add("Monitor", name)
		}
		add("URL", target)
	default:
		return message{}, fmt.Errorf("notify: unknown event kind %q", clean(e.Kind, 20))
	}
	return m, nil
}

// plain renders the message body (without the title) as plain text lines.
func (m message) plain() string {
	var b strings.Builder
	if m.Intro != "" {
		b.WriteString(m.Intro)
		b.WriteByte('\n')
	}
	for _, f := range m.Facts {
		b.WriteString(f.Label + ": " + f.Value + "\n")
	}
	if m.Link != "" {
		b.WriteString("Details: " + m.Link + "\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// urgent tells whether the event reports an ongoing outage, for providers
// with a priority.
func (m message) urgent() bool {
	return m.Kind == EventDown || m.Kind == EventReminder || m.Kind == EventFlapping || m.Kind == EventEscalation
}

// reasonText is the reason code's label and the error message, e.g.
// "Unexpected status: HTTP 503 Service Unavailable".
func reasonText(e Event) string {
	if e.Kind == EventUp || e.Kind == EventTest || e.Kind == EventMaintenanceStart || e.Kind == EventMaintenanceEnd {
		return ""
	}
	label := reason.Label(e.Reason)
	switch {
	case e.Reason == "":
		label = "Error"
	case label == e.Reason: // a code this version does not know
		label = clean(e.Reason, maxReason)
	}
	msg := clean(e.Error, maxError)
	if msg == "" {
		if e.Reason == "" {
			return ""
		}
		return label
	}
	return label + ": " + msg
}

// formatTime is UTC, readable and unambiguous in every client.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// formatDuration is short and rounded to what a reader cares about:
// 42s, 4m12s, 1h3m, 2d5h.
func formatDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int64(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", int64(d/time.Minute), int64(d%time.Minute/time.Second))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%dm", int64(d/time.Hour), int64(d%time.Hour/time.Minute))
	default:
		return fmt.Sprintf("%dd%dh", int64(d/(24*time.Hour)), int64(d%(24*time.Hour)/time.Hour))
	}
}

// clean makes user-controlled text safe to place on one line anywhere
// (see settings.Clean).
func clean(s string, max int) string { return settings.Clean(s, max) }

// safeLink keeps only absolute http(s) links without control characters,
// so a link can go into an href or a provider's link syntax.
func safeLink(s string) string {
	if s == "" || len(s) > 2048 || clean(s, 2048) != s || strings.ContainsAny(s, " ") {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return s
}
