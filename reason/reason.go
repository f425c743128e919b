// Package reason is the one table of the reason codes a failed (or
// degraded) check carries, with the human label every layer shows for
// them: the dashboard, alert messages and the API's documentation.
package reason

// Reason codes. A code is short, stable and machine-readable: it is
// stored with every failed check and sent in webhooks.
const (
	Timeout     = "timeout"     // no answer in time (or a push run that never finished)
	DNS         = "dns"         // the name did not resolve, or a DNS query failed
	Refused     = "refused"     // the connection was refused
	TLS         = "tls"         // handshake or certificate failure
	Status      = "status"      // an HTTP status outside the accepted set
	Redirects   = "redirects"   // too many redirects
	Keyword     = "keyword"     // a keyword was missing (or present when it must not be)
	JSON        = "json"        // a JSON assertion on the body failed
	Mismatch    = "mismatch"    // the answer was not the expected one (TCP banner, DNS records)
	Loss        = "loss"        // ping: too many echo requests lost
	Cert        = "cert"        // certificate expired, invalid or close to expiry
	Late        = "late"        // push: no ping within the period and grace
	Fail        = "fail"        // push: the job reported failure
	Slow        = "slow"        // degraded: slower than the monitor's threshold
	NoData      = "no_data"     // unknown: no region reported lately
	Maintenance = "maintenance" // a maintenance window began (no alert, no incident)
	Blocked     = "blocked"     // the egress policy refused the address (metadata, own port, private under deny)
	Error       = "error"       // anything else
)

var labels = map[string]string{
	Timeout:     "Timed out",
	DNS:         "DNS lookup failed",
	Refused:     "Connection refused",
	TLS:         "TLS error",
	Status:      "Unexpected status",
	Redirects:   "Too many redirects",
	Keyword:     "Keyword check failed",
	JSON:        "JSON check failed",
	Mismatch:    "Unexpected answer",
	Loss:        "Packet loss",
	Cert:        "Certificate",
	Late:        "Ping missed",
	Fail:        "Job failed",
	Slow:        "Slow response",
	NoData:      "No data",
	Maintenance: "Maintenance window",
	Blocked:     "Address not allowed",
	Error:       "Check failed",
}

// Label is the human label of a code; an unknown code is returned as it
// is, and "" stays "".
func Label(code string) string {
	if l, ok := labels[code]; ok {
		return l
	}
	return code
}

// Codes lists every known code with its label, for documentation.
func Codes() map[string]string {
	out := make(map[string]string, len(labels))
	for k, v := range labels {
		out[k] = v
	}
	return out
}
