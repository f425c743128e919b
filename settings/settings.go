// Package settings describes typed settings objects (an alert channel's, a
// monitor type's) as a table of fields, and validates JSON against that
// table. The same table drives the API documentation, the dashboard's forms
// and validation, so a new channel provider or monitor type declares its
// fields once.
package settings

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/upwatch/upwatch/egress"
)

// Field kinds: how the dashboard renders a field and which JSON type the
// settings hold for it.
const (
	KindText     = "text"     // JSON string, one line
	KindPassword = "password" // JSON string, secret
	KindURL      = "url"      // JSON string, absolute http(s) URL
	KindNumber   = "number"   // JSON whole number
	KindBool     = "bool"     // JSON true/false
	KindSelect   = "select"   // JSON string, one of Options
	KindTextarea = "textarea" // JSON string, several lines
	KindList     = "list"     // JSON array of strings (a form may take one per line)
	KindMap      = "map"      // JSON object of string values (a form may take "Name: value" lines)
)

// FieldInfo describes one settings field.
type FieldInfo struct {
	Name     string `json:"name"`  // settings key
	Label    string `json:"label"` // form label
	Kind     string `json:"kind"`  // one of the Kind constants
	Required bool   `json:"required"`
	Secret   bool   `json:"secret"` // redacted in output, kept when an edit sends the redacted value back
	// Destination marks where the settings' secrets are sent (a URL, a
	// server, a host or port): an edit that changes it must enter every
	// secret again, so a redacted value sent back cannot carry the stored
	// secret to a new place (see MovedSecrets).
	Destination bool     `json:"destination,omitempty"`
	Default     string   `json:"default,omitempty"` // what an absent value means, as text
	Options     []string `json:"options,omitempty"` // for KindSelect
	Help        string   `json:"help,omitempty"`
}

