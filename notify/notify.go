package notify

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/upwatch/upwatch/egress"
	"github.com/upwatch/upwatch/settings"
)

// Event is one thing to tell a user. The checker fills it; every text
// field may hold user-typed or remote-controlled content and is escaped by
// each provider for its own format.
type Event struct {
	Kind       string        // EventDown, EventUp, EventReminder or EventTest
	MonitorID  int64         // monitor's id
	Monitor    string        // monitor name (user-typed: hostile until escaped)
	URL        string        // monitored URL (user-typed)
	Reason     string        // reason code: timeout|dns|refused|tls|status|redirects|keyword|error
	Error      string        // human message of the failure
	StatusCode int           // HTTP status of the failing check, 0 if none
	StartedAt  time.Time     // when the incident started
	At         time.Time     // when this event happened
	Duration   time.Duration // for "up": how long it was down (or degraded); for "reminder": down so far
	From       string        // for "up": "down" (also when empty) or "degraded"
	Link       string        // absolute link to the monitor page (BASE_URL + /monitors/ID), may be ""
	Window     string        // for maintenance_start and maintenance_end: the window's title (user-typed)
	Changes    int           // for flapping and flapping_end: how many state changes
}

// Event kinds.
const (
	EventDown     = "down"     // the monitor went down
	EventUp       = "up"       // the monitor recovered
	EventReminder = "reminder" // the monitor is still down
	EventDegraded = "degraded" // the monitor works, but slowly or with a warning
	EventInstance = "instance" // the upwatch instance itself needs attention (Error says why; From "resolved" when it no longer does)
	EventTest     = "test"     // a user asked for a test message
	// A maintenance window that asks for it began, or ended (From is the
	// state the monitor is in then; a monitor still down at the end gets
	// a "down" instead).
	EventMaintenanceStart = "maintenance_start"
	EventMaintenanceEnd   = "maintenance_end"
	// The monitor changed state more than its limit within its window
	// (Changes says how often), and later settled (From is where; Changes
	// how often it changed while flapping; Duration how long it flapped).
	EventFlapping    = "flapping"
	EventFlappingEnd = "flapping_end"
	// An incident is still unacknowledged after the escalation policy's
	// time (Duration: how long it has been down).
	EventEscalation = "escalation"
)

// Channel types.
const (
	TypeEmail    = "email"
	TypeSlack    = "slack"
	TypeDiscord  = "discord"
	TypeTelegram = "telegram"
	TypeNtfy     = "ntfy"
	TypeGotify   = "gotify"
	TypePushover = "pushover"
	TypeTeams    = "teams"
	TypeWebhook  = "webhook"
)

// Sender delivers events to one configured channel. Send makes one attempt:
// retry policy belongs to the caller. It returns when ctx is done at the
// latest. A Sender is safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, e Event) error
}

// DialFunc opens a network connection, like (*net.Dialer).DialContext.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// Options are a Sender's dependencies; the zero value is usable.
type Options struct {
	// HTTPClient sends every HTTP-based provider's requests, as it is.
	// Default: a client with a 10 s timeout, at most 3 redirects,
	// keep-alives off (alerts are rare and senders may be short-lived, so
	// idle connections would only leak), no proxy (a proxy would connect
	// for us, out of the egress policy's sight) and dialing through Dialer.
	// The application leaves it nil.
	HTTPClient *http.Client
	// Dialer opens SMTP connections, and the default HTTP client's
	// connections. Default: a net.Dialer through Egress. Tests use it to
	// send a real host name to 127.0.0.1; the application leaves it nil.
	Dialer DialFunc
	// Egress judges every address the default dialer connects to (each
	// redirect hop included), just before connecting; nil means the
	// default policy (metadata, link-local and the like refused).
	Egress *egress.Policy
	// DenyPrivate refuses private and loopback addresses: the policy's
	// decision for the channel's owner (egress.Policy.PrivateAllowed).
	DenyPrivate bool
	// TLSConfig is the base for SMTP TLS (e.g. RootCAs for a private CA);
	// ServerName is always the channel's host. Default: system roots,
	// TLS 1.2 or later.
	TLSConfig *tls.Config
	// From is the email sender used when a channel sets none.
	From string
	// Helo is the name the SMTP client greets with (EHLO): the host's
	// fully qualified name, since strict mail servers refuse
	// "localhost". Default: the domain of the sender's address.
	Helo string
	// UserAgent for HTTP requests. Default "upwatch".
	UserAgent string
}

func (o Options) dialer() DialFunc {
	if o.Dialer != nil {
		return o.Dialer
	}
	p := o.Egress
	if p == nil {
		p = egress.New(egress.Config{})
	}
	return p.DialContext(&net.Dialer{Timeout: 10 * time.Second}, !o.DenyPrivate)
}

func (o Options) httpClient() *http.Client {
	if o.HTTPClient != nil {
		return o.HTTPClient
	}
	return defaultHTTPClient(o.dialer())
}

// maxRedirects bounds the default client: webhook endpoints rarely redirect,
// and a loop must not hold a send for the whole timeout.
const maxRedirects = 3

func defaultHTTPClient(dial DialFunc) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:                  nil, // never HTTP(S)_PROXY: see Options.HTTPClient
			DialContext:            dial,
			TLSHandshakeTimeout:    10 * time.Second,
			ResponseHeaderTimeout:  10 * time.Second,
			DisableKeepAlives:      true,
			ForceAttemptHTTP2:      true,
			MaxResponseHeaderBytes: 64 << 10,
		},
		CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects { // via holds the first request too
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			return nil
		},
	}
}

func (o Options) userAgent() string {
	if o.UserAgent != "" {
		return o.UserAgent
	}
	return "upwatch"
}

// New validates a channel's settings strictly and returns its Sender. It
// does no I/O, so the API and the forms call it to validate. A settings
// error is a FieldErrors listing every field at fault (errors.As with a
// *FieldError finds the first).
func New(typ string, settings json.RawMessage, opts Options) (Sender, error) {
	def, ok := lookup(typ)
	if !ok {
		return nil, FieldErrors{{Field: "type", Message: fmt.Sprintf("unknown channel type %q", clean(typ, 40))}}
	}
	return def.build(settings, opts)
}

// FieldError names one settings field at fault, in words fit for a form.
type FieldError = settings.FieldError

// FieldErrors is every field error found in one validation, in field order.
type FieldErrors = settings.FieldErrors

// StatusError is a provider's non-2xx answer. The caller's retry policy can
// read StatusCode (e.g. retry 429 and 5xx, not 4xx) and RetryAfter.
type StatusError struct {
	Type       string        // channel type
	StatusCode int           // HTTP status
	Body       string        // start of the response body, one line, sanitised
	RetryAfter time.Duration // from a Retry-After header in seconds, 0 if none
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s: HTTP %d %s", e.Type, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}
