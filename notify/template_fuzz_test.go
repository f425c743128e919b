package notify

import (
	"testing"
)

// FuzzBodyTemplate: a user's webhook template either is refused at parse
// time or renders the sample event within the output cap without panic;
// the vetting keeps every accepted template to the allowed functions.
func FuzzBodyTemplate(f *testing.F) {
	for _, s := range []string{`{"text":{{json .Message}}}`, `{{.Monitor.Name | upper}}`, `{{range .}}x{{end}}`,
		`{{define "a"}}{{template "a"}}{{end}}{{template "a"}}`, `{{printf "%s" .Event}}`, `{{call .X}}`, `{{index . 1}}`,
		`{{if eq .Event "down"}}D{{else}}U{{end}}`, `{{.Nope}}`, `{{len .Title}}`, `{{`, ``, `{{/* c */}}`, `{{block "b" .}}{{end}}`} {
		f.Add(s)
	}
	data := sampleTemplateData()
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := parseBodyTemplate(src)
		if err != nil {
			return
		}
		out, err := renderBody(tpl, data)
		if err == nil && len(out) > maxBody {
			t.Fatalf("%q rendered %d bytes, over the cap", src, len(out))
		}
	})
}
