package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Session is one signed-in browser, as its owner sees it.
type Session struct {
	ID         string // short public id: the first 16 hex digits of the token hash
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time // zero if never recorded
	UserAgent  string
}

// SessionID is the public id of the session whose token hashes to tokenHash.
func SessionID(tokenHash []byte) string {
	return strings.ToUpper(hex.EncodeToString(tokenHash[:min(8, len(tokenHash))]))
}

// touchEvery bounds how often TouchSession writes: a page view per second
// must not become a write per second.
const touchEvery = time.Minute

// TouchSession records that a session was used, and from which browser.
func (s *Store) TouchSession(ctx context.Context, tokenHash []byte, userAgent string) error {
	now := s.now()
	_, err := s.exec(ctx, `UPDATE sessions SET last_seen_at = ?, user_agent = ?
		WHERE token_hash = ? AND (last_seen_at IS NULL OR last_seen_at < ? OR user_agent <> ?)`,
		toMillis(now), cutUTF8(userAgent, 300), tokenHash, toMillis(now.Add(-touchEvery)), cutUTF8(userAgent, 300))
	if err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// ListSessions returns a user's live sessions, most recently used first.
func (s *Store) ListSessions(ctx context.Context, userID int64) ([]Session, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT token_hash, created_at, expires_at, last_seen_at, user_agent
		FROM sessions WHERE user_id = ? AND expires_at > ?
		ORDER BY coalesce(last_seen_at, created_at) DESC, last_seen_at IS NULL`, userID, toMillis(s.now()))
	if err != nil {
		return nil, fmt.Errorf("store: list sessions: %w", err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var hash []byte
		var created, expires int64
		var seen sql.NullInt64
		var se Session
		if err := rows.Scan(&hash, &created, &expires, &seen, &se.UserAgent); err != nil {
			return nil, fmt.Errorf("store: list sessions: %w", err)
		}
		se.ID, se.CreatedAt, se.ExpiresAt = SessionID(hash), fromMillis(created), fromMillis(expires)
		if seen.Valid {
			se.LastSeenAt = fromMillis(seen.Int64)
		}
		out = append(out, se)
	}
	return out, rows.Err()
}

// DeleteSessionByID revokes one of a user's sessions by its public id.
func (s *Store) DeleteSessionByID(ctx context.Context, userID int64, id string) error {
	if len(id) != 16 {
		return fmt.Errorf("store: revoke session: %w", ErrNotFound)
	}
	res, err := s.exec(ctx, `DELETE FROM sessions WHERE user_id = ? AND substr(hex(token_hash), 1, 16) = ?`,
		userID, strings.ToUpper(id))
	if err != nil {
		return fmt.Errorf("store: revoke session: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: revoke session: %w", ErrNotFound)
	}
	return nil
}

// DeleteOtherSessions ends every session of a user but one (after a
// password change, the browser that changed it stays signed in).
func (s *Store) DeleteOtherSessions(ctx context.Context, userID int64, keepHash []byte) error {
	if _, err := s.exec(ctx, `DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?`, userID, keepHash); err != nil {
		return fmt.Errorf("store: delete other sessions: %w", err)
	}
	return nil
}

// ListUsers returns every account, oldest first.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// APIToken is a long-lived credential for scripts; only its hash is stored.
type APIToken struct {
	ID         int64
	UserID     int64
	Name       string
	Prefix     string // first characters of the token, to recognise it
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used
	ExpiresAt  time.Time // zero: does not expire
	Scope      string    // ScopeRead or ScopeWrite
}

// API token scopes: a read token is refused on every route that changes
// something.
const (
	ScopeRead    = "read"
	ScopeWrite   = "write"
	ScopeMetrics = "metrics" // GET /metrics only
)

// CreateAPIToken stores a new token's hash, stamped with the credential
// version the request creating it was authenticated under: ErrNotFound if
// the user is gone or their credentials changed since, so a credential
// that just ended cannot mint a lasting one.
// scope is ScopeRead or ScopeWrite ("" is write).
func (s *Store) CreateAPIToken(ctx context.Context, userID, credVersion int64, name, prefix, scope string, tokenHash []byte, expiresAt time.Time) (APIToken, error) {
	if scope == "" {
		scope = ScopeWrite
	}
	t := APIToken{UserID: userID, Name: name, Prefix: prefix, CreatedAt: s.now().UTC().Truncate(time.Millisecond), ExpiresAt: expiresAt, Scope: scope}
	var exp any
	if !expiresAt.IsZero() {
		exp = toMillis(expiresAt)
	}
	var res sql.Result
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkQuota(ctx, tx, userID, QuotaTokens); err != nil {
			return err
		}
		var err error
		res, err = tx.ExecContext(ctx, `INSERT INTO api_tokens (id, user_id, name, prefix, token_hash, created_at, expires_at, cred_version, scope)
			SELECT `+nextID("api_tokens")+`, id, ?, ?, ?, ?, ?, cred_version, ? FROM users WHERE id = ? AND cred_version = ?`,
			name, prefix, tokenHash, toMillis(t.CreatedAt), exp, scope, userID, credVersion)
		return err
	})
	if err == nil {
		if n, _ := res.RowsAffected(); n == 0 {
			return t, fmt.Errorf("store: create token: user %d with credential version %d: %w", userID, credVersion, ErrNotFound)
		}
	}
	switch {
	case err == nil:
	case isForeignKeyViolation(err):
		return t, fmt.Errorf("store: create token: user %d: %w", userID, ErrNotFound)
	case isUniqueViolation(err):
		return t, fmt.Errorf("store: create token: %w", ErrConflict)
	default: // a *QuotaError among others
		return t, fmt.Errorf("store: create token: %w", err)
	}
	t.ID, err = res.LastInsertId()
	if err != nil {
		return t, fmt.Errorf("store: create token: %w", err)
	}
	return t, nil
}

const tokenColumns = `t.id, t.user_id, t.name, t.prefix, t.created_at, t.last_used_at, t.expires_at, t.scope`

func scanToken(r rowScanner) (APIToken, error) {
	var t APIToken
	var created int64
	var used, exp sql.NullInt64
	if err := r.Scan(&t.ID, &t.UserID, &t.Name, &t.Prefix, &created, &used, &exp, &t.Scope); err != nil {
		return t, err
	}
	t.CreatedAt = fromMillis(created)
	if used.Valid {
		t.LastUsedAt = fromMillis(used.Int64)
	}
	if exp.Valid {
		t.ExpiresAt = fromMillis(exp.Int64)
	}
	return t, nil
}

// ListAPITokens returns a user's tokens, newest first.
func (s *Store) ListAPITokens(ctx context.Context, userID int64) ([]APIToken, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens t WHERE t.user_id = ? ORDER BY t.id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteAPIToken revokes one of a user's tokens.
func (s *Store) DeleteAPIToken(ctx context.Context, userID, id int64) error {
	res, err := s.exec(ctx, `DELETE FROM api_tokens WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return fmt.Errorf("store: revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: revoke token %d: %w", id, ErrNotFound)
	}
	return nil
}

