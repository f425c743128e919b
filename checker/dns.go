package checker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/upwatch/upwatch/egress"
	"github.com/upwatch/upwatch/reason"
	"github.com/upwatch/upwatch/settings"
)

const (
	// resolvConf names the system's name servers when a monitor names none.
	resolvConf = "/etc/resolv.conf"
	// fallbackResolver is asked when resolv.conf names no server, as the
	// C library does.
	fallbackResolver = "127.0.0.1:53"
	// dnsUDPSize is the EDNS buffer size offered: large enough for most
	// answers, small enough not to fragment (DNS Flag Day 2020).
	dnsUDPSize = 1232
	// maxDNSDetail bounds the answer shown on the monitor's page.
	maxDNSDetail = 200
	// maxDNSList bounds each list of values quoted in an error.
	maxDNSList = 80
)

// dnsSettings are a DNS monitor's settings, as stored (defaults filled in,
// resolver as ip:port, expected values normalised like answers are).
type dnsSettings struct {
	Name        string   `json:"name"`
	RecordType  string   `json:"record_type"`
	Resolver    string   `json:"resolver,omitempty"`
	Protocol    string   `json:"protocol"`
	Expect      []string `json:"expect,omitempty"`
	ExpectMode  string   `json:"expect_mode"`
	ExpectRcode string   `json:"expect_rcode,omitempty"`
}

