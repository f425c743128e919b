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

// flapState is a monitor's flapping bookkeeping, in memory; allocated at
// its first change (most monitors never change), dropped as it settles.
// Its limits are read from the checker's settings when needed, not kept
// per monitor.
type flapState struct {
	flips []time.Time // changes within the window, oldest first
	on    bool        // flapping now
	since time.Time   // when it began flapping
	total int         // changes since it began flapping (for the summary)
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
	c.mu.Unlock()
	return nil
}

func (c *Checker) flapSettingsLocked(id int64) store.FlapSettings {
	if f, ok := c.flapSettings[id]; ok {
		return f
	}
	return store.DefaultFlapSettings()
}

// ownStatus codes the statuses whose changes count (a byte per monitor
// rather than a string); 0 for the others.
func ownStatus(s string) uint8 {
	switch s {
	case store.StatusUp:
		return 1
	case store.StatusDegraded:
		return 2
	case store.StatusDown:
		return 3
	}
	return 0
}

func countable(s string) bool { return ownStatus(s) != 0 }

// observeFlapLocked records the monitor's own status at t.
func (c *Checker) observeFlapLocked(st *monState, id int64, status string, t time.Time) {
	code := ownStatus(status)
	if code == 0 {
		return
	}
	prev := st.flapLast
	st.flapLast = code
	if prev == 0 || prev == code {
		return
	}
	lim := c.flapSettingsLocked(id)
	if st.flap == nil {
		if lim.Changes <= 0 {
			return
		}
		st.flap = &flapState{}
	}
	f := st.flap
	if f.on {
		f.total++
	}
	if lim.Changes > 0 {
		f.flips = append(f.flips, t)
		i := 0
		for i < len(f.flips) && t.Sub(f.flips[i]) >= lim.Window {
			i++
		}
		f.flips = f.flips[i:]
	}
}

// flapStartsLocked tells whether the monitor begins flapping now.
func (c *Checker) flapStartsLocked(st *monState, id int64) bool {
	f := st.flap
	if f == nil || f.on {
		return false
	}
	lim := c.flapSettingsLocked(id)
	return lim.Changes > 0 && len(f.flips) > lim.Changes
}

// flapSettledLocked tells whether a flapping monitor's state has held for
// a third of its window.
func (c *Checker) flapSettledLocked(st *monState, id int64, now time.Time) bool {
	f := st.flap
	if f == nil || !f.on {
		return false
	}
	last := f.since
	if n := len(f.flips); n > 0 && f.flips[n-1].After(last) {
		last = f.flips[n-1]
	}
	hold := time.Duration(0)
	if lim := c.flapSettingsLocked(id); lim.Changes > 0 {
		hold = lim.Window / 3
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
		if st.paused || st.state.Status != store.StatusFlapping || !c.flapSettledLocked(st, id, now) {
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
		PrevSince: st.state.Since, Alert: true}
	if st.flap != nil {
		t.Changes = st.flap.total
	}
	if len(st.regions) > 0 && next.Status == store.StatusDown {
		t.Reason, t.Error = st.regions[0].reason, st.regions[0].err
	}
	st.flap = nil
	return t
}
