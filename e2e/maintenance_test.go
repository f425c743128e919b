package e2e

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestMaintenancePage: a monitor inside a one-off window shows
// maintenance on the overview and the Maintenance page lists the windows;
// the add form reports a fault without JavaScript's help.
func TestMaintenancePage(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer web.Close()
	base := startServer(t)
	tok := apiSignup(t, base)
	var m struct{ ID int64 }
	apiCall(t, "POST", base+"/api/v1/monitors", tok, map[string]any{"name": "Router", "url": web.URL}, &m)
	apiCall(t, "POST", base+"/api/v1/monitors", tok, map[string]any{"name": "NAS", "url": web.URL}, nil)
	now := time.Now().UTC()
	apiCall(t, "POST", base+"/api/v1/maintenance", tok, map[string]any{"title": "Router firmware", "monitors": []int64{m.ID},
		"starts_at": now.Add(-time.Minute), "ends_at": now.Add(time.Hour)}, nil)
	apiCall(t, "POST", base+"/api/v1/maintenance", tok, map[string]any{"title": "Sunday reboot", "monitors": []int64{m.ID},
		"days": []string{"sun"}, "start_time": "01:00", "end_time": "05:00", "timezone": "Europe/Berlin"}, nil)

	for _, dark := range []bool{false, true} {
		ctx := newBrowser(t, dark)
		suffix := ""
		if dark {
			suffix = "-dark"
		}
		do(t, ctx, "login",
			chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(chromedp.CSS(`input[name="email"]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), "k@example.com"),
			chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "long enough"),
			chromedp.Submit(chromedp.CSS(`input[name="email"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#counts`)),
		)
		waitJS(t, ctx, "router in maintenance", `(function () {
			var el = document.querySelector('.summary-maintenance .summary-count');
			return !!el && el.textContent.trim() === "1";
		})()`, 20*time.Second)
		if !dark {
			// The overview is live; a reload shows the stored state too.
			do(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#counts`)))
			got := eval[string](t, ctx, `document.querySelector('li.mon[data-status="maintenance"] .mon-name a').textContent`)
			if got != "Router" {
				t.Errorf("maintenance row %q", got)
			}
		}
		screenshot(t, ctx, "maintenance-overview"+suffix)
		do(t, ctx, "maintenance page", chromedp.Navigate(base+"/maintenance"), chromedp.WaitVisible(chromedp.CSS(`form[action="/maintenance"]`)))
		text := eval[string](t, ctx, `document.querySelector('.maintenance-list').textContent`)
		for _, want := range []string{"Router firmware", "in progress", "Sunday reboot", "Every Sun 01:00–05:00 (Europe/Berlin)"} {
			if !strings.Contains(text, want) {
				t.Errorf("list lacks %q: %s", want, text)
			}
		}
		screenshot(t, ctx, "maintenance-page"+suffix)
		if !dark {
			// Past the browser's own check, as a browser without it would be.
			eval[bool](t, ctx, `(document.querySelector('#title').removeAttribute('required'),
				document.querySelector('#mon-`+strconv.FormatInt(m.ID, 10)+`').checked = true)`)
			eval[bool](t, ctx, `(document.querySelector('form[action="/maintenance"]').submit(), true)`)
			waitJS(t, ctx, "the form again, with the fault", `!!document.querySelector('.field-invalid #title')`, 10*time.Second)
			do(t, ctx, "rendered", chromedp.WaitVisible(chromedp.CSS(`.field-invalid #title`)), chromedp.ScrollIntoView(chromedp.CSS(`#title`)))
			screenshot(t, ctx, "maintenance-form-error")
			id := strconv.FormatInt(m.ID, 10)
			do(t, ctx, "monitor page", chromedp.Navigate(base+"/monitors/"+id), chromedp.WaitVisible(chromedp.CSS(`a[href="/monitors/`+id+`/sla"]`)))
			screenshot(t, ctx, "maintenance-monitor")
			do(t, ctx, "SLA page", chromedp.Click(chromedp.CSS(`a[href="/monitors/`+id+`/sla"]`)), chromedp.WaitVisible(chromedp.CSS(`.sla-figures`)))
			if got := eval[string](t, ctx, `document.querySelector('.sla-figures').textContent`); !strings.Contains(got, "Uptime") || !strings.Contains(got, "%") {
				t.Errorf("SLA figures %q", got)
			}
			screenshot(t, ctx, "sla-page")
		}
	}
}
