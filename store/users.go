package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

const userColumns = `id, email, password_hash, admin, disabled, created_at, cred_version, role, coalesce(owner_id, 0)`

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
	if err := r.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.Admin, &u.Disabled, &created, &u.CredVersion, &u.Role, &u.OwnerID); err != nil {
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
	role := RoleMember
	if admin {
		role = RoleAdmin
	}
	return s.insertUserRole(ctx, q, email, passwordHash, role, 0)
}

func (s *Store) insertUserRole(ctx context.Context, q queryer, email, passwordHash, role string, ownerID int64) (User, error) {
	email = normEmail(email)
	if email == "" {
		return User{}, errors.New("empty email")
	}
	var owner any
	if ownerID != 0 {
		owner = ownerID
	}
	row := q.QueryRowContext(ctx, `INSERT INTO users (id, email, password_hash, admin, role, owner_id, created_at)
		VALUES (`+nextID("users")+`, ?, ?, ?, ?, ?, ?) RETURNING `+userColumns,
		email, passwordHash, boolInt(role == RoleAdmin), role, owner, toMillis(s.now()))
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

// SetPassword replaces a user's password hash (an admin's or the command
// line's reset) and ends every credential issued before: the credential
// version moves on, every session and API token of the user is deleted,
// and JWTs carrying the old version are refused from now on.
func (s *Store) SetPassword(ctx context.Context, userID int64, passwordHash string) error {
	return s.ChangePassword(ctx, userID, passwordHash, nil)
}

// ChangePassword is SetPassword for the user themselves: the session whose
// token hashes to keepSession (the browser that changed it) stays signed in
// under the new credential version; every other credential ends.
func (s *Store) ChangePassword(ctx context.Context, userID int64, passwordHash string, keepSession []byte) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := execOne(ctx, tx, `UPDATE users SET password_hash = ? WHERE id = ?`, passwordHash, userID); err != nil {
			return err
		}
		return bumpCredentials(ctx, tx, userID, keepSession)
	})
	if err != nil {
		return fmt.Errorf("store: set password of user %d: %w", userID, err)
	}
	return nil
}

// SetUserDisabled locks an account out or lets it back in. Either way the
// credential version moves on and the user's sessions and API tokens end,
// so re-enabling does not revive anything issued before.
func (s *Store) SetUserDisabled(ctx context.Context, userID int64, disabled bool) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var was bool
		if err := tx.QueryRowContext(ctx, `SELECT disabled FROM users WHERE id = ?`, userID).Scan(&was); err != nil {
			return notFound(err)
		}
		if was == disabled {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET disabled = ? WHERE id = ?`, boolInt(disabled), userID); err != nil {
			return err
		}
		return bumpCredentials(ctx, tx, userID, nil)
	})
	if err != nil {
		return fmt.Errorf("store: set disabled of user %d: %w", userID, err)
	}
	return nil
}

// SetUserAdmin changes a user's admin flag. A change ends the user's
// credentials like a password reset: a session or token must not keep
// rights it was not issued with (nor miss ones it gained until re-read).
func (s *Store) SetUserAdmin(ctx context.Context, userID int64, admin bool) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var was bool
		if err := tx.QueryRowContext(ctx, `SELECT admin FROM users WHERE id = ?`, userID).Scan(&was); err != nil {
			return notFound(err)
		}
		if was == admin {
			return nil
		}
		role := RoleMember
		if admin {
			role = RoleAdmin
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET admin = ?, role = ?, owner_id = NULL WHERE id = ?`, boolInt(admin), role, userID); err != nil {
			return err
		}
		return bumpCredentials(ctx, tx, userID, nil)
	})
	if err != nil {
		return fmt.Errorf("store: set admin of user %d: %w", userID, err)
	}
	return nil
}

