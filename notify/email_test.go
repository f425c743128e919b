package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpServer speaks enough SMTP for net/smtp: EHLO/HELO, STARTTLS (when
// configured), AUTH PLAIN and LOGIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT.
type smtpServer struct {
	addr     string
	startTLS *tls.Config // offer STARTTLS with this config
	implicit *tls.Config // TLS from the first byte
	mechs    string      // AUTH mechanisms offered, "" for no AUTH
	user     string      // required credentials when mechs != ""
	pass     string
	hang     bool // accept, never greet
	msgs     chan smtpMsg
	cmds     chan string // every command line, for "was it sent?" checks
}

type smtpMsg struct {
	From  string
	Rcpts []string
	Data  string
	User  string // authenticated user
	TLS   bool
}

func startSMTP(t *testing.T, s *smtpServer) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.msgs = make(chan smtpMsg, 4)
	s.cmds = make(chan string, 64)
	done := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() {
		close(done)
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second)) // bound every session
				if s.hang {
					<-done
					return
				}
				s.serve(c)
			})
		}
	})
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	var msg smtpMsg
	if s.implicit != nil {
		tc := tls.Server(c, s.implicit)
		if tc.Handshake() != nil {
			return
		}
		c, msg.TLS = tc, true
	}
	tp := textproto.NewConn(c)
	reply := func(format string, args ...any) { _ = tp.PrintfLine(format, args...) }
	reply("220 test.local ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		select {
		case s.cmds <- line:
		default:
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			ext := []string{"test.local"}
			if s.startTLS != nil && !msg.TLS {
				ext = append(ext, "STARTTLS")
			}
			if s.mechs != "" {
				ext = append(ext, "AUTH "+s.mechs)
			}
			ext = append(ext, "8BITMIME")
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				reply("250%s%s", sep, e)
			}
		case "STARTTLS":
			if s.startTLS == nil || msg.TLS {
				reply("502 5.5.1 STARTTLS not supported")
				continue
			}
			reply("220 2.0.0 go ahead")
			tc := tls.Server(c, s.startTLS)
			if tc.Handshake() != nil {
				return
			}
			c, tp = tc, textproto.NewConn(tc)
			msg = smtpMsg{TLS: true}
		case "AUTH":
			mech, initial, _ := strings.Cut(arg, " ")
			read := func(challenge string) string {
				reply("334 %s", challenge)
				l, _ := tp.ReadLine()
				b, _ := base64.StdEncoding.DecodeString(l)
				return string(b)
			}
			var user, pass string
			switch strings.ToUpper(mech) {
			case "PLAIN":
				var resp string
				if initial != "" {
					b, _ := base64.StdEncoding.DecodeString(initial)
					resp = string(b)
				} else {
					resp = read("")
				}
				parts := strings.Split(resp, "\x00")
				if len(parts) == 3 {
					user, pass = parts[1], parts[2]
				}
			case "LOGIN":
				user = read(base64.StdEncoding.EncodeToString([]byte("Username:")))
				pass = read(base64.StdEncoding.EncodeToString([]byte("Password:")))
			}
			if s.mechs != "" && strings.Contains(s.mechs, strings.ToUpper(mech)) && user == s.user && pass == s.pass {
				msg.User = user
				reply("235 2.7.0 authenticated")
			} else {
				reply("535 5.7.8 authentication failed")
			}
		case "MAIL":
			if s.mechs != "" && msg.User == "" {
				reply("530 5.7.0 authentication required")
				continue
			}
			msg.From = arg
			reply("250 2.1.0 ok")
		case "RCPT":
			if strings.Contains(arg, "reject") {
				reply("550 5.1.1 no such user")
				continue
			}
			msg.Rcpts = append(msg.Rcpts, arg)
			reply("250 2.1.5 ok")
		case "DATA":
			reply("354 end with <CRLF>.<CRLF>")
			b, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			msg.Data = string(b)
			reply("250 2.0.0 queued")
			s.msgs <- msg
			msg = smtpMsg{TLS: msg.TLS, User: msg.User}
		case "RSET":
			msg = smtpMsg{TLS: msg.TLS, User: msg.User}
			reply("250 2.0.0 ok")
		case "NOOP":
			reply("250 2.0.0 ok")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("500 5.5.2 unknown command")
		}
	}
}

