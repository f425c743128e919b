// Package views holds the server-rendered pages of the dashboard: templ
// components that take the view-model structs below. Views never touch the
// store; handlers build these structs and pass them in.
//
// Every piece of user-supplied text (names, URLs, errors) is written through
// templ's escaping. Monitor URLs become links only when LinkURL says they are
// http(s); everything else is shown as text.
package views

import (
	"cmp"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
)

// Page is what every full page needs.
type Page struct {
	Title     string                   // page title, shown as "<Title> · upwatch"
	UserEmail string                   // "" when logged out (then no nav)
	Asset     func(name string) string // hashed URL of a static file, e.g. p.Asset("style.css")
	Flash     string                   // one-line notice shown at the top, e.g. "Monitor created"
	Now       time.Time                // for relative times ("3 min ago"), injected for tests
	Refresh   int                      // >0: <meta http-equiv="refresh" content="N">
}

// AuthForm is the setup (first account) and login pages.
type AuthForm struct {
	Page
	Email  string
	Next   string            // login only: hidden field "next"
	Error  string            // form-level error (e.g. "Wrong email or password")
	Errors map[string]string // field errors keyed by field name
}

// MonitorRow is one monitor with its current state and last result.
type MonitorRow struct {
	ID              int64
	Name, URL       string
	Status          string // pending|up|down|paused
	StatusSince     time.Time
	LastCheckedAt   time.Time // zero = never checked
	LastLatencyMS   float64
	LastStatusCode  int
	LastReason      string
	LastError       string
	IntervalSeconds int
}

// MonitorsPage is the overview at "/".
type MonitorsPage struct {
	Page
	Rows                      []MonitorRow
	Up, Down, Pending, Paused int
}

// CheckRow is one check result on the detail page.
type CheckRow struct {
	At                                                     time.Time
	OK                                                     bool
	StatusCode                                             int
	LatencyMS, DNSMS, ConnectMS, TLSMS, TTFBMS, TransferMS float64
	Reason, Error                                          string
}

// MonitorPage is the detail page of one monitor.
type MonitorPage struct {
	Page
	Monitor                       MonitorRow
	Method, ExpectedStatus        string
	TimeoutSeconds, Confirmations int
	FollowRedirects, VerifyTLS    bool
	Paused                        bool
	Checks                        []CheckRow
}

// MonitorValues are the form's values, kept as strings so bad input
// re-renders exactly as typed.
type MonitorValues struct {
	Name, URL, Method, IntervalSeconds, TimeoutSeconds, ExpectedStatus, Headers, Body, Confirmations string
	FollowRedirects, VerifyTLS                                                                       bool
}

// MonitorForm is the add and edit pages.
type MonitorForm struct {
	Page
	Action    string // form POST target, e.g. "/monitors" or "/monitors/7/edit"
	Submit    string // button label
	Cancel    string // link back
	Values    MonitorValues
	Errors    map[string]string // field name → message, shown under the field (aria-describedby)
	FormError string
}

// Status values, as stored.
const (
	StatusPending = "pending"
	StatusUp      = "up"
	StatusDown    = "down"
	StatusPaused  = "paused"
)

// formMethods are the methods offered by the monitor form, in display order.
func formMethods() []string {
	return []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
}

// FullTitle is the <title> of a page.
func (p Page) FullTitle() string {
	if p.Title == "" {
		return "upwatch"
	}
	return p.Title + " · upwatch"
}

// AssetURL is the URL of a static file; without an Asset func (tests,
// previews) it falls back to the unhashed path.
func (p Page) AssetURL(name string) string {
	if p.Asset == nil {
		return "/static/" + name
	}
	return p.Asset(name)
}

// statusRank orders the overview: what needs attention first.
func statusRank(s string) int {
	switch s {
	case StatusDown:
		return 0
	case StatusPending:
		return 1
	case StatusUp:
		return 2
	case StatusPaused:
		return 3
	}
	return 4
}

// SortRows returns a copy of rows ordered down, pending, up, paused (unknown
// statuses last), keeping the given order within each status.
// MonitorsList sorts with it, so handlers need not.
func SortRows(rows []MonitorRow) []MonitorRow {
	out := slices.Clone(rows)
	slices.SortStableFunc(out, func(a, b MonitorRow) int {
		return cmp.Compare(statusRank(a.Status), statusRank(b.Status))
	})
	return out
}

// StatusLabel is the word shown in a status pill.
func StatusLabel(s string) string {
	switch s {
	case StatusUp:
		return "Up"
	case StatusDown:
		return "Down"
	case StatusPending:
		return "Pending"
	case StatusPaused:
		return "Paused"
	}
	return "Unknown"
}

// statusKey is a status restricted to the known set, for class names.
func statusKey(s string) string {
	switch s {
	case StatusUp, StatusDown, StatusPending, StatusPaused:
		return s
	}
	return "unknown"
}

// StatusClass is the CSS class of a status pill.
func StatusClass(s string) string {
	return "pill pill-" + statusKey(s)
}

// ReasonLabel is a human label for a checker reason code; unknown codes are
// returned as they are.
func ReasonLabel(reason string) string {
	switch reason {
	case "timeout":
		return "Timed out"
	case "dns":
		return "DNS lookup failed"
	case "refused":
		return "Connection refused"
	case "tls":
		return "TLS error"
	case "status":
		return "Unexpected status"
	case "redirects":
		return "Too many redirects"
	case "error":
		return "Request failed"
	}
	return reason
}

