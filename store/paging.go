package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Keyset paging: a page is the rows after the sort key of the previous
// page's last row, never an OFFSET, so a page costs the same deep in a long
// list and rows added or removed meanwhile neither repeat nor skip others.

// Key is a row's position in its list's order: the parts a list sorts by
// (At: a time in ms or a flag, Str: a tie-breaker such as a region, ID).
type Key struct {
	At  int64
	Str string
	ID  int64
}

// Page asks for up to Limit rows after After; a nil After is the start.
type Page struct {
	Limit int
	After *Key
}

// MaxPage caps any page.
const MaxPage = 1000

func (p Page) limit() int {
	if p.Limit <= 0 || p.Limit > MaxPage {
		return 100
	}
	return p.Limit
}

// cut keeps the page's rows and returns the key to go on from, nil at the
// end (one row more than the page was read to tell).
func cut[T any](rows []T, limit int, key func(T) Key) ([]T, *Key) {
	if len(rows) <= limit {
		return rows, nil
	}
	rows = rows[:limit]
	k := key(rows[limit-1])
	return rows, &k
}

func scanAll[T any](rows *sql.Rows, err error, scan func(rowScanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		t, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// MonitorsPage returns a page of a user's monitors by id.
func (s *Store) MonitorsPage(ctx context.Context, userID int64, p Page) ([]Monitor, *Key, error) {
	after := int64(0)
	if p.After != nil {
		after = p.After.ID
	}
	n := p.limit()
	rows, err := s.r.QueryContext(ctx, `SELECT `+monitorColumns+` FROM monitors WHERE user_id = ? AND id > ?
		ORDER BY id LIMIT ?`, userID, after, n+1)
	ms, err := scanAll(rows, err, scanMonitor)
	if err != nil {
		return nil, nil, fmt.Errorf("store: monitors of user %d: %w", userID, err)
	}
	out, next := cut(ms, n, func(m Monitor) Key { return Key{ID: m.ID} })
	return out, next, nil
}

// ChecksPage returns a page of a monitor's checks, newest first (by time,
// then region: the table's unique key).
func (s *Store) ChecksPage(ctx context.Context, monitorID int64, p Page) ([]Check, *Key, error) {
	cond, args := "", []any{monitorID}
	if p.After != nil {
		cond = ` AND (ts, region) < (?, ?)`
		args = append(args, p.After.At, p.After.Str)
	}
	n := p.limit()
	args = append(args, n+1)
	rows, err := s.r.QueryContext(ctx, `SELECT region, ts, ok, status_code, latency_us,
		dns_us, connect_us, tls_us, ttfb_us, transfer_us, reason, error, degraded,
		coalesce((SELECT name FROM check_workers WHERE id = checks.worker_id), '')
		FROM checks WHERE monitor_id = ?`+cond+` ORDER BY ts DESC, region DESC LIMIT ?`, args...)
	cs, err := scanAll(rows, err, func(r rowScanner) (Check, error) {
		c := Check{MonitorID: monitorID}
		var ts, lat, dns, conn, tls, ttfb, xfer int64
		if err := r.Scan(&c.Region, &ts, &c.OK, &c.StatusCode, &lat, &dns, &conn, &tls, &ttfb, &xfer,
			&c.Reason, &c.Error, &c.Degraded, &c.Worker); err != nil {
			return c, err
		}
		c.At, c.Latency = fromMillis(ts), fromMicros(lat)
		c.Phases = Phases{DNS: fromMicros(dns), Connect: fromMicros(conn), TLS: fromMicros(tls),
			TTFB: fromMicros(ttfb), Transfer: fromMicros(xfer)}
		return c, nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store: checks of monitor %d: %w", monitorID, err)
	}
	out, next := cut(cs, n, func(c Check) Key { return Key{At: toMillis(c.At), Str: c.Region} })
	return out, next, nil
}

// IncidentsPage returns a page of incidents of a user's monitors selected
// by f (its Limit is ignored), newest first (by start, then id).
func (s *Store) IncidentsPage(ctx context.Context, userID int64, f IncidentFilter, p Page) ([]Incident, *Key, error) {
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
		return nil, nil, fmt.Errorf("store: incidents: status %q is not open or resolved", f.Status)
	}
	if p.After != nil {
		where = append(where, "(i.started_at, i.id) < (?, ?)")
		args = append(args, p.After.At, p.After.ID)
	}
	n := p.limit()
	args = append(args, n+1)
	rows, err := s.r.QueryContext(ctx, `SELECT `+incidentColumns+incidentFrom+`
		WHERE `+strings.Join(where, " AND ")+` ORDER BY i.started_at DESC, i.id DESC LIMIT ?`, args...)
	list, err := scanAll(rows, err, scanIncident)
	if err != nil {
		return nil, nil, fmt.Errorf("store: incidents of user %d: %w", userID, err)
	}
	out, next := cut(list, n, func(i Incident) Key { return Key{At: toMillis(i.StartedAt), ID: i.ID} })
	return out, next, nil
}

// ChannelsPage returns a page of a user's channels by id.
func (s *Store) ChannelsPage(ctx context.Context, userID int64, p Page) ([]Channel, *Key, error) {
	after := int64(0)
	if p.After != nil {
		after = p.After.ID
	}
	n := p.limit()
	rows, err := s.r.QueryContext(ctx, `SELECT `+channelColumns+` FROM channels WHERE user_id = ? AND id > ?
		ORDER BY id LIMIT ?`, userID, after, n+1)
	list, err := scanAll(rows, err, scanChannel)
	if err != nil {
		return nil, nil, fmt.Errorf("store: channels of user %d: %w", userID, err)
	}
	out, next := cut(list, n, func(c Channel) Key { return Key{ID: c.ID} })
	return out, next, nil
}

// DeliveriesPage returns a page of the deliveries of a user's channel
// (channelID 0: all their channels), newest first (by creation, then id).
// Another user's channel is ErrNotFound.
func (s *Store) DeliveriesPage(ctx context.Context, userID, channelID int64, p Page) ([]Delivery, *Key, error) {
	where, args := `WHERE c.user_id = ?`, []any{userID}
	if channelID != 0 {
		if _, err := getChannel(ctx, s.r, userID, channelID); err != nil {
			return nil, nil, fmt.Errorf("store: deliveries of channel %d: %w", channelID, err)
		}
		where += ` AND d.channel_id = ?`
		args = append(args, channelID)
	}
	if p.After != nil {
		where += ` AND (d.created_at, d.id) < (?, ?)`
		args = append(args, p.After.At, p.After.ID)
	}
	n := p.limit()
	args = append(args, n+1)
	list, err := queryDeliveries(ctx, s.r, false, where+` ORDER BY d.created_at DESC, d.id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("store: deliveries of channel %d: %w", channelID, err)
	}
	out, next := cut(list, n, func(d Delivery) Key { return Key{At: toMillis(d.CreatedAt), ID: d.ID} })
	return out, next, nil
}

// APITokensPage returns a page of a user's API tokens, newest first.
func (s *Store) APITokensPage(ctx context.Context, userID int64, p Page) ([]APIToken, *Key, error) {
	cond, args := "", []any{userID}
	if p.After != nil {
		cond, args = ` AND t.id < ?`, append(args, p.After.ID)
	}
	n := p.limit()
	args = append(args, n+1)
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens t WHERE t.user_id = ?`+cond+`
		ORDER BY t.id DESC LIMIT ?`, args...)
	list, err := scanAll(rows, err, scanToken)
	if err != nil {
		return nil, nil, fmt.Errorf("store: tokens of user %d: %w", userID, err)
	}
	out, next := cut(list, n, func(t APIToken) Key { return Key{ID: t.ID} })
	return out, next, nil
}

// WorkerTokensPage returns a page of every worker token, live ones first,
// newest first within each (Key.At: 0 live, 1 revoked).
func (s *Store) WorkerTokensPage(ctx context.Context, p Page) ([]WorkerToken, *Key, error) {
	cond, args := "", []any{}
	if p.After != nil {
		cond = ` WHERE (revoked_at IS NOT NULL) > ? OR ((revoked_at IS NOT NULL) = ? AND id < ?)`
		args = append(args, p.After.At, p.After.At, p.After.ID)
	}
	n := p.limit()
	args = append(args, n+1)
	rows, err := s.r.QueryContext(ctx, `SELECT `+workerTokenColumns+` FROM worker_tokens`+cond+`
		ORDER BY revoked_at IS NOT NULL, id DESC LIMIT ?`, args...)
	list, err := scanAll(rows, err, scanWorkerToken)
	if err != nil {
		return nil, nil, fmt.Errorf("store: worker tokens: %w", err)
	}
	out, next := cut(list, n, func(t WorkerToken) Key {
		k := Key{ID: t.ID}
		if !t.RevokedAt.IsZero() {
			k.At = 1
		}
		return k
	})
	return out, next, nil
}

// UsersPage returns a page of every account by id.
func (s *Store) UsersPage(ctx context.Context, p Page) ([]User, *Key, error) {
	after := int64(0)
	if p.After != nil {
		after = p.After.ID
	}
	n := p.limit()
	rows, err := s.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE id > ? ORDER BY id LIMIT ?`, after, n+1)
	list, err := scanAll(rows, err, scanUser)
	if err != nil {
		return nil, nil, fmt.Errorf("store: users: %w", err)
	}
	out, next := cut(list, n, func(u User) Key { return Key{ID: u.ID} })
	return out, next, nil
}
