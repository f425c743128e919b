package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// maxExcerpt bounds the response body excerpt kept with an incident.
const maxExcerpt = 1024

// cutExcerpt keeps at most maxExcerpt bytes of valid UTF-8, cut before a
// character rather than inside one.
func cutExcerpt(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxExcerpt {
		return s
	}
	n := maxExcerpt
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// recordIncident keeps incidents in step with a monitor's transition, in
// the transaction that records it: a transition to down opens an incident
// (if one is open already, e.g. after a missed recovery, that one goes on),
// and any other transition — to up, paused, pending — resolves the open one.
func recordIncident(ctx context.Context, tx *sql.Tx, monitorID int64, at time.Time, t *Transition) error {
	if t.To == StatusDown {
		_, err := tx.ExecContext(ctx, `INSERT INTO incidents (monitor_id, started_at, reason, error, status_code, excerpt)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (monitor_id) WHERE resolved_at IS NULL DO NOTHING`,
			monitorID, toMillis(at), t.Reason, t.Error, t.StatusCode, cutExcerpt(t.Excerpt))
		return err
	}
	// max(): a clock step backwards must not end an incident before it began.
	_, err := tx.ExecContext(ctx, `UPDATE incidents SET resolved_at = max(started_at, ?)
		WHERE monitor_id = ? AND resolved_at IS NULL`, toMillis(at), monitorID)
	return err
}

const incidentColumns = `i.id, i.monitor_id, i.started_at, i.resolved_at, i.reason, i.error, i.status_code,
	i.excerpt, i.acked_by, u.email, i.acked_at`

// incidentFrom joins what an Incident shows; callers add the user scope.
const incidentFrom = ` FROM incidents AS i
	JOIN monitors AS m ON m.id = i.monitor_id
	LEFT JOIN users AS u ON u.id = i.acked_by`

func scanIncident(r rowScanner) (Incident, error) {
	var (
		in                    Incident
		started               int64
		resolved, by, ackedAt sql.NullInt64
		email                 sql.NullString
	)
	err := r.Scan(&in.ID, &in.MonitorID, &started, &resolved, &in.Reason, &in.Error, &in.StatusCode,
		&in.Excerpt, &by, &email, &ackedAt)
	if err != nil {
		return Incident{}, err
	}
	in.StartedAt = fromMillis(started)
	if resolved.Valid {
		in.ResolvedAt = fromMillis(resolved.Int64)
	}
	in.AckedBy, in.AckedEmail = by.Int64, email.String
	if ackedAt.Valid {
		in.AckedAt = fromMillis(ackedAt.Int64)
	}
	return in, nil
}

// ListIncidents returns incidents of userID's monitors, newest first,
// selected by f. A MonitorID of another user's monitor yields none.
func (s *Store) ListIncidents(ctx context.Context, userID int64, f IncidentFilter) ([]Incident, error) {
	where := []string{"m.user_id = ?"}
	args := []any{userID}
	if f.MonitorID != 0 {
		where = append(where, "i.monitor_id = ?")
		args = append(args, f.MonitorID)
	}
	switch f.Status {
	case "":
	case "open":
		where = append(where, "i.resolved_at IS NULL")
	case "resolved":
		where = append(where, "i.resolved_at IS NOT NULL")
	default:
		return nil, fmt.Errorf("store: list incidents: status %q is not open or resolved", f.Status)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, `SELECT `+incidentColumns+incidentFrom+`
		WHERE `+strings.Join(where, " AND ")+`
		ORDER BY i.started_at DESC, i.id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list incidents of user %d: %w", userID, err)
	}
	defer rows.Close()
	var out []Incident
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list incidents of user %d: %w", userID, err)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list incidents of user %d: %w", userID, err)
	}
	return out, nil
}

func getIncident(ctx context.Context, q queryer, userID, id int64) (Incident, error) {
	in, err := scanIncident(q.QueryRowContext(ctx, `SELECT `+incidentColumns+incidentFrom+`
		WHERE i.id = ? AND m.user_id = ?`, id, userID))
	return in, notFound(err)
}

// GetIncident returns an incident of one of userID's monitors; another
// user's is ErrNotFound.
func (s *Store) GetIncident(ctx context.Context, userID, id int64) (Incident, error) {
	in, err := getIncident(ctx, s.r, userID, id)
	if err != nil {
		return Incident{}, fmt.Errorf("store: incident %d: %w", id, err)
	}
	return in, nil
}

// AcknowledgeIncident records that byUserID has seen incident id of one of
// userID's monitors, and when (the store's clock). Acknowledging again
// keeps the first acknowledgement. ErrNotFound for another user's incident
// (or an unknown byUserID).
func (s *Store) AcknowledgeIncident(ctx context.Context, userID, id, byUserID int64) (Incident, error) {
	var out Incident
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE incidents SET acked_by = ?, acked_at = ?
			WHERE id = ? AND acked_at IS NULL
			AND monitor_id IN (SELECT id FROM monitors WHERE user_id = ?)`,
			byUserID, toMillis(s.now()), id, userID)
		if isForeignKeyViolation(err) {
			return fmt.Errorf("user %d: %w", byUserID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		out, err = getIncident(ctx, tx, userID, id)
		return err
	})
	if err != nil {
		return Incident{}, fmt.Errorf("store: acknowledge incident %d: %w", id, err)
	}
	return out, nil
}
