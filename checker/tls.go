package checker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/upwatch/upwatch/reason"
	"github.com/upwatch/upwatch/settings"
)

// Defaults of a TLS monitor's settings.
const (
	defaultTLSPort  = 443
	defaultWarnDays = 14
	maxWarnDays     = 365
)

// tlsSettings are a TLS monitor's settings as stored: defaults filled in.
type tlsSettings struct {
	Host       string `json:"host"`
	Port       int    `json:"port"`
	WarnDays   int    `json:"warn_days"`
	VerifyTLS  bool   `json:"verify_tls"`
	ServerName string `json:"server_name,omitempty"`
}

// tlsInput is what a user may send: absent fields (nil) take defaults,
// while an explicit 0 or false is kept (and a port 0 refused).
type tlsInput struct {
	Host       string `json:"host"`
	Port       *int   `json:"port"`
	WarnDays   *int   `json:"warn_days"`
	VerifyTLS  *bool  `json:"verify_tls"`
	ServerName string `json:"server_name"`
}

func tlsType() Type {
	return Type{
		Name:  TypeTLS,
		Label: "TLS certificate",
		Help:  "A server's TLS certificate is valid and not close to expiry.",
		Fields: []settings.FieldInfo{
			{Name: "host", Label: "Host", Kind: settings.KindText, Required: true, Help: "Host name or IP address."},
			{Name: "port", Label: "Port", Kind: settings.KindNumber, Default: "443", Help: "1 to 65535."},
			{Name: "warn_days", Label: "Warn days before expiry", Kind: settings.KindNumber, Default: "14", Help: "Mark the check degraded when the certificate expires within this many days (0 to 365; 0: never)."},
			{Name: "verify_tls", Label: "Verify certificate", Kind: settings.KindBool, Default: "true", Help: "Check the chain against trusted authorities and the host name; off for self-signed certificates (expiry is still checked)."},
			{Name: "server_name", Label: "Server name (SNI)", Kind: settings.KindText, Help: "Name to request and verify instead of the host."},
		},
		Reasons:  []string{reason.Timeout, reason.DNS, reason.Refused, reason.TLS, reason.Cert, reason.Blocked, reason.Error},
		Remote:   true,
		validate: validateTLS,
		newProber: func(env ProbeEnv) Prober {
			return &tlsProber{tcp: tcpProber{resolver: env.Resolver, egress: env.policy()}, roots: env.RootCAs, now: time.Now}
		},
	}
}

func validateTLS(raw json.RawMessage) (json.RawMessage, settings.FieldErrors) {
	in, errs := decodeAs[tlsInput](tlsType().Fields, raw)
	if len(errs) > 0 {
		return nil, errs
	}
	s := tlsSettings{Host: in.Host, Port: defaultTLSPort, WarnDays: defaultWarnDays, VerifyTLS: true, ServerName: in.ServerName}
	if msg := checkHost(s.Host); msg != "" {
		errs.Add("host", "%s", msg)
	}
	if in.Port != nil {
		s.Port = *in.Port
		if msg := checkPort(s.Port); msg != "" {
			errs.Add("port", "%s", msg)
		}
	}
	if in.WarnDays != nil {
		s.WarnDays = *in.WarnDays
		if s.WarnDays < 0 || s.WarnDays > maxWarnDays {
			errs.Add("warn_days", "must be between 0 and %d", maxWarnDays)
		}
	}
	if in.VerifyTLS != nil {
		s.VerifyTLS = *in.VerifyTLS
	}
	if strings.TrimSpace(s.ServerName) == "" {
		s.ServerName = ""
	} else if msg := checkHost(s.ServerName); msg != "" {
		errs.Add("server_name", "%s", msg)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return marshalSettings(s)
}

// tlsProber connects, completes a TLS handshake and judges the server's
// certificate: validity dates always, chain and host name when asked.
type tlsProber struct {
	tcp   tcpProber      // how it connects
	roots *x509.CertPool // nil: the system's
	now   func() time.Time
}

func (p *tlsProber) Probe(ctx context.Context, s Spec) Outcome {
	// Defaults first, so settings stored before a field existed still work.
	set := tlsSettings{Port: defaultTLSPort, WarnDays: defaultWarnDays, VerifyTLS: true}
	if err := json.Unmarshal(s.Settings, &set); err != nil {
		return Outcome{Reason: reason.Error, Error: capError("invalid settings: " + err.Error())}
	}
	if set.Host == "" {
		return Outcome{Reason: reason.Error, Error: "invalid settings: no host"}
	}
	name := set.ServerName
	if name == "" {
		name = strings.Trim(set.Host, "[]")
	}

	dialer := p.tcp.dialer(s) // built before the check's time starts
	timeout := checkTimeout(ctx, s)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var out Outcome
	conn := dialTarget(ctx, dialer, set.Host, set.Port, timeout, &out)
	if conn == nil {
		return out
	}
	tc := tls.Client(conn, &tls.Config{
		ServerName: name, // not sent when it is an IP address
		// Verified below instead, so that each problem gets its own
		// message and an invalid certificate's expiry is still read.
		InsecureSkipVerify: true,
	})
	defer tc.Close()
	start := time.Now()
	err := tc.HandshakeContext(ctx)
	out.TLS = time.Since(start)
	out.Latency += out.TLS
	if err != nil {
		out.Reason, out.Error = classify(err, failState{host: set.Host, tlsErr: err}, timeout)
		if out.Reason == reason.TLS {
			out.Error = capError("TLS handshake failed: " + strings.TrimPrefix(out.Error, "tls: "))
		}
		return out
	}
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		// Unreachable with crypto/tls as a client; a guard, not a verdict.
		out.Reason, out.Error = reason.TLS, "the server sent no certificate"
		return out
	}

	leaf, now := certs[0], p.now()
	out.CertExpiry = leaf.NotAfter.UnixMilli()
	out.Detail = certDetail(leaf, now)
	left := leaf.NotAfter.Sub(now)
	var problem string
	switch {
	case left <= 0:
		problem = fmt.Sprintf("certificate expired %s ago (%s)", certSpan(-left), certDay(leaf.NotAfter))
	case now.Before(leaf.NotBefore):
		problem = fmt.Sprintf("certificate is not valid before %s", leaf.NotBefore.UTC().Format("2006-01-02 15:04 MST"))
	case set.VerifyTLS:
		problem = verifyCert(certs, name, p.roots, now)
	}
	switch {
	case problem != "":
		out.Reason, out.Error = reason.Cert, capError(problem)
	case left < time.Duration(set.WarnDays)*24*time.Hour:
		out.OK, out.Degraded = true, true
		out.Reason = reason.Cert
		out.Error = fmt.Sprintf("certificate expires in %s (%s)", certSpan(left), certDay(leaf.NotAfter))
	default:
		out.OK = true
	}
	return out
}

