package checker

import (
	"context"
	"fmt"
	"time"

	"github.com/upwatch/upwatch/store"
)

// Dependencies (issue 12). A monitor that would go DOWN while one of the
// monitors it depends on is down, unreachable or failing (a failure not
// confirmed yet: a router outage fails its children at the same moment)
// shows "unreachable" instead: no incident, no alert. When a parent
// recovers, its unreachable children are checked again at once, and from
// then on alert as usual: a child still failing then goes DOWN with one
// alert. One router outage, one alert.

// dependencySource is the store's side of dependencies; a store without
// it (a test's) has none.
type dependencySource interface {
	AllDependencies(ctx context.Context) (map[int64][]int64, error)
}

// ReloadDependencies reads every monitor's dependencies again (after an
// edit).
func (c *Checker) ReloadDependencies(ctx context.Context) error {
	src, ok := c.st.(dependencySource)
	if !ok {
		return nil
	}
	deps, err := src.AllDependencies(ctx)
	if err != nil {
		return fmt.Errorf("checker: load dependencies: %w", err)
	}
	c.SetDependencies(deps)
	return nil
}

// SetDependencies replaces the graph: child → the monitors it depends on.
func (c *Checker) SetDependencies(deps map[int64][]int64) {
	children := map[int64][]int64{}
	for child, parents := range deps {
		for _, p := range parents {
			children[p] = append(children[p], child)
		}
	}
	c.mu.Lock()
	c.parents, c.children = deps, children
	c.mu.Unlock()
}

// parentTroubleLocked tells whether a parent of the monitor is down,
// unreachable or failing.
func (c *Checker) parentTroubleLocked(id int64) bool {
	for _, p := range c.parents[id] {
		ps, ok := c.states[p]
		if !ok || ps.paused {
			continue
		}
		switch ps.state.Status {
		case store.StatusDown, store.StatusUnreachable:
			return true
		}
		if ps.state.FailStreak > 0 {
			return true
		}
	}
	return false
}

// unreachableState is what a failing monitor with a parent in trouble
// shows: unreachable since it began failing (or since it was last
// unreachable).
func unreachableState(prev, real store.MonitorState) store.MonitorState {
	next := store.MonitorState{Status: store.StatusUnreachable, Since: real.Since, FailStreak: real.FailStreak}
	if prev.Status == store.StatusUnreachable {
		next.Since = prev.Since
	}
	return next
}

// recheckChildrenLocked asks for an early check of the monitor's
// unreachable children (it recovered); it returns whether any was asked.
func (c *Checker) recheckChildrenLocked(id int64, at time.Time) bool {
	asked := false
	for _, child := range c.children[id] {
		if cs, ok := c.states[child]; ok && !cs.paused && cs.state.Status == store.StatusUnreachable {
			c.sched.recheck(child, at)
			asked = true
		}
	}
	return asked
}
