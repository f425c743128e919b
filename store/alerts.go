package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Channel is a user's notification channel: a notify type and its
// settings. Settings hold secrets in the clear; the store never redacts
// them (the app does, with notify.Redact, before showing them).
type Channel struct {
	ID        int64
	UserID    int64
	Name      string
	Type      string          // a notify type, e.g. "slack"; validated by the app
	Settings  json.RawMessage // a JSON object; empty means {}
	Enabled   bool            // disabled: nothing is queued for it, and what was queued is cancelled
	Default   bool            // linked to the user's new monitors
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Delivery statuses.
const (
	DeliveryPending = "pending" // waiting for NextAttemptAt
	DeliverySending = "sending" // claimed by a dispatcher
	DeliverySent    = "sent"
	DeliveryFailed  = "failed" // out of attempts, unfixable by retrying, or cancelled
)

// Alert kinds, the Kind of a Delivery and of its AlertEvent.
const (
	AlertDown     = "down"
	AlertUp       = "up"
	AlertReminder = "reminder"
	AlertTest     = "test"
	AlertDegraded = "degraded" // with the monitor's AlertDegraded
)

// Delivery is one message to one channel about one event.
type Delivery struct {
	ID         int64
	ChannelID  int64
	MonitorID  int64 // 0 for a test message
	IncidentID int64 // 0 for a test message
	Kind       string
	Key        string // the event's identity within the channel, e.g. "incident:12:down"
	Status     string
	Attempts   int             // attempts started so far, the current one included
	Event      json.RawMessage // an AlertEvent, as queued
	CreatedAt  time.Time
	// NextAttemptAt is when a pending delivery is due; for others, when
	// it last was.
	NextAttemptAt time.Time
	SentAt        time.Time // zero unless sent
	LastError     string    // the last failed attempt's error, "" if none

	// ChannelType is filled by every read; ChannelSettings (secrets
	// included) only by ClaimDeliveries and EnqueueTest, for sending.
	ChannelType     string
	ChannelSettings json.RawMessage
	// OwnerAdmin is whether the channel's owner is an admin, filled with
	// ChannelSettings: the egress policy may let only admins' channels
	// reach private addresses.
	OwnerAdmin bool
}

// DeliveryAttempt is one try at sending a Delivery.
type DeliveryAttempt struct {
	DeliveryID int64
	At         time.Time
	OK         bool
	Error      string // "" when OK; never holds a channel's secrets (notify's errors carry no URLs)
	Duration   time.Duration
}

// AlertEvent is the snapshot a Delivery carries: what to say, taken when
// the delivery is queued, so a monitor renamed or changed since still
// alerts with what was true then. Its fields are notify.Event's (the
// dispatcher adds the link); times are UTC.
type AlertEvent struct {
	Kind       string    `json:"kind"`
	MonitorID  int64     `json:"monitor_id,omitempty"`
	Monitor    string    `json:"monitor,omitempty"` // the monitor's name
	URL        string    `json:"url,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Error      string    `json:"error,omitempty"`
	StatusCode int       `json:"status_code,omitempty"`
	StartedAt  time.Time `json:"started_at,omitzero"` // the incident's start
	At         time.Time `json:"at"`                  // when the event happened
	// DurationMS is, for "up", how long the monitor was down; for
	// "reminder", how long it has been down so far.
	DurationMS int64 `json:"duration_ms,omitempty"`
	// From is, for "up", the state it recovered from: "down" (the
	// default when empty) or "degraded".
	From string `json:"from,omitempty"`
	// Window is, for "maintenance_start" and "maintenance_end", the
	// maintenance window's title.
	Window string `json:"window,omitempty"`
	// Changes is, for "flapping" and "flapping_end", how many times the
	// monitor changed state (within its window; while it flapped).
	Changes int `json:"changes,omitempty"`
}

// Duration is DurationMS as a time.Duration.
func (e AlertEvent) Duration() time.Duration { return time.Duration(e.DurationMS) * time.Millisecond }

// MaxSendingPerChannel bounds the deliveries of one channel in flight at
// once (ClaimDeliveries): a slow or hanging endpoint holds at most this
// many of the dispatcher's workers, and a burst of alerts reaches one
// channel at a pace its rate limits are likely to accept.
const MaxSendingPerChannel = 2

// maxDeliveryError bounds LastError and an attempt's error.
const maxDeliveryError = 1000

// DefaultDeliveryRetention is how long deliveries and their attempts are
// kept for the channel log.
const DefaultDeliveryRetention = 30 * 24 * time.Hour

// reminderMinutes is ReminderEvery as stored: whole minutes, a part of a
// minute rounded up so that a short setting never silently means "off".
func reminderMinutes(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Minute - 1) / time.Minute)
}

// ---- channels ----

const channelColumns = `id, user_id, name, type, settings, enabled, is_default, created_at, updated_at`

func scanChannel(r rowScanner) (Channel, error) {
	var (
		c                Channel
		settings         string
		created, updated int64
	)
	if err := r.Scan(&c.ID, &c.UserID, &c.Name, &c.Type, &settings, &c.Enabled, &c.Default, &created, &updated); err != nil {
		return Channel{}, err
	}
	c.Settings = json.RawMessage(settings)
	c.CreatedAt, c.UpdatedAt = fromMillis(created), fromMillis(updated)
	return c, nil
}

func getChannel(ctx context.Context, q queryer, userID, id int64) (Channel, error) {
	c, err := scanChannel(q.QueryRowContext(ctx, `SELECT `+channelColumns+` FROM channels WHERE id = ? AND user_id = ?`, id, userID))
	return c, notFound(err)
}

func channelSettings(raw json.RawMessage) (string, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return "{}", nil
	}
	if !json.Valid([]byte(s)) {
		return "", errors.New("settings are not valid JSON")
	}
	return s, nil
}

// CreateChannel stores a new channel for c.UserID; ID and the timestamps of
// c are ignored. ErrNotFound if the user does not exist. The store checks
// only that Settings is JSON: validate them with notify.New first.
func (s *Store) CreateChannel(ctx context.Context, c Channel) (Channel, error) {
	settings, err := channelSettings(c.Settings)
	if err != nil {
		return Channel{}, fmt.Errorf("store: create channel: %w", err)
	}
	now := toMillis(s.now())
	var out Channel
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkQuota(ctx, tx, c.UserID, QuotaChannels); err != nil {
			return err
		}
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO channels (id, user_id, name, type, settings, enabled, is_default,
			created_at, updated_at) VALUES (`+nextID("channels")+`, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			c.UserID, c.Name, c.Type, settings, boolInt(c.Enabled), boolInt(c.Default), now, now).Scan(&id)
		if isForeignKeyViolation(err) {
			return fmt.Errorf("user %d: %w", c.UserID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		out, err = getChannel(ctx, tx, c.UserID, id)
		return err
	})
	if err != nil {
		return Channel{}, fmt.Errorf("store: create channel: %w", err)
	}
	return out, nil
}

// UpdateChannel replaces name, type, settings, Enabled and Default of
// channel c.ID owned by c.UserID (else ErrNotFound). Disabling a channel
// cancels its pending deliveries (they become failed, "channel disabled"):
// alerts held back while it was off would be stale when it is turned on
// again.
func (s *Store) UpdateChannel(ctx context.Context, c Channel) (Channel, error) {
	settings, err := channelSettings(c.Settings)
	if err != nil {
		return Channel{}, fmt.Errorf("store: update channel %d: %w", c.ID, err)
	}
	var out Channel
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := execOne(ctx, tx, `UPDATE channels SET name = ?, type = ?, settings = ?, enabled = ?, is_default = ?,
			updated_at = ? WHERE id = ? AND user_id = ?`,
			c.Name, c.Type, settings, boolInt(c.Enabled), boolInt(c.Default), toMillis(s.now()), c.ID, c.UserID)
		if err != nil {
			return err
		}
		if !c.Enabled {
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET status = 'failed', last_error = 'channel disabled'
				WHERE channel_id = ? AND status = 'pending'`, c.ID); err != nil {
				return err
			}
		}
		out, err = getChannel(ctx, tx, c.UserID, c.ID)
		return err
	})
	if err != nil {
		return Channel{}, fmt.Errorf("store: update channel %d: %w", c.ID, err)
	}
	return out, nil
}