// UserCredVersion is a user's current credential version and whether the
// account is disabled: the cheap read a live connection repeats.
func (s *Store) UserCredVersion(ctx context.Context, userID int64) (version int64, disabled bool, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT cred_version, disabled FROM users WHERE id = ?`, userID).Scan(&version, &disabled)
	if err != nil {
		return 0, false, fmt.Errorf("store: credential version of user %d: %w", userID, notFound(err))
	}
	return version, disabled, nil
}

// bumpCredentials moves a user's credential version on and deletes every
// session (but keepSession, which is re-stamped with the new version) and
// every API token of theirs, inside the caller's transaction.
func bumpCredentials(ctx context.Context, tx *sql.Tx, userID int64, keepSession []byte) error {
	var v int64
	if err := tx.QueryRowContext(ctx, `UPDATE users SET cred_version = cred_version + 1 WHERE id = ? RETURNING cred_version`,
		userID).Scan(&v); err != nil {
		return notFound(err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND token_hash IS NOT ?`, userID, keepSession); err != nil {
		return err
	}
	if keepSession != nil {
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET cred_version = ? WHERE user_id = ? AND token_hash = ?`,
			v, userID, keepSession); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE user_id = ?`, userID)
	return err
}

// nextID is the SQL for a new row's id: one above the highest the table
// ever had (id_marks, kept by a trigger per table), so a deleted row's id
// is never handed out again. Without a mark SQLite picks the id (NULL).
func nextID(table string) string {
	return `(SELECT high + 1 FROM id_marks WHERE tbl = '` + table + `')`
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

// Roles: what a user may do (see migration 0011).
const (
	RoleAdmin  = "admin"  // everything, users and the instance included
	RoleMember = "member" // their own monitors, channels and tokens
	RoleViewer = "viewer" // reads the monitors of their owner; changes only their own password and sessions
)

// ValidRole tells a role name.
func ValidRole(r string) bool { return r == RoleAdmin || r == RoleMember || r == RoleViewer }

// CreateUserWithRole adds an account with a role; a viewer reads the
// account ownerID, which must exist and not be a viewer (ErrInvalid).
// ErrConflict if the email is taken.
func (s *Store) CreateUserWithRole(ctx context.Context, email, passwordHash, role string, ownerID int64) (User, error) {
	if !ValidRole(role) {
		return User{}, fmt.Errorf("store: create user: role %q: %w", role, ErrInvalid)
	}
	if role != RoleViewer {
		ownerID = 0
	}
	var u User
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if role == RoleViewer {
			var ownerRole string
			if err := tx.QueryRowContext(ctx, `SELECT role FROM users WHERE id = ?`, ownerID).Scan(&ownerRole); err != nil || ownerRole == RoleViewer {
				return fmt.Errorf("owner %d: %w", ownerID, ErrInvalid)
			}
		}
		var err error
		u, err = s.insertUserRole(ctx, tx, email, passwordHash, role, ownerID)
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("store: create user: %w", err)
	}
	return u, nil
}

// SetUserRole changes a user's role; a viewer reads the account ownerID
// (which must be a user other than them, and not a viewer). A change ends
// the user's credentials, like SetUserAdmin.
func (s *Store) SetUserRole(ctx context.Context, userID int64, role string, ownerID int64) error {
	if !ValidRole(role) {
		return fmt.Errorf("store: role %q: %w", role, ErrInvalid)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var was string
		var wasOwner int64
		if err := tx.QueryRowContext(ctx, `SELECT role, coalesce(owner_id, 0) FROM users WHERE id = ?`, userID).Scan(&was, &wasOwner); err != nil {
			return notFound(err)
		}
		var owner any
		if role == RoleViewer {
			var ownerRole string
			err := tx.QueryRowContext(ctx, `SELECT role FROM users WHERE id = ?`, ownerID).Scan(&ownerRole)
			if err != nil || ownerID == userID || ownerRole == RoleViewer {
				return fmt.Errorf("owner %d: %w", ownerID, ErrInvalid)
			}
			owner = ownerID
		} else {
			ownerID = 0
		}
		if was == role && wasOwner == ownerID {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET role = ?, admin = ?, owner_id = ? WHERE id = ?`,
			role, boolInt(role == RoleAdmin), owner, userID); err != nil {
			return err
		}
		return bumpCredentials(ctx, tx, userID, nil)
	})
	if err != nil {
		return fmt.Errorf("store: set role of user %d: %w", userID, err)
	}
	return nil
}
