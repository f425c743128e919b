package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// CreateSession records a login under the credential version the
// password was checked against. Only tokenHash is stored, never the token;
// ErrNotFound if the user does not exist or their credentials changed
// since (a password reset racing with the login).
func (s *Store) CreateSession(ctx context.Context, userID, credVersion int64, tokenHash []byte, expiresAt time.Time) error {
	res, err := s.exec(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at, cred_version)
		SELECT ?, id, ?, ?, cred_version FROM users WHERE id = ? AND cred_version = ?`,
		tokenHash, toMillis(s.now()), toMillis(expiresAt), userID, credVersion)
	if err == nil {
		if n, _ := res.RowsAffected(); n == 0 {
			err = fmt.Errorf("user %d with credential version %d: %w", userID, credVersion, ErrNotFound)
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound):
	case isForeignKeyViolation(err):
		err = fmt.Errorf("user %d: %w", userID, ErrNotFound)
	case isUniqueViolation(err):
		err = ErrConflict
	}
	return fmt.Errorf("store: create session: %w", err)
}

// SessionUser resolves a session to its user. An expired session, a
// disabled user and a session from before a credential change all read as
// ErrNotFound, so callers have one case to
// handle: log in again.
func (s *Store) SessionUser(ctx context.Context, tokenHash []byte) (User, error) {
	row := s.r.QueryRowContext(ctx, `SELECT u.id, u.email, u.password_hash, u.admin, u.disabled, u.created_at, u.cred_version, u.role, coalesce(u.owner_id, 0)
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled = 0 AND s.cred_version = u.cred_version`,
		tokenHash, toMillis(s.now()))
	u, err := scanUser(row)
	if err != nil {
		return User{}, fmt.Errorf("store: session user: %w", notFound(err))
	}
	return u, nil
}

// DeleteSession ends one session (logout); a missing one is not an error.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	if _, err := s.exec(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of a user, e.g. after a password
// change.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64) error {
	if _, err := s.exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("store: delete sessions of user %d: %w", userID, err)
	}
	return nil
}

// DeleteExpiredSessions removes sessions SessionUser would refuse anyway,
// and returns how many it removed.
func (s *Store) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, toMillis(s.now()))
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: delete expired sessions: %w", err)
	}
	return n, nil
}
