package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

func webhookInfo() TypeInfo {
	return TypeInfo{Type: TypeWebhook, Label: "Webhook", Fields: []FieldInfo{
		{Name: "url", Label: "URL", Kind: KindURL, Required: true, Secret: true, Destination: true,
			Help: "Endpoint that receives the alert."},
		{Name: "method", Label: "Method", Kind: KindSelect, Options: []string{http.MethodPost, http.MethodPut}, Default: http.MethodPost},
		{Name: "headers", Label: "Headers", Kind: KindMap, Secret: true,
			Help: "Extra request headers, e.g. Authorization. Content-Type defaults to application/json."},
		{Name: "body_template", Label: "Body template", Kind: KindTextarea,
			Help: "Empty: upwatch's JSON body (version 1). Otherwise a Go text/template over the alert's fields, e.g. {\"text\": {{json .Title}}}; functions: json, upper, lower, eq, ne, lt, le, gt, ge, and, or, not, len."},
	}}
}

type webhookConfig struct {
	URL          string            `json:"url"`
	Method       string            `json:"method"`
	Headers      map[string]string `json:"headers"`
	BodyTemplate string            `json:"body_template"`
}

type webhookSender struct {
	url    string
	method string
	hdr    http.Header
	tmpl   *template.Template // nil: the default JSON body
	p      poster
}

// Headers a user may not set: they describe the connection or the body's
// framing, which belong to the HTTP client.
func forbiddenHeader(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive",
		"Upgrade", "Te", "Trailer", "Proxy-Connection", "Proxy-Authorization":
		return true
	}
	return false
}

// validHeaderName: an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// validHeaderValue: no control characters but tab, so no CR/LF that would
// end the header and start another.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func newWebhook(raw json.RawMessage, opts Options) (Sender, error) {
	var c webhookConfig
	errs := decodeSettings(webhookInfo(), raw, &c)
	if len(errs) > 0 {
		return nil, errs
	}
	if c.Method == "" {
		c.Method = http.MethodPost
	}
	hdr := http.Header{}
	names := make([]string, 0, len(c.Headers))
	for k := range c.Headers {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		v := c.Headers[k]
		switch {
		case !validHeaderName(k):
			errs.Add("headers", "%q is not a valid header name", clean(k, 40))
		case forbiddenHeader(k):
			errs.Add("headers", "%s cannot be set", http.CanonicalHeaderKey(k))
		case !validHeaderValue(v):
			// Rejects CR/LF: a value cannot add a header of its own.
			errs.Add("headers", "value of %s must not contain line breaks or control characters", http.CanonicalHeaderKey(k))
		default:
			hdr.Set(k, v)
		}
	}
	var tmpl *template.Template
	if strings.TrimSpace(c.BodyTemplate) != "" {
		t, err := parseBodyTemplate(c.BodyTemplate)
		if err == nil {
			// Run once on sample data: catches unknown fields (e.g. .Env)
			// and bodies over the cap at config time, not at 3 a.m.
			_, err = renderBody(t, sampleTemplateData())
		}
		if err != nil {
			errs.Add("body_template", "%s", clean(err.Error(), 300))
		}
		tmpl = t
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &webhookSender{url: c.URL, method: c.Method, hdr: hdr, tmpl: tmpl, p: newPoster(TypeWebhook, opts)}, nil
}

// WebhookPayload is the default webhook body, schema version 1. Fields are
// only ever added within a version; a breaking change gets version 2.
//
//	{"version":1,"event":"down","monitor":{"id":42,"name":"API","url":"https://…"},
//	 "reason":"status","error":"HTTP 503 Service Unavailable","status_code":503,
//	 "started_at":"2025-01-02T15:04:05Z","at":"2025-01-02T15:04:05Z","duration_seconds":0,
//	 "link":"https://upwatch.example.com/monitors/42","title":"🔴 DOWN: API","message":"URL: …"}
//
// started_at is null when unknown (test events); times are RFC 3339 in UTC.
type WebhookPayload struct {
	Version         int            `json:"version"`
	Event           string         `json:"event"`
	Monitor         WebhookMonitor `json:"monitor"`
	Reason          string         `json:"reason"`
	Error           string         `json:"error"`
	StatusCode      int            `json:"status_code"`
	StartedAt       *string        `json:"started_at"`
	At              string         `json:"at"`
	DurationSeconds int64          `json:"duration_seconds"`
	Link            string         `json:"link"`
	Title           string         `json:"title"`   // the human title, as chat providers show it
	Message         string         `json:"message"` // the human body, plain text, several lines
	// Window is the maintenance window's title (maintenance_start,
	// maintenance_end); left out otherwise.
	Window string `json:"window,omitempty"`
	// Changes is how many state changes (flapping, flapping_end); left
	// out otherwise.
	Changes int `json:"changes,omitempty"`
}