func (s *smtpServer) message(t *testing.T) smtpMsg {
	t.Helper()
	select {
	case m := <-s.msgs:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message received")
		return smtpMsg{}
	}
}

func (s *smtpServer) port() string {
	_, p, _ := net.SplitHostPort(s.addr)
	return p
}

// redirect sends every dial to the test server, so a real-looking host
// name (checked against the TLS certificate and net/smtp's localhost rule)
// still reaches 127.0.0.1.
func (s *smtpServer) redirect(t *testing.T, wantAddr string) DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr != wantAddr {
			t.Errorf("dialled %s, want %s", addr, wantAddr)
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", s.addr)
	}
}

// testCert is a self-signed certificate for smtp.test and 127.0.0.1.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtp.test"},
		DNSNames:              []string{"smtp.test"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// parsed is a received message split into what the tests look at.
type parsed struct {
	header  mail.Header
	subject string
	text    string
	html    string
}

func parseMail(t *testing.T, data string) parsed {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("unparsable message: %v\n%s", err, data)
	}
	var p parsed
	p.header = m.Header
	if p.subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q: %v", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(part)
		switch ct := part.Header.Get("Content-Type"); ct {
		case "text/plain; charset=utf-8":
			p.text = string(b)
		case "text/html; charset=utf-8":
			p.html = string(b)
		default:
			t.Fatalf("unexpected part %q", ct)
		}
	}
	return p
}

func TestEmailPlainWithAuth(t *testing.T) {
	srv := startSMTP(t, &smtpServer{mechs: "PLAIN LOGIN", user: "alerts", pass: "s3cret"})
	s := mustNew(t, TypeEmail, `{"host":"127.0.0.1","port":`+srv.port()+`,"tls":"none","username":"alerts","password":"s3cret",`+
		`"from":"Upwatch Alerts <alerts@example.com>","to":["ops@example.com","Jane Doe <jane@example.org>"]}`, testOptions())
	if err := s.Send(context.Background(), hostileEvent(hostileHeader)); err != nil {
		t.Fatal(err)
	}
	m := srv.message(t)
	if m.User != "alerts" {
		t.Fatalf("authenticated as %q", m.User)
	}
	if m.From != "FROM:<alerts@example.com> BODY=8BITMIME" {
		t.Fatalf("MAIL %q", m.From)
	}
	if want := []string{"TO:<ops@example.com>", "TO:<jane@example.org>"}; !slices.Equal(m.Rcpts, want) {
		t.Fatalf("RCPT %q, want %q (a hostile name must not add a recipient)", m.Rcpts, want)
	}
	p := parseMail(t, m.Data)
	var keys []string
	for k := range p.header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"Auto-Submitted", "Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To", "X-Upwatch-Event"}
	if !slices.Equal(keys, want) {
		t.Fatalf("headers %q, want %q (nothing injected)", keys, want)
	}
	if p.subject != "🔴 DOWN: x Bcc: a@b.c" {
		t.Fatalf("subject %q", p.subject)
	}
	if got := p.header.Get("From"); got != `"Upwatch Alerts" <alerts@example.com>` {
		t.Fatalf("From %q", got)
	}
	to, err := p.header.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Address != "ops@example.com" || to[1].Name != "Jane Doe" {
		t.Fatalf("To %v: %v", to, err)
	}
	if p.header.Get("Date") != "Thu, 02 Jan 2025 15:04:05 +0000" {
		t.Fatalf("Date %q", p.header.Get("Date"))
	}
	// The raw header block has no line starting with Bcc, however decoded.
	head, _, _ := strings.Cut(m.Data, "\n\n")
	for _, l := range strings.Split(head, "\n") {
		if strings.HasPrefix(strings.ToLower(l), "bcc") {
			t.Fatalf("injected header line %q", l)
		}
	}
	wantText := "🔴 DOWN: x Bcc: a@b.c\n\n" + strings.ReplaceAll(downPlain, "\n", "\r\n") + "\r\n\r\n-- \r\nSent by upwatch\r\n"
	if strings.ReplaceAll(p.text, "\r\n", "\n") != strings.ReplaceAll(wantText, "\r\n", "\n") {
		t.Fatalf("text part =\n%q\nwant\n%q", p.text, wantText)
	}
	if !strings.Contains(p.html, `<a href="https://upwatch.example.com/monitors/42">Open in upwatch</a>`) {
		t.Fatalf("html part lacks the link:\n%s", p.html)
	}
}

