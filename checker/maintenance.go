package checker

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/upwatch/upwatch/reason"
	"github.com/upwatch/upwatch/store"
)

// Maintenance windows (issue 12). The sink asks, per result, whether its
// monitor is inside a window at the check's time: such a check is marked
// (the roll-ups count it apart, so uptime leaves it out) and the monitor's
// shown state is "maintenance" while the state machine underneath goes on
// as usual. Leaving the window shows that underlying state: a monitor
// still failing then goes DOWN with one alert, at the window's end, and
// nothing that happened inside is replayed. The health loop moves
// monitors in and out at the windows' edges even when no result arrives.
//
// Recurring windows keep their wall-clock time in their zone across
// daylight-saving changes: occurrences start at the fire times of a cron
// schedule (a weekly window is one, "MM HH * * days"), computed with the
// push monitors' DST rules (push.go), and end that many wall-clock minutes
// later.

// maxMaintenanceDuration bounds one occurrence of a recurring window.
const maxMaintenanceDuration = 7 * 24 * time.Hour

// MaintenanceWindow is a compiled window: when it applies. Not safe for
// concurrent use (it caches the occurrence last looked up); the checker
// reads it under its lock.
type MaintenanceWindow struct {
	ID     int64
	Title  string
	Notify bool
	// Monitors are the monitors it covers.
	Monitors []int64

	once       bool
	start, end time.Time    // once: the window; recurring: bounds (zero: none)
	sched      pushSchedule // recurring: the fire times, in its zone
	dur        time.Duration

	// The cache: for t in [validFrom, validTo) the answer is known.
	validFrom, validTo time.Time
	cacheIn            bool
	cacheStart         time.Time
}

var weekdayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// CompileMaintenance checks a window's schedule and normalises it (days
// in lower case, in week order; the time zone's name). On a fault it
// returns the field at fault and a message for the form.
func CompileMaintenance(m store.Maintenance) (store.Maintenance, *MaintenanceWindow, string, string) {
	w := &MaintenanceWindow{ID: m.ID, Title: m.Title, Notify: m.Notify, Monitors: m.Monitors}
	if m.TimeZone == "" {
		m.TimeZone = "UTC"
	}
	loc, msg := loadZone(m.TimeZone)
	if msg != "" {
		return m, nil, "timezone", msg
	}
	switch m.Kind {
	case store.MaintenanceOnce:
		switch {
		case m.StartsAt.IsZero():
			return m, nil, "starts_at", "is required"
		case m.EndsAt.IsZero():
			return m, nil, "ends_at", "is required"
		case !m.EndsAt.After(m.StartsAt):
			return m, nil, "ends_at", "must be after starts_at"
		}
		w.once, w.start, w.end = true, m.StartsAt, m.EndsAt
		m.Days, m.StartTime, m.EndTime, m.Cron, m.Duration = nil, "", "", "", 0
		return m, w, "", ""
	case store.MaintenanceWeekly:
		if len(m.Days) == 0 {
			return m, nil, "days", "name at least one day (mon … sun)"
		}
		seen := map[int]bool{}
		for _, d := range m.Days {
			i := weekdayIndex(d)
			if i < 0 {
				return m, nil, "days", fmt.Sprintf("unknown day %q: use mon, tue, wed, thu, fri, sat, sun", d)
			}
			seen[i] = true
		}
		m.Days = m.Days[:0:0]
		var nums []string
		for _, i := range []int{1, 2, 3, 4, 5, 6, 0} {
			if seen[i] {
				m.Days = append(m.Days, weekdayNames[i])
				nums = append(nums, strconv.Itoa(i))
			}
		}
		sh, sm, ok := parseClock(m.StartTime)
		if !ok {
			return m, nil, "start_time", "must be a time of day as HH:MM"
		}
		eh, em, ok := parseClock(m.EndTime)
		if !ok {
			return m, nil, "end_time", "must be a time of day as HH:MM"
		}
		m.StartTime, m.EndTime = fmt.Sprintf("%02d:%02d", sh, sm), fmt.Sprintf("%02d:%02d", eh, em)
		mins := (eh*60 + em) - (sh*60 + sm)
		if mins <= 0 {
			mins += 24 * 60 // ends the next day
		}
		spec, _, msg := parseCron(fmt.Sprintf("%d %d * * %s", sm, sh, strings.Join(nums, ",")))
		if msg != "" {
			return m, nil, "days", msg
		}
		w.sched = pushSchedule{sched: spec, loc: loc}
		w.dur = time.Duration(mins) * time.Minute
		m.Cron, m.Duration = "", 0
	case store.MaintenanceCron:
		spec, expr, msg := parseCron(strings.Join(strings.Fields(m.Cron), " "))
		if msg != "" {
			return m, nil, "cron", msg
		}
		if m.Duration < time.Minute || m.Duration > maxMaintenanceDuration {
			return m, nil, "duration_seconds", "must be from 60 to " + strconv.Itoa(int(maxMaintenanceDuration/time.Second))
		}
		m.Cron = expr
		w.sched = pushSchedule{sched: spec, expr: expr, loc: loc}
		w.dur = m.Duration.Truncate(time.Second)
		m.Days, m.StartTime, m.EndTime = nil, "", ""
	default:
		return m, nil, "kind", "must be once, weekly or cron"
	}
	if !m.StartsAt.IsZero() && !m.EndsAt.IsZero() && !m.EndsAt.After(m.StartsAt) {
		return m, nil, "ends_at", "must be after starts_at"
	}
	w.start, w.end = m.StartsAt, m.EndsAt
	return m, w, "", ""
}

