// Package notify delivers alerts to notification channels: email (SMTP),
// Slack, Discord, Telegram, ntfy, Gotify, Pushover, Microsoft Teams and
// generic webhooks. It never decides when to alert (the checker does) and
// has no database access: a channel is a type and a JSON object of
// settings, and New turns them into a Sender.
//
//	s, err := notify.New(notify.TypeSlack, settings, notify.Options{})
//	// err is FieldErrors: one FieldError per field at fault, for the form
//	err = s.Send(ctx, notify.Event{Kind: notify.EventDown, ...})
//	// one attempt; *StatusError carries the HTTP status for retry policy
//
// # Safety of user text
//
// Monitor names, URLs and error messages are user- or remote-controlled.
// Each is first cleaned to one line (control characters and line breaks
// become spaces, bidi overrides are dropped, length is capped), then
// escaped for its destination: Slack's &amp;/&lt;/&gt; rule; Discord's
// markdown backslashes, @everyone/@here broken by a zero-width space and
// allowed_mentions {"parse": []}; Telegram HTML with every piece escaped;
// email subjects RFC 2047-encoded and bodies text/plain plus an
// html/template part; Teams cards with markdown links broken; ntfy,
// Gotify and Pushover as plain text. Every JSON body is built with
// encoding/json, every form with net/url.
//
// # Settings per type
//
// Types() returns this table in machine-readable form (field kinds,
// required, secret, defaults, help) for the dashboard. Unknown fields,
// wrong JSON types and invalid values are errors. Secret fields are
// hidden by Redact and kept across edits by MergeSecrets — except when a
// destination field (a webhook or server URL, an SMTP host or port) changes:
// then every secret must be entered again, so none is sent to a new place.
//
// email:
//
//	host      string, required      SMTP server
//	port      number                default 587 (starttls), 465 (tls), 25 (none)
//	tls       "starttls"|"tls"|"none", default "starttls"; starttls fails if
//	          the server does not offer it; with "none" a login is refused
//	          unless the host is localhost
//	username  string                with password; AUTH PLAIN or LOGIN
//	password  string, secret
//	from      string                "Name <addr>" or "addr"; default Options.From
//	to        [string], required    1 to 50 addresses
//
// slack:    webhook_url (secret, required) — incoming webhook; Slack-compatible ones work.
//
// discord:  webhook_url (secret, required).
//
// teams:    webhook_url (secret, required) — a Teams Workflows webhook
// ("Post to a channel when a webhook request is received"); the body is a
// message with one Adaptive Card (version 1.4) attachment.
//
// telegram:
//
//	bot_token string, secret, required   123456789:AA…
//	chat_id   string, required           numeric id (negative for groups) or @channel
//	api_url   url, default https://api.telegram.org (self-hosted Bot API, tests)
//
// ntfy:
//
//	server_url url, default https://ntfy.sh
//	topic      string, required          [A-Za-z0-9_-]{1,64}
//	token      string, secret            access token, sent as Bearer
//	priority   number 1–5                default 4 for down/reminder, 3 otherwise
//
// ntfy messages are published as JSON to the server root (topic in the
// body), so no user text travels in HTTP headers.
//
// gotify:
//
//	server_url url, required
//	app_token  string, secret, required  sent as X-Gotify-Key
//	priority   number 0–10               default 8 for down/reminder, 5 otherwise
//
// pushover:
//
//	user_key  string, secret, required   30 letters/digits
//	app_token string, secret, required   30 letters/digits
//	priority  number -2–1                default 0
//	api_url   url, default https://api.pushover.net/1/messages.json
//
// webhook:
//
//	url           url, secret, required
//	method        "POST"|"PUT", default "POST"
//	headers       {name: value}, secret values; Content-Type defaults to
//	              application/json; Host, Content-Length and other framing
//	              or hop-by-hop headers are refused
//	body_template string: empty for the default JSON body (WebhookPayload,
//	              schema version 1), else a restricted Go text/template
//
// # Webhook body templates
//
// A body template sees TemplateData as dot (.Event, .Monitor.Name,
// .Monitor.URL, .Monitor.ID, .Reason, .Error, .StatusCode, .StartedAt,
// .At, .DurationSeconds, .Link, .Title, .Message) and nothing else. Its
// only functions are json (encode a value as JSON, for building JSON
// bodies safely), upper, lower and the builtins eq, ne, lt, le, gt, ge,
// and, or, not and len. call, print/printf, range, template, define and
// block are refused when the settings are validated, and the template is
// run once on sample data then, so an unknown field fails early. The
// output is capped at 64 KiB.
//
//	{"text": {{json .Title}}, "url": {{json .Link}}}
//
// # Network
//
// HTTP providers use Options.HTTPClient (default: 10 s timeout, at most 3
// redirects, no proxy); errors never include request URLs, which carry
// tokens. SMTP and the default HTTP client dial with Options.Dialer, by
// default through the egress policy (Options.Egress), which judges every
// resolved address before connecting: a refused send fails with the
// policy's message and reads nothing. Every Send returns when its context
// is done.
package notify