// DeleteChannel removes a user's channel with its monitor links and
// deliveries (ErrNotFound if it is not the user's).
func (s *Store) DeleteChannel(ctx context.Context, userID, id int64) error {
	if err := execOne(ctx, s.w, `DELETE FROM channels WHERE id = ? AND user_id = ?`, id, userID); err != nil {
		return fmt.Errorf("store: delete channel %d: %w", id, err)
	}
	return nil
}

// GetChannel returns a channel of userID; another user's is ErrNotFound.
func (s *Store) GetChannel(ctx context.Context, userID, id int64) (Channel, error) {
	c, err := getChannel(ctx, s.r, userID, id)
	if err != nil {
		return Channel{}, fmt.Errorf("store: channel %d: %w", id, err)
	}
	return c, nil
}

// ListChannels returns a user's channels by id.
func (s *Store) ListChannels(ctx context.Context, userID int64) ([]Channel, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+channelColumns+` FROM channels WHERE user_id = ? ORDER BY id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list channels of user %d: %w", userID, err)
	}
	defer rows.Close()
	var out []Channel
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list channels of user %d: %w", userID, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list channels of user %d: %w", userID, err)
	}
	return out, nil
}

// ---- monitor links ----

// SetMonitorChannels makes channelIDs the channels monitor monitorID
// alerts. The monitor and every channel must be userID's, else ErrNotFound
// and nothing changes. Duplicates are ignored; an empty list unlinks all.
func (s *Store) SetMonitorChannels(ctx context.Context, userID, monitorID int64, channelIDs []int64) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM monitors WHERE id = ? AND user_id = ?`, monitorID, userID).Scan(&one)
		if err != nil {
			return notFound(err)
		}
		return replaceChannels(ctx, tx, userID, monitorID, channelIDs)
	})
	if err != nil {
		return fmt.Errorf("store: set channels of monitor %d: %w", monitorID, err)
	}
	return nil
}

