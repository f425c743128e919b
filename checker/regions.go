package checker

import (
	"slices"
	"time"

	"github.com/upwatch/upwatch/store"
)

// regionState is one region's view of a monitor: its own state machine
// (failure streak, confirmations), fed by that region's results only.
type regionState struct {
	state               store.MonitorState
	degStreak           int       // consecutive degraded results
	failSince, degSince time.Time // when the current run of failures (degradations) began
	okSince             time.Time // while down: when the current run of passing results began
	lastDue             int64     // newest applied result of an earlier run (see lastSeq)
	seen                time.Time // when its newest result was applied (a tick)
	latency             time.Duration
	reason, err         string
	// issued are the jobs sent to the region and not yet answered (a few
	// at most: the regular slot and early re-checks).
	issued []issuedJob
	// lastSeq is the newest applied result of this run, so that late
	// duplicates and stragglers do not move state.
	lastSeq uint64
	// missed counts jobs sent to the region that no result answered in
	// time (since the checker started).
	missed int64
}

// issuedJob is a job the sink expects a result for.
type issuedJob struct {
	seq uint64
	due int64     // its label, unix ms
	at  time.Time // when it was sent (a tick)
}

// newer tells whether a result (its sequence number, 0 for one of an
// earlier run, and label) is newer than the region's last applied one,
// and if so records it. This run's results are ordered by sequence, after
// every result of an earlier run; those among themselves by label.
func (rs *regionState) newer(seq uint64, due int64) bool {
	switch {
	case seq != 0 && seq > rs.lastSeq:
		rs.lastSeq = seq
		return true
	case seq == 0 && rs.lastSeq == 0 && due > rs.lastDue:
		rs.lastDue = due
		return true
	}
	return false
}

// maxIssued bounds the unanswered jobs remembered per monitor and region;
// older ones are forgotten (their results then count as not issued).
const maxIssued = 8

// advance applies one result of the region to its state.
//
// Periods add time to the counts: a failure is confirmed only once the
// run of failures has lasted p.Confirm (and the confirmations), and a
// down region recovers only once its run of passing results has lasted
// p.Recover; until then it keeps its state (and the sink re-checks early).
func (rs *regionState) advance(o Outcome, confirmations int, p store.Periods, at, now time.Time) {
	prev := rs.state
	v := verdictUp
	switch {
	case !o.OK:
		v = verdictDown
		rs.degStreak, rs.degSince = 0, time.Time{}
		if prev.FailStreak == 0 || rs.failSince.IsZero() {
			rs.failSince = at
		}
	case o.Degraded:
		v = verdictDegraded
		rs.degStreak++
		if rs.degStreak == 1 {
			rs.degSince = at
		}
		rs.failSince = time.Time{}
	default:
		rs.degStreak, rs.degSince, rs.failSince = 0, time.Time{}, time.Time{}
	}
	rs.state = nextState(prev, confirmations, v, rs.degStreak, at)
	if !o.OK {
		rs.okSince = time.Time{}
	} else if prev.Status == store.StatusDown && rs.okSince.IsZero() {
		rs.okSince = at
	}
	switch {
	case rs.state.Status == store.StatusDown && prev.Status != store.StatusDown &&
		p.Confirm > 0 && at.Sub(rs.failSince) < p.Confirm:
		// Failing, but not for long enough yet.
		rs.state.Status, rs.state.Since = prev.Status, prev.Since
	case prev.Status == store.StatusDown && rs.state.Status != store.StatusDown &&
		p.Recover > 0 && at.Sub(rs.okSince) < p.Recover:
		// Passing again, but not for long enough yet.
		rs.state.Status, rs.state.Since = prev.Status, prev.Since
	}
	if rs.state.Status != store.StatusDown {
		rs.okSince = time.Time{}
	}
	// A confirmed state began with the first result of its run: an outage
	// is as long as the target was failing, not as long as it took to be
	// sure.
	if rs.state.Status != prev.Status {
		switch {
		case rs.state.Status == store.StatusDown && !rs.failSince.IsZero() && rs.failSince.Before(at):
			rs.state.Since = rs.failSince
		case rs.state.Status == store.StatusDegraded && prev.Status != store.StatusDown &&
			!rs.degSince.IsZero() && rs.degSince.Before(at):
			rs.state.Since = rs.degSince
		}
	}
	rs.seen, rs.latency, rs.reason, rs.err = now, o.Latency, o.Reason, o.Error
}

