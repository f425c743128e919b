package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestIDsNeverReused: deleting the newest row of a table must not hand its
// id to the next row (SQLite's max(rowid) + 1 would).
func TestIDsNeverReused(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	alice := newUser(t, s, "alice@example.com")

	t.Run("users", func(t *testing.T) {
		bob := newUser(t, s, "bob@example.com")
		if _, err := s.w.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, bob.ID); err != nil {
			t.Fatal(err)
		}
		carol := newUser(t, s, "carol@example.com")
		if carol.ID <= bob.ID {
			t.Errorf("new user got id %d, deleted one had %d", carol.ID, bob.ID)
		}
	})
	t.Run("monitors", func(t *testing.T) {
		m := newMonitor(t, s, alice.ID)
		if err := s.DeleteMonitor(ctx, alice.ID, m.ID); err != nil {
			t.Fatal(err)
		}
		n := newMonitor(t, s, alice.ID)
		if n.ID <= m.ID {
			t.Errorf("new monitor got id %d, deleted one had %d", n.ID, m.ID)
		}
	})
	t.Run("channels", func(t *testing.T) {
		c, err := s.CreateChannel(ctx, Channel{UserID: alice.ID, Name: "a", Type: "webhook", Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteChannel(ctx, alice.ID, c.ID); err != nil {
			t.Fatal(err)
		}
		d, err := s.CreateChannel(ctx, Channel{UserID: alice.ID, Name: "b", Type: "webhook", Enabled: true})
		if err != nil {
			t.Fatal(err)
		}
		if d.ID <= c.ID {
			t.Errorf("new channel got id %d, deleted one had %d", d.ID, c.ID)
		}
	})
	t.Run("api tokens", func(t *testing.T) {
		a, err := s.CreateAPIToken(ctx, alice.ID, alice.CredVersion, "a", "upw_a", "", []byte("ha"), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteAPIToken(ctx, alice.ID, a.ID); err != nil {
			t.Fatal(err)
		}
		b, err := s.CreateAPIToken(ctx, alice.ID, alice.CredVersion, "b", "upw_b", "", []byte("hb"), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if b.ID <= a.ID {
			t.Errorf("new token got id %d, deleted one had %d", b.ID, a.ID)
		}
	})
	t.Run("worker tokens", func(t *testing.T) {
		a, err := s.CreateWorkerToken(ctx, "a", []string{"eu"}, "upww_a", []byte("wa"), alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.w.ExecContext(ctx, `DELETE FROM worker_tokens WHERE id = ?`, a.ID); err != nil {
			t.Fatal(err)
		}
		b, err := s.CreateWorkerToken(ctx, "b", []string{"eu"}, "upww_b", []byte("wb"), alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if b.ID <= a.ID {
			t.Errorf("new worker token got id %d, deleted one had %d", b.ID, a.ID)
		}
	})
}

// TestDeletedMonitorResultStaysDropped is the attack: user A's newest
// monitor is deleted while a failing result (with an excerpt of A's
// target) is in flight; user B then creates a monitor. B's monitor must get
// a new id, so the late result finds no monitor and is dropped.
func TestDeletedMonitorResultStaysDropped(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	a, b := newUser(t, s, "a@example.com"), newUser(t, s, "b@example.com")
	gone := newMonitor(t, s, a.ID)
	if err := s.DeleteMonitor(ctx, a.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	theirs := newMonitor(t, s, b.ID)
	if theirs.ID == gone.ID {
		t.Fatalf("B's new monitor reuses deleted monitor id %d", gone.ID)
	}
	late := check(gone.ID, "local", 0, false)
	late.Error, late.StatusCode = "HTTP 500", 500
	err := s.SaveChecks(ctx, []Check{late}, []StateUpdate{{MonitorID: gone.ID,
		State: MonitorState{Status: StatusDown, Since: t0},
		Transition: &Transition{MonitorID: gone.ID, From: StatusPending, To: StatusDown, At: t0,
			Error: "HTTP 500", StatusCode: 500, Excerpt: "A's secret page", Alert: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if n := countChecks(t, s, theirs.ID); n != 0 {
		t.Errorf("B's monitor got %d checks of A's deleted monitor", n)
	}
	m, err := s.GetMonitor(ctx, b.ID, theirs.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.State.Status != StatusPending || m.LastCheck != nil {
		t.Errorf("B's monitor changed by A's result: %+v", m.State)
	}
	var incidents int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM incidents`).Scan(&incidents); err != nil || incidents != 0 {
		t.Errorf("%d incidents (%v), want none", incidents, err)
	}
}

// TestCredentialVersion: every way credentials must end moves the version
// on and ends sessions and API tokens; a session or token stamped with an
// old version cannot be created.
func TestCredentialVersion(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	exp := time.Now().Add(time.Hour)
	for _, c := range []struct {
		name string
		bump func(u User) error
	}{
		{"password reset", func(u User) error { return s.SetPassword(ctx, u.ID, "new") }},
		{"disable", func(u User) error { return s.SetUserDisabled(ctx, u.ID, true) }},
		{"disable then enable", func(u User) error {
			if err := s.SetUserDisabled(ctx, u.ID, true); err != nil {
				return err
			}
			return s.SetUserDisabled(ctx, u.ID, false)
		}},
		{"admin flag", func(u User) error { return s.SetUserAdmin(ctx, u.ID, true) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := newUser(t, s, c.name+"@example.com")
			if err := s.CreateSession(ctx, u.ID, u.CredVersion, []byte(c.name+"s"), exp); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateAPIToken(ctx, u.ID, u.CredVersion, "t", "upw_t", "", []byte(c.name+"t"), time.Time{}); err != nil {
				t.Fatal(err)
			}
			if err := c.bump(u); err != nil {
				t.Fatal(err)
			}
			now, _, err := s.UserCredVersion(ctx, u.ID)
			if err != nil || now <= u.CredVersion {
				t.Errorf("version %d → %d (%v), want it moved on", u.CredVersion, now, err)
			}
			if _, err := s.SessionUser(ctx, []byte(c.name+"s")); !errors.Is(err, ErrNotFound) {
				t.Errorf("old session: %v, want ErrNotFound", err)
			}
			if _, _, err := s.APITokenUser(ctx, []byte(c.name+"t")); !errors.Is(err, ErrNotFound) {
				t.Errorf("old API token: %v, want ErrNotFound", err)
			}
			if err := s.CreateSession(ctx, u.ID, u.CredVersion, []byte(c.name+"s2"), exp); !errors.Is(err, ErrNotFound) {
				t.Errorf("session under the old version: %v, want ErrNotFound", err)
			}
			if _, err := s.CreateAPIToken(ctx, u.ID, u.CredVersion, "t", "upw_t", "", []byte(c.name+"t2"), time.Time{}); !errors.Is(err, ErrNotFound) {
				t.Errorf("token under the old version: %v, want ErrNotFound", err)
			}
		})
	}

	t.Run("own password change keeps this session", func(t *testing.T) {
		u := newUser(t, s, "self@example.com")
		for _, h := range []string{"keep", "other"} {
			if err := s.CreateSession(ctx, u.ID, u.CredVersion, []byte(h), exp); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.ChangePassword(ctx, u.ID, "new", []byte("keep")); err != nil {
			t.Fatal(err)
		}
		got, err := s.SessionUser(ctx, []byte("keep"))
		if err != nil || got.CredVersion != u.CredVersion+1 || got.PasswordHash != "new" {
			t.Errorf("kept session: %+v, %v", got, err)
		}
		if _, err := s.SessionUser(ctx, []byte("other")); !errors.Is(err, ErrNotFound) {
			t.Errorf("other session: %v, want ErrNotFound", err)
		}
	})
	t.Run("no change, no bump", func(t *testing.T) {
		u := newUser(t, s, "same@example.com")
		if err := s.SetUserAdmin(ctx, u.ID, false); err != nil {
			t.Fatal(err)
		}
		if err := s.SetUserDisabled(ctx, u.ID, false); err != nil {
			t.Fatal(err)
		}
		if v, _, _ := s.UserCredVersion(ctx, u.ID); v != u.CredVersion {
			t.Errorf("version %d → %d without a change", u.CredVersion, v)
		}
		if err := s.SetUserAdmin(ctx, u.ID+100, true); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown user: %v", err)
		}
	})
}

// TestMigrateCredentials upgrades a database written by the schema before
// credential versions (migrations 1-9) whose newest monitor had been
// deleted: sessions and tokens keep working, rows and foreign keys
// survive, and new rows get ids above every id the tables hold.
func TestMigrateCredentials(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	d, err := parseDSN(path)
	if err != nil {
		t.Fatal(err)
	}
	old, err := sql.Open("sqlite", d.writer())
	if err != nil {
		t.Fatal(err)
	}
	old.SetMaxOpenConns(1)
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := old.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`)
	for _, m := range ms[:9] {
		exec(m.sql)
		exec(`INSERT INTO schema_migrations VALUES (?, 0)`, m.version)
	}
	const at = int64(1_740_830_400_000)
	exec(`INSERT INTO users (id, email, password_hash, created_at) VALUES (1, 'a@example.com', 'x', ?), (4, 'b@example.com', 'y', ?)`, at, at)
	exec(`INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (X'01', 1, ?, ?)`, at, at+1e12)
	exec(`INSERT INTO api_tokens (id, user_id, name, prefix, token_hash, created_at) VALUES (3, 4, 'ci', 'upw_x', X'02', ?)`, at)
	exec(`INSERT INTO monitors (id, user_id, name, url, method, interval_us, timeout_us, expected_status,
		follow_redirects, verify_tls, confirmations, created_at, updated_at, status, status_since)
		VALUES (7, 1, 'Shop', 'https://shop.example', 'GET', 60000000, 5000000, '200-299', 1, 1, 2, ?, ?, 'up', ?)`, at, at, at)
	exec(`INSERT INTO checks (monitor_id, region, ts, ok) VALUES (7, 'local', ?, 1)`, at)
	exec(`INSERT INTO channels (id, user_id, name, type, created_at, updated_at) VALUES (2, 1, 'hook', 'webhook', ?, ?)`, at, at)
	exec(`INSERT INTO monitor_channels VALUES (7, 2)`)
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if u, err := s.SessionUser(ctx, []byte{1}); err != nil || u.ID != 1 || u.CredVersion != 1 {
		t.Errorf("session after upgrade: %+v, %v", u, err)
	}
	if u, _, err := s.APITokenUser(ctx, []byte{2}); err != nil || u.ID != 4 {
		t.Errorf("API token after upgrade: %+v, %v", u, err)
	}
	m, err := s.GetMonitor(ctx, 1, 7)
	if err != nil || m.Name != "Shop" || len(m.Channels) != 1 || m.Channels[0] != 2 {
		t.Errorf("monitor after upgrade: %+v, %v", m, err)
	}
	if n := countChecks(t, s, 7); n != 1 {
		t.Errorf("%d checks after upgrade, want 1", n)
	}
	rows, err := s.r.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("foreign key violations after upgrade")
	}
	rows.Close()

	n := newMonitor(t, s, 1)
	if n.ID != 8 {
		t.Errorf("first new monitor id = %d, want 8", n.ID)
	}
	if err := s.DeleteMonitor(ctx, 1, n.ID); err != nil {
		t.Fatal(err)
	}
	if again := newMonitor(t, s, 4); again.ID != 9 {
		t.Errorf("monitor after deleting the newest got id %d, want 9", again.ID)
	}
	if u := newUser(t, s, "c@example.com"); u.ID != 5 {
		t.Errorf("new user id = %d, want 5", u.ID)
	}
	// Deleting the monitor cascaded as before (foreign keys still on).
	if err := s.DeleteMonitor(ctx, 1, 7); err != nil {
		t.Fatal(err)
	}
	if n := countChecks(t, s, 7); n != 0 {
		t.Errorf("%d checks left after deleting their monitor", n)
	}
}