// FieldError names one settings field at fault, in words fit for a form.
type FieldError struct {
	Field   string // settings key, e.g. "webhook_url"; "settings" for the object as a whole
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// FieldErrors is every field error found in one validation, in field order.
type FieldErrors []*FieldError

func (es FieldErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return "invalid settings: " + strings.Join(parts, "; ")
}

// Unwrap lets errors.As reach each *FieldError.
func (es FieldErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Add appends a field error with a formatted message.
func (es *FieldErrors) Add(field, format string, args ...any) {
	*es = append(*es, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Limits on settings, so a stored object stays small and a form cannot make
// a check or a send loop over thousands of entries.
const (
	MaxBytes       = 64 << 10
	MaxStringLen   = 2048
	MaxTextareaLen = 16 << 10
	MaxListLen     = 50
	MaxMapLen      = 30
)

// ParseObject reads settings as a JSON object; null members count as absent.
func ParseObject(raw json.RawMessage) (map[string]json.RawMessage, *FieldError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return map[string]json.RawMessage{}, nil
	}
	if len(raw) > MaxBytes {
		return nil, &FieldError{Field: "settings", Message: "too large"}
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, &FieldError{Field: "settings", Message: "must be a JSON object"}
	}
	for k, v := range obj {
		if string(v) == "null" {
			delete(obj, k)
		}
	}
	return obj, nil
}

// Decode checks settings against a field table (unknown fields, JSON types,
// required, URL syntax, select options) and fills dst, a pointer to a
// struct whose json tags are the field names. Rules particular to one
// provider or type come after, in its own code.
func Decode(fields []FieldInfo, raw json.RawMessage, dst any) FieldErrors {
	obj, fe := ParseObject(raw)
	if fe != nil {
		return FieldErrors{fe}
	}
	var errs FieldErrors
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.ContainsFunc(fields, func(f FieldInfo) bool { return f.Name == k }) {
			errs.Add(Clean(k, 60), "unknown field")
			delete(obj, k)
		}
	}
	for _, f := range fields {
		v, ok := obj[f.Name]
		if !ok {
			if f.Required {
				errs.Add(f.Name, "is required")
			}
			continue
		}
		if msg := CheckField(f, v); msg != "" {
			errs.Add(f.Name, "%s", msg)
			delete(obj, f.Name)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	b, mErr := json.Marshal(obj)
	if mErr == nil {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		mErr = dec.Decode(dst)
	}
	if mErr != nil {
		// Unreachable once CheckField passed: the table and the struct disagree.
		errs.Add("settings", "cannot be read: %v", mErr)
	}
	return errs
}

// CheckField validates one present value against its field description and
// returns a message for the form, or "".
func CheckField(f FieldInfo, v json.RawMessage) string {
	switch f.Kind {
	case KindNumber:
		var n json.Number
		// json.Number would also take the string "25": refuse quotes.
		if bytes.HasPrefix(bytes.TrimSpace(v), []byte(`"`)) || json.Unmarshal(v, &n) != nil {
			return "must be a number"
		}
		if _, err := strconv.ParseInt(string(n), 10, 32); err != nil {
			return "must be a whole number"
		}
		return ""
	case KindBool:
		var b bool
		if json.Unmarshal(v, &b) != nil {
			return "must be true or false"
		}
		return ""
	case KindList:
		var l []string
		if json.Unmarshal(v, &l) != nil {
			return "must be a list of strings"
		}
		if len(l) > MaxListLen {
			return fmt.Sprintf("must have at most %d entries", MaxListLen)
		}
		if f.Required && len(l) == 0 {
			return "is required"
		}
		for i, s := range l {
			if len(s) > MaxStringLen {
				return fmt.Sprintf("entry %d is too long", i+1)
			}
		}
		return ""
	case KindMap:
		var m map[string]string
		if json.Unmarshal(v, &m) != nil {
			return "must be an object of string values"
		}
		if len(m) > MaxMapLen {
			return fmt.Sprintf("must have at most %d entries", MaxMapLen)
		}
		for k, s := range m {
			if len(k)+len(s) > MaxStringLen {
				return fmt.Sprintf("entry %s is too long", Quote(k, 40))
			}
		}
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "must be a string"
	}
	limit := MaxStringLen
	if f.Kind == KindTextarea {
		limit = MaxTextareaLen
	}
	if len(s) > limit {
		return fmt.Sprintf("must be at most %d bytes", limit)
	}
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	if strings.TrimSpace(s) == "" {
		if f.Required {
			return "is required"
		}
		return ""
	}
	switch f.Kind {
	case KindURL:
		return CheckURL(s)
	case KindSelect:
		if !slices.Contains(f.Options, s) {
			return "must be one of " + strings.Join(f.Options, ", ")
		}
	case KindText, KindPassword:
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return "must not contain control characters or line breaks"
		}
	}
	return ""
}

// CheckURL accepts absolute http(s) URLs with a host and no fragment.
func CheckURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "must be a valid URL"
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "must start with https:// or http://"
	}
	if u.Host == "" || u.Hostname() == "" {
		return "must include a host"
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return "must not contain a #fragment"
	}
	if msg := egress.RefusedLiteral(u.Hostname()); msg != "" {
		return "has a host that " + msg
	}
	return ""
}

// Clean makes user-controlled text safe to place on one line anywhere: valid
// UTF-8; control characters, line and paragraph separators collapsed into
// single spaces (so "x\r\nBcc: y" cannot start a header or a line); bidi
// overrides dropped (they can make a name read as something else); at most
// max runes, the last one an ellipsis when cut.
func Clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	pendingSpace := false
	for _, r := range s {
		switch {
		case isBidiControl(r):
			continue
		case unicode.IsControl(r) || unicode.IsSpace(r):
			pendingSpace = true
			continue
		}
		if pendingSpace && b.Len() > 0 {
			b.WriteByte(' ')
		}
		pendingSpace = false
		b.WriteRune(r)
	}
	out := b.String()
	if utf8.RuneCountInString(out) <= max {
		return out
	}
	runes := []rune(out)
	return strings.TrimRight(string(runes[:max-1]), " ") + "…"
}

