package notify

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// ---- Slack (incoming webhook) ----

func slackInfo() TypeInfo {
	return TypeInfo{Type: TypeSlack, Label: "Slack", Fields: []FieldInfo{
		{Name: "webhook_url", Label: "Webhook URL", Kind: KindURL, Required: true, Secret: true, Destination: true,
			Help: "Incoming webhook URL from a Slack app (https://hooks.slack.com/services/…). Slack-compatible webhooks (Mattermost, Rocket.Chat) work too."},
	}}
}

type slackConfig struct {
	WebhookURL string `json:"webhook_url"`
}

type slackSender struct {
	url string
	p   poster
}

func newSlack(raw json.RawMessage, opts Options) (Sender, error) {
	var c slackConfig
	if errs := decodeSettings(slackInfo(), raw, &c); len(errs) > 0 {
		return nil, errs
	}
	return &slackSender{url: c.WebhookURL, p: newPoster(TypeSlack, opts)}, nil
}

type slackPayload struct {
	Text        string `json:"text"`
	UnfurlLinks bool   `json:"unfurl_links"`
	UnfurlMedia bool   `json:"unfurl_media"`
}

func (s *slackSender) Send(ctx context.Context, e Event) error {
	m, err := buildMessage(e)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("*" + slackEscape(m.Title) + "*")
	if m.Intro != "" {
		b.WriteString("\n" + slackEscape(m.Intro))
	}
	for _, f := range m.Facts {
		b.WriteString("\n" + slackEscape(f.Label) + ": " + slackEscape(f.Value))
	}
	if m.Link != "" {
		b.WriteString("\n<" + slackEscape(strings.ReplaceAll(m.Link, "|", "%7C")) + "|Open in upwatch>")
	}
	// No unfurling: Slack would otherwise fetch the monitored URL, which may
	// be an internal or a down host.
	return s.p.postJSON(ctx, http.MethodPost, s.url, slackPayload{Text: b.String()}, nil)
}

// slackEscape applies Slack's rule for message text: only &, < and > are
// control characters, and escaping them makes <!channel>, <@U123> and
// <url|label> show literally instead of pinging or linking.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// ---- Discord (webhook) ----

func discordInfo() TypeInfo {
	return TypeInfo{Type: TypeDiscord, Label: "Discord", Fields: []FieldInfo{
		{Name: "webhook_url", Label: "Webhook URL", Kind: KindURL, Required: true, Secret: true, Destination: true,
			Help: "Channel settings → Integrations → Webhooks → Copy Webhook URL."},
	}}
}

type discordConfig struct {
	WebhookURL string `json:"webhook_url"`
}

type discordSender struct {
	url string
	p   poster
}

func newDiscord(raw json.RawMessage, opts Options) (Sender, error) {
	var c discordConfig
	if errs := decodeSettings(discordInfo(), raw, &c); len(errs) > 0 {
		return nil, errs
	}
	return &discordSender{url: c.WebhookURL, p: newPoster(TypeDiscord, opts)}, nil
}

type discordPayload struct {
	Content         string          `json:"content"`
	AllowedMentions discordMentions `json:"allowed_mentions"`
	Embeds          []discordEmbed  `json:"embeds"`
}

type discordMentions struct {
	Parse []string `json:"parse"` // must encode as [], not null: nothing may ping
}

type discordEmbed struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url,omitempty"`
	Color       int    `json:"color"`
	Timestamp   string `json:"timestamp"`
}

// Embed colours.
const (
	colorRed   = 0xE74C3C
	colorGreen = 0x2ECC71
	colorAmber = 0xF39C12
	colorBlue  = 0x3498DB
)

func kindColor(kind string) int {
	switch kind {
	case EventDown:
		return colorRed
	case EventReminder, EventDegraded, EventFlapping, EventFlappingEnd:
		return colorAmber
	case EventUp:
		return colorGreen
	}
	return colorBlue
}

