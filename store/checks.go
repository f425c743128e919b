package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The WHERE EXISTS turns a check for a monitor deleted while its result was
// in flight into a no-op; a plain INSERT would fail the foreign key and,
// with it, every other check of the batch.
const insertCheck = `INSERT OR IGNORE INTO checks (monitor_id, region, ts, ok, status_code, latency_us,
	dns_us, connect_us, tls_us, ttfb_us, transfer_us, reason, error, degraded, worker_id, maintenance)
	SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16
	WHERE EXISTS (SELECT 1 FROM monitors WHERE id = ?1)`

// "<=" rather than "<" so that two regions reporting the same instant still
// leave the last one written, as a later batch would.
// A check without a certificate (refused, plain http) keeps the expiry the
// last one saw, and a push without a body keeps the last body.
const updateLastCheck = `UPDATE monitors SET last_check_at = ?, last_ok = ?, last_status_code = ?,
	last_latency_us = ?, last_reason = ?, last_error = ?, last_region = ?,
	last_degraded = ?, last_detail = ?, cert_expires_at = coalesce(?, cert_expires_at),
	last_body = coalesce(?, last_body)
	WHERE id = ? AND (last_check_at IS NULL OR last_check_at <= ?)`

// A paused monitor's state belongs to the user, not to results that were
// already queued when it was paused.
const updateState = `UPDATE monitors SET status = ?, status_since = ?, fail_streak = ?
	WHERE id = ? AND paused = 0`

// SaveChecks stores a batch of results and the monitor states they led to,
// in one write transaction: committing per batch rather than per row is
// what keeps the result sink ahead of the workers. Checks already stored (a
// redelivered batch) and checks of deleted monitors are skipped.
//
// The same transaction adds the inserted checks to the hourly and daily
// roll-ups, and opens or resolves incidents for the transitions: a
// transition to down opens one (unless one is open already), any other
// transition resolves the open one. A transition with Alert queues its
// deliveries (see Transition.Alert), at most once per channel and event.
func (s *Store) SaveChecks(ctx context.Context, checks []Check, updates []StateUpdate) error {
	if len(checks) == 0 && len(updates) == 0 {
		return nil
	}
	workerIDs, fresh := s.knownWorkers(checks)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		w := wtx{Tx: tx, prepared: s.prepared}
		if err := addWorkers(ctx, tx, fresh, workerIDs); err != nil {
			return err
		}
		if err := saveChecks(ctx, w, checks, workerIDs); err != nil {
			return err
		}
		return saveStates(ctx, w, updates, s.now)
	})
	if err != nil {
		return fmt.Errorf("store: save %d checks, %d states: %w", len(checks), len(updates), err)
	}
	if len(fresh) > 0 { // cached only once committed
		s.workersMu.Lock()
		for _, name := range fresh {
			s.workers[name] = workerIDs[name]
		}
		s.workersMu.Unlock()
	}
	return nil
}

// knownWorkers maps the batch's worker names to their ids, and lists the
// names not seen yet ("" is no worker: id 0).
func (s *Store) knownWorkers(checks []Check) (map[string]int64, []string) {
	ids := map[string]int64{"": 0}
	var fresh []string
	s.workersMu.Lock()
	defer s.workersMu.Unlock()
	if s.workers == nil {
		s.workers = map[string]int64{}
	}
	for i := range checks {
		name := checks[i].Worker
		if _, ok := ids[name]; ok {
			continue
		}
		if id, ok := s.workers[name]; ok {
			ids[name] = id
			continue
		}
		ids[name] = 0
		fresh = append(fresh, name)
	}
	return ids, fresh
}

