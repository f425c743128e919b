package store

import (
	"context"
	"fmt"
	"strings"
)

// MonitorQuery selects one page of a user's monitors for the overview.
type MonitorQuery struct {
	UserID int64
	Search string // substring of the name or URL, case-insensitive (ASCII)
	Status string // "" or one status
	Sort   string // "" (down first, then pending, up, paused; by name), "name", "latency" (slowest first)
	Limit  int    // <= 0: 100
}

// QueryMonitors returns one page of monitors and how many match in all.
// Filtering, sorting and the limit happen in SQL, so a page of an
// installation with 10,000 monitors does not build 10,000 structs.
func (s *Store) QueryMonitors(ctx context.Context, q MonitorQuery) ([]Monitor, int, error) {
	where := []string{"user_id = ?"}
	args := []any{q.UserID}
	if q.Status != "" {
		where = append(where, "status = ?")
		args = append(args, q.Status)
	}
	if q.Search != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q.Search) + "%"
		where = append(where, `(name LIKE ? ESCAPE '\' OR url LIKE ? ESCAPE '\')`)
		args = append(args, like, like)
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM monitors WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: query monitors: %w", err)
	}
	order := `CASE status WHEN 'down' THEN 0 WHEN 'pending' THEN 1 WHEN 'up' THEN 2 ELSE 3 END, name COLLATE NOCASE, id`
	switch q.Sort {
	case "name":
		order = `name COLLATE NOCASE, id`
	case "latency":
		order = `last_latency_us IS NULL, last_latency_us DESC, name COLLATE NOCASE, id`
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+monitorColumns+` FROM monitors WHERE `+cond+` ORDER BY `+order+` LIMIT ?`,
		append(args, limit)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: query monitors: %w", err)
	}
	defer rows.Close()
	var out []Monitor
	for rows.Next() {
		m, err := scanMonitor(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: query monitors: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: query monitors: %w", err)
	}
	return out, total, nil
}
