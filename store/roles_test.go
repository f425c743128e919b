package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Roles and scopes as stored: the first user is an admin, others members
// unless said; a viewer needs an owner that is no viewer; a role change
// ends credentials; a token keeps its scope.
func TestRolesAndScopes(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	admin, err := s.CreateFirstUser(ctx, "a@example.com", "h")
	if err != nil || admin.Role != RoleAdmin || !admin.Admin {
		t.Fatalf("first user: %+v %v", admin, err)
	}
	m, err := s.CreateUserWithRole(ctx, "m@example.com", "h", RoleMember, 0)
	if err != nil || m.Role != RoleMember || m.Admin || m.OwnerID != 0 {
		t.Fatalf("member: %+v %v", m, err)
	}
	v, err := s.CreateUserWithRole(ctx, "v@example.com", "h", RoleViewer, m.ID)
	if err != nil || v.Role != RoleViewer || v.OwnerID != m.ID {
		t.Fatalf("viewer: %+v %v", v, err)
	}
	if _, err := s.CreateUserWithRole(ctx, "w@example.com", "h", RoleViewer, v.ID); !errors.Is(err, ErrInvalid) {
		t.Errorf("viewer of a viewer: %v", err)
	}
	if _, err := s.CreateUserWithRole(ctx, "x@example.com", "h", "root", 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown role: %v", err)
	}
	tok, err := s.CreateAPIToken(ctx, m.ID, m.CredVersion, "r", "upw_r", ScopeRead, []byte("hash-r"), time.Time{})
	if err != nil || tok.Scope != ScopeRead {
		t.Fatalf("read token: %+v %v", tok, err)
	}
	if _, got, err := s.APITokenUser(ctx, []byte("hash-r")); err != nil || got.Scope != ScopeRead {
		t.Errorf("token read back: %+v %v", got, err)
	}
	if err := s.SetUserRole(ctx, m.ID, RoleAdmin, 0); err != nil {
		t.Fatal(err)
	}
	got, _ := s.UserByID(ctx, m.ID)
	if got.Role != RoleAdmin || !got.Admin || got.CredVersion == m.CredVersion {
		t.Errorf("after promotion: %+v", got)
	}
	if _, _, err := s.APITokenUser(ctx, []byte("hash-r")); !errors.Is(err, ErrNotFound) {
		t.Errorf("token from before the role change: %v", err)
	}
	if err := s.SetUserRole(ctx, v.ID, RoleViewer, v.ID); !errors.Is(err, ErrInvalid) {
		t.Errorf("a viewer of themselves: %v", err)
	}
}
