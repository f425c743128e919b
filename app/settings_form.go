package app

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/upwatch/upwatch/settings"
	"github.com/upwatch/upwatch/views"
)

// settingsFields lays out a settings table for a form (a channel's or a
// monitor type's), from stored (redacted) settings, or from what the user
// just typed. A bool left unset shows its default.
func settingsFields(fields []settings.FieldInfo, values map[string]any, typed map[string]string, checked map[string]bool) []views.ChannelField {
	var out []views.ChannelField
	for _, f := range fields {
		cf := views.ChannelField{Name: f.Name, Label: f.Label, Kind: f.Kind, Help: f.Help, Required: f.Required,
			Secret: f.Secret, Options: f.Options, Placeholder: f.Default}
		if typed != nil {
			cf.Value, cf.Checked = typed[f.Name], checked[f.Name]
		} else {
			switch v := values[f.Name].(type) {
			case nil:
				cf.Checked = f.Kind == settings.KindBool && f.Default == "true"
			case bool:
				cf.Checked = v
			case []any:
				var lines []string
				for _, x := range v {
					lines = append(lines, fmt.Sprint(x))
				}
				cf.Value = strings.Join(lines, "\n")
			case map[string]any:
				var b strings.Builder
				for _, k := range slices.Sorted(maps.Keys(v)) {
					fmt.Fprintf(&b, "%s: %v\n", k, v[k])
				}
				cf.Value = b.String()
			case float64:
				cf.Value = strconv.FormatFloat(v, 'f', -1, 64)
			default:
				cf.Value = fmt.Sprint(v)
			}
		}
		out = append(out, cf)
	}
	return out
}

// settingsFormInput reads "settings.<name>" form fields into a settings
// object, with the raw values to show again on an error. An empty field is
// absent (the default); a bool is always present.
func settingsFormInput(r *http.Request, fields []settings.FieldInfo) (json.RawMessage, map[string]string, map[string]bool, FieldErrors) {
	typed, checked := map[string]string{}, map[string]bool{}
	values := map[string]any{}
	var fe FieldErrors
	for _, f := range fields {
		key := "settings." + f.Name
		raw := r.PostFormValue(key)
		typed[f.Name] = raw
		if f.Kind == settings.KindBool {
			checked[f.Name] = raw == "on"
			values[f.Name] = raw == "on"
			continue
		}
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue // absent: the default
		}
		switch f.Kind {
		case settings.KindNumber:
			n, err := strconv.Atoi(raw)
			if err != nil {
				fe.add(key, "must be a whole number")
				continue
			}
			values[f.Name] = n
		case settings.KindList:
			var items []string
			for _, line := range strings.Split(raw, "\n") {
				if line = strings.TrimSpace(line); line != "" {
					items = append(items, line)
				}
			}
			values[f.Name] = items
		case settings.KindMap:
			m := map[string]string{}
			for i, line := range strings.Split(strings.ReplaceAll(raw, "\r\n", "\n"), "\n") {
				if strings.TrimSpace(line) == "" {
					continue
				}
				k, v, ok := strings.Cut(line, ":")
				if !ok {
					fe.add(key, "line %d: write it as Name: value", i+1)
					continue
				}
				m[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
			values[f.Name] = m
		default:
			values[f.Name] = raw
		}
	}
	raw, _ := json.Marshal(values)
	return raw, typed, checked, fe
}
