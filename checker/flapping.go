package checker

import (
	"context"
	"fmt"
	"time"

	"github.com/upwatch/upwatch/store"
)

// Flapping (issue 12). The sink counts the changes of a monitor's own
// state (up, degraded, down; the verdict beneath the shown state) within
// its window. More than the limit marks it "flapping": one alert says so,
// and while it flaps its changes are recorded in history but show no
// transition and send nothing. It settles once its state has held for a
// third of the window: a summary alert then says how often it changed and
// where it came to rest (a monitor that settles down has its incident
// opened then).

// flapState is a monitor's flapping bookkeeping, in memory.
type flapState struct {
	limit  int           // more changes than this within window: flapping; 0: off
	window time.Duration //
	last   string        // the newest own status counted (up, degraded or down)
	flips  []time.Time   // its changes within the window, oldest first
	on     bool          // flapping now
	since  time.Time     // when it began flapping
	total  int           // changes since it began flapping (for the summary)
}

// flapSource is the store's side of flapping limits; a store without it
// takes the defaults for every monitor.
type flapSource interface {
	AllFlapSettings(ctx context.Context) (map[int64]store.FlapSettings, error)
}

// ReloadFlapping reads every monitor's limits again (after an edit).
func (c *Checker) ReloadFlapping(ctx context.Context) error {
	src, ok := c.st.(flapSource)
	if !ok {
		return nil
	}
	all, err := src.AllFlapSettings(ctx)
	if err != nil {
		return fmt.Errorf("checker: load flapping settings: %w", err)
	}
	c.mu.Lock()
	c.flapSettings = all
	for id, st := range c.states {
		st.flap.apply(c.flapSettingsLocked(id))
	}
	c.mu.Unlock()
	return nil
}

func (c *Checker) flapSettingsLocked(id int64) store.FlapSettings {
	if f, ok := c.flapSettings[id]; ok {
		return f
	}
	return store.DefaultFlapSettings()
}

func (f *flapState) apply(s store.FlapSettings) {
	f.limit, f.window = s.Changes, s.Window
	if f.limit <= 0 {
		f.flips = nil
	}
}

// countable tells whether a status is a monitor's own verdict on its
// health (the ones whose changes count).
func countable(s string) bool {
	return s == store.StatusUp || s == store.StatusDown || s == store.StatusDegraded
}

// observe records the monitor's own status at t; it tells whether that
// was a change.
func (f *flapState) observe(status string, t time.Time) bool {
	if !countable(status) {
		return false
	}
	prev := f.last
	f.last = status
	if prev == "" || prev == status {
		return false
	}
	if f.on {
		f.total++
	}
	if f.limit <= 0 {
		return true
	}
	f.flips = append(f.flips, t)
	f.prune(t)
	return true
}

// prune drops changes older than the window.
func (f *flapState) prune(now time.Time) {
	i := 0
	for i < len(f.flips) && now.Sub(f.flips[i]) >= f.window {
		i++
	}
	f.flips = f.flips[i:]
}

// starts tells whether the monitor begins flapping now.
func (f *flapState) starts() bool {
	return !f.on && f.limit > 0 && len(f.flips) > f.limit
}

// settled tells whether a flapping monitor's state has held long enough.
func (f *flapState) settled(now time.Time) bool {
	if !f.on {
		return false
	}
	last := f.since
	if n := len(f.flips); n > 0 && f.flips[n-1].After(last) {
		last = f.flips[n-1]
	}
	hold := f.window / 3
	if f.limit <= 0 {
		hold = 0
	}
	return now.Sub(last) >= hold
}

// flapSweep settles flapping monitors whose state has held, when no
// result arrives to do it (the health loop).
func (c *Checker) flapSweep(ctx context.Context) error {
	var updates []store.StateUpdate
	c.mu.Lock()
	now, tick := c.nowLocked()
	for id, st := range c.states {
		if st.paused || !st.flap.on || st.state.Status != store.StatusFlapping || !st.flap.settled(now) {
			continue
		}
		next := st.verdict(tick, now)
		if !countable(next.Status) {
			next.Status = store.StatusPending
		}
		next.Since = now
		updates = append(updates, store.StateUpdate{MonitorID: id, State: next, Transition: c.settleLocked(st, id, next, now)})
		st.state = next
	}
	c.mu.Unlock()
	if len(updates) == 0 {
		return nil
	}
	return c.persist(ctx, store.Batch{Updates: updates}, nil)
}

// settleLocked ends a monitor's flapping: the summary transition.
func (c *Checker) settleLocked(st *monState, id int64, next store.MonitorState, now time.Time) *store.Transition {
	t := &store.Transition{MonitorID: id, From: store.StatusFlapping, To: next.Status, At: now,
		PrevSince: st.state.Since, Changes: st.flap.total, Alert: true}
	if len(st.regions) > 0 && next.Status == store.StatusDown {
		t.Reason, t.Error = st.regions[0].reason, st.regions[0].err
	}
	st.flap.on, st.flap.total, st.flap.flips = false, 0, nil
	return t
}
