package checker

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/upwatch/upwatch/reason"
	"github.com/upwatch/upwatch/store"
)

// Push monitors are evaluated here, in the server: a ping becomes a result
// at once, and a deadline per monitor (in a heap beside the job schedule,
// rebuilt from the store at start) becomes a "late" or "timeout" result
// when it passes. Both go through the results stream, so they meet the
// same state machine, sink, incidents and alerts as probe results.

// Ping kinds, from the push URL: /ping/{token}[/start|/fail|/log|/{exit}].
const (
	PingSuccess = "success"
	PingStart   = "start"
	PingFail    = "fail"
	PingLog     = "log"
)

// ErrUnknownPushToken: no push monitor has that token.
var ErrUnknownPushToken = errors.New("checker: unknown push token")

// Ping is one request to a push URL.
type Ping struct {
	Token    string
	Kind     string // a Ping* kind
	ExitCode int    // with PingSuccess: a non-zero exit code makes it a failure
	Body     string // what the job sent, already capped by the caller
}

// pushMon is one push monitor's timetable.
type pushMon struct {
	id      int64
	token   string
	sched   pushSchedule
	active  bool      // not paused and with a valid schedule
	late    time.Time // when the next expected ping is overdue
	started time.Time // a run reported by /start and not finished yet
	index   int       // in the heap, -1 when not in it
	// clocked: late was reckoned from this run's clock (a ping, a
	// resumption), not from a stored time, so it moves with a step of the
	// clock.
	clocked bool
}

// key is when something next happens to m: the run's grace ends or the
// next ping is late.
func (m *pushMon) key() time.Time {
	if !m.started.IsZero() {
		if end := m.started.Add(m.sched.grace()); end.Before(m.late) {
			return end
		}
	}
	return m.late
}

// pushBook holds every push monitor by id and token. The Checker guards it.
type pushBook struct {
	byID    map[int64]*pushMon
	byToken map[string]*pushMon
	h       pushHeap
}

func newPushBook() *pushBook {
	return &pushBook{byID: map[int64]*pushMon{}, byToken: map[string]*pushMon{}}
}

func (b *pushBook) has(id int64) bool { _, ok := b.byID[id]; return ok }

func (b *pushBook) remove(id int64) {
	m, ok := b.byID[id]
	if !ok {
		return
	}
	if m.index >= 0 {
		heap.Remove(&b.h, m.index)
	}
	delete(b.byID, id)
	if b.byToken[m.token] == m {
		delete(b.byToken, m.token)
	}
}

// fix puts m in the heap at its key, or takes it out when inactive.
func (b *pushBook) fix(m *pushMon) {
	switch {
	case !m.active && m.index >= 0:
		heap.Remove(&b.h, m.index)
	case !m.active:
	case m.index >= 0:
		heap.Fix(&b.h, m.index)
	default:
		heap.Push(&b.h, m)
	}
}

// shift moves the deadlines reckoned from this run's clock, and the start
// of running jobs, by d, a step of the wall clock: the time from a ping to
// its deadline is the same on either side of a step. Deadlines from stored
// times stay where they are.
func (b *pushBook) shift(d time.Duration) {
	for _, m := range b.byID {
		if m.clocked {
			m.late = m.late.Add(d)
		}
		if !m.started.IsZero() {
			m.started = m.started.Add(d)
		}
	}
	heap.Init(&b.h)
}

func (b *pushBook) nextDeadline() (time.Time, bool) {
	if len(b.h) == 0 {
		return time.Time{}, false
	}
	return b.h[0].key(), true
}

// overdue turns every deadline that passed by now into a failed result and
// moves each monitor on: a run that outlived its grace is a "timeout"; a
// missing ping is "late", once per expected run while it stays missing.
func (b *pushBook) overdue(now time.Time) []Result {
	var out []Result
	for len(b.h) > 0 && !b.h[0].key().After(now) {
		m := b.h[0]
		at := m.key()
		o := Outcome{Reason: reason.Late}
		if !m.started.IsZero() && at.Equal(m.started.Add(m.sched.grace())) {
			o.Reason = reason.Timeout
			o.Error = fmt.Sprintf("started %s ago and did not finish within %s", fmtDur(now.Sub(m.started)), fmtDur(m.sched.grace()))
			m.started = time.Time{}
		} else {
			o.Error = "no ping by " + at.UTC().Format("2006-01-02 15:04:05 MST")
			// Runs missed while the server was stopped are one late check,
			// not a burst of them: skip to the first deadline to come.
			m.late = m.sched.nextLate(m.late)
			for i := 0; !m.late.After(now); i++ {
				if i == 1000 {
					m.late, m.clocked = m.sched.deadline(now), true
					break
				}
				m.late = m.sched.nextLate(m.late)
			}
		}
		out = append(out, Result{MonitorID: m.id, Region: LocalRegion, Due: at.UnixMilli(), Outcome: o})
		heap.Fix(&b.h, 0)
	}
	return out
}

