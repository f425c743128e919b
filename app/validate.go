package app

import (
	"encoding/json"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/egress"
	"github.com/upwatch/upwatch/settings"
	"github.com/upwatch/upwatch/store"
)

// Limits on what a user may configure.
const (
	maxNameLen         = 200
	maxURLLen          = 2048
	minInterval        = 1
	maxInterval        = 86400
	maxTimeout         = 120
	maxHeaders         = 50
	maxHeaderValue     = 4096
	maxRequestBody     = 64 << 10
	maxConfirmations   = 10
	maxReminderMinutes = 7 * 24 * 60
	maxChannels        = 50
	maxDegradedMS      = maxTimeout * 1000
	maxRegions         = 10
	minPasswordLen     = 8
	maxPasswordLen     = 256
)

var methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

// monitorInput is a create or a partial update, from JSON or a form: nil
// fields are left as they are (or take defaults on create).
type monitorInput struct {
	Name            *string            `json:"name"`
	Type            *string            `json:"type"`     // default http
	Settings        *json.RawMessage   `json:"settings"` // the type's own settings
	URL             *string            `json:"url"`
	IntervalSeconds *int               `json:"interval_seconds"`
	TimeoutSeconds  *int               `json:"timeout_seconds"`
	Method          *string            `json:"method"`
	Headers         *map[string]string `json:"headers"`
	Body            *string            `json:"body"`
	ExpectedStatus  *string            `json:"expected_status"`
	FollowRedirects *bool              `json:"follow_redirects"`
	VerifyTLS       *bool              `json:"verify_tls"`
	Confirmations   *int               `json:"confirmations"`
	Paused          *bool              `json:"paused"`
	Channels        *[]int64           `json:"channels"`         // alert channel ids; absent on create: the defaults
	ReminderMinutes *int               `json:"reminder_minutes"` // repeat the alert while down; 0: off
	// DegradedLatencyMS marks passing checks slower than it degraded; 0: off.
	DegradedLatencyMS *int  `json:"degraded_latency_ms"`
	AlertDegraded     *bool `json:"alert_degraded"`
	// Regions to check from ([] or absent: the instance's defaults) and
	// how many must agree it is down (0: a majority).
	Regions *[]string `json:"regions"`
	Quorum  *int      `json:"quorum"`
	// DependsOn are the monitors this one depends on (api_dependencies.go).
	DependsOn *[]int64 `json:"depends_on"`
	// FlapChanges and FlapMinutes are the flapping limits (api_flapping.go).
	FlapChanges *int `json:"flap_changes"`
	FlapMinutes *int `json:"flap_minutes"`
	// ConfirmSeconds and RecoverSeconds are the confirmation and recovery
	// periods beside the confirmations count (api_flapping.go).
	ConfirmSeconds *int `json:"confirm_seconds"`
	RecoverSeconds *int `json:"recover_seconds"`
}

// httpOnly lists the top-level fields that only HTTP monitors take, for
// the error a monitor of another type gets when it sends one.
func (in monitorInput) httpOnly() []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"url", in.URL != nil}, {"method", in.Method != nil}, {"headers", in.Headers != nil}, {"body", in.Body != nil},
		{"expected_status", in.ExpectedStatus != nil}, {"follow_redirects", in.FollowRedirects != nil},
		{"verify_tls", in.VerifyTLS != nil}} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}

// newMonitorDefaults is the monitor a create starts from.
func newMonitorDefaults(defaultInterval time.Duration) store.Monitor {
	return store.Monitor{
		Type:            checker.TypeHTTP,
		Settings:        json.RawMessage("{}"),
		Method:          "GET",
		Interval:        defaultInterval,
		ExpectedStatus:  "200-299",
		FollowRedirects: true,
		VerifyTLS:       true,
		Confirmations:   2,
	}
}