func dnsRecordTypes() []string {
	return []string{"A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "SRV", "PTR", "CAA"}
}

func dnsFields() []settings.FieldInfo {
	return []settings.FieldInfo{
		{Name: "name", Label: "Name", Kind: settings.KindText, Required: true,
			Help: "Domain name to query; for PTR an IP address works too."},
		{Name: "record_type", Label: "Record type", Kind: settings.KindSelect, Default: "A", Options: dnsRecordTypes()},
		{Name: "resolver", Label: "Name server", Kind: settings.KindText,
			Help: "IP address, optionally with port (9.9.9.9, [2620:fe::fe]:53); empty for the system's resolver."},
		{Name: "protocol", Label: "Protocol", Kind: settings.KindSelect, Default: "udp", Options: []string{"udp", "tcp"}},
		{Name: "expect", Label: "Expected values", Kind: settings.KindList,
			Help: `Values the answer must hold, e.g. 192.0.2.1, "10 mail.example.org" (MX), "0 issue \"letsencrypt.org\"" (CAA); empty accepts any.`},
		{Name: "expect_mode", Label: "Match", Kind: settings.KindSelect, Default: "any", Options: []string{"any", "all"},
			Help: "any: at least one expected value is in the answer; all: every one is."},
		{Name: "expect_rcode", Label: "Expected response code", Kind: settings.KindSelect,
			Options: []string{"NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED"},
			Help:    "When set, the check passes if and only if the server answers with this code, e.g. NXDOMAIN for a name that must not exist."},
	}
}

func dnsType() Type {
	return Type{
		Name:      TypeDNS,
		Label:     "DNS record",
		Help:      "A name server answers a query with the expected records.",
		Fields:    dnsFields(),
		Reasons:   []string{reason.DNS, reason.Mismatch, reason.Timeout, reason.Blocked, reason.Error},
		Remote:    true,
		validate:  validateDNS,
		newProber: func(env ProbeEnv) Prober { return dnsProber{egress: env.policy()} },
	}
}

func validateDNS(raw json.RawMessage) (json.RawMessage, settings.FieldErrors) {
	s, errs := decodeAs[dnsSettings](dnsFields(), raw)
	if len(errs) > 0 {
		return nil, errs
	}
	if s.RecordType == "" {
		s.RecordType = "A"
	}
	if s.Protocol == "" {
		s.Protocol = "udp"
	}
	if s.ExpectMode == "" {
		s.ExpectMode = "any"
	}
	s.Name = strings.TrimSpace(s.Name)
	if a, err := netip.ParseAddr(s.Name); err == nil && a.Zone() == "" && s.RecordType == "PTR" {
		// Kept as typed: the reverse name is made at query time.
	} else if msg := checkDomainName(s.Name); msg != "" {
		if s.RecordType == "PTR" {
			msg += " or an IP address"
		}
		errs.Add("name", "%s", msg)
	} else {
		s.Name = normName(s.Name)
	}
	if r := strings.TrimSpace(s.Resolver); r != "" {
		norm, msg := parseResolver(r)
		if msg != "" {
			errs.Add("resolver", "%s", msg)
		}
		s.Resolver = norm
	}
	var expect []string
	for i, e := range s.Expect {
		e = strings.TrimSpace(e)
		if e == "" {
			continue // a blank line in a form
		}
		norm, msg := normExpect(s.RecordType, e)
		if msg != "" {
			errs.Add("expect", "entry %d %s", i+1, msg)
			break
		}
		expect = append(expect, norm)
	}
	s.Expect = expect
	if len(s.Expect) > 0 && s.ExpectRcode != "" && s.ExpectRcode != "NOERROR" {
		errs.Add("expect", "cannot be used when the expected response code is %s", s.ExpectRcode)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return marshalSettings(s)
}

// checkDomainName validates a name to query and returns a message for the
// form, or "". It is looser than a host name: SRV and TXT names have
// underscores, a label may be a wildcard, and "." is the root.
func checkDomainName(name string) string {
	if name == "" {
		return "is required"
	}
	if name == "." {
		return ""
	}
	n := strings.TrimSuffix(name, ".")
	if len(n) > 253 {
		return "is too long (at most 253 characters)"
	}
	for label := range strings.SplitSeq(n, ".") {
		switch {
		case label == "":
			return "must be a domain name"
		case len(label) > 63:
			return "has a label longer than 63 characters"
		case label == "*":
			continue
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if c >= 0x80 {
				return "must be a domain name (international names in their xn-- form)"
			}
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "must be a domain name"
			}
		}
	}
	return ""
}

// normName is a domain name as answers are compared: lower case, without
// the trailing dot (except the root).
func normName(s string) string {
	if s == "." {
		return s
	}
	return strings.ToLower(strings.TrimSuffix(s, "."))
}

// parseResolver turns "ip", "[ipv6]" or "ip:port" into "ip:port", or
// returns a message for the form.
func parseResolver(s string) (string, string) {
	bare := s
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		bare = s[1 : len(s)-1]
	}
	if a, err := netip.ParseAddr(bare); err == nil {
		return netip.AddrPortFrom(a.Unmap(), 53).String(), egress.RefusedLiteral(bare)
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return "", "must be an IP address, optionally with a port (9.9.9.9, 9.9.9.9:53 or [2620:fe::fe]:53)"
	}
	if msg := egress.RefusedLiteral(ap.Addr().String()); msg != "" {
		return "", msg
	}
	if ap.Port() == 0 {
		return "", "port must be between 1 and 65535"
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String(), ""
}

// normExpect turns an expected value into the form normRR gives answers of
// type rtype, or returns what is wrong with it (after "entry N").
func normExpect(rtype, e string) (string, string) {
	f := strings.Fields(e)
	switch rtype {
	case "A", "AAAA":
		a, err := netip.ParseAddr(e)
		if err != nil || (rtype == "A") != a.Unmap().Is4() {
			return "", "is not an " + map[string]string{"A": "IPv4", "AAAA": "IPv6"}[rtype] + " address"
		}
		if rtype == "A" {
			a = a.Unmap()
		}
		return a.String(), ""
	case "CNAME", "NS", "PTR", "SOA":
		if checkDomainName(e) != "" {
			return "", "is not a domain name"
		}
		return normName(e), ""
	case "MX":
		// A bare host matches whatever its preference.
		if len(f) == 1 && checkDomainName(f[0]) == "" {
			return normName(f[0]), ""
		}
		if len(f) != 2 || !isUint(f[0], 16) || checkDomainName(f[1]) != "" {
			return "", `must be "preference host", e.g. "10 mail.example.org"`
		}
		return f[0] + " " + normName(f[1]), ""
	case "SRV":
		if len(f) != 4 || !isUint(f[0], 16) || !isUint(f[1], 16) || !isUint(f[2], 16) || checkDomainName(f[3]) != "" {
			return "", `must be "priority weight port target", e.g. "10 5 5060 sip.example.org"`
		}
		return strings.Join(f[:3], " ") + " " + normName(f[3]), ""
	case "CAA":
		if len(f) < 3 || !isUint(f[0], 8) {
			return "", `must be "flags tag value", e.g. "0 issue \"letsencrypt.org\""`
		}
		// The value may hold spaces ("ca.example; account=1"): it is the
		// rest after the tag.
		value := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(strings.TrimPrefix(e, f[0])), f[1]))
		return strings.ToLower(f[0] + " " + f[1] + ` "` + strings.Trim(value, `"`) + `"`), ""
	}
	return e, "" // TXT: the strings joined, compared exactly
}

