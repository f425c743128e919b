package store

import (
	"context"
	"errors"
	"sync"
	"testing"
)

func TestCreateUser(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	s := openTest(t, WithClock(clk.Now))

	u, err := s.CreateUser(ctx, "  Alice@Example.COM ", "h1", true)
	if err != nil {
		t.Fatal(err)
	}
	want := User{ID: u.ID, Email: "alice@example.com", PasswordHash: "h1", Admin: true, CreatedAt: clk.Now(), CredVersion: 1, Role: RoleAdmin}
	if u != want {
		t.Errorf("CreateUser = %+v, want %+v", u, want)
	}
	if _, err := s.CreateUser(ctx, "ALICE@example.com", "h2", false); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate email: %v, want ErrConflict", err)
	}
	if _, err := s.CreateUser(ctx, "  ", "h", false); err == nil {
		t.Error("empty email accepted")
	}

	got, err := s.UserByEmail(ctx, "alice@EXAMPLE.com")
	if err != nil || got != want {
		t.Errorf("UserByEmail = %+v, %v", got, err)
	}
	got, err = s.UserByID(ctx, u.ID)
	if err != nil || got != want {
		t.Errorf("UserByID = %+v, %v", got, err)
	}
	if _, err := s.UserByEmail(ctx, "bob@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown email: %v", err)
	}
	if _, err := s.UserByID(ctx, u.ID+1); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: %v", err)
	}
	if n, err := s.CountUsers(ctx); n != 1 || err != nil {
		t.Errorf("CountUsers = %d, %v", n, err)
	}
}

func TestCreateFirstUser(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u, err := s.CreateFirstUser(ctx, "Root@example.com", "h")
	if err != nil {
		t.Fatal(err)
	}
	if !u.Admin || u.Email != "root@example.com" {
		t.Errorf("first user = %+v, want an admin", u)
	}
	if _, err := s.CreateFirstUser(ctx, "other@example.com", "h"); !errors.Is(err, ErrConflict) {
		t.Errorf("second first user: %v, want ErrConflict", err)
	}
}

func TestCreateFirstUserConcurrent(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.CreateFirstUser(ctx, string(rune('a'+i))+"@example.com", "h")
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, ErrConflict):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d goroutines created the first user, want 1", wins)
	}
	if c, err := s.CountUsers(ctx); c != 1 || err != nil {
		t.Errorf("CountUsers = %d, %v", c, err)
	}
}

func TestSetPassword(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u, err := s.CreateUser(ctx, "a@example.com", "old", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, u.ID, "new"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.PasswordHash != "new" {
		t.Errorf("hash = %q, want new", got.PasswordHash)
	}
	if err := s.SetPassword(ctx, u.ID+1, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
}

func TestSetUserDisabled(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u, err := s.CreateUser(ctx, "a@example.com", "h", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserDisabled(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByID(ctx, u.ID); !got.Disabled {
		t.Error("not disabled")
	}
	if err := s.SetUserDisabled(ctx, u.ID, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.Disabled {
		t.Error("still disabled")
	}
	if err := s.SetUserDisabled(ctx, u.ID+1, true); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
}
