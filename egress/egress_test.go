package egress

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want Class
		at   string // the address judged, when it is not addr itself
	}{
		// Cloud metadata and link-local, in every encoding.
		{"169.254.169.254", Metadata, ""},
		{"169.254.0.1", Metadata, ""},
		{"::ffff:169.254.169.254", Metadata, "169.254.169.254"},
		{"::169.254.169.254", Metadata, "169.254.169.254"},        // IPv4-compatible
		{"::ffff:0:169.254.169.254", Metadata, "169.254.169.254"}, // IPv4-translated
		{"64:ff9b::169.254.169.254", Metadata, "169.254.169.254"}, // NAT64 well-known
		{"64:ff9b::a9fe:a9fe", Metadata, "169.254.169.254"},
		{"64:ff9b:1::a9fe:a9fe", Metadata, "169.254.169.254"},        // NAT64 local use, /96
		{"64:ff9b:1:a9fe:a9:fe00::", Metadata, "169.254.169.254"},    // NAT64 local use, /48 (RFC 6052)
		{"64:ff9b:1:ff:a9:fea9:fe00:0", Metadata, "169.254.169.254"}, // NAT64 local use, /64
		{"2002:a9fe:a9fe::1", Metadata, "169.254.169.254"},           // 6to4
		{"fe80::1", Metadata, ""},
		{"fe80::1%eth0", Metadata, "fe80::1"},
		{"febf:ffff::1", Metadata, ""},
		{"fd00:ec2::254", Metadata, ""},
		{"100.100.100.200", Metadata, ""},
		{"::ffff:100.100.100.200", Metadata, "100.100.100.200"},
		{"2002:6464:64c8::", Metadata, "100.100.100.200"},
		{"192.0.0.192", Metadata, ""},
		{"64:ff9b::192.0.0.192", Metadata, "192.0.0.192"},
		// Unspecified.
		{"0.0.0.0", Unspecified, ""},
		{"0.1.2.3", Unspecified, ""},
		{"::", Unspecified, ""},
		{"::ffff:0.0.0.0", Unspecified, "0.0.0.0"},
		// Multicast, broadcast, reserved.
		{"224.0.0.1", Multicast, ""},
		{"239.255.255.250", Multicast, ""},
		{"255.255.255.255", Multicast, ""},
		{"240.0.0.1", Multicast, ""},
		{"ff02::1", Multicast, ""},
		{"::ffff:255.255.255.255", Multicast, "255.255.255.255"},
		// Loopback.
		{"127.0.0.1", Loopback, ""},
		{"127.8.9.10", Loopback, ""},
		{"::1", Loopback, ""},
		{"::ffff:127.0.0.1", Loopback, "127.0.0.1"},
		{"::127.0.0.1", Loopback, "127.0.0.1"},
		{"64:ff9b::7f00:1", Loopback, "127.0.0.1"},
		{"2002:7f00:1::", Loopback, "127.0.0.1"},
		// Private.
		{"10.1.2.3", Private, ""},
		{"172.16.0.1", Private, ""},
		{"172.31.255.255", Private, ""},
		{"192.168.1.10", Private, ""},
		{"100.64.0.1", Private, ""},
		{"100.127.255.254", Private, ""},
		{"fd12:3456::1", Private, ""},
		{"fc00::1", Private, ""},
		{"fec0::1", Private, ""},
		{"::ffff:10.0.0.1", Private, "10.0.0.1"},
		{"::ffff:0:192.168.0.1", Private, "192.168.0.1"},
		{"64:ff9b::10.0.0.1", Private, "10.0.0.1"},
		{"64:ff9b:1::10.0.0.1", Private, "10.0.0.1"},
		{"2002:c0a8:101::", Private, "192.168.1.1"},
		// Public.
		{"93.184.215.14", Public, ""},
		{"172.32.0.1", Public, ""},
		{"100.128.0.1", Public, ""},
		{"169.253.255.255", Public, ""},
		{"2606:4700::1111", Public, ""},
		{"64:ff9b::8.8.8.8", Public, "8.8.8.8"},
		{"2002:808:808::", Public, "8.8.8.8"},
		{"::ffff:8.8.8.8", Public, "8.8.8.8"},
	} {
		a := netip.MustParseAddr(tc.addr)
		got, at := Classify(a)
		want := tc.at
		if want == "" {
			want = tc.addr
		}
		if got != tc.want || at.String() != want {
			t.Errorf("Classify(%s) = %s, %s; want %s, %s", tc.addr, got, at, tc.want, want)
		}
	}
}

