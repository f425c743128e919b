package notify

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/upwatch/upwatch/settings"
)

// Redacted stands for a hidden secret in Redact's output; MergeSecrets
// recognises values containing it.
const Redacted = "••••"

// minTail is the shortest secret whose last 4 characters may be shown: 4
// of 16 still leaves 12 unknown, and the tail tells two tokens apart.
const minTail = 16

// Redact returns settings safe to show in the API, the dashboard or logs:
// every secret field (FieldInfo.Secret) is replaced by Redacted, followed by
// its last 4 characters where that gives nothing useful away. Webhook URLs
// keep scheme and host; their path and query (where the secret lives) are
// hidden. Header values are each hidden. Passwords never show a tail.
func Redact(typ string, settings json.RawMessage) (json.RawMessage, error) {
	def, ok := lookup(typ)
	if !ok {
		return nil, FieldErrors{{Field: "type", Message: fmt.Sprintf("unknown channel type %q", clean(typ, 40))}}
	}
	obj, fe := parseObject(settings)
	if fe != nil {
		return nil, FieldErrors{fe}
	}
	for _, f := range def.info.Fields {
		v, ok := obj[f.Name]
		if !ok || !f.Secret {
			continue
		}
		obj[f.Name] = redactRaw(f, v)
	}
	return json.Marshal(obj)
}

func redactRaw(f FieldInfo, v json.RawMessage) json.RawMessage {
	var out any = Redacted
	if f.Kind == KindMap {
		var m map[string]string
		if json.Unmarshal(v, &m) == nil {
			for k, s := range m {
				m[k] = redactValue(f, s)
			}
			out = m
		}
	} else {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out = redactValue(f, s)
		}
	}
	b, _ := json.Marshal(out) // strings and string maps always encode
	return b
}

// redactValue is the redacted form of one secret string; "" stays "" so a
// form can tell unset from hidden.
func redactValue(f FieldInfo, s string) string {
	if s == "" {
		return ""
	}
	if f.Kind == KindURL {
		return redactURL(s)
	}
	if f.Name == "password" { // a password's tail narrows a guess; a token's does not
		return Redacted
	}
	return Redacted + tail(s)
}

func tail(s string) string {
	r := []rune(s)
	if len(r) < minTail {
		return ""
	}
	return string(r[len(r)-4:])
}

// redactURL keeps what identifies the service (scheme and host) and hides
// what authenticates to it: user info, path and query.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return Redacted
	}
	secret := strings.TrimPrefix(u.EscapedPath(), "/")
	if u.RawQuery != "" {
		secret += "?" + u.RawQuery
	}
	if secret == "" && u.User == nil {
		return s
	}
	return u.Scheme + "://" + u.Host + "/" + Redacted + tail(secret)
}

// MergeSecrets prepares edited settings for saving: where the edit sent
// back the redacted form of a secret (as the form or API client received
// it from Redact), the old secret is kept. A new value containing Redacted
// that is not exactly the old redaction (e.g. a placeholder with a changed
// host) is a FieldError: the user must type the secret again. So is every
// secret kept this way when a destination field (URL, server, host, port)
// changes: a stored secret is never sent to a new destination. Other fields
// pass through untouched; validate the result with New.
func MergeSecrets(typ string, old, new json.RawMessage) (json.RawMessage, error) {
	def, ok := lookup(typ)
	if !ok {
		return nil, FieldErrors{{Field: "type", Message: fmt.Sprintf("unknown channel type %q", clean(typ, 40))}}
	}
	newObj, fe := parseObject(new)
	if fe != nil {
		return nil, FieldErrors{fe}
	}
	oldObj, fe := parseObject(old)
	if fe != nil {
		// Old settings that no longer parse hold nothing to keep.
		oldObj = map[string]json.RawMessage{}
	}
	var errs FieldErrors
	var kept []string // secret fields that took a stored value over
	for _, f := range def.info.Fields {
		nv, ok := newObj[f.Name]
		if !ok || !f.Secret {
			continue
		}
		if f.Kind == KindMap {
			var nm, om map[string]string
			if json.Unmarshal(nv, &nm) != nil {
				continue // New reports the type error
			}
			_ = json.Unmarshal(oldObj[f.Name], &om) // absent or invalid: nothing to keep
			for k, v := range nm {
				if !strings.Contains(v, Redacted) {
					continue
				}
				if ov, ok := lookupHeader(om, k); ok && ov != "" && v == redactValue(f, ov) {
					nm[k] = ov
					if !slices.Contains(kept, f.Name) {
						kept = append(kept, f.Name)
					}
				} else {
					errs.Add(f.Name, "%s holds a hidden value: enter it again", clean(k, 40))
				}
			}
			newObj[f.Name], _ = json.Marshal(nm)
			continue
		}
		var newS, oldS string
		if json.Unmarshal(nv, &newS) != nil || !strings.Contains(newS, Redacted) {
			continue
		}
		_ = json.Unmarshal(oldObj[f.Name], &oldS) // absent or invalid: nothing to keep
		if oldS != "" && newS == redactValue(f, oldS) {
			newObj[f.Name] = oldObj[f.Name]
			kept = append(kept, f.Name)
		} else {
			errs.Add(f.Name, "holds a hidden value: enter it again")
		}
	}
	if len(errs) == 0 {
		errs = append(errs, settings.MovedSecrets(kept, settings.ChangedDestination(def.info.Fields, oldObj, newObj))...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return json.Marshal(newObj)
}

// lookupHeader finds a header by exact name, then case-insensitively, so an
// edit that changes "authorization" to "Authorization" keeps its value.
func lookupHeader(m map[string]string, k string) (string, bool) {
	if v, ok := m[k]; ok {
		return v, true
	}
	for name, v := range m {
		if http.CanonicalHeaderKey(name) == http.CanonicalHeaderKey(k) {
			return v, true
		}
	}
	return "", false
}
