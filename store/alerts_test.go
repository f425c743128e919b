package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func newChannel(t testing.TB, s *Store, userID int64, name string, enabled, def bool) Channel {
	t.Helper()
	c, err := s.CreateChannel(context.Background(), Channel{UserID: userID, Name: name, Type: "webhook",
		Settings: json.RawMessage(`{"url":"https://hooks.example.com/secret"}`), Enabled: enabled, Default: def})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// allDeliveries reads every delivery, oldest first, straight from the table.
func allDeliveries(t testing.TB, s *Store) []Delivery {
	t.Helper()
	ds, err := queryDeliveries(context.Background(), s.r, false, `ORDER BY d.id`)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func eventOf(t testing.TB, d Delivery) AlertEvent {
	t.Helper()
	var ev AlertEvent
	if err := json.Unmarshal(d.Event, &ev); err != nil {
		t.Fatalf("event of delivery %d: %v: %s", d.ID, err, d.Event)
	}
	return ev
}

func keysOf(ds []Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Key)
	}
	return out
}

// alertFixture: a user with a monitor linked to an enabled and a disabled
// channel, an enabled channel not linked, and another user's channel.
type alertFixture struct {
	s                          *Store
	clk                        *testClock
	u, other                   User
	m                          Monitor
	on, off, unlinked, foreign Channel
}

