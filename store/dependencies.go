package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
)

// StatusUnreachable: the monitor fails, but a monitor it depends on is
// down (or failing) too: it opens no incident and sends no alert.
const StatusUnreachable = "unreachable"

// ErrDependencyCycle: the dependencies would make a monitor depend on
// itself.
var ErrDependencyCycle = errors.New("dependency cycle")

// SetDependencies replaces the monitors monitorID depends on. Every
// parent must be one of userID's monitors (ErrNotFound) and the graph must
// stay acyclic (ErrDependencyCycle).
func (s *Store) SetDependencies(ctx context.Context, userID, monitorID int64, parents []int64) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := ownMonitors(ctx, tx, userID, append([]int64{monitorID}, parents...)); err != nil {
			return err
		}
		if slices.Contains(parents, monitorID) {
			return ErrDependencyCycle
		}
		// The user's graph without monitorID's own edges, then a walk up
		// from each new parent: reaching monitorID closes a cycle.
		rows, err := tx.QueryContext(ctx, `SELECT d.monitor_id, d.parent_id FROM monitor_dependencies AS d
			JOIN monitors AS m ON m.id = d.monitor_id WHERE m.user_id = ? AND d.monitor_id <> ?`, userID, monitorID)
		if err != nil {
			return err
		}
		up := map[int64][]int64{}
		for rows.Next() {
			var c, p int64
			if err := rows.Scan(&c, &p); err != nil {
				rows.Close()
				return err
			}
			up[c] = append(up[c], p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		seen := map[int64]bool{}
		stack := slices.Clone(parents)
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if n == monitorID {
				return ErrDependencyCycle
			}
			if seen[n] {
				continue
			}
			seen[n] = true
			stack = append(stack, up[n]...)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM monitor_dependencies WHERE monitor_id = ?`, monitorID); err != nil {
			return err
		}
		for _, p := range parents {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO monitor_dependencies (monitor_id, parent_id) VALUES (?, ?)`,
				monitorID, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: dependencies of monitor %d: %w", monitorID, err)
	}
	return nil
}

// DependenciesOf maps each of the monitors to the monitors it depends on
// (absent: none).
func (s *Store) DependenciesOf(ctx context.Context, ids []int64) (map[int64][]int64, error) {
	out := map[int64][]int64{}
	err := chunks(ids, func(part []int64) error {
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		q := `SELECT monitor_id, parent_id FROM monitor_dependencies WHERE monitor_id IN (?` + repeatParams(len(part)-1) + `) ORDER BY parent_id`
		return s.readEdges(ctx, out, q, args...)
	})
	if err != nil {
		return nil, fmt.Errorf("store: dependencies: %w", err)
	}
	return out, nil
}

// AllDependencies maps every monitor with dependencies to its parents
// (for the checker).
func (s *Store) AllDependencies(ctx context.Context) (map[int64][]int64, error) {
	out := map[int64][]int64{}
	if err := s.readEdges(ctx, out, `SELECT monitor_id, parent_id FROM monitor_dependencies ORDER BY monitor_id, parent_id`); err != nil {
		return nil, fmt.Errorf("store: all dependencies: %w", err)
	}
	return out, nil
}

func (s *Store) readEdges(ctx context.Context, out map[int64][]int64, q string, args ...any) error {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c, p int64
		if err := rows.Scan(&c, &p); err != nil {
			return err
		}
		out[c] = append(out[c], p)
	}
	return rows.Err()
}

func repeatParams(n int) string {
	b := make([]byte, 0, 2*n)
	for range n {
		b = append(b, ",?"...)
	}
	return string(b)
}
