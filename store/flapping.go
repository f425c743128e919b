package store

import (
	"context"
	"fmt"
	"time"
)

// StatusFlapping: the monitor changed state more than its limit within
// its window; one alert said so, and a summary follows when it settles.
const StatusFlapping = "flapping"

// Flapping alert kinds.
const (
	KindFlapping    = "flapping"     // it began flapping
	KindFlappingEnd = "flapping_end" // it settled: a summary
)

// Flapping defaults: more than 5 changes within 30 minutes.
const (
	DefaultFlapChanges = 5
	DefaultFlapWindow  = 30 * time.Minute
)

// FlapSettings are a monitor's flapping limits; Changes 0 turns detection
// off.
type FlapSettings struct {
	Changes int
	Window  time.Duration
}

// DefaultFlapSettings are what a monitor without its own takes.
func DefaultFlapSettings() FlapSettings {
	return FlapSettings{Changes: DefaultFlapChanges, Window: DefaultFlapWindow}
}

// SetFlapSettings stores a monitor's limits (ErrNotFound if it is not
// userID's).
func (s *Store) SetFlapSettings(ctx context.Context, userID, monitorID int64, f FlapSettings) error {
	res, err := s.exec(ctx, `INSERT INTO monitor_flapping (monitor_id, changes, window_s)
		SELECT id, ?, ? FROM monitors WHERE id = ? AND user_id = ?
		ON CONFLICT (monitor_id) DO UPDATE SET changes = excluded.changes, window_s = excluded.window_s`,
		f.Changes, int64(f.Window/time.Second), monitorID, userID)
	if err != nil {
		return fmt.Errorf("store: flapping of monitor %d: %w", monitorID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: flapping of monitor %d: %w", monitorID, err)
	} else if n == 0 {
		return fmt.Errorf("store: flapping of monitor %d: %w", monitorID, ErrNotFound)
	}
	return nil
}

// FlapSettingsOf maps the monitors to their limits (the defaults for
// those without their own).
func (s *Store) FlapSettingsOf(ctx context.Context, ids []int64) (map[int64]FlapSettings, error) {
	out := make(map[int64]FlapSettings, len(ids))
	for _, id := range ids {
		out[id] = DefaultFlapSettings()
	}
	err := chunks(ids, func(part []int64) error {
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		return s.readFlap(ctx, out, `SELECT monitor_id, changes, window_s FROM monitor_flapping WHERE monitor_id IN (?`+repeatParams(len(part)-1)+`)`, args...)
	})
	if err != nil {
		return nil, fmt.Errorf("store: flapping settings: %w", err)
	}
	return out, nil
}

// AllFlapSettings maps the monitors with limits of their own to them (for
// the checker; the others take the defaults).
func (s *Store) AllFlapSettings(ctx context.Context) (map[int64]FlapSettings, error) {
	out := map[int64]FlapSettings{}
	if err := s.readFlap(ctx, out, `SELECT monitor_id, changes, window_s FROM monitor_flapping`); err != nil {
		return nil, fmt.Errorf("store: all flapping settings: %w", err)
	}
	return out, nil
}

func (s *Store) readFlap(ctx context.Context, out map[int64]FlapSettings, q string, args ...any) error {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, n, w int64
		if err := rows.Scan(&id, &n, &w); err != nil {
			return err
		}
		out[id] = FlapSettings{Changes: int(n), Window: time.Duration(w) * time.Second}
	}
	return rows.Err()
}
