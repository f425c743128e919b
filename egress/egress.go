// Package egress is the policy on where probes and notifications may
// connect. Every dial of a check or an alert goes through a *net.Dialer
// whose ControlContext hook sees the resolved ip:port just before the
// socket connects, so a host name, a DNS answer that changes between checks
// (rebinding) or a redirect cannot lead anywhere the policy refuses: the
// connection is never opened and no byte is read from a refused address.
//
// Always refused, whatever the settings: link-local and cloud metadata
// addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254, 100.100.100.200,
// 192.0.0.192), unspecified addresses (0.0.0.0/8, ::), multicast, broadcast
// and reserved IPv4 (224.0.0.0/3), and upwatch's own listeners. Private
// and loopback addresses (RFC 1918, 100.64.0.0/10, fc00::/7, fec0::/10,
// 127.0.0.0/8, ::1) follow the instance's Mode; Config.Allow names ranges
// allowed even when the mode refuses them (never the always-refused ones).
//
// An IPv6 address that embeds an IPv4 address (IPv4-mapped ::ffff:a.b.c.d,
// IPv4-compatible ::a.b.c.d, IPv4-translated ::ffff:0:a.b.c.d, NAT64
// 64:ff9b::/96 and 64:ff9b:1::/48, 6to4 2002::/16) is judged as the IPv4
// address it embeds.
//
// The package is a leaf: it imports no other upwatch package.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"syscall"
)

// Class is what kind of address an address is, for the policy.
type Class uint8

// Address classes, from the least to the most restricted.
const (
	Public      Class = iota // anything else: allowed
	Private                  // RFC 1918, CGNAT, unique local, site-local: per Mode
	Loopback                 // 127.0.0.0/8, ::1: per Mode
	Multicast                // multicast, broadcast and reserved IPv4: refused
	Unspecified              // 0.0.0.0/8, ::: refused
	Metadata                 // link-local and cloud metadata: refused
)

// Refused reports whether the class is refused whatever the settings.
func (c Class) Refused() bool { return c >= Multicast }

func (c Class) String() string {
	switch c {
	case Private:
		return "private"
	case Loopback:
		return "loopback"
	case Multicast:
		return "multicast/broadcast"
	case Unspecified:
		return "unspecified"
	case Metadata:
		return "link-local/cloud metadata"
	}
	return "public"
}

// Classify says what class a is and the address the class was decided on:
// the IPv4 address an IPv6 address embeds (unmapped), or a itself without
// its zone. An invalid address is Unspecified.
func Classify(a netip.Addr) (Class, netip.Addr) {
	if !a.IsValid() {
		return Unspecified, a
	}
	a = a.WithZone("")
	if a.Is4In6() {
		a = a.Unmap()
	}
	if a.Is4() {
		return classify4(a.As4()), a
	}
	b := a.As16()
	switch {
	case b == [16]byte{}:
		return Unspecified, a
	case b == [16]byte{15: 1}:
		return Loopback, a
	case b[0] == 0xfe && b[1]&0xc0 == 0x80: // fe80::/10
		return Metadata, a
	case b == [16]byte{0xfd, 0, 0x0e, 0xc2, 14: 0x02, 15: 0x54}: // fd00:ec2::254 (AWS)
		return Metadata, a
	case b[0] == 0xff: // ff00::/8
		return Multicast, a
	case b[0]&0xfe == 0xfc: // fc00::/7
		return Private, a
	case b[0] == 0xfe && b[1]&0xc0 == 0xc0: // fec0::/10, deprecated site-local
		return Private, a
	}
	if v4, ok := embedded4(b); ok {
		return classify4(v4), netip.AddrFrom4(v4)
	}
	if b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0 && b[5] == 1 {
		// 64:ff9b:1::/48, NAT64 for local use (RFC 8215): the network
		// picks a prefix of 48 to 96 bits, so the IPv4 address may sit in
		// any of RFC 6052's places. Judge by the most restricted reading,
		// leaving out readings in 0.0.0.0/8: the bytes around the address
		// are zero, and no NAT64 translates to 0.0.0.0/8.
		worst, at := Public, a
		for _, v4 := range [...][4]byte{
			{b[6], b[7], b[9], b[10]},    // /48
			{b[7], b[9], b[10], b[11]},   // /56
			{b[9], b[10], b[11], b[12]},  // /64
			{b[12], b[13], b[14], b[15]}, // /96
		} {
			if c := classify4(v4); c > worst && c != Unspecified {
				worst, at = c, netip.AddrFrom4(v4)
			}
		}
		return worst, at
	}
	return Public, a
}