func TestCheck(t *testing.T) {
	allow, err := ParseAllow("10.20.0.0/16, fd12::/16, ::ffff:192.168.7.0/120, 169.254.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	policies := map[string]*Policy{
		"allow":  New(Config{}),
		"admins": New(Config{Private: Admins}),
		"deny":   New(Config{Private: Deny}),
		"deny+":  New(Config{Private: Deny, Allow: allow}),
	}
	// ok lists, for each address, the policies (with the server's
	// decision for the owner: "!" an admin's monitor) that let it through.
	for _, tc := range []struct {
		addr string
		ok   []string
		msg  string // part of the refusal under "allow"
	}{
		{"169.254.169.254:80", nil, "169.254.169.254 is a link-local/cloud metadata address; upwatch never connects to it"},
		{"[::ffff:169.254.169.254]:80", nil, "::ffff:169.254.169.254 (169.254.169.254) is a link-local/cloud metadata address"},
		{"[64:ff9b::a9fe:a9fe]:80", nil, "link-local/cloud metadata"},
		{"[64:ff9b:1::a9fe:a9fe]:80", nil, "link-local/cloud metadata"},
		{"[2002:a9fe:a9fe::]:80", nil, "link-local/cloud metadata"},
		{"[::169.254.169.254]:80", nil, "link-local/cloud metadata"},
		{"[fe80::1%eth0]:80", nil, "link-local/cloud metadata"},
		{"[fd00:ec2::254]:80", nil, "fd00:ec2::254 is a link-local/cloud metadata address"},
		{"100.100.100.200:80", nil, "100.100.100.200 is a link-local/cloud metadata address"},
		{"192.0.0.192:80", nil, "link-local/cloud metadata"},
		{"0.0.0.0:80", nil, "0.0.0.0 is an unspecified address; upwatch never connects to it"},
		{"[::]:80", nil, "unspecified"},
		{"255.255.255.255:80", nil, "multicast/broadcast"},
		{"224.0.0.251:5353", nil, "multicast/broadcast"},
		// Private and loopback follow the mode; EGRESS_ALLOW opens ranges.
		{"127.0.0.1:8080", []string{"allow", "allow!", "admins!"}, ""},
		{"[::1]:8080", []string{"allow", "allow!", "admins!"}, ""},
		{"[::ffff:127.0.0.1]:8080", []string{"allow", "allow!", "admins!"}, ""},
		{"192.168.1.10:80", []string{"allow", "allow!", "admins!"}, ""},
		{"[64:ff9b::c0a8:10a]:80", []string{"allow", "allow!", "admins!"}, ""},
		{"100.64.1.1:80", []string{"allow", "allow!", "admins!"}, ""},
		{"10.20.3.4:80", []string{"allow", "allow!", "admins!", "deny+", "deny+!"}, ""},
		{"[::ffff:10.20.3.4]:80", []string{"allow", "allow!", "admins!", "deny+", "deny+!"}, ""},
		{"192.168.7.9:80", []string{"allow", "allow!", "admins!", "deny+", "deny+!"}, ""},
		{"[fd12::5]:443", []string{"allow", "allow!", "admins!", "deny+", "deny+!"}, ""},
		{"10.21.0.1:80", []string{"allow", "allow!", "admins!"}, ""},
		// Public addresses are never refused.
		{"93.184.215.14:443", []string{"allow", "allow!", "admins", "admins!", "deny", "deny!", "deny+", "deny+!"}, ""},
		{"[2606:4700::1111]:443", []string{"allow", "allow!", "admins", "admins!", "deny", "deny!", "deny+", "deny+!"}, ""},
	} {
		ap := netip.MustParseAddrPort(tc.addr)
		for name, p := range policies {
			for _, admin := range []bool{false, true} {
				key := name
				if admin {
					key += "!"
				}
				want := false
				for _, k := range tc.ok {
					want = want || k == key
				}
				err := p.Check(ap, p.PrivateAllowed(admin))
				if (err == nil) != want {
					t.Errorf("%s under %s: err = %v, want allowed %v", tc.addr, key, err, want)
				}
				var be *BlockedError
				if err != nil && !errors.As(err, &be) {
					t.Errorf("%s under %s: %T is not a *BlockedError", tc.addr, key, err)
				}
				if err != nil && key == "allow" && !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("%s: message %q does not say %q", tc.addr, err, tc.msg)
				}
			}
		}
	}
	// The refusal of a private address says which rule refused it.
	if err := policies["deny"].Check(netip.MustParseAddrPort("10.0.0.1:80"), true); err == nil || !strings.Contains(err.Error(), "10.0.0.1 is a private address") || !strings.Contains(err.Error(), "EGRESS_PRIVATE=deny") {
		t.Errorf("deny: %v", err)
	}
	if err := policies["admins"].Check(netip.MustParseAddrPort("127.0.0.1:80"), false); err == nil || !strings.Contains(err.Error(), "127.0.0.1 is a loopback address") || !strings.Contains(err.Error(), "admin") {
		t.Errorf("admins: %v", err)
	}
	// A worker trusts the server's decision, except that its own deny wins.
	if policies["allow"].Check(netip.MustParseAddrPort("10.0.0.1:80"), false) == nil {
		t.Error("a job the server refused private addresses reached one")
	}
}