func newAlertFixture(t *testing.T) alertFixture {
	t.Helper()
	f := alertFixture{clk: newTestClock()}
	f.s = openTest(t, WithClock(f.clk.Now))
	f.u = newUser(t, f.s, "a@example.com")
	f.other = newUser(t, f.s, "b@example.com")
	f.on = newChannel(t, f.s, f.u.ID, "on", true, false)
	f.off = newChannel(t, f.s, f.u.ID, "off", false, false)
	f.unlinked = newChannel(t, f.s, f.u.ID, "unlinked", true, false)
	f.foreign = newChannel(t, f.s, f.other.ID, "foreign", true, true)
	m := sampleMonitor(f.u.ID)
	m.Channels = []int64{f.off.ID, f.on.ID}
	var err error
	if f.m, err = f.s.CreateMonitor(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestChannelCRUDAndScope(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	s := openTest(t, WithClock(clk.Now))
	u, bob := newUser(t, s, "a@example.com"), newUser(t, s, "b@example.com")

	in := Channel{ID: 99, UserID: u.ID, Name: "ops", Type: "slack",
		Settings: json.RawMessage(`{"webhook_url":"https://hooks.slack.com/services/T/B/x"}`), Enabled: true}
	c, err := s.CreateChannel(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.ID, want.CreatedAt, want.UpdatedAt = c.ID, clk.Now(), clk.Now()
	if !reflect.DeepEqual(c, want) {
		t.Errorf("CreateChannel =\n%+v\nwant\n%+v", c, want)
	}
	if got, err := s.GetChannel(ctx, u.ID, c.ID); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("GetChannel = %+v, %v", got, err)
	}
	empty, err := s.CreateChannel(ctx, Channel{UserID: u.ID, Name: "e", Type: "ntfy"})
	if err != nil || string(empty.Settings) != "{}" {
		t.Errorf("nil settings: %s, %v", empty.Settings, err)
	}
	if _, err := s.CreateChannel(ctx, Channel{UserID: u.ID, Settings: json.RawMessage(`{`)}); err == nil {
		t.Error("invalid settings JSON accepted")
	}
	if _, err := s.CreateChannel(ctx, Channel{UserID: 1000, Name: "x"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("channel of unknown user: %v", err)
	}

	clk.Add(time.Minute)
	upd := want
	upd.Name, upd.Type, upd.Settings, upd.Enabled, upd.Default = "ops2", "ntfy", json.RawMessage(`{"topic":"t"}`), false, true
	got, err := s.UpdateChannel(ctx, upd)
	upd.UpdatedAt = clk.Now()
	if err != nil || !reflect.DeepEqual(got, upd) {
		t.Errorf("UpdateChannel = %+v, %v\nwant %+v", got, err, upd)
	}

	// Bob can neither see nor change Alice's channel.
	if _, err := s.GetChannel(ctx, bob.ID, c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetChannel of another user: %v", err)
	}
	hijack := upd
	hijack.UserID = bob.ID
	if _, err := s.UpdateChannel(ctx, hijack); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateChannel of another user: %v", err)
	}
	if err := s.DeleteChannel(ctx, bob.ID, c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteChannel of another user: %v", err)
	}
	if list, err := s.ListChannels(ctx, bob.ID); err != nil || len(list) != 0 {
		t.Errorf("bob's channels: %+v, %v", list, err)
	}
	if list, err := s.ListChannels(ctx, u.ID); err != nil || len(list) != 2 || list[0].ID != c.ID {
		t.Errorf("alice's channels: %+v, %v", list, err)
	}
	if _, err := s.EnqueueTest(ctx, bob.ID, c.ID, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("EnqueueTest to another user's channel: %v", err)
	}
	if err := s.DeleteChannel(ctx, u.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetChannel(ctx, u.ID, c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted channel: %v", err)
	}
}

func TestMonitorChannelsAndReminderSetting(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u, bob := newUser(t, s, "a@example.com"), newUser(t, s, "b@example.com")
	def1 := newChannel(t, s, u.ID, "default", true, true)
	plain := newChannel(t, s, u.ID, "plain", true, false)
	def2 := newChannel(t, s, u.ID, "default, disabled", false, true) // linked: enabled matters when alerting
	bobs := newChannel(t, s, bob.ID, "bob's default", true, true)

	// nil: the user's defaults.
	in := sampleMonitor(u.ID)
	in.ReminderEvery = 30 * time.Second // rounds up to a minute, never to "off"
	m, err := s.CreateMonitor(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{def1.ID, def2.ID}; !slices.Equal(m.Channels, want) || m.ReminderEvery != time.Minute {
		t.Errorf("new monitor: channels %v (want %v), reminder %v", m.Channels, want, m.ReminderEvery)
	}
	if ids, err := s.MonitorChannels(ctx, m.ID); err != nil || !slices.Equal(ids, m.Channels) {
		t.Errorf("MonitorChannels = %v, %v", ids, err)
	}
	if got, err := s.GetMonitor(ctx, u.ID, m.ID); err != nil || !reflect.DeepEqual(got, m) {
		t.Errorf("GetMonitor = %+v, %v\nwant %+v", got, err, m)
	}

	// Non-nil: exactly these; empty: none.
	in.Channels = []int64{plain.ID, plain.ID}
	if m2, err := s.CreateMonitor(ctx, in); err != nil || !slices.Equal(m2.Channels, []int64{plain.ID}) {
		t.Errorf("explicit channels: %v, %v", m2.Channels, err)
	}
	in.Channels = []int64{}
	if m3, err := s.CreateMonitor(ctx, in); err != nil || m3.Channels != nil {
		t.Errorf("no channels: %v, %v", m3.Channels, err)
	}

	// Another user's channel: ErrNotFound, and no monitor was created.
	before, _ := s.ListMonitors(ctx, u.ID)
	in.Channels = []int64{plain.ID, bobs.ID}
	if _, err := s.CreateMonitor(ctx, in); !errors.Is(err, ErrNotFound) {
		t.Errorf("foreign channel on create: %v", err)
	}
	in.Channels = []int64{12345}
	if _, err := s.CreateMonitor(ctx, in); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown channel on create: %v", err)
	}
	if after, _ := s.ListMonitors(ctx, u.ID); len(after) != len(before) {
		t.Errorf("a refused create left a monitor: %d monitors, want %d", len(after), len(before))
	}

	// SetMonitorChannels replaces, validates, and is scoped.
	if err := s.SetMonitorChannels(ctx, u.ID, m.ID, []int64{plain.ID, bobs.ID}); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetMonitorChannels with a foreign channel: %v", err)
	}
	if err := s.SetMonitorChannels(ctx, bob.ID, m.ID, []int64{bobs.ID}); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetMonitorChannels on another user's monitor: %v", err)
	}
	if ids, _ := s.MonitorChannels(ctx, m.ID); !slices.Equal(ids, []int64{def1.ID, def2.ID}) {
		t.Errorf("a refused SetMonitorChannels changed the set: %v", ids)
	}
	if err := s.SetMonitorChannels(ctx, u.ID, m.ID, []int64{plain.ID}); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.MonitorChannels(ctx, m.ID); !slices.Equal(ids, []int64{plain.ID}) {
		t.Errorf("after SetMonitorChannels: %v", ids)
	}

	// UpdateMonitor: nil keeps the links, non-nil replaces them; the
	// reminder setting round-trips.
	upd := m
	upd.Channels, upd.ReminderEvery = nil, 15*time.Minute
	got, err := s.UpdateMonitor(ctx, upd)
	if err != nil || !slices.Equal(got.Channels, []int64{plain.ID}) || got.ReminderEvery != 15*time.Minute {
		t.Errorf("UpdateMonitor with nil channels: %v, %v, %v", got.Channels, got.ReminderEvery, err)
	}
	upd.Channels = []int64{bobs.ID}
	if _, err := s.UpdateMonitor(ctx, upd); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateMonitor with a foreign channel: %v", err)
	}
	if got, _ := s.GetMonitor(ctx, u.ID, m.ID); got.ReminderEvery != 15*time.Minute || !slices.Equal(got.Channels, []int64{plain.ID}) {
		t.Errorf("a refused update changed the monitor: %+v", got)
	}
	upd.Channels, upd.ReminderEvery = []int64{}, 0
	if got, err := s.UpdateMonitor(ctx, upd); err != nil || got.Channels != nil || got.ReminderEvery != 0 {
		t.Errorf("UpdateMonitor clearing channels: %v, %v, %v", got.Channels, got.ReminderEvery, err)
	}
}