// RelTime is t relative to now: "just now", "42 s ago", "3 min ago",
// "5 h ago", "2 d ago" (or "in 3 min" for future times). Zero t is "never".
func RelTime(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	if now.IsZero() {
		now = time.Now()
	}
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < 5*time.Second:
		return "just now"
	case d < time.Minute:
		s = fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		s = fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%d h", int(d/time.Hour))
	default:
		s = fmt.Sprintf("%d d", int(d/(24*time.Hour)))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// ISOTime is t for a <time datetime> attribute.
func ISOTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// FullTime is t in UTC for people: "2025-11-24 23:59:03 UTC".
func FullTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// FormatMS formats milliseconds: "0.42 ms", "7.5 ms", "123 ms", "1,234 ms".
func FormatMS(ms float64) string {
	switch {
	case math.IsNaN(ms) || math.IsInf(ms, 0) || ms < 0:
		return "—"
	case ms < 1:
		return strconv.FormatFloat(ms, 'f', 2, 64) + " ms"
	case ms < 10:
		return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
	}
	return groupDigits(int64(math.Round(ms))) + " ms"
}

// phaseMS is a phase timing; zero means "not measured" (e.g. no TLS on http).
func phaseMS(ms float64) string {
	if ms == 0 {
		return "—"
	}
	return FormatMS(ms)
}

func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	if pre > 0 {
		b.WriteString(s[:pre])
	}
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// LatencyText is the last latency of a row, or "—" before the first check.
func (r MonitorRow) LatencyText() string {
	if r.LastCheckedAt.IsZero() {
		return "—"
	}
	return FormatMS(r.LastLatencyMS)
}

// Host is the host (with port) of a URL, for compact display; the raw text
// when it has none.
func Host(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return raw
	}
	return u.Host
}

// LinkURL reports whether raw may be rendered as a link: only http and
// https URLs are; anything else (javascript:, data:, relative) is text.
func LinkURL(raw string) (templ.SafeURL, bool) {
	l := strings.ToLower(raw)
	if strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") {
		return templ.SafeURL(raw), true
	}
	return "", false
}

// IntervalText is a check interval for people: "30 s", "5 min", "2 h".
func IntervalText(seconds int) string {
	switch {
	case seconds <= 0:
		return "—"
	case seconds%3600 == 0:
		return fmt.Sprintf("%d h", seconds/3600)
	case seconds%60 == 0:
		return fmt.Sprintf("%d min", seconds/60)
	}
	return fmt.Sprintf("%d s", seconds)
}

// YesNo is a boolean setting for people.
func YesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

// orDefault is s, or def when s is empty.
func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// plural is "1 monitor" / "3 monitors".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// monitorURL is the detail page of a monitor.
func monitorURL(id int64) templ.SafeURL {
	return templ.SafeURL("/monitors/" + strconv.FormatInt(id, 10))
}

// monitorAction is a POST target under a monitor, e.g. "pause".
func monitorAction(id int64, action string) templ.SafeURL {
	return templ.SafeURL("/monitors/" + strconv.FormatInt(id, 10) + "/" + action)
}

// fieldError is the error message of a form field, "" when none.
func fieldError(errs map[string]string, name string) string {
	return errs[name]
}

// errorID is the id of the element holding a field's error message.
func errorID(name string) string { return name + "-error" }

// hintID is the id of the element holding a field's hint.
func hintID(name string) string { return name + "-hint" }

// describedBy is the aria-describedby value of a field: its hint (if it has
// one) and its error (if any).
func describedBy(errs map[string]string, name string, hasHint bool) string {
	var ids []string
	if hasHint {
		ids = append(ids, hintID(name))
	}
	if errs[name] != "" {
		ids = append(ids, errorID(name))
	}
	return strings.Join(ids, " ")
}

// methodOptions are the options of the method select: the standard set,
// plus the submitted value when it is something else, so it re-renders
// as typed.
func methodOptions(current string) []string {
	opts := formMethods()
	if current != "" && !slices.Contains(opts, current) {
		opts = append(opts, current)
	}
	return opts
}

// methodSelected reports whether opt is the selected method ("GET" when
// none is set).
func methodSelected(current, opt string) bool {
	if current == "" {
		current = "GET"
	}
	return current == opt
}

// pauseValue is the hidden "paused" value the pause/resume button posts.
func pauseValue(paused bool) string {
	if paused {
		return "false"
	}
	return "true"
}

// failureText is the one-line reason and error of a failing row.
func (r MonitorRow) failureText() string {
	reason := ReasonLabel(r.LastReason)
	switch {
	case reason != "" && r.LastError != "":
		return reason + ": " + r.LastError
	case reason != "":
		return reason
	}
	return r.LastError
}

// inputField describes one labelled <input> with its hint and error.
type inputField struct {
	Name, Label, Type, Value string
	Autocomplete, InputMode  string
	Placeholder, Hint        string
	Required                 bool
	Errors                   map[string]string
}

func (f inputField) err() string { return f.Errors[f.Name] }

func (f inputField) inputType() string { return orDefault(f.Type, "text") }

// fieldClass is the class of a field wrapper, marking invalid ones.
func fieldClass(errs map[string]string, name string) string {
	if errs[name] != "" {
		return "field field-invalid"
	}
	return "field"
}

// statusCodeText is an HTTP status code, "—" when there was none.
func statusCodeText(code int) string {
	if code <= 0 {
		return "—"
	}
	return strconv.Itoa(code)
}

// confirmationsText explains the confirmations setting.
func confirmationsText(n int) string {
	if n <= 1 {
		return "Down on the first failure"
	}
	return strconv.Itoa(n) + " failures in a row"
}
