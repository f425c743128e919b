package e2e

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/miekg/dns"
)

// TestEveryKindThroughTheForm adds one monitor of each kind through the
// dashboard's forms, each against a real peer on 127.0.0.1, and waits for
// each to be up: what a homelab owner does on the first evening.
func TestEveryKindThroughTheForm(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"healthy","queue":{"depth":3}}`))
	}))
	defer web.Close()
	secure := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer secure.Close()
	resolver := startDNS(t, map[string]string{"nas.home.arpa.": "192.168.1.10"})
	_, webPort, _ := net.SplitHostPort(strings.TrimPrefix(web.URL, "http://"))
	_, tlsPort, _ := net.SplitHostPort(strings.TrimPrefix(secure.URL, "https://"))

	base := startServer(t)
	ctx := newBrowser(t, false)
	dl := watchDialogs(t, ctx)
	do(t, ctx, "setup",
		chromedp.Navigate(base+"/setup"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="password_confirm"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), "owner@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "correct horse battery"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password_confirm"]`), "correct horse battery"),
		chromedp.Submit(chromedp.CSS(`input[name="email"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/monitors/new"]`)),
	)
	do(t, ctx, "kind picker", chromedp.Navigate(base+"/monitors/new"), chromedp.WaitVisible(chromedp.CSS(`a[href="/monitors/new?type=push"]`)))
	screenshot(t, ctx, "kinds-picker")

	type field struct{ name, value string }
	kinds := []struct {
		typ, name string
		fields    []field
		before    []chromedp.Action[chromedp.Void] // clicks before typing
	}{
		{typ: "http", name: "Health JSON", fields: []field{{"url", web.URL + "/health"},
			{"settings.keyword", "healthy"}, {"settings.json_path", "$.queue.depth"}, {"settings.json_value", "100"}},
			before: []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`details.form-more > summary`))}},
		{typ: "tcp", name: "NAS ssh", fields: []field{{"settings.host", "127.0.0.1"}, {"settings.port", webPort}}},
		{typ: "ping", name: "Router", fields: []field{{"settings.host", "127.0.0.1"}}},
		{typ: "dns", name: "Pi-hole", fields: []field{{"settings.name", "nas.home.arpa"}, {"settings.resolver", resolver},
			{"settings.expect", "192.168.1.10"}}},
		// httptest's certificate is its own: the chain cannot verify.
		{typ: "tls", name: "Certificate", fields: []field{{"settings.host", "127.0.0.1"}, {"settings.port", tlsPort}},
			before: []chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`input[name="settings.verify_tls"]`))}},
		{typ: "push", name: "Nightly backup", fields: []field{{"settings.period_seconds", "86400"}, {"settings.grace_seconds", "3600"}}},
	}
	for _, k := range kinds {
		actions := []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(base + "/monitors/new"),
			chromedp.Click(chromedp.CSS(`a[href="/monitors/new?type=` + k.typ + `"]`)),
			chromedp.WaitVisible(chromedp.CSS(`input[name="name"]`)),
		}
		actions = append(actions, k.before...)
		actions = append(actions, chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), k.name))
		for _, f := range k.fields {
			actions = append(actions, chromedp.SendKeys(chromedp.CSS(`[name="`+f.name+`"]`), f.value))
		}
		if k.typ == "http" {
			// A JSON assertion: the queue is short.
			actions = append(actions, chromedp.SetValue(chromedp.CSS(`select[name="settings.json_op"]`), "<"))
		}
		actions = append(actions, chromedp.Submit(chromedp.CSS(`input[name="name"]`)), chromedp.WaitVisible(chromedp.CSS(`main[data-monitor-id]`)))
		do(t, ctx, "add "+k.typ, actions...)

		if k.typ == "push" {
			push := eval[string](t, ctx, `document.getElementById("push-url").value`)
			if !strings.Contains(push, "/ping/") {
				t.Fatalf("push monitor page shows no ping URL: %q", push)
			}
			res, err := http.Post(strings.Replace(push, "localhost", "127.0.0.1", 1), "text/plain", strings.NewReader("12 GB backed up"))
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("ping: %v %v", res, err)
			}
			res.Body.Close()
		}
		waitUp(t, ctx, k.typ)
		screenshot(t, ctx, "kind-"+k.typ)
	}
	if body := eval[string](t, ctx, `document.body.innerText`); !strings.Contains(body, "12 GB backed up") || !strings.Contains(body, "curl -fsS") {
		t.Errorf("push page does not show the body received and the curl line:\n%s", body)
	}
	do(t, ctx, "overview", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`main`)))
	if n := eval[int](t, ctx, `document.querySelectorAll(".pill-up").length`); n < len(kinds) {
		t.Errorf("overview shows %d monitors up, want %d", n, len(kinds))
	}
	screenshot(t, ctx, "kinds-overview")
	noScriptRan(t, ctx, dl)
}

// waitUp waits until the monitor page says up, reloading now and then
// (the live feed updates it too).
func waitUp(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := eval[string](t, ctx, `(document.querySelector("main[data-status]")||{getAttribute:()=>""}).getAttribute("data-status")`)
		if st == "up" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s monitor is %q, not up, after 20 s:\n%s", what, st, eval[string](t, ctx, `document.body.innerText`))
		}
		time.Sleep(500 * time.Millisecond)
		do(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`main`)))
	}
}

// startDNS serves A records over UDP on 127.0.0.1 until the test ends and
// returns its address.
func startDNS(t *testing.T, records map[string]string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		if ip, ok := records[q.Question[0].Name]; ok && q.Question[0].Qtype == dns.TypeA {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
				A: net.ParseIP(ip)})
		} else {
			m.Rcode = dns.RcodeNameError
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}