// embedded4 finds the IPv4 address of the IPv6 forms that carry one in a
// fixed place: IPv4-compatible (::/96), IPv4-translated (::ffff:0:0/96),
// NAT64's well-known prefix (64:ff9b::/96) and 6to4 (2002::/16). (:: and
// ::1 are classified before.)
func embedded4(b [16]byte) ([4]byte, bool) {
	low := [4]byte{b[12], b[13], b[14], b[15]}
	zero := func(from, to int) bool {
		for _, x := range b[from:to] {
			if x != 0 {
				return false
			}
		}
		return true
	}
	switch {
	case zero(0, 12): // ::a.b.c.d
		return low, true
	case zero(0, 8) && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0: // ::ffff:0:a.b.c.d
		return low, true
	case b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && zero(4, 12): // 64:ff9b::/96
		return low, true
	case b[0] == 0x20 && b[1] == 0x02: // 2002:aabb:ccdd::/48
		return [4]byte{b[2], b[3], b[4], b[5]}, true
	}
	return [4]byte{}, false
}

func classify4(b [4]byte) Class {
	switch {
	case b[0] == 0:
		return Unspecified
	case b[0] == 127:
		return Loopback
	case b[0] == 169 && b[1] == 254:
		return Metadata
	case b == [4]byte{100, 100, 100, 200}: // Alibaba Cloud
		return Metadata
	case b == [4]byte{192, 0, 0, 192}: // Oracle Cloud
		return Metadata
	case b[0] >= 224: // multicast 224/4, reserved 240/4, broadcast
		return Multicast
	case b[0] == 10,
		b[0] == 172 && b[1]&0xf0 == 16,
		b[0] == 192 && b[1] == 168,
		b[0] == 100 && b[1]&0xc0 == 64: // 100.64.0.0/10, CGNAT
		return Private
	}
	return Public
}

// Mode is the instance's rule for private and loopback addresses
// (EGRESS_PRIVATE).
type Mode uint8

const (
	// Allow lets every monitor and channel reach private and loopback
	// addresses: a homelab needs them. The default.
	Allow Mode = iota
	// Admins lets only monitors and channels of an admin user reach them.
	Admins
	// Deny lets none reach them (except Config.Allow's ranges).
	Deny
)

func (m Mode) String() string {
	switch m {
	case Admins:
		return "admins"
	case Deny:
		return "deny"
	}
	return "allow"
}

// ParseMode reads "allow" (or ""), "admins" or "deny".
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "allow":
		return Allow, nil
	case "admins", "admin":
		return Admins, nil
	case "deny":
		return Deny, nil
	}
	return Allow, fmt.Errorf("%q must be allow, admins or deny", s)
}

// ParseAllow reads a comma-separated list of CIDR ranges (a bare address
// is one address). IPv4-mapped ranges are stored as IPv4.
func ParseAllow(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		var p netip.Prefix
		var err error
		if strings.Contains(f, "/") {
			p, err = netip.ParsePrefix(f)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(f); err == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil || p.Addr().Zone() != "" {
			return nil, fmt.Errorf("%q is not a CIDR range (like 10.0.0.0/8 or fd12::/16)", f)
		}
		out = append(out, normPrefix(p))
	}
	return out, nil
}

