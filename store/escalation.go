package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// KindEscalation is the alert sent to an escalation policy's channels.
const KindEscalation = "escalation"

// Escalation is a policy: an incident still unacknowledged After its
// start goes to Channels as well. MonitorID 0 is the user's default.
type Escalation struct {
	UserID, MonitorID int64
	After             time.Duration
	Channels          []int64
}

// SetEscalation stores a policy (replacing the one there was); its
// monitor and channels must be the user's (ErrNotFound).
func (s *Store) SetEscalation(ctx context.Context, e Escalation) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if e.MonitorID != 0 {
			if err := ownMonitors(ctx, tx, e.UserID, []int64{e.MonitorID}); err != nil {
				return err
			}
		}
		for _, ch := range e.Channels {
			var ok bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM channels WHERE id = ? AND user_id = ?)`,
				ch, e.UserID).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("channel %d: %w", ch, ErrNotFound)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM escalations WHERE user_id = ? AND coalesce(monitor_id, 0) = ?`,
			e.UserID, e.MonitorID); err != nil {
			return err
		}
		chans, _ := json.Marshal(e.Channels)
		if e.Channels == nil {
			chans = []byte("[]")
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO escalations (user_id, monitor_id, after_minutes, channels) VALUES (?, ?, ?, ?)`,
			e.UserID, nullID(e.MonitorID), int64(e.After/time.Minute), string(chans))
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set escalation: %w", err)
	}
	return nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// GetEscalation reads a policy (monitorID 0: the user's default);
// ErrNotFound when there is none.
func (s *Store) GetEscalation(ctx context.Context, userID, monitorID int64) (Escalation, error) {
	e := Escalation{UserID: userID, MonitorID: monitorID}
	var mins int64
	var chans string
	err := s.r.QueryRowContext(ctx, `SELECT after_minutes, channels FROM escalations WHERE user_id = ? AND coalesce(monitor_id, 0) = ?`,
		userID, monitorID).Scan(&mins, &chans)
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("store: escalation: %w", ErrNotFound)
	}
	if err != nil {
		return e, fmt.Errorf("store: escalation: %w", err)
	}
	e.After = time.Duration(mins) * time.Minute
	if err := json.Unmarshal([]byte(chans), &e.Channels); err != nil {
		return e, fmt.Errorf("store: escalation: %w", err)
	}
	return e, nil
}

// DeleteEscalation removes a policy (ErrNotFound if there was none).
func (s *Store) DeleteEscalation(ctx context.Context, userID, monitorID int64) error {
	res, err := s.exec(ctx, `DELETE FROM escalations WHERE user_id = ? AND coalesce(monitor_id, 0) = ?`, userID, monitorID)
	if err != nil {
		return fmt.Errorf("store: delete escalation: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: delete escalation: %w", err)
	} else if n == 0 {
		return fmt.Errorf("store: delete escalation: %w", ErrNotFound)
	}
	return nil
}

// dueEscalations lists, at time ?1, the escalation deliveries due and not
// queued yet: one row per channel of the policy of each open,
// unacknowledged incident open for at least the policy's time. A monitor's
// own policy wins over its user's default.
const dueEscalations = `SELECT c.id, i.id, i.monitor_id, m.name, m.url, i.started_at, i.reason, i.error, i.status_code
	FROM incidents AS i
	CROSS JOIN monitors AS m ON m.id = i.monitor_id
	CROSS JOIN escalations AS e ON e.user_id = m.user_id AND (e.monitor_id = m.id OR e.monitor_id IS NULL
		AND NOT EXISTS (SELECT 1 FROM escalations AS own WHERE own.monitor_id = m.id))
	CROSS JOIN json_each(e.channels) AS j
	CROSS JOIN channels AS c ON c.id = j.value AND c.user_id = m.user_id
	WHERE i.resolved_at IS NULL AND i.acked_at IS NULL AND c.enabled = 1
	AND ?1 - i.started_at >= e.after_minutes * 60000
	AND NOT EXISTS (SELECT 1 FROM deliveries AS d WHERE d.channel_id = c.id AND d.event_key = 'incident:' || i.id || ':escalation')`

// EnqueueEscalations queues an "escalation" to the policy's channels of
// each open, unacknowledged incident past its policy's time, once per
// channel and incident (key "incident:<id>:escalation"). It reads first
// and writes only when something is missing, so calling it every second
// costs no write transaction. It returns how many it queued.
func (s *Store) EnqueueEscalations(ctx context.Context, now time.Time) (int, error) {
	nowMS := toMillis(now)
	rows, err := s.r.QueryContext(ctx, dueEscalations, nowMS)
	if err != nil {
		return 0, fmt.Errorf("store: enqueue escalations: %w", err)
	}
	type due struct {
		channel, incident int64
		ev                AlertEvent
	}
	var todo []due
	for rows.Next() {
		var d due
		var started int64
		if err := rows.Scan(&d.channel, &d.incident, &d.ev.MonitorID, &d.ev.Monitor, &d.ev.URL, &started,
			&d.ev.Reason, &d.ev.Error, &d.ev.StatusCode); err != nil {
			rows.Close()
			return 0, fmt.Errorf("store: enqueue escalations: %w", err)
		}
		d.ev.Kind, d.ev.StartedAt, d.ev.At = KindEscalation, fromMillis(started), fromMillis(nowMS)
		d.ev.DurationMS = nowMS - started
		todo = append(todo, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("store: enqueue escalations: %w", err)
	}
	if len(todo) == 0 {
		return 0, nil
	}
	n := 0
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		for _, d := range todo {
			body, err := json.Marshal(d.ev)
			if err != nil {
				return err
			}
			// Still open and unacknowledged: the read may be a moment old.
			res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO deliveries (channel_id, monitor_id, incident_id, kind,
				event_key, status, attempts, event, created_at, next_attempt_at)
				SELECT ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?
				WHERE EXISTS (SELECT 1 FROM incidents WHERE id = ? AND resolved_at IS NULL AND acked_at IS NULL)`,
				d.channel, d.ev.MonitorID, d.incident, KindEscalation, "incident:"+strconv.FormatInt(d.incident, 10)+":escalation",
				string(body), nowMS, nowMS, d.incident)
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: enqueue escalations: %w", err)
	}
	return n, nil
}
