package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/upwatch/upwatch/egress"
)

// TLS modes for email.
const (
	emailSTARTTLS = "starttls" // plain connect, then STARTTLS (required, never skipped)
	emailTLS      = "tls"      // TLS from the first byte (port 465)
	emailNone     = "none"     // no encryption; AUTH is then refused unless the host is localhost
)

func emailInfo() TypeInfo {
	return TypeInfo{Type: TypeEmail, Label: "Email (SMTP)", Fields: []FieldInfo{
		{Name: "host", Label: "SMTP host", Kind: KindText, Required: true, Destination: true, Help: "e.g. smtp.example.com"},
		{Name: "port", Label: "Port", Kind: KindNumber, Destination: true, Help: "Empty: 587 for STARTTLS, 465 for TLS, 25 for none."},
		{Name: "tls", Label: "Encryption", Kind: KindSelect, Options: []string{emailSTARTTLS, emailTLS, emailNone}, Default: emailSTARTTLS,
			Help: "starttls: upgrade the connection (fails if the server does not offer it); tls: implicit TLS; none: unencrypted, and no login except to localhost."},
		{Name: "username", Label: "Username", Kind: KindText},
		{Name: "password", Label: "Password", Kind: KindPassword, Secret: true},
		{Name: "from", Label: "From", Kind: KindText, Help: "Sender address, e.g. upwatch <alerts@example.com>. Empty: the server's default sender."},
		{Name: "to", Label: "To", Kind: KindList, Required: true, Help: "Recipient addresses."},
	}}
}

type emailConfig struct {
	Host     string   `json:"host"`
	Port     int      `json:"port"`
	TLS      string   `json:"tls"`
	Username string   `json:"username"`
	Password string   `json:"password"`
	From     string   `json:"from"`
	To       []string `json:"to"`
}

type emailSender struct {
	c      emailConfig
	helo   string // EHLO name; "" is the sender's domain
	from   *mail.Address
	to     []*mail.Address
	dial   DialFunc
	tlsCfg *tls.Config
	html   *htmltemplate.Template
}

