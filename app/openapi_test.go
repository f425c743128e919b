package app

import (
	"encoding/json"
	"strings"
	"testing"
)

// The OpenAPI document matches the route table both ways, every operation
// has a success answer (with a schema where it has a body), every $ref
// resolves, and the reference page lists every route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t)
	docs := e.app.apiDocs()
	inTable := map[string]bool{}
	for _, rt := range e.app.routeTable() {
		if !documented(rt.pattern) {
			continue
		}
		if rt.pattern == "GET /api/openapi.json" || rt.pattern == "GET /api/docs" {
			continue
		}
		inTable[rt.pattern] = true
		if _, ok := docs[rt.pattern]; !ok {
			t.Errorf("route %q is not in the API document (apiDocs)", rt.pattern)
		}
	}
	for p := range docs {
		if !inTable[p] {
			t.Errorf("the API document has %q, which is no route", p)
		}
	}
	r := e.do(t, "GET", "/api/openapi.json", "", "")
	if r.code != 200 {
		t.Fatalf("openapi.json: %d", r.code)
	}
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("document: %v %q", err, doc.OpenAPI)
	}
	n := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			n++
			resp, _ := op["responses"].(map[string]any)
			if len(resp) < 2 {
				t.Errorf("%s %s: responses %v", method, path, resp)
			}
			if _, ok := docs[strings.ToUpper(method)+" "+path]; !ok {
				t.Errorf("%s %s is in the document but not in apiDocs", method, path)
			}
		}
	}
	if n != len(docs) {
		t.Errorf("%d operations in the document, %d documented", n, len(docs))
	}
	for _, ref := range strings.Split(string(r.body), `"$ref": "#/components/schemas/`)[1:] {
		name, _, _ := strings.Cut(ref, `"`)
		if doc.Components.Schemas[name] == nil {
			t.Errorf("$ref to %q, which is not defined", name)
		}
	}
	mon, _ := json.Marshal(doc.Components.Schemas["monitorJSON"])
	for _, field := range []string{`"interval_seconds"`, `"expected_status"`, `"status"`, `"regions"`} {
		if !strings.Contains(string(mon), field) {
			t.Errorf("monitorJSON's schema lacks %s: %s", field, mon)
		}
	}
	page := e.do(t, "GET", "/api/docs", "", "")
	if page.code != 200 || !strings.Contains(string(page.body), "/api/v1/monitors/{id}/uptime") || !strings.Contains(string(page.body), "Change a user&#39;s role") {
		t.Errorf("reference page: %d", page.code)
	}
}