// putPushLocked registers or updates a push monitor. The deadline starts
// from the newest stored check (so a restart does not forgive a missed
// run), from now when the monitor was just resumed, and from its creation
// before its first ping. A monitor changed into another type is dropped.
func (c *Checker) putPushLocked(m store.Monitor, resumed bool) {
	if m.Type != TypePush {
		c.push.remove(m.ID)
		return
	}
	pm := c.push.byID[m.ID]
	if pm == nil {
		pm = &pushMon{id: m.ID, index: -1}
		c.push.byID[m.ID] = pm
	}
	if pm.token != m.PushToken {
		if c.push.byToken[pm.token] == pm {
			delete(c.push.byToken, pm.token)
		}
		pm.token = m.PushToken
		if pm.token != "" {
			c.push.byToken[pm.token] = pm
		}
	}
	sched, err := parsePushSchedule(m.Settings)
	pm.active = err == nil && !m.Paused
	if err != nil {
		c.cfg.Logger.Error("push monitor has an unusable schedule", "monitor", m.ID, "err", err)
	}
	if !pm.active {
		pm.started = time.Time{}
		c.push.fix(pm)
		return
	}
	pm.sched = sched
	now, _ := c.nowLocked()
	pm.clocked = false
	switch lc := m.LastCheck; {
	case resumed:
		pm.late, pm.clocked = sched.deadline(now), true
	case lc == nil:
		base := m.CreatedAt
		if base.IsZero() || base.After(now) {
			base, pm.clocked = now, true
		}
		pm.late = sched.deadline(base)
	case lc.Reason == reason.Late:
		pm.late = sched.nextLate(lc.At)
	default:
		pm.late = sched.deadline(lc.At)
	}
	c.push.fix(pm)
}

// Push records a ping. It answers ErrUnknownPushToken for a token no
// monitor has, storing nothing. A ping of a paused monitor is kept in its
// history but moves nothing.
func (c *Checker) Push(ctx context.Context, p Ping) (int64, error) {
	c.mu.Lock()
	now, tick := c.nowLocked()
	pm, ok := c.push.byToken[p.Token]
	if !ok || p.Token == "" {
		c.mu.Unlock()
		return 0, ErrUnknownPushToken
	}
	id := pm.id
	kind := p.Kind
	if kind == PingSuccess && p.ExitCode != 0 {
		kind = PingFail
	}
	var o Outcome
	switch kind {
	case PingLog:
		c.mu.Unlock()
		return id, nil
	case PingStart:
		if pm.active {
			// The run came: what is due now is its end, within the grace.
			pm.started = now
			pm.late, pm.clocked = pm.sched.deadline(now), true
			c.push.fix(pm)
		}
		c.mu.Unlock()
		c.poke()
		return id, nil
	case PingFail:
		o = Outcome{Reason: reason.Fail, Error: "the job reported a failure", Excerpt: excerpt([]byte(p.Body))}
		if p.ExitCode != 0 {
			o.Error = "the job exited with code " + strconv.Itoa(p.ExitCode)
		}
	default:
		o = Outcome{OK: true, Detail: "ping received"}
	}
	o.Body = p.Body
	if !pm.started.IsZero() {
		o.Latency = now.Sub(pm.started)
		o.Detail = "run took " + fmtDur(o.Latency)
		if kind == PingFail {
			o.Detail = "failed after " + fmtDur(o.Latency)
		}
	}
	if pm.active {
		pm.started = time.Time{}
		pm.late, pm.clocked = pm.sched.deadline(now), true
		c.push.fix(pm)
	}
	r := Result{MonitorID: id, Region: LocalRegion, Due: now.UnixMilli(), Outcome: o}
	c.issueResultLocked(&r, tick)
	c.mu.Unlock()
	c.poke()
	if err := c.q.Complete(ctx, LocalRegion, []Result{r}, nil); err != nil {
		return id, fmt.Errorf("checker: record ping of monitor %d: %w", id, err)
	}
	return id, nil
}

// PushStarted tells when a push monitor's current run started (zero when
// none is running), for its page.
func (c *Checker) PushStarted(id int64) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if pm, ok := c.push.byID[id]; ok {
		return pm.started
	}
	return time.Time{}
}

// fmtDur is a duration for people: "850 ms", "12.3 s", "4 min 10 s", "2 h 5 min".
func fmtDur(d time.Duration) string {
	switch {
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	case d < time.Hour:
		return fmt.Sprintf("%d min %d s", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	return fmt.Sprintf("%d h %d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

type pushHeap []*pushMon

func (h pushHeap) Len() int           { return len(h) }
func (h pushHeap) Less(i, j int) bool { return h[i].key().Before(h[j].key()) }
func (h pushHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *pushHeap) Push(x any) {
	m := x.(*pushMon)
	m.index = len(*h)
	*h = append(*h, m)
}
func (h *pushHeap) Pop() any {
	old := *h
	m := old[len(old)-1]
	old[len(old)-1] = nil
	m.index = -1
	*h = old[:len(old)-1]
	return m
}

// PushScheduleText describes a push monitor's schedule for its page
// ("every 1 day, grace 1 h"), with its cron expression ("" for a period).
func PushScheduleText(settings json.RawMessage) (text, cron string) {
	s, err := parsePushSchedule(settings)
	if err != nil {
		return "", ""
	}
	var c struct {
		Cron string `json:"cron"`
	}
	_ = json.Unmarshal(settings, &c)
	return s.String(), c.Cron
}
