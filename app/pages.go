package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/settings"
	"github.com/upwatch/upwatch/store"
	"github.com/upwatch/upwatch/views"
)

// flashes are fixed notices chosen by a code in the redirect URL, so no
// user text is ever reflected from the query string.
var flashes = map[string]string{
	"created": "Monitor created — the first check runs now.",
	"updated": "Monitor saved.",
	"paused":  "Monitor paused.",
	"resumed": "Monitor resumed.",
	"deleted": "Monitor deleted.",

	"password":        "Password changed. Your other sessions were signed out.",
	"session-revoked": "Session signed out.",
	"token-revoked":   "API token revoked.",
	"user-created":    "User created.",
	"role-changed":    "Role changed; they sign in again to use it.",
	"user-updated":    "User updated.",

	"channel-created": "Channel added. Use Test to check that it works.",
	"channel-updated": "Channel saved.",
	"channel-deleted": "Channel deleted.",

	"maintenance-created": "Maintenance window added.",
	"maintenance-deleted": "Maintenance window deleted.",

	"worker-token-revoked": "Worker token revoked. Workers using it are cut off within seconds.",
}

func (a *App) page(r *http.Request, title string) views.Page {
	p := views.Page{
		Title:     title,
		UserEmail: userFrom(r.Context()).Email,
		Asset:     a.assets.URL,
		Flash:     flashes[r.URL.Query().Get("m")],
		Now:       a.now(),
		ReadOnly:  userFrom(r.Context()).Role == store.RoleViewer,
	}
	if p.UserEmail != "" { // signed-in pages only: say what is wrong with the instance
		for _, pr := range a.instanceProblems(r.Context()) {
			p.Problems = append(p.Problems, pr.Message)
		}
	}
	return p
}

// render writes a whole page at once, so a rendering error never leaves half
// a page behind.
func (a *App) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		a.log.Error("render failed", "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (a *App) pageError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		if ae = a.storageError(r, err); ae == nil {
			a.log.Error("page failed", "method", r.Method, "path", r.URL.Path, "err", err)
			ae = &apiError{Status: http.StatusInternalServerError, Detail: "Something went wrong on our side. It has been logged."}
		}
	}
	setRetryAfter(w, ae)
	a.render(w, r, ae.Status, views.ErrorPage(a.page(r, http.StatusText(ae.Status)), ae.Status, ae.Detail))
}

func (a *App) notFoundPage(w http.ResponseWriter, r *http.Request) {
	a.pageError(w, r, &apiError{Status: http.StatusNotFound, Detail: "There is no page here."})
}

// --- setup and login ---

