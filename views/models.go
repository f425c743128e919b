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

	"github.com/upwatch/upwatch/reason"
)

// Page is what every full page needs.
type Page struct {
	Title     string                   // page title, shown as "<Title> · upwatch"
	UserEmail string                   // "" when logged out (then no nav)
	Asset     func(name string) string // hashed URL of a static file, e.g. p.Asset("style.css")
	Flash     string                   // one-line notice shown at the top, e.g. "Monitor created"
	Now       time.Time                // for relative times ("3 min ago"), injected for tests
	Refresh   int                      // >0: <meta http-equiv="refresh" content="N"> (ignored when Live)
	Favicon   string                   // overall state for the tab icon: "up", "down" or "" (neutral)
	Live      bool                     // the page subscribes to the live feed (and does not meta-refresh)
	Problems  []string                 // what is wrong with the instance (no workers, no data), shown as a banner
	ReadOnly  bool                     // a viewer: no buttons or links that change anything

	// section is the nav item marked as the current page; page components
	// set it, handlers need not.
	section string
}

// LivePath is the WebSocket endpoint live pages subscribe to.
const LivePath = "/api/v1/live"

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
	Status          string // pending|up|degraded|down|paused
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
	Degraded                  int
}

// Bar is one period of the history bar on the overview.
type Bar struct {
	At       time.Time
	Label    string   // tooltip heading, e.g. "24 Nov 14:00" or "24 Nov"
	Uptime   *float64 // percent; nil = no checks in that period ("No data")
	Up, Down int64
	Degraded int64 // up checks that were degraded (a part of Up)
	AvgMS    float64
}

// BarCount is how many periods the history bar shows.
const BarCount = 90

// OverviewRow is one monitor on the overview, with its uptime history.
type OverviewRow struct {
	MonitorRow
	Uptime24h, Uptime30d *float64 // percent, nil = no data
	Bars                 []Bar    // oldest first, BarCount entries
}

// Overview is the page at "/": counts, a filter and every matching monitor.
type Overview struct {
	Page
	Rows                             []OverviewRow // already filtered and sorted by the server
	Up, Down, Pending, Paused, Total int           // counts over all monitors, not the filter
	Degraded                         int           // counted apart from Up (and in Total)
	Maintenance                      int           // inside a maintenance window (in Total)
	Unreachable                      int           // failing behind a parent that is down (in Total)
	Flapping                         int           // changing state too often (in Total)
	Query, State, Sort               string        // current filter: q, state (""|up|degraded|down|pending|paused), sort (""=status|name|latency)
	BarsDaily                        bool          // bars are 90 days (true) or 90 hours (false)
}

// UptimeStat is the uptime over one window on the monitor page.
type UptimeStat struct {
	Label    string   // e.g. "24 hours"
	Percent  *float64 // nil = no data
	Up, Down int64
	Degraded int64 // up checks that were degraded (a part of Up)
}

// ChartPoint is one point (a raw check or a roll-up bucket) of the
// response-time chart.
type ChartPoint struct {
	At                                          time.Time
	AvgMS, P95MS, MinMS, MaxMS                  float64
	DNSMS, ConnectMS, TLSMS, TTFBMS, TransferMS float64
	Up, Down                                    int64
}

// Chart is the response-time chart of the monitor page.
type Chart struct {
	Range      string // "1h", "24h", "7d", "30d", "90d" (the selected tab)
	From, To   time.Time
	Resolution string // "raw", "hourly" or "daily"
	Points     []ChartPoint
	// Region is the region whose checks are drawn, "" for all of them;
	// Regions are the monitor's, offered as tabs when there are several.
	Region  string
	Regions []string
}

// IncidentRow is one incident on the monitor page.
type IncidentRow struct {
	ID                    int64
	StartedAt, ResolvedAt time.Time     // ResolvedAt zero = ongoing
	Duration              time.Duration // so far, if ongoing
	Reason, Error         string
	StatusCode            int
	Excerpt               string    // start of the failing response body
	AckedEmail            string    // "" = not acknowledged
	AckedAt               time.Time // zero = not acknowledged
}

// Ongoing reports whether the incident is still open.
func (i IncidentRow) Ongoing() bool { return i.ResolvedAt.IsZero() }

// Acked reports whether someone acknowledged the incident.
func (i IncidentRow) Acked() bool { return i.AckedEmail != "" || !i.AckedAt.IsZero() }