// WebhookMonitor identifies the monitor in a WebhookPayload.
type WebhookMonitor struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	URL  string `json:"url"`
}

// TemplateData is what a webhook body_template sees as dot: the alert's
// fields only, as plain strings and numbers with no methods, so a template
// cannot reach anything beyond them (no channel settings, files or
// environment). StartedAt is "" when unknown.
type TemplateData struct {
	Version         int
	Event           string
	Monitor         TemplateMonitor
	Reason          string
	Error           string
	StatusCode      int
	StartedAt       string
	At              string
	DurationSeconds int64
	Link            string
	Title           string
	Message         string
	Window          string // maintenance_start and maintenance_end: the window's title
	Changes         int    // flapping and flapping_end: how many state changes
}

// TemplateMonitor is .Monitor in a body template.
type TemplateMonitor struct {
	ID   int64
	Name string
	URL  string
}

func templateData(e Event, m message) TemplateData {
	d := TemplateData{
		Version:    1,
		Event:      e.Kind,
		Monitor:    TemplateMonitor{ID: e.MonitorID, Name: clean(e.Monitor, maxName), URL: clean(e.URL, maxURL)},
		Reason:     clean(e.Reason, maxReason),
		Error:      clean(e.Error, maxError),
		StatusCode: e.StatusCode,
		At:         m.At.Format(time.RFC3339),
		Link:       m.Link,
		Title:      m.Title,
		Message:    m.plain(),
		Window:     clean(e.Window, maxName),
		Changes:    e.Changes,
	}
	if !e.StartedAt.IsZero() {
		d.StartedAt = e.StartedAt.UTC().Format(time.RFC3339)
	}
	if e.Kind == EventUp || e.Kind == EventReminder || e.Kind == EventEscalation || e.Kind == EventMaintenanceEnd || e.Kind == EventFlappingEnd {
		d.DurationSeconds = int64(e.Duration.Round(time.Second) / time.Second)
	}
	return d
}

func (d TemplateData) payload() WebhookPayload {
	p := WebhookPayload{
		Version:         d.Version,
		Event:           d.Event,
		Monitor:         WebhookMonitor(d.Monitor),
		Reason:          d.Reason,
		Error:           d.Error,
		StatusCode:      d.StatusCode,
		At:              d.At,
		DurationSeconds: d.DurationSeconds,
		Link:            d.Link,
		Title:           d.Title,
		Message:         d.Message,
		Window:          d.Window,
		Changes:         d.Changes,
	}
	if d.StartedAt != "" {
		p.StartedAt = &d.StartedAt
	}
	return p
}

func sampleTemplateData() TemplateData {
	at := time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)
	e := Event{
		Kind: EventDown, MonitorID: 1, Monitor: "Example monitor", URL: "https://example.com/health",
		Reason: "status", Error: "HTTP 503 Service Unavailable", StatusCode: 503,
		StartedAt: at, At: at, Link: "https://upwatch.example.com/monitors/1",
	}
	m, _ := buildMessage(e) // a valid kind: cannot fail
	return templateData(e, m)
}

func (s *webhookSender) Send(ctx context.Context, e Event) error {
	m, err := buildMessage(e)
	if err != nil {
		return err
	}
	d := templateData(e, m)
	var body []byte
	if s.tmpl == nil {
		body, err = json.Marshal(d.payload())
	} else {
		body, err = renderBody(s.tmpl, d)
	}
	if err != nil {
		return fmt.Errorf("webhook: body: %w", err)
	}
	return s.p.send(ctx, s.method, s.url, "application/json", body, s.hdr)
}

// ---- restricted body templates ----

// errBodyTooLarge reports a webhook template whose output passed the cap.
var errBodyTooLarge = errors.New("body exceeds 64 KiB")