func (a *App) setupPage(w http.ResponseWriter, r *http.Request) {
	if n, err := a.st.CountUsers(r.Context()); err != nil {
		a.pageError(w, r, err)
		return
	} else if n > 0 {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	a.render(w, r, http.StatusOK, views.SetupPage(views.AuthForm{Page: a.page(r, "Welcome")}))
}

func (a *App) setupSubmit(w http.ResponseWriter, r *http.Request) {
	email, password := r.PostFormValue("email"), r.PostFormValue("password")
	form := views.AuthForm{Page: a.page(r, "Welcome"), Email: email}
	var u store.User
	err := error(nil)
	if password != r.PostFormValue("password_confirm") {
		err = FieldErrors{{Field: "password_confirm", Message: "does not match the password"}}
	} else {
		u, err = a.signup(r.Context(), email, password)
	}
	var fe FieldErrors
	switch {
	case errors.As(err, &fe):
		form.Errors = fe.Map()
		a.render(w, r, http.StatusUnprocessableEntity, views.SetupPage(form))
		return
	case errors.Is(err, errSignupClosed):
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	case err != nil:
		a.pageError(w, r, err)
		return
	}
	if err := a.startSession(r.Context(), w, r, u); err != nil {
		a.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *App) loginPage(w http.ResponseWriter, r *http.Request) {
	if n, err := a.st.CountUsers(r.Context()); err == nil && n == 0 {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return
	}
	a.render(w, r, http.StatusOK, views.LoginPage(views.AuthForm{Page: a.page(r, "Sign in"), Next: safeNext(r.URL.Query().Get("next"))}))
}

func (a *App) loginSubmit(w http.ResponseWriter, r *http.Request) {
	email, next := r.PostFormValue("email"), safeNext(r.PostFormValue("next"))
	u, err := a.limitedAuthenticate(r, w, email, r.PostFormValue("password"))
	var ae *apiError
	if errors.Is(err, errBadLogin) || (errors.As(err, &ae) && ae.Status == http.StatusTooManyRequests) {
		status, msg := http.StatusUnauthorized, "Wrong email or password."
		if !errors.Is(err, errBadLogin) {
			status, msg = ae.Status, "Too many failed sign-ins. Try again in "+w.Header().Get("Retry-After")+" s."
		}
		a.render(w, r, status, views.LoginPage(views.AuthForm{Page: a.page(r, "Sign in"), Email: email, Next: next, Error: msg}))
		return
	}
	if err == nil {
		err = a.startSession(r.Context(), w, r, u)
	}
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// safeNext keeps post-login redirects on this site: only a local path is
// taken — one "/" then no second "/" or a backslash (which browsers read as
// another host), no control characters (browsers drop tabs and line breaks,
// so "/\t/evil.example" becomes "//evil.example"), no scheme or host, and
// the same again once percent-decoded. Anything else becomes "/".
func safeNext(next string) string {
	if !localPath(next) {
		return "/"
	}
	dec, err := url.PathUnescape(next)
	if err != nil || !localPath(dec) {
		return "/"
	}
	return next
}

func localPath(p string) bool {
	if len(p) == 0 || p[0] != '/' || strings.ContainsRune(p, '\\') {
		return false
	}
	if len(p) > 1 && p[1] == '/' {
		return false
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.Opaque == ""
}

func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	if err := a.endSession(r.Context(), w, r); err != nil {
		a.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// --- monitors ---

func monitorRow(m store.Monitor) views.MonitorRow {
	row := views.MonitorRow{
		ID: m.ID, Name: m.Name, URL: m.URL, Status: m.State.Status, StatusSince: m.State.Since,
		IntervalSeconds: int(m.Interval / time.Second),
	}
	if row.URL == "" { // a kind without a target (push): say what it is
		t, _ := checker.LookupType(m.Type)
		row.URL = t.Label
	}
	if c := m.LastCheck; c != nil {
		row.LastCheckedAt, row.LastLatencyMS, row.LastStatusCode = c.At, ms(c.Latency), c.StatusCode
		row.LastReason, row.LastError = c.Reason, c.Error
	}
	return row
}

const detailChecks = 50

func (a *App) ownedMonitor(r *http.Request) (store.Monitor, error) {
	id, err := pathID(r)
	if err != nil {
		return store.Monitor{}, err
	}
	m, err := a.st.GetMonitor(r.Context(), userFrom(r.Context()).ID, id)
	return m, storeErr(err)
}

func formValues(m store.Monitor) views.MonitorValues {
	var hdr strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m.Headers)) {
		fmt.Fprintf(&hdr, "%s: %s\n", k, m.Headers[k])
	}
	deg := ""
	if m.DegradedLatency > 0 {
		deg = strconv.FormatInt(m.DegradedLatency.Milliseconds(), 10)
	}
	quorum := ""
	if m.Quorum > 0 {
		quorum = strconv.Itoa(m.Quorum)
	}
	return views.MonitorValues{
		DegradedLatencyMS: deg, AlertDegraded: m.AlertDegraded, Regions: strings.Join(m.Regions, ", "), Quorum: quorum,
		Name: m.Name, URL: m.URL, Method: m.Method,
		IntervalSeconds: strconv.Itoa(int(m.Interval / time.Second)),
		TimeoutSeconds:  strconv.Itoa(int(m.Timeout / time.Second)),
		ExpectedStatus:  m.ExpectedStatus, Headers: hdr.String(), Body: m.Body,
		Confirmations:   strconv.Itoa(m.Confirmations),
		FollowRedirects: m.FollowRedirects, VerifyTLS: m.VerifyTLS,
		ReminderMinutes: strconv.Itoa(int(m.ReminderEvery / time.Minute)),
	}
}

// formInput reads the monitor form of a type into the same input the API
// uses, plus the errors of fields that are not even the right type, and
// what was typed in the type's settings fields (to show again).
func formInput(r *http.Request, t checker.Type) (monitorInput, views.MonitorValues, []views.ChannelField, FieldErrors) {
	v := views.MonitorValues{
		Name: r.PostFormValue("name"), URL: r.PostFormValue("url"), Method: r.PostFormValue("method"),
		IntervalSeconds: r.PostFormValue("interval_seconds"), TimeoutSeconds: r.PostFormValue("timeout_seconds"),
		ExpectedStatus: r.PostFormValue("expected_status"), Headers: r.PostFormValue("headers"),
		Body: r.PostFormValue("body"), Confirmations: r.PostFormValue("confirmations"),
		FollowRedirects: r.PostFormValue("follow_redirects") == "on", VerifyTLS: r.PostFormValue("verify_tls") == "on",
		DegradedLatencyMS: r.PostFormValue("degraded_latency_ms"), AlertDegraded: r.PostFormValue("alert_degraded") == "on",
		Regions: r.PostFormValue("regions"), Quorum: r.PostFormValue("quorum"),
	}
	raw, typed, checked, fe := settingsFormInput(r, t.Fields)
	typ := t.Name
	in := monitorInput{Name: &v.Name, Type: &typ, Settings: &raw, AlertDegraded: &v.AlertDegraded}
	if t.Name == checker.TypeHTTP {
		in.URL, in.Method, in.Body = &v.URL, &v.Method, &v.Body
		in.FollowRedirects, in.VerifyTLS = &v.FollowRedirects, &v.VerifyTLS
		if s := strings.TrimSpace(v.ExpectedStatus); s != "" {
			in.ExpectedStatus = &s
		} else {
			def := "200-299"
			in.ExpectedStatus = &def
		}
	}
	intField := func(name, raw string, dst **int) {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			return // default
		}
		n, err := strconv.Atoi(raw)
		if err != nil {
			fe.add(name, "must be a whole number")
			return
		}
		*dst = &n
	}
	intField("interval_seconds", v.IntervalSeconds, &in.IntervalSeconds)
	intField("timeout_seconds", v.TimeoutSeconds, &in.TimeoutSeconds)
	intField("confirmations", v.Confirmations, &in.Confirmations)
	intField("degraded_latency_ms", v.DegradedLatencyMS, &in.DegradedLatencyMS)
	if t.Name != checker.TypePush {
		regions := []string{}
		for _, r := range strings.Split(v.Regions, ",") {
			if r = strings.TrimSpace(r); r != "" {
				regions = append(regions, r)
			}
		}
		in.Regions = &regions
		intField("quorum", v.Quorum, &in.Quorum)
		if strings.TrimSpace(v.Quorum) == "" {
			majority := 0
			in.Quorum = &majority
		}
	}
	if strings.TrimSpace(v.DegradedLatencyMS) == "" {
		off := 0
		in.DegradedLatencyMS = &off
	}
	v.ReminderMinutes = r.PostFormValue("reminder_minutes")
	intField("reminder_minutes", v.ReminderMinutes, &in.ReminderMinutes)
	if r.PostFormValue("channels_present") == "1" {
		ids := []int64{}
		for _, s := range r.PostForm["channels"] {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				fe.add("channels", "names a channel that does not exist")
				continue
			}
			ids = append(ids, id)
		}
		in.Channels = &ids
	}
	in.DependsOn = dependsOnForm(r, &fe)
	if t.Name != checker.TypeHTTP {
		return in, v, settingsFields(t.Fields, nil, typed, checked), fe
	}
	headers := map[string]string{}
	for i, line := range strings.Split(strings.ReplaceAll(v.Headers, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, val, ok := strings.Cut(line, ":")
		if !ok {
			fe.add("headers", "line %d: write it as Name: value", i+1)
			continue
		}
		headers[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	in.Headers = &headers
	return in, v, settingsFields(t.Fields, nil, typed, checked), fe
}

// formPage is the add/edit page; fe (may be empty) marks the fields at fault.
type formPage struct {
	title, action, submit, cancel string
	typ                           checker.Type
	fields                        []views.ChannelField // the type's settings, as stored or typed
	editing                       bool
	id                            int64 // the monitor edited; 0 when adding
}

func (a *App) renderMonitorForm(w http.ResponseWriter, r *http.Request, fp formPage, v views.MonitorValues, fe FieldErrors, checked func(store.Channel) bool) {
	f := views.MonitorForm{Page: a.page(r, fp.title), Action: fp.action, Submit: fp.submit, Cancel: fp.cancel, Values: v,
		Type: fp.typ.Name, TypeLabel: fp.typ.Label, TypeHelp: fp.typ.Help, Settings: fp.fields, Editing: fp.editing}
	chans, err := a.st.ListChannels(r.Context(), userFrom(r.Context()).ID)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	for _, c := range chans {
		ti, _ := typeInfo(c.Type)
		f.Channels = append(f.Channels, views.ChannelOption{ID: c.ID, Name: c.Name, TypeLabel: ti.Label, Enabled: c.Enabled, Checked: checked(c)})
	}
	if err := a.fillDependsOn(r, &f, fp.id); err != nil {
		a.pageError(w, r, err)
		return
	}
	status := http.StatusOK
	if len(fe) > 0 {
		f.Errors, f.FormError, status = fe.Map(), formError(fe), http.StatusUnprocessableEntity
	}
	a.render(w, r, status, views.MonitorFormPage(f))
}

func newForm(t checker.Type) formPage {
	return formPage{title: "Add " + t.Label + " monitor", action: "/monitors", submit: "Add monitor", cancel: "/monitors/new",
		typ: t, fields: settingsFields(t.Fields, nil, nil, nil)}
}

func editForm(m store.Monitor) formPage {
	t, _ := checker.LookupType(m.Type)
	var values map[string]any
	_ = json.Unmarshal(settings.Redact(t.Fields, m.Settings), &values)
	return formPage{title: "Edit " + m.Name, action: fmt.Sprintf("/monitors/%d/edit", m.ID), submit: "Save",
		cancel: fmt.Sprintf("/monitors/%d", m.ID), typ: t, fields: settingsFields(t.Fields, values, nil, nil), editing: true, id: m.ID}
}

// newMonitorPage asks for the kind first, then shows that kind's form.
func (a *App) newMonitorPage(w http.ResponseWriter, r *http.Request) {
	t, ok := checker.LookupType(r.URL.Query().Get("type"))
	if !ok || !r.URL.Query().Has("type") {
		p := views.MonitorTypesPage{Page: a.page(r, "Add a monitor")}
		for _, t := range checker.Types() {
			p.Types = append(p.Types, views.ChannelTypeOption{Type: t.Name, Label: t.Label, Description: t.Help})
		}
		a.render(w, r, http.StatusOK, views.MonitorTypes(p))
		return
	}
	m := newMonitorDefaults(a.defaultIntervalFor(userFrom(r.Context())))
	m.Type = t.Name
	if t.Name == checker.TypePush {
		m.Confirmations = 1
	}
	v := formValues(m)
	v.TimeoutSeconds = "" // blank: follows the interval (10 s at most)
	a.renderMonitorForm(w, r, newForm(t), v, nil, func(c store.Channel) bool { return c.Default })
}

// submitMonitorForm runs the shared validator through save, then either
// re-renders the form with field errors or redirects (Post/Redirect/Get).
func (a *App) submitMonitorForm(w http.ResponseWriter, r *http.Request, fp formPage, base store.Monitor, creating bool,
	save func(monitorInput) (store.Monitor, error), flash string) {
	in, v, typed, fe := formInput(r, fp.typ)
	fp.fields = typed
	// The boxes stay as the user left them.
	ticked := func(c store.Channel) bool { return slices.Contains(r.PostForm["channels"], itoa64(c.ID)) }
	if len(fe) > 0 {
		_, more := applyMonitor(base, in, creating) // report the other fields' problems too
		a.renderMonitorForm(w, r, fp, v, append(fe, more...), ticked)
		return
	}
	m, err := save(in)
	if errors.As(err, &fe) {
		a.renderMonitorForm(w, r, fp, v, fe, ticked)
		return
	}
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/monitors/%d?m=%s", m.ID, flash), http.StatusSeeOther)
}

func (a *App) createMonitorSubmit(w http.ResponseWriter, r *http.Request) {
	t, ok := checker.LookupType(r.PostFormValue("type"))
	if !ok {
		a.pageError(w, r, badRequest("type", "unknown monitor type"))
		return
	}
	a.submitMonitorForm(w, r, newForm(t), newMonitorDefaults(a.cfg.DefaultInterval), true,
		func(in monitorInput) (store.Monitor, error) { return a.createMonitor(r, in) }, "created")
}

func (a *App) editMonitorPage(w http.ResponseWriter, r *http.Request) {
	m, err := a.ownedMonitor(r)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	a.renderMonitorForm(w, r, editForm(m), formValues(m), nil, func(c store.Channel) bool { return slices.Contains(m.Channels, c.ID) })
}

func (a *App) editMonitorSubmit(w http.ResponseWriter, r *http.Request) {
	cur, err := a.ownedMonitor(r)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	a.submitMonitorForm(w, r, editForm(cur), cur, false,
		func(in monitorInput) (store.Monitor, error) { return a.updateMonitor(r, cur.ID, in) }, "updated")
}

func (a *App) pauseSubmit(w http.ResponseWriter, r *http.Request) {
	m, err := a.ownedMonitor(r)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	paused := r.PostFormValue("paused") == "true"
	if _, err := a.updateMonitor(r, m.ID, monitorInput{Paused: &paused}); err != nil {
		a.pageError(w, r, err)
		return
	}
	flash := "resumed"
	if paused {
		flash = "paused"
	}
	http.Redirect(w, r, fmt.Sprintf("/monitors/%d?m=%s", m.ID, flash), http.StatusSeeOther)
}

func (a *App) deleteSubmit(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = a.deleteMonitor(r, id)
	}
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/?m=deleted", http.StatusSeeOther)
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

func msDuration(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
