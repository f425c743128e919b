package app

import (
	"encoding/json"
	"net/http"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/views"
)

// The OpenAPI 3.1 document of the API (/api/openapi.json) and its
// reference page (/api/docs), generated from the route table: apiDocs
// says, for each API route, what it does and which Go types it reads and
// writes, and their JSON schemas come from those types (json tags), so
// the document cannot drift from the code. A test checks that every API
// route of the table has an entry and every entry names a route.

// apiDoc describes one API route.
type apiDoc struct {
	summary string
	in      any      // the request body's type (a zero value), nil: none
	out     any      // the 2xx answer's type; nil: no body
	status  int      // the success status (default 200)
	query   []string // query parameters, "name: description"
	tag     string
}

// items is the shape of every list: {"items": […], "next_cursor": "…"}.
type items[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

type tokenAnswer struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      *userJSON `json:"user,omitempty"`
}

type passwordChange struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

type tokenInput struct {
	Name          string `json:"name"`
	ExpiresInDays int    `json:"expires_in_days,omitempty"`
	Scope         string `json:"scope,omitempty"`
}

type roleInputJSON struct {
	Role    string `json:"role"`
	OwnerID int64  `json:"owner_id,omitempty"`
}

type channelList struct {
	Channels []int64 `json:"channels"`
}

type workerTokenInput struct {
	Name    string   `json:"name"`
	Regions []string `json:"regions"`
}

type healthJSON struct {
	Status   string    `json:"status"`
	Store    string    `json:"store"`
	Queue    string    `json:"queue"`
	Problems []Problem `json:"problems"`
}

type binary struct{} // a file download

var pagingQuery = []string{"limit: items per page (1-1000, default 100)", "cursor: next_cursor of the previous page"}

