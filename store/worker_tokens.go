package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// WorkerToken lets one or more `upwatch worker` processes join over the
// server's HTTPS worker endpoint, for the listed regions only. Only its
// hash is stored.
type WorkerToken struct {
	ID         int64
	Name       string
	Regions    []string
	Prefix     string // first characters of the token, to recognise it
	CreatedBy  int64  // user id; 0 when that user was deleted
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used
	RevokedAt  time.Time // zero: live
}

// CreateWorkerToken stores a new worker token's hash.
func (s *Store) CreateWorkerToken(ctx context.Context, name string, regions []string, prefix string, tokenHash []byte, createdBy int64) (WorkerToken, error) {
	t := WorkerToken{Name: name, Regions: regions, Prefix: prefix, CreatedBy: createdBy, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	if t.Regions == nil {
		t.Regions = []string{}
	}
	rj, _ := json.Marshal(t.Regions) // a []string always encodes
	var by any
	if createdBy != 0 {
		by = createdBy
	}
	var res sql.Result
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkQuota(ctx, tx, createdBy, QuotaWorkerTokens); err != nil {
			return err
		}
		var err error
		res, err = tx.ExecContext(ctx, `INSERT INTO worker_tokens (id, name, regions, prefix, token_hash, created_by, created_at)
			VALUES (`+nextID("worker_tokens")+`, ?, ?, ?, ?, ?, ?)`, name, string(rj), prefix, tokenHash, by, toMillis(t.CreatedAt))
		return err
	})
	switch {
	case err == nil:
	case isForeignKeyViolation(err):
		return t, fmt.Errorf("store: create worker token: user %d: %w", createdBy, ErrNotFound)
	case isUniqueViolation(err):
		return t, fmt.Errorf("store: create worker token: %w", ErrConflict)
	default:
		return t, fmt.Errorf("store: create worker token: %w", err)
	}
	if t.ID, err = res.LastInsertId(); err != nil {
		return t, fmt.Errorf("store: create worker token: %w", err)
	}
	return t, nil
}

const workerTokenColumns = `id, name, regions, prefix, created_by, created_at, last_used_at, revoked_at`

func scanWorkerToken(r rowScanner) (WorkerToken, error) {
	var t WorkerToken
	var regions string
	var created int64
	var by, used, revoked sql.NullInt64
	if err := r.Scan(&t.ID, &t.Name, &regions, &t.Prefix, &by, &created, &used, &revoked); err != nil {
		return t, err
	}
	if err := json.Unmarshal([]byte(regions), &t.Regions); err != nil {
		return t, fmt.Errorf("worker token %d: regions: %w", t.ID, err)
	}
	t.CreatedBy, t.CreatedAt = by.Int64, fromMillis(created)
	if used.Valid {
		t.LastUsedAt = fromMillis(used.Int64)
	}
	if revoked.Valid {
		t.RevokedAt = fromMillis(revoked.Int64)
	}
	return t, nil
}

// ListWorkerTokens returns every worker token, live ones first, newest
// first within each.
func (s *Store) ListWorkerTokens(ctx context.Context) ([]WorkerToken, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+workerTokenColumns+` FROM worker_tokens
		ORDER BY revoked_at IS NOT NULL, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("store: list worker tokens: %w", err)
	}
	defer rows.Close()
	var out []WorkerToken
	for rows.Next() {
		t, err := scanWorkerToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list worker tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeWorkerToken refuses a worker token from now on; ErrNotFound when
// there is no such live token.
func (s *Store) RevokeWorkerToken(ctx context.Context, id int64) error {
	res, err := s.exec(ctx, `UPDATE worker_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
		toMillis(s.now()), id)
	if err != nil {
		return fmt.Errorf("store: revoke worker token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: revoke worker token %d: %w", id, ErrNotFound)
	}
	return nil
}

// WorkerTokenByHash resolves a live (not revoked) worker token by its hash
// and records the use at most once a minute; anything else is
// ErrNotFound. It is called on every request of an HTTPS worker, so
// revoking takes effect at the next one.
func (s *Store) WorkerTokenByHash(ctx context.Context, tokenHash []byte) (WorkerToken, error) {
	t, err := scanWorkerToken(s.r.QueryRowContext(ctx, `SELECT `+workerTokenColumns+` FROM worker_tokens
		WHERE token_hash = ? AND revoked_at IS NULL`, tokenHash))
	if err != nil {
		return WorkerToken{}, fmt.Errorf("store: worker token: %w", notFound(err))
	}
	now := s.now()
	if t.LastUsedAt.IsZero() || now.Sub(t.LastUsedAt) > touchEvery {
		if _, err := s.exec(ctx, `UPDATE worker_tokens SET last_used_at = ? WHERE id = ?`, toMillis(now), t.ID); err != nil {
			return WorkerToken{}, fmt.Errorf("store: worker token use: %w", err)
		}
		t.LastUsedAt = fromMillis(toMillis(now))
	}
	return t, nil
}