// MonitorChannels returns the ids of the channels a monitor alerts,
// ascending. It does not check who owns the monitor: callers serving a
// user check that first (the ids are all the owner's channels anyway).
func (s *Store) MonitorChannels(ctx context.Context, monitorID int64) ([]int64, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT channel_id FROM monitor_channels WHERE monitor_id = ? ORDER BY channel_id`, monitorID)
	if err != nil {
		return nil, fmt.Errorf("store: channels of monitor %d: %w", monitorID, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: channels of monitor %d: %w", monitorID, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: channels of monitor %d: %w", monitorID, err)
	}
	return ids, nil
}

// linkChannels links a new monitor to ids, or to the user's default
// channels when ids is nil.
func linkChannels(ctx context.Context, tx *sql.Tx, userID, monitorID int64, ids []int64) error {
	if ids == nil {
		_, err := tx.ExecContext(ctx, `INSERT INTO monitor_channels (monitor_id, channel_id)
			SELECT ?, id FROM channels WHERE user_id = ? AND is_default = 1`, monitorID, userID)
		return err
	}
	return replaceChannels(ctx, tx, userID, monitorID, ids)
}

// replaceChannels makes ids the monitor's channels after checking that
// every one is userID's.
func replaceChannels(ctx context.Context, tx *sql.Tx, userID, monitorID int64, ids []int64) error {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) > 0 {
		// One query for the whole set: json_each turns the list into rows.
		list, _ := json.Marshal(ids) // []int64 always encodes
		var mine int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM channels
			WHERE user_id = ? AND id IN (SELECT value FROM json_each(?))`, userID, string(list)).Scan(&mine)
		if err != nil {
			return err
		}
		if mine != len(ids) {
			return fmt.Errorf("channel: %w", ErrNotFound)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM monitor_channels WHERE monitor_id = ?`, monitorID); err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `INSERT INTO monitor_channels (monitor_id, channel_id) VALUES (?, ?)`, monitorID, id); err != nil {
			return err
		}
	}
	return nil
}

// ---- enqueueing ----

// enqueueForMonitor queues one delivery of ev, under key, to every enabled
// channel of the monitor; a (channel, key) already queued is left as is.
const enqueueForMonitor = `INSERT OR IGNORE INTO deliveries (channel_id, monitor_id, incident_id, kind, event_key,
	status, attempts, event, created_at, next_attempt_at)
	SELECT c.id, ?1, ?2, ?3, ?4, 'pending', 0, ?5, ?6, ?6
	FROM monitor_channels AS mc JOIN channels AS c ON c.id = mc.channel_id
	WHERE mc.monitor_id = ?1 AND c.enabled = 1`

func incidentKey(incidentID int64, kind string) string {
	return "incident:" + strconv.FormatInt(incidentID, 10) + ":" + kind
}

func openIncidentID(ctx context.Context, tx *sql.Tx, monitorID int64) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM incidents WHERE monitor_id = ? AND resolved_at IS NULL`, monitorID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// enqueueTransition queues the alerts of a transition with Alert set, in
// the transaction that applied it: "down" for the monitor's open incident
// after a transition to down, "up" for the incident resolving (the one
// open before a transition to up). Anything else alerts nobody.
func enqueueTransition(ctx context.Context, tx *sql.Tx, monitorID int64, at time.Time, t *Transition, resolving int64, now time.Time) error {
	if t.To == StatusFlapping || t.From == StatusFlapping {
		return enqueueFlapping(ctx, tx, monitorID, at, t, now)
	}
	if t.To == StatusMaintenance || t.From == StatusMaintenance && t.To != StatusDown {
		return enqueueMaintenance(ctx, tx, monitorID, at, t, now)
	}
	var incident int64
	switch t.To {
	case StatusDown:
		var err error
		if incident, err = openIncidentID(ctx, tx, monitorID); err != nil {
			return err
		}
	case StatusUp, StatusDegraded:
		incident = resolving
	}
	if incident == 0 {
		return enqueueDegraded(ctx, tx, monitorID, at, t, now)
	}
	ev := AlertEvent{Kind: t.To, MonitorID: monitorID}
	var started int64
	var resolved sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT m.name, m.url, i.started_at, i.resolved_at, i.reason, i.error, i.status_code
		FROM incidents AS i JOIN monitors AS m ON m.id = i.monitor_id WHERE i.id = ?`, incident).Scan(
		&ev.Monitor, &ev.URL, &started, &resolved, &ev.Reason, &ev.Error, &ev.StatusCode)
	if err != nil {
		return err
	}
	ev.StartedAt, ev.At = fromMillis(started), at.UTC().Truncate(time.Millisecond)
	if t.To != StatusDown {
		ev.Kind = StatusUp // a recovery, also when it comes back degraded
		// What it was down for belongs to the down alert; a recovery says
		// how long it lasted.
		ev.Reason, ev.Error, ev.StatusCode = "", "", 0
		if resolved.Valid {
			ev.At = fromMillis(resolved.Int64)
			ev.DurationMS = resolved.Int64 - started
		}
		// A reminder still waiting for a retry would now say something
		// false, and after the recovery at that.
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET status = 'failed', last_error = 'superseded by recovery'
			WHERE incident_id = ? AND kind = 'reminder' AND status = 'pending'`, incident); err != nil {
			return err
		}
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	key := incidentKey(incident, ev.Kind)
	if _, err = tx.ExecContext(ctx, enqueueForMonitor, monitorID, incident, ev.Kind, key, string(body), toMillis(now)); err != nil {
		return err
	}
	return markEarly(ctx, tx, monitorID, key, t.Early)
}

