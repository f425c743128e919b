package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestSettings(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if _, err := s.Setting(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing key: %v", err)
	}
	for _, v := range []string{"one", "two"} {
		if err := s.SetSetting(ctx, "k", v); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Setting(ctx, "k"); got != v || err != nil {
			t.Errorf("Setting = %q, %v, want %q", got, err, v)
		}
	}
}

func TestSettingOrInit(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	got, err := s.SettingOrInit(ctx, "secret", "first")
	if err != nil || got != "first" {
		t.Fatalf("SettingOrInit = %q, %v", got, err)
	}
	got, err = s.SettingOrInit(ctx, "secret", "second")
	if err != nil || got != "first" {
		t.Errorf("SettingOrInit = %q, %v, want the first value", got, err)
	}

	// Concurrent initialisers all agree on one value.
	vals := make([]string, 5)
	var wg sync.WaitGroup
	for i := range vals {
		wg.Go(func() {
			v, err := s.SettingOrInit(ctx, "race", fmt.Sprint(i))
			if err != nil {
				t.Error(err)
			}
			vals[i] = v
		})
	}
	wg.Wait()
	for _, v := range vals {
		if v != vals[0] {
			t.Fatalf("initialisers disagree: %q", vals)
		}
	}
}