func (s *discordSender) Send(ctx context.Context, e Event) error {
	m, err := buildMessage(e)
	if err != nil {
		return err
	}
	var b strings.Builder
	if m.Intro != "" {
		b.WriteString(discordEscape(m.Intro) + "\n")
	}
	for _, f := range m.Facts {
		b.WriteString("**" + discordEscape(f.Label) + ":** " + discordEscape(f.Value) + "\n")
	}
	p := discordPayload{
		// The title also goes in content: it is what phone notifications show.
		Content:         discordEscape(m.Title),
		AllowedMentions: discordMentions{Parse: []string{}},
		Embeds: []discordEmbed{{
			Title:       discordEscape(m.Title),
			Description: strings.TrimSuffix(b.String(), "\n"),
			URL:         m.Link,
			Color:       kindColor(m.Kind),
			Timestamp:   m.At.Format(time.RFC3339),
		}},
	}
	return s.p.postJSON(ctx, http.MethodPost, s.url, p, nil)
}

// discordEscape shows user text literally: markdown characters get a
// backslash (so *x*, [label](url) and <@id> stay text), and @everyone /
// @here get a zero-width space so they are not mentions even where
// allowed_mentions would not apply.
func discordEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\*_~`|<>[]()#", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return strings.NewReplacer("@everyone", "@\u200beveryone", "@here", "@\u200bhere").Replace(b.String())
}

// ---- Microsoft Teams (Workflows webhook) ----

func teamsInfo() TypeInfo {
	return TypeInfo{Type: TypeTeams, Label: "Microsoft Teams", Fields: []FieldInfo{
		{Name: "webhook_url", Label: "Workflow webhook URL", Kind: KindURL, Required: true, Secret: true, Destination: true,
			Help: "URL of a Teams workflow \"Post to a channel when a webhook request is received\"."},
	}}
}

type teamsConfig struct {
	WebhookURL string `json:"webhook_url"`
}

type teamsSender struct {
	url string
	p   poster
}

func newTeams(raw json.RawMessage, opts Options) (Sender, error) {
	var c teamsConfig
	if errs := decodeSettings(teamsInfo(), raw, &c); len(errs) > 0 {
		return nil, errs
	}
	return &teamsSender{url: c.WebhookURL, p: newPoster(TypeTeams, opts)}, nil
}

// The envelope Teams Workflows' "When a Teams webhook request is received"
// trigger accepts: a message with one Adaptive Card attachment.
type teamsPayload struct {
	Type        string            `json:"type"`
	Attachments []teamsAttachment `json:"attachments"`
}

type teamsAttachment struct {
	ContentType string    `json:"contentType"`
	ContentURL  *string   `json:"contentUrl"` // null, as Teams' samples send it
	Content     teamsCard `json:"content"`
}

type teamsCard struct {
	Schema  string        `json:"$schema"`
	Type    string        `json:"type"`
	Version string        `json:"version"`
	Body    []any         `json:"body"`
	Actions []teamsAction `json:"actions,omitempty"`
}

type teamsTextBlock struct {
	Type   string `json:"type"`
	Text   string `json:"text"`
	Wrap   bool   `json:"wrap"`
	Size   string `json:"size,omitempty"`
	Weight string `json:"weight,omitempty"`
	Color  string `json:"color,omitempty"`
}

type teamsFactSet struct {
	Type  string      `json:"type"`
	Facts []teamsFact `json:"facts"`
}

type teamsFact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

type teamsAction struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

func (s *teamsSender) Send(ctx context.Context, e Event) error {
	m, err := buildMessage(e)
	if err != nil {
		return err
	}
	color := "Attention"
	switch m.Kind {
	case EventUp:
		color = "Good"
	case EventReminder, EventDegraded, EventFlapping, EventFlappingEnd:
		color = "Warning"
	case EventTest, EventMaintenanceStart, EventMaintenanceEnd:
		color = "Accent"
	}
	body := []any{teamsTextBlock{Type: "TextBlock", Text: teamsEscape(m.Title), Wrap: true, Size: "Medium", Weight: "Bolder", Color: color}}
	if m.Intro != "" {
		body = append(body, teamsTextBlock{Type: "TextBlock", Text: teamsEscape(m.Intro), Wrap: true})
	}
	if len(m.Facts) > 0 {
		fs := teamsFactSet{Type: "FactSet"}
		for _, f := range m.Facts {
			fs.Facts = append(fs.Facts, teamsFact{Title: f.Label, Value: teamsEscape(f.Value)})
		}
		body = append(body, fs)
	}
	card := teamsCard{
		Schema:  "http://adaptivecards.io/schemas/adaptive-card.json",
		Type:    "AdaptiveCard",
		Version: "1.4",
		Body:    body,
	}
	if m.Link != "" {
		card.Actions = []teamsAction{{Type: "Action.OpenUrl", Title: "Open in upwatch", URL: m.Link}}
	}
	p := teamsPayload{Type: "message", Attachments: []teamsAttachment{{
		ContentType: "application/vnd.microsoft.card.adaptive",
		Content:     card,
	}}}
	return s.p.postJSON(ctx, http.MethodPost, s.url, p, nil)
}

// teamsEscape breaks markdown link syntax in card text: Adaptive Cards
// render a subset of markdown, and "[Reset password](https://evil)" in a
// monitor name must not become a link. Mentions need explicit entities in
// Teams, so plain text cannot ping anyone.
func teamsEscape(s string) string {
	return strings.ReplaceAll(s, "](", "]\u200b(")
}

// ---- Telegram (Bot API) ----

func telegramInfo() TypeInfo {
	return TypeInfo{Type: TypeTelegram, Label: "Telegram", Fields: []FieldInfo{
		{Name: "bot_token", Label: "Bot token", Kind: KindPassword, Required: true, Secret: true,
			Help: "From @BotFather, e.g. 123456789:AA…"},
		{Name: "chat_id", Label: "Chat ID", Kind: KindText, Required: true,
			Help: "Numeric chat id (negative for groups) or @channelname."},
		{Name: "api_url", Label: "API URL", Kind: KindURL, Default: "https://api.telegram.org",
			Help: "Only for a self-hosted Bot API server."},
	}}
}

type telegramConfig struct {
	BotToken string `json:"bot_token"`
	ChatID   string `json:"chat_id"`
	APIURL   string `json:"api_url"`
}

type telegramSender struct {
	endpoint string // holds the token: never put it in an error
	chatID   string
	p        poster
}

func newTelegram(raw json.RawMessage, opts Options) (Sender, error) {
	var c telegramConfig
	errs := decodeSettings(telegramInfo(), raw, &c)
	if len(errs) > 0 {
		return nil, errs
	}
	// The token goes into the URL path: its format keeps it from adding
	// path segments or a query.
	if !regexp.MustCompile(`^[0-9]{1,20}:[A-Za-z0-9_-]{20,100}$`).MatchString(c.BotToken) {
		errs.Add("bot_token", "must look like 123456789:AAE… (digits, a colon, then letters, digits, _ or -)")
	}
	if !regexp.MustCompile(`^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31})$`).MatchString(c.ChatID) {
		errs.Add("chat_id", "must be a numeric chat id or @channelname")
	}
	if c.APIURL == "" {
		c.APIURL = "https://api.telegram.org"
	}
	checkBaseURL(&errs, "api_url", c.APIURL)
	if len(errs) > 0 {
		return nil, errs
	}
	return &telegramSender{
		endpoint: joinURL(c.APIURL, "/bot"+c.BotToken+"/sendMessage"),
		chatID:   c.ChatID,
		p:        newPoster(TypeTelegram, opts),
	}, nil
}

type telegramPayload struct {
	ChatID             string                 `json:"chat_id"`
	Text               string                 `json:"text"`
	ParseMode          string                 `json:"parse_mode"`
	LinkPreviewOptions telegramPreviewOptions `json:"link_preview_options"`
}

type telegramPreviewOptions struct {
	IsDisabled bool `json:"is_disabled"`
}

func (s *telegramSender) Send(ctx context.Context, e Event) error {
	m, err := buildMessage(e)
	if err != nil {
		return err
	}
	// parse_mode HTML with every piece of user text escaped: Telegram's HTML
	// needs only <, > and & escaped, and html.EscapeString also does quotes.
	var b strings.Builder
	b.WriteString("<b>" + html.EscapeString(m.Title) + "</b>")
	if m.Intro != "" {
		b.WriteString("\n" + html.EscapeString(m.Intro))
	}
	for _, f := range m.Facts {
		b.WriteString("\n" + html.EscapeString(f.Label) + ": " + html.EscapeString(f.Value))
	}
	if m.Link != "" {
		b.WriteString("\n<a href=\"" + html.EscapeString(m.Link) + "\">Open in upwatch</a>")
	}
	p := telegramPayload{
		ChatID:    s.chatID,
		Text:      b.String(),
		ParseMode: "HTML",
		// No preview: Telegram would fetch the monitored URL.
		LinkPreviewOptions: telegramPreviewOptions{IsDisabled: true},
	}
	return s.p.postJSON(ctx, http.MethodPost, s.endpoint, p, nil)
}