func newEmail(raw json.RawMessage, opts Options) (Sender, error) {
	var c emailConfig
	errs := decodeSettings(emailInfo(), raw, &c)
	if len(errs) > 0 {
		return nil, errs
	}
	if !validHost(c.Host) {
		errs.Add("host", "must be a host name or IP address")
	} else if msg := egress.RefusedLiteral(c.Host); msg != "" {
		errs.Add("host", "%s", msg)
	}
	if c.TLS == "" {
		c.TLS = emailSTARTTLS
	}
	switch {
	case c.Port == 0 && c.TLS == emailTLS:
		c.Port = 465
	case c.Port == 0 && c.TLS == emailNone:
		c.Port = 25
	case c.Port == 0:
		c.Port = 587
	case c.Port < 1 || c.Port > 65535:
		errs.Add("port", "must be between 1 and 65535")
	}
	if c.Username == "" && c.Password != "" {
		errs.Add("username", "is required with a password")
	}
	if c.Username != "" && c.Password == "" {
		errs.Add("password", "is required with a username")
	}
	s := &emailSender{c: c, dial: opts.dialer(), tlsCfg: opts.TLSConfig, helo: opts.Helo}
	from := c.From
	if from == "" {
		from = opts.From
	}
	if from == "" {
		errs.Add("from", "is required (no default sender is configured)")
	} else if a, err := mail.ParseAddress(from); err != nil || !plausibleAddr(a.Address) {
		errs.Add("from", "must be an email address, e.g. upwatch <alerts@example.com>")
	} else {
		s.from = a
	}
	for i, t := range c.To {
		a, err := mail.ParseAddress(t)
		if err != nil || !plausibleAddr(a.Address) {
			errs.Add("to", "entry %d (%q) is not a valid email address", i+1, clean(t, 60))
			continue
		}
		s.to = append(s.to, a)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	s.html = htmltemplate.Must(htmltemplate.New("email").Parse(emailHTML))
	return s, nil
}

// validHost accepts DNS names and IP literals; nothing that could carry a
// port, a path or spaces into the dial address or the TLS server name.
func validHost(h string) bool {
	if net.ParseIP(strings.Trim(h, "[]")) != nil {
		return true
	}
	return len(h) <= 253 && regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9])?)*\.?$`).MatchString(h)
}

// plausibleAddr rejects what net/mail accepts but an SMTP envelope cannot
// carry (control characters, angle brackets) and addresses without a domain.
func plausibleAddr(a string) bool {
	at := strings.LastIndexByte(a, '@')
	return at > 0 && at < len(a)-1 && !strings.ContainsFunc(a, func(r rune) bool {
		return r < 0x21 || r == 0x7f || r == '<' || r == '>'
	})
}

func (s *emailSender) Send(ctx context.Context, e Event) error {
	m, err := buildMessage(e)
	if err != nil {
		return err
	}
	msg, err := s.compose(m)
	if err != nil {
		return fmt.Errorf("email: compose: %w", err)
	}
	return s.deliver(ctx, msg)
}

const emailHTML = `<!DOCTYPE html>
<html><body style="font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#1f2328">
<h2 style="margin:0 0 12px">{{.Title}}</h2>
{{if .Intro}}<p>{{.Intro}}</p>
{{end}}{{if .Facts}}<table cellpadding="4" style="border-collapse:collapse">
{{range .Facts}}<tr><td style="color:#59636e;vertical-align:top">{{.Label}}</td><td>{{.Value}}</td></tr>
{{end}}</table>
{{end}}{{if .Link}}<p><a href="{{.Link}}">Open in upwatch</a></p>
{{end}}</body></html>
`

// compose builds the RFC 5322 message. Every header value is either ours,
// formatted by net/mail, or cleaned to one line and RFC 2047-encoded: no
// user text can end a header line and start another (Bcc:, Content-Type:…).
func (s *emailSender) compose(m message) ([]byte, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part := func(contentType, content string) error {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {contentType + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return err
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(content)); err != nil {
			return err
		}
		return qp.Close()
	}
	text := m.Title + "\n\n" + m.plain() + "\n\n-- \nSent by upwatch\n"
	if err := part("text/plain", text); err != nil {
		return nil, err
	}
	var h bytes.Buffer
	if err := s.html.Execute(&h, m); err != nil {
		return nil, err
	}
	if err := part("text/html", h.String()); err != nil {
		return nil, err
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}

	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(foldHeader(k+": "+v) + "\r\n") }
	header("From", s.from.String())
	to := make([]string, len(s.to))
	for i, a := range s.to {
		to[i] = a.String()
	}
	// One address per line keeps long lists under SMTP's line limit.
	header("To", strings.Join(to, ",\r\n "))
	header("Subject", encodeHeader(m.Title))
	header("Date", m.At.Format(time.RFC1123Z))
	header("Message-ID", messageID(s.from.Address))
	header("MIME-Version", "1.0")
	// RFC 3834: vacation responders and the like must not answer alerts.
	header("Auto-Submitted", "auto-generated")
	header("X-Upwatch-Event", m.Kind)
	header("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	b.WriteString("\r\n")
	b.Write(body.Bytes())
	return b.Bytes(), nil
}

// heloName is what the client greets with: the configured name (the
// host's FQDN), else the sender's domain — a name with a dot, which strict
// servers want; "localhost" only when there is nothing better.
func (s *emailSender) heloName() string {
	if s.helo != "" {
		return s.helo
	}
	if s.from != nil {
		if at := strings.LastIndexByte(s.from.Address, '@'); at >= 0 && strings.Contains(s.from.Address[at:], ".") {
			return s.from.Address[at+1:]
		}
	}
	return "localhost"
}

// encodeHeader makes one-line text (already cleaned) a valid header value:
// RFC 2047 encoded-words when not plain ASCII, folded between words so long
// titles stay under the line limit.
func encodeHeader(s string) string {
	return strings.ReplaceAll(mime.QEncoding.Encode("utf-8", s), "?= =?", "?=\r\n =?")
}

// maxHeaderLine is RFC 5322's recommended line length.
const maxHeaderLine = 78

// foldHeader folds a header field at spaces so that no line is longer
// than maxHeaderLine where a space allows it (lines already folded are
// folded again only where still too long).
func foldHeader(field string) string {
	var out strings.Builder
	for i, line := range strings.Split(field, "\r\n") {
		if i > 0 {
			out.WriteString("\r\n")
		}
		for len(line) > maxHeaderLine {
			cut := strings.LastIndexByte(line[:maxHeaderLine+1], ' ')
			if cut <= 1 || strings.TrimSpace(line[:cut]) == "" {
				break // one long word: RFC 5322 allows up to 998
			}
			out.WriteString(line[:cut] + "\r\n")
			line = line[cut:] // the space starts the continuation line
		}
		out.WriteString(line)
	}
	return out.String()
}

func messageID(from string) string {
	var r [16]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails on supported platforms
	domain := "upwatch.invalid"
	if at := strings.LastIndexByte(from, '@'); at >= 0 {
		domain = from[at+1:]
	}
	return "<" + hex.EncodeToString(r[:]) + "@" + domain + ">"
}

// deliver runs one SMTP session. The context bounds all of it: the
// connection's deadline follows ctx, and cancellation unblocks any read.
func (s *emailSender) deliver(ctx context.Context, msg []byte) error {
	if _, ok := ctx.Deadline(); !ok {
		// A server that accepts and never answers must not hold a worker forever.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Minute)
		defer cancel()
	}
	fail := func(step string, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return fmt.Errorf("email: %s: %w", step, cerr)
		}
		return fmt.Errorf("email: %s: %w", step, err)
	}
	host := strings.Trim(s.c.Host, "[]")
	addr := net.JoinHostPort(host, strconv.Itoa(s.c.Port))
	raw, err := s.dial(ctx, "tcp", addr)
	if err != nil {
		if b, ok := egress.AsBlocked(err); ok {
			return fmt.Errorf("email: %w", b)
		}
		return fail("connect to "+addr, err)
	}
	defer raw.Close()
	// When ctx is done (it always has a deadline by now), a deadline in the
	// past unblocks any read or write at once. ctx.Err() is set before this
	// runs, so fail reports the context's error rather than an i/o timeout.
	stop := context.AfterFunc(ctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	conn := raw
	if s.c.TLS == emailTLS {
		tc := tls.Client(raw, s.tls(host))
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail("TLS handshake", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fail("greeting", err)
	}
	defer c.Close()
	if err := c.Hello(s.heloName()); err != nil {
		return fail("EHLO", err)
	}
	if s.c.TLS == emailSTARTTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New(`email: the server does not offer STARTTLS; set tls to "tls" (port 465) or "none" (unencrypted)`)
		}
		if err := c.StartTLS(s.tls(host)); err != nil {
			return fail("STARTTLS", err)
		}
	}
	if s.c.Username != "" {
		ok, mechs := c.Extension("AUTH")
		if !ok {
			return errors.New("email: the server does not offer AUTH; remove the username and password or check the port")
		}
		var a smtp.Auth
		switch fields := strings.Fields(strings.ToUpper(mechs)); {
		case slices.Contains(fields, "PLAIN"):
			// net/smtp refuses PLAIN over an unencrypted connection to
			// anything but localhost: a password never crosses the network
			// in clear.
			a = smtp.PlainAuth("", s.c.Username, s.c.Password, host)
		case slices.Contains(fields, "LOGIN"):
			a = &loginAuth{user: s.c.Username, pass: s.c.Password, host: host}
		default:
			return fmt.Errorf("email: the server offers no supported login method (offers %q; supported: PLAIN, LOGIN)", clean(mechs, 80))
		}
		if err := c.Auth(a); err != nil {
			return fail("AUTH", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fail("MAIL FROM", err)
	}
	for _, t := range s.to {
		if err := c.Rcpt(t.Address); err != nil {
			return fail("RCPT TO <"+t.Address+">", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fail("DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fail("DATA", err)
	}
	if err := w.Close(); err != nil {
		return fail("DATA", err)
	}
	// The server has accepted the message; a failed QUIT changes nothing
	// about delivery, so it is not reported as a failed send.
	_ = c.Quit()
	return nil
}

func (s *emailSender) tls(host string) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.tlsCfg != nil {
		cfg = s.tlsCfg.Clone()
	}
	cfg.ServerName = host
	return cfg
}

// loginAuth is the AUTH LOGIN mechanism, which net/smtp lacks and some
// servers (Office 365 among them) offer instead of PLAIN. Like PlainAuth it
// refuses to send a password unencrypted except to localhost.
type loginAuth struct {
	user, pass, host string
}

func (a *loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && server.Name != "localhost" && server.Name != "127.0.0.1" && server.Name != "::1" {
		return "", nil, errors.New("unencrypted connection")
	}
	if server.Name != a.host {
		return "", nil, errors.New("wrong host name")
	}
	return "LOGIN", nil, nil
}

func (a *loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	switch p := strings.ToLower(strings.TrimSpace(string(fromServer))); {
	case strings.HasPrefix(p, "username"):
		return []byte(a.user), nil
	case strings.HasPrefix(p, "password"):
		return []byte(a.pass), nil
	default:
		return nil, fmt.Errorf("unexpected LOGIN challenge %q", clean(p, 40))
	}
}