func normPrefix(p netip.Prefix) netip.Prefix {
	p = p.Masked()
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

// Config is a Policy's settings; the zero value is the default policy.
type Config struct {
	// Private is the rule for private and loopback addresses.
	Private Mode
	// Allow are ranges allowed even when Private refuses them. They never
	// open an always-refused address (metadata, link-local, unspecified,
	// multicast) or upwatch's own listeners.
	Allow []netip.Prefix
	// Self are upwatch's own listeners (the HTTP server, the embedded
	// queue, the Redis it uses). An entry whose address is unspecified,
	// loopback or one of this machine's refuses its port on every local
	// address; another refuses exactly that address and port.
	Self []netip.AddrPort
	// LocalAddrs lists this machine's addresses, asked when a dial goes
	// to a port of Self (so a changed address is seen at once). Default:
	// the interfaces' addresses (net.InterfaceAddrs).
	LocalAddrs func() ([]netip.Addr, error)
}

// Policy decides which addresses probes and notifications may connect
// to. It is immutable and safe for concurrent use.
type Policy struct {
	mode       Mode
	allow      []netip.Prefix
	selfPorts  []uint16         // on every local address
	selfExact  []netip.AddrPort // exactly these
	localAddrs func() ([]netip.Addr, error)
}

// New returns the policy with c's settings.
func New(c Config) *Policy {
	p := &Policy{mode: c.Private, localAddrs: c.LocalAddrs}
	if p.localAddrs == nil {
		p.localAddrs = interfaceAddrs
	}
	for _, pr := range c.Allow {
		p.allow = append(p.allow, normPrefix(pr))
	}
	var local []netip.Addr
	for _, s := range c.Self {
		if s.Port() == 0 {
			continue // a listener not yet bound has no port to refuse
		}
		a := s.Addr().WithZone("").Unmap()
		if !a.IsUnspecified() && !a.IsLoopback() && local == nil {
			local, _ = p.localAddrs()
			if local == nil {
				local = []netip.Addr{}
			}
		}
		if a.IsUnspecified() || a.IsLoopback() || slices.Contains(local, a) {
			if !slices.Contains(p.selfPorts, s.Port()) {
				p.selfPorts = append(p.selfPorts, s.Port())
			}
			continue
		}
		p.selfExact = append(p.selfExact, netip.AddrPortFrom(a, s.Port()))
	}
	return p
}

func interfaceAddrs() ([]netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out, nil
}

// Mode is the policy's rule for private and loopback addresses.
func (p *Policy) Mode() Mode { return p.mode }

// PrivateAllowed is the server's decision for a monitor or channel owned by
// a user: may it reach private and loopback addresses? Jobs carry the
// answer to workers.
func (p *Policy) PrivateAllowed(ownerAdmin bool) bool {
	switch p.mode {
	case Allow:
		return true
	case Admins:
		return ownerAdmin
	}
	return false
}

// Check decides on one connection to ap. privateOK is the server's
// decision for the check's owner (PrivateAllowed); a policy in Deny mode
// refuses private addresses whatever it says. The error is a
// *BlockedError, nil when the connection may be opened.
func (p *Policy) Check(ap netip.AddrPort, privateOK bool) error {
	class, at := Classify(ap.Addr())
	if class.Refused() {
		return &BlockedError{Addr: ap, At: at, Class: class}
	}
	if p.isSelf(ap, at) {
		return &BlockedError{Addr: ap, At: at, Class: class, Self: true}
	}
	if class == Public || privateOK && p.mode != Deny {
		return nil
	}
	for _, pr := range p.allow {
		if pr.Contains(at) {
			return nil
		}
	}
	return &BlockedError{Addr: ap, At: at, Class: class, Mode: p.mode}
}

// isSelf tells a dial to one of upwatch's own listeners. at is the
// address ap's was classified by (the embedded IPv4 one).
func (p *Policy) isSelf(ap netip.AddrPort, at netip.Addr) bool {
	port := ap.Port()
	for _, s := range p.selfExact {
		if s.Port() == port && (s.Addr() == at || s.Addr() == ap.Addr().WithZone("")) {
			return true
		}
	}
	if !slices.Contains(p.selfPorts, port) {
		return false
	}
	if at.IsLoopback() || at.IsUnspecified() {
		return true
	}
	local, err := p.localAddrs()
	if err != nil {
		return true // cannot tell: refuse rather than reach ourselves
	}
	return slices.Contains(local, at) || slices.Contains(local, ap.Addr().WithZone(""))
}

// CheckHost judges a host a user typed (a URL's host, a TCP host), for
// validation at create time: an IP literal (brackets and a zone allowed)
// the policy refuses gives a *BlockedError; a name gives nil, as it is
// judged when it is dialled. port 0 skips the own-listener check.
func (p *Policy) CheckHost(host string, port uint16, privateOK bool) error {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	a, err := netip.ParseAddr(host)
	if err != nil {
		return nil
	}
	// Port 0 never matches an own listener: only the address is judged.
	return p.Check(netip.AddrPortFrom(a, port), privateOK)
}

// Control returns a net.Dialer ControlContext hook that refuses what the
// policy refuses, before the socket connects. address is the resolved
// "ip:port" the dialer is about to connect to; anything else is refused.
func (p *Policy) Control(privateOK bool) func(ctx context.Context, network, address string, c syscall.RawConn) error {
	return func(_ context.Context, network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return &BlockedError{Unparsed: address}
		}
		return p.Check(ap, privateOK)
	}
}

