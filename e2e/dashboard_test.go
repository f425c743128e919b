package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Names that would run script if any page, tooltip, title or live update
// rendered them as HTML.
const (
	hostileImg    = `<img src=x onerror="window.__pwned='img'">`
	hostileScript = `"><script>window.__pwned='script'</script>`
)

// dialogs answers confirm() dialogs and records any alert/prompt: the
// product never opens one, so one means injected script ran.
type dialogs struct {
	mu     sync.Mutex
	alerts []string
}

func watchDialogs(t *testing.T, ctx context.Context) *dialogs {
	d := &dialogs{}
	evs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range evs {
			if err != nil {
				return
			}
			accept := ev.Type == page.DialogTypeConfirm
			if !accept {
				d.mu.Lock()
				d.alerts = append(d.alerts, string(ev.Type)+": "+ev.Message)
				d.mu.Unlock()
			}
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
		}
	}()
	return d
}

func (d *dialogs) check(t *testing.T) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.alerts) > 0 {
		t.Fatalf("a page opened dialogs (injected script ran): %v", d.alerts)
	}
}

func noScriptRan(t *testing.T, ctx context.Context, d *dialogs) {
	t.Helper()
	if v := eval[string](t, ctx, `String(window.__pwned || "")`); v != "" {
		t.Fatalf("script from a monitor name ran: %s", v)
	}
	d.check(t)
}

