package checker

import (
	"encoding/json"
	"time"

	"github.com/upwatch/upwatch/reason"
)

// Spec is everything a worker needs to run one check. It travels inside a
// job message, so a remote worker needs no database access.
type Spec struct {
	MonitorID int64 `json:"id"`
	// Type is the monitor's kind (see Types); "" is HTTP, as jobs from
	// before kinds existed were.
	Type    string        `json:"type,omitempty"`
	Timeout time.Duration `json:"timeout"`
	// Settings are the type's own settings, already validated and
	// normalised (ValidateSettings); each prober decodes its own.
	Settings json.RawMessage `json:"settings,omitempty"`

	// HTTP's request, top-level for compatibility with the first API.
	URL             string            `json:"url,omitempty"`
	Method          string            `json:"method,omitempty"`
	Headers         map[string]string `json:"headers,omitempty"`
	Body            string            `json:"body,omitempty"`
	ExpectedStatus  string            `json:"expected_status,omitempty"` // "" means 200-299
	FollowRedirects bool              `json:"follow_redirects"`
	VerifyTLS       bool              `json:"verify_tls"`

	// DenyPrivate is the server's egress decision for the monitor's owner
	// (egress.Policy.PrivateAllowed): set, the check may not reach private
	// or loopback addresses. Absent (false) allows them, as jobs from
	// servers without the setting meant; every worker refuses metadata,
	// link-local and the like itself, whatever a job says.
	DenyPrivate bool `json:"deny_private,omitempty"`
}

// Outcome is the result of one probe.
type Outcome struct {
	OK bool `json:"ok"`
	// Degraded marks a check that passed but is not healthy: a certificate
	// inside its warning window, a ping with some loss. Reason and Error
	// then say why. (Latency above a monitor's threshold is judged by the
	// server, which knows the threshold.)
	Degraded   bool          `json:"degraded,omitempty"`
	StatusCode int           `json:"status,omitempty"`
	Latency    time.Duration `json:"lat"`
	DNS        time.Duration `json:"dns,omitempty"`
	Connect    time.Duration `json:"conn,omitempty"`
	TLS        time.Duration `json:"tls,omitempty"`
	TTFB       time.Duration `json:"ttfb,omitempty"`
	Transfer   time.Duration `json:"xfer,omitempty"`
	Reason     string        `json:"reason,omitempty"`
	Error      string        `json:"error,omitempty"`
	// Excerpt is the start of the body of a failing response (an
	// unaccepted status, a keyword or JSON check that failed, a push
	// reporting failure), for the incident it may open.
	Excerpt string `json:"excerpt,omitempty"`
	// Detail is one short line on what the check saw, shown on the
	// monitor's page: the DNS answer, ping loss and round trips, the
	// certificate's subject and expiry.
	Detail string `json:"detail,omitempty"`
	// CertExpiry is when the server's leaf certificate expires (Unix ms),
	// for TLS-speaking checks; 0 when there was none.
	CertExpiry int64 `json:"cert_exp,omitempty"`
	// Body is what a push ping sent (push monitors only).
	Body string `json:"body,omitempty"`
}

// Reason codes for a failed check (the table with labels is package reason).
const (
	ReasonTimeout   = reason.Timeout
	ReasonDNS       = reason.DNS
	ReasonRefused   = reason.Refused
	ReasonTLS       = reason.TLS
	ReasonStatus    = reason.Status
	ReasonRedirects = reason.Redirects
	ReasonError     = reason.Error
	ReasonBlocked   = reason.Blocked
)