// enqueueDegraded queues the alerts of a monitor that alerts on degraded:
// "degraded" when it becomes degraded, "up" (from degraded) when it is
// healthy again. They belong to no incident (incidents are downtime); the
// transition's time makes the event key, so a replay queues nothing new.
func enqueueDegraded(ctx context.Context, tx *sql.Tx, monitorID int64, at time.Time, t *Transition, now time.Time) error {
	ev := AlertEvent{Kind: t.To, MonitorID: monitorID, At: at.UTC().Truncate(time.Millisecond)}
	switch {
	case t.To == StatusDegraded:
		ev.Reason, ev.Error, ev.StartedAt = t.Reason, t.Error, ev.At
	case t.To == StatusUp && t.From == StatusDegraded:
		ev.From = StatusDegraded
		if !t.PrevSince.IsZero() {
			ev.StartedAt = t.PrevSince.UTC().Truncate(time.Millisecond)
			ev.DurationMS = max(0, toMillis(at)-toMillis(t.PrevSince))
		}
	default:
		return nil
	}
	if err := tx.QueryRowContext(ctx, `SELECT name, url FROM monitors WHERE id = ?`, monitorID).Scan(&ev.Monitor, &ev.URL); err != nil {
		return err
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	key := "degraded:" + strconv.FormatInt(monitorID, 10) + ":" + strconv.FormatInt(toMillis(at), 10) + ":" + ev.Kind
	if _, err = tx.ExecContext(ctx, enqueueForMonitor, monitorID, nil, ev.Kind, key, string(body), toMillis(now)); err != nil {
		return err
	}
	return markEarly(ctx, tx, monitorID, key, t.Early)
}

// Maintenance notification kinds.
const (
	KindMaintenanceStart = "maintenance_start"
	KindMaintenanceEnd   = "maintenance_end"
)

// enqueueMaintenance queues "maintenance_start" (into maintenance) or
// "maintenance_end" (out of it, not into down) for a window that asks for
// notifications; keyed by the transition's time, so a replay queues
// nothing new.
func enqueueMaintenance(ctx context.Context, tx *sql.Tx, monitorID int64, at time.Time, t *Transition, now time.Time) error {
	ev := AlertEvent{Kind: KindMaintenanceStart, MonitorID: monitorID, At: at.UTC().Truncate(time.Millisecond), Window: t.Window}
	if t.To != StatusMaintenance {
		ev.Kind, ev.From = KindMaintenanceEnd, t.To
		if !t.PrevSince.IsZero() {
			ev.StartedAt = t.PrevSince.UTC().Truncate(time.Millisecond)
			ev.DurationMS = max(0, toMillis(at)-toMillis(t.PrevSince))
		}
	}
	if err := tx.QueryRowContext(ctx, `SELECT name, url FROM monitors WHERE id = ?`, monitorID).Scan(&ev.Monitor, &ev.URL); err != nil {
		return err
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	key := "maintenance:" + strconv.FormatInt(monitorID, 10) + ":" + strconv.FormatInt(toMillis(at), 10) + ":" + ev.Kind
	if _, err = tx.ExecContext(ctx, enqueueForMonitor, monitorID, nil, ev.Kind, key, string(body), toMillis(now)); err != nil {
		return err
	}
	return markEarly(ctx, tx, monitorID, key, t.Early)
}

// flappingEvent is the alert of a transition into flapping ("flapping")
// or out of it ("flapping_end": a summary, with the state it settled in).
func flappingEvent(t *Transition, at time.Time) AlertEvent {
	ev := AlertEvent{Kind: KindFlapping, MonitorID: t.MonitorID, At: at.UTC().Truncate(time.Millisecond),
		Changes: t.Changes, Reason: t.Reason, Error: t.Error}
	if t.To != StatusFlapping {
		ev.Kind, ev.From, ev.Reason, ev.Error = KindFlappingEnd, t.To, "", ""
		if t.To == StatusDown {
			ev.Reason, ev.Error, ev.StatusCode = t.Reason, t.Error, t.StatusCode
		}
		if !t.PrevSince.IsZero() {
			ev.StartedAt = t.PrevSince.UTC().Truncate(time.Millisecond)
			ev.DurationMS = max(0, toMillis(at)-toMillis(t.PrevSince))
		}
	}
	return ev
}

// enqueueFlapping queues "flapping" or "flapping_end", keyed by the
// transition's time.
func enqueueFlapping(ctx context.Context, tx *sql.Tx, monitorID int64, at time.Time, t *Transition, now time.Time) error {
	ev := flappingEvent(t, at)
	ev.MonitorID = monitorID
	if err := tx.QueryRowContext(ctx, `SELECT name, url FROM monitors WHERE id = ?`, monitorID).Scan(&ev.Monitor, &ev.URL); err != nil {
		return err
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	key := "flapping:" + strconv.FormatInt(monitorID, 10) + ":" + strconv.FormatInt(toMillis(at), 10) + ":" + ev.Kind
	if _, err = tx.ExecContext(ctx, enqueueForMonitor, monitorID, nil, ev.Kind, key, string(body), toMillis(now)); err != nil {
		return err
	}
	return markEarly(ctx, tx, monitorID, key, t.Early)
}

// EnqueueReminders queues a "reminder" to every enabled channel of each
// monitor with reminders on, for each of its open, unacknowledged
// incidents that has been open for at least one reminder period: the k-th
// under the key "incident:<id>:reminder:<k>", k = floor((now-started) /
// every). So there is at most one per period, none before the first, and
// after a long pause of the dispatcher only the current one, never a
// backlog. It returns how many deliveries it queued.
//
// It reads first and writes only when something is missing, so calling it
// every second costs no write transaction.
func (s *Store) EnqueueReminders(ctx context.Context, now time.Time) (int, error) {
	n, err := s.enqueueReminders(ctx, now)
	if err != nil {
		return n, fmt.Errorf("store: enqueue reminders: %w", err)
	}
	return n, nil
}

// dueReminders lists, for time ?1, the reminders due and not yet queued:
// one row per channel of each open incident past its first period. The
// CROSS JOINs keep SQLite starting from the few open incidents (the
// partial index), whatever its statistics say, rather than from every
// monitor's links.
const dueReminders = `SELECT c.id, i.id, i.monitor_id, m.name, m.url, i.started_at,
	i.reason, i.error, i.status_code, ` + reminderPeriod + `
	FROM incidents AS i
	CROSS JOIN monitors AS m ON m.id = i.monitor_id
	CROSS JOIN monitor_channels AS mc ON mc.monitor_id = m.id
	CROSS JOIN channels AS c ON c.id = mc.channel_id
	WHERE i.resolved_at IS NULL AND i.acked_at IS NULL AND m.reminder_minutes > 0 AND c.enabled = 1
	AND ` + reminderPeriod + ` >= 1
	AND NOT EXISTS (SELECT 1 FROM deliveries AS d
		WHERE d.channel_id = c.id AND d.event_key = 'incident:' || i.id || ':reminder:' || ` + reminderPeriod + `)`

// reminderPeriod is k, the number of whole reminder periods since the
// incident started at time ?1 (integer division: floor for k >= 0).
const reminderPeriod = `((?1 - i.started_at) / (m.reminder_minutes * 60000))`

type reminder struct {
	channel, incident int64
	key               string
	ev                AlertEvent
}

func (s *Store) enqueueReminders(ctx context.Context, now time.Time) (int, error) {
	nowMS := toMillis(now)
	rows, err := s.r.QueryContext(ctx, dueReminders, nowMS)
	if err != nil {
		return 0, err
	}
	var todo []reminder
	for rows.Next() {
		var r reminder
		var started, period int64
		if err := rows.Scan(&r.channel, &r.incident, &r.ev.MonitorID, &r.ev.Monitor, &r.ev.URL, &started,
			&r.ev.Reason, &r.ev.Error, &r.ev.StatusCode, &period); err != nil {
			rows.Close()
			return 0, err
		}
		r.key = incidentKey(r.incident, AlertReminder) + ":" + strconv.FormatInt(period, 10)
		r.ev.Kind = AlertReminder
		r.ev.StartedAt, r.ev.At = fromMillis(started), fromMillis(nowMS)
		r.ev.DurationMS = nowMS - started
		todo = append(todo, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(todo) == 0 {
		return 0, nil
	}
	var queued int
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		queued = 0
		// The incident may have been resolved (and its recovery queued)
		// since the read, and the channel disabled: check again under the
		// write lock.
		ins, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO deliveries (channel_id, monitor_id, incident_id,
			kind, event_key, status, attempts, event, created_at, next_attempt_at)
			SELECT ?1, ?2, ?3, 'reminder', ?4, 'pending', 0, ?5, ?6, ?6
			WHERE EXISTS (SELECT 1 FROM incidents WHERE id = ?3 AND resolved_at IS NULL AND acked_at IS NULL)
			AND EXISTS (SELECT 1 FROM channels WHERE id = ?1 AND enabled = 1)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		created := toMillis(s.now())
		for _, r := range todo {
			body, err := json.Marshal(r.ev)
			if err != nil {
				return err
			}
			res, err := ins.ExecContext(ctx, r.channel, r.ev.MonitorID, r.incident, r.key, string(body), created)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			queued += int(n)
		}
		return nil
	})
	return queued, err
}

// EnqueueTest queues a "test" message to a channel of userID (ErrNotFound
// otherwise), enabled or not, under a key of its own. The delivery comes
// back already claimed (sending, one attempt), with the channel's type and
// settings, for the caller to send at once (notify.Dispatcher.SendNow) and
// finish: the dispatcher's loop never picks it up, unless the process dies
// before it is finished. event is an AlertEvent; empty means a bare test
// event at the store's clock.
func (s *Store) EnqueueTest(ctx context.Context, userID, channelID int64, event json.RawMessage) (Delivery, error) {
	now := s.now()
	if len(strings.TrimSpace(string(event))) == 0 {
		event, _ = json.Marshal(AlertEvent{Kind: AlertTest, At: now.UTC().Truncate(time.Millisecond)})
	}
	if !json.Valid(event) {
		return Delivery{}, fmt.Errorf("store: enqueue test to channel %d: event is not valid JSON", channelID)
	}
	var out Delivery
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := getChannel(ctx, tx, userID, channelID); err != nil {
			return err
		}
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO deliveries (channel_id, kind, event_key, status, attempts, event,
			created_at, next_attempt_at) VALUES (?, 'test', ?, 'sending', 1, ?, ?, ?) RETURNING id`,
			channelID, "test:"+rand.Text(), string(event), toMillis(now), toMillis(now)).Scan(&id)
		if err != nil {
			return err
		}
		ds, err := queryDeliveries(ctx, tx, true, `WHERE d.id = ?`, id)
		if err != nil {
			return err
		}
		out = ds[0]
		return nil
	})
	if err != nil {
		return Delivery{}, fmt.Errorf("store: enqueue test to channel %d: %w", channelID, err)
	}
	return out, nil
}

// ---- the dispatcher's side ----

const deliveryColumns = `d.id, d.channel_id, coalesce(d.monitor_id, 0), coalesce(d.incident_id, 0), d.kind,
	d.event_key, d.status, d.attempts, d.event, d.created_at, d.next_attempt_at, d.sent_at, d.last_error, c.type`

func queryDeliveries(ctx context.Context, q queryer, withSettings bool, where string, args ...any) ([]Delivery, error) {
	cols := deliveryColumns
	if withSettings {
		cols += `, c.settings, coalesce((SELECT admin FROM users WHERE users.id = c.user_id), 0)`
	}
	rows, err := q.QueryContext(ctx, `SELECT `+cols+` FROM deliveries AS d JOIN channels AS c ON c.id = d.channel_id `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		var (
			d               Delivery
			event, settings string
			created, next   int64
			sent            sql.NullInt64
		)
		dest := []any{&d.ID, &d.ChannelID, &d.MonitorID, &d.IncidentID, &d.Kind, &d.Key, &d.Status, &d.Attempts,
			&event, &created, &next, &sent, &d.LastError, &d.ChannelType}
		if withSettings {
			dest = append(dest, &settings, &d.OwnerAdmin)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		d.Event = json.RawMessage(event)
		d.CreatedAt, d.NextAttemptAt = fromMillis(created), fromMillis(next)
		if sent.Valid {
			d.SentAt = fromMillis(sent.Int64)
		}
		if withSettings {
			d.ChannelSettings = json.RawMessage(settings)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// claimDue picks the due deliveries to claim, oldest due first, skipping
// disabled channels, deliveries that must wait for an earlier one of the
// same monitor to the same channel (so "up" never overtakes the "down"
// still being retried), and what would put more than
// MaxSendingPerChannel of one channel in flight.
const claimDue = `WITH busy AS (
		SELECT channel_id, count(*) AS n FROM deliveries WHERE status = 'sending' GROUP BY channel_id
	), due AS (
		SELECT d.id, d.channel_id, d.next_attempt_at,
			row_number() OVER (PARTITION BY d.channel_id ORDER BY d.next_attempt_at, d.id) AS rn
		FROM deliveries AS d JOIN channels AS c ON c.id = d.channel_id
		WHERE d.status = 'pending' AND d.next_attempt_at <= ?1 AND c.enabled = 1
		AND NOT EXISTS (SELECT 1 FROM deliveries AS p
			WHERE p.monitor_id = d.monitor_id AND p.channel_id = d.channel_id AND p.id < d.id
			AND p.status IN ('pending', 'sending'))
	)
	SELECT due.id FROM due LEFT JOIN busy USING (channel_id)
	WHERE due.rn + coalesce(busy.n, 0) <= ?3
	ORDER BY due.next_attempt_at, due.id LIMIT ?2`

// cancelStaleReminders fails the due reminders (and escalations) whose incident ended (by
// pausing, say) or was acknowledged while they waited: they would say
// something no longer true.
const cancelStaleReminders = `UPDATE deliveries SET status = 'failed',
	last_error = 'cancelled: incident resolved or acknowledged'
	WHERE status = 'pending' AND next_attempt_at <= ?1 AND kind IN ('reminder', 'escalation')
	AND EXISTS (SELECT 1 FROM incidents AS i WHERE i.id = deliveries.incident_id
		AND (i.resolved_at IS NOT NULL OR i.acked_at IS NOT NULL))`

// ClaimDeliveries moves up to limit due pending deliveries (NextAttemptAt
// <= now) of enabled channels to sending, counting the attempt, in one
// transaction, and returns them with their channel's type and settings.
// A monitor's deliveries to a channel go out in the order they were
// queued, and at most MaxSendingPerChannel of a channel are in flight.
// Due reminders of an incident that has ended or been acknowledged are
// cancelled (failed) instead. Finish each with FinishDelivery.
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	nowMS := toMillis(now)
	// Most calls find nothing due: answer those from the read pool instead
	// of taking the write lock from the result sink every second.
	var due bool
	if err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM deliveries AS d
		JOIN channels AS c ON c.id = d.channel_id
		WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND c.enabled = 1)`, nowMS).Scan(&due); err != nil {
		return nil, fmt.Errorf("store: claim deliveries: %w", err)
	}
	if !due {
		return nil, nil
	}
	var out []Delivery
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		out = nil
		if _, err := tx.ExecContext(ctx, cancelStaleReminders, nowMS); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, claimDue, nowMS, limit, MaxSendingPerChannel)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET status = 'sending', attempts = attempts + 1
				WHERE id = ?`, id); err != nil {
				return err
			}
			ds, err := queryDeliveries(ctx, tx, true, `WHERE d.id = ?`, id)
			if err != nil {
				return err
			}
			out = append(out, ds...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim deliveries: %w", err)
	}
	return out, nil
}

// FinishDelivery records the attempt a on delivery id (which must be
// sending, else ErrNotFound: e.g. its channel was deleted meanwhile) and
// moves it on: to sent if a.OK; back to pending, due at retryAt, if the
// attempt failed and retryAt is set; to failed if it failed and retryAt is
// zero.
func (s *Store) FinishDelivery(ctx context.Context, id int64, a DeliveryAttempt, retryAt time.Time) error {
	at := toMillis(a.At)
	msg := cutUTF8(a.Error, maxDeliveryError)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		switch {
		case a.OK:
			err = execOne(ctx, tx, `UPDATE deliveries SET status = 'sent', sent_at = ?1, next_attempt_at = ?1,
				last_error = '' WHERE id = ?2 AND status = 'sending'`, at, id)
		case !retryAt.IsZero():
			err = execOne(ctx, tx, `UPDATE deliveries SET status = 'pending', next_attempt_at = ?, last_error = ?
				WHERE id = ? AND status = 'sending'`, toMillis(retryAt), msg, id)
		default:
			err = execOne(ctx, tx, `UPDATE deliveries SET status = 'failed', next_attempt_at = ?, last_error = ?
				WHERE id = ? AND status = 'sending'`, at, msg, id)
		}
		if err != nil {
			return err
		}
		if a.OK {
			msg = ""
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO delivery_attempts (delivery_id, at, ok, error, duration_us)
			VALUES (?, ?, ?, ?, ?)`, id, at, boolInt(a.OK), msg, toMicros(a.Duration))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: finish delivery %d: %w", id, err)
	}
	return nil
}

