package checker

import (
	"context"
	"fmt"

	"github.com/upwatch/upwatch/store"
)

// periodSource is the store's side of confirmation and recovery periods;
// a store without it (a test's) has none.
type periodSource interface {
	AllPeriods(ctx context.Context) (map[int64]store.Periods, error)
}

// ReloadPeriods reads every monitor's confirm_seconds and recover_seconds
// again (after an edit).
func (c *Checker) ReloadPeriods(ctx context.Context) error {
	src, ok := c.st.(periodSource)
	if !ok {
		return nil
	}
	all, err := src.AllPeriods(ctx)
	if err != nil {
		return fmt.Errorf("checker: load periods: %w", err)
	}
	c.mu.Lock()
	c.periods = all
	for id, st := range c.states {
		st.periods = nil
		if p, ok := all[id]; ok {
			st.periods = &p
		}
	}
	c.mu.Unlock()
	return nil
}
