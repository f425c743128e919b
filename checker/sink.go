package checker

import (
	"context"
	"time"

	"github.com/upwatch/upwatch/reason"
	"github.com/upwatch/upwatch/settings"
	"github.com/upwatch/upwatch/store"
)

const (
	sinkConsumer = "server"
	sinkBatch    = 1000
	// sinkGather is how long the sink keeps collecting after the first
	// result of a batch: one transaction per ~50 ms instead of one per
	// worker flush costs far less, and a state change is still visible at once
	// to a person.
	sinkGather = 50 * time.Millisecond
)

// sink stores results in batches: one transaction per batch, acknowledged
// only after commit, so a crash re-reads (at-least-once) and the store's
// primary key makes the replay harmless.
//
// When the database cannot be written (a full disk, a lock held by another
// process) the sink goes on: the state machine runs from memory, alerts
// are sent at once (EarlyAlerter), and the batches wait in a backlog, kept
// in the spool file where it can be written, until the database takes
// them, oldest first (backlog.go).
func (c *Checker) sink(ctx context.Context, draining <-chan struct{}) {
	pending := true // first, whatever a previous run left unacknowledged
	down := newOutage(c.cfg.Logger, "reading results")
	for ctx.Err() == nil {
		msgs, err := c.q.ReadResults(ctx, sinkConsumer, sinkBatch, readBlock, pending)
		if err != nil {
			// A group gone with Redis's data is created again at once;
			// anything else is retried every second.
			if ctx.Err() == nil && !healGroups(ctx, c.q, c.cfg.Logger, err) {
				down.fail(err)
				sleep(ctx, time.Second)
			}
			continue
		}
		down.ok()
		if pending && len(msgs) == 0 {
			pending = false
			continue
		}
		if len(msgs) == 0 {
			select {
			case <-draining: // workers stopped and the stream is empty
				return
			default:
			}
			continue
		}
		if !pending && len(msgs) < sinkBatch {
			// Let the rest of the batch arrive, then take it in one read
			// instead of one per worker flush.
			sleep(ctx, sinkGather)
			if more, err := c.q.ReadResults(ctx, sinkConsumer, sinkBatch-len(msgs), -1, false); err == nil {
				msgs = append(msgs, more...)
			} // on error what was read is stored; the error shows again on the next read
		}
		if err := c.store(ctx, msgs); err != nil {
			// Stored (or kept); only the acknowledgement failed. The
			// re-read stores them again harmlessly (or finds the group gone).
			down.fail(err, "n", len(msgs))
			pending = true
			sleep(ctx, time.Second)
		}
	}
}

// judge adds the server's own verdict to a probe's outcome: a passing
// check slower than the monitor's threshold is degraded.
func judge(o Outcome, threshold time.Duration) Outcome {
	if o.OK && !o.Degraded && threshold > 0 && o.Latency > threshold {
		o.Degraded, o.Reason = true, reason.Slow
		o.Error = "took " + fmtDur(o.Latency) + ", more than " + fmtDur(threshold)
	}
	return o
}