// SessionRow is one signed-in session on the settings page.
type SessionRow struct {
	ID                               string
	CreatedAt, ExpiresAt, LastSeenAt time.Time
	UserAgent                        string
	Current                          bool // the session of this request
}

// TokenRow is one API token on the settings page; zero times are
// never/none.
type TokenRow struct {
	ID                               int64
	Name, Prefix                     string
	Scope                            string // read or write
	CreatedAt, LastUsedAt, ExpiresAt time.Time
}

// UserRow is one account in the admin's user list.
type UserRow struct {
	ID                    int64
	Email                 string
	Admin, Disabled, Self bool
	Role                  string // admin, member or viewer
	OwnerEmail            string // a viewer's: whose monitors they read
	CreatedAt             time.Time
}

// SettingsPage is the account page at "/settings".
type SettingsPage struct {
	Page
	Sessions []SessionRow
	Tokens   []TokenRow
	NewToken string            // a just-created API token, shown once
	Errors   map[string]string // field errors: current_password, new_password, new_password_confirm, token_name, user_email, user_password
	Admin    bool              // show the users section
	Users    []UserRow

	// The add-user form, re-rendered as submitted. (Page.UserEmail is the
	// signed-in user, hence the prefix.)
	NewUserEmail string
	NewUserAdmin bool
	NewUserRole  string
	// Viewer: the signed-in user is a viewer (read-only tokens only).
	Viewer bool
	// TokenName re-renders the token form after an error.
	TokenName string

	// Pages of the token and user lists (paging.go).
	TokensPager, UsersPager Pager
}

// CheckRow is one check result on the detail page.
type CheckRow struct {
	At                                                     time.Time
	OK                                                     bool
	Degraded                                               bool // passed, but slowly or with a warning
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
	Uptime                        []UptimeStat // 24 h, 7 d, 30 d, 90 d
	Chart                         Chart
	Incidents                     []IncidentRow
	Kind                          MonitorKind
	// IncidentsPager pages the incidents (paging.go).
	IncidentsPager Pager
	// Regions are where it is checked from, each with its own view; the
	// card shows when there is more than the server's own region.
	Regions []RegionRow
	Quorum  int
	// Missed counts its checks that no worker ran in time since the
	// server started.
	Missed int64
}

// RegionRow is one region's view of a monitor.
type RegionRow struct {
	Region        string
	Status        string // pending, up, degraded, down, unknown
	LastAt        time.Time
	LatencyMS     float64
	Reason, Error string
	Uptime24h     *float64
}

// showRegions tells whether the page has a regions card: more than one
// region, or one that is not the server's own.
func (p MonitorPage) showRegions() bool {
	return len(p.Regions) > 1 || len(p.Regions) == 1 && p.Regions[0].Region != "local"
}

// quorumText says when the monitor is down.
func (p MonitorPage) quorumText() string {
	if len(p.Regions) <= 1 {
		return ""
	}
	return fmt.Sprintf("Down when %d of %d regions see it down; a region without recent results does not count.", p.Quorum, len(p.Regions))
}

// regionFailure is a region's reason and message, for a region that is not up.
func (r RegionRow) failure() string {
	if r.Status == StatusUp || r.Status == StatusPending {
		return ""
	}
	if r.Status == "unknown" {
		return "No recent results: are its workers running?"
	}
	return MonitorRow{LastReason: r.Reason, LastError: r.Error}.failureText()
}

// MonitorKind is what the monitor page shows of a monitor's type.
type MonitorKind struct {
	Type, Label string
	Settings    []ConfigItem // the type's settings (secrets hidden), for the configuration card
	Detail      string       // what the newest check saw: a DNS answer, ping loss, a banner
	CertExpires time.Time    // the certificate's expiry, zero if none seen
	// Push monitors.
	PushURL, Schedule, Cron string // Cron: the expression, "" for a period
	LastBody                string
	RunStarted              time.Time // a run that reported /start, zero if none
}

// ConfigItem is one line of the configuration card.
type ConfigItem struct{ Label, Value string }

// configItems are the settings lines of the configuration card; a push
// monitor's schedule is shown whole instead.
func (k MonitorKind) configItems() []ConfigItem {
	if k.Type == "push" {
		return nil
	}
	return k.Settings
}

