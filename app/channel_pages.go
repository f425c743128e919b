package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/upwatch/upwatch/notify"
	"github.com/upwatch/upwatch/store"
	"github.com/upwatch/upwatch/views"
)

// typeDescriptions are the provider cards' one-liners.
var typeDescriptions = map[string]string{
	notify.TypeEmail:    "Mail through your SMTP server.",
	notify.TypeSlack:    "A message in a channel, through an incoming webhook.",
	notify.TypeDiscord:  "A message in a channel, through a webhook.",
	notify.TypeTelegram: "A message from your bot to a chat or channel.",
	notify.TypeNtfy:     "A push notification through ntfy.sh or your own server.",
	notify.TypeGotify:   "A push notification through your Gotify server.",
	notify.TypePushover: "A push notification to your phones.",
	notify.TypeTeams:    "A card in a Teams channel, through a Workflows webhook.",
	notify.TypeWebhook:  "A JSON POST to any URL, or a body of your own.",
}

func typeInfo(typ string) (notify.TypeInfo, bool) {
	for _, t := range notify.Types() {
		if t.Type == typ {
			return t, true
		}
	}
	return notify.TypeInfo{}, false
}

// channelTarget describes where a channel sends, from redacted settings.
func channelTarget(typ string, redacted json.RawMessage) string {
	var s map[string]any
	_ = json.Unmarshal(redacted, &s)
	switch {
	case typ == notify.TypeEmail:
		if to, ok := s["to"].([]any); ok {
			parts := make([]string, len(to))
			for i, x := range to {
				parts[i] = fmt.Sprint(x)
			}
			return strings.Join(parts, ", ")
		}
	case s["topic"] != nil:
		return fmt.Sprint(s["topic"])
	case s["chat_id"] != nil:
		return "chat " + fmt.Sprint(s["chat_id"])
	}
	for _, k := range []string{"webhook_url", "url", "server_url"} {
		if v, ok := s[k].(string); ok {
			if u, err := url.Parse(v); err == nil && u.Host != "" {
				return u.Host
			}
		}
	}
	return ""
}

func (a *App) channelRow(r *http.Request, c store.Channel) views.ChannelRow {
	red, _ := notify.Redact(c.Type, c.Settings)
	ti, _ := typeInfo(c.Type)
	row := views.ChannelRow{ID: c.ID, Name: c.Name, Type: c.Type, TypeLabel: ti.Label, Enabled: c.Enabled, Default: c.Default,
		Target: channelTarget(c.Type, red)}
	if ds, err := a.st.ListDeliveries(r.Context(), c.UserID, c.ID, 1); err == nil && len(ds) > 0 {
		row.LastStatus, row.LastAt, row.LastError = ds[0].Status, ds[0].CreatedAt, ds[0].LastError
		if !ds[0].SentAt.IsZero() {
			row.LastAt = ds[0].SentAt
		}
	}
	return row
}

func (a *App) channelsPage(w http.ResponseWriter, r *http.Request) {
	list, next, err := a.st.ChannelsPage(r.Context(), userFrom(r.Context()).ID,
		store.Page{Limit: 100, After: a.pageCursor(r, "cursor", "page-channels")})
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	p := views.ChannelsPage{Page: a.page(r, "Alerts"), Pager: a.pager(r, "/channels", "", "cursor", "page-channels", next)}
	for _, c := range list {
		p.Channels = append(p.Channels, a.channelRow(r, c))
	}
	a.render(w, r, http.StatusOK, views.ChannelsList(p))
}

// channelFormInput reads the channel form into the API's input, and the
// raw values to show again on an error.
func channelFormInput(r *http.Request, ti notify.TypeInfo) (channelInput, map[string]string, map[string]bool, FieldErrors) {
	rm, typed, checked, fe := settingsFormInput(r, ti.Fields)
	name, typ := r.PostFormValue("name"), ti.Type
	enabled, def := r.PostFormValue("enabled") == "on", r.PostFormValue("default") == "on"
	return channelInput{Name: &name, Type: &typ, Settings: &rm, Enabled: &enabled, Default: &def}, typed, checked, fe
}

func (a *App) newChannelPage(w http.ResponseWriter, r *http.Request) {
	typ := r.URL.Query().Get("type")
	ti, ok := typeInfo(typ)
	if !ok {
		p := views.ChannelTypesPage{Page: a.page(r, "Add a channel")}
		for _, t := range notify.Types() {
			p.Types = append(p.Types, views.ChannelTypeOption{Type: t.Type, Label: t.Label, Description: typeDescriptions[t.Type]})
		}
		a.render(w, r, http.StatusOK, views.ChannelTypes(p))
		return
	}
	f := views.ChannelForm{Page: a.page(r, "Add "+ti.Label), Action: "/channels", Submit: "Add channel", Cancel: "/channels/new",
		Type: ti.Type, TypeLabel: ti.Label, Enabled: true, Fields: settingsFields(ti.Fields, nil, nil, nil)}
	a.render(w, r, http.StatusOK, views.ChannelFormPage(f))
}

// renderChannelForm shows the form again with what was typed and the errors.
func (a *App) renderChannelForm(w http.ResponseWriter, r *http.Request, f views.ChannelForm, err error) {
	var fe FieldErrors
	if !errors.As(err, &fe) {
		a.pageError(w, r, err)
		return
	}
	f.Errors, f.FormError = fe.Map(), formError(fe)
	a.render(w, r, http.StatusUnprocessableEntity, views.ChannelFormPage(f))
}