func TestEmailHTMLIsEscaped(t *testing.T) {
	srv := startSMTP(t, &smtpServer{})
	s := mustNew(t, TypeEmail, `{"host":"127.0.0.1","port":`+srv.port()+`,"tls":"none","to":["ops@example.com"]}`,
		Options{From: "alerts@example.com"})
	e := hostileEvent(hostileChat + ` <img src=x onerror=alert(1)>`)
	e.Link = `javascript:alert(1)`
	if err := s.Send(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	p := parseMail(t, srv.message(t).Data)
	for _, bad := range []string{"</script>", "<img", "<!channel>", "javascript:"} {
		if strings.Contains(p.html, bad) {
			t.Fatalf("html part contains %q:\n%s", bad, p.html)
		}
	}
	if !strings.Contains(p.html, "&lt;/script&gt;") || !strings.Contains(p.text, hostileChat) {
		t.Fatalf("name missing:\nhtml %s\ntext %s", p.html, p.text)
	}
}

func TestEmailStartTLSNotOffered(t *testing.T) {
	srv := startSMTP(t, &smtpServer{})
	s := mustNew(t, TypeEmail, `{"host":"127.0.0.1","port":`+srv.port()+`,"tls":"starttls","from":"a@example.com","to":["ops@example.com"]}`, testOptions())
	err := s.Send(context.Background(), downEvent())
	if err == nil || !strings.Contains(err.Error(), "does not offer STARTTLS") {
		t.Fatalf("err = %v", err)
	}
	select {
	case m := <-srv.msgs:
		t.Fatalf("message sent in clear: %+v", m)
	default:
	}
}

func TestEmailStartTLS(t *testing.T) {
	cert, pool := testCert(t)
	srv := startSMTP(t, &smtpServer{startTLS: &tls.Config{Certificates: []tls.Certificate{cert}}, mechs: "PLAIN", user: "u", pass: "p"})
	opts := Options{Dialer: srv.redirect(t, "smtp.test:587"), TLSConfig: &tls.Config{RootCAs: pool}}
	s := mustNew(t, TypeEmail, `{"host":"smtp.test","username":"u","password":"p","from":"a@example.com","to":["ops@example.com"]}`, opts)
	if err := s.Send(context.Background(), downEvent()); err != nil {
		t.Fatal(err)
	}
	if m := srv.message(t); !m.TLS || m.User != "u" {
		t.Fatalf("message %+v: want TLS and authenticated", m)
	}

	// The certificate must match the host name.
	opts.Dialer = srv.redirect(t, "other.test:587")
	s = mustNew(t, TypeEmail, `{"host":"other.test","from":"a@example.com","to":["ops@example.com"]}`, opts)
	if err := s.Send(context.Background(), downEvent()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate error", err)
	}
}

func TestEmailImplicitTLSWithLogin(t *testing.T) {
	cert, pool := testCert(t)
	srv := startSMTP(t, &smtpServer{implicit: &tls.Config{Certificates: []tls.Certificate{cert}}, mechs: "LOGIN", user: "u", pass: "p"})
	opts := Options{Dialer: srv.redirect(t, "smtp.test:465"), TLSConfig: &tls.Config{RootCAs: pool}}
	s := mustNew(t, TypeEmail, `{"host":"smtp.test","tls":"tls","username":"u","password":"p","from":"a@example.com","to":["ops@example.com"]}`, opts)
	if err := s.Send(context.Background(), upEvent()); err != nil {
		t.Fatal(err)
	}
	m := srv.message(t)
	if !m.TLS || m.User != "u" {
		t.Fatalf("message %+v", m)
	}
	if p := parseMail(t, m.Data); p.subject != "✅ UP: API (down 4m12s)" {
		t.Fatalf("subject %q", p.subject)
	}
}

// With tls "none", a password is never sent to a remote host.
func TestEmailNoPasswordInClear(t *testing.T) {
	for _, mechs := range []string{"PLAIN", "LOGIN"} {
		t.Run(mechs, func(t *testing.T) {
			srv := startSMTP(t, &smtpServer{mechs: mechs, user: "u", pass: "p"})
			opts := Options{Dialer: srv.redirect(t, "smtp.test:25")}
			s := mustNew(t, TypeEmail, `{"host":"smtp.test","tls":"none","username":"u","password":"p","from":"a@example.com","to":["ops@example.com"]}`, opts)
			err := s.Send(context.Background(), downEvent())
			if err == nil || !strings.Contains(err.Error(), "unencrypted connection") {
				t.Fatalf("err = %v", err)
			}
			for {
				select {
				case c := <-srv.cmds:
					if strings.HasPrefix(strings.ToUpper(c), "AUTH") {
						t.Fatalf("client sent %q", c)
					}
					continue
				default:
				}
				break
			}
		})
	}
}

func TestEmailServerErrors(t *testing.T) {
	srv := startSMTP(t, &smtpServer{mechs: "PLAIN", user: "u", pass: "p"})
	base := `"host":"127.0.0.1","port":` + srv.port() + `,"tls":"none","from":"a@example.com"`
	s := mustNew(t, TypeEmail, `{`+base+`,"username":"u","password":"wrong","to":["ops@example.com"]}`, testOptions())
	if err := s.Send(context.Background(), downEvent()); err == nil || !strings.Contains(err.Error(), "535") {
		t.Fatalf("bad password: err = %v", err)
	}
	s = mustNew(t, TypeEmail, `{`+base+`,"username":"u","password":"p","to":["reject@example.com"]}`, testOptions())
	if err := s.Send(context.Background(), downEvent()); err == nil || !strings.Contains(err.Error(), "550") || !strings.Contains(err.Error(), "no such user") {
		t.Fatalf("rejected recipient: err = %v", err)
	}
}

func TestEmailHangingServerHonoursContext(t *testing.T) {
	srv := startSMTP(t, &smtpServer{hang: true})
	s := mustNew(t, TypeEmail, `{"host":"127.0.0.1","port":`+srv.port()+`,"tls":"none","from":"a@example.com","to":["ops@example.com"]}`, testOptions())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Send(ctx, downEvent())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Send took %v", d)
	}

	// Cancellation without a deadline unblocks the session too.
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if err := s.Send(ctx, downEvent()); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestEncodeHeaderFoldsLongSubjects(t *testing.T) {
	h := encodeHeader(clean("🔴 DOWN: "+strings.Repeat("監視", 100), maxName))
	for _, l := range strings.Split(h, "\r\n") {
		if len(l) > 78 {
			t.Fatalf("line of %d bytes: %q", len(l), l)
		}
	}
	// An unfolded, decoded header gives the text back.
	got, err := new(mime.WordDecoder).DecodeHeader(strings.ReplaceAll(h, "\r\n", ""))
	if err != nil || !strings.HasPrefix(got, "🔴 DOWN: 監視監視") {
		t.Fatalf("decoded %q: %v", got, err)
	}
}

// The client greets with a real name (strict servers refuse EHLO
// localhost) and keeps header lines within 78 characters.
func TestEmailGreetingAndHeaderLines(t *testing.T) {
	for _, c := range []struct {
		helo, from, want string
	}{
		{"", "alerts@mail.example.com", "mail.example.com"},
		{"nas.home.example", "alerts@mail.example.com", "nas.home.example"},
		{"", "root@localhost", "localhost"},
	} {
		srv := startSMTP(t, &smtpServer{})
		opts := testOptions()
		opts.Helo = c.helo
		s := mustNew(t, TypeEmail, `{"host":"127.0.0.1","port":`+srv.port()+`,"tls":"none","from":"`+c.from+`","to":["ops@example.com"]}`, opts)
		ev := downEvent()
		ev.Monitor = strings.Repeat("very long monitor name ", 8)
		if err := s.Send(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		m := srv.message(t)
		var greeting string
		for len(srv.cmds) > 0 {
			if cmd := <-srv.cmds; strings.HasPrefix(cmd, "EHLO ") {
				greeting = strings.TrimPrefix(cmd, "EHLO ")
			}
		}
		if greeting != c.want {
			t.Errorf("helo %q from %q: EHLO %q, want %q", c.helo, c.from, greeting, c.want)
		}
		data := strings.ReplaceAll(m.Data, "\r\n", "\n") // the test server hands lines back with \n
		head, _, _ := strings.Cut(data, "\n\n")
		for _, line := range strings.Split(head, "\n") {
			if len(line) > 78 {
				t.Errorf("header line of %d characters: %q", len(line), line)
			}
		}
		if p := parseMail(t, m.Data); !strings.Contains(p.subject, strings.TrimSpace(ev.Monitor)) {
			t.Errorf("subject after folding: %q", p.subject)
		}
	}
}
