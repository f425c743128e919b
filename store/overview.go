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
	Sort   string // "" (down first, then degraded, pending, up, paused; by name), "name", "latency" (slowest first)
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
	order := `CASE status WHEN 'down' THEN 0 WHEN 'degraded' THEN 1 WHEN 'unreachable' THEN 1 WHEN 'flapping' THEN 1 WHEN 'pending' THEN 2 WHEN 'up' THEN 3 ELSE 4 END, name COLLATE NOCASE, id`
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
	// Sort and cut on ids alone, then load the page's rows: the sorter then
	// carries 10,000 small keys, not 10,000 full monitors.
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM monitors WHERE `+cond+` ORDER BY `+order+` LIMIT ?`,
		append(args, limit)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: query monitors: %w", err)
	}
	var ids []any
	pos := map[int64]int{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("store: query monitors: %w", err)
		}
		pos[id] = len(ids)
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: query monitors: %w", err)
	}
	out := make([]Monitor, len(ids))
	if len(ids) == 0 {
		return out, total, nil
	}
	ms, err := queryMonitors(ctx, s.r, `WHERE id IN (?`+strings.Repeat(`,?`, len(ids)-1)+`)`, ids...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: query monitors: %w", err)
	}
	for _, m := range ms {
		out[pos[m.ID]] = m
	}
	return out, total, nil
}