func weekdayIndex(d string) int {
	d = strings.ToLower(strings.TrimSpace(d))
	for i, n := range weekdayNames {
		if d == n || len(d) > 3 && strings.HasPrefix(strings.ToLower(time.Weekday(i).String()), d) {
			return i
		}
	}
	return -1
}

func parseClock(s string) (h, m int, ok bool) {
	hs, ms, found := strings.Cut(strings.TrimSpace(s), ":")
	if !found || len(ms) != 2 || len(hs) < 1 || len(hs) > 2 {
		return 0, 0, false
	}
	h, err1 := strconv.Atoi(hs)
	m, err2 := strconv.Atoi(ms)
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, 0, false
	}
	return h, m, true
}

// wallEnd is the end of an occurrence that starts at fire: dur later on
// the zone's wall clock, so a window of 01:00–05:00 ends at 05:00 also on
// the night clocks change.
func (w *MaintenanceWindow) wallEnd(fire time.Time) time.Time {
	l := fire.In(w.sched.loc)
	e := time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second()+int(w.dur/time.Second), 0, w.sched.loc)
	if !e.After(fire) { // clocks went back more than the window is long
		e = fire.Add(w.dur)
	}
	return e
}

// At tells whether t is inside the window, and if so when the occurrence
// holding t began.
func (w *MaintenanceWindow) At(t time.Time) (bool, time.Time) {
	if w.once {
		if !t.Before(w.start) && t.Before(w.end) {
			return true, w.start
		}
		return false, time.Time{}
	}
	if !t.Before(w.validFrom) && t.Before(w.validTo) {
		return w.cacheIn, w.cacheStart
	}
	in, start, validTo := w.occurrence(t)
	w.cacheIn, w.cacheStart, w.validTo = in, start, validTo
	w.validFrom = t
	if in {
		w.validFrom = start
	}
	return in, start
}

// Occurrence is, for pages, the occurrence holding t or the next one
// after it; ok is false when there is none.
func (w *MaintenanceWindow) Occurrence(t time.Time) (start, end time.Time, ok bool) {
	if w.once {
		if t.Before(w.end) {
			return w.start, w.end, true
		}
		return time.Time{}, time.Time{}, false
	}
	in, s, next := w.occurrence(t)
	if in {
		return s, next, true
	}
	if next.IsZero() || next.Equal(farFuture) {
		return time.Time{}, time.Time{}, false
	}
	return next, w.wallEnd(next), true
}

var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// occurrence looks t up in a recurring window: in, with the occurrence's
// start and end; or out, with the next start (farFuture: none).
func (w *MaintenanceWindow) occurrence(t time.Time) (bool, time.Time, time.Time) {
	// A wall-clock duration lasts at most an hour or two more in real
	// time (a change of clocks inside it): look back that much further.
	f := w.sched.nextFire(t.Add(-w.dur - 3*time.Hour))
	for !f.IsZero() && !f.After(t) {
		if w.applies(f) {
			if e := w.wallEnd(f); t.Before(e) {
				return true, f, e
			}
		}
		f = w.sched.nextFire(f)
	}
	for !f.IsZero() && !w.applies(f) {
		if !w.end.IsZero() && !f.Before(w.end) {
			return false, time.Time{}, farFuture
		}
		f = w.sched.nextFire(f)
	}
	if f.IsZero() {
		return false, time.Time{}, farFuture
	}
	return false, time.Time{}, f
}

// applies tells whether an occurrence starting at f is within the
// window's bounds.
func (w *MaintenanceWindow) applies(f time.Time) bool {
	return (w.start.IsZero() || !f.Before(w.start)) && (w.end.IsZero() || f.Before(w.end))
}

// maintenanceSource is the store's side of the windows; a store without
// it (a test's) has none.
type maintenanceSource interface {
	AllMaintenance(ctx context.Context) ([]store.Maintenance, error)
}

// ReloadMaintenance reads every window again (after one was created,
// edited or deleted) and moves monitors in or out of maintenance at once.
func (c *Checker) ReloadMaintenance(ctx context.Context) error {
	src, ok := c.st.(maintenanceSource)
	if !ok {
		return nil
	}
	list, err := src.AllMaintenance(ctx)
	if err != nil {
		return fmt.Errorf("checker: load maintenance: %w", err)
	}
	c.SetMaintenance(list)
	return c.maintenanceSweep(ctx)
}

