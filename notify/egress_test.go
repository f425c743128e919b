package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upwatch/upwatch/egress"
	"github.com/upwatch/upwatch/store"
)

// Every provider dials through the egress policy with the default client:
// a channel whose receiver redirects to a metadata address (a literal one
// is refused when the channel is saved) fails at the hop with the policy's
// message, before any connection to it is opened.
func TestProvidersBlocked(t *testing.T) {
	var to atomic.Value
	redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to.Load().(string), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redir.Close)
	u := redir.URL
	for _, tc := range []struct{ typ, settings, to string }{
		{TypeWebhook, `{"url":"` + u + `/hook"}`, "http://169.254.169.254/latest/meta-data/iam/security-credentials/role"},
		{TypeSlack, `{"webhook_url":"` + u + `/services/T/B/x"}`, "http://[::ffff:169.254.169.254]/services/T/B/x"},
		{TypeDiscord, `{"webhook_url":"` + u + `/api/webhooks/1/tok"}`, "http://100.100.100.200/api/webhooks/1/tok"},
		{TypeTeams, `{"webhook_url":"` + u + `/workflows/x"}`, "http://[fd00:ec2::254]/workflows/x"},
		{TypeTelegram, `{"bot_token":"123456:ABCdefGHIjklMNOpqrSTUvwxYZ","chat_id":"1","api_url":"` + u + `"}`, "http://[64:ff9b::a9fe:a9fe]/x"},
		{TypeNtfy, `{"server_url":"` + u + `","topic":"t"}`, "http://169.254.169.254/t"},
		{TypeGotify, `{"server_url":"` + u + `","app_token":"AbCdEf123456789"}`, "http://[2002:a9fe:a9fe::]/message"},
		{TypePushover, `{"user_key":"uQiRzpo4DXghDmr9QzzfQu27cmVRsG","app_token":"azGDORePK8gMaC0QOYAMyEEuzJnyUi","api_url":"` + u + `/1/messages.json"}`, "http://192.0.0.192/1/messages.json"},
	} {
		to.Store(tc.to)
		s := mustNew(t, tc.typ, tc.settings, Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := s.Send(ctx, downEvent())
		cancel()
		if _, ok := egress.AsBlocked(err); !ok || !strings.Contains(err.Error(), "is a link-local/cloud metadata address; upwatch never connects to it") {
			t.Errorf("%s redirected to %s: %v, want the policy's refusal", tc.typ, tc.to, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.typ+": ") || strings.Contains(err.Error(), "http") || strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("%s: %q: not the provider's and the policy's words alone", tc.typ, err)
		}
		if retryable(err) {
			t.Errorf("%s: a refusal is retried", tc.typ)
		}
	}
}

// A literal always-refused address is refused when the channel is saved,
// naming the field.
func TestChannelValidationRefusesMetadata(t *testing.T) {
	for _, tc := range []struct{ typ, settings, field string }{
		{TypeWebhook, `{"url":"http://169.254.169.254/latest/meta-data/"}`, "url"},
		{TypeSlack, `{"webhook_url":"http://[::ffff:169.254.169.254]/x"}`, "webhook_url"},
		{TypeNtfy, `{"server_url":"http://[fd00:ec2::254]","topic":"t"}`, "server_url"},
		{TypeEmail, `{"host":"169.254.169.254","port":25,"tls":"none","to":["ops@example.com"]}`, "host"},
		{TypeEmail, `{"host":"[fe80::1]","port":25,"tls":"none","to":["ops@example.com"]}`, "host"},
	} {
		_, err := New(tc.typ, json.RawMessage(tc.settings), Options{From: "upwatch@example.com"})
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(fe.Message, "link-local/cloud metadata") {
			t.Errorf("%s %s: %v, want a field error on %s", tc.typ, tc.settings, err, tc.field)
		}
	}
}

// SMTP dials through the policy too: a loopback mail server under deny is
// never connected to.
func TestEmailBlocked(t *testing.T) {
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
	port := ln.Addr().(*net.TCPAddr).Port
	s := mustNew(t, TypeEmail, fmt.Sprintf(`{"host":"127.0.0.1","port":%d,"tls":"none","to":["ops@example.com"]}`, port),
		Options{From: "upwatch@example.com", Egress: egress.New(egress.Config{Private: egress.Deny})})
	err = s.Send(context.Background(), downEvent())
	if _, ok := egress.AsBlocked(err); !ok || err.Error() != "email: 127.0.0.1 is a loopback address; this instance does not connect to private or loopback addresses (EGRESS_PRIVATE=deny)" {
		t.Fatalf("email under deny: %v", err)
	}
	if accepted.Load() != 0 {
		t.Fatal("a refused SMTP dial connected")
	}
}