// applyMonitor is the one validator shared by the API and the forms: it
// applies in to m and returns every problem found, by field.
func applyMonitor(m store.Monitor, in monitorInput, creating bool) (store.Monitor, FieldErrors) {
	var fe FieldErrors
	prevType := m.Type
	if in.Type != nil {
		typ := strings.TrimSpace(*in.Type)
		if typ == "" {
			typ = checker.TypeHTTP
		}
		if _, ok := checker.LookupType(typ); !ok {
			var names []string
			for _, t := range checker.Types() {
				names = append(names, t.Name)
			}
			fe.add("type", "must be one of %s", strings.Join(names, ", "))
			return m, fe
		}
		m.Type = typ
	}
	if m.Type == "" {
		m.Type = checker.TypeHTTP
	}
	isHTTP := m.Type == checker.TypeHTTP
	if !isHTTP {
		for _, f := range in.httpOnly() {
			fe.add(f, "is only for http monitors")
		}
	}
	// Secrets the edit takes over from the stored settings: they must not
	// follow a change of the monitor's URL to a new host (below).
	var kept []string
	prevURL := m.URL
	switch t, _ := checker.LookupType(m.Type); {
	case in.Settings != nil || m.Type != prevType || creating:
		raw := json.RawMessage("{}")
		if in.Settings != nil {
			raw = *in.Settings
			if m.Type == prevType && !creating {
				kept = settings.KeptSecrets(t.Fields, raw, m.Settings)
				raw = settings.Merge(t.Fields, raw, m.Settings) // a redacted secret sent back keeps its value
			}
		}
		norm, errs := checker.ValidateSettings(m.Type, raw)
		for _, e := range errs {
			field := e.Field
			if field != "type" && field != "settings" {
				field = "settings." + field
			}
			fe.add(field, "%s", e.Message)
		}
		if len(errs) == 0 {
			m.Settings = norm
		}
	}
	if m.Type == checker.TypePing && (creating || prevType != m.Type) {
		if err := checker.PingAvailable(); err != nil {
			fe.add("type", "%s", err.Error())
		}
	}
	if m.Type == checker.TypePush && (creating || prevType != m.Type) && in.Confirmations == nil {
		m.Confirmations = 1 // a missed run is news at once, not a period later
	}
	if !isHTTP {
		m.URL = checker.Describe(m.Type, m.Settings)
		m.Method, m.Headers, m.Body, m.ExpectedStatus = "GET", nil, "", checker.DefaultStatusRanges
	}
	if in.Name != nil {
		m.Name = strings.TrimSpace(*in.Name)
	}
	if creating || in.Name != nil {
		switch n := utf8.RuneCountInString(m.Name); {
		case n == 0:
			fe.add("name", "is required")
		case n > maxNameLen:
			fe.add("name", "must be at most %d characters", maxNameLen)
		case !utf8.ValidString(m.Name) || strings.IndexFunc(m.Name, unicode.IsControl) >= 0:
			fe.add("name", "must not contain control characters")
		}
	}
	if in.URL != nil && isHTTP {
		m.URL = strings.TrimSpace(*in.URL)
	}
	if isHTTP && (creating || in.URL != nil || prevType != m.Type) {
		if msg := checkURL(m.URL); msg != "" {
			fe.add("url", "%s", msg)
		}
	}
	if isHTTP && !creating && prevType == m.Type && m.URL != prevURL {
		if in.Settings == nil {
			t, _ := checker.LookupType(m.Type)
			kept = settings.KeptSecrets(t.Fields, nil, m.Settings)
		}
		for _, e := range settings.MovedSecrets(kept, "url") {
			fe.add("settings."+e.Field, "%s", e.Message)
		}
	}
	timeoutSet := in.TimeoutSeconds != nil
	if in.IntervalSeconds != nil {
		if v := *in.IntervalSeconds; v < minInterval || v > maxInterval {
			fe.add("interval_seconds", "must be between %d and %d", minInterval, maxInterval)
		} else {
			m.Interval = time.Duration(v) * time.Second
		}
	}
	if timeoutSet {
		if v := *in.TimeoutSeconds; v < 1 || v > maxTimeout {
			fe.add("timeout_seconds", "must be between 1 and %d", maxTimeout)
		} else {
			m.Timeout = time.Duration(v) * time.Second
		}
	}
	if !timeoutSet && (creating || m.Timeout == 0) {
		m.Timeout = min(10*time.Second, m.Interval)
	}
	if !timeoutSet && m.Timeout > m.Interval {
		m.Timeout = m.Interval // an interval shortened below the old timeout pulls it along
	}
	if timeoutSet && m.Timeout > m.Interval && m.Interval > 0 {
		fe.add("timeout_seconds", "must not exceed the interval (%d s)", int(m.Interval/time.Second))
	}
	if in.Method != nil {
		m.Method = strings.ToUpper(strings.TrimSpace(*in.Method))
		if m.Method == "" {
			m.Method = "GET"
		}
		ok := false
		for _, x := range methods {
			ok = ok || x == m.Method
		}
		if !ok {
			fe.add("method", "must be one of %s", strings.Join(methods, ", "))
		}
	}
	if in.Headers != nil {
		m.Headers = nil
		if len(*in.Headers) > maxHeaders {
			fe.add("headers", "at most %d headers", maxHeaders)
		}
		for k, v := range *in.Headers {
			if !validHeaderName(k) {
				fe.add("headers", "%q is not a valid header name", trunc(k, 40))
				continue
			}
			if len(v) > maxHeaderValue || strings.ContainsAny(v, "\r\n\x00") {
				fe.add("headers", "value of %s must be one line of at most %d bytes", k, maxHeaderValue)
				continue
			}
			if m.Headers == nil {
				m.Headers = map[string]string{}
			}
			m.Headers[k] = v
		}
	}
	if in.Body != nil {
		m.Body = *in.Body
		if len(m.Body) > maxRequestBody {
			fe.add("body", "must be at most %d bytes", maxRequestBody)
		}
	}
	if in.ExpectedStatus != nil {
		s := strings.TrimSpace(*in.ExpectedStatus)
		r, err := checker.ParseStatusRanges(s)
		if err != nil {
			fe.add("expected_status", "%s", err.Error())
		} else {
			m.ExpectedStatus = r.String()
		}
	}
	if in.FollowRedirects != nil {
		m.FollowRedirects = *in.FollowRedirects
	}
	if in.VerifyTLS != nil {
		m.VerifyTLS = *in.VerifyTLS
	}
	if in.Confirmations != nil {
		if v := *in.Confirmations; v < 1 || v > maxConfirmations {
			fe.add("confirmations", "must be between 1 and %d", maxConfirmations)
		} else {
			m.Confirmations = v
		}
	}
	if in.Paused != nil {
		m.Paused = *in.Paused
	}
	if in.ReminderMinutes != nil {
		if v := *in.ReminderMinutes; v < 0 || v > maxReminderMinutes {
			fe.add("reminder_minutes", "must be from 0 (off) to %d", maxReminderMinutes)
		} else {
			m.ReminderEvery = time.Duration(v) * time.Minute
		}
	}
	if in.DegradedLatencyMS != nil {
		if v := *in.DegradedLatencyMS; v < 0 || v > maxDegradedMS {
			fe.add("degraded_latency_ms", "must be from 0 (off) to %d", maxDegradedMS)
		} else {
			m.DegradedLatency = time.Duration(v) * time.Millisecond
		}
	}
	if in.AlertDegraded != nil {
		m.AlertDegraded = *in.AlertDegraded
	}
	if in.Regions != nil {
		m.Regions = nil
		if len(*in.Regions) > maxRegions {
			fe.add("regions", "at most %d regions", maxRegions)
		}
		for _, r := range *in.Regions {
			r = strings.ToLower(strings.TrimSpace(r))
			switch {
			case !checker.ValidRegion(r):
				fe.add("regions", "%q is not a region name (1 to 32 letters, digits or -)", trunc(r, 40))
			case slices.Contains(m.Regions, r):
				fe.add("regions", "%s is listed twice", r)
			default:
				m.Regions = append(m.Regions, r)
			}
		}
		if m.Type == checker.TypePush && len(m.Regions) > 0 {
			fe.add("regions", "push monitors are evaluated by the server and have no regions")
		}
	}
	if in.Quorum != nil {
		m.Quorum = *in.Quorum
	}
	if in.Quorum != nil || in.Regions != nil {
		if n := max(len(m.Regions), 1); m.Quorum < 0 || len(m.Regions) > 0 && m.Quorum > n {
			fe.add("quorum", "must be from 0 (a majority) to the number of regions (%d)", n)
		}
	}
	if in.Channels != nil {
		if len(*in.Channels) > maxChannels {
			fe.add("channels", "at most %d channels", maxChannels)
		}
		m.Channels = append([]int64{}, *in.Channels...) // non-nil: exactly these (the store checks ownership)
	}
	return m, fe
}