func TestSelf(t *testing.T) {
	local := func() ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("192.168.1.5"), netip.MustParseAddr("fd00::5")}, nil
	}
	for _, tc := range []struct {
		self    string
		refused []string
		allowed []string
	}{
		{"0.0.0.0:8080",
			[]string{"127.0.0.1:8080", "127.0.0.2:8080", "[::1]:8080", "192.168.1.5:8080", "[fd00::5]:8080", "[::ffff:127.0.0.1]:8080", "[::ffff:192.168.1.5]:8080"},
			[]string{"127.0.0.1:8081", "192.168.1.6:8080", "93.184.215.14:8080"}},
		{"127.0.0.1:8080",
			[]string{"127.0.0.1:8080", "[::1]:8080", "192.168.1.5:8080"},
			[]string{"192.168.1.6:8080"}},
		{"192.168.1.5:9000",
			[]string{"192.168.1.5:9000", "127.0.0.1:9000"},
			[]string{"192.168.1.5:9001"}},
		{"10.9.9.9:6379", // a Redis elsewhere: that address only
			[]string{"10.9.9.9:6379", "[::ffff:10.9.9.9]:6379"},
			[]string{"127.0.0.1:6379", "10.9.9.8:6379"}},
	} {
		p := New(Config{Self: []netip.AddrPort{netip.MustParseAddrPort(tc.self)}, LocalAddrs: local})
		for _, a := range tc.refused {
			err := p.Check(netip.MustParseAddrPort(a), true)
			if be, ok := AsBlocked(err); !ok || !be.Self || !strings.Contains(err.Error(), "upwatch's own listener") {
				t.Errorf("self %s: %s: %v, want refused as own listener", tc.self, a, err)
			}
		}
		for _, a := range tc.allowed {
			if err := p.Check(netip.MustParseAddrPort(a), true); err != nil {
				t.Errorf("self %s: %s: %v, want allowed", tc.self, a, err)
			}
		}
	}
	// EGRESS_ALLOW never opens the own listeners.
	allow, _ := ParseAllow("0.0.0.0/0, ::/0")
	p := New(Config{Private: Deny, Allow: allow, Self: []netip.AddrPort{netip.MustParseAddrPort("[::]:8080")}, LocalAddrs: local})
	if p.Check(netip.MustParseAddrPort("127.0.0.1:8080"), true) == nil {
		t.Error("EGRESS_ALLOW opened upwatch's own port")
	}
	if p.Check(netip.MustParseAddrPort("169.254.169.254:80"), true) == nil {
		t.Error("EGRESS_ALLOW opened the metadata address")
	}
	if err := p.Check(netip.MustParseAddrPort("127.0.0.1:9090"), false); err != nil {
		t.Errorf("EGRESS_ALLOW 0.0.0.0/0 under deny: %v", err)
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]Mode{"": Allow, "allow": Allow, "ADMINS": Admins, " deny ": Deny} {
		if m, err := ParseMode(in); err != nil || m != want {
			t.Errorf("ParseMode(%q) = %v, %v", in, m, err)
		}
	}
	if _, err := ParseMode("private"); err == nil {
		t.Error("ParseMode took a wrong value")
	}
	ps, err := ParseAllow(" 10.0.0.0/8 ,,192.168.1.7, fd00::/8, ::ffff:172.16.0.0/108 ")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "10.0.0.0/8 192.168.1.7/32 fd00::/8 172.16.0.0/12" {
		t.Errorf("ParseAllow: %v", got)
	}
	for _, bad := range []string{"10.0.0.0/33", "nas.lan", "fe80::/10%eth0"} {
		if _, err := ParseAllow(bad); err == nil {
			t.Errorf("ParseAllow(%q) took it", bad)
		}
	}
}