func isUint(s string, bits int) bool {
	n, err := strconv.ParseUint(s, 10, bits)
	return err == nil && strconv.FormatUint(n, 10) == s
}

// normRR renders an answer record's data the way expected values are
// normalised, so the two compare as strings.
func normRR(rr dns.RR) string {
	switch v := rr.(type) {
	case *dns.A:
		a, _ := netip.AddrFromSlice(v.A)
		return a.Unmap().String()
	case *dns.AAAA:
		a, _ := netip.AddrFromSlice(v.AAAA)
		return a.String()
	case *dns.CNAME:
		return normName(v.Target)
	case *dns.NS:
		return normName(v.Ns)
	case *dns.PTR:
		return normName(v.Ptr)
	case *dns.SOA:
		return normName(v.Ns)
	case *dns.MX:
		return fmt.Sprintf("%d %s", v.Preference, normName(v.Mx))
	case *dns.SRV:
		return fmt.Sprintf("%d %d %d %s", v.Priority, v.Weight, v.Port, normName(v.Target))
	case *dns.CAA:
		return strings.ToLower(fmt.Sprintf(`%d %s "%s"`, v.Flag, v.Tag, v.Value))
	case *dns.TXT:
		return strings.Join(v.Txt, "")
	}
	// Not a type we ask for; shown as miekg/dns prints its data.
	return strings.TrimPrefix(rr.String(), rr.Header().String())
}

type dnsProber struct {
	egress *egress.Policy
}

func (p dnsProber) Probe(ctx context.Context, s Spec) Outcome {
	var set dnsSettings
	if err := json.Unmarshal(s.Settings, &set); err != nil {
		return Outcome{Reason: reason.Error, Error: capError("invalid DNS settings: " + err.Error())}
	}
	qtype, ok := dns.StringToType[set.RecordType]
	if !ok {
		return Outcome{Reason: reason.Error, Error: capError("unknown record type " + settings.Quote(set.RecordType, 10))}
	}
	qname := set.Name
	if qtype == dns.TypePTR {
		if arpa, err := dns.ReverseAddr(qname); err == nil {
			qname = arpa
		}
	}
	server := set.Resolver
	var dialer *net.Dialer
	if server == "" {
		// The system's resolver is the operator's choice, not a user's:
		// it is often on loopback (127.0.0.53) or link-local (a cloud's
		// 169.254.169.253), and is asked as it is.
		server = systemResolver(resolvConf)
	} else {
		// A name server the user typed is judged like any target.
		dialer = p.egress.Dialer(&net.Dialer{}, !s.DenyPrivate)
	}
	timeout := checkTimeout(ctx, s)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(qname), qtype)
	m.SetEdns0(dnsUDPSize, false)

	start := time.Now()
	resp, err := dnsQuery(ctx, m, server, set.Protocol, timeout, dialer)
	if err == nil && resp.Truncated && set.Protocol != "tcp" {
		// The whole answer only fits a TCP response.
		resp, err = dnsQuery(ctx, m, server, "tcp", timeout, dialer)
	}
	out := Outcome{Latency: time.Since(start)}
	if err != nil {
		out.Reason, out.Error = dnsQueryError(ctx, err, server, timeout)
		return out
	}
	judgeDNS(&out, set, qtype, resp)
	return out
}

// systemResolver is the first name server of the resolv.conf at path,
// read on each check so that a changed file (DHCP, a container restart) is
// followed.
func systemResolver(path string) string {
	cfg, err := dns.ClientConfigFromFile(path)
	if err != nil || len(cfg.Servers) == 0 {
		return fallbackResolver
	}
	return net.JoinHostPort(cfg.Servers[0], cfg.Port)
}