// ResetSending returns deliveries left sending by a process that died to
// pending, due now, and says how many. Call it once at start, before
// claiming: one of them may have reached its channel before the crash,
// so it may arrive twice, but none is lost.
func (s *Store) ResetSending(ctx context.Context) (int64, error) {
	res, err := s.exec(ctx, `UPDATE deliveries SET status = 'pending', next_attempt_at = ?
		WHERE status = 'sending'`, toMillis(s.now()))
	if err != nil {
		return 0, fmt.Errorf("store: reset sending deliveries: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: reset sending deliveries: %w", err)
	}
	return n, nil
}

// ---- the channel log ----

// ListDeliveries returns up to limit (<= 0: 100) deliveries of userID's
// channel channelID, newest first; channelID 0 means all the user's
// channels. Another user's channel is ErrNotFound.
func (s *Store) ListDeliveries(ctx context.Context, userID, channelID int64, limit int) ([]Delivery, error) {
	if limit <= 0 {
		limit = 100
	}
	var (
		out []Delivery
		err error
	)
	if channelID != 0 {
		if _, err = getChannel(ctx, s.r, userID, channelID); err == nil {
			out, err = queryDeliveries(ctx, s.r, false, `WHERE d.channel_id = ? AND c.user_id = ?
				ORDER BY d.created_at DESC, d.id DESC LIMIT ?`, channelID, userID, limit)
		}
	} else {
		out, err = queryDeliveries(ctx, s.r, false, `WHERE c.user_id = ?
			ORDER BY d.created_at DESC, d.id DESC LIMIT ?`, userID, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("store: list deliveries of channel %d: %w", channelID, err)
	}
	return out, nil
}

// GetDelivery returns a delivery to one of userID's channels; another
// user's is ErrNotFound. ChannelSettings is left empty.
func (s *Store) GetDelivery(ctx context.Context, userID, id int64) (Delivery, error) {
	ds, err := queryDeliveries(ctx, s.r, false, `WHERE d.id = ? AND c.user_id = ?`, id, userID)
	if err == nil && len(ds) == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("store: delivery %d: %w", id, err)
	}
	return ds[0], nil
}

