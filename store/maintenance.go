package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Maintenance window kinds.
const (
	MaintenanceOnce   = "once"   // StartsAt to EndsAt
	MaintenanceWeekly = "weekly" // Days, StartTime to EndTime, in TimeZone
	MaintenanceCron   = "cron"   // Cron fire times plus Duration, in TimeZone
)

// Maintenance is a planned window during which a set of monitors is
// checked as usual but shows "maintenance", opens no incident, sends no
// alert and leaves uptime and SLA. The schedule is validated by the
// checker (checker.CompileMaintenance); the store keeps it as given.
type Maintenance struct {
	ID       int64
	UserID   int64
	Title    string
	Kind     string
	StartsAt time.Time // once: the start; recurring: zero, or the first moment it applies
	EndsAt   time.Time // once: the end; recurring: zero, or the last moment it applies
	Days     []string  // weekly: "mon", "tue", …
	// StartTime and EndTime are wall-clock "HH:MM" in TimeZone (weekly);
	// an end at or before the start is on the next day.
	StartTime, EndTime string
	Cron               string        // cron: a 5-field expression
	Duration           time.Duration // cron: how long each occurrence lasts (wall clock)
	TimeZone           string        // IANA name; "UTC" by default
	Notify             bool          // tell the monitors' channels when it starts and ends
	Monitors           []int64       // the monitors it covers
	Tags               []string      // ready for monitor tags; none are matched yet
	CreatedAt          time.Time
}

const maintenanceColumns = `id, user_id, title, kind, starts_at, ends_at, days, start_time, end_time,
	cron, duration_s, timezone, notify, created_at`

func scanMaintenance(r rowScanner) (Maintenance, error) {
	var (
		m            Maintenance
		starts, ends sql.NullInt64
		days         string
		dur, created int64
	)
	if err := r.Scan(&m.ID, &m.UserID, &m.Title, &m.Kind, &starts, &ends, &days, &m.StartTime, &m.EndTime,
		&m.Cron, &dur, &m.TimeZone, &m.Notify, &created); err != nil {
		return Maintenance{}, err
	}
	if starts.Valid {
		m.StartsAt = fromMillis(starts.Int64)
	}
	if ends.Valid {
		m.EndsAt = fromMillis(ends.Int64)
	}
	if days != "" {
		m.Days = strings.Split(days, ",")
	}
	m.Duration = time.Duration(dur) * time.Second
	m.CreatedAt = fromMillis(created)
	return m, nil
}

func optMillis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return toMillis(t)
}

// CreateMaintenance stores a window of userID's; ErrNotFound when a
// listed monitor is not the user's. The past part of a one-off window
// marks the checks it covers (MarkMaintenance).
func (s *Store) CreateMaintenance(ctx context.Context, m Maintenance) (Maintenance, error) {
	m.CreatedAt = s.now().UTC().Truncate(time.Millisecond)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := ownMonitors(ctx, tx, m.UserID, m.Monitors); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO maintenance (user_id, title, kind, starts_at, ends_at, days,
			start_time, end_time, cron, duration_s, timezone, notify, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			m.UserID, m.Title, m.Kind, optMillis(m.StartsAt), optMillis(m.EndsAt), strings.Join(m.Days, ","),
			m.StartTime, m.EndTime, m.Cron, int64(m.Duration/time.Second), m.TimeZone, boolInt(m.Notify),
			toMillis(m.CreatedAt)).Scan(&m.ID)
		if err != nil {
			return err
		}
		if err := setMaintenanceTargets(ctx, tx, m); err != nil {
			return err
		}
		return markPast(ctx, tx, m, s.now())
	})
	if err != nil {
		return Maintenance{}, fmt.Errorf("store: create maintenance: %w", err)
	}
	return m, nil
}

// UpdateMaintenance replaces a window of userID's (ErrNotFound if it is
// not theirs, or a monitor is not).
func (s *Store) UpdateMaintenance(ctx context.Context, m Maintenance) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := ownMonitors(ctx, tx, m.UserID, m.Monitors); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE maintenance SET title = ?, kind = ?, starts_at = ?, ends_at = ?,
			days = ?, start_time = ?, end_time = ?, cron = ?, duration_s = ?, timezone = ?, notify = ?
			WHERE id = ? AND user_id = ?`,
			m.Title, m.Kind, optMillis(m.StartsAt), optMillis(m.EndsAt), strings.Join(m.Days, ","),
			m.StartTime, m.EndTime, m.Cron, int64(m.Duration/time.Second), m.TimeZone, boolInt(m.Notify),
			m.ID, m.UserID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		for _, q := range []string{`DELETE FROM maintenance_monitors WHERE maintenance_id = ?`,
			`DELETE FROM maintenance_tags WHERE maintenance_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, m.ID); err != nil {
				return err
			}
		}
		if err := setMaintenanceTargets(ctx, tx, m); err != nil {
			return err
		}
		return markPast(ctx, tx, m, s.now())
	})
	if err != nil {
		return fmt.Errorf("store: update maintenance %d: %w", m.ID, err)
	}
	return nil
}

// DeleteMaintenance removes a window of userID's. Checks it marked stay
// marked: what was declared maintenance stays out of the SLA.
func (s *Store) DeleteMaintenance(ctx context.Context, userID, id int64) error {
	res, err := s.exec(ctx, `DELETE FROM maintenance WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return fmt.Errorf("store: delete maintenance %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: delete maintenance %d: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("store: delete maintenance %d: %w", id, ErrNotFound)
	}
	return nil
}

// GetMaintenance reads one window of userID's.
func (s *Store) GetMaintenance(ctx context.Context, userID, id int64) (Maintenance, error) {
	list, err := s.listMaintenance(ctx, `WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return Maintenance{}, fmt.Errorf("store: maintenance %d: %w", id, err)
	}
	if len(list) == 0 {
		return Maintenance{}, fmt.Errorf("store: maintenance %d: %w", id, ErrNotFound)
	}
	return list[0], nil
}