func (a *App) createChannelSubmit(w http.ResponseWriter, r *http.Request) {
	ti, ok := typeInfo(r.PostFormValue("type"))
	if !ok {
		a.pageError(w, r, badRequest("type", "unknown channel type"))
		return
	}
	in, typed, checked, fe := channelFormInput(r, ti)
	f := views.ChannelForm{Page: a.page(r, "Add "+ti.Label), Action: "/channels", Submit: "Add channel", Cancel: "/channels/new",
		Type: ti.Type, TypeLabel: ti.Label, Name: *in.Name, Enabled: *in.Enabled, Default: *in.Default,
		Fields: settingsFields(ti.Fields, nil, typed, checked)}
	if len(fe) > 0 {
		a.renderChannelForm(w, r, f, fe)
		return
	}
	c, err := applyChannel(store.Channel{UserID: userFrom(r.Context()).ID}, in, true, a.notifyOptions())
	if err == nil {
		c, err = a.st.CreateChannel(r.Context(), c)
		err = quotaFields(err)
	}
	if err != nil {
		a.renderChannelForm(w, r, f, err)
		return
	}
	http.Redirect(w, r, "/channels/"+itoa64(c.ID)+"?m=channel-created", http.StatusSeeOther)
}

func (a *App) channelPage(w http.ResponseWriter, r *http.Request) {
	a.renderChannelDetail(w, r, http.StatusOK, nil)
}

func (a *App) renderChannelDetail(w http.ResponseWriter, r *http.Request, status int, test *views.TestResult) {
	c, err := a.ownedChannel(r)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	p := views.ChannelDetail{Page: a.page(r, c.Name), Channel: a.channelRow(r, c), Test: test}
	list := "page-deliveries:" + itoa64(c.ID)
	ds, next, err := a.deliveriesPage(r, c.UserID, c.ID, store.Page{Limit: 50, After: a.pageCursor(r, "deliveries", list)})
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	p.DeliveriesPager = a.pager(r, "/channels/"+itoa64(c.ID), "", "deliveries", list, next)
	for _, d := range ds {
		row := views.DeliveryRow{ID: d.ID, Kind: d.Kind, Status: d.Status, Monitor: d.Monitor, MonitorID: d.MonitorID,
			CreatedAt: d.CreatedAt, Attempts: d.Attempts, LastError: d.LastError}
		if d.SentAt != nil {
			row.SentAt = *d.SentAt
		}
		for _, at := range d.Log {
			row.Log = append(row.Log, views.AttemptRow{At: at.At, OK: at.OK, Error: at.Error, Duration: msDuration(at.DurationMS)})
		}
		p.Deliveries = append(p.Deliveries, row)
	}
	a.render(w, r, status, views.ChannelDetailPage(p))
}

func (a *App) editChannelPage(w http.ResponseWriter, r *http.Request) {
	c, err := a.ownedChannel(r)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	ti, _ := typeInfo(c.Type)
	red, _ := notify.Redact(c.Type, c.Settings)
	var settings map[string]any
	_ = json.Unmarshal(red, &settings)
	f := views.ChannelForm{Page: a.page(r, "Edit "+c.Name), Action: "/channels/" + itoa64(c.ID) + "/edit", Submit: "Save",
		Cancel: "/channels/" + itoa64(c.ID), Type: c.Type, TypeLabel: ti.Label, Name: c.Name, Enabled: c.Enabled,
		Default: c.Default, Fields: settingsFields(ti.Fields, settings, nil, nil), Editing: true}
	a.render(w, r, http.StatusOK, views.ChannelFormPage(f))
}

func (a *App) editChannelSubmit(w http.ResponseWriter, r *http.Request) {
	c, err := a.ownedChannel(r)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	ti, _ := typeInfo(c.Type)
	in, typed, checked, fe := channelFormInput(r, ti)
	f := views.ChannelForm{Page: a.page(r, "Edit "+c.Name), Action: "/channels/" + itoa64(c.ID) + "/edit", Submit: "Save",
		Cancel: "/channels/" + itoa64(c.ID), Type: c.Type, TypeLabel: ti.Label, Name: *in.Name, Enabled: *in.Enabled,
		Default: *in.Default, Fields: settingsFields(ti.Fields, nil, typed, checked), Editing: true}
	if len(fe) > 0 {
		a.renderChannelForm(w, r, f, fe)
		return
	}
	c, err = applyChannel(c, in, false, a.notifyOptions())
	if err == nil {
		_, err = a.st.UpdateChannel(r.Context(), c)
	}
	if err != nil {
		a.renderChannelForm(w, r, f, storeErr(err))
		return
	}
	http.Redirect(w, r, "/channels/"+itoa64(c.ID)+"?m=channel-updated", http.StatusSeeOther)
}

func (a *App) testChannelSubmit(w http.ResponseWriter, r *http.Request) {
	c, err := a.ownedChannel(r)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	res, err := a.testChannel(r.Context(), c.UserID, c.ID)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	// Shown on this response: the result of an action, not a page to bookmark.
	a.renderChannelDetail(w, r, http.StatusOK, &views.TestResult{OK: res.OK, Error: res.Error, Duration: msDuration(res.DurationMS)})
}

func (a *App) deleteChannelSubmit(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = storeErr(a.st.DeleteChannel(r.Context(), userFrom(r.Context()).ID, id))
	}
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/channels?m=channel-deleted", http.StatusSeeOther)
}