// DeliveryAttempts returns the attempts at a delivery to one of userID's
// channels, oldest first; another user's delivery is ErrNotFound.
func (s *Store) DeliveryAttempts(ctx context.Context, userID, deliveryID int64) ([]DeliveryAttempt, error) {
	out, err := s.deliveryAttempts(ctx, userID, deliveryID)
	if err != nil {
		return nil, fmt.Errorf("store: attempts of delivery %d: %w", deliveryID, err)
	}
	return out, nil
}

func (s *Store) deliveryAttempts(ctx context.Context, userID, deliveryID int64) ([]DeliveryAttempt, error) {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM deliveries AS d JOIN channels AS c ON c.id = d.channel_id
		WHERE d.id = ? AND c.user_id = ?`, deliveryID, userID).Scan(&one)
	if err != nil {
		return nil, notFound(err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT at, ok, error, duration_us FROM delivery_attempts
		WHERE delivery_id = ? ORDER BY at, id`, deliveryID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DeliveryAttempt
	for rows.Next() {
		a := DeliveryAttempt{DeliveryID: deliveryID}
		var at, us int64
		if err := rows.Scan(&at, &a.OK, &a.Error, &us); err != nil {
			return nil, err
		}
		a.At, a.Duration = fromMillis(at), fromMicros(us)
		out = append(out, a)
	}
	return out, rows.Err()
}