func (a *App) apiDocs() map[string]apiDoc {
	return map[string]apiDoc{
		"POST /api/v1/auth/signup":                {summary: "Create the first (admin) account; closed once one exists", in: credentials{}, out: tokenAnswer{}, status: 201, tag: "auth"},
		"POST /api/v1/auth/login":                 {summary: "Sign in for a JWT (12 h)", in: credentials{}, out: tokenAnswer{}, tag: "auth"},
		"POST /api/v1/users":                      {summary: "Add a user (admins)", in: newUserInput{}, out: userJSON{}, status: 201, tag: "users"},
		"GET /api/v1/users":                       {summary: "List users (admins)", out: items[userJSON]{}, query: pagingQuery, tag: "users"},
		"PUT /api/v1/users/{id}/role":             {summary: "Change a user's role; ends their credentials (admins)", in: roleInputJSON{}, out: userJSON{}, tag: "users"},
		"PATCH /api/v1/users/{id}":                {summary: "Set a user's own quotas: a number (0: none) or null for the default (admins)", in: quotasInput{}, out: userJSON{}, tag: "users"},
		"GET /api/v1/me":                          {summary: "The signed-in user", out: userJSON{}, tag: "users"},
		"POST /api/v1/me/password":                {summary: "Change one's own password; ends every other credential", in: passwordChange{}, out: tokenAnswer{}, tag: "users"},
		"POST /api/v1/monitors":                   {summary: "Create a monitor", in: monitorInput{}, out: monitorJSON{}, status: 201, tag: "monitors"},
		"GET /api/v1/monitors":                    {summary: "List monitors", out: items[monitorJSON]{}, query: pagingQuery, tag: "monitors"},
		"GET /api/v1/monitors/{id}":               {summary: "One monitor", out: monitorJSON{}, tag: "monitors"},
		"PATCH /api/v1/monitors/{id}":             {summary: "Change a monitor (only the fields sent)", in: monitorInput{}, out: monitorJSON{}, tag: "monitors"},
		"DELETE /api/v1/monitors/{id}":            {summary: "Delete a monitor and its history", status: 204, tag: "monitors"},
		"GET /api/v1/monitors/{id}/checks":        {summary: "A monitor's checks, newest first", out: items[checkJSON]{}, query: pagingQuery, tag: "history"},
		"GET /api/v1/monitors/{id}/uptime":        {summary: "Uptime over windows or a range", out: map[string]uptimeJSON{}, query: []string{"windows: e.g. 24h,7d,30d", "from: RFC 3339", "to: RFC 3339", "region: one region's"}, tag: "history"},
		"GET /api/v1/monitors/{id}/latency":       {summary: "Latency series with phases", out: items[pointJSON]{}, query: []string{"from: RFC 3339", "to: RFC 3339", "step: e.g. 15m", "region: one region's"}, tag: "history"},
		"GET /api/v1/monitors/{id}/incidents":     {summary: "A monitor's incidents", out: items[incidentJSON]{}, query: pagingQuery, tag: "history"},
		"GET /api/v1/incidents":                   {summary: "Incidents of every monitor", out: items[incidentJSON]{}, query: append([]string{"status: open or resolved", "monitor_id: one monitor's"}, pagingQuery...), tag: "history"},
		"POST /api/v1/incidents/{id}/acknowledge": {summary: "Acknowledge an incident (stops reminders)", out: incidentJSON{}, tag: "history"},
		"POST /api/v1/admin/backup":               {summary: "Download a consistent copy of the database (admins)", out: binary{}, tag: "admin"},
		"GET /api/v1/live":                        {summary: "Live events over a WebSocket", tag: "live"},
		"GET /api/v1/channel-types":               {summary: "Every alert provider and its settings", out: items[any]{}, tag: "alerts"},
		"POST /api/v1/channels":                   {summary: "Create an alert channel", in: channelInput{}, out: channelJSON{}, status: 201, tag: "alerts"},
		"GET /api/v1/channels":                    {summary: "List alert channels", out: items[channelJSON]{}, query: pagingQuery, tag: "alerts"},
		"GET /api/v1/channels/{id}":               {summary: "One alert channel (secrets redacted)", out: channelJSON{}, tag: "alerts"},
		"PATCH /api/v1/channels/{id}":             {summary: "Change an alert channel", in: channelInput{}, out: channelJSON{}, tag: "alerts"},
		"DELETE /api/v1/channels/{id}":            {summary: "Delete an alert channel", status: 204, tag: "alerts"},
		"POST /api/v1/channels/{id}/test":         {summary: "Send a test message now", out: testJSON{}, tag: "alerts"},
		"GET /api/v1/channels/{id}/deliveries":    {summary: "A channel's delivery log with every attempt", out: items[deliveryJSON]{}, query: pagingQuery, tag: "alerts"},
		"POST /api/v1/tokens":                     {summary: "Create an API token (shown once)", in: tokenInput{}, out: tokenJSON{}, status: 201, tag: "users"},
		"GET /api/v1/tokens":                      {summary: "List one's API tokens", out: items[tokenJSON]{}, query: pagingQuery, tag: "users"},
		"DELETE /api/v1/tokens/{id}":              {summary: "Revoke an API token", status: 204, tag: "users"},
		"GET /api/v1/workers":                     {summary: "Workers seen by their heartbeats", out: items[workerJSON]{}, query: pagingQuery, tag: "workers"},
		"POST /api/v1/worker-tokens":              {summary: "Create a worker token (admins; shown once)", in: workerTokenInput{}, out: workerTokenJSON{}, status: 201, tag: "workers"},
		"GET /api/v1/worker-tokens":               {summary: "List worker tokens (admins)", out: items[workerTokenJSON]{}, query: pagingQuery, tag: "workers"},
		"DELETE /api/v1/worker-tokens/{id}":       {summary: "Revoke a worker token (admins)", status: 204, tag: "workers"},
		"GET " + checker.WorkerTokenPath:          {summary: "A worker token's name and regions (worker token)", out: checker.TokenInfo{}, tag: "worker transport"},
		"POST " + checker.WorkerJobsPath:          {summary: "Long-poll for jobs (worker token)", tag: "worker transport"},
		"POST " + checker.WorkerResultsPath:       {summary: "Send results (worker token)", tag: "worker transport"},
		"POST " + checker.WorkerHeartbeatPath:     {summary: "Send a heartbeat (worker token)", tag: "worker transport"},
		"POST /api/websites":                      {summary: "The seed's alias of POST /api/v1/monitors", in: monitorInput{}, out: monitorJSON{}, status: 201, tag: "monitors"},
		"GET /api/websites":                       {summary: "The seed's alias of GET /api/v1/monitors", out: items[monitorJSON]{}, query: pagingQuery, tag: "monitors"},
		"GET /api/websites/{id}":                  {summary: "The seed's alias of GET /api/v1/monitors/{id}", out: monitorJSON{}, tag: "monitors"},
		"DELETE /api/websites/{id}":               {summary: "The seed's alias of DELETE /api/v1/monitors/{id}", status: 204, tag: "monitors"},
		"GET /api/v1/monitor-types":               {summary: "Every monitor kind and its settings", out: items[monitorTypeJSON]{}, tag: "monitors"},
		"GET /api/v1/admin/instance-alerts":       {summary: "Channels that hear about instance problems (admins)", out: channelList{}, tag: "admin"},
		"PUT /api/v1/admin/instance-alerts":       {summary: "Choose channels for instance problems (admins)", in: channelList{}, out: channelList{}, tag: "admin"},
		"GET /healthz":                            {summary: "Health: 200 or 503 with problems", out: healthJSON{}, tag: "operations"},
		"GET /metrics":                            {summary: "Prometheus metrics (blackbox_exporter names)", tag: "operations"},

		"POST /api/v1/maintenance":                {summary: "Create a maintenance window (one-off, weekly or cron + duration)", in: maintenanceJSON{}, out: maintenanceJSON{}, status: 201, tag: "maintenance"},
		"GET /api/v1/maintenance":                 {summary: "List maintenance windows", out: items[maintenanceJSON]{}, query: pagingQuery, tag: "maintenance"},
		"GET /api/v1/maintenance/{id}":            {summary: "One maintenance window", out: maintenanceJSON{}, tag: "maintenance"},
		"PATCH /api/v1/maintenance/{id}":          {summary: "Change a maintenance window", in: maintenanceJSON{}, out: maintenanceJSON{}, tag: "maintenance"},
		"DELETE /api/v1/maintenance/{id}":         {summary: "Delete a maintenance window", status: 204, tag: "maintenance"},
		"GET /api/v1/monitors/{id}/sla":           {summary: "A month's SLA: uptime without maintenance, downtime, incidents, MTTR", out: slaJSON{}, query: []string{"month: YYYY-MM", "format: csv for a CSV file"}, tag: "history"},
		"GET /api/v1/monitors/{id}/escalation":    {summary: "A monitor's escalation policy", out: escalationJSON{}, tag: "alerts"},
		"PUT /api/v1/monitors/{id}/escalation":    {summary: "Set a monitor's escalation policy", in: escalationJSON{}, out: escalationJSON{}, tag: "alerts"},
		"DELETE /api/v1/monitors/{id}/escalation": {summary: "Remove a monitor's escalation policy", status: 204, tag: "alerts"},
		"GET /api/v1/escalation":                  {summary: "The user's default escalation policy", out: escalationJSON{}, tag: "alerts"},
		"PUT /api/v1/escalation":                  {summary: "Set the user's default escalation policy", in: escalationJSON{}, out: escalationJSON{}, tag: "alerts"},
		"DELETE /api/v1/escalation":               {summary: "Remove the user's default escalation policy", status: 204, tag: "alerts"},
	}
}

