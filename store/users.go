package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

const userColumns = `id, email, password_hash, admin, disabled, created_at`

// normEmail makes "Bob@Example.com " and "bob@example.com" one account; the
// UNIQUE index then compares plain bytes.
func normEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

type rowScanner interface{ Scan(dest ...any) error }

// execer is *sql.DB or *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func scanUser(r rowScanner) (User, error) {
	var u User
	var created int64
	if err := r.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.Admin, &u.Disabled, &created); err != nil {
		return User{}, err
	}
	u.CreatedAt = fromMillis(created)
	return u, nil
}

// CreateUser adds an account; ErrConflict if the email is taken.
func (s *Store) CreateUser(ctx context.Context, email, passwordHash string, admin bool) (User, error) {
	u, err := s.insertUser(ctx, s.w, email, passwordHash, admin)
	if err != nil {
		return User{}, fmt.Errorf("store: create user: %w", err)
	}
	return u, nil
}

// CreateFirstUser creates the admin account of a fresh installation. The
// check and the insert share one write transaction, so of two concurrent
// sign-ups exactly one wins and the other gets ErrConflict.
func (s *Store) CreateFirstUser(ctx context.Context, email, passwordHash string) (User, error) {
	var u User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return fmt.Errorf("a user already exists: %w", ErrConflict)
		}
		var err error
		u, err = s.insertUser(ctx, tx, email, passwordHash, true)
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("store: create first user: %w", err)
	}
	return u, nil
}

func (s *Store) insertUser(ctx context.Context, q queryer, email, passwordHash string, admin bool) (User, error) {
	email = normEmail(email)
	if email == "" {
		return User{}, errors.New("empty email")
	}
	row := q.QueryRowContext(ctx, `INSERT INTO users (email, password_hash, admin, created_at)
		VALUES (?, ?, ?, ?) RETURNING `+userColumns,
		email, passwordHash, boolInt(admin), toMillis(s.now()))
	u, err := scanUser(row)
	if isUniqueViolation(err) {
		return User{}, fmt.Errorf("email %s: %w", email, ErrConflict)
	}
	return u, err
}

// CountUsers tells whether the installation still needs its first user.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count users: %w", err)
	}
	return n, nil
}

// UserByEmail finds an account by email, case-insensitively.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	row := s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, normEmail(email))
	u, err := scanUser(row)
	if err != nil {
		return User{}, fmt.Errorf("store: user by email: %w", notFound(err))
	}
	return u, nil
}

// UserByID finds an account by id.
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return User{}, fmt.Errorf("store: user %d: %w", id, notFound(err))
	}
	return u, nil
}

// SetPassword replaces a user's password hash. Revoking the user's other
// sessions is the caller's decision (DeleteUserSessions).
func (s *Store) SetPassword(ctx context.Context, userID int64, passwordHash string) error {
	err := execOne(ctx, s.w, `UPDATE users SET password_hash = ? WHERE id = ?`, passwordHash, userID)
	if err != nil {
		return fmt.Errorf("store: set password of user %d: %w", userID, err)
	}
	return nil
}

// SetUserDisabled locks an account out or lets it back in. Disabling also
// ends the user's sessions, so re-enabling does not revive old cookies.
func (s *Store) SetUserDisabled(ctx context.Context, userID int64, disabled bool) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := execOne(ctx, tx, `UPDATE users SET disabled = ? WHERE id = ?`, boolInt(disabled), userID); err != nil {
			return err
		}
		if !disabled {
			return nil
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set disabled of user %d: %w", userID, err)
	}
	return nil
}

// execOne runs a write that must hit exactly one row, else ErrNotFound.
func execOne(ctx context.Context, db execer, query string, args ...any) error {
	res, err := db.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
