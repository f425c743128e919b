package checker

import (
	"context"
	"fmt"
	"time"

	"github.com/upwatch/upwatch/reason"
	"github.com/upwatch/upwatch/store"
)

// StatusUnknown is a monitor none of whose regions has reported for two
// intervals plus its timeout: upwatch cannot tell, so it says so instead
// of showing a stale "up". It opens no incident and sends no DOWN alert.
const StatusUnknown = "unknown"

// ReasonNoData is the reason of a transition to unknown.
const ReasonNoData = reason.NoData

// healthEvery is how often the checker looks for monitors without data.
const healthEvery = 2 * time.Second

// Health is what the checker knows of its own work, for /healthz and the
// dashboard's instance banner. It is read from memory: cheap and never
// blocked by the database.
type Health struct {
	Monitors   int            // active (not paused) monitors
	NoData     int            // of them, those without a recent result from any region
	Regions    map[string]int // active monitors per region they are checked from
	LastStored time.Time      // newest batch of results written; zero before the first
	Refused    Stats
	// Missed counts checks sent to workers that no result answered in
	// time, since the server started; MissedRecent those of the last five
	// minutes (seen about a minute after the slot: until then a result may
	// still come).
	Missed, MissedRecent int64

	// Backlog is what waits for the database (see backlog.go); StoreErr
	// the database's refusal while it does.
	Backlog  BacklogHealth
	StoreErr string
	// ClockStep is the wall clock's newest step and ClockSteppedAt when
	// it was seen (wall time); zero if it never stepped.
	ClockStep      time.Duration
	ClockSteppedAt time.Time
	// Stalled is set when checks are due and no result has been applied
	// for StalledFor: the schedule, the queue or every worker is stuck.
	Stalled    bool
	StalledFor time.Duration
	Saturation Saturation // the server's own workers
}

// missedSample is the missed count at one sweep.
type missedSample struct {
	at time.Time
	n  int64
}

// missedWindow is how far back MissedRecent looks.
const missedWindow = 5 * time.Minute

// Health reports the checker's view of itself.
func (c *Checker) Health() Health {
	bh := c.bl.health() // its own lock, never under c.mu
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.health
	h.Backlog = bh
	h.Backlog.Lost = c.lost.Load()
	h.Regions = make(map[string]int, len(c.health.Regions))
	for r, n := range c.health.Regions {
		h.Regions[r] = n
	}
	h.Refused = c.stats
	h.Missed = c.missed
	if c.storeErr != nil {
		h.StoreErr = c.storeErr.Error()
	}
	if !c.steppedAt.IsZero() {
		h.ClockStep, h.ClockSteppedAt = c.stepSize, c.clk.label(c.steppedAt)
	}
	if c.local != nil {
		h.Saturation = c.local.Saturation()
	}
	if len(c.missedAt) > 0 {
		h.MissedRecent = c.missed - c.missedAt[0].n
	}
	return h
}

// healthLoop marks monitors without data unknown, and keeps the counts
// Health reports, until ctx ends.
func (c *Checker) healthLoop(ctx context.Context) {
	t := time.NewTicker(healthEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := c.maintenanceSweep(ctx); err != nil && ctx.Err() == nil {
			c.cfg.Logger.Warn("moving monitors in or out of maintenance failed; will retry", "err", err)
		}
		if err := c.flapSweep(ctx); err != nil && ctx.Err() == nil {
			c.cfg.Logger.Warn("settling flapping monitors failed; will retry", "err", err)
		}
		if err := c.sweep(ctx); err != nil && ctx.Err() == nil {
			c.cfg.Logger.Warn("marking monitors without data failed; will retry", "err", err)
		}
	}
}

// sweep finds active monitors none of whose regions reported lately and
// records them as unknown. A monitor that is down stays down: that is the
// last thing known of it, and its incident stays open.
func (c *Checker) sweep(ctx context.Context) error {
	var updates []store.StateUpdate
	c.mu.Lock()
	now, tick := c.nowLocked()
	h := Health{Regions: map[string]int{}, LastStored: c.health.LastStored}
	probed := false
	var stallAfter time.Duration
	for id, st := range c.states {
		if st.paused {
			continue
		}
		h.Monitors++
		if !st.push {
			if s := staleAfter(st.interval, st.timeout); !probed || s < stallAfter {
				stallAfter = s
			}
			probed = true
		}
		for _, r := range st.regionList {
			h.Regions[r]++
		}
		if st.push || !st.silent(tick) {
			continue
		}
		h.NoData++
		switch st.state.Status {
		case store.StatusDown, StatusUnknown, store.StatusMaintenance, store.StatusFlapping:
			continue
		}
		next := store.MonitorState{Status: StatusUnknown, Since: now, FailStreak: st.state.FailStreak}
		updates = append(updates, store.StateUpdate{MonitorID: id, State: next, Transition: &store.Transition{
			MonitorID: id, From: st.state.Status, To: StatusUnknown, At: now, PrevSince: st.state.Since,
			Reason: ReasonNoData,
			Error:  fmt.Sprintf("no result for %s from %v: are their workers running?", fmtDur(staleAfter(st.interval, st.timeout)), st.regionList),
		}})
	}
	last := c.startTick
	if c.lastResult.After(last) {
		last = c.lastResult
	}
	if probed && !last.IsZero() && tick.Sub(last) > stallAfter {
		h.Stalled, h.StalledFor = true, tick.Sub(last)
	}
	c.health = h
	// Keep samples over the window: the oldest one is the baseline.
	c.missedAt = append(c.missedAt, missedSample{tick, c.missed})
	for len(c.missedAt) > 1 && tick.Sub(c.missedAt[1].at) >= missedWindow {
		c.missedAt = c.missedAt[1:]
	}
	c.mu.Unlock()
	if len(updates) == 0 {
		return nil
	}
	if c.bl.len() > 0 {
		// Behind what waits for the database, in order.
		c.bl.push(store.Batch{Updates: updates}, nil, now)
	} else if err := c.st.SaveChecks(ctx, nil, updates); err != nil {
		return err
	}
	c.mu.Lock()
	_, tick = c.nowLocked()
	for _, u := range updates {
		// Only if nothing arrived for it meanwhile.
		if st, ok := c.states[u.MonitorID]; ok && st.state.Status == u.Transition.From && st.silent(tick) {
			st.state = u.State
		}
	}
	c.mu.Unlock()
	if c.cfg.OnSaved != nil {
		c.cfg.OnSaved(nil, updates)
	}
	for _, u := range updates {
		c.cfg.Logger.Warn("monitor has no data", "monitor", u.MonitorID, "from", u.Transition.From, "regions", u.Transition.Error)
	}
	return nil
}

// silent tells whether no region of the monitor has reported for two
// intervals plus its timeout (counting from when the checker took it on,
// for regions never heard from). now is a tick.
func (st *monState) silent(now time.Time) bool {
	stale := staleAfter(st.interval, st.timeout)
	if now.Sub(st.added) <= stale {
		return false
	}
	for _, rs := range st.regions {
		if !rs.seen.IsZero() && now.Sub(rs.seen) <= stale {
			return false
		}
	}
	return true
}