// documented tells whether a route belongs in the API document.
func documented(pattern string) bool {
	_, path, _ := strings.Cut(pattern, " ")
	return strings.HasPrefix(path, "/api/") && path != "/api/" || path == "/healthz" || path == "/metrics"
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// openAPI builds the document.
func (a *App) openAPI() map[string]any {
	docs := a.apiDocs()
	access := map[string]access{}
	for _, rt := range a.routeTable() {
		access[rt.pattern] = rt.access
	}
	schemas := map[string]any{}
	paths := map[string]map[string]any{}
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, pattern := range keys {
		d := docs[pattern]
		method, path, _ := strings.Cut(pattern, " ")
		op := map[string]any{"summary": d.summary, "tags": []string{d.tag}, "operationId": operationID(method, path)}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range d.query {
			name, desc, _ := strings.Cut(q, ": ")
			params = append(params, map[string]any{"name": name, "in": "query", "description": desc, "schema": map[string]any{"type": "string"}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if d.in != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(d.in), schemas)}}}
		}
		status := d.status
		if status == 0 {
			status = http.StatusOK
		}
		ok := map[string]any{"description": http.StatusText(status)}
		switch d.out.(type) {
		case nil:
		case binary:
			ok["content"] = map[string]any{"application/octet-stream": map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}
		default:
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(d.out), schemas)}}
		}
		problem := map[string]any{"description": "Problem", "content": map[string]any{
			"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/problem"}}}}
		op["responses"] = map[string]any{strconv.Itoa(status): ok, "default": problem}
		switch access[pattern] {
		case public:
			op["security"] = []any{}
		case workerTok:
			op["security"] = []any{map[string]any{"workerToken": []string{}}}
		}
		oaPath := path
		if paths[oaPath] == nil {
			paths[oaPath] = map[string]any{}
		}
		paths[oaPath][strings.ToLower(method)] = op
	}
	schemaOf(reflect.TypeOf(problem{}), schemas) // components/schemas/problem
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "upwatch API", "version": "1",
			"description": "JSON in and out; errors are application/problem+json naming the field at fault. Authenticate with a JWT from /api/v1/auth/login or an API token (upw_…) as a bearer credential."},
		"servers":    []any{map[string]any{"url": a.cfg.BaseURL}},
		"security":   []any{map[string]any{"bearer": []string{}}},
		"paths":      paths,
		"components": map[string]any{"schemas": schemas, "securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}, "workerToken": map[string]any{"type": "http", "scheme": "bearer", "description": "a worker token (upww_…)"}}},
	}
}