func TestCheckHost(t *testing.T) {
	p := New(Config{Private: Deny, Self: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:8080")}})
	for host, refused := range map[string]bool{
		"169.254.169.254":          true,
		"[::ffff:169.254.169.254]": true,
		"[fe80::1%eth0]":           true,
		"10.0.0.1":                 true,
		"example.org":              false, // judged when dialled
		"93.184.215.14":            false,
		"metadata.google.internal": false,
	} {
		if err := p.CheckHost(host, 0, false); (err != nil) != refused {
			t.Errorf("CheckHost(%q) = %v, want refused %v", host, err, refused)
		}
	}
}

func TestRefusedLiteral(t *testing.T) {
	for host, want := range map[string]string{
		"169.254.169.254":          "is a link-local/cloud metadata address; upwatch never connects to it",
		"[::ffff:169.254.169.254]": "(169.254.169.254) is a link-local/cloud metadata address; upwatch never connects to it",
		"fe80::1%eth0":             "is a link-local/cloud metadata address; upwatch never connects to it",
		"0.0.0.0":                  "is an unspecified address; upwatch never connects to it",
		"10.0.0.1":                 "",
		"127.0.0.1":                "",
		"metadata.google.internal": "",
		"8.8.8.8":                  "",
	} {
		if got := RefusedLiteral(host); got != want {
			t.Errorf("RefusedLiteral(%q) = %q, want %q", host, got, want)
		}
	}
}

// The dialer refuses before the socket connects: a listener the policy
// refuses (upwatch's own port; loopback under deny) never sees a
// connection, and the error is a *BlockedError.
func TestDialerRefusesBeforeConnecting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	self := ln.Addr().(*net.TCPAddr).AddrPort()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for name, p := range map[string]*Policy{
		"self": New(Config{Self: []netip.AddrPort{netip.AddrPortFrom(netip.IPv6Unspecified(), self.Port())}}),
		"deny": New(Config{Private: Deny}),
	} {
		_, err := p.DialContext(&net.Dialer{Timeout: time.Second}, true)(ctx, "tcp", self.String())
		if be, ok := AsBlocked(err); !ok {
			t.Errorf("%s: dial: %v, want a *BlockedError", name, err)
		} else if !strings.Contains(err.Error(), be.Error()) {
			t.Errorf("%s: %q does not carry %q", name, err, be)
		}
	}
	// Allowed: the same listener without the policy's objections.
	c, err := New(Config{}).DialContext(nil, true)(ctx, "tcp", self.String())
	if err != nil {
		t.Fatalf("allowed dial: %v", err)
	}
	c.Close()
	// A hook the base dialer had still runs for allowed connections.
	var ran atomic.Bool
	base := &net.Dialer{Control: func(string, string, syscall.RawConn) error { ran.Store(true); return nil }}
	if c, err := New(Config{}).Dialer(base, true).DialContext(ctx, "tcp", self.String()); err != nil || !ran.Load() {
		t.Fatalf("base hook: %v, ran %v", err, ran.Load())
	} else {
		c.Close()
	}
	deadline := time.Now().Add(2 * time.Second)
	for accepted.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := accepted.Load(); n != 2 {
		t.Fatalf("the listener accepted %d connections, want 2 (the refused dials must not connect)", n)
	}
}

// FuzzClassify checks that every IPv6 form of an IPv4 address is judged as
// the IPv4 address, that a refused address is never allowed, and that a
// URL's literal host is judged as the dialer would judge it.
//
//	go test -run '^$' -fuzz FuzzClassify -fuzztime 10s ./egress
func FuzzClassify(f *testing.F) {
	for _, s := range []string{
		"169.254.169.254", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a9fe:a9fe",
		"2002:a9fe:a9fe::", "fe80::1%eth0", "fd00:ec2::254", "100.100.100.200", "192.0.0.192",
		"0.0.0.0", "::", "::1", "127.0.0.1", "10.0.0.1", "8.8.8.8", "2606:4700::1111", "255.255.255.255",
		"http://[::ffff:169.254.169.254]/latest/meta-data/", "http://169.254.169.254:80/", "https://example.org/",
		"http://[fe80::1%25en0]:8080/", "http://0x7f.1/", "http://2130706433/", "http://metadata.google.internal/",
	} {
		f.Add(s)
	}
	deny := New(Config{Private: Deny})
	allow := New(Config{})
	f.Fuzz(func(t *testing.T, s string) {
		host := s
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			host = u.Hostname()
		}
		a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
		if err != nil {
			if allow.CheckHost(host, 80, true) != nil {
				t.Fatalf("CheckHost refused a name %q: names are judged when dialled", host)
			}
			return
		}
		class, at := Classify(a)
		if at.Is4In6() || at.Zone() != "" {
			t.Fatalf("Classify(%s) judged %s: not unmapped", a, at)
		}
		ap := netip.AddrPortFrom(a, 443)
		errAllow, errDeny := allow.Check(ap, true), deny.Check(ap, true)
		switch {
		case class.Refused() && (errAllow == nil || errDeny == nil):
			t.Fatalf("%s (%s) was allowed", a, class)
		case class == Public && (errAllow != nil || errDeny != nil):
			t.Fatalf("public %s was refused: %v / %v", a, errAllow, errDeny)
		case (class == Private || class == Loopback) && (errAllow != nil || errDeny == nil):
			t.Fatalf("%s %s: allow %v, deny %v", class, a, errAllow, errDeny)
		}
		if (allow.CheckHost(host, 443, true) == nil) != (errAllow == nil) {
			t.Fatalf("CheckHost(%q) and Check(%s) disagree", host, ap)
		}
		if !at.Is4() {
			return
		}
		// Every IPv6 form of an IPv4 address is judged as it.
		v4 := at.As4()
		forms := map[string]netip.Addr{
			"mapped":     netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]}),
			"translated": netip.AddrFrom16([16]byte{8: 0xff, 9: 0xff, 12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]}),
			"nat64":      netip.AddrFrom16([16]byte{1: 0x64, 2: 0xff, 3: 0x9b, 12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]}),
			"6to4":       netip.AddrFrom16([16]byte{0x20, 0x02, v4[0], v4[1], v4[2], v4[3], 15: 1}),
		}
		if v4 != [4]byte{} && v4 != [4]byte{3: 1} { // :: and ::1 are themselves
			forms["compatible"] = netip.AddrFrom16([16]byte{12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]})
		}
		for name, form := range forms {
			if c, _ := Classify(form); c != classify4(v4) {
				t.Fatalf("%s form %s of %s: %s, want %s", name, form, at, c, classify4(v4))
			}
		}
		// Local-use NAT64 is judged at least as strictly as its /96 reading.
		local := netip.AddrFrom16([16]byte{1: 0x64, 2: 0xff, 3: 0x9b, 5: 1, 12: v4[0], 13: v4[1], 14: v4[2], 15: v4[3]})
		if c, _ := Classify(local); c < classify4(v4) && classify4(v4) != Unspecified {
			t.Fatalf("local NAT64 %s: %s, want at least %s", local, c, classify4(v4))
		}
	})
}

// BenchmarkControl is the hook's cost per dial (the HTTP check's hot path).
func BenchmarkControl(b *testing.B) {
	p := New(Config{Self: []netip.AddrPort{netip.MustParseAddrPort("[::]:8080")}})
	hook := p.Control(true)
	for _, addr := range []string{"127.0.0.1:8081", "[2606:4700::1111]:443", "[64:ff9b:1::a00:1]:80"} {
		b.Run(addr, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := hook(context.Background(), "tcp4", addr, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