// QuorumOf is how many of n regions must see a monitor down: the
// monitor's own quorum when it is in range, else a majority.
func QuorumOf(q, n int) int { return quorumOf(q, n) }

func quorumOf(q, n int) int {
	if q >= 1 && q <= n {
		return q
	}
	return n/2 + 1
}

// staleAfter is how long a region may go without a result before it no
// longer counts: two intervals plus the timeout (and a little slack for
// batching). A region whose workers are gone is unknown, never down.
func staleAfter(interval, timeout time.Duration) time.Duration {
	return 2*interval + timeout + 2*time.Second
}

// verdict is the monitor's state from its regions' states. One region is
// the monitor. With several, the monitor is DOWN when at least quorum of
// the regions that report see it down (since the quorum was reached),
// DEGRADED when some region sees it down or degraded, UP when every
// reporting region sees it up; with no region reporting it keeps its
// state. now is a tick, wall its label.
func (st *monState) verdict(now, wall time.Time) store.MonitorState {
	if len(st.regionList) == 1 {
		return st.regions[0].state
	}
	var downs, others []store.MonitorState
	ups, streak := 0, 0
	stale := staleAfter(st.interval, st.timeout)
	for _, rs := range st.regions {
		if rs.seen.IsZero() || now.Sub(rs.seen) > stale {
			continue // unknown: never counts
		}
		streak = max(streak, rs.state.FailStreak)
		switch rs.state.Status {
		case store.StatusDown:
			downs = append(downs, rs.state)
		case store.StatusDegraded:
			others = append(others, rs.state)
		case store.StatusUp:
			ups++
		}
	}
	next := st.state
	next.FailStreak = streak
	status, since := next.Status, wall
	switch q := quorumOf(st.quorum, len(st.regionList)); {
	case len(downs) >= q:
		// The quorum was reached when the q-th region went down.
		slices.SortFunc(downs, func(a, b store.MonitorState) int { return a.Since.Compare(b.Since) })
		status, since = store.StatusDown, downs[q-1].Since
	case len(downs)+len(others) > 0:
		status = store.StatusDegraded
		for _, s := range append(downs, others...) {
			if s.Since.Before(since) {
				since = s.Since
			}
		}
	case ups > 0:
		status = store.StatusUp
	}
	if status != next.Status {
		next.Status, next.Since = status, since
	}
	return next
}

// RegionState is one region's view of a monitor, for its page and the API.
type RegionState struct {
	Region  string
	Status  string // pending, up, degraded, down, or unknown (no recent result)
	Since   time.Time
	LastAt  time.Time // when its newest result was applied; zero if none
	Latency time.Duration
	Reason  string
	Error   string
	Missed  int64 // checks sent to the region and never answered in time, since the server started
}

// RegionStates reports each of a monitor's regions, in its order; nil for
// a monitor the checker does not know.
func (c *Checker) RegionStates(id int64) []RegionState {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.states[id]
	if !ok {
		return nil
	}
	_, now := c.nowLocked()
	out := make([]RegionState, 0, len(st.regionList))
	for i, r := range st.regionList {
		rs := st.regions[i]
		s := RegionState{Region: r, Status: rs.state.Status, Since: rs.state.Since,
			Latency: rs.latency, Reason: rs.reason, Error: rs.err, Missed: rs.missed}
		if !rs.seen.IsZero() {
			s.LastAt = c.clk.label(rs.seen)
		}
		stale := staleAfter(st.interval, st.timeout)
		switch {
		case rs.seen.IsZero() && now.Sub(st.added) > stale:
			s.Status = "unknown" // nothing from it since the checker took the monitor on
		case rs.seen.IsZero():
			s.Status = store.StatusPending
		case now.Sub(rs.seen) > stale:
			s.Status = "unknown"
		}
		out = append(out, s)
	}
	return out
}

// regionsFor is where a monitor is checked from: its own regions, or the
// checker's defaults; push monitors are the server's own.
func (c *Checker) regionsFor(m store.Monitor) []string {
	switch {
	case m.Type == TypePush:
		return []string{LocalRegion}
	case len(m.Regions) > 0:
		return m.Regions
	}
	return c.cfg.DefaultRegions
}

// Stats counts results the sink refused.
type Stats struct {
	// NotIssued: results for a job this server did not send to that
	// region, or sent and already answered (forged or replayed).
	NotIssued int64
	// Future: results for a time more than a minute ahead of the server's clock.
	Future int64
}

