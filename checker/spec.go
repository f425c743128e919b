package checker

import (
	"time"
)

// Spec is everything a worker needs to run one HTTP check. It travels inside
// a job message, so a remote worker needs no database access.
type Spec struct {
	MonitorID       int64             `json:"id"`
	URL             string            `json:"url"`
	Method          string            `json:"method,omitempty"`
	Headers         map[string]string `json:"headers,omitempty"`
	Body            string            `json:"body,omitempty"`
	Timeout         time.Duration     `json:"timeout"`
	ExpectedStatus  string            `json:"expected_status,omitempty"` // "" means 200-299
	FollowRedirects bool              `json:"follow_redirects"`
	VerifyTLS       bool              `json:"verify_tls"`
}

// Outcome is the result of one probe.
type Outcome struct {
	OK         bool          `json:"ok"`
	StatusCode int           `json:"status,omitempty"`
	Latency    time.Duration `json:"lat"`
	DNS        time.Duration `json:"dns,omitempty"`
	Connect    time.Duration `json:"conn,omitempty"`
	TLS        time.Duration `json:"tls,omitempty"`
	TTFB       time.Duration `json:"ttfb,omitempty"`
	Transfer   time.Duration `json:"xfer,omitempty"`
	Reason     string        `json:"reason,omitempty"`
	Error      string        `json:"error,omitempty"`
	// Excerpt is the start of the body of a response with an unaccepted
	// status, for the incident it may open.
	Excerpt string `json:"excerpt,omitempty"`
}

// Reason codes for a failed check.
const (
	ReasonTimeout   = "timeout"
	ReasonDNS       = "dns"
	ReasonRefused   = "refused"
	ReasonTLS       = "tls"
	ReasonStatus    = "status"
	ReasonRedirects = "redirects"
	ReasonError     = "error"
)
