package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	s := openTest(t, WithClock(clk.Now))
	alice, err := s.CreateUser(ctx, "alice@example.com", "h", false)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := s.CreateUser(ctx, "bob@example.com", "h", false)
	if err != nil {
		t.Fatal(err)
	}
	short, long, bobs := []byte("short"), []byte("long"), []byte("bob")
	for _, c := range []struct {
		user  int64
		token []byte
		ttl   time.Duration
	}{{alice.ID, short, time.Hour}, {alice.ID, long, 48 * time.Hour}, {bob.ID, bobs, 48 * time.Hour}} {
		if err := s.CreateSession(ctx, c.user, 1, c.token, clk.Now().Add(c.ttl)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateSession(ctx, alice.ID, 1, short, clk.Now().Add(time.Hour)); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate token: %v, want ErrConflict", err)
	}
	if err := s.CreateSession(ctx, 999, 1, []byte("x"), clk.Now().Add(time.Hour)); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: %v, want ErrNotFound", err)
	}

	if u, err := s.SessionUser(ctx, short); err != nil || u.ID != alice.ID {
		t.Fatalf("SessionUser = %+v, %v", u, err)
	}
	if _, err := s.SessionUser(ctx, []byte("nope")); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown token: %v", err)
	}

	t.Run("expiry", func(t *testing.T) {
		clk.Add(time.Hour) // expires_at is exclusive
		if _, err := s.SessionUser(ctx, short); !errors.Is(err, ErrNotFound) {
			t.Errorf("expired session: %v, want ErrNotFound", err)
		}
		if _, err := s.SessionUser(ctx, long); err != nil {
			t.Errorf("live session: %v", err)
		}
		n, err := s.DeleteExpiredSessions(ctx)
		if err != nil || n != 1 {
			t.Errorf("DeleteExpiredSessions = %d, %v, want 1", n, err)
		}
	})

	t.Run("disabled user", func(t *testing.T) {
		if _, err := s.w.ExecContext(ctx, `UPDATE users SET disabled = 1 WHERE id = ?`, bob.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionUser(ctx, bobs); !errors.Is(err, ErrNotFound) {
			t.Errorf("disabled user's session: %v, want ErrNotFound", err)
		}
		if _, err := s.w.ExecContext(ctx, `UPDATE users SET disabled = 0 WHERE id = ?`, bob.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.SetUserDisabled(ctx, bob.ID, true); err != nil {
			t.Fatal(err)
		}
		if err := s.SetUserDisabled(ctx, bob.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionUser(ctx, bobs); !errors.Is(err, ErrNotFound) {
			t.Errorf("session survived SetUserDisabled: %v", err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := s.DeleteSession(ctx, long); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionUser(ctx, long); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted session: %v", err)
		}
		if err := s.DeleteSession(ctx, long); err != nil {
			t.Errorf("deleting a missing session: %v", err)
		}
	})

	t.Run("delete all of a user", func(t *testing.T) {
		a, b := []byte("a1"), []byte("a2")
		other := []byte("b1")
		for tok, uid := range map[string]int64{"a1": alice.ID, "a2": alice.ID, "b1": bob.ID} {
			u, err := s.UserByID(ctx, uid)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.CreateSession(ctx, uid, u.CredVersion, []byte(tok), clk.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteUserSessions(ctx, alice.ID); err != nil {
			t.Fatal(err)
		}
		for _, tok := range [][]byte{a, b} {
			if _, err := s.SessionUser(ctx, tok); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s survived: %v", tok, err)
			}
		}
		if _, err := s.SessionUser(ctx, other); err != nil {
			t.Errorf("other user's session: %v", err)
		}
	})
}