// A redirect from an allowed receiver to a refused address is refused at
// the hop; upwatch's own port and, under deny, loopback receivers are
// refused without a connection.
func TestWebhookPolicy(t *testing.T) {
	redir := httptestRedirect(t, "http://[::ffff:169.254.169.254]/latest/meta-data/")
	s := mustNew(t, TypeWebhook, `{"url":"`+redir+`"}`, Options{})
	if err := s.Send(context.Background(), downEvent()); err == nil || !strings.Contains(err.Error(), "169.254.169.254 is a link-local/cloud metadata address") {
		t.Errorf("redirect to metadata: %v", err)
	}

	srv, got := receiver(t, http.StatusOK, "")
	port := netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "http://")).Port()
	for name, opts := range map[string]Options{
		"self": {Egress: egress.New(egress.Config{Self: []netip.AddrPort{netip.AddrPortFrom(netip.IPv6Unspecified(), port)}})},
		"deny": {Egress: egress.New(egress.Config{Private: egress.Deny})},
		"job":  {DenyPrivate: true}, // the owner may not reach private addresses
	} {
		err := mustNew(t, TypeWebhook, `{"url":"`+srv.URL+`/hook"}`, opts).Send(context.Background(), downEvent())
		if _, ok := egress.AsBlocked(err); !ok || !strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("%s: %v", name, err)
		}
	}
	select {
	case c := <-got:
		t.Fatalf("a refused send reached the receiver: %+v", c)
	default:
	}
	if err := mustNew(t, TypeWebhook, `{"url":"`+srv.URL+`/hook"}`, Options{}).Send(context.Background(), downEvent()); err != nil {
		t.Fatalf("allowed by default: %v", err)
	}
	<-got
}

func httptestRedirect(t *testing.T, to string) string {
	t.Helper()
	srv := httptest.NewServer(http.RedirectHandler(to, http.StatusTemporaryRedirect))
	t.Cleanup(srv.Close)
	return srv.URL + "/hook"
}

// The channel test button (SendNow) reports the policy's message, and
// under EGRESS_PRIVATE=admins a user's channel may not reach a loopback
// receiver while an admin's may.
func TestSendNowBlocked(t *testing.T) {
	e := newDispEnv(t, nil)
	ctx := context.Background()
	pol := egress.New(egress.Config{Private: egress.Admins})
	d := NewDispatcher(e.st, DispatchConfig{Options: Options{Egress: pol}})

	meta := e.channel(t, TypeWebhook, `{"url":"`+httptestRedirect(t, "http://169.254.169.254/latest/meta-data/")+`"}`)
	del, err := e.st.EnqueueTest(ctx, e.user.ID, meta.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Through a receiver on loopback, which the default policy allows.
	a := NewDispatcher(e.st, DispatchConfig{}).SendNow(ctx, del)
	if a.OK || a.Error != "webhook: 169.254.169.254 is a link-local/cloud metadata address; upwatch never connects to it" {
		t.Errorf("test to metadata: %+v", a)
	}

	srv, got := receiver(t, http.StatusOK, "")
	local := e.channel(t, TypeWebhook, `{"url":"`+srv.URL+`/hook"}`)
	del, err = e.st.EnqueueTest(ctx, e.user.ID, local.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := d.SendNow(ctx, del); a.OK || !strings.Contains(a.Error, "127.0.0.1 is a loopback address") || !strings.Contains(a.Error, "EGRESS_PRIVATE=admins") {
		t.Errorf("user's test to loopback under admins: %+v", a)
	}
	select {
	case c := <-got:
		t.Fatalf("a refused send reached the receiver: %+v", c)
	default:
	}

	admin, err := e.st.CreateUser(ctx, "root@example.com", "h", true)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := e.st.CreateChannel(ctx, store.Channel{UserID: admin.ID, Name: "hook", Type: TypeWebhook,
		Settings: json.RawMessage(`{"url":"` + srv.URL + `/hook"}`), Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	del, err = e.st.EnqueueTest(ctx, admin.ID, ac.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := d.SendNow(ctx, del); !a.OK {
		t.Errorf("admin's test to loopback under admins: %+v", a)
	}
	<-got
}