// dnsQuery sends m to server over network and reads the response, within
// ctx (its cancellation too: the connection is closed). dialer, if set,
// opens the connection (the egress policy's).
func dnsQuery(ctx context.Context, m *dns.Msg, server, network string, timeout time.Duration, dialer *net.Dialer) (*dns.Msg, error) {
	c := &dns.Client{Net: network, Timeout: timeout, Dialer: dialer}
	conn, err := c.DialContext(ctx, server)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	r, _, err := c.ExchangeWithConnContext(ctx, m, conn)
	return r, err
}

// dnsQueryError classifies a failed query: no answer in time, the caller
// giving up, or anything else the resolver or network did.
func dnsQueryError(ctx context.Context, err error, server string, timeout time.Duration) (string, string) {
	var netErr net.Error
	var blocked *egress.BlockedError
	switch {
	case errors.As(err, &blocked):
		return reason.Blocked, capError(blocked.Error())
	case errors.Is(ctx.Err(), context.Canceled):
		return reason.Error, "check canceled"
	case ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return reason.Timeout, fmt.Sprintf("no answer from %s within %s", server, timeout)
	}
	return reason.DNS, capError(fmt.Sprintf("query to %s: %s", server, errnoText(err)))
}

// judgeDNS fills out's verdict on response r to a query for set.
func judgeDNS(out *Outcome, set dnsSettings, qtype uint16, r *dns.Msg) {
	rcode := dns.RcodeToString[r.Rcode]
	if rcode == "" {
		rcode = "RCODE " + strconv.Itoa(r.Rcode)
	}
	var got []string
	for _, rr := range r.Answer {
		if rr.Header().Rrtype == qtype {
			got = append(got, normRR(rr))
		}
	}
	switch {
	case r.Rcode != dns.RcodeSuccess:
		out.Detail = rcode
	case len(got) == 0:
		out.Detail = "NOERROR, no " + set.RecordType + " records"
	default:
		out.Detail = settings.Clean(set.RecordType+" "+listText(got, maxDNSDetail), maxDNSDetail)
	}

	name := set.Name
	if set.ExpectRcode != "" {
		if rcode != set.ExpectRcode {
			out.Reason = reason.DNS
			out.Error = capError(fmt.Sprintf("%s for %s, expected %s", rcode, name, set.ExpectRcode))
			return
		}
		if len(set.Expect) == 0 {
			out.OK = true
			return
		}
	} else {
		switch {
		case r.Rcode != dns.RcodeSuccess:
			out.Reason, out.Error = reason.DNS, capError(rcode+" for "+name)
			return
		case len(got) == 0:
			out.Reason, out.Error = reason.DNS, capError("no "+set.RecordType+" records for "+name)
			return
		}
	}
	if msg := matchExpect(set, got); msg != "" {
		out.Reason, out.Error = reason.Mismatch, capError(settings.Clean(msg, maxErrorLen))
		return
	}
	out.OK = true
}

// matchExpect compares the answer's values with the expected ones and
// says what is wrong, or "".
func matchExpect(set dnsSettings, got []string) string {
	if len(set.Expect) == 0 {
		return ""
	}
	present := func(e string) bool {
		return slices.ContainsFunc(got, func(g string) bool {
			// An MX expected without preference matches the host alone.
			return g == e || set.RecordType == "MX" && !strings.Contains(e, " ") && strings.HasSuffix(g, " "+e)
		})
	}
	gotText := "nothing"
	if len(got) > 0 {
		gotText = listText(got, maxDNSList)
	}
	if set.ExpectMode == "all" {
		var missing []string
		for _, e := range set.Expect {
			if !present(e) {
				missing = append(missing, e)
			}
		}
		if len(missing) > 0 {
			return fmt.Sprintf("missing %s, got %s", listText(missing, maxDNSList), gotText)
		}
		return ""
	}
	if slices.ContainsFunc(set.Expect, present) {
		return ""
	}
	return fmt.Sprintf("expected %s, got %s", listText(set.Expect, maxDNSList), gotText)
}

// listText joins values with ", " in at most about max bytes, saying how
// many were left out.
func listText(vals []string, max int) string {
	var b strings.Builder
	for i, v := range vals {
		if i > 0 && b.Len()+len(v) > max {
			fmt.Fprintf(&b, ", … (%d more)", len(vals)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(v)
	}
	return b.String()
}