// ListMaintenance lists a user's windows, newest first.
func (s *Store) ListMaintenance(ctx context.Context, userID int64) ([]Maintenance, error) {
	list, err := s.listMaintenance(ctx, `WHERE user_id = ?`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list maintenance: %w", err)
	}
	return list, nil
}

// AllMaintenance lists every window (for the checker).
func (s *Store) AllMaintenance(ctx context.Context) ([]Maintenance, error) {
	list, err := s.listMaintenance(ctx, ``)
	if err != nil {
		return nil, fmt.Errorf("store: all maintenance: %w", err)
	}
	return list, nil
}

func (s *Store) listMaintenance(ctx context.Context, where string, args ...any) ([]Maintenance, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+maintenanceColumns+` FROM maintenance `+where+` ORDER BY id DESC`, args...)
	if err != nil {
		return nil, err
	}
	var out []Maintenance
	byID := map[int64]int{}
	for rows.Next() {
		m, err := scanMaintenance(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		byID[m.ID] = len(out)
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, nil
	}
	for _, q := range []string{`SELECT maintenance_id, monitor_id FROM maintenance_monitors ORDER BY monitor_id`,
		`SELECT maintenance_id, tag FROM maintenance_tags ORDER BY tag`} {
		rows, err := s.r.QueryContext(ctx, q)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			var v any
			if err := rows.Scan(&id, &v); err != nil {
				rows.Close()
				return nil, err
			}
			i, ok := byID[id]
			if !ok {
				continue
			}
			switch v := v.(type) {
			case int64:
				out[i].Monitors = append(out[i].Monitors, v)
			case string:
				out[i].Tags = append(out[i].Tags, v)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ownMonitors fails with ErrNotFound unless every id is one of userID's
// monitors.
func ownMonitors(ctx context.Context, tx *sql.Tx, userID int64, ids []int64) error {
	for _, id := range ids {
		var ok bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM monitors WHERE id = ? AND user_id = ?)`,
			id, userID).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("monitor %d: %w", id, ErrNotFound)
		}
	}
	return nil
}

func setMaintenanceTargets(ctx context.Context, tx *sql.Tx, m Maintenance) error {
	for _, id := range m.Monitors {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO maintenance_monitors (maintenance_id, monitor_id)
			VALUES (?, ?)`, m.ID, id); err != nil {
			return err
		}
	}
	for _, tag := range m.Tags {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO maintenance_tags (maintenance_id, tag)
			VALUES (?, ?)`, m.ID, tag); err != nil {
			return err
		}
	}
	return nil
}

// markPast marks the checks of a one-off window's past part.
func markPast(ctx context.Context, tx *sql.Tx, m Maintenance, now time.Time) error {
	if m.Kind != MaintenanceOnce || !m.StartsAt.Before(now) {
		return nil
	}
	return markMaintenance(ctx, tx, m.Monitors, m.StartsAt, minTime(m.EndsAt, now))
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// MarkMaintenance declares [from, to) of the monitors maintenance after
// the fact: their stored checks in it are marked and moved, in the hourly
// and daily roll-ups, from up/down to maint, so uptime and SLA leave that
// time out. Checks already marked are left alone, so marking twice
// changes nothing. Raw checks past retention are gone: their hours keep
// the counts they had.
func (s *Store) MarkMaintenance(ctx context.Context, monitors []int64, from, to time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error { return markMaintenance(ctx, tx, monitors, from, to) })
	if err != nil {
		return fmt.Errorf("store: mark maintenance: %w", err)
	}
	return nil
}

func markMaintenance(ctx context.Context, tx *sql.Tx, monitors []int64, from, to time.Time) error {
	if !from.Before(to) {
		return nil
	}
	f, t := toMillis(from), toMillis(to)
	for _, id := range monitors {
		for _, unit := range []struct {
			table string
			ms    int64
		}{{"hourly", hourMS}, {"daily", dayMS}} {
			// Counts move; latency stays where it was counted.
			_, err := tx.ExecContext(ctx, `WITH moved AS (
					SELECT region, (ts / ?) * ? AS bucket, SUM(ok) AS up, SUM(1 - ok) AS down,
						SUM(degraded) AS deg, COUNT(*) AS n
					FROM checks WHERE monitor_id = ? AND ts >= ? AND ts < ? AND maintenance = 0
					GROUP BY region, bucket)
				UPDATE `+unit.table+` SET up = `+unit.table+`.up - moved.up, down = `+unit.table+`.down - moved.down,
					degraded = `+unit.table+`.degraded - moved.deg, maint = maint + moved.n
				FROM moved WHERE monitor_id = ? AND `+unit.table+`.region = moved.region AND ts = moved.bucket`,
				unit.ms, unit.ms, id, f, t, id)
			if err != nil {
				return fmt.Errorf("%s roll-ups of monitor %d: %w", unit.table, id, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE checks SET maintenance = 1
			WHERE monitor_id = ? AND ts >= ? AND ts < ? AND maintenance = 0`, id, f, t); err != nil {
			return fmt.Errorf("checks of monitor %d: %w", id, err)
		}
	}
	return nil
}
