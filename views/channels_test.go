package views

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
	"golang.org/x/net/html"
)

func sampleChannels() []ChannelRow {
	return []ChannelRow{
		{ID: 1, Name: "On-call Slack", Type: "slack", TypeLabel: "Slack", Enabled: true, Default: true, Target: "hooks.slack.com", LastStatus: DeliverySent, LastAt: testNow.Add(-3 * time.Minute)},
		{ID: 2, Name: "Ops email", Type: "email", TypeLabel: "Email", Enabled: true, Target: "ops@example.com", LastStatus: DeliveryFailed, LastAt: testNow.Add(-2 * time.Hour), LastError: "connection refused"},
		{ID: 3, Name: "Phone", Type: "ntfy", TypeLabel: "ntfy", Target: "ntfy.sh/alerts"},
	}
}

func sampleChannelForm() ChannelForm {
	return ChannelForm{
		Page:   testPage("Edit channel", "ada@example.com"),
		Action: "/channels/2/edit", Submit: "Save changes", Cancel: "/channels/2",
		Type: "email", TypeLabel: "Email", Name: "Ops email", Enabled: true, Editing: true,
		Fields: []ChannelField{
			{Name: "host", Label: "SMTP host", Kind: "text", Value: "smtp.example.com", Required: true},
			{Name: "port", Label: "Port", Kind: "number", Value: "58x7", Placeholder: "587"},
			{Name: "security", Label: "Security", Kind: "select", Value: "tls", Options: []string{"starttls", "tls", "none"}},
			{Name: "password", Label: "Password", Kind: "password", Value: "••••1234", Secret: true},
			{Name: "webhook_url", Label: "Webhook URL", Kind: "url", Value: "https://hooks.example.com/x", Required: true},
			{Name: "to", Label: "To", Kind: "list", Value: "a@example.com\nb@example.com", Required: true},
			{Name: "headers", Label: "Headers", Kind: "map", Value: "X-A: 1"},
			{Name: "template", Label: "Template", Kind: "textarea"},
			{Name: "skip_verify", Label: "Skip TLS verification", Kind: "bool", Checked: true, Help: "Only for self-signed certificates."},
		},
		Errors: map[string]string{"settings.port": "Must be a number", "name": "Required"},
	}
}

func sampleDeliveries() []DeliveryRow {
	return []DeliveryRow{
		{ID: 9, Kind: KindTest, Status: DeliverySent, CreatedAt: testNow.Add(-30 * time.Second), SentAt: testNow.Add(-29 * time.Second), Attempts: 1,
			Log: []AttemptRow{{At: testNow.Add(-29 * time.Second), OK: true, Duration: 312 * time.Millisecond}}},
		{ID: 8, Kind: KindDown, Status: DeliveryFailed, Monitor: "Payments API", MonitorID: 3, CreatedAt: testNow.Add(-2 * time.Hour), Attempts: 2, LastError: "no such host",
			Log: []AttemptRow{{At: testNow.Add(-110 * time.Minute), Error: "no such host"}, {At: testNow.Add(-2 * time.Hour), Error: "HTTP 500"}}},
		{ID: 7, Kind: KindUp, Status: DeliverySent, Monitor: "Marketing site", MonitorID: 1, CreatedAt: testNow.Add(-5 * time.Hour), SentAt: testNow.Add(-5 * time.Hour), Attempts: 1},
		{ID: 6, Kind: KindReminder, Status: DeliveryPending, Monitor: "Payments API", MonitorID: 3, CreatedAt: testNow},
	}
}

func sampleMonitorFormChannels() MonitorForm {
	f := sampleForm()
	f.Values.ReminderMinutes = "30"
	f.Channels = []ChannelOption{
		{ID: 1, Name: "On-call Slack", TypeLabel: "Slack", Checked: true, Enabled: true},
		{ID: 2, Name: "Ops email", TypeLabel: "Email", Enabled: true},
		{ID: 3, Name: "Phone", TypeLabel: "ntfy"},
	}
	return f
}

