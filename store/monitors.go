package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

const monitorColumns = `id, user_id, name, url, method, headers, body, interval_us, timeout_us,
	expected_status, follow_redirects, verify_tls, confirmations, paused, created_at, updated_at,
	status, status_since, fail_streak,
	last_check_at, last_ok, last_status_code, last_latency_us, last_reason, last_error, last_region,
	reminder_minutes, type, settings, degraded_latency_us, alert_degraded, push_token,
	last_degraded, last_detail, cert_expires_at, last_body, regions, quorum,
	(SELECT json_group_array(channel_id ORDER BY channel_id) FROM monitor_channels WHERE monitor_id = monitors.id),
	coalesce((SELECT admin FROM users WHERE users.id = monitors.user_id), 0)`

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func scanMonitor(r rowScanner) (Monitor, error) {
	var (
		m                          Monitor
		headers                    string
		interval, timeout          int64
		created, updated, since    int64
		lastAt, lastCode, lastLat  sql.NullInt64
		lastOK                     sql.NullBool
		lastReason, lastErr, lastR sql.NullString
		reminder                   int64
		channels                   string
		settings                   string
		degradedLat                int64
		pushToken, detail, body    sql.NullString
		lastDegraded               sql.NullBool
		certExp                    sql.NullInt64
		regions                    string
	)
	err := r.Scan(&m.ID, &m.UserID, &m.Name, &m.URL, &m.Method, &headers, &m.Body, &interval, &timeout,
		&m.ExpectedStatus, &m.FollowRedirects, &m.VerifyTLS, &m.Confirmations, &m.Paused, &created, &updated,
		&m.State.Status, &since, &m.State.FailStreak,
		&lastAt, &lastOK, &lastCode, &lastLat, &lastReason, &lastErr, &lastR,
		&reminder, &m.Type, &settings, &degradedLat, &m.AlertDegraded, &pushToken,
		&lastDegraded, &detail, &certExp, &body, &regions, &m.Quorum, &channels, &m.OwnerAdmin)
	if err != nil {
		return Monitor{}, err
	}
	m.ReminderEvery = time.Duration(reminder) * time.Minute
	m.Settings = json.RawMessage(settings)
	if err := json.Unmarshal([]byte(regions), &m.Regions); err != nil {
		return Monitor{}, fmt.Errorf("monitor %d regions: %w", m.ID, err)
	}
	if len(m.Regions) == 0 {
		m.Regions = nil
	}
	m.DegradedLatency = fromMicros(degradedLat)
	m.PushToken, m.LastBody = pushToken.String, body.String
	if certExp.Valid {
		m.CertExpiresAt = fromMillis(certExp.Int64)
	}
	if err := json.Unmarshal([]byte(channels), &m.Channels); err != nil {
		return Monitor{}, fmt.Errorf("monitor %d channels: %w", m.ID, err)
	}
	if len(m.Channels) == 0 {
		m.Channels = nil
	}
	if err := json.Unmarshal([]byte(headers), &m.Headers); err != nil {
		return Monitor{}, fmt.Errorf("monitor %d headers: %w", m.ID, err)
	}
	if len(m.Headers) == 0 {
		m.Headers = nil
	}
	m.Interval, m.Timeout = fromMicros(interval), fromMicros(timeout)
	m.CreatedAt, m.UpdatedAt, m.State.Since = fromMillis(created), fromMillis(updated), fromMillis(since)
	// Phases are not denormalised: the overview shows status and latency;
	// a page that needs phases reads ListChecks.
	if lastAt.Valid {
		m.LastCheck = &Check{
			MonitorID:  m.ID,
			Region:     lastR.String,
			At:         fromMillis(lastAt.Int64),
			OK:         lastOK.Bool,
			Degraded:   lastDegraded.Bool,
			Detail:     detail.String,
			StatusCode: int(lastCode.Int64),
			Latency:    fromMicros(lastLat.Int64),
			Reason:     lastReason.String,
			Error:      lastErr.String,
		}
	}
	return m, nil
}

func queryMonitors(ctx context.Context, q queryer, where string, args ...any) ([]Monitor, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+monitorColumns+` FROM monitors `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ms []Monitor
	for rows.Next() {
		m, err := scanMonitor(rows)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, rows.Err()
}

func getMonitor(ctx context.Context, q queryer, id int64) (Monitor, error) {
	m, err := scanMonitor(q.QueryRowContext(ctx, `SELECT `+monitorColumns+` FROM monitors WHERE id = ?`, id))
	return m, notFound(err)
}

// monitorType stores "" as http, the kind every monitor had before kinds.
func monitorType(t string) string {
	if t == "" {
		return "http"
	}
	return t
}

func settingsText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "{}"
	}
	return string(raw)
}