// SetMaintenance replaces the windows; ones that do not compile (edited
// by hand in the database) are logged and skipped.
func (c *Checker) SetMaintenance(list []store.Maintenance) {
	book := map[int64][]*MaintenanceWindow{}
	for _, m := range list {
		_, w, field, msg := CompileMaintenance(m)
		if w == nil {
			c.cfg.Logger.Warn("skipping a maintenance window that does not compile", "id", m.ID, "field", field, "err", msg)
			continue
		}
		for _, id := range m.Monitors {
			book[id] = append(book[id], w)
		}
	}
	c.mu.Lock()
	c.maint = book
	c.mu.Unlock()
}

// inMaintenanceLocked tells whether a monitor is inside one of its
// windows at t, and since when (the earliest start among those holding t).
func (c *Checker) inMaintenanceLocked(id int64, t time.Time) (bool, time.Time) {
	w, since := c.windowAtLocked(id, t)
	return w != nil, since
}

// windowAtLocked is the window holding a monitor at t (the one that began
// first), or nil.
func (c *Checker) windowAtLocked(id int64, t time.Time) (*MaintenanceWindow, time.Time) {
	ws := c.maint[id]
	if len(ws) == 0 {
		return nil, time.Time{}
	}
	var found *MaintenanceWindow
	var since time.Time
	for _, w := range ws {
		if ok, s := w.At(t); ok && (found == nil || s.Before(since)) {
			found, since = w, s
		}
	}
	return found, since
}

// noteMaintenanceLocked fills in a transition into or out of maintenance:
// the window's title, and Alert when the window asks for notifications.
// Out of it, the window is the one that held the monitor when its
// maintenance began (its stored since), so this holds across a restart.
// A transition out of maintenance into down keeps its own Alert: that is
// the DOWN alert.
func (c *Checker) noteMaintenanceLocked(t *store.Transition, id int64, now time.Time) {
	at := now
	if t.From == store.StatusMaintenance {
		at = t.PrevSince
	}
	w, _ := c.windowAtLocked(id, at)
	if w == nil {
		return
	}
	t.Window = w.Title
	if w.Notify && t.To != store.StatusDown {
		t.Alert = true
	}
}

// InMaintenance tells whether a monitor is inside a window now (pages).
func (c *Checker) InMaintenance(id int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now, _ := c.nowLocked()
	in, _ := c.inMaintenanceLocked(id, now)
	return in
}

// maintenanceState is what a monitor inside a window shows: maintenance
// since the window began (or since its last state, if that began later:
// a window declared afterwards), with the underlying failure streak.
func maintenanceState(prev, real store.MonitorState, start time.Time) store.MonitorState {
	if prev.Status == store.StatusMaintenance {
		return store.MonitorState{Status: store.StatusMaintenance, Since: prev.Since, FailStreak: real.FailStreak}
	}
	since := start
	if prev.Since.After(since) {
		since = prev.Since
	}
	return store.MonitorState{Status: store.StatusMaintenance, Since: since, FailStreak: real.FailStreak}
}

// maintenanceSweep moves monitors in and out of maintenance at their
// windows' edges: in memory first, then stored (behind the backlog while
// the database is away). Leaving a window while failing is one DOWN alert,
// now.
func (c *Checker) maintenanceSweep(ctx context.Context) error {
	var updates []store.StateUpdate
	c.mu.Lock()
	now, tick := c.nowLocked()
	for id, st := range c.states {
		if st.paused {
			continue
		}
		in, start := c.inMaintenanceLocked(id, now)
		shown := st.state.Status == store.StatusMaintenance
		if in == shown {
			continue
		}
		prev := st.state
		var next store.MonitorState
		t := &store.Transition{MonitorID: id, From: prev.Status, PrevSince: prev.Since}
		if in {
			next = maintenanceState(prev, prev, start)
			t.Reason = reason.Maintenance
		} else {
			next = st.verdict(tick, now)
			if next.Status == store.StatusMaintenance {
				next.Status = store.StatusPending // no region has spoken since
			}
			next.Since = now
			if next.Status == store.StatusDown && c.parentTroubleLocked(id) {
				next.Status = store.StatusUnreachable
			}
			if len(st.regions) > 0 {
				t.Reason, t.Error = st.regions[0].reason, st.regions[0].err
			}
			t.Alert = next.Status == store.StatusDown || st.alertDegraded && next.Status == store.StatusDegraded
		}
		t.To, t.At = next.Status, next.Since
		c.noteMaintenanceLocked(t, id, now)
		st.state = next
		updates = append(updates, store.StateUpdate{MonitorID: id, State: next, Transition: t})
	}
	c.mu.Unlock()
	if len(updates) == 0 {
		return nil
	}
	return c.persist(ctx, store.Batch{Updates: updates}, nil)
}