func TestChannelPagesRender(t *testing.T) {
	tests := []struct {
		name string
		c    templ.Component
		want []string
		not  []string
	}{
		{
			name: "list",
			c:    ChannelsList(ChannelsPage{Page: testPage("Alerts", "ada@example.com"), Channels: sampleChannels()}),
			want: []string{
				"<h1>Alerts</h1>", `href="/channels/new"`, "Add channel", `href="/channels/1"`, "On-call Slack", "hooks.slack.com",
				`href="/channels/1/edit"`, `action="/channels/1/test"`, `action="/channels/1/delete"`, "data-confirm=",
				"Default for new monitors", "Disabled", "Sent", "3 min ago", "Failed", "connection refused", "No alerts sent yet",
				`class="provider provider-slack"`, `href="/channels" aria-current="page"`,
			},
			not: []string{"No alert channels yet"},
		},
		{
			name: "list empty",
			c:    ChannelsList(ChannelsPage{Page: testPage("Alerts", "ada@example.com")}),
			want: []string{"No alert channels yet", "Slack", "Discord", "Telegram", "ntfy", "Gotify", "Pushover", "Teams", "webhook", "Add your first channel", `href="/channels/new"`},
		},
		{
			name: "types",
			c: ChannelTypes(ChannelTypesPage{Page: testPage("Add a channel", "ada@example.com"), Types: []ChannelTypeOption{
				{Type: "slack", Label: "Slack", Description: "Post to a channel."}, {Type: "a b&c", Label: "Odd"},
			}}),
			want: []string{`href="/channels/new?type=slack"`, "Post to a channel.", `href="/channels/new?type=a+b%26c"`, `class="provider provider-other"`},
		},
		{
			name: "form",
			c:    ChannelFormPage(sampleChannelForm()),
			want: []string{
				`action="/channels/2/edit"`, `type="hidden" name="type" value="email"`, `value="Ops email"`, "Save changes",
				`value="58x7"`, `inputmode="numeric"`, `inputmode="url"`, `placeholder="587"`, `<option value="tls" selected>`,
				`type="password"`, `value="••••1234"`, "Leave as is to keep the saved value", "One per line.", "One per line, as Name: value.",
				"a@example.com\nb@example.com", "Must be a number", "Some fields need attention", `name="settings.skip_verify" value="on" checked`,
				"Only for self-signed certificates.", "Use for new monitors", `href="/channels/2"`,
			},
			not: []string{"Choose another type", `name="default" value="on" checked`},
		},
		{
			name: "detail",
			c: ChannelDetailPage(ChannelDetail{
				Page: testPage("On-call Slack", "ada@example.com"), Channel: sampleChannels()[0],
				Test: &TestResult{OK: true, Duration: 312 * time.Millisecond}, Deliveries: sampleDeliveries(),
			}),
			want: []string{
				"Test message sent in 312 ms", `href="/channels/1/edit"`, `action="/channels/1/test"`, `action="/channels/1/delete"`,
				"Delivery log", "Down", "Recovered", "Reminder", "Test", `href="/monitors/3"`, "Payments API", "Sent", "Failed", "Pending",
				"no such host", "<details", "Attempt log (2)", "HTTP 500", "Slack", "hooks.slack.com",
			},
			not: []string{"No alerts sent yet", `href="/monitors/0"`},
		},
		{
			name: "detail failed test, empty",
			c: ChannelDetailPage(ChannelDetail{
				Page: testPage("Ops email", "ada@example.com"), Channel: sampleChannels()[1],
				Test: &TestResult{Error: "535 Authentication failed", Duration: time.Second},
			}),
			want: []string{"Test failed", "535 Authentication failed", `role="alert"`, "No alerts sent yet — use Test to check the channel"},
			not:  []string{"<table", "Test message sent"},
		},
		{
			name: "monitor form with channels",
			c:    MonitorFormPage(sampleMonitorFormChannels()),
			want: []string{
				"Alerts", `name="reminder_minutes"`, `value="30"`, "Remind every (minutes)", "0 or empty: no reminders while down",
				`type="hidden" name="channels_present" value="1"`, `name="channels" value="1" checked`, `name="channels" value="2"`,
				"(disabled)", "On-call Slack",
			},
			not: []string{`name="channels" value="2" checked`},
		},
		{
			name: "monitor form without channels",
			c:    MonitorFormPage(sampleForm()),
			want: []string{`name="reminder_minutes"`, `name="channels_present" value="1"`, `href="/channels/new"`},
			not:  []string{`name="channels" `},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := render(t, tt.c)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing %q", w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("unexpected %q", n)
				}
			}
			checkAccessible(t, parse(t, out))
		})
	}
}

