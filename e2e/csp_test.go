package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// cspWatch records the Content-Security-Policy violations a browser
// reports: the console's "Refused to …" messages (Log.entryAdded) and the
// pages' securitypolicyviolation events (read with page()).
type cspWatch struct {
	mu   sync.Mutex
	seen []string
}

// cspListener runs before any page script, in every new document.
const cspListener = `window.__csp = []; document.addEventListener("securitypolicyviolation",
  function (e) { window.__csp.push(e.violatedDirective + " " + e.blockedURI); });`

func watchCSP(t *testing.T, ctx context.Context) *cspWatch {
	t.Helper()
	w := &cspWatch{}
	evs := chromedp.Events(ctx, cdplog.EntryAdded)
	go func() {
		for ev, err := range evs {
			if err != nil {
				return
			}
			if ev.Entry != nil && strings.Contains(ev.Entry.Text, "Content Security Policy") {
				w.mu.Lock()
				w.seen = append(w.seen, ev.Entry.Text)
				w.mu.Unlock()
			}
		}
	}()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspListener}); err != nil {
		t.Fatalf("install the CSP listener: %v", err)
	}
	return w
}

func (w *cspWatch) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.seen)
}

// none fails if the browser reported a violation so far, in the log or in
// the current page.
func (w *cspWatch) none(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	if v := eval[string](t, ctx, `(window.__csp || []).join("; ")`); v != "" {
		t.Errorf("%s: the page reported CSP violations: %s", where, v)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.seen) > 0 {
		t.Errorf("%s: the browser reported CSP violations: %q", where, w.seen)
	}
}

// proves makes the current page break the policy on purpose (an image from
// another origin) and checks the watcher hears of it, so that "none" above
// means something.
func (w *cspWatch) proves(t *testing.T, ctx context.Context) {
	t.Helper()
	eval[bool](t, ctx, `(function () { var i = document.createElement("img"); i.src = "http://192.0.2.1/csp-probe.png";
	  document.body.appendChild(i); return true; })()`)
	deadline := time.Now().Add(5 * time.Second)
	for w.count() == 0 && eval[string](t, ctx, `(window.__csp || []).join("; ")`) == "" {
		if time.Now().After(deadline) {
			t.Fatal("a deliberate CSP violation was not reported: the CSP assertions prove nothing")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
