package views

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
)

// ChannelField is one provider setting, as the channel form renders it.
type ChannelField struct {
	Name, Label, Kind, Help string // Kind: text|password|url|number|bool|select|textarea|list|map
	// Value is the current value; list = one item per line, map =
	// "Name: value" per line; secrets arrive already redacted ("••••1234")
	// or "".
	Value            string
	Checked          bool // for bool
	Required, Secret bool
	Options          []string // for select
	Placeholder      string   // e.g. the default value
}

// ChannelTypeOption is one provider card on the "new channel" page.
type ChannelTypeOption struct{ Type, Label, Description string }

// ChannelRow is one alert channel in the list and on its page.
type ChannelRow struct {
	ID                    int64
	Name, Type, TypeLabel string
	Enabled, Default      bool
	Target                string    // a short redacted description, e.g. "hooks.slack.com", "chat 12345"
	LastStatus            string    // "", "sent", "failed", "pending"
	LastAt                time.Time // zero = never
	LastError             string
}

// ChannelsPage is the channel list at GET /channels.
type ChannelsPage struct {
	Page
	Channels []ChannelRow
	Pager    Pager // the list's pages (paging.go)
}

// ChannelTypesPage is GET /channels/new before a type is chosen.
type ChannelTypesPage struct {
	Page
	Types []ChannelTypeOption // each links to /channels/new?type=<Type>
}

// ChannelForm is the add (GET /channels/new?type=X) and edit
// (GET /channels/{id}/edit) pages.
type ChannelForm struct {
	Page
	Action, Submit, Cancel string // POST target, button label, back link
	Type, TypeLabel        string // fixed for this form (hidden field "type")
	Name                   string
	Enabled, Default       bool
	Fields                 []ChannelField    // the type's settings, in order
	Errors                 map[string]string // keys: "name", "type", "settings.<field>"
	FormError              string
	Editing                bool // secrets: show "leave as is to keep the saved value"
}

// AttemptRow is one delivery attempt.
type AttemptRow struct {
	At       time.Time
	OK       bool
	Error    string
	Duration time.Duration
}

// DeliveryRow is one alert sent (or being sent) through a channel.
type DeliveryRow struct {
	ID                int64
	Kind, Status      string // kind: down|up|reminder|test; status: pending|sending|sent|failed
	Monitor           string // monitor name ("" for tests)
	MonitorID         int64
	CreatedAt, SentAt time.Time // SentAt zero = not sent
	Attempts          int
	LastError         string
	Log               []AttemptRow // newest first (may be empty)
}

// TestResult is the outcome of a test send.
type TestResult struct {
	OK       bool
	Error    string
	Duration time.Duration
}

// ChannelDetail is a channel's page at GET /channels/{id}.
type ChannelDetail struct {
	Page
	Channel    ChannelRow
	Test       *TestResult // a just-run test send, shown at the top (nil = none)
	Deliveries []DeliveryRow
	// DeliveriesPager pages the log (paging.go).
	DeliveriesPager Pager
}

// ChannelOption is one channel checkbox on the monitor form.
type ChannelOption struct {
	ID              int64
	Name, TypeLabel string
	Checked         bool
	Enabled         bool
}

// Delivery statuses and kinds, as stored.
const (
	DeliveryPending = "pending"
	DeliverySending = "sending"
	DeliverySent    = "sent"
	DeliveryFailed  = "failed"

	KindDown     = "down"
	KindUp       = "up"
	KindReminder = "reminder"
	KindTest     = "test"
	KindDegraded = "degraded" // sent when a monitor that alerts on it becomes degraded
	// Sent when a maintenance window that asks for it starts and ends.
	KindMaintenanceStart = "maintenance_start"
	KindMaintenanceEnd   = "maintenance_end"
	// Sent when a monitor begins flapping, and a summary when it settles.
	KindFlapping    = "flapping"
	KindFlappingEnd = "flapping_end"
	// Sent to an escalation policy's channels for an unacknowledged incident.
	KindEscalation = "escalation"
)

// channelURL is a channel's page, or a page or action under it ("edit",
// "test", "delete") when sub is not "".
func channelURL(id int64, sub string) templ.SafeURL {
	u := "/channels/" + strconv.FormatInt(id, 10)
	if sub != "" {
		u += "/" + sub
	}
	return templ.SafeURL(u)
}

// channelTypeURL is the add form of a provider type.
func channelTypeURL(typ string) templ.SafeURL {
	return templ.SafeURL("/channels/new?type=" + url.QueryEscape(typ))
}

// providerKey is a channel type restricted to the known providers, for
// class names; "other" for anything else.
func providerKey(typ string) string {
	switch typ {
	case "email", "slack", "discord", "telegram", "ntfy", "gotify", "pushover", "teams", "webhook":
		return typ
	}
	return "other"
}

// providerMark is the letter (or sign) on a provider's badge.
func providerMark(typ, label string) string {
	switch providerKey(typ) {
	case "email":
		return "@"
	case "webhook":
		return "{ }"
	case "ntfy":
		return "n"
	}
	for _, r := range orDefault(label, typ) {
		return strings.ToUpper(string(r))
	}
	return "?"
}

