package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"
)

// EarlyAlert is what was sent for a transition while the database could
// not be written (a full disk, a lock): the checker detects the change
// from memory and has it sent at once instead of waiting for storage, and
// SaveChecks, once the transition is stored at last, records these
// attempts on the deliveries it queues, so each goes out once. A channel
// that was not reached is left pending, and the dispatcher retries it.
type EarlyAlert struct {
	mu       sync.Mutex
	done     chan struct{} // closed by Finish; nil once read back from a spool
	attempts map[int64]DeliveryAttempt
}

// NewEarlyAlert returns an EarlyAlert whose sends are under way.
func NewEarlyAlert() *EarlyAlert {
	return &EarlyAlert{done: make(chan struct{}), attempts: map[int64]DeliveryAttempt{}}
}

// Record keeps the attempt made on channel channelID.
func (e *EarlyAlert) Record(channelID int64, a DeliveryAttempt) {
	e.mu.Lock()
	e.attempts[channelID] = a
	e.mu.Unlock()
}

// Finish says every send was made (or given up on).
func (e *EarlyAlert) Finish() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done != nil {
		select {
		case <-e.done:
		default:
			close(e.done)
		}
	}
}

// Done is closed once the sends are over (at once for a nil EarlyAlert or
// one read back from a spool): storing the transition before then would
// queue its deliveries as unsent, and send them twice.
func (e *EarlyAlert) Done() <-chan struct{} {
	if e != nil {
		e.mu.Lock()
		done := e.done
		e.mu.Unlock()
		if done != nil {
			return done
		}
	}
	closed := make(chan struct{})
	close(closed)
	return closed
}

// Finished tells whether the sends are over (see Done).
func (e *EarlyAlert) Finished() bool {
	select {
	case <-e.Done():
		return true
	default:
		return false
	}
}

// Attempts returns the attempts made so far, by channel.
func (e *EarlyAlert) Attempts() map[int64]DeliveryAttempt {
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.attempts)
}

// MarshalJSON writes the attempts (for the spool).
func (e *EarlyAlert) MarshalJSON() ([]byte, error) { return json.Marshal(e.Attempts()) }

// UnmarshalJSON reads what MarshalJSON wrote; the result is finished.
func (e *EarlyAlert) UnmarshalJSON(b []byte) error {
	var m map[int64]DeliveryAttempt
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m == nil {
		m = map[int64]DeliveryAttempt{}
	}
	e.mu.Lock()
	e.attempts, e.done = m, nil
	e.mu.Unlock()
	return nil
}

// EarlyEvent is the alert a transition makes, taken from the transition
// itself rather than from the incident the database would hold: what an
// EarlyAlert sends. name and url are the monitor's. ok is false for a
// transition that alerts nobody.
func EarlyEvent(t *Transition, name, url string) (ev AlertEvent, ok bool) {
	ev = AlertEvent{MonitorID: t.MonitorID, Monitor: name, URL: url, At: t.At.UTC().Truncate(time.Millisecond)}
	switch {
	case !t.Alert:
		return AlertEvent{}, false
	case t.To == StatusFlapping || t.From == StatusFlapping:
		f := flappingEvent(t, t.At)
		f.Monitor, f.URL = name, url
		return f, true
	case t.To == StatusDown:
		ev.Kind, ev.Reason, ev.Error, ev.StatusCode, ev.StartedAt = StatusDown, t.Reason, t.Error, t.StatusCode, ev.At
	case t.To == StatusMaintenance:
		ev.Kind, ev.Window = KindMaintenanceStart, t.Window
	case t.From == StatusMaintenance:
		ev.Kind, ev.From, ev.Window = KindMaintenanceEnd, t.To, t.Window
		if !t.PrevSince.IsZero() {
			ev.StartedAt = t.PrevSince.UTC().Truncate(time.Millisecond)
			ev.DurationMS = max(0, toMillis(t.At)-toMillis(t.PrevSince))
		}
	case t.From == StatusDown || t.From == StatusDegraded && t.To == StatusUp:
		ev.Kind = StatusUp
		if t.From == StatusDegraded {
			ev.From = StatusDegraded
		}
		if !t.PrevSince.IsZero() {
			ev.StartedAt = t.PrevSince.UTC().Truncate(time.Millisecond)
			ev.DurationMS = max(0, toMillis(t.At)-toMillis(t.PrevSince))
		}
	case t.To == StatusDegraded:
		ev.Kind, ev.Reason, ev.Error, ev.StartedAt = StatusDegraded, t.Reason, t.Error, ev.At
	default:
		return AlertEvent{}, false
	}
	return ev, true
}

// AlertTargets is what an alert sent without the writer needs of its
// monitor.
type AlertTargets struct {
	Name, URL  string
	OwnerAdmin bool      // the monitor's owner is an admin (the egress policy's "admins")
	Channels   []Channel // enabled, settings included (for sending)
}

// AlertTargets reads a monitor's name, URL, owner and enabled channels
// from the read pool: it works while writes fail.
func (s *Store) AlertTargets(ctx context.Context, monitorID int64) (AlertTargets, error) {
	var t AlertTargets
	err := s.r.QueryRowContext(ctx, `SELECT name, url, coalesce((SELECT admin FROM users WHERE users.id = monitors.user_id), 0)
		FROM monitors WHERE id = ?`, monitorID).Scan(&t.Name, &t.URL, &t.OwnerAdmin)
	if err != nil {
		return t, fmt.Errorf("store: alert targets of monitor %d: %w", monitorID, notFound(err))
	}
	rows, err := s.r.QueryContext(ctx, `SELECT c.id, c.user_id, c.name, c.type, c.settings, c.enabled, c.is_default,
		c.created_at, c.updated_at FROM monitor_channels AS mc JOIN channels AS c ON c.id = mc.channel_id
		WHERE mc.monitor_id = ? AND c.enabled = 1 ORDER BY c.id`, monitorID)
	if err != nil {
		return t, fmt.Errorf("store: alert targets of monitor %d: %w", monitorID, err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return t, fmt.Errorf("store: alert targets of monitor %d: %w", monitorID, err)
		}
		t.Channels = append(t.Channels, c)
	}
	return t, rows.Err()
}

// markEarly records the early attempts of a transition on the deliveries
// just queued for it under key: a delivery that went out is sent (with
// its attempt in the log), one that failed keeps pending with its attempt
// counted, so the dispatcher retries it after the usual backoff.
func markEarly(ctx context.Context, tx *sql.Tx, monitorID int64, key string, e *EarlyAlert) error {
	for ch, a := range e.Attempts() {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM deliveries WHERE channel_id = ? AND monitor_id = ? AND event_key = ?
			AND status = 'pending' AND attempts = 0`, ch, monitorID, key).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			continue // the channel was unlinked or disabled meanwhile, or this was recorded already
		}
		if err != nil {
			return err
		}
		at := toMillis(a.At)
		msg := cutUTF8(a.Error, maxDeliveryError)
		if a.OK {
			msg = ""
			_, err = tx.ExecContext(ctx, `UPDATE deliveries SET status = 'sent', attempts = 1, sent_at = ?1,
				next_attempt_at = ?1, last_error = '' WHERE id = ?2`, at, id)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE deliveries SET attempts = 1, last_error = ? WHERE id = ?`, msg, id)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO delivery_attempts (delivery_id, at, ok, error, duration_us)
			VALUES (?, ?, ?, ?, ?)`, id, at, boolInt(a.OK), msg, toMicros(a.Duration)); err != nil {
			return err
		}
	}
	return nil
}
