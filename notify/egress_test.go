package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/upwatch/upwatch/egress"
	"github.com/upwatch/upwatch/store"
)

// Every provider dials through the egress policy with the default client:
// a channel pointing at a metadata address fails with the policy's
// message, before any connection is opened.
func TestProvidersBlocked(t *testing.T) {
	const meta = "http://169.254.169.254/latest/meta-data/iam/security-credentials/role"
	for _, tc := range []struct{ typ, settings string }{
		{TypeWebhook, `{"url":"` + meta + `"}`},
		{TypeSlack, `{"webhook_url":"http://[::ffff:169.254.169.254]/services/T/B/x"}`},
		{TypeDiscord, `{"webhook_url":"http://100.100.100.200/api/webhooks/1/tok"}`},
		{TypeTeams, `{"webhook_url":"http://[fd00:ec2::254]/workflows/x"}`},
		{TypeTelegram, `{"bot_token":"123456:ABCdefGHIjklMNOpqrSTUvwxYZ","chat_id":"1","api_url":"http://[64:ff9b::a9fe:a9fe]"}`},
		{TypeNtfy, `{"server_url":"http://169.254.169.254","topic":"t"}`},
		{TypeGotify, `{"server_url":"http://[2002:a9fe:a9fe::]","app_token":"AbCdEf123456789"}`},
		{TypePushover, `{"user_key":"uQiRzpo4DXghDmr9QzzfQu27cmVRsG","app_token":"azGDORePK8gMaC0QOYAMyEEuzJnyUi","api_url":"http://192.0.0.192/1/messages.json"}`},
		{TypeEmail, `{"host":"169.254.169.254","port":25,"tls":"none","to":["ops@example.com"]}`},
		{TypeEmail, `{"host":"fe80::1","port":587,"tls":"starttls","to":["ops@example.com"]}`},
	} {
		s := mustNew(t, tc.typ, tc.settings, Options{From: "upwatch@example.com"})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := s.Send(ctx, downEvent())
		cancel()
		if _, ok := egress.AsBlocked(err); !ok || !strings.Contains(err.Error(), "is a link-local/cloud metadata address; upwatch never connects to it") {
			t.Errorf("%s %s: %v, want the policy's refusal", tc.typ, tc.settings, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.typ+": ") || strings.Contains(err.Error(), "/latest/") {
			t.Errorf("%s: %q: not the provider's and the policy's words alone", tc.typ, err)
		}
		if retryable(err) {
			t.Errorf("%s: a refusal is retried", tc.typ)
		}
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

	meta := e.channel(t, TypeWebhook, `{"url":"http://169.254.169.254/latest/meta-data/"}`)
	del, err := e.st.EnqueueTest(ctx, e.user.ID, meta.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := d.SendNow(ctx, del)
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