// Stats reports what the sink has refused so far.
func (c *Checker) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// nextLabel is the label (unix ms) of a monitor's next check, due at the
// wall time due: that time, or just after the monitor's newest label when
// the wall clock went back. Labels never go backwards, so a step back
// neither stores a check over another (the checks table's key is the
// monitor, the label and the region) nor leaves last_check ahead of new
// checks; after a step back of S, checks are labelled a millisecond apart
// until the clock has caught up, at most S later.
func (st *monState) nextLabel(due int64) int64 {
	if due <= st.lastLabel {
		due = st.lastLabel + 1
	}
	st.lastLabel = due
	return due
}

// issueJobsLocked labels due jobs, numbers them and remembers them as
// issued. The jobs of one slot (one per region, in a row) share a label.
func (c *Checker) issueJobsLocked(jobs []Job, now time.Time) {
	var label int64
	for i := range jobs {
		j := &jobs[i]
		st := c.states[j.Spec.MonitorID]
		if i == 0 || j.Spec.MonitorID != jobs[i-1].Spec.MonitorID {
			label = j.Due
			if st != nil {
				label = st.nextLabel(j.Due)
			}
		}
		j.Due, j.Expires = label, j.Expires+label-j.Due
		c.seq++
		j.Run, j.Seq = c.run, c.seq
		c.issueLocked(st, j.Region, j.Due, j.Seq, now)
	}
}

// issueResultLocked does the same for a result made in the server (push
// monitors).
func (c *Checker) issueResultLocked(r *Result, now time.Time) {
	st := c.states[r.MonitorID]
	if st != nil {
		r.Due = st.nextLabel(r.Due)
	}
	c.seq++
	r.Run, r.Seq = c.run, c.seq
	c.issueLocked(st, r.Region, r.Due, r.Seq, now)
}

// issueLocked remembers that a job for (monitor, region, due) went out, so
// that its result, and only one, is accepted. Jobs sent long ago (now is
// a tick) are forgotten on the way.
func (c *Checker) issueLocked(st *monState, region string, due int64, seq uint64, now time.Time) {
	if st == nil {
		return
	}
	i, ok := st.region(region)
	if !ok {
		return
	}
	rs := &st.regions[i]
	keep := rs.issued[:0]
	oldest := now.Add(-2*st.interval - st.timeout - time.Minute)
	for _, j := range rs.issued {
		switch {
		case j.due == due:
		case j.at.Before(oldest):
			// Long past its slot and never answered: no worker ran it in
			// time (saturated, or none there).
			rs.missed++
			c.missed++
		default:
			keep = append(keep, j)
		}
	}
	if len(keep) >= maxIssued {
		rs.missed++
		c.missed++
		keep = keep[1:]
	}
	rs.issued = append(keep, issuedJob{seq: seq, due: due, at: now})
}

// region finds a region's index in the monitor's list.
func (st *monState) region(name string) (int, bool) {
	for i, r := range st.regionList {
		if r == name {
			return i, true
		}
	}
	return -1, false
}

// answerLocked accepts a result only for a job that was issued to its
// region and not yet answered, marks it answered and returns its sequence
// number. A result names its job by label, run and sequence number, or by
// label alone from workers that predate the others (labels are unique per
// monitor within a run). Results of an earlier run (a restart reads them
// back from the queue), labelled before this checker started, are accepted
// as they are, with sequence 0. now is the wall time.
func (c *Checker) answerLocked(rs *regionState, r Result, now time.Time) (uint64, bool) {
	for i, j := range rs.issued {
		if j.due == r.Due && (r.Seq == 0 || r.Seq == j.seq && r.Run == c.run) {
			rs.issued = append(rs.issued[:i], rs.issued[i+1:]...)
			return j.seq, true
		}
	}
	switch {
	case r.Due > now.Add(time.Minute).UnixMilli():
		c.stats.Future++
	case r.Due < c.started.UnixMilli() && (r.Seq == 0 || r.Run != c.run):
		return 0, true
	default:
		c.stats.NotIssued++
	}
	return 0, false
}

// ValidRegion accepts a region name: lowercase letters, digits and dashes,
// 1 to 32 of them, not starting with a dash. It is part of stream names
// and of URLs, so nothing else.
func ValidRegion(s string) bool {
	if s == "" || len(s) > 32 || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
