package store

import (
	"context"
	"errors"
	"testing"
)

func TestDependenciesRefuseCyclesAndStrangers(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := newUser(t, s, "a@example.com")
	other := newUser(t, s, "b@example.com")
	a, b, c := newMonitor(t, s, u.ID), newMonitor(t, s, u.ID), newMonitor(t, s, u.ID)
	theirs := newMonitor(t, s, other.ID)
	if err := s.SetDependencies(ctx, u.ID, b.ID, []int64{a.ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetDependencies(ctx, u.ID, c.ID, []int64{b.ID}); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		id   int64
		deps []int64
		want error
	}{
		"self":     {a.ID, []int64{a.ID}, ErrDependencyCycle},
		"cycle":    {a.ID, []int64{c.ID}, ErrDependencyCycle},
		"stranger": {a.ID, []int64{theirs.ID}, ErrNotFound},
	} {
		if err := s.SetDependencies(ctx, u.ID, tc.id, tc.deps); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	all, err := s.AllDependencies(ctx)
	if err != nil || len(all) != 2 || all[c.ID][0] != b.ID || all[b.ID][0] != a.ID {
		t.Fatalf("AllDependencies = %v, %v", all, err)
	}
	// Replacing is allowed; deleting a parent drops its edges.
	if err := s.SetDependencies(ctx, u.ID, c.ID, []int64{a.ID, b.ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteMonitor(ctx, u.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.DependenciesOf(ctx, []int64{c.ID})
	if err != nil || len(got[c.ID]) != 1 || got[c.ID][0] != a.ID {
		t.Errorf("after deleting the parent: %v, %v", got, err)
	}
}