// isHTTP tells whether the page is an HTTP monitor's.
func (k MonitorKind) isHTTP() bool { return k.Type == "" || k.Type == "http" }

// certDays is how many whole days the certificate has left (negative when
// expired).
func certDays(now, exp time.Time) int {
	return int(math.Round(exp.Sub(now).Hours() / 24))
}

// certText says when a certificate expires, for people.
func certText(now, exp time.Time) string {
	d := certDays(now, exp)
	date := exp.UTC().Format("2 Jan 2006")
	switch {
	case exp.Before(now):
		return "expired on " + date
	case d == 0:
		return "expires today (" + date + ")"
	case d == 1:
		return "expires tomorrow (" + date + ")"
	}
	return fmt.Sprintf("expires in %d days (%s)", d, date)
}

// certClass colours the certificate line: red when expired, amber within
// two weeks.
func certClass(now, exp time.Time) string {
	switch d := certDays(now, exp); {
	case exp.Before(now):
		return "cert cert-bad"
	case d < 14:
		return "cert cert-warn"
	}
	return "cert"
}

// curlLine is the command a job runs to ping; suffix is "", "/start",
// "/fail" or "/$?".
func curlLine(pushURL, suffix string) string {
	return "curl -fsS -m 10 --retry 5 -o /dev/null " + pushURL + suffix
}

// cronLine is a crontab entry that runs a job and reports its exit code.
func (k MonitorKind) cronLine() string {
	when := k.Cron
	if when == "" {
		when = "0 3 * * *"
	}
	return when + " /path/to/job.sh; " + curlLine(k.PushURL, "/$?")
}

// MonitorValues are the form's values, kept as strings so bad input
// re-renders exactly as typed.
type MonitorValues struct {
	Name, URL, Method, IntervalSeconds, TimeoutSeconds, ExpectedStatus, Headers, Body, Confirmations string
	FollowRedirects, VerifyTLS                                                                       bool
	ReminderMinutes                                                                                  string // minutes between reminders while down; "" or "0" = none
	DegradedLatencyMS                                                                                string // "" or "0" = off
	AlertDegraded                                                                                    bool
	Regions, Quorum                                                                                  string // comma-separated; "" = the defaults / a majority
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
	Channels  []ChannelOption // the user's alert channels, as checkboxes "channels"
	// DependsOn are the user's other monitors, as checkboxes "depends_on"
	// (with "depends_on_present", so that none ticked clears them).
	DependsOn []MonitorChoice

	// Type is the monitor's kind, sent back as the hidden field "type";
	// Settings are its own fields, named "settings.<Name>".
	Type, TypeLabel, TypeHelp string
	Settings                  []ChannelField
	Editing                   bool
}

// MonitorTypesPage is the first step of adding a monitor: its kind.
type MonitorTypesPage struct {
	Page
	Types []ChannelTypeOption
}

// isHTTP tells whether the form is for an HTTP monitor (with its request fields).
func (f MonitorForm) isHTTP() bool { return f.Type == "" || f.Type == "http" }

// scheduled tells whether the monitor is checked on an interval (a push
// monitor waits for pings instead).
func (f MonitorForm) scheduled() bool { return f.Type != "push" }

// monitorTypeURL is the add form of a type.
func monitorTypeURL(typ string) templ.SafeURL {
	return templ.SafeURL("/monitors/new?type=" + url.QueryEscape(typ))
}

// typeKey is a monitor type restricted to the known set, for class names.
func typeKey(typ string) string {
	switch typ {
	case "http", "tcp", "ping", "dns", "tls", "push":
		return typ
	}
	return "other"
}

// typeMark is the short mark on a monitor type's badge.
func typeMark(typ string) string {
	switch typ {
	case "http":
		return "WEB"
	case "tcp":
		return "TCP"
	case "ping":
		return "ICMP"
	case "dns":
		return "DNS"
	case "tls":
		return "TLS"
	case "push":
		return "PUSH"
	}
	return "?"
}

// Status values, as stored.
const (
	StatusPending  = "pending"
	StatusUp       = "up"
	StatusDegraded = "degraded" // checks pass, but slowly or with a warning
	StatusDown     = "down"
	StatusPaused   = "paused"
	// StatusMaintenance: inside a maintenance window (checks go on, no
	// alerts, left out of uptime).
	StatusMaintenance = "maintenance"
	// StatusUnreachable: failing while a monitor it depends on is down:
	// no incident, no alert.
	StatusUnreachable = "unreachable"
	// StatusFlapping: changing state too often; one alert said so.
	StatusFlapping = "flapping"
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
	case StatusDegraded, StatusUnreachable, StatusFlapping:
		return 1
	case StatusPending:
		return 2
	case StatusUp:
		return 3
	case StatusPaused, StatusMaintenance:
		return 4
	}
	return 5
}

