package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// ---- ntfy ----

func ntfyInfo() TypeInfo {
	return TypeInfo{Type: TypeNtfy, Label: "ntfy", Fields: []FieldInfo{
		{Name: "server_url", Label: "Server URL", Kind: KindURL, Default: "https://ntfy.sh", Destination: true,
			Help: "Your ntfy server; leave empty for ntfy.sh."},
		{Name: "topic", Label: "Topic", Kind: KindText, Required: true,
			Help: "Letters, digits, _ and -. On a public server the topic name is the only secret: make it hard to guess."},
		{Name: "token", Label: "Access token", Kind: KindPassword, Secret: true,
			Help: "For protected topics (tk_…)."},
		{Name: "priority", Label: "Priority", Kind: KindNumber,
			Help: "1 (min) to 5 (max). Empty: 4 for down and reminders, 3 for recoveries and tests."},
	}}
}

type ntfyConfig struct {
	ServerURL string `json:"server_url"`
	Topic     string `json:"topic"`
	Token     string `json:"token"`
	Priority  *int   `json:"priority"`
}

type ntfySender struct {
	c ntfyConfig
	p poster
}

func newNtfy(raw json.RawMessage, opts Options) (Sender, error) {
	var c ntfyConfig
	errs := decodeSettings(ntfyInfo(), raw, &c)
	if len(errs) > 0 {
		return nil, errs
	}
	if c.ServerURL == "" {
		c.ServerURL = "https://ntfy.sh"
	}
	checkBaseURL(&errs, "server_url", c.ServerURL)
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`).MatchString(c.Topic) {
		errs.Add("topic", "must be 1 to 64 letters, digits, _ or -")
	}
	checkToken(&errs, "token", c.Token)
	if c.Priority != nil && (*c.Priority < 1 || *c.Priority > 5) {
		errs.Add("priority", "must be between 1 and 5")
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &ntfySender{c: c, p: newPoster(TypeNtfy, opts)}, nil
}

// ntfyPayload is ntfy's JSON publish format. Posting JSON to the server
// root, with the topic in the body, keeps the title out of HTTP headers,
// where ntfy would need it single-line and ASCII-encoded.
type ntfyPayload struct {
	Topic    string `json:"topic"`
	Title    string `json:"title"`
	Message  string `json:"message"`
	Priority int    `json:"priority"`
	Click    string `json:"click,omitempty"`
}

func (s *ntfySender) Send(ctx context.Context, e Event) error {
	m, err := buildMessage(e)
	if err != nil {
		return err
	}
	prio := 3
	if m.urgent() {
		prio = 4
	}
	if s.c.Priority != nil {
		prio = *s.c.Priority
	}
	// ntfy's "markdown" stays off: the message is plain text.
	p := ntfyPayload{Topic: s.c.Topic, Title: m.Title, Message: m.plain(), Priority: prio, Click: m.Link}
	hdr := http.Header{}
	if s.c.Token != "" {
		hdr.Set("Authorization", "Bearer "+s.c.Token)
	}
	return s.p.postJSON(ctx, http.MethodPost, joinURL(s.c.ServerURL, "/"), p, hdr)
}

// checkToken keeps a token usable in an HTTP header or form: printable
// ASCII without spaces.
func checkToken(errs *FieldErrors, field, s string) {
	if s != "" && !regexp.MustCompile(`^[\x21-\x7e]+$`).MatchString(s) {
		errs.Add(field, "must be printable ASCII without spaces")
	}
}

// ---- Gotify ----

func gotifyInfo() TypeInfo {
	return TypeInfo{Type: TypeGotify, Label: "Gotify", Fields: []FieldInfo{
		{Name: "server_url", Label: "Server URL", Kind: KindURL, Required: true, Destination: true,
			Help: "Your Gotify server, e.g. https://gotify.example.com."},
		{Name: "app_token", Label: "Application token", Kind: KindPassword, Required: true, Secret: true,
			Help: "Token of a Gotify application (Apps → Create application)."},
		{Name: "priority", Label: "Priority", Kind: KindNumber,
			Help: "0 to 10. Empty: 8 for down and reminders, 5 for recoveries and tests."},
	}}
}

type gotifyConfig struct {
	ServerURL string `json:"server_url"`
	AppToken  string `json:"app_token"`
	Priority  *int   `json:"priority"`
}

type gotifySender struct {
	c gotifyConfig
	p poster
}

func newGotify(raw json.RawMessage, opts Options) (Sender, error) {
	var c gotifyConfig
	errs := decodeSettings(gotifyInfo(), raw, &c)
	if len(errs) > 0 {
		return nil, errs
	}
	checkBaseURL(&errs, "server_url", c.ServerURL)
	checkToken(&errs, "app_token", c.AppToken)
	if c.Priority != nil && (*c.Priority < 0 || *c.Priority > 10) {
		errs.Add("priority", "must be between 0 and 10")
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return &gotifySender{c: c, p: newPoster(TypeGotify, opts)}, nil
}

type gotifyPayload struct {
	Title    string         `json:"title"`
	Message  string         `json:"message"`
	Priority int            `json:"priority"`
	Extras   map[string]any `json:"extras"`
}

func (s *gotifySender) Send(ctx context.Context, e Event) error {
	m, err := buildMessage(e)
	if err != nil {
		return err
	}
	prio := 5
	if m.urgent() {
		prio = 8
	}
	if s.c.Priority != nil {
		prio = *s.c.Priority
	}
	extras := map[string]any{
		// Plain text: Gotify clients would otherwise be free to render
		// markdown from a monitor's name.
		"client::display": map[string]any{"contentType": "text/plain"},
	}
	if m.Link != "" {
		extras["client::notification"] = map[string]any{"click": map[string]any{"url": m.Link}}
	}
	p := gotifyPayload{Title: m.Title, Message: m.plain(), Priority: prio, Extras: extras}
	// The token goes in a header, not ?token=, so it stays out of access logs.
	hdr := http.Header{"X-Gotify-Key": {s.c.AppToken}}
	return s.p.postJSON(ctx, http.MethodPost, joinURL(s.c.ServerURL, "/message"), p, hdr)
}

// ---- Pushover ----

func pushoverInfo() TypeInfo {
	return TypeInfo{Type: TypePushover, Label: "Pushover", Fields: []FieldInfo{
		{Name: "user_key", Label: "User or group key", Kind: KindPassword, Required: true, Secret: true,
			Help: "30 characters, from your Pushover dashboard."},
		{Name: "app_token", Label: "Application token", Kind: KindPassword, Required: true, Secret: true,
			Help: "30 characters, from an application you create in Pushover."},
		{Name: "priority", Label: "Priority", Kind: KindNumber, Default: "0",
			Help: "-2 (lowest) to 1 (high, bypasses quiet hours)."},
		{Name: "api_url", Label: "API URL", Kind: KindURL, Default: "https://api.pushover.net/1/messages.json",
			Help: "Only to use a Pushover-compatible relay."},
	}}
}

type pushoverConfig struct {
	UserKey  string `json:"user_key"`
	AppToken string `json:"app_token"`
	Priority int    `json:"priority"`
	APIURL   string `json:"api_url"`
}

type pushoverSender struct {
	c pushoverConfig
	p poster
}

func newPushover(raw json.RawMessage, opts Options) (Sender, error) {
	var c pushoverConfig
	errs := decodeSettings(pushoverInfo(), raw, &c)
	if len(errs) > 0 {
		return nil, errs
	}
	key := regexp.MustCompile(`^[A-Za-z0-9]{30}$`)
	if !key.MatchString(c.UserKey) {
		errs.Add("user_key", "must be 30 letters and digits")
	}
	if !key.MatchString(c.AppToken) {
		errs.Add("app_token", "must be 30 letters and digits")
	}
	// 2 (emergency) needs retry/expire parameters and acknowledgement: out
	// of scope for an alert that upwatch already repeats as reminders.
	if c.Priority < -2 || c.Priority > 1 {
		errs.Add("priority", "must be between -2 and 1")
	}
	if c.APIURL == "" {
		c.APIURL = "https://api.pushover.net/1/messages.json"
	}
	checkBaseURL(&errs, "api_url", c.APIURL)
	if len(errs) > 0 {
		return nil, errs
	}
	return &pushoverSender{c: c, p: newPoster(TypePushover, opts)}, nil
}

// Pushover's documented limits.
const (
	pushoverMaxTitle   = 250
	pushoverMaxMessage = 1024
)

func (s *pushoverSender) Send(ctx context.Context, e Event) error {
	m, err := buildMessage(e)
	if err != nil {
		return err
	}
	// Form encoding by net/url; html stays off, so the message is plain text.
	form := url.Values{}
	form.Set("token", s.c.AppToken)
	form.Set("user", s.c.UserKey)
	form.Set("title", truncateRunes(m.Title, pushoverMaxTitle))
	form.Set("message", truncateRunes(m.plain(), pushoverMaxMessage))
	form.Set("priority", strconv.Itoa(s.c.Priority))
	form.Set("timestamp", strconv.FormatInt(m.At.Unix(), 10))
	if m.Link != "" {
		form.Set("url", m.Link)
		form.Set("url_title", "Open in upwatch")
	}
	return s.p.send(ctx, http.MethodPost, s.c.APIURL, "application/x-www-form-urlencoded", []byte(form.Encode()), nil)
}

func truncateRunes(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return strings.TrimRight(string(r[:max-1]), " \n") + "…"
}