func regionsText(regions []string) string {
	if len(regions) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(regions) // a []string always encodes
	return string(b)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func encodeHeaders(h map[string]string) (string, error) {
	if len(h) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(h)
	return string(b), err
}

// CreateMonitor stores a new monitor for m.UserID; ID, State, LastCheck and
// the timestamps of m are ignored. ErrNotFound if the user does not exist,
// a *QuotaError (ErrQuota) when they have their quota of monitors.
// It links m.Channels, or the user's default channels when m.Channels is
// nil, in the same transaction; a channel that is not the user's is
// ErrNotFound and nothing is created.
func (s *Store) CreateMonitor(ctx context.Context, m Monitor) (Monitor, error) {
	headers, err := encodeHeaders(m.Headers)
	if err != nil {
		return Monitor{}, fmt.Errorf("store: create monitor: %w", err)
	}
	status := StatusPending
	if m.Paused {
		status = StatusPaused
	}
	now := toMillis(s.now())
	var out Monitor
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkQuota(ctx, tx, m.UserID, QuotaMonitors); err != nil {
			return err
		}
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO monitors (id, user_id, name, url, method, headers, body,
			interval_us, timeout_us, expected_status, follow_redirects, verify_tls, confirmations, paused,
			created_at, updated_at, status, status_since, fail_streak, reminder_minutes,
			type, settings, degraded_latency_us, alert_degraded, push_token, regions, quorum)
			VALUES (`+nextID("monitors")+`, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			m.UserID, m.Name, m.URL, m.Method, headers, m.Body,
			toMicros(m.Interval), toMicros(m.Timeout), m.ExpectedStatus, boolInt(m.FollowRedirects),
			boolInt(m.VerifyTLS), m.Confirmations, boolInt(m.Paused),
			now, now, status, now, reminderMinutes(m.ReminderEvery),
			monitorType(m.Type), settingsText(m.Settings), toMicros(m.DegradedLatency), boolInt(m.AlertDegraded),
			nullString(m.PushToken), regionsText(m.Regions), m.Quorum).Scan(&id)
		if isForeignKeyViolation(err) {
			return fmt.Errorf("user %d: %w", m.UserID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if err := linkChannels(ctx, tx, m.UserID, id, m.Channels); err != nil {
			return err
		}
		// Read back what was stored, so the caller sees the same rounding
		// of times and durations as any later read.
		out, err = getMonitor(ctx, tx, id)
		return err
	})
	if err != nil {
		return Monitor{}, fmt.Errorf("store: create monitor: %w", err)
	}
	return out, nil
}

// UpdateMonitor replaces the configuration of monitor m.ID owned by
// m.UserID (else ErrNotFound). Pausing or resuming also resets the state
// (paused, or pending to start afresh) and records a transition, in the
// same transaction; pausing resolves the monitor's open incident, if any,
// at the time of the pause (and alerts nobody). A non-nil m.Channels
// replaces the monitor's channels, as SetMonitorChannels does.
func (s *Store) UpdateMonitor(ctx context.Context, m Monitor) (Monitor, error) {
	headers, err := encodeHeaders(m.Headers)
	if err != nil {
		return Monitor{}, fmt.Errorf("store: update monitor %d: %w", m.ID, err)
	}
	now := s.now()
	var out Monitor
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var wasPaused bool
		var oldStatus string
		err := tx.QueryRowContext(ctx, `SELECT paused, status FROM monitors WHERE id = ? AND user_id = ?`,
			m.ID, m.UserID).Scan(&wasPaused, &oldStatus)
		if err != nil {
			return notFound(err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE monitors SET name = ?, url = ?, method = ?, headers = ?, body = ?,
			interval_us = ?, timeout_us = ?, expected_status = ?, follow_redirects = ?, verify_tls = ?,
			confirmations = ?, paused = ?, updated_at = ?, reminder_minutes = ?,
			type = ?, settings = ?, degraded_latency_us = ?, alert_degraded = ?, push_token = ?,
			regions = ?, quorum = ? WHERE id = ?`,
			m.Name, m.URL, m.Method, headers, m.Body, toMicros(m.Interval), toMicros(m.Timeout),
			m.ExpectedStatus, boolInt(m.FollowRedirects), boolInt(m.VerifyTLS), m.Confirmations,
			boolInt(m.Paused), toMillis(now), reminderMinutes(m.ReminderEvery),
			monitorType(m.Type), settingsText(m.Settings), toMicros(m.DegradedLatency), boolInt(m.AlertDegraded),
			nullString(m.PushToken), regionsText(m.Regions), m.Quorum, m.ID)
		if err != nil {
			return err
		}
		if m.Channels != nil {
			if err := replaceChannels(ctx, tx, m.UserID, m.ID, m.Channels); err != nil {
				return err
			}
		}
		if m.Paused != wasPaused {
			to := StatusPending
			if m.Paused {
				to = StatusPaused
			}
			err := setState(ctx, tx, m.ID, MonitorState{Status: to, Since: now},
				&Transition{From: oldStatus, To: to, At: now})
			if err != nil {
				return err
			}
		}
		out, err = getMonitor(ctx, tx, m.ID)
		return err
	})
	if err != nil {
		return Monitor{}, fmt.Errorf("store: update monitor %d: %w", m.ID, err)
	}
	return out, nil
}

func setState(ctx context.Context, tx *sql.Tx, id int64, st MonitorState, t *Transition) error {
	_, err := tx.ExecContext(ctx, `UPDATE monitors SET status = ?, status_since = ?, fail_streak = ? WHERE id = ?`,
		st.Status, toMillis(st.Since), st.FailStreak, id)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, insertTransition, id, toMillis(t.At), t.From, t.To, t.Reason, t.Error)
	if err != nil {
		return err
	}
	// Pausing ends the monitor's incident: nobody is watching any more.
	return recordIncident(ctx, tx, id, t.At, t)
}

const insertTransition = `INSERT INTO monitor_transitions (monitor_id, ts, from_status, to_status, reason, error)
	VALUES (?, ?, ?, ?, ?, ?)`

// DeleteMonitor removes a user's monitor with its checks and transitions.
func (s *Store) DeleteMonitor(ctx context.Context, userID, id int64) error {
	if err := execOne(ctx, s.w, `DELETE FROM monitors WHERE id = ? AND user_id = ?`, id, userID); err != nil {
		return fmt.Errorf("store: delete monitor %d: %w", id, err)
	}
	return nil
}

// GetMonitor returns a monitor of userID; another user's monitor is
// ErrNotFound, so ids cannot be probed across accounts.
func (s *Store) GetMonitor(ctx context.Context, userID, id int64) (Monitor, error) {
	m, err := scanMonitor(s.r.QueryRowContext(ctx,
		`SELECT `+monitorColumns+` FROM monitors WHERE id = ? AND user_id = ?`, id, userID))
	if err != nil {
		return Monitor{}, fmt.Errorf("store: monitor %d: %w", id, notFound(err))
	}
	return m, nil
}

// MonitorByID returns any user's monitor, for the checker.
func (s *Store) MonitorByID(ctx context.Context, id int64) (Monitor, error) {
	m, err := getMonitor(ctx, s.r, id)
	if err != nil {
		return Monitor{}, fmt.Errorf("store: monitor %d: %w", id, err)
	}
	return m, nil
}

// ListMonitors returns a user's monitors by id.
func (s *Store) ListMonitors(ctx context.Context, userID int64) ([]Monitor, error) {
	ms, err := queryMonitors(ctx, s.r, `WHERE user_id = ?`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list monitors of user %d: %w", userID, err)
	}
	return ms, nil
}

// AllMonitors returns every user's monitors by id, for the scheduler at
// start.
func (s *Store) AllMonitors(ctx context.Context) ([]Monitor, error) {
	ms, err := queryMonitors(ctx, s.r, ``)
	if err != nil {
		return nil, fmt.Errorf("store: all monitors: %w", err)
	}
	return ms, nil
}

// SetPushBody keeps a push monitor's newest logged body (cut at
// MaxPushBody), without a check: a log ping reports, it does not judge.
func (s *Store) SetPushBody(ctx context.Context, id int64, body string) error {
	body = cutUTF8(strings.ToValidUTF8(body, "\uFFFD"), MaxPushBody)
	if err := execOne(ctx, s.w, `UPDATE monitors SET last_body = ? WHERE id = ?`, body, id); err != nil {
		return fmt.Errorf("store: push body of monitor %d: %w", id, err)
	}
	return nil
}