// SortRows returns a copy of rows ordered down, degraded, pending, up,
// paused (unknown statuses last), keeping the given order within each
// status.
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
	case StatusDegraded:
		return "Degraded"
	case StatusPending:
		return "Pending"
	case StatusPaused:
		return "Paused"
	case StatusMaintenance:
		return "Maintenance"
	case StatusUnreachable:
		return "Unreachable"
	case StatusFlapping:
		return "Flapping"
	}
	return "Unknown"
}

// statusKey is a status restricted to the known set, for class names.
func statusKey(s string) string {
	switch s {
	case StatusUp, StatusDegraded, StatusDown, StatusPending, StatusPaused, StatusMaintenance, StatusUnreachable, StatusFlapping:
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
func ReasonLabel(code string) string { return reason.Label(code) }

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
	var n int64
	var unit string
	switch {
	case d < 5*time.Second:
		return "just now"
	case d < time.Minute:
		n, unit = int64(d/time.Second), " s"
	case d < time.Hour:
		n, unit = int64(d/time.Minute), " min"
	case d < 48*time.Hour:
		n, unit = int64(d/time.Hour), " h"
	default:
		n, unit = int64(d/(24*time.Hour)), " d"
	}
	if future {
		return "in " + strconv.FormatInt(n, 10) + unit
	}
	return strconv.FormatInt(n, 10) + unit + " ago"
}

// ISOTime is t for a <time datetime> attribute: RFC 3339 in UTC,
// "2025-11-24T23:59:03Z".
func ISOTime(t time.Time) string {
	var b [20]byte
	if !putDateTime(b[:], t, 'T') {
		return t.UTC().Format(time.RFC3339)
	}
	b[19] = 'Z'
	return string(b[:])
}

// FullTime is t in UTC for people: "2025-11-24 23:59:03 UTC".
func FullTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	var b [23]byte
	if !putDateTime(b[:], t, ' ') {
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	copy(b[19:], " UTC")
	return string(b[:])
}

// putDateTime writes "2006-01-02?15:04:05" of t in UTC into b, with sep
// between date and time; false for years outside 0–9999. (time.Format is
// slower, and the overview formats two times per row.)
func putDateTime(b []byte, t time.Time, sep byte) bool {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	if y < 0 || y > 9999 {
		return false
	}
	put := func(i, v, n int) {
		for j := i + n - 1; j >= i; j-- {
			b[j] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, y, 4)
	b[4] = '-'
	put(5, int(mo), 2)
	b[7] = '-'
	put(8, d, 2)
	b[10] = sep
	put(11, h, 2)
	b[13] = ':'
	put(14, mi, 2)
	b[16] = ':'
	put(17, s, 2)
	return true
}

// FormatMS formats milliseconds: "0.42 ms", "7.5 ms", "123 ms", "1,234 ms".
func FormatMS(ms float64) string {
	var b [32]byte
	return string(appendMS(b[:0], ms))
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
//
// It does not parse the whole URL (the overview calls it for every row):
// it takes what lies between "scheme://" and the path, minus any userinfo.
func Host(raw string) string {
	s := strings.TrimSpace(raw)
	i := strings.Index(s, "://")
	if i <= 0 || !validScheme(s[:i]) {
		return raw
	}
	rest := s[i+3:]
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		rest = rest[:j]
	}
	if j := strings.LastIndexByte(rest, '@'); j >= 0 {
		rest = rest[j+1:]
	}
	if rest == "" {
		return raw
	}
	return rest
}

// validScheme reports whether s is a URL scheme: a letter, then letters,
// digits, "+", "-" or ".".
func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
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
	case reason != "" && strings.HasPrefix(strings.ToLower(r.LastError), strings.ToLower(reason)):
		return r.LastError // "connection refused (…)" says it already
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

// faviconURL is the tab icon for the page's overall state.
func (p Page) faviconURL() string {
	switch p.Favicon {
	case StatusUp:
		return p.AssetURL("favicon-up.svg")
	case StatusDown:
		return p.AssetURL("favicon-down.svg")
	}
	return p.AssetURL("favicon.svg")
}

// withSection is p with its nav item marked as current.
func withSection(p Page, section string) Page {
	p.section = section
	return p
}

// DurationText is a duration for people: "42 s", "3 min", "2 h 5 min",
// "3 d 4 h".
func DurationText(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 24*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
	days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	if h == 0 {
		return fmt.Sprintf("%d d", days)
	}
	return fmt.Sprintf("%d d %d h", days, h)
}

// ShortTime is t in UTC, compact: "24 Nov 11:57 UTC", with the year when it
// is not now's.
func ShortTime(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	t = t.UTC()
	if now.IsZero() {
		now = time.Now()
	}
	if t.Year() != now.UTC().Year() {
		return t.Format("2 Jan 2006 15:04 UTC")
	}
	return t.Format("2 Jan 15:04 UTC")
}

// incidentDuration is how long an incident lasted (or has lasted so far).
func (i IncidentRow) durationText(now time.Time) string {
	d := i.Duration
	if d <= 0 && !i.StartedAt.IsZero() {
		end := i.ResolvedAt
		if end.IsZero() {
			end = now
		}
		d = end.Sub(i.StartedAt)
	}
	return DurationText(d)
}

// incidentURL is a POST target under an incident, e.g. "acknowledge".
func incidentURL(id int64, action string) templ.SafeURL {
	return templ.SafeURL("/incidents/" + strconv.FormatInt(id, 10) + "/" + action)
}

// uptimeClass colours an uptime figure by the history-bar thresholds.
func uptimeClass(p *float64) string {
	return "uptime-value lvl-" + strconv.Itoa(BarLevel(p))
}

// checksText is "1,438 up · 2 down" or "No checks".
func checksText(up, down int64) string {
	if up+down == 0 {
		return "No checks"
	}
	return groupDigits(up) + " up · " + groupDigits(down) + " down"
}

// degradedText is the share of an uptime window's checks that were
// degraded, "0.52% degraded" ("<0.01% degraded" for a few in many), or ""
// when none were.
func (u UptimeStat) degradedText() string {
	n := u.Up + u.Down
	if u.Degraded <= 0 || n <= 0 {
		return ""
	}
	p := float64(u.Degraded) * 100 / float64(n)
	if p < 0.01 {
		return "<0.01% degraded"
	}
	return string(appendPercent(nil, p)) + " degraded"
}

// degradedTitle is the tooltip of degradedText: the count behind it.
func (u UptimeStat) degradedTitle() string {
	checks := " degraded checks"
	if u.Degraded == 1 {
		checks = " degraded check"
	}
	return groupDigits(u.Degraded) + checks + ", counted as up"
}

// mainAttrs are the live hooks on <main> of the monitor page.
func (p MonitorPage) mainAttrs() templ.Attributes {
	return templ.Attributes{
		"data-monitor-id": strconv.FormatInt(p.Monitor.ID, 10),
		"data-status":     statusKey(p.Monitor.Status),
	}
}

// DateText is the UTC date of t: "26 Aug 2025".
func DateText(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2 Jan 2006")
}

// section is the nav item of the monitor form: "Add monitor" for a new one.
func (f MonitorForm) section() string {
	if f.Action == "/monitors" {
		return "new"
	}
	return "monitors"
}

// settingsInUse tells whether any of the form's settings has a value or an
// error, so a folded section opens.
func (f MonitorForm) settingsInUse() bool {
	for _, fd := range f.Settings {
		if strings.TrimSpace(fd.Value) != "" || fd.Checked || f.Errors[settingName(fd.Name)] != "" {
			return true
		}
	}
	return f.Errors["settings"] != ""
}

// namePlaceholder suggests a name for a monitor of the kind.
func namePlaceholder(typ string) string {
	switch typ {
	case "tcp":
		return "NAS SSH"
	case "ping":
		return "Router"
	case "dns":
		return "Pi-hole"
	case "tls":
		return "Shop certificate"
	case "push":
		return "Nightly backup"
	}
	return "Marketing site"
}

// degradedLabel names the latency threshold for the kind: a push
// monitor's latency is its run time.
func degradedLabel(typ string) string {
	if typ == "push" {
		return "Slow run (ms)"
	}
	return "Slow response (ms)"
}
