package store

import (
	"context"
	"fmt"
	"time"
)

// Periods are a monitor's confirmation and recovery periods: DOWN only
// after failing for Confirm (beside the confirmations count), resolved
// only after passing for Recover. Zero: none.
type Periods struct {
	Confirm, Recover time.Duration
}

// SetPeriods stores a monitor's periods (ErrNotFound if it is not userID's).
func (s *Store) SetPeriods(ctx context.Context, userID, monitorID int64, p Periods) error {
	res, err := s.exec(ctx, `INSERT INTO monitor_periods (monitor_id, confirm_s, recover_s)
		SELECT id, ?, ? FROM monitors WHERE id = ? AND user_id = ?
		ON CONFLICT (monitor_id) DO UPDATE SET confirm_s = excluded.confirm_s, recover_s = excluded.recover_s`,
		int64(p.Confirm/time.Second), int64(p.Recover/time.Second), monitorID, userID)
	if err != nil {
		return fmt.Errorf("store: periods of monitor %d: %w", monitorID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: periods of monitor %d: %w", monitorID, err)
	} else if n == 0 {
		return fmt.Errorf("store: periods of monitor %d: %w", monitorID, ErrNotFound)
	}
	return nil
}

// PeriodsOf maps the monitors with periods to them.
func (s *Store) PeriodsOf(ctx context.Context, ids []int64) (map[int64]Periods, error) {
	out := map[int64]Periods{}
	err := chunks(ids, func(part []int64) error {
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		return s.readPeriods(ctx, out, `SELECT monitor_id, confirm_s, recover_s FROM monitor_periods WHERE monitor_id IN (?`+repeatParams(len(part)-1)+`)`, args...)
	})
	if err != nil {
		return nil, fmt.Errorf("store: periods: %w", err)
	}
	return out, nil
}

// AllPeriods maps every monitor with periods to them (for the checker).
func (s *Store) AllPeriods(ctx context.Context) (map[int64]Periods, error) {
	out := map[int64]Periods{}
	if err := s.readPeriods(ctx, out, `SELECT monitor_id, confirm_s, recover_s FROM monitor_periods`); err != nil {
		return nil, fmt.Errorf("store: all periods: %w", err)
	}
	return out, nil
}

func (s *Store) readPeriods(ctx context.Context, out map[int64]Periods, q string, args ...any) error {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, c, r int64
		if err := rows.Scan(&id, &c, &r); err != nil {
			return err
		}
		out[id] = Periods{Confirm: time.Duration(c) * time.Second, Recover: time.Duration(r) * time.Second}
	}
	return rows.Err()
}
