package store

import (
	"context"
	"testing"
)

// Monitors and deliveries say whether their owner is an admin: the egress
// policy may let only admins' checks and alerts reach private addresses.
func TestOwnerAdmin(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	admin, err := s.CreateUser(ctx, "root@example.com", "h", true)
	if err != nil {
		t.Fatal(err)
	}
	user := newUser(t, s, "user@example.com")
	for _, u := range []User{admin, user} {
		m, err := s.CreateMonitor(ctx, sampleMonitor(u.ID))
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.MonitorByID(ctx, m.ID)
		if err != nil || got.OwnerAdmin != u.Admin {
			t.Errorf("monitor of %s: OwnerAdmin %v, %v; want %v", u.Email, got.OwnerAdmin, err, u.Admin)
		}
		all, err := s.AllMonitors(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range all {
			if a.ID == m.ID && a.OwnerAdmin != u.Admin {
				t.Errorf("AllMonitors: monitor of %s: OwnerAdmin %v", u.Email, a.OwnerAdmin)
			}
		}
		c := newChannel(t, s, u.ID, "hook", true, false)
		d, err := s.EnqueueTest(ctx, u.ID, c.ID, nil)
		if err != nil || d.OwnerAdmin != u.Admin {
			t.Errorf("test delivery of %s: OwnerAdmin %v, %v; want %v", u.Email, d.OwnerAdmin, err, u.Admin)
		}
	}
}
