package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
)

// QuotaKind names a thing a user may only have so many of.
type QuotaKind string

// The kinds with quotas. Worker tokens count those the user created
// (admins create them); status pages count nothing yet: the hook for the
// feature that adds them (countQuota).
const (
	QuotaMonitors     QuotaKind = "monitors"
	QuotaChannels     QuotaKind = "channels"
	QuotaTokens       QuotaKind = "tokens"
	QuotaWorkerTokens QuotaKind = "worker_tokens"
	QuotaStatusPages  QuotaKind = "status_pages"
)

// QuotaKinds lists every kind, in the order answers show them.
var QuotaKinds = []QuotaKind{QuotaMonitors, QuotaChannels, QuotaTokens, QuotaWorkerTokens, QuotaStatusPages}

// Quotas are limits by kind. 0 (or a kind left out) is no limit.
type Quotas map[QuotaKind]int

// ErrQuota is what a create over its quota wraps (see QuotaError).
var ErrQuota = errors.New("quota reached")

// QuotaError says which limit a create would have passed.
type QuotaError struct {
	Kind  QuotaKind
	Limit int
}

func (e *QuotaError) Error() string {
	return "quota reached: at most " + strconv.Itoa(e.Limit) + " " + string(e.Kind)
}
func (e *QuotaError) Is(target error) bool { return target == ErrQuota }

// quotaDefaults holds the instance's defaults (SetQuotaDefaults); nil: no
// limits, as a store opened by a test or the command line has.
type quotaDefaults = atomic.Pointer[Quotas]

// SetQuotaDefaults sets the instance's limits for users without their own
// (QUOTA_* settings). Admins are not limited by the defaults: only by
// quotas set on their own account.
func (s *Store) SetQuotaDefaults(q Quotas) {
	c := Quotas{}
	for k, v := range q {
		c[k] = v
	}
	s.quotas.Store(&c)
}

// QuotaDefaults returns the instance's limits.
func (s *Store) QuotaDefaults() Quotas {
	out := Quotas{}
	if p := s.quotas.Load(); p != nil {
		for k, v := range *p {
			out[k] = v
		}
	}
	return out
}

// effectiveQuota is the limit of kind for a user with these overrides: their
// own, else the instance's (admins: none). 0 is no limit.
func (s *Store) effectiveQuota(kind QuotaKind, admin bool, own Quotas) int {
	if v, ok := own[kind]; ok {
		return v
	}
	if admin {
		return 0
	}
	if p := s.quotas.Load(); p != nil {
		return (*p)[kind]
	}
	return 0
}

// countQuota counts what a user has of kind, inside q (the write
// transaction of a create, so a concurrent create cannot slip between the
// count and the insert).
func countQuota(ctx context.Context, q queryer, userID int64, kind QuotaKind, nowMS int64) (int, error) {
	var query string
	switch kind {
	case QuotaMonitors:
		query = `SELECT count(*) FROM monitors WHERE user_id = ?`
	case QuotaChannels:
		query = `SELECT count(*) FROM channels WHERE user_id = ?`
	case QuotaTokens:
		query = `SELECT count(*) FROM api_tokens WHERE user_id = ? AND (expires_at IS NULL OR expires_at > ` + strconv.FormatInt(nowMS, 10) + `)`
	case QuotaWorkerTokens:
		query = `SELECT count(*) FROM worker_tokens WHERE created_by = ? AND revoked_at IS NULL`
	default:
		return 0, nil // status pages: none yet
	}
	var n int
	err := q.QueryRowContext(ctx, query, userID).Scan(&n)
	return n, err
}

func userQuotas(ctx context.Context, q queryer, userID int64) (admin bool, own Quotas, err error) {
	var raw string
	if err := q.QueryRowContext(ctx, `SELECT admin, quotas FROM users WHERE id = ?`, userID).Scan(&admin, &raw); err != nil {
		return false, nil, notFound(err)
	}
	if err := json.Unmarshal([]byte(raw), &own); err != nil {
		return false, nil, fmt.Errorf("user %d quotas: %w", userID, err)
	}
	return admin, own, nil
}

// checkQuota refuses (*QuotaError) one more of kind for userID when the
// user already has their limit. Call it in the create's transaction.
func (s *Store) checkQuota(ctx context.Context, tx *sql.Tx, userID int64, kind QuotaKind) error {
	if userID == 0 {
		return nil
	}
	admin, own, err := userQuotas(ctx, tx, userID)
	if errors.Is(err, ErrNotFound) {
		return nil // the insert reports the missing user
	}
	if err != nil {
		return err
	}
	limit := s.effectiveQuota(kind, admin, own)
	if limit <= 0 {
		return nil
	}
	n, err := countQuota(ctx, tx, userID, kind, toMillis(s.now()))
	if err != nil {
		return err
	}
	if n >= limit {
		return &QuotaError{Kind: kind, Limit: limit}
	}
	return nil
}

// QuotaUse is one kind's limit for a user, where it comes from, and what
// the user has.
type QuotaUse struct {
	Kind  QuotaKind
	Limit int  // 0: none
	Own   bool // set on the user by an admin (else the instance's default)
	Used  int
}

// UserQuotas returns a user's limits and usage for every kind.
func (s *Store) UserQuotas(ctx context.Context, userID int64) ([]QuotaUse, error) {
	admin, own, err := userQuotas(ctx, s.r, userID)
	if err != nil {
		return nil, fmt.Errorf("store: quotas of user %d: %w", userID, err)
	}
	out := make([]QuotaUse, 0, len(QuotaKinds))
	for _, k := range QuotaKinds {
		n, err := countQuota(ctx, s.r, userID, k, toMillis(s.now()))
		if err != nil {
			return nil, fmt.Errorf("store: quotas of user %d: %w", userID, err)
		}
		_, mine := own[k]
		out = append(out, QuotaUse{Kind: k, Limit: s.effectiveQuota(k, admin, own), Own: mine, Used: n})
	}
	return out, nil
}

// SetUserQuotas changes a user's own quotas: a kind with a value sets it
// (0: no limit), a kind with nil goes back to the instance's default,
// kinds not named stay as they are. Lowering a quota removes nothing: the
// user cannot create more until under it.
func (s *Store) SetUserQuotas(ctx context.Context, userID int64, set map[QuotaKind]*int) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, own, err := userQuotas(ctx, tx, userID)
		if err != nil {
			return err
		}
		if own == nil {
			own = Quotas{}
		}
		for k, v := range set {
			if v == nil {
				delete(own, k)
			} else {
				own[k] = *v
			}
		}
		b, err := json.Marshal(own)
		if err != nil {
			return err
		}
		return execOne(ctx, tx, `UPDATE users SET quotas = ? WHERE id = ?`, string(b), userID)
	})
	if err != nil {
		return fmt.Errorf("store: set quotas of user %d: %w", userID, err)
	}
	return nil
}