// providerClass is the class of a provider badge.
func providerClass(typ string) string { return "provider provider-" + providerKey(typ) }

// channelName is a channel's name for people, never empty.
func channelName(name string) string { return orDefault(name, "Untitled channel") }

// deliveryKey is a delivery status restricted to the known set.
func deliveryKey(s string) string {
	switch s {
	case DeliveryPending, DeliverySending, DeliverySent, DeliveryFailed:
		return s
	}
	return "unknown"
}

// deliveryLabel is the word of a delivery status pill.
func deliveryLabel(s string) string {
	switch s {
	case DeliveryPending:
		return "Pending"
	case DeliverySending:
		return "Sending"
	case DeliverySent:
		return "Sent"
	case DeliveryFailed:
		return "Failed"
	}
	return "Unknown"
}

// deliveryPillClass maps a delivery status onto the status pill colours
// (and their CSS-drawn icons).
func deliveryPillClass(s string) string {
	switch s {
	case DeliverySent:
		return "pill pill-small pill-up"
	case DeliveryFailed:
		return "pill pill-small pill-down"
	case DeliveryPending, DeliverySending:
		return "pill pill-small pill-pending"
	}
	return "pill pill-small pill-unknown"
}

// kindLabel is the word for an alert kind.
func kindLabel(k string) string {
	switch k {
	case KindDown:
		return "Down"
	case KindUp:
		return "Recovered"
	case KindReminder:
		return "Reminder"
	case KindTest:
		return "Test"
	case KindDegraded:
		return "Degraded"
	case KindMaintenanceStart:
		return "Maintenance"
	case KindMaintenanceEnd:
		return "Maintenance over"
	case KindFlapping:
		return "Flapping"
	case KindFlappingEnd:
		return "Flapping settled"
	case KindEscalation:
		return "Escalation"
	}
	return orDefault(k, "Alert")
}

// kindClass is the class of an alert kind label.
func kindClass(k string) string {
	switch k {
	case KindDown, KindUp, KindReminder, KindTest, KindDegraded, KindEscalation:
		return "kind kind-" + k
	case KindMaintenanceStart, KindMaintenanceEnd:
		return "kind kind-maintenance"
	case KindFlapping, KindFlappingEnd:
		return "kind kind-flapping"
	}
	return "kind"
}

// testText is the message of a test send's outcome.
func (r TestResult) text() string {
	if r.OK {
		if r.Duration > 0 {
			return "Test message sent in " + durationMS(r.Duration)
		}
		return "Test message sent"
	}
	return orDefault(r.Error, "The test message could not be sent")
}

// durationMS is a short duration in milliseconds: "312 ms", "1,204 ms".
func durationMS(d time.Duration) string {
	return FormatMS(float64(d) / float64(time.Millisecond))
}

// channelDeleteQuestion is the data-confirm text of a channel's delete button.
func channelDeleteQuestion(name string) string {
	return "Delete the channel “" + channelName(name) + "”? Monitors using it stop sending alerts there."
}

// settingName is the form field name of a provider setting (also its id and
// its key in ChannelForm.Errors).
func settingName(name string) string { return "settings." + name }

// fieldKind is a ChannelField kind restricted to the known set ("text" for
// anything else).
func (f ChannelField) kind() string {
	switch f.Kind {
	case "password", "url", "number", "bool", "select", "textarea", "list", "map":
		return f.Kind
	}
	return "text"
}

// inputMode is the inputmode of a one-line setting.
func (f ChannelField) inputMode() string {
	switch f.kind() {
	case "url":
		return "url"
	case "number":
		return "numeric"
	}
	return ""
}

// hint is the text under a setting: its help, what the kind expects, and
// for a saved secret how to keep it.
func (f ChannelField) hint(editing bool) string {
	var parts []string
	if f.Help != "" {
		parts = append(parts, strings.TrimRight(f.Help, " "))
	}
	switch f.kind() {
	case "list":
		parts = append(parts, "One per line.")
	case "map":
		parts = append(parts, "One per line, as Name: value.")
	}
	if f.Secret && editing && f.Value != "" {
		parts = append(parts, "Leave as is to keep the saved value.")
	}
	return strings.Join(parts, " ")
}

// textRows is the height of a textarea setting.
func (f ChannelField) textRows() int {
	n := strings.Count(f.Value, "\n") + 2
	return min(max(n, 3), 10)
}

// selectOptions are a select's options plus the current value when it is
// not among them, so a bad value re-renders as submitted.
func (f ChannelField) selectOptions() []string {
	if f.Value != "" && !slices.Contains(f.Options, f.Value) {
		return append(slices.Clone(f.Options), f.Value)
	}
	return f.Options
}

// channelCheckID is the id of a channel checkbox on the monitor form.
func channelCheckID(id int64) string { return "channel-" + strconv.FormatInt(id, 10) }

// channelsText is "3 channels".
func channelsText(n int) string { return plural(n, "channel", "channels") }

// attemptsWord follows the attempt count on narrow screens, where the
// delivery log has no column headings: " attempt" or " attempts".
func attemptsWord(n int) string {
	if n == 1 {
		return " attempt"
	}
	return " attempts"
}