func TestChannelFormFieldNames(t *testing.T) {
	doc := parse(t, render(t, ChannelFormPage(sampleChannelForm())))
	forms := find(doc, "form", "method", "post", "action", "/channels/2/edit")
	if len(forms) != 1 {
		t.Fatal("no POST form to the action")
	}
	type control struct{ tag, name, typ string }
	var got []control
	walk(forms[0], func(n *html.Node) {
		switch n.Data {
		case "input", "select", "textarea":
			name, _ := attr(n, "name")
			typ, _ := attr(n, "type")
			got = append(got, control{n.Data, name, typ})
		}
	})
	want := []control{
		{"input", "type", "hidden"}, {"input", "name", "text"}, {"input", "enabled", "checkbox"}, {"input", "default", "checkbox"},
		{"input", "settings.host", "text"}, {"input", "settings.port", "text"}, {"select", "settings.security", ""},
		{"input", "settings.password", "password"}, {"input", "settings.webhook_url", "text"}, {"textarea", "settings.to", ""},
		{"textarea", "settings.headers", ""}, {"textarea", "settings.template", ""}, {"input", "settings.skip_verify", "checkbox"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("controls\n got %v\nwant %v", got, want)
	}
	for _, name := range []string{"enabled", "default", "settings.skip_verify"} {
		if v := mustAttr(find(doc, "input", "name", name)[0], "value"); v != "on" {
			t.Errorf("%s value %q, want on", name, v)
		}
	}
	pw := find(doc, "input", "name", "settings.password")[0]
	if mustAttr(pw, "autocomplete") != "off" || mustAttr(pw, "value") != "••••1234" {
		t.Error("password field: want autocomplete=off and the redacted value")
	}
	port := find(doc, "input", "name", "settings.port")[0]
	if mustAttr(port, "aria-invalid") != "true" || !strings.Contains(mustAttr(port, "aria-describedby"), "settings.port-error") {
		t.Error("settings.port error not tied to the field")
	}
	if _, ok := attr(find(doc, "input", "name", "settings.host")[0], "required"); !ok {
		t.Error("required setting without required attribute")
	}
	// A required select has no empty choice; an optional one has.
	sel := find(doc, "select", "name", "settings.security")[0]
	if v := mustAttr(find(sel, "option")[0], "value"); v != "" {
		t.Errorf("optional select starts with %q, want an empty choice", v)
	}
	f := sampleChannelForm()
	f.Fields = []ChannelField{{Name: "priority", Label: "Priority", Kind: "select", Required: true, Options: []string{"low", "high"}, Value: "urgent"}}
	doc = parse(t, render(t, ChannelFormPage(f)))
	var opts []string
	for _, o := range find(doc, "option") {
		opts = append(opts, mustAttr(o, "value"))
	}
	if !slices.Equal(opts, []string{"low", "high", "urgent"}) {
		t.Errorf("required select options %v", opts)
	}
}

func TestChannelListActions(t *testing.T) {
	doc := parse(t, render(t, ChannelsList(ChannelsPage{Page: testPage("Alerts", "ada@example.com"), Channels: sampleChannels()})))
	for _, id := range []string{"1", "2", "3"} {
		for _, action := range []string{"test", "delete"} {
			f := find(doc, "form", "method", "post", "action", "/channels/"+id+"/"+action)
			if len(f) != 1 {
				t.Fatalf("no %s form for channel %s", action, id)
			}
			if n := len(find(f[0], "input")); n != 0 {
				t.Errorf("%s form of channel %s has %d fields, want none", action, id, n)
			}
			if _, ok := attr(f[0], "data-confirm"); ok != (action == "delete") {
				t.Errorf("%s form of channel %s: data-confirm %v", action, id, ok)
			}
		}
	}
	nav := find(doc, "nav", "aria-label", "Main")[0]
	var links []string
	for _, a := range find(nav, "a") {
		links = append(links, mustAttr(a, "href"))
	}
	if !slices.Equal(links, []string{"/", "/monitors/new", "/channels", "/maintenance", "/workers", "/settings"}) {
		t.Errorf("nav links %v", links)
	}
}

func TestMonitorFormChannels(t *testing.T) {
	doc := parse(t, render(t, MonitorFormPage(sampleMonitorFormChannels())))
	boxes := find(doc, "input", "name", "channels", "type", "checkbox")
	if len(boxes) != 3 {
		t.Fatalf("%d channel checkboxes, want 3", len(boxes))
	}
	for i, b := range boxes {
		if v := mustAttr(b, "value"); v != []string{"1", "2", "3"}[i] {
			t.Errorf("checkbox %d value %q", i, v)
		}
	}
	if len(find(doc, "input", "type", "hidden", "name", "channels_present", "value", "1")) != 1 {
		t.Error("no channels_present")
	}
	if len(find(doc, "input", "name", "reminder_minutes")) != 1 {
		t.Error("no reminder_minutes")
	}
	f := sampleMonitorFormChannels()
	f.Errors = map[string]string{"channels": "Unknown channel", "reminder_minutes": "Must be a whole number"}
	out := render(t, MonitorFormPage(f))
	doc = parse(t, out)
	checkAccessible(t, doc)
	if g := find(doc, "fieldset", "aria-describedby", "channels-error"); len(g) != 1 {
		t.Error("channel group not described by its error")
	}
	if mustAttr(find(doc, "input", "name", "reminder_minutes")[0], "aria-invalid") != "true" {
		t.Error("reminder_minutes error not marked")
	}
	f.Channels = nil
	checkAccessible(t, parse(t, render(t, MonitorFormPage(f))))
}

// TestChannelHostileInput renders every channel page with hostile names,
// targets, errors and settings values: all must come out as text.
func TestChannelHostileInput(t *testing.T) {
	for _, name := range []string{hostileImg, hostileScript, hostileURL} {
		t.Run(name, func(t *testing.T) {
			page := testPage(name, name)
			page.Flash = name
			rows := sampleChannels()
			for i := range rows {
				r := &rows[i]
				r.Name, r.TypeLabel, r.Target, r.LastError, r.Type = name, name, name, name, name
				r.LastStatus = name
			}
			rows[1].LastStatus = DeliveryFailed
			form := sampleChannelForm()
			form.Page = page
			form.Action, form.Cancel, form.Type, form.TypeLabel, form.Name, form.FormError, form.Editing = name, name, name, name, name, name, false
			form.Errors = map[string]string{"name": name, "type": name}
			for i := range form.Fields {
				fd := &form.Fields[i]
				fd.Label, fd.Help, fd.Placeholder, fd.Value = name, name, name, "</textarea>"+name
				fd.Options = append(fd.Options, name)
				form.Errors[settingName(fd.Name)] = name
			}
			form.Fields = append(form.Fields, ChannelField{Name: name, Label: name, Kind: name, Value: name})
			dels := sampleDeliveries()
			for i := range dels {
				d := &dels[i]
				d.Kind, d.Status, d.Monitor, d.LastError = name, name, name, name
				for j := range d.Log {
					d.Log[j].Error = name
				}
			}
			mform := sampleMonitorFormChannels()
			mform.Page = page
			mform.Values.ReminderMinutes = name
			for i := range mform.Channels {
				mform.Channels[i].Name, mform.Channels[i].TypeLabel = name, name
			}
			mform.Errors = map[string]string{"channels": name, "reminder_minutes": name}
			pages := map[string]templ.Component{
				"list":  ChannelsList(ChannelsPage{Page: page, Channels: rows}),
				"types": ChannelTypes(ChannelTypesPage{Page: page, Types: []ChannelTypeOption{{Type: name, Label: name, Description: name}}}),
				"form":  ChannelFormPage(form),
				"detail": ChannelDetailPage(ChannelDetail{Page: page, Channel: rows[1], Deliveries: dels,
					Test: &TestResult{Error: name}}),
				"detail empty": ChannelDetailPage(ChannelDetail{Page: page, Channel: rows[0], Test: &TestResult{OK: true}}),
				"monitor form": MonitorFormPage(mform),
			}
			for pname, c := range pages {
				t.Run(pname, func(t *testing.T) {
					out := render(t, c)
					low := strings.ToLower(out)
					for _, bad := range []string{"<script>", "<img", "</textarea><"} {
						if strings.Contains(low, bad) {
							t.Errorf("output contains %q", bad)
						}
					}
					doc := parse(t, out)
					walk(doc, func(n *html.Node) {
						switch n.Data {
						case "script":
							if src, _ := attr(n, "src"); (src != "/static/h/app.js" && src != "/static/h/live.js") || n.FirstChild != nil {
								t.Errorf("unexpected script element src=%q", src)
							}
						case "img", "iframe", "object", "embed", "style":
							t.Errorf("unexpected <%s>", n.Data)
						}
						for _, a := range n.Attr {
							if strings.HasPrefix(a.Key, "on") {
								t.Errorf("event handler attribute %s=%q on <%s>", a.Key, a.Val, n.Data)
							}
							switch a.Key {
							case "href", "action", "src", "formaction":
								v := strings.ToLower(strings.TrimSpace(a.Val))
								if strings.HasPrefix(v, "javascript:") || strings.HasPrefix(v, "data:") {
									t.Errorf("%s=%q on <%s>", a.Key, a.Val, n.Data)
								}
							case "class":
								if strings.Contains(a.Val, "<") || strings.Contains(a.Val, "alert(") {
									t.Errorf("data in class %q", a.Val)
								}
							}
						}
					})
					if !strings.Contains(textOf(doc), name) {
						t.Errorf("hostile text not shown as text")
					}
					checkAccessible(t, doc)
				})
			}
		})
	}
}

func TestChannelHelpers(t *testing.T) {
	if got := (TestResult{OK: true, Duration: 312 * time.Millisecond}).text(); got != "Test message sent in 312 ms" {
		t.Errorf("test text %q", got)
	}
	if got := (TestResult{}).text(); got == "" {
		t.Error("failed test without a message")
	}
	for typ, want := range map[string]string{"slack": "provider-slack", "x<y": "provider-other", "": "provider-other"} {
		if got := providerClass(typ); !strings.HasSuffix(got, want) {
			t.Errorf("providerClass(%q) = %q", typ, got)
		}
	}
	if got := providerMark("discord", "Discord"); got != "D" {
		t.Errorf("mark %q", got)
	}
	if got := providerMark("", ""); got != "?" {
		t.Errorf("empty mark %q", got)
	}
	f := ChannelField{Kind: "map", Help: "Extra headers.", Secret: true, Value: "••••"}
	if got := f.hint(true); got != "Extra headers. One per line, as Name: value. Leave as is to keep the saved value." {
		t.Errorf("hint %q", got)
	}
	if got := f.hint(false); strings.Contains(got, "Leave as is") {
		t.Errorf("hint on a new form %q", got)
	}
	if got := (ChannelField{Kind: "weird"}).kind(); got != "text" {
		t.Errorf("unknown kind %q", got)
	}
}