// maxBody caps a rendered body and every intermediate string a template
// function returns, so no template can grow memory beyond a few caps.
const maxBody = 64 << 10

// templateFuncs is the whole vocabulary of a body template besides the
// comparison builtins: each function bounds its input and output.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"json": func(v any) (string, error) {
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(v); err != nil {
				return "", err
			}
			if b.Len() > maxBody {
				return "", errBodyTooLarge
			}
			return strings.TrimSuffix(b.String(), "\n"), nil
		},
		"upper": func(s string) (string, error) {
			if len(s) > maxBody {
				return "", errBodyTooLarge
			}
			return strings.ToUpper(s), nil
		},
		"lower": func(s string) (string, error) {
			if len(s) > maxBody {
				return "", errBodyTooLarge
			}
			return strings.ToLower(s), nil
		},
	}
}

// allowedFuncs are the identifiers a template may call. Everything else is
// refused at parse time: call (runs func values), print/printf/println,
// html/js/urlquery (they grow strings without bound when nested), index and
// slice (nothing to index in the data).
func allowedFuncs() []string {
	return []string{"json", "upper", "lower", "eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not", "len"}
}

// parseBodyTemplate parses and vets a body template. Besides the function
// allow-list it refuses range (range over an integer would loop without
// writing, escaping the output cap) and template/define/block (recursion).
// What is left runs in time linear in the template's size.
func parseBodyTemplate(src string) (*template.Template, error) {
	t, err := template.New("body_template").Option("missingkey=error").Funcs(templateFuncs()).Parse(src)
	if err != nil {
		return nil, err
	}
	if len(t.Templates()) > 1 {
		return nil, fmt.Errorf("define and block are not allowed")
	}
	if t.Tree == nil || t.Tree.Root == nil {
		return nil, fmt.Errorf("template is empty")
	}
	if err := vetNode(t.Tree.Root); err != nil {
		return nil, err
	}
	return t, nil
}

func vetNode(n parse.Node) error {
	switch n := n.(type) {
	case nil:
		return nil
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := vetNode(c); err != nil {
				return err
			}
		}
	case *parse.ActionNode:
		return vetNode(n.Pipe)
	case *parse.PipeNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Cmds {
			if err := vetNode(c); err != nil {
				return err
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			if err := vetNode(a); err != nil {
				return err
			}
		}
	case *parse.IdentifierNode:
		if !slices.Contains(allowedFuncs(), n.Ident) {
			return fmt.Errorf("function %q is not allowed (allowed: %s)", n.Ident, strings.Join(allowedFuncs(), ", "))
		}
	case *parse.ChainNode:
		return vetNode(n.Node)
	case *parse.IfNode:
		return vetBranch(n.Pipe, n.List, n.ElseList)
	case *parse.WithNode:
		return vetBranch(n.Pipe, n.List, n.ElseList)
	case *parse.RangeNode:
		return fmt.Errorf("range is not allowed")
	case *parse.TemplateNode:
		return fmt.Errorf("template and block are not allowed")
	case *parse.BreakNode, *parse.ContinueNode:
		return fmt.Errorf("break and continue are not allowed")
	case *parse.TextNode, *parse.CommentNode, *parse.FieldNode, *parse.VariableNode,
		*parse.DotNode, *parse.NilNode, *parse.BoolNode, *parse.NumberNode, *parse.StringNode:
		return nil
	default:
		// A node kind added to text/template later: refuse until reviewed.
		return fmt.Errorf("template construct %T is not allowed", n)
	}
	return nil
}

func vetBranch(pipe *parse.PipeNode, list, elseList *parse.ListNode) error {
	if err := vetNode(pipe); err != nil {
		return err
	}
	if err := vetNode(list); err != nil {
		return err
	}
	if elseList != nil {
		return vetNode(elseList)
	}
	return nil
}

// cappedBuffer refuses to grow past maxBody; text/template stops executing
// at the first write error and returns it.
type cappedBuffer struct{ bytes.Buffer }

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > maxBody {
		return 0, errBodyTooLarge
	}
	return b.Buffer.Write(p)
}

func renderBody(t *template.Template, d TemplateData) ([]byte, error) {
	var b cappedBuffer
	if err := t.Execute(&b, d); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