// APITokenUser resolves a token hash to its (enabled) user; it only reads,
// so authenticating a read request never waits for the writer. Missing,
// expired, disabled and issued before a credential change all read as
// ErrNotFound. Record the use with
// TouchAPIToken.
func (s *Store) APITokenUser(ctx context.Context, tokenHash []byte) (User, APIToken, error) {
	now := toMillis(s.now())
	row := s.r.QueryRowContext(ctx, `SELECT `+tokenColumns+`, u.id, u.email, u.password_hash, u.admin, u.disabled, u.created_at, u.cred_version, u.role, coalesce(u.owner_id, 0)
		FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = ? AND (t.expires_at IS NULL OR t.expires_at > ?) AND u.disabled = 0
		AND t.cred_version = u.cred_version`, tokenHash, now)
	var t APIToken
	var u User
	var created, ucreated int64
	var used, exp sql.NullInt64
	err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.Prefix, &created, &used, &exp, &t.Scope,
		&u.ID, &u.Email, &u.PasswordHash, &u.Admin, &u.Disabled, &ucreated, &u.CredVersion, &u.Role, &u.OwnerID)
	if err != nil {
		return User{}, APIToken{}, fmt.Errorf("store: token user: %w", notFound(err))
	}
	t.CreatedAt, u.CreatedAt = fromMillis(created), fromMillis(ucreated)
	if exp.Valid {
		t.ExpiresAt = fromMillis(exp.Int64)
	}
	if used.Valid {
		t.LastUsedAt = fromMillis(used.Int64)
	}
	return u, t, nil
}

// TouchAPIToken records that a token was used now, at most once a minute
// (see touchEvery).
func (s *Store) TouchAPIToken(ctx context.Context, id int64) error {
	now := s.now()
	_, err := s.exec(ctx, `UPDATE api_tokens SET last_used_at = ?
		WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`, toMillis(now), id, toMillis(now.Add(-touchEvery)))
	if err != nil {
		return fmt.Errorf("store: token use: %w", err)
	}
	return nil
}

// cutUTF8 shortens s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// StatusCounts counts a user's monitors by status, for counts and the
// favicon without loading every monitor.
func (s *Store) StatusCounts(ctx context.Context, userID int64) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT status, count(*) FROM monitors WHERE user_id = ? GROUP BY status`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: status counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("store: status counts: %w", err)
		}
		out[st] = n
	}
	return out, rows.Err()
}