// verifyCert checks the chain the server sent against roots (nil: the
// system's) and the leaf against name, and returns what is wrong, or "".
func verifyCert(certs []*x509.Certificate, name string, roots *x509.CertPool, now time.Time) string {
	leaf := certs[0]
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now}); err != nil {
		// x509's messages are good ("certificate signed by unknown
		// authority"), once the package prefix is gone.
		return strings.TrimPrefix(err.Error(), "x509: ")
	}
	if leaf.VerifyHostname(name) != nil {
		names := leaf.DNSNames
		for _, ip := range leaf.IPAddresses {
			names = append(names, ip.String())
		}
		if len(names) == 0 {
			return fmt.Sprintf("certificate has no host names, so it is not valid for %s", settings.Clean(name, 60))
		}
		list := make([]string, 0, 3)
		for _, n := range names[:min(len(names), 3)] {
			list = append(list, settings.Clean(n, 60))
		}
		more := ""
		if len(names) > 3 {
			more = fmt.Sprintf(" and %d more", len(names)-3)
		}
		return fmt.Sprintf("certificate is for %s%s, not %s", strings.Join(list, ", "), more, settings.Clean(name, 60))
	}
	return ""
}

// certDetail is the line shown on the monitor page:
// "CN=example.com · issued by R11 · expires 2027-01-29 (60 days)".
func certDetail(leaf *x509.Certificate, now time.Time) string {
	subject := leaf.Subject.CommonName
	if subject == "" && len(leaf.DNSNames) > 0 {
		subject = leaf.DNSNames[0]
	}
	issuer := leaf.Issuer.CommonName
	if issuer == "" && len(leaf.Issuer.Organization) > 0 {
		issuer = leaf.Issuer.Organization[0]
	}
	if issuer == "" {
		issuer = "?"
	}
	var expiry string
	if left := leaf.NotAfter.Sub(now); left > 0 {
		expiry = fmt.Sprintf("expires %s (%s)", certDay(leaf.NotAfter), certSpan(left))
	} else {
		expiry = fmt.Sprintf("expired %s (%s ago)", certDay(leaf.NotAfter), certSpan(-left))
	}
	return fmt.Sprintf("CN=%s · issued by %s · %s", settings.Clean(subject, 60), settings.Clean(issuer, 60), expiry)
}

// certDay renders a certificate date; certificates are dated in UTC.
func certDay(t time.Time) string { return t.UTC().Format("2006-01-02") }

// certSpan renders a positive duration as rounded days ("3 days"), or
// hours below half a day, for expiry messages.
func certSpan(d time.Duration) string {
	const dayLen = 24 * time.Hour
	if days := (d + dayLen/2) / dayLen; days >= 1 {
		return certPlural(int(days), "day")
	}
	if hours := (d + time.Hour/2) / time.Hour; hours >= 1 {
		return certPlural(int(hours), "hour")
	}
	return "less than an hour"
}

func certPlural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