// Dialer returns a copy of base that dials through the policy. A hook
// base already had runs after the policy's, for connections it allows.
func (p *Policy) Dialer(base *net.Dialer, privateOK bool) *net.Dialer {
	var d net.Dialer
	if base != nil {
		d = *base
	}
	check := p.Control(privateOK)
	prevCtx, prev := d.ControlContext, d.Control
	d.Control = nil
	d.ControlContext = func(ctx context.Context, network, address string, c syscall.RawConn) error {
		if err := check(ctx, network, address, c); err != nil {
			return err
		}
		switch {
		case prevCtx != nil:
			return prevCtx(ctx, network, address, c)
		case prev != nil:
			return prev(network, address, c)
		}
		return nil
	}
	return &d
}

// DialContext is Dialer(base, privateOK).DialContext.
func (p *Policy) DialContext(base *net.Dialer, privateOK bool) func(ctx context.Context, network, address string) (net.Conn, error) {
	return p.Dialer(base, privateOK).DialContext
}

// BlockedError is a connection the policy refused. Its message names the
// address and why, and is fit to show to users: probes report it as the
// check's error (reason "blocked"), notifications as the send's.
type BlockedError struct {
	Addr  netip.AddrPort // what was to be dialled (port 0: no port, e.g. ping)
	At    netip.Addr     // the address judged: the IPv4 one Addr embeds, or Addr's
	Class Class
	Self  bool // one of upwatch's own listeners
	Mode  Mode // for a private address: the rule that refused it
	// Unparsed is a dial address that was not ip:port (never expected).
	Unparsed string
}

func (e *BlockedError) Error() string {
	if e.Unparsed != "" {
		return fmt.Sprintf("%q is not an IP address and port; upwatch does not connect to it", e.Unparsed)
	}
	name := e.Addr.Addr().String()
	if e.At.IsValid() && e.At != e.Addr.Addr().WithZone("") {
		name += " (" + e.At.String() + ")"
	}
	switch {
	case e.Class.Refused():
		return name + " " + refusedText(e.Class)
	case e.Self:
		return fmt.Sprintf("%s is upwatch's own listener (port %d); upwatch never connects to itself", name, e.Addr.Port())
	case e.Mode == Admins:
		return fmt.Sprintf("%s is a %s address; on this instance only monitors and channels of an admin may reach private or loopback addresses (EGRESS_PRIVATE=admins)", name, e.Class)
	}
	return fmt.Sprintf("%s is a %s address; this instance does not connect to private or loopback addresses (EGRESS_PRIVATE=deny)", name, e.Class)
}

// refusedText says why a class is always refused, after the address.
func refusedText(c Class) string {
	article := "a"
	if c == Unspecified {
		article = "an"
	}
	return fmt.Sprintf("is %s %s address; upwatch never connects to it", article, c)
}

// RefusedLiteral says why a host a user typed (a URL's host, a host or
// name server setting) is always refused, phrased for a form after the
// field's name: "is a link-local/cloud metadata address; upwatch never
// connects to it". It is "" for a host name (judged when it is dialled)
// and for an address the policy may allow. Validation uses it to refuse
// the obvious at once; the dialer is the guard.
func RefusedLiteral(host string) string {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	a, err := netip.ParseAddr(host)
	if err != nil {
		return ""
	}
	c, at := Classify(a)
	if !c.Refused() {
		return ""
	}
	if at != a.WithZone("") {
		return "(" + at.String() + ") " + refusedText(c)
	}
	return refusedText(c)
}

// AsBlocked finds a *BlockedError in err's chain.
func AsBlocked(err error) (*BlockedError, bool) {
	var b *BlockedError
	ok := errors.As(err, &b)
	return b, ok
}