func checkURL(raw string) string {
	switch {
	case raw == "":
		return "is required"
	case len(raw) > maxURLLen:
		return "is too long"
	case strings.IndexFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return "must not contain spaces or control characters"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "is not a valid URL"
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "must start with http:// or https://"
	}
	if u.Hostname() == "" {
		return "must include a host"
	}
	if msg := egress.RefusedLiteral(u.Hostname()); msg != "" {
		return "has a host that " + msg
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "has an invalid port"
		}
	}
	return ""
}

// validHeaderName accepts an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for _, c := range s {
		if c > unicode.MaxASCII || !(unicode.IsLetter(c) || unicode.IsDigit(c) || strings.ContainsRune("!#$%&'*+-.^_`|~", c)) {
			return false
		}
	}
	return true
}

func trunc(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// checkCredentials validates an email and a password for a new account.
func checkCredentials(email, password string) (string, FieldErrors) {
	var fe FieldErrors
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		fe.add("email", "is required")
	} else if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		fe.add("email", "is not a valid email address")
	}
	if msg := checkPassword(password); msg != "" {
		fe.add("password", "%s", msg)
	}
	return email, fe
}

// checkPassword returns what is wrong with a new password, or "".
func checkPassword(password string) string {
	switch n := utf8.RuneCountInString(password); {
	case n < minPasswordLen:
		return "must be at least " + strconv.Itoa(minPasswordLen) + " characters"
	case n > maxPasswordLen:
		return "must be at most " + strconv.Itoa(maxPasswordLen) + " characters"
	}
	return ""
}
