package checker

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/upwatch/upwatch/egress"
	"github.com/upwatch/upwatch/reason"
	"github.com/upwatch/upwatch/settings"
)

// Type is one kind of monitor: the settings it takes, how they are
// validated, how it is probed and which reason codes its checks carry.
// Adding a kind means adding one Type (one file here) to Types; the API
// documentation, the dashboard's form and validation are built from it.
type Type struct {
	Name  string `json:"type"`
	Label string `json:"label"`
	Help  string `json:"help"`
	// Fields are the type's own settings (HTTP's request fields are
	// top-level monitor fields and not listed here).
	Fields []settings.FieldInfo `json:"fields"`
	// Reasons are the reason codes its failed (or degraded) checks carry.
	Reasons []string `json:"reasons"`
	// Remote is false for kinds the server evaluates itself (push): they
	// are never sent to workers.
	Remote bool `json:"remote"`

	// validate runs after the field table's checks (settings.Decode) and
	// returns the settings to store, normalised; nil for none.
	validate func(raw json.RawMessage) (json.RawMessage, settings.FieldErrors)
	// newProber builds the type's prober; nil when Remote is false.
	newProber func(env ProbeEnv) Prober
}

// Kind names.
const (
	TypeHTTP = "http"
	TypeTCP  = "tcp"
	TypePing = "ping"
	TypeDNS  = "dns"
	TypeTLS  = "tls"
	TypePush = "push"
)

// Types lists every monitor type. The slice is built on each call, so no
// caller can change the registry.
func Types() []Type {
	return []Type{httpType(), tcpType(), pingType(), dnsType(), tlsType(), pushType()}
}

// LookupType finds a type by name; "" is HTTP.
func LookupType(name string) (Type, bool) {
	if name == "" {
		name = TypeHTTP
	}
	for _, t := range Types() {
		if t.Name == name {
			return t, true
		}
	}
	return Type{}, false
}

// ValidateSettings checks a monitor's settings for its type and returns
// them normalised for storage. Field errors name the settings key.
func ValidateSettings(typ string, raw json.RawMessage) (json.RawMessage, settings.FieldErrors) {
	t, ok := LookupType(typ)
	if !ok {
		return nil, settings.FieldErrors{{Field: "type", Message: fmt.Sprintf("unknown monitor type %s", settings.Quote(typ, 30))}}
	}
	if t.validate == nil {
		var empty struct{}
		if errs := settings.Decode(t.Fields, raw, &empty); len(errs) > 0 {
			return nil, errs
		}
		return json.RawMessage("{}"), nil
	}
	return t.validate(raw)
}

// decodeAs is the common start of a validate function: the field table's
// checks, then the settings decoded into T.
func decodeAs[T any](fields []settings.FieldInfo, raw json.RawMessage) (T, settings.FieldErrors) {
	var v T
	errs := settings.Decode(fields, raw, &v)
	return v, errs
}

// marshalSettings stores v as the normalised settings.
func marshalSettings(v any) (json.RawMessage, settings.FieldErrors) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, settings.FieldErrors{{Field: "settings", Message: "cannot be stored"}}
	}
	return b, nil
}

// ProbeEnv is what probers share in one process.
type ProbeEnv struct {
	HTTP HTTPOptions
	// Resolver resolves host names for every prober; nil means the system's.
	Resolver *net.Resolver
	// RootCAs verifies certificates of TLS checks; nil means the system's.
	// Tests set their own.
	RootCAs *x509.CertPool
	// Region the checks run from: HTTP checks name it in their User-Agent,
	// so a target's logs (and a test's target) can tell regions apart.
	Region string
	// Egress decides where checks may connect, on every resolved address
	// at connect time; nil means the default policy (metadata, link-local
	// and the like refused, private addresses as each job says).
	Egress *egress.Policy
}

// policy is env.Egress, or the default policy.
func (env ProbeEnv) policy() *egress.Policy {
	if env.Egress != nil {
		return env.Egress
	}
	return egress.New(egress.Config{})
}

// typeProber runs each check with its type's prober.
type typeProber struct {
	byType map[string]Prober
}

// NewProber returns a Prober for every type that workers run, choosing by
// Spec.Type.
func NewProber(env ProbeEnv) Prober {
	if env.Egress == nil {
		env.Egress = egress.New(egress.Config{})
	}
	if env.HTTP.Egress == nil {
		env.HTTP.Egress = env.Egress
	}
	if env.HTTP.Resolver == nil {
		env.HTTP.Resolver = env.Resolver
	}
	if env.HTTP.UserAgent == "" && env.Region != "" {
		env.HTTP.UserAgent = "upwatch/1 (+uptime monitor; region " + env.Region + ")"
	}
	if env.Resolver == nil {
		env.Resolver = net.DefaultResolver
	}
	p := &typeProber{byType: map[string]Prober{}}
	for _, t := range Types() {
		if t.newProber != nil {
			p.byType[t.Name] = t.newProber(env)
		}
	}
	return p
}

func (p *typeProber) Probe(ctx context.Context, s Spec) Outcome {
	typ := s.Type
	if typ == "" {
		typ = TypeHTTP
	}
	if pr, ok := p.byType[typ]; ok {
		return pr.Probe(ctx, s)
	}
	// A job from a newer server, or for a kind the server evaluates itself.
	return Outcome{Reason: reason.Error, Error: capError("this worker cannot run " + settings.Quote(typ, 30) + " checks")}
}

// checkHost validates a host name or IP literal a user typed for a
// non-HTTP monitor, and returns a message for the form, or "".
func checkHost(h string) string {
	switch {
	case h == "":
		return "is required"
	case len(h) > 253:
		return "is too long"
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if _, err := netip.ParseAddr(h); err == nil {
		// The obvious refusals at once; the dialer judges every address.
		return egress.RefusedLiteral(h)
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return "must be a host name or an IP address"
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "must be a host name or an IP address"
			}
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return "must be a host name or an IP address"
		}
	}
	return ""
}

// checkPort validates a TCP/UDP port number.
func checkPort(p int) string {
	if p < 1 || p > 65535 {
		return "must be between 1 and 65535"
	}
	return ""
}

// hostPort joins a host (an IPv6 literal with or without brackets) and a port.
func hostPort(host string, port int) string {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return net.JoinHostPort(host, fmt.Sprint(port))
}

// Describe is a short text naming what a monitor of a non-HTTP type
// watches, from its settings: "nas.lan:22", "192.168.1.1",
// "example.org A". It stands where an HTTP monitor shows its URL (lists,
// alerts); "" when the settings name no target (push).
func Describe(typ string, raw json.RawMessage) string {
	var s struct {
		Host       string `json:"host"`
		Port       int    `json:"port"`
		Name       string `json:"name"`
		RecordType string `json:"record_type"`
	}
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	switch {
	case s.Host != "" && s.Port > 0:
		return hostPort(s.Host, s.Port)
	case s.Host != "":
		return s.Host
	case s.Name != "" && s.RecordType != "":
		return s.Name + " " + s.RecordType
	case s.Name != "":
		return s.Name
	}
	return ""
}