func operationID(method, path string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(method))
	for _, part := range strings.Split(path, "/") {
		part = strings.Trim(part, "{}")
		if part == "" || part == "api" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + strings.ReplaceAll(part[1:], "-", ""))
	}
	return b.String()
}

var timeType = reflect.TypeOf(time.Time{})

// schemaOf is a JSON Schema of how encoding/json writes t; named structs
// go to components and are referenced.
func schemaOf(t reflect.Type, defs map[string]any) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == reflect.TypeOf(json.RawMessage{}):
		return map[string]any{"type": "object"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), defs)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), defs)}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
	default:
		return map[string]any{}
	}
	name := schemaName(t)
	if _, ok := defs[name]; !ok {
		defs[name] = nil // placeholder: recursive types refer to it
		props := map[string]any{}
		var required []string
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			fname, opts, _ := strings.Cut(tag, ",")
			if fname == "" {
				fname = f.Name
			}
			props[fname] = schemaOf(f.Type, defs)
			if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") && f.Type.Kind() != reflect.Pointer {
				required = append(required, fname)
			}
		}
		s := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			s["required"] = required
		}
		defs[name] = s
	}
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

var unsafeSchemaChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// schemaName names a type's schema: "monitorJSON", and "monitorJSONList"
// for items[monitorJSON].
func schemaName(t reflect.Type) string {
	name := t.Name()
	if inner, ok := strings.CutPrefix(name, "items["); ok {
		inner = strings.TrimSuffix(inner, "]")
		if i := strings.LastIndexAny(inner, "./"); i >= 0 {
			inner = inner[i+1:]
		}
		if inner == "interface {}" || inner == "" {
			inner = "object"
		}
		return unsafeSchemaChars.ReplaceAllString(inner, "_") + "List"
	}
	if name == "" {
		name = t.String()
	} else if pkg := path.Base(t.PkgPath()); pkg != "app" && pkg != "." {
		name = pkg + "." + name // checker.TokenInfo: types of two packages never share a schema
	}
	return unsafeSchemaChars.ReplaceAllString(name, "_")
}

// openAPICache renders the document once: it depends on nothing that
// changes while the server runs.
type openAPICache struct {
	once sync.Once
	body []byte
}

func (a *App) openAPIJSON(w http.ResponseWriter, r *http.Request) {
	a.openapi.once.Do(func() { a.openapi.body, _ = json.MarshalIndent(a.openAPI(), "", "  ") })
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(a.openapi.body)
}

// apiDocsPage is the API reference, rendered on the server from the same
// document: no script, no CDN.
func (a *App) apiDocsPage(w http.ResponseWriter, r *http.Request) {
	docs := a.apiDocs()
	acc := map[string]access{}
	for _, rt := range a.routeTable() {
		acc[rt.pattern] = rt.access
	}
	p := views.APIDocsPage{Page: a.page(r, "API reference")}
	byTag := map[string][]views.APIOperation{}
	var tags []string
	for pattern, d := range docs {
		method, path, _ := strings.Cut(pattern, " ")
		op := views.APIOperation{Method: method, Path: path, Summary: d.summary, Access: accessWords(acc[pattern])}
		if d.in != nil {
			op.Request = schemaName(reflect.TypeOf(d.in))
		}
		if d.out != nil {
			op.Response = schemaName(reflect.TypeOf(d.out))
		}
		op.Query = d.query
		if byTag[d.tag] == nil {
			tags = append(tags, d.tag)
		}
		byTag[d.tag] = append(byTag[d.tag], op)
	}
	slices.Sort(tags)
	for _, t := range tags {
		ops := byTag[t]
		slices.SortFunc(ops, func(x, y views.APIOperation) int { return strings.Compare(x.Path+x.Method, y.Path+y.Method) })
		p.Groups = append(p.Groups, views.APIGroup{Name: t, Operations: ops})
	}
	a.render(w, r, http.StatusOK, views.APIDocs(p))
}

func accessWords(k access) string {
	switch k {
	case public:
		return "anyone"
	case workerTok:
		return "worker token"
	case scraper:
		return "metrics token or allowed network"
	case apiRead:
		return "signed in (viewers: their owner's)"
	case apiWrite:
		return "members and admins; write token"
	case apiSelf:
		return "signed in, own account"
	case apiSelfWrite:
		return "signed in, own account; not a read token"
	case apiAdmin:
		return "admins"
	}
	return ""
}