// store applies one batch: state machine in memory, then one write.
func (c *Checker) store(ctx context.Context, msgs []ResultMsg) error {
	checks := make([]store.Check, 0, len(msgs))
	ids := make([]string, 0, len(msgs))
	type rechk struct {
		id int64
		at time.Time
	}
	var rechecks []rechk
	poke := false // a recovered parent's children are checked again at once
	updates := map[int64]*store.StateUpdate{}
	order := []int64{}

	c.mu.Lock()
	now, tick := c.nowLocked()
	for _, m := range msgs {
		ids = append(ids, m.ID)
		if m.Err != nil {
			c.cfg.Logger.Warn("dropping malformed result", "id", m.ID, "err", m.Err)
			continue
		}
		r := m.Result
		st, known := c.states[r.MonitorID]
		if !known {
			continue // deleted meanwhile
		}
		ri, inRegion := st.region(r.Region)
		if !inRegion {
			// A result from a region the monitor is not checked from: a
			// stale job of an edited monitor, or not one we issued.
			c.stats.NotIssued++
			continue
		}
		rs := st.regions[ri]
		seq, ok := c.answerLocked(&rs, r, now)
		if !ok {
			continue // forged, replayed or from the future: neither stored nor applied
		}
		if seq == 0 {
			st.lastLabel = max(st.lastLabel, r.Due) // an earlier run's: later labels go after it
		}
		st.regions[ri] = rs
		c.lastResult = tick
		o := judge(r.Outcome, st.degradedLatency)
		at := time.UnixMilli(r.Due).UTC()
		chk := store.Check{
			MonitorID: r.MonitorID, Region: r.Region, Worker: settings.Clean(r.Worker, 100), At: at,
			OK: o.OK, Degraded: o.Degraded, StatusCode: o.StatusCode, Latency: o.Latency,
			Phases: store.Phases{DNS: o.DNS, Connect: o.Connect, TLS: o.TLS, TTFB: o.TTFB, Transfer: o.Transfer},
			Reason: o.Reason, Error: o.Error, Detail: o.Detail, Body: o.Body,
		}
		if o.CertExpiry > 0 {
			chk.CertExpiry = time.UnixMilli(o.CertExpiry).UTC()
		}
		// The check is maintenance by its own time; the monitor shows
		// maintenance by the present (a late result of before a window
		// does not end it, one of inside it read after its end does not
		// hold it open).
		chk.Maintenance, _ = c.inMaintenanceLocked(r.MonitorID, at)
		inMaint, maintStart := c.inMaintenanceLocked(r.MonitorID, now)
		checks = append(checks, chk)
		if st.paused || !rs.newer(seq, r.Due) {
			continue // history only: state moves with newer checks of active monitors
		}
		var periods store.Periods
		if st.periods != nil {
			periods = *st.periods
		}
		rs.advance(o, st.confirmations, periods, at, tick)
		st.regions[ri] = rs
		prev := st.state
		st.state = st.verdict(tick, now)
		// Flapping: counted on the monitor's own state, outside windows.
		var flapTo *store.Transition
		if !inMaint {
			c.observeFlapLocked(st, r.MonitorID, st.state.Status, at)
			switch {
			case c.flapStartsLocked(st, r.MonitorID):
				st.flap.on, st.flap.since, st.flap.total = true, at, len(st.flap.flips)
				flapTo = &store.Transition{Changes: len(st.flap.flips), Alert: true}
			case prev.Status == store.StatusFlapping && c.flapSettledLocked(st, r.MonitorID, at):
				flapTo = c.settleLocked(st, r.MonitorID, st.state, at)
				st.state.Since = at
			}
			if st.flap != nil && st.flap.on {
				st.state = store.MonitorState{Status: store.StatusFlapping, Since: st.flap.since, FailStreak: st.state.FailStreak}
				if prev.Status == store.StatusFlapping {
					st.state.Since = prev.Since
				}
			}
		}
		if inMaint {
			// Shown as maintenance; the regions' own states go on beneath.
			st.state = maintenanceState(prev, st.state, maintStart)
		}
		if st.state.Status == store.StatusDown && len(c.parents[r.MonitorID]) > 0 && c.parentTroubleLocked(r.MonitorID) {
			// Failing behind a parent in trouble: not its own outage.
			st.state = unreachableState(prev, st.state)
		}
		if st.state.Status != prev.Status && st.state.Since.Before(prev.Since) {
			// A region's own state outlived the monitor's (it was unknown
			// meanwhile): the change is now.
			st.state.Since = at
		}
		if len(st.regionList) > 1 && st.state.Status != prev.Status && o.Error != "" {
			o.Error = r.Region + ": " + o.Error // which region saw it
		}
		u := updates[r.MonitorID]
		if u == nil {
			u = &store.StateUpdate{MonitorID: r.MonitorID}
			updates[r.MonitorID] = u
			order = append(order, r.MonitorID)
		}
		u.State = st.state
		if st.state.Status != prev.Status {
			to := st.state.Status
			if to == store.StatusMaintenance {
				o.Reason, o.Error, o.StatusCode, o.Excerpt = reason.Maintenance, "", 0, ""
			}
			u.Transition = &store.Transition{
				MonitorID: r.MonitorID, From: prev.Status, To: to,
				At: st.state.Since, Reason: o.Reason, Error: o.Error, StatusCode: o.StatusCode, Excerpt: o.Excerpt,
				PrevSince: prev.Since,
				// Alert on going down (after the confirmations) and on the
				// recovery from down, and likewise for degraded where the
				// monitor asks for it; a first success out of pending is
				// news to nobody. Entering maintenance alerts no one; leaving
				// it alerts only a monitor that is down (or degraded, where
				// asked) then.
				Alert: to != store.StatusMaintenance && to != store.StatusUnreachable && (to == store.StatusDown || prev.Status == store.StatusDown ||
					st.alertDegraded && (to == store.StatusDegraded || prev.Status == store.StatusDegraded)),
			}
			if to == store.StatusMaintenance || prev.Status == store.StatusMaintenance {
				c.noteMaintenanceLocked(u.Transition, r.MonitorID, now)
			}
			if flapTo != nil && (to == store.StatusFlapping || prev.Status == store.StatusFlapping) {
				// One alert as it begins flapping, one summary as it settles.
				u.Transition.Alert, u.Transition.Changes = flapTo.Alert, flapTo.Changes
				if to == store.StatusFlapping {
					u.Transition.Reason, u.Transition.Error = o.Reason, o.Error
				}
			}
		}
		// A parent that is healthy again (recovered, or its failure was a
		// blip) has its unreachable children checked at once.
		if st.state.FailStreak == 0 && len(c.children[r.MonitorID]) > 0 &&
			(prev.FailStreak > 0 || prev.Status == store.StatusDown || prev.Status == store.StatusUnreachable) &&
			c.recheckChildrenLocked(r.MonitorID, tick) {
			poke = true
		}
		// A failure (or degradation) not yet confirmed is checked again
		// soon rather than at the next slot.
		// So is a recovery not yet held for its period.
		unconfirmed := !o.OK && rs.state.Status != store.StatusDown ||
			o.Degraded && rs.state.Status != store.StatusDegraded && rs.state.Status != store.StatusDown ||
			o.OK && rs.state.Status == store.StatusDown && st.periods != nil && st.periods.Recover > 0
		if unconfirmed {
			rechecks = append(rechecks, rechk{r.MonitorID, tick.Add(min(c.cfg.RetryDelay, st.interval))})
		}
	}
	for _, rc := range rechecks {
		c.sched.recheck(rc.id, rc.at)
	}
	c.mu.Unlock()
	if len(rechecks) > 0 || poke {
		c.poke()
	}

	list := make([]store.StateUpdate, 0, len(order))
	for _, id := range order {
		list = append(list, *updates[id])
	}
	return c.persist(ctx, store.Batch{Checks: checks, Updates: list}, ids)
}

