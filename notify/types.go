package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
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

// TypeInfo describes one channel type, for the dashboard to render its form
// without hard-coding providers.
type TypeInfo struct {
	Type   string      `json:"type"`
	Label  string      `json:"label"`
	Fields []FieldInfo `json:"fields"`
}

// FieldInfo describes one settings field.
type FieldInfo struct {
	Name     string   `json:"name"`  // settings key
	Label    string   `json:"label"` // form label
	Kind     string   `json:"kind"`  // one of the Kind constants
	Required bool     `json:"required"`
	Secret   bool     `json:"secret"`            // redacted by Redact, kept by MergeSecrets
	Default  string   `json:"default,omitempty"` // what an absent value means, as text
	Options  []string `json:"options,omitempty"` // for KindSelect
	Help     string   `json:"help,omitempty"`
}

// Types lists every channel type with its fields. The slice is new on every
// call: callers may change it.
func Types() []TypeInfo {
	defs := typeDefs()
	out := make([]TypeInfo, len(defs))
	for i, d := range defs {
		out[i] = d.info
	}
	return out
}

type typeDef struct {
	info  TypeInfo
	build func(settings json.RawMessage, opts Options) (Sender, error)
}

// typeDefs is the registry, built on each call so that no caller can alter
// it (no package-level mutable state).
func typeDefs() []typeDef {
	return []typeDef{
		{emailInfo(), newEmail},
		{slackInfo(), newSlack},
		{discordInfo(), newDiscord},
		{telegramInfo(), newTelegram},
		{ntfyInfo(), newNtfy},
		{gotifyInfo(), newGotify},
		{pushoverInfo(), newPushover},
		{teamsInfo(), newTeams},
		{webhookInfo(), newWebhook},
	}
}

func lookup(typ string) (typeDef, bool) {
	for _, d := range typeDefs() {
		if d.info.Type == typ {
			return d, true
		}
	}
	return typeDef{}, false
}

// Limits on settings, so a stored channel stays small and a form cannot
// make a send loop over thousands of recipients or headers.
const (
	maxSettingsBytes = 64 << 10
	maxStringLen     = 2048
	maxTextareaLen   = 16 << 10
	maxListLen       = 50
	maxMapLen        = 30
)

// parseObject reads settings as a JSON object; null members count as absent.
func parseObject(raw json.RawMessage) (map[string]json.RawMessage, *FieldError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return map[string]json.RawMessage{}, nil
	}
	if len(raw) > maxSettingsBytes {
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

// decodeSettings checks settings against the type's field table (unknown
// fields, JSON types, required, URL syntax, select options) and fills dst,
// a pointer to the provider's config struct whose json tags are the field
// names. Provider-specific rules come after, in the provider's constructor.
func decodeSettings(info TypeInfo, raw json.RawMessage, dst any) FieldErrors {
	obj, fe := parseObject(raw)
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
		if !slices.ContainsFunc(info.Fields, func(f FieldInfo) bool { return f.Name == k }) {
			errs.add(clean(k, 60), "unknown field")
			delete(obj, k)
		}
	}
	for _, f := range info.Fields {
		v, ok := obj[f.Name]
		if !ok {
			if f.Required {
				errs.add(f.Name, "is required")
			}
			continue
		}
		if msg := checkField(f, v); msg != "" {
			errs.add(f.Name, "%s", msg)
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
		// Unreachable once checkField passed: the table and the struct disagree.
		errs.add("settings", "cannot be read: %v", mErr)
	}
	return errs
}

// checkField validates one present value against its field description and
// returns a message for the form, or "".
func checkField(f FieldInfo, v json.RawMessage) string {
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
		if len(l) > maxListLen {
			return fmt.Sprintf("must have at most %d entries", maxListLen)
		}
		if f.Required && len(l) == 0 {
			return "is required"
		}
		for i, s := range l {
			if len(s) > maxStringLen {
				return fmt.Sprintf("entry %d is too long", i+1)
			}
		}
		return ""
	case KindMap:
		var m map[string]string
		if json.Unmarshal(v, &m) != nil {
			return "must be an object of string values"
		}
		if len(m) > maxMapLen {
			return fmt.Sprintf("must have at most %d entries", maxMapLen)
		}
		for k, s := range m {
			if len(k)+len(s) > maxStringLen {
				return fmt.Sprintf("entry %q is too long", clean(k, 40))
			}
		}
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "must be a string"
	}
	limit := maxStringLen
	if f.Kind == KindTextarea {
		limit = maxTextareaLen
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
		return checkURL(s)
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

// checkURL accepts absolute http(s) URLs with a host and no fragment.
func checkURL(s string) string {
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
	return ""
}

// checkBaseURL is for server/API base URLs that paths are appended to: a
// query there would end up in the middle of the request URL.
func checkBaseURL(errs *FieldErrors, field, s string) {
	if u, err := url.Parse(s); err == nil && (u.RawQuery != "" || u.ForceQuery) {
		errs.add(field, "must not contain a ?query")
	}
}

// joinURL appends a path to a base URL that may carry a path prefix.
func joinURL(base, path string) string {
	return strings.TrimRight(base, "/") + path
}