// addWorkers records new worker names and fills in their ids.
func addWorkers(ctx context.Context, tx *sql.Tx, names []string, ids map[string]int64) error {
	for _, name := range names {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO check_workers (name) VALUES (?)
			ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id`, name).Scan(&id)
		if err != nil {
			return fmt.Errorf("worker %q: %w", name, err)
		}
		ids[name] = id
	}
	return nil
}

func saveChecks(ctx context.Context, tx wtx, checks []Check, workerIDs map[string]int64) error {
	if len(checks) == 0 {
		return nil
	}
	// Statements are prepared on tx: the pool's only connection is the one
	// tx holds, so preparing on the pool would wait forever.
	ins, err := tx.PrepareContext(ctx, insertCheck)
	if err != nil {
		return err
	}
	defer ins.Close()

	// Inserting in key order walks each B-tree once from left to right
	// instead of jumping between monitors' pages.
	order := make([]int, len(checks))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		x, y := &checks[a], &checks[b]
		return cmp.Or(cmp.Compare(x.MonitorID, y.MonitorID), strings.Compare(x.Region, y.Region),
			cmp.Compare(toMillis(x.At), toMillis(y.At)), cmp.Compare(a, b))
	})

	// Only the newest inserted check of each monitor can end up in its
	// last_* columns, so each monitor is updated once, not per check.
	// Among equal times the one later in the batch wins, as it would in a
	// later batch.
	var latest []int      // index into checks of each monitor's newest, by monitor id
	var kept []keptExtras // per entry of latest
	// The roll-ups of the checks actually inserted, so a redelivered check
	// is not counted twice. The key order above makes each hour's checks
	// adjacent, so this is a slice, not a map.
	var hours []rollup
	for _, i := range order {
		c := &checks[i]
		res, err := ins.ExecContext(ctx, c.MonitorID, c.Region, toMillis(c.At), boolInt(c.OK), c.StatusCode,
			toMicros(c.Latency), toMicros(c.Phases.DNS), toMicros(c.Phases.Connect), toMicros(c.Phases.TLS),
			toMicros(c.Phases.TTFB), toMicros(c.Phases.Transfer), c.Reason, c.Error, boolInt(c.OK && c.Degraded),
			workerIDs[c.Worker], boolInt(c.Maintenance))
		if err != nil {
			return fmt.Errorf("check of monitor %d: %w", c.MonitorID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			continue // duplicate or deleted monitor: nothing new to show
		}
		hours = addToHours(hours, c)
		last := len(latest) - 1
		switch {
		case last < 0 || checks[latest[last]].MonitorID != c.MonitorID:
			latest = append(latest, i)
			kept = append(kept, keptExtras{})
			last++
		case newer(c, i, &checks[latest[last]], latest[last]):
			latest[last] = i
		}
		// What a newer check lacks, an older one of the batch may have
		// seen; checks come in time order, so the newest that has one wins.
		if !c.CertExpiry.IsZero() {
			kept[last].cert = c.CertExpiry
		}
		if c.Body != "" {
			kept[last].body = c.Body
		}
	}
	if len(latest) == 0 {
		return nil
	}
	if err := saveRollups(ctx, tx, hours); err != nil {
		return err
	}

	upd, err := tx.PrepareContext(ctx, updateLastCheck)
	if err != nil {
		return err
	}
	defer upd.Close()
	for k, i := range latest {
		c := &checks[i]
		at := toMillis(c.At)
		var certExp any
		if !kept[k].cert.IsZero() {
			certExp = toMillis(kept[k].cert)
		}
		_, err := upd.ExecContext(ctx, at, boolInt(c.OK), c.StatusCode, toMicros(c.Latency),
			c.Reason, c.Error, c.Region, boolInt(c.OK && c.Degraded), c.Detail, certExp,
			nullString(cutUTF8(strings.ToValidUTF8(kept[k].body, "\uFFFD"), MaxPushBody)), c.MonitorID, at)
		if err != nil {
			return fmt.Errorf("last check of monitor %d: %w", c.MonitorID, err)
		}
	}
	return nil
}

// keptExtras is what the last_* columns keep from a monitor's checks in a
// batch that its newest check may lack.
type keptExtras struct {
	cert time.Time
	body string
}

// newer reports whether check a (at batch index i) supersedes b (at j).
func newer(a *Check, i int, b *Check, j int) bool {
	x, y := toMillis(a.At), toMillis(b.At)
	return x > y || (x == y && i > j)
}

func saveStates(ctx context.Context, tx wtx, updates []StateUpdate, now func() time.Time) error {
	if len(updates) == 0 {
		return nil
	}
	upd, err := tx.PrepareContext(ctx, updateState)
	if err != nil {
		return err
	}
	defer upd.Close()
	var ins *sql.Stmt // most batches change no status, so prepared on demand
	for _, u := range updates {
		res, err := upd.ExecContext(ctx, u.State.Status, toMillis(u.State.Since), u.State.FailStreak, u.MonitorID)
		if err != nil {
			return fmt.Errorf("state of monitor %d: %w", u.MonitorID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 || u.Transition == nil {
			continue // paused or deleted meanwhile: its transition did not happen
		}
		if ins == nil {
			if ins, err = tx.PrepareContext(ctx, insertTransition); err != nil {
				return err
			}
			defer ins.Close()
		}
		t := u.Transition
		at := t.At
		if at.IsZero() {
			at = now()
		}
		if _, err := ins.ExecContext(ctx, u.MonitorID, toMillis(at), t.From, t.To, t.Reason, t.Error); err != nil {
			return fmt.Errorf("transition of monitor %d: %w", u.MonitorID, err)
		}
		// The incident a recovery resolves is found before it is resolved.
		var resolving int64
		if t.Alert && t.To != StatusDown {
			if resolving, err = openIncidentID(ctx, tx.Tx, u.MonitorID); err != nil {
				return fmt.Errorf("incident of monitor %d: %w", u.MonitorID, err)
			}
		}
		if err := recordIncident(ctx, tx.Tx, u.MonitorID, at, t); err != nil {
			return fmt.Errorf("incident of monitor %d: %w", u.MonitorID, err)
		}
		if t.Alert {
			if err := enqueueTransition(ctx, tx.Tx, u.MonitorID, at, t, resolving, now()); err != nil {
				return fmt.Errorf("alerts of monitor %d: %w", u.MonitorID, err)
			}
		}
	}
	return nil
}

// ListChecks returns up to limit of a monitor's checks, newest first across
// regions; limit <= 0 means all of them.
func (s *Store) ListChecks(ctx context.Context, monitorID int64, limit int) ([]Check, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT region, ts, ok, status_code, latency_us,
		dns_us, connect_us, tls_us, ttfb_us, transfer_us, reason, error, degraded,
		coalesce((SELECT name FROM check_workers WHERE id = checks.worker_id), '')
		FROM checks WHERE monitor_id = ? ORDER BY ts DESC, region DESC LIMIT ?`, monitorID, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: list checks of monitor %d: %w", monitorID, err)
	}
	defer rows.Close()
	var cs []Check
	for rows.Next() {
		c := Check{MonitorID: monitorID}
		var ts, lat, dns, conn, tls, ttfb, xfer int64
		if err := rows.Scan(&c.Region, &ts, &c.OK, &c.StatusCode, &lat, &dns, &conn, &tls, &ttfb, &xfer,
			&c.Reason, &c.Error, &c.Degraded, &c.Worker); err != nil {
			return nil, fmt.Errorf("store: list checks of monitor %d: %w", monitorID, err)
		}
		c.At, c.Latency = fromMillis(ts), fromMicros(lat)
		c.Phases = Phases{DNS: fromMicros(dns), Connect: fromMicros(conn), TLS: fromMicros(tls),
			TTFB: fromMicros(ttfb), Transfer: fromMicros(xfer)}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list checks of monitor %d: %w", monitorID, err)
	}
	return cs, nil
}

// Transitions returns up to limit of a monitor's status changes, newest
// first; limit <= 0 means all of them.
func (s *Store) Transitions(ctx context.Context, monitorID int64, limit int) ([]Transition, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT ts, from_status, to_status, reason, error
		FROM monitor_transitions WHERE monitor_id = ? ORDER BY ts DESC, id DESC LIMIT ?`, monitorID, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: transitions of monitor %d: %w", monitorID, err)
	}
	defer rows.Close()
	var out []Transition
	for rows.Next() {
		t := Transition{MonitorID: monitorID}
		var at int64
		if err := rows.Scan(&at, &t.From, &t.To, &t.Reason, &t.Error); err != nil {
			return nil, fmt.Errorf("store: transitions of monitor %d: %w", monitorID, err)
		}
		t.At = fromMillis(at)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: transitions of monitor %d: %w", monitorID, err)
	}
	return out, nil
}

// sqlLimit maps "no limit" to SQLite's LIMIT -1.
func sqlLimit(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}
