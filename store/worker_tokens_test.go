package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestWorkerTokens(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := openTest(t, WithClock(func() time.Time { return now }))
	u, err := s.CreateUser(ctx, "a@example.com", "h", true)
	if err != nil {
		t.Fatal(err)
	}
	h1, h2 := []byte("worker-hash-one-0123456789"), []byte("worker-hash-two-0123456789")
	a, err := s.CreateWorkerToken(ctx, "home", []string{"home"}, "upww_abcdef", h1, u.ID)
	if err != nil || a.ID == 0 || !a.CreatedAt.Equal(now) {
		t.Fatalf("create: %+v %v", a, err)
	}
	b, err := s.CreateWorkerToken(ctx, "vps", []string{"eu", "us"}, "upww_ghijkl", h2, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateWorkerToken(ctx, "dup", []string{"eu"}, "upww_ghijkl", h2, u.ID); !errors.Is(err, ErrConflict) {
		t.Errorf("same hash twice: %v", err)
	}

	got, err := s.WorkerTokenByHash(ctx, h2)
	if err != nil || got.ID != b.ID || got.Name != "vps" || !slices.Equal(got.Regions, []string{"eu", "us"}) ||
		got.CreatedBy != u.ID || !got.LastUsedAt.Equal(now) {
		t.Fatalf("by hash: %+v %v", got, err)
	}
	if _, err := s.WorkerTokenByHash(ctx, []byte("nope")); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown hash: %v", err)
	}
	// A worker token is not an API token, nor the other way round.
	if _, _, err := s.APITokenUser(ctx, h2); !errors.Is(err, ErrNotFound) {
		t.Errorf("worker token as an API token: %v", err)
	}

	if err := s.RevokeWorkerToken(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WorkerTokenByHash(ctx, h1); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoked token still resolves: %v", err)
	}
	if err := s.RevokeWorkerToken(ctx, a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoking twice: %v", err)
	}
	if err := s.RevokeWorkerToken(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("revoking an unknown token: %v", err)
	}
	list, err := s.ListWorkerTokens(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("list: %+v %v", list, err)
	}
	if list[0].ID != b.ID || !list[0].RevokedAt.IsZero() || list[1].ID != a.ID || !list[1].RevokedAt.Equal(now) ||
		!list[1].LastUsedAt.IsZero() {
		t.Errorf("live first, then revoked: %+v", list)
	}

	// The creator's account going away keeps the token.
	if _, err := s.w.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, u.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := s.WorkerTokenByHash(ctx, h2); err != nil || got.CreatedBy != 0 {
		t.Errorf("after its creator was deleted: %+v %v", got, err)
	}
}