func isBidiControl(r rune) bool {
	return (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069') ||
		r == '\u200E' || r == '\u200F' || r == '\u061C'
}

// Quote renders user input for an error message: quoted, valid UTF-8, cut
// to max runes so that a long paste does not become a long error.
func Quote(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if utf8.RuneCountInString(s) > max {
		return strconv.Quote(string([]rune(s)[:max])) + "…"
	}
	return strconv.Quote(s)
}

// Redacted stands for a hidden secret in Redact's output; Merge takes it
// back as "keep the stored value".
const Redacted = "••••"

// Redact returns settings safe to show: every non-empty secret field is
// replaced by Redacted. Settings that are not an object come back as {}.
func Redact(fields []FieldInfo, raw json.RawMessage) json.RawMessage {
	obj, fe := ParseObject(raw)
	if fe != nil {
		return json.RawMessage("{}")
	}
	for _, f := range fields {
		if v, ok := obj[f.Name]; ok && f.Secret && string(v) != `""` {
			obj[f.Name] = json.RawMessage(`"` + Redacted + `"`)
		}
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return json.RawMessage("{}")
	}
	return out
}

// Merge prepares edited settings for validation: a secret field sent back
// as Redacted (a form or client that round-tripped Redact's output) takes
// the stored value from old. Anything unparsable is returned as it is,
// for validation to report.
func Merge(fields []FieldInfo, edited, old json.RawMessage) json.RawMessage {
	obj, fe := ParseObject(edited)
	if fe != nil {
		return edited
	}
	prev, fe := ParseObject(old)
	if fe != nil {
		prev = map[string]json.RawMessage{}
	}
	changed := false
	for _, f := range fields {
		if v, ok := obj[f.Name]; ok && f.Secret && string(v) == `"`+Redacted+`"` {
			if p, ok := prev[f.Name]; ok {
				obj[f.Name] = p
			} else {
				delete(obj, f.Name)
			}
			changed = true
		}
	}
	if !changed {
		return edited
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return edited
	}
	return out
}

// ChangedDestination names the first destination field (FieldInfo.Destination)
// whose value differs between old and edited settings objects, or "".
// Absent, empty and the field's default are one value.
func ChangedDestination(fields []FieldInfo, old, edited map[string]json.RawMessage) string {
	for _, f := range fields {
		if f.Destination && effectiveValue(f, old) != effectiveValue(f, edited) {
			return f.Name
		}
	}
	return ""
}

// effectiveValue is a field's value in canonical JSON, absent and empty
// reading as the default.
func effectiveValue(f FieldInfo, obj map[string]json.RawMessage) string {
	def := "default:" + f.Default
	v, ok := obj[f.Name]
	if !ok {
		return def
	}
	var x any
	if json.Unmarshal(v, &x) != nil {
		return "raw:" + string(v)
	}
	if s, ok := x.(string); ok && (strings.TrimSpace(s) == "" || strings.TrimSpace(s) == f.Default) {
		return def
	}
	b, _ := json.Marshal(x)
	return string(b)
}

// MovedSecrets is the rule that keeps secrets where they were entered:
// when destination (a field name, or a caller's own top-level field such
// as a monitor's url) changed, every secret in kept — those whose value was
// taken over from the stored settings instead of being typed anew — is an
// error naming that secret field.
func MovedSecrets(kept []string, destination string) FieldErrors {
	if destination == "" {
		return nil
	}
	var errs FieldErrors
	for _, k := range kept {
		if k == destination {
			continue // a destination sent back redacted is unchanged, by definition
		}
		errs.Add(k, "holds a hidden value: enter it again, since %s changed (a stored secret is never sent to a new destination)", destination)
	}
	return errs
}

// KeptSecrets lists the secret fields whose value an edit takes over from
// old: sent back as Redacted, or — when the edit sends no settings at all
// (edited nil) — every non-empty stored secret.
func KeptSecrets(fields []FieldInfo, edited, old json.RawMessage) []string {
	prev, fe := ParseObject(old)
	if fe != nil {
		return nil
	}
	var obj map[string]json.RawMessage
	if edited != nil {
		if obj, fe = ParseObject(edited); fe != nil {
			return nil
		}
	}
	var kept []string
	for _, f := range fields {
		p, ok := prev[f.Name]
		if !f.Secret || !ok || string(p) == `""` {
			continue
		}
		if edited == nil {
			kept = append(kept, f.Name)
		} else if v, ok := obj[f.Name]; ok && string(v) == `"`+Redacted+`"` {
			kept = append(kept, f.Name)
		}
	}
	return kept
}
