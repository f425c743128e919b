package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSessionsListTouchRevoke(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := openTest(t, WithClock(func() time.Time { return now }))
	u, err := s.CreateUser(ctx, "a@example.com", "h", false)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := s.CreateUser(ctx, "b@example.com", "h", false)
	h1, h2, h3 := []byte("hash-one-0123456789abcdef"), []byte("hash-two-0123456789abcdef"), []byte("hash-three-0123456789abc")
	for _, h := range [][]byte{h1, h2} {
		if err := s.CreateSession(ctx, u.ID, 1, h, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateSession(ctx, other.ID, 1, h3, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchSession(ctx, h2, "Firefox"); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListSessions(ctx, u.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %v %+v", err, list)
	}
	if list[0].ID != SessionID(h2) || list[0].UserAgent != "Firefox" || !list[0].LastSeenAt.Equal(now) {
		t.Errorf("most recently used first with its browser: %+v", list[0])
	}
	if err := s.DeleteSessionByID(ctx, u.ID, SessionID(h3)); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoking another user's session: %v", err)
	}
	if err := s.DeleteSessionByID(ctx, u.ID, SessionID(h1)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionUser(ctx, h1); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoked session still valid: %v", err)
	}
	if err := s.CreateSession(ctx, u.ID, 1, h1, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOtherSessions(ctx, u.ID, h2); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.ListSessions(ctx, u.ID); len(list) != 1 || list[0].ID != SessionID(h2) {
		t.Errorf("after DeleteOtherSessions: %+v", list)
	}
	if _, err := s.SessionUser(ctx, h3); err != nil {
		t.Errorf("another user's session was touched: %v", err)
	}
	users, err := s.ListUsers(ctx)
	if err != nil || len(users) != 2 || users[0].Email != "a@example.com" {
		t.Errorf("users: %v %+v", err, users)
	}
}

func TestAPITokens(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := openTest(t, WithClock(func() time.Time { return clock() }))
	u, _ := s.CreateUser(ctx, "a@example.com", "h", false)
	other, _ := s.CreateUser(ctx, "b@example.com", "h", false)
	tok, err := s.CreateAPIToken(ctx, u.ID, 1, "ci", "upw_abcd", "", []byte("token-hash-1"), time.Time{})
	if err != nil || tok.ID == 0 {
		t.Fatalf("create: %v %+v", err, tok)
	}
	if _, err := s.CreateAPIToken(ctx, u.ID, 1, "dup", "upw_abcd", "", []byte("token-hash-1"), time.Time{}); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate hash: %v", err)
	}
	exp, _ := s.CreateAPIToken(ctx, u.ID, 1, "short", "upw_efgh", "", []byte("token-hash-2"), now.Add(time.Hour))
	got, gt, err := s.APITokenUser(ctx, []byte("token-hash-1"))
	if err != nil || got.ID != u.ID || gt.Name != "ci" || !gt.LastUsedAt.IsZero() {
		t.Fatalf("token user: %v %+v %+v", err, got, gt)
	}
	if err := s.TouchAPIToken(ctx, gt.ID); err != nil {
		t.Fatal(err)
	}
	if _, gt, _ := s.APITokenUser(ctx, []byte("token-hash-1")); !gt.LastUsedAt.Equal(now) {
		t.Errorf("after TouchAPIToken: last used %v, want %v", gt.LastUsedAt, now)
	}
	touched := now
	now = now.Add(30 * time.Second) // within a minute: not written again
	if err := s.TouchAPIToken(ctx, gt.ID); err != nil {
		t.Fatal(err)
	}
	if _, gt, _ := s.APITokenUser(ctx, []byte("token-hash-1")); !gt.LastUsedAt.Equal(touched) {
		t.Errorf("touched again within a minute: last used %v", gt.LastUsedAt)
	}
	now = now.Add(2 * time.Hour)
	if _, _, err := s.APITokenUser(ctx, []byte("token-hash-2")); !errors.Is(err, ErrNotFound) {
		t.Errorf("expired token accepted: %v", err)
	}
	list, err := s.ListAPITokens(ctx, u.ID)
	if err != nil || len(list) != 2 || list[0].ID != exp.ID || list[1].LastUsedAt.IsZero() {
		t.Fatalf("list: %v %+v", err, list)
	}
	if err := s.DeleteAPIToken(ctx, other.ID, tok.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another user revoked it: %v", err)
	}
	if err := s.DeleteAPIToken(ctx, u.ID, tok.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.ListAPITokens(ctx, u.ID); len(list) != 1 {
		t.Errorf("after revoke: %+v", list)
	}
	// Disabling ends the user's credentials: the token is refused and gone.
	if err := s.SetUserDisabled(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.APITokenUser(ctx, []byte("token-hash-2")); !errors.Is(err, ErrNotFound) {
		t.Errorf("disabled user's token accepted: %v", err)
	}
	if list, _ := s.ListAPITokens(ctx, u.ID); len(list) != 0 {
		t.Errorf("after disable: %+v", list)
	}
}