func TestDownAlertQueuedOncePerEnabledChannel(t *testing.T) {
	ctx := context.Background()
	f := newAlertFixture(t)
	s := f.s

	// No Alert: an incident, no deliveries.
	transition(t, s, f.m.ID, StatusPending, StatusUp, 0, Transition{})
	transition(t, s, f.m.ID, StatusUp, StatusDown, time.Minute, Transition{Reason: "timeout"})
	if ds := allDeliveries(t, s); len(ds) != 0 {
		t.Fatalf("deliveries without Alert: %+v", ds)
	}
	transition(t, s, f.m.ID, StatusDown, StatusUp, 2*time.Minute, Transition{})
	if ds := allDeliveries(t, s); len(ds) != 0 {
		t.Fatalf("deliveries without Alert: %+v", ds)
	}

	// With Alert: one delivery, to the enabled linked channel only.
	down := []StateUpdate{{MonitorID: f.m.ID, State: MonitorState{Status: StatusDown, Since: t0.Add(time.Hour)},
		Transition: &Transition{MonitorID: f.m.ID, From: StatusUp, To: StatusDown, At: t0.Add(time.Hour),
			Reason: "status", Error: "HTTP 503", StatusCode: 503, Excerpt: "oops", Alert: true}}}
	checks := []Check{{MonitorID: f.m.ID, Region: "local", At: t0.Add(time.Hour), StatusCode: 503, Reason: "status", Error: "HTTP 503"}}
	if err := s.SaveChecks(ctx, checks, down); err != nil {
		t.Fatal(err)
	}
	open := incidents(t, s, f.u.ID, IncidentFilter{Status: "open"})
	if len(open) != 1 {
		t.Fatalf("open incidents: %+v", open)
	}
	ds := allDeliveries(t, s)
	if len(ds) != 1 {
		t.Fatalf("deliveries: %+v", ds)
	}
	d := ds[0]
	wantKey := "incident:" + itoa(open[0].ID) + ":down"
	if d.ChannelID != f.on.ID || d.MonitorID != f.m.ID || d.IncidentID != open[0].ID || d.Kind != AlertDown ||
		d.Key != wantKey || d.Status != DeliveryPending || d.Attempts != 0 ||
		!d.CreatedAt.Equal(f.clk.Now()) || !d.NextAttemptAt.Equal(f.clk.Now()) || d.ChannelType != "webhook" {
		t.Errorf("delivery = %+v", d)
	}
	wantEv := AlertEvent{Kind: AlertDown, MonitorID: f.m.ID, Monitor: f.m.Name, URL: f.m.URL, Reason: "status",
		Error: "HTTP 503", StatusCode: 503, StartedAt: t0.Add(time.Hour), At: t0.Add(time.Hour)}
	if ev := eventOf(t, d); !reflect.DeepEqual(ev, wantEv) {
		t.Errorf("event =\n%+v\nwant\n%+v", ev, wantEv)
	}

	// The same batch redelivered, and a replayed down while the incident
	// is open: still one delivery.
	if err := s.SaveChecks(ctx, checks, down); err != nil {
		t.Fatal(err)
	}
	transition(t, s, f.m.ID, StatusDown, StatusDown, time.Hour+time.Minute, Transition{Alert: true})
	if ds := allDeliveries(t, s); len(ds) != 1 {
		t.Errorf("after redelivery: %d deliveries, want 1: %v", len(ds), keysOf(ds))
	}

	// A renamed monitor: the queued alert keeps the name it was queued with.
	m := f.m
	m.Name = "renamed"
	if _, err := s.UpdateMonitor(ctx, m); err != nil {
		t.Fatal(err)
	}
	if ev := eventOf(t, allDeliveries(t, s)[0]); ev.Monitor != f.m.Name {
		t.Errorf("snapshot changed with the monitor: %q", ev.Monitor)
	}
}