func TestDashboardFlow(t *testing.T) {
	var failing atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "maintenance in progress", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer target.Close()
	base := startServer(t)
	ctx := newBrowser(t, false)
	dl := watchDialogs(t, ctx)
	csp := watchCSP(t, ctx)

	// First run: the overview sends a new user to setup.
	do(t, ctx, "open", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`input[name="password_confirm"]`)))
	screenshot(t, ctx, "setup-light")
	do(t, ctx, "setup",
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), "owner@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "correct horse battery"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password_confirm"]`), "correct horse battery"),
		chromedp.Submit(chromedp.CSS(`input[name="email"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/monitors/new"]`)),
	)

	// A monitor with a hostile name that is quietly healthy, so every page
	// below renders it.
	addMonitor(t, ctx, base, hostileImg, target.URL+"/hostile")
	addMonitor(t, ctx, base, hostileScript, target.URL+"/hostile2")

	// Add the real one via the form: a bad URL first shows a field error.
	do(t, ctx, "new form", chromedp.Navigate(base+"/monitors/new?type=http"), chromedp.WaitVisible(chromedp.CSS(`input[name="url"]`)))
	do(t, ctx, "bad url",
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "Home NAS"),
		chromedp.SendKeys(chromedp.CSS(`input[name="url"]`), "javascript:alert(1)"),
		chromedp.Submit(chromedp.CSS(`input[name="name"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="url"][aria-invalid="true"]`)),
	)
	if msg := eval[string](t, ctx, `document.body.innerText`); !strings.Contains(msg, "must start with http") {
		t.Fatalf("no field error for the URL:\n%s", msg)
	}
	screenshot(t, ctx, "form-errors-light")
	do(t, ctx, "good url",
		chromedp.SetValue(chromedp.CSS(`input[name="url"]`), target.URL+"/"),
		chromedp.SetValue(chromedp.CSS(`input[name="interval_seconds"]`), "1"),
		chromedp.Submit(chromedp.CSS(`input[name="name"]`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-monitor-id]`)),
	)
	id := eval[string](t, ctx, `document.querySelector("main[data-monitor-id]").dataset.monitorId`)

	// The overview: the monitor turns UP without a reload.
	do(t, ctx, "overview", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-monitor-id="`+id+`"]`)))
	eval[bool](t, ctx, `window.__sameDocument = true`)
	row := `document.querySelector('[data-monitor-id="` + id + `"]')`
	waitJS(t, ctx, "monitor up on the overview", row+`.dataset.status === "up"`, 15*time.Second)
	waitJS(t, ctx, "latency shown", row+`.querySelector('[data-field="latency"]').textContent.includes("ms")`, 5*time.Second)
	if !eval[bool](t, ctx, `window.__sameDocument === true`) {
		t.Fatal("the overview reloaded instead of updating live")
	}
	noScriptRan(t, ctx, dl)
	csp.none(t, ctx, "overview (live updates)")
	screenshot(t, ctx, "overview-light")

	// The monitor page: the target fails, the page turns DOWN live and an
	// incident appears.
	do(t, ctx, "monitor page", chromedp.Navigate(base+"/monitors/"+id), chromedp.WaitVisible(chromedp.CSS(`main[data-monitor-id]`)))
	eval[bool](t, ctx, `window.__sameDocument = true`)
	waitJS(t, ctx, "monitor page up", `document.querySelector("main").dataset.status === "up"`, 10*time.Second)
	failing.Store(true)
	waitJS(t, ctx, "monitor page down", `document.querySelector("main").dataset.status === "down"`, 15*time.Second)
	waitJS(t, ctx, "incident listed", `document.querySelectorAll("#incidents [data-incident-id]").length > 0`, 10*time.Second)
	if !eval[bool](t, ctx, `window.__sameDocument === true`) {
		t.Fatal("the monitor page reloaded instead of updating live")
	}
	if text := eval[string](t, ctx, `document.querySelector("#incidents").innerText`); !strings.Contains(text, "503") {
		t.Errorf("incident does not show the status code:\n%s", text)
	}
	csp.none(t, ctx, "monitor page (live updates)")
	screenshot(t, ctx, "monitor-down-light")

	// Pause, then delete (confirming the dialog).
	do(t, ctx, "pause", chromedp.Click(chromedp.CSS(`form[action$="/pause"] button`)))
	// The page reached after the redirect, not the old one that the live
	// feed may already have marked paused: clicking a node of a page being
	// replaced fails.
	waitJS(t, ctx, "paused", `location.search.includes("m=paused") && document.readyState === "complete" && document.querySelector("main") && document.querySelector("main").dataset.status === "paused"`, 10*time.Second)
	do(t, ctx, "delete", chromedp.WaitVisible(chromedp.CSS(`form[action$="/delete"] button`)), chromedp.Click(chromedp.CSS(`form[action$="/delete"] button`)))
	waitJS(t, ctx, "back on the overview", `location.pathname === "/"`, 10*time.Second)
	if n := eval[int](t, ctx, `document.querySelectorAll('[data-monitor-id="`+id+`"]').length`); n != 0 {
		t.Fatalf("deleted monitor still listed")
	}

	do(t, ctx, "settings", chromedp.Navigate(base+"/settings"), chromedp.WaitVisible(chromedp.CSS(`input[name="current_password"]`)))
	screenshot(t, ctx, "settings-light")
	noScriptRan(t, ctx, dl)

	// An alert channel through the pages: a webhook to a local receiver,
	// tested from its page.
	var hooks atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hooks.Add(1) }))
	defer hook.Close()
	do(t, ctx, "channel types", chromedp.Navigate(base+"/channels/new"), chromedp.WaitVisible(chromedp.CSS(`a[href="/channels/new?type=webhook"]`)))
	screenshot(t, ctx, "channel-types-light")
	do(t, ctx, "add channel",
		chromedp.Click(chromedp.CSS(`a[href="/channels/new?type=webhook"]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="settings.url"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), hostileImg),
		chromedp.SendKeys(chromedp.CSS(`input[name="settings.url"]`), hook.URL+"/alerts"),
		chromedp.Submit(chromedp.CSS(`input[name="name"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/test"] button`)),
		chromedp.Click(chromedp.CSS(`form[action$="/test"] button`)),
	)
	waitJS(t, ctx, "test result shown", `document.body.innerText.includes(" ms")`, 10*time.Second)
	if hooks.Load() != 1 {
		t.Fatalf("the receiver got %d test messages, want 1", hooks.Load())
	}
	screenshot(t, ctx, "channel-light")
	do(t, ctx, "channels", chromedp.Navigate(base+"/channels"), chromedp.WaitVisible(chromedp.CSS(`a[href="/channels/new"]`)))
	screenshot(t, ctx, "channels-light")
	noScriptRan(t, ctx, dl)
	csp.none(t, ctx, "settings, channel pages, confirm dialogs")
	csp.proves(t, ctx)

	// The same pages in dark mode, signed in from a second browser.
	dark := newBrowser(t, true)
	ddl := watchDialogs(t, dark)
	do(t, dark, "login",
		chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), "owner@example.com"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "correct horse battery"),
		chromedp.Submit(chromedp.CSS(`input[name="email"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-monitor-id]`)),
	)
	screenshot(t, dark, "overview-dark")
	hid := eval[string](t, dark, `document.querySelector("[data-monitor-id]").dataset.monitorId`)
	do(t, dark, "dark monitor", chromedp.Navigate(base+"/monitors/"+hid), chromedp.WaitVisible(chromedp.CSS(`main[data-monitor-id]`)))
	screenshot(t, dark, "monitor-dark")
	do(t, dark, "dark form", chromedp.Navigate(base+"/monitors/new?type=http"), chromedp.WaitVisible(chromedp.CSS(`input[name="url"]`)))
	screenshot(t, dark, "form-dark")
	do(t, dark, "dark settings", chromedp.Navigate(base+"/settings"), chromedp.WaitVisible(chromedp.CSS(`input[name="current_password"]`)))
	screenshot(t, dark, "settings-dark")
	do(t, dark, "dark channels", chromedp.Navigate(base+"/channels"), chromedp.WaitVisible(chromedp.CSS(`a[href="/channels/new"]`)))
	screenshot(t, dark, "channels-dark")
	noScriptRan(t, dark, ddl)

	// A phone-sized overview.
	do(t, dark, "phone", chromedp.EmulateViewport(375, 800), chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-monitor-id]`)))
	screenshot(t, dark, "overview-phone-dark")
	if w := eval[int](t, dark, `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("overview is %d px wide on a 375 px phone (horizontal scrolling)", w)
	}
}

// addMonitor creates a monitor through the form.
func addMonitor(t *testing.T, ctx context.Context, base, name, url string) {
	t.Helper()
	do(t, ctx, "add "+name,
		chromedp.Navigate(base+"/monitors/new?type=http"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="url"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), name),
		chromedp.SendKeys(chromedp.CSS(`input[name="url"]`), url),
		chromedp.Submit(chromedp.CSS(`input[name="name"]`)),
		chromedp.WaitVisible(chromedp.CSS(`main[data-monitor-id]`)),
	)
}