// persist writes a batch applied in memory and acknowledges its results;
// a batch the database does not take joins the backlog. Only an error of
// the queue is returned.
func (c *Checker) persist(ctx context.Context, b store.Batch, ids []string) error {
	if c.bl.len() == 0 {
		err := c.st.SaveChecks(ctx, b.Checks, b.Updates)
		if err == nil {
			c.saved(b, true)
			return c.q.AckResults(ctx, ids)
		}
		if ctx.Err() != nil {
			return nil // shutting down: unacknowledged, so read again at the next start
		}
		c.storageFailed(err)
	}
	c.sendEarly(b)
	c.saved(b, false) // live from memory; the commit follows from the backlog
	acked := c.bl.push(b, ids, c.cfg.Now())
	return c.q.AckResults(ctx, acked)
}

// saved tells the live feed and the dispatcher of a batch (committed, or
// applied in memory while the database is away; then its commit is not
// told again) and logs its state changes.
func (c *Checker) saved(b store.Batch, committed bool) {
	if committed {
		c.mu.Lock()
		c.health.LastStored, _ = c.nowLocked()
		c.mu.Unlock()
	}
	if c.cfg.OnSaved != nil {
		c.cfg.OnSaved(b.Checks, b.Updates)
	}
	for _, u := range b.Updates {
		if t := u.Transition; t != nil {
			c.cfg.Logger.Info("monitor state changed", "monitor", t.MonitorID, "from", t.From, "to", t.To, "reason", t.Reason)
		}
	}
}