func TestDownAlertSkippedForPausedMonitor(t *testing.T) {
	f := newAlertFixture(t)
	m := f.m
	m.Paused = true
	if _, err := f.s.UpdateMonitor(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	// A result queued before the pause must not alert.
	transition(t, f.s, f.m.ID, StatusUp, StatusDown, time.Minute, Transition{Alert: true})
	if ds := allDeliveries(t, f.s); len(ds) != 0 {
		t.Errorf("deliveries for a paused monitor: %v", keysOf(ds))
	}
}

func TestUpAlertAndPause(t *testing.T) {
	ctx := context.Background()
	f := newAlertFixture(t)
	s := f.s

	transition(t, s, f.m.ID, StatusUp, StatusDown, time.Minute, Transition{Reason: "timeout", Error: "timed out", Alert: true})
	in := incidents(t, s, f.u.ID, IncidentFilter{})[0]
	// A reminder still waiting for a retry when the monitor recovers.
	if _, err := s.w.Exec(`INSERT INTO deliveries (channel_id, monitor_id, incident_id, kind, event_key, status, event,
		created_at, next_attempt_at) VALUES (?, ?, ?, 'reminder', 'r', 'pending', '{}', 0, 0)`, f.on.ID, f.m.ID, in.ID); err != nil {
		t.Fatal(err)
	}

	up := func() {
		transition(t, s, f.m.ID, StatusDown, StatusUp, 4*time.Minute+12*time.Second, Transition{Alert: true})
	}
	up()
	up() // redelivered
	ds := allDeliveries(t, s)
	if got := keysOf(ds); !slices.Equal(got, []string{"incident:" + itoa(in.ID) + ":down", "r", "incident:" + itoa(in.ID) + ":up"}) {
		t.Fatalf("keys = %v", got)
	}
	if ds[1].Status != DeliveryFailed || ds[1].LastError != "superseded by recovery" {
		t.Errorf("pending reminder after recovery: %+v", ds[1])
	}
	upd := ds[2]
	want := AlertEvent{Kind: AlertUp, MonitorID: f.m.ID, Monitor: f.m.Name, URL: f.m.URL,
		StartedAt: t0.Add(time.Minute), At: t0.Add(4*time.Minute + 12*time.Second), DurationMS: 192000}
	if ev := eventOf(t, upd); !reflect.DeepEqual(ev, want) || ev.Duration() != 192*time.Second {
		t.Errorf("up event =\n%+v\nwant\n%+v", ev, want)
	}
	if upd.ChannelID != f.on.ID || upd.IncidentID != in.ID || upd.Kind != AlertUp {
		t.Errorf("up delivery = %+v", upd)
	}

	// Up without an open incident (pending -> up) alerts nobody.
	transition(t, s, f.m.ID, StatusUp, StatusUp, 5*time.Minute, Transition{Alert: true})
	if n := len(allDeliveries(t, s)); n != 3 {
		t.Errorf("%d deliveries after an up without incident, want 3", n)
	}

	// Down again, then paused: the incident resolves, nobody is told.
	transition(t, s, f.m.ID, StatusUp, StatusDown, 10*time.Minute, Transition{Alert: true})
	m := f.m
	m.Paused = true
	if _, err := s.UpdateMonitor(ctx, m); err != nil {
		t.Fatal(err)
	}
	if len(incidents(t, s, f.u.ID, IncidentFilter{Status: "open"})) != 0 {
		t.Fatal("pausing left the incident open")
	}
	ds = allDeliveries(t, s)
	if n := len(ds); n != 4 || ds[3].Kind != AlertDown {
		t.Errorf("after pause: %v, want one more (the down)", keysOf(ds))
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestReminders(t *testing.T) {
	ctx := context.Background()
	f := newAlertFixture(t)
	s := f.s
	m := f.m
	m.ReminderEvery = 10 * time.Minute
	if _, err := s.UpdateMonitor(ctx, m); err != nil {
		t.Fatal(err)
	}
	// A second monitor on the same channel with reminders off.
	quiet := sampleMonitor(f.u.ID)
	quiet.Channels = []int64{f.on.ID}
	q, err := s.CreateMonitor(ctx, quiet)
	if err != nil {
		t.Fatal(err)
	}
	transition(t, s, q.ID, StatusUp, StatusDown, 0, Transition{Alert: true})
	transition(t, s, f.m.ID, StatusUp, StatusDown, 0, Transition{Alert: true})
	in := incidents(t, s, f.u.ID, IncidentFilter{MonitorID: f.m.ID})[0]

	remind := func(at time.Duration, want int) {
		t.Helper()
		n, err := s.EnqueueReminders(ctx, t0.Add(at))
		if err != nil || n != want {
			t.Errorf("EnqueueReminders at +%v = %d, %v; want %d", at, n, err, want)
		}
	}
	remind(0, 0)
	remind(10*time.Minute-time.Millisecond, 0) // not before the first period
	remind(10*time.Minute, 1)
	remind(10*time.Minute, 0) // never twice
	remind(19*time.Minute, 0) // at most one per period
	remind(20*time.Minute, 1)
	remind(65*time.Minute, 1) // after a long gap: the current period only, no backlog
	remind(66*time.Minute, 0)

	var reminders []Delivery
	for _, d := range allDeliveries(t, s) {
		if d.Kind == AlertReminder {
			reminders = append(reminders, d)
		}
	}
	prefix := "incident:" + itoa(in.ID) + ":reminder:"
	if got := keysOf(reminders); !slices.Equal(got, []string{prefix + "1", prefix + "2", prefix + "6"}) {
		t.Fatalf("reminder keys = %v", got)
	}
	want := AlertEvent{Kind: AlertReminder, MonitorID: f.m.ID, Monitor: f.m.Name, URL: f.m.URL,
		StartedAt: t0, At: t0.Add(20 * time.Minute), DurationMS: (20 * time.Minute).Milliseconds()}
	if ev := eventOf(t, reminders[1]); !reflect.DeepEqual(ev, want) {
		t.Errorf("reminder event =\n%+v\nwant\n%+v", ev, want)
	}
	if reminders[0].ChannelID != f.on.ID || reminders[0].IncidentID != in.ID || reminders[0].Status != DeliveryPending {
		t.Errorf("reminder = %+v", reminders[0])
	}

	// Acknowledged: no more reminders. (Acknowledge the second monitor's
	// incident only after checking the first one keeps going.)
	if _, err := s.AcknowledgeIncident(ctx, f.u.ID, in.ID, f.u.ID); err != nil {
		t.Fatal(err)
	}
	remind(70*time.Minute, 0)

	// Resolved: none either, even for the period it was open in.
	transition(t, s, q.ID, StatusDown, StatusUp, 71*time.Minute, Transition{Alert: true})
	q.ReminderEvery = time.Minute
	if _, err := s.UpdateMonitor(ctx, q); err != nil {
		t.Fatal(err)
	}
	remind(80*time.Minute, 0)
}

func TestRemindersStopWhenResolved(t *testing.T) {
	ctx := context.Background()
	f := newAlertFixture(t)
	m := f.m
	m.ReminderEvery = time.Minute
	if _, err := f.s.UpdateMonitor(ctx, m); err != nil {
		t.Fatal(err)
	}
	transition(t, f.s, f.m.ID, StatusUp, StatusDown, 0, Transition{Alert: true})
	if n, err := f.s.EnqueueReminders(ctx, t0.Add(time.Minute)); n != 1 || err != nil {
		t.Fatalf("first reminder: %d, %v", n, err)
	}
	transition(t, f.s, f.m.ID, StatusDown, StatusUp, 90*time.Second, Transition{Alert: true})
	if n, err := f.s.EnqueueReminders(ctx, t0.Add(2*time.Minute)); n != 0 || err != nil {
		t.Errorf("reminder after resolve: %d, %v", n, err)
	}
	// A disabled channel gets none either.
	transition(t, f.s, f.m.ID, StatusUp, StatusDown, 3*time.Minute, Transition{Alert: true})
	on := f.on
	on.Enabled = false
	if _, err := f.s.UpdateChannel(ctx, on); err != nil {
		t.Fatal(err)
	}
	if n, err := f.s.EnqueueReminders(ctx, t0.Add(10*time.Minute)); n != 0 || err != nil {
		t.Errorf("reminder to a disabled channel: %d, %v", n, err)
	}
}

func TestClaimFinishRetryFail(t *testing.T) {
	ctx := context.Background()
	f := newAlertFixture(t)
	s := f.s
	now := f.clk.Now()

	transition(t, s, f.m.ID, StatusUp, StatusDown, 0, Transition{Alert: true})
	if ds, err := s.ClaimDeliveries(ctx, now, 0); err != nil || len(ds) != 0 {
		t.Errorf("claim with limit 0: %v, %v", ds, err)
	}
	if ds, err := s.ClaimDeliveries(ctx, now.Add(-time.Second), 10); err != nil || len(ds) != 0 {
		t.Errorf("claim before due: %v, %v", ds, err)
	}
	ds, err := s.ClaimDeliveries(ctx, now, 10)
	if err != nil || len(ds) != 1 {
		t.Fatalf("claim: %+v, %v", ds, err)
	}
	d := ds[0]
	if d.Status != DeliverySending || d.Attempts != 1 || d.ChannelType != "webhook" ||
		string(d.ChannelSettings) != string(f.on.Settings) || d.Kind != AlertDown {
		t.Errorf("claimed = %+v", d)
	}
	if again, err := s.ClaimDeliveries(ctx, now, 10); err != nil || len(again) != 0 {
		t.Errorf("claimed twice: %+v, %v", again, err)
	}

	// The recovery is queued while the down alert is being retried: it
	// waits for it, so the channel never hears "up" before "down".
	transition(t, s, f.m.ID, StatusDown, StatusUp, time.Second, Transition{Alert: true})
	retryAt := now.Add(30 * time.Second)
	fail := DeliveryAttempt{At: now, Error: "webhook: HTTP 500 Internal Server Error", Duration: 1500 * time.Microsecond}
	if err := s.FinishDelivery(ctx, d.ID, fail, retryAt); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishDelivery(ctx, d.ID, fail, retryAt); !errors.Is(err, ErrNotFound) {
		t.Errorf("finishing a delivery that is not sending: %v", err)
	}
	got, err := s.GetDelivery(ctx, f.u.ID, d.ID)
	if err != nil || got.Status != DeliveryPending || !got.NextAttemptAt.Equal(retryAt) || got.LastError != fail.Error ||
		got.Attempts != 1 || got.ChannelSettings != nil {
		t.Errorf("after a failed attempt: %+v, %v", got, err)
	}
	if ds, err := s.ClaimDeliveries(ctx, retryAt.Add(-time.Millisecond), 10); err != nil || len(ds) != 0 {
		t.Errorf("claim before the retry is due (the up must wait): %+v, %v", ds, err)
	}
	ds, err = s.ClaimDeliveries(ctx, retryAt, 10)
	if err != nil || len(ds) != 1 || ds[0].ID != d.ID || ds[0].Attempts != 2 {
		t.Fatalf("claim of the retry: %+v, %v", ds, err)
	}
	sentAt := retryAt.Add(time.Second)
	if err := s.FinishDelivery(ctx, d.ID, DeliveryAttempt{At: sentAt, OK: true, Duration: time.Millisecond}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetDelivery(ctx, f.u.ID, d.ID)
	if got.Status != DeliverySent || !got.SentAt.Equal(sentAt) || got.LastError != "" || got.Attempts != 2 {
		t.Errorf("after sending: %+v", got)
	}
	attempts, err := s.DeliveryAttempts(ctx, f.u.ID, d.ID)
	wantAttempts := []DeliveryAttempt{
		{DeliveryID: d.ID, At: now, Error: fail.Error, Duration: 1500 * time.Microsecond},
		{DeliveryID: d.ID, At: sentAt, OK: true, Duration: time.Millisecond},
	}
	if err != nil || !reflect.DeepEqual(attempts, wantAttempts) {
		t.Errorf("attempts = %+v, %v", attempts, err)
	}

	// Now the up goes; a failure without retryAt is final.
	ds, err = s.ClaimDeliveries(ctx, sentAt, 10)
	if err != nil || len(ds) != 1 || ds[0].Kind != AlertUp {
		t.Fatalf("claim of the up: %+v, %v", ds, err)
	}
	if err := s.FinishDelivery(ctx, ds[0].ID, DeliveryAttempt{At: sentAt, Error: strings.Repeat("x", 5000)}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetDelivery(ctx, f.u.ID, ds[0].ID)
	if got.Status != DeliveryFailed || len(got.LastError) != maxDeliveryError {
		t.Errorf("after a final failure: %s, %d bytes of error", got.Status, len(got.LastError))
	}
	if ds, err := s.ClaimDeliveries(ctx, sentAt.Add(time.Hour), 10); err != nil || len(ds) != 0 {
		t.Errorf("claimed a finished delivery: %+v, %v", ds, err)
	}

	// The log: newest first, the user's channel only.
	log, err := s.ListDeliveries(ctx, f.u.ID, f.on.ID, 0)
	if err != nil || len(log) != 2 || log[0].Kind != AlertUp || log[1].ID != d.ID {
		t.Errorf("ListDeliveries = %+v, %v", log, err)
	}
	if all, err := s.ListDeliveries(ctx, f.u.ID, 0, 1); err != nil || len(all) != 1 {
		t.Errorf("ListDeliveries of all channels, limit 1: %+v, %v", all, err)
	}
	for name, err := range map[string]error{
		"ListDeliveries":   errOf(s.ListDeliveries(ctx, f.other.ID, f.on.ID, 0)),
		"GetDelivery":      errOf(s.GetDelivery(ctx, f.other.ID, d.ID)),
		"DeliveryAttempts": errOf(s.DeliveryAttempts(ctx, f.other.ID, d.ID)),
	} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of another user's channel: %v, want ErrNotFound", name, err)
		}
	}
	if list, err := s.ListDeliveries(ctx, f.other.ID, 0, 0); err != nil || len(list) != 0 {
		t.Errorf("another user's log: %+v, %v", list, err)
	}
}

func errOf[T any](_ T, err error) error { return err }

func TestClaimLimitsPerChannelAndSkipsDisabled(t *testing.T) {
	ctx := context.Background()
	f := newAlertFixture(t)
	s := f.s
	// Five monitors down at once, all alerting f.on and f.unlinked.
	for i := range 5 {
		m := sampleMonitor(f.u.ID)
		m.Channels = []int64{f.on.ID, f.unlinked.ID}
		mon, err := s.CreateMonitor(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		transition(t, s, mon.ID, StatusUp, StatusDown, time.Duration(i)*time.Second, Transition{Alert: true})
	}
	ds, err := s.ClaimDeliveries(ctx, f.clk.Now(), 100)
	if err != nil {
		t.Fatal(err)
	}
	per := map[int64]int{}
	for _, d := range ds {
		per[d.ChannelID]++
	}
	if len(ds) != 2*MaxSendingPerChannel || per[f.on.ID] != MaxSendingPerChannel || per[f.unlinked.ID] != MaxSendingPerChannel {
		t.Fatalf("claimed %d: %v, want %d per channel", len(ds), per, MaxSendingPerChannel)
	}
	if more, err := s.ClaimDeliveries(ctx, f.clk.Now(), 100); err != nil || len(more) != 0 {
		t.Errorf("claimed past the per-channel bound: %d, %v", len(more), err)
	}
	if err := s.FinishDelivery(ctx, ds[0].ID, DeliveryAttempt{At: f.clk.Now(), OK: true}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if more, err := s.ClaimDeliveries(ctx, f.clk.Now(), 100); err != nil || len(more) != 1 || more[0].ChannelID != ds[0].ChannelID {
		t.Errorf("after one finished: %+v, %v", more, err)
	}

	// Disabling a channel cancels what it had pending, not what is in flight.
	unl := f.unlinked
	unl.Enabled = false
	if _, err := s.UpdateChannel(ctx, unl); err != nil {
		t.Fatal(err)
	}
	var pending, cancelled, sending int
	for _, d := range allDeliveries(t, s) {
		if d.ChannelID != f.unlinked.ID {
			continue
		}
		switch {
		case d.Status == DeliveryPending:
			pending++
		case d.Status == DeliveryFailed && d.LastError == "channel disabled":
			cancelled++
		case d.Status == DeliverySending:
			sending++
		}
	}
	if pending != 0 || cancelled != 5-MaxSendingPerChannel || sending != MaxSendingPerChannel {
		t.Errorf("after disabling: %d pending, %d cancelled, %d sending", pending, cancelled, sending)
	}
}

func TestResetSendingAndEnqueueTest(t *testing.T) {
	ctx := context.Background()
	f := newAlertFixture(t)
	s := f.s
	transition(t, s, f.m.ID, StatusUp, StatusDown, 0, Transition{Alert: true})
	claimed, err := s.ClaimDeliveries(ctx, f.clk.Now(), 10)
	if err != nil || len(claimed) != 1 {
		t.Fatal(claimed, err)
	}
	// A test message to a disabled channel: allowed, and claimed already.
	ev := mustJSON(AlertEvent{Kind: AlertTest, Monitor: "m", At: f.clk.Now()})
	test, err := s.EnqueueTest(ctx, f.u.ID, f.off.ID, ev)
	if err != nil {
		t.Fatal(err)
	}
	if test.Kind != AlertTest || test.Status != DeliverySending || test.Attempts != 1 || test.MonitorID != 0 ||
		test.IncidentID != 0 || !strings.HasPrefix(test.Key, "test:") || string(test.Event) != string(ev) ||
		string(test.ChannelSettings) != string(f.off.Settings) || test.ChannelType != "webhook" {
		t.Errorf("EnqueueTest = %+v", test)
	}
	test2, err := s.EnqueueTest(ctx, f.u.ID, f.off.ID, nil)
	if err != nil || test2.Key == test.Key || eventOf(t, test2).Kind != AlertTest {
		t.Errorf("second test: %+v, %v", test2, err)
	}
	if more, _ := s.ClaimDeliveries(ctx, f.clk.Now().Add(time.Hour), 10); len(more) != 0 {
		t.Errorf("the dispatcher's claim picked up a test being sent: %+v", more)
	}

	// After a crash, everything in flight is due again, attempts kept.
	f.clk.Add(time.Minute)
	n, err := s.ResetSending(ctx)
	if err != nil || n != 3 {
		t.Fatalf("ResetSending = %d, %v; want 3", n, err)
	}
	for _, d := range allDeliveries(t, s) {
		if d.Status != DeliveryPending || !d.NextAttemptAt.Equal(f.clk.Now()) || d.Attempts != 1 {
			t.Errorf("after reset: %+v", d)
		}
	}
	if n, err := s.ResetSending(ctx); err != nil || n != 0 {
		t.Errorf("second reset: %d, %v", n, err)
	}
	// The disabled channel's test stays put; the down goes again.
	ds, err := s.ClaimDeliveries(ctx, f.clk.Now(), 10)
	if err != nil || len(ds) != 1 || ds[0].ID != claimed[0].ID || ds[0].Attempts != 2 {
		t.Errorf("claim after reset: %+v, %v", ds, err)
	}
}

func TestAlertCascades(t *testing.T) {
	ctx := context.Background()
	f := newAlertFixture(t)
	s := f.s
	other := sampleMonitor(f.u.ID)
	other.Channels = []int64{f.on.ID, f.unlinked.ID}
	m2, err := s.CreateMonitor(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	transition(t, s, f.m.ID, StatusUp, StatusDown, 0, Transition{Alert: true})
	transition(t, s, m2.ID, StatusUp, StatusDown, 0, Transition{Alert: true})
	ds, err := s.ClaimDeliveries(ctx, f.clk.Now(), 10)
	if err != nil || len(ds) != 3 {
		t.Fatal(ds, err)
	}
	for _, d := range ds {
		if err := s.FinishDelivery(ctx, d.ID, DeliveryAttempt{At: f.clk.Now(), OK: true}, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	counts := func() (links, deliveries, attempts int64) {
		return count(t, s, `SELECT count(*) FROM monitor_channels`), count(t, s, `SELECT count(*) FROM deliveries`),
			count(t, s, `SELECT count(*) FROM delivery_attempts`)
	}
	if l, d, a := counts(); l != 4 || d != 3 || a != 3 {
		t.Fatalf("before: %d links, %d deliveries, %d attempts", l, d, a)
	}
	// Deleting a monitor takes its links and deliveries.
	if err := s.DeleteMonitor(ctx, f.u.ID, f.m.ID); err != nil {
		t.Fatal(err)
	}
	if l, d, a := counts(); l != 2 || d != 2 || a != 2 {
		t.Errorf("after deleting a monitor: %d links, %d deliveries, %d attempts", l, d, a)
	}
	// Deleting a channel takes its links, deliveries and attempts.
	if err := s.DeleteChannel(ctx, f.u.ID, f.unlinked.ID); err != nil {
		t.Fatal(err)
	}
	if l, d, a := counts(); l != 1 || d != 1 || a != 1 {
		t.Errorf("after deleting a channel: %d links, %d deliveries, %d attempts", l, d, a)
	}
	// A delivery being sent when its channel goes: finishing it is ErrNotFound.
	if err := s.DeleteChannel(ctx, f.u.ID, f.on.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishDelivery(ctx, ds[0].ID, DeliveryAttempt{At: f.clk.Now(), OK: true}, time.Time{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("finish after the channel was deleted: %v", err)
	}
	// Deleting the user takes the rest.
	if _, err := s.w.Exec(`DELETE FROM users WHERE id = ?`, f.u.ID); err != nil {
		t.Fatal(err)
	}
	if n := count(t, s, `SELECT count(*) FROM channels WHERE user_id = ?`, f.u.ID); n != 0 {
		t.Errorf("%d channels left after deleting their user", n)
	}
}

func TestMaintainPrunesDeliveries(t *testing.T) {
	ctx := context.Background()
	f := newAlertFixture(t)
	s := f.s
	start := f.clk.Now()
	transition(t, s, f.m.ID, StatusUp, StatusDown, 0, Transition{Alert: true})
	ds, _ := s.ClaimDeliveries(ctx, start, 10)
	if err := s.FinishDelivery(ctx, ds[0].ID, DeliveryAttempt{At: start, OK: true}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	// A test left sending (its process died, not restarted yet) is kept.
	if _, err := s.EnqueueTest(ctx, f.u.ID, f.on.ID, nil); err != nil {
		t.Fatal(err)
	}
	f.clk.Add(20 * 24 * time.Hour)
	transition(t, s, f.m.ID, StatusDown, StatusUp, 20*24*time.Hour, Transition{Alert: true})

	f.clk.Add(11 * 24 * time.Hour)
	rep, err := s.MaintainOnce(ctx, MaintenanceConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Deliveries != 1 {
		t.Errorf("pruned %d deliveries, want 1", rep.Deliveries)
	}
	if got := keysOf(allDeliveries(t, s)); len(got) != 2 || !strings.HasPrefix(got[0], "test:") || !strings.HasSuffix(got[1], ":up") {
		t.Errorf("left: %v", got)
	}
	if n := count(t, s, `SELECT count(*) FROM delivery_attempts`); n != 0 {
		t.Errorf("%d attempts left of pruned deliveries", n)
	}
	if rep, err := s.MaintainOnce(ctx, MaintenanceConfig{DeliveryRetention: -1}); err != nil || rep.Deliveries != 0 {
		t.Errorf("retention < 0: %+v, %v", rep, err)
	}
}

func TestAlertQueryPlans(t *testing.T) {
	s := openTest(t)
	for _, c := range []struct{ query, index string }{
		{`SELECT 1 FROM deliveries WHERE status = 'pending' AND next_attempt_at <= 5`, "deliveries_due"},
		{`SELECT d.id FROM deliveries AS d WHERE d.channel_id = 1 ORDER BY d.created_at DESC, d.id DESC LIMIT 10`, "deliveries_channel_created"},
		{`SELECT 1 FROM deliveries AS p WHERE p.monitor_id = 1 AND p.channel_id = 2 AND p.id < 9 AND p.status IN ('pending', 'sending')`, "deliveries_monitor_channel"},
		{`SELECT 1 FROM deliveries WHERE incident_id = 3`, "deliveries_incident_id"},
		{`SELECT 1 FROM deliveries WHERE channel_id = 1 AND event_key = 'k'`, "sqlite_autoindex_deliveries"},
	} {
		plan := planOf(t, s, c.query)
		if !strings.Contains(plan, c.index) || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s\nplan: %s (want %s)", c.query, plan, c.index)
		}
	}
	// Reminders start from the open incidents, never from every link.
	if plan := planOf(t, s, dueReminders, 0); !strings.HasPrefix(plan, "SCAN i USING INDEX incidents_open_monitor") ||
		strings.Contains(plan, "SCAN mc") || strings.Contains(plan, "SCAN d") {
		t.Errorf("due reminders plan: %s", plan)
	}
	if plan := planOf(t, s, cancelStaleReminders, 0); !strings.Contains(plan, "deliveries_due") {
		t.Errorf("stale reminder sweep plan: %s", plan)
	}
	// The claim itself: no full scan of deliveries.
	plan := planOf(t, s, claimDue, 0, 10, MaxSendingPerChannel)
	if strings.Contains(plan, "SCAN d ") || strings.HasSuffix(plan, "SCAN d") || strings.Contains(plan, "SCAN deliveries") {
		t.Errorf("claim scans deliveries: %s", plan)
	}
}

func TestStaleRemindersCancelledAtClaim(t *testing.T) {
	ctx := context.Background()
	f := newAlertFixture(t)
	s := f.s
	m := f.m
	m.ReminderEvery = time.Minute
	if _, err := s.UpdateMonitor(ctx, m); err != nil {
		t.Fatal(err)
	}
	second := sampleMonitor(f.u.ID)
	second.Channels, second.ReminderEvery = []int64{f.on.ID}, time.Minute
	m2, err := s.CreateMonitor(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	start := f.clk.Now()
	transition(t, s, f.m.ID, StatusUp, StatusDown, 0, Transition{Alert: true})
	transition(t, s, m2.ID, StatusUp, StatusDown, 0, Transition{Alert: true})
	ds, err := s.ClaimDeliveries(ctx, start, 10)
	if err != nil || len(ds) != 2 {
		t.Fatal(ds, err)
	}
	for _, d := range ds {
		if err := s.FinishDelivery(ctx, d.ID, DeliveryAttempt{At: start, OK: true}, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.EnqueueReminders(ctx, start.Add(time.Minute)); n != 2 || err != nil {
		t.Fatalf("reminders: %d, %v", n, err)
	}
	// Before they go: the first monitor is paused, the second incident acknowledged.
	m.Paused = true
	if _, err := s.UpdateMonitor(ctx, m); err != nil {
		t.Fatal(err)
	}
	in := incidents(t, s, f.u.ID, IncidentFilter{MonitorID: m2.ID})[0]
	if _, err := s.AcknowledgeIncident(ctx, f.u.ID, in.ID, f.u.ID); err != nil {
		t.Fatal(err)
	}
	if ds, err := s.ClaimDeliveries(ctx, start.Add(time.Minute), 10); err != nil || len(ds) != 0 {
		t.Errorf("claimed stale reminders: %+v, %v", ds, err)
	}
	for _, d := range allDeliveries(t, s) {
		if d.Kind == AlertReminder && (d.Status != DeliveryFailed || !strings.HasPrefix(d.LastError, "cancelled")) {
			t.Errorf("stale reminder: %+v", d)
		}
	}
}
