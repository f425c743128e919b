package settings

import (
	"encoding/json"
	"testing"
)

func TestDecode(t *testing.T) {
	fields := []FieldInfo{
		{Name: "host", Kind: KindText, Required: true},
		{Name: "port", Kind: KindNumber},
		{Name: "mode", Kind: KindSelect, Options: []string{"a", "b"}},
	}
	var dst struct {
		Host string `json:"host"`
		Port int    `json:"port"`
		Mode string `json:"mode"`
	}
	cases := []struct {
		raw   string
		field string // first field at fault, "" for none
	}{
		{`{"host":"x","port":22,"mode":"a"}`, ""},
		{`{"port":22}`, "host"},
		{`{"host":"x","port":"22"}`, "port"},
		{`{"host":"x","port":2.5}`, "port"},
		{`{"host":"x","mode":"c"}`, "mode"},
		{`{"host":"x","other":1}`, "other"},
		{`{"host":"a\nb"}`, "host"},
		{`[1]`, "settings"},
		{`{"host":"x","port":null}`, ""},
	}
	for _, c := range cases {
		errs := Decode(fields, json.RawMessage(c.raw), &dst)
		got := ""
		if len(errs) > 0 {
			got = errs[0].Field
		}
		if got != c.field {
			t.Errorf("Decode(%s): first error on %q (%v), want %q", c.raw, got, errs, c.field)
		}
	}
}

func TestRedactMerge(t *testing.T) {
	fields := []FieldInfo{{Name: "user", Kind: KindText}, {Name: "token", Kind: KindPassword, Secret: true}}
	stored := json.RawMessage(`{"token":"s3cret","user":"bob"}`)
	red := Redact(fields, stored)
	if string(red) != `{"token":"••••","user":"bob"}` {
		t.Fatalf("Redact = %s", red)
	}
	if got := Merge(fields, red, stored); string(got) != string(stored) {
		t.Errorf("Merge of the redacted form = %s, want the stored %s", got, stored)
	}
	if got := Merge(fields, json.RawMessage(`{"token":"new","user":"bob"}`), stored); string(got) != `{"token":"new","user":"bob"}` {
		t.Errorf("Merge of a new secret = %s", got)
	}
	if got := Merge(fields, json.RawMessage(`{"token":"••••"}`), json.RawMessage(`{}`)); string(got) != `{}` {
		t.Errorf("Merge without a stored secret = %s", got)
	}
}

func TestSecretsAndDestinations(t *testing.T) {
	fields := []FieldInfo{
		{Name: "server", Kind: KindURL, Default: "https://default.example", Destination: true},
		{Name: "port", Kind: KindNumber, Destination: true},
		{Name: "token", Kind: KindPassword, Secret: true},
		{Name: "topic", Kind: KindText},
	}
	obj := func(s string) map[string]json.RawMessage {
		o, fe := ParseObject(json.RawMessage(s))
		if fe != nil {
			t.Fatal(fe)
		}
		return o
	}
	for _, c := range []struct{ old, new, want string }{
		{`{}`, `{"server":"https://default.example"}`, ""},
		{`{"server":""}`, `{}`, ""},
		{`{"topic":"a"}`, `{"topic":"b"}`, ""},
		{`{}`, `{"server":"https://evil.example"}`, "server"},
		{`{"port":25}`, `{"port":26}`, "port"},
		{`{"port":25}`, `{}`, "port"},
	} {
		if got := ChangedDestination(fields, obj(c.old), obj(c.new)); got != c.want {
			t.Errorf("ChangedDestination(%s, %s) = %q, want %q", c.old, c.new, got, c.want)
		}
	}
	old := json.RawMessage(`{"token":"s3cret","topic":"t"}`)
	if got := KeptSecrets(fields, json.RawMessage(`{"token":"`+Redacted+`"}`), old); len(got) != 1 || got[0] != "token" {
		t.Errorf("placeholder sent back: %v", got)
	}
	if got := KeptSecrets(fields, json.RawMessage(`{"token":"new"}`), old); len(got) != 0 {
		t.Errorf("typed anew: %v", got)
	}
	if got := KeptSecrets(fields, nil, old); len(got) != 1 {
		t.Errorf("settings not sent: %v", got)
	}
	if errs := MovedSecrets([]string{"token"}, "server"); len(errs) != 1 || errs[0].Field != "token" {
		t.Errorf("MovedSecrets = %v", errs)
	}
	if errs := MovedSecrets([]string{"token"}, ""); len(errs) != 0 {
		t.Errorf("no destination change: %v", errs)
	}
}