// PruneDeliveries deletes deliveries (with their attempts) queued before
// before, except those being sent, batch rows per transaction (batch <= 0:
// DefaultPruneBatch), and returns how many it deleted.
func (s *Store) PruneDeliveries(ctx context.Context, before time.Time, batch int) (int64, error) {
	// Channel by channel through (channel_id, created_at), as PruneChecks
	// goes monitor by monitor.
	n, err := s.prune(ctx, `DELETE FROM deliveries WHERE id IN (
		SELECT d.id FROM channels AS c CROSS JOIN deliveries AS d ON d.channel_id = c.id
		WHERE d.created_at < ?1 AND d.status <> 'sending' LIMIT ?2)`, toMillis(before), batch)
	if err != nil {
		return n, fmt.Errorf("store: prune deliveries: %w", err)
	}
	return n, nil
}

// AlertInstance is the kind of a delivery about the instance itself (no
// data, no workers, missed checks), sent to the admin's chosen channels.
const AlertInstance = "instance"

// EnqueueInstanceAlert queues event to each enabled channel of channelIDs
// under key; a (channel, key) already queued is left as is, so the same
// problem is told once.
func (s *Store) EnqueueInstanceAlert(ctx context.Context, channelIDs []int64, key string, event AlertEvent) error {
	if len(channelIDs) == 0 {
		return nil
	}
	body, err := json.Marshal(event)
	if err != nil {
		return fmt.Errorf("store: instance alert: %w", err)
	}
	now := toMillis(s.now())
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		for _, id := range channelIDs {
			_, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO deliveries (channel_id, kind, event_key, status,
				attempts, event, created_at, next_attempt_at)
				SELECT id, 'instance', ?, 'pending', 0, ?, ?, ? FROM channels WHERE id = ? AND enabled = 1`,
				key, string(body), now, now, id)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: instance alert: %w", err)
	}
	return nil
}
