package checker

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Self-healing of the queue's users: every loop that talks to Redis keeps
// going while it is unreachable, recreates streams and groups a restart or
// a flush took away, and says so once per outage, not once per retry.

// outage logs a failing loop once when it starts failing and once when it
// works again. It is used by one goroutine.
type outage struct {
	log   *slog.Logger
	what  string // "reading jobs"
	since time.Time
	fails int
}

func newOutage(log *slog.Logger, what string) *outage { return &outage{log: log, what: what} }

// fail records a failed attempt; only the first of an outage is logged.
func (o *outage) fail(err error, attrs ...any) {
	o.fails++
	if !o.since.IsZero() {
		return
	}
	o.since = time.Now()
	o.log.Warn("queue: "+o.what+" failed; retrying until it works", append(attrs, "err", err)...)
}

// ok records a success, logging the end of an outage.
func (o *outage) ok() {
	if o.since.IsZero() {
		return
	}
	o.log.Info("queue: "+o.what+" works again", "after", time.Since(o.since).Round(time.Millisecond), "failures", o.fails)
	o.since, o.fails = time.Time{}, 0
}

// healGroups recreates the streams and groups after an error that says they
// are gone, and reports whether the caller may retry at once.
func healGroups(ctx context.Context, q interface {
	Setup(ctx context.Context, regions ...string) error
}, log *slog.Logger, err error, regions ...string) bool {
	if !GroupGone(err) {
		return false
	}
	if serr := q.Setup(ctx, regions...); serr != nil {
		return false
	}
	stream := resultsStream
	if len(regions) > 0 {
		stream = jobsStream(regions[0])
	}
	log.Warn("queue: consumer group was gone (Redis restarted without its data, or was flushed); created it again",
		"stream", stream, "err", err)
	return true
}

const (
	// DefaultClaimMargin is how long past its own timeout a job may stay
	// unacknowledged with another consumer before a worker takes it over.
	DefaultClaimMargin = 5 * time.Second
	claimEvery         = 2 * time.Second // how often a worker looks for stale jobs
	claimPage          = 256             // pending entries looked at per round
	maxClaimLimits     = 10_000          // claim thresholds remembered at most
	reapEvery          = time.Minute     // how often dead consumers are removed
	reapIdle           = 5 * time.Minute // idle time after which a consumer is dead
	// stopGrace caps how long a stopping worker lets its checks finish.
	stopGrace = 5 * time.Second
	// maxUnsent caps the results a worker keeps while the queue is down.
	maxUnsent = 10_000
)

// workerHeal is a worker's state for claiming, reaping and outages.
type workerHeal struct {
	// Zero means the default; tests shorten them.
	claimEvery, reapEvery, reapIdle, stopGrace time.Duration

	mu    sync.Mutex
	owned map[string]struct{} // jobs read or claimed here and not acknowledged yet

	lastClaim, lastReap time.Time
	cursor              string                   // where the next XPENDING page starts
	limits              map[string]time.Duration // pending job → its claim threshold
	passSeen            map[string]bool          // pending jobs seen in this pass over the list
	quiet               map[string]time.Time     // consumers seen with nothing pending, since (when the server does not track idle time)

	readDown, sendDown *outage
}

func (h *workerHeal) init(log *slog.Logger) {
	h.claimEvery = cmpOr(h.claimEvery, claimEvery)
	h.reapEvery = cmpOr(h.reapEvery, reapEvery)
	h.reapIdle = cmpOr(h.reapIdle, reapIdle)
	h.stopGrace = cmpOr(h.stopGrace, stopGrace)
	h.owned = map[string]struct{}{}
	h.cursor = "-"
	h.limits = map[string]time.Duration{}
	h.passSeen = map[string]bool{}
	h.quiet = map[string]time.Time{}
	h.readDown = newOutage(log, "reading jobs")
	h.sendDown = newOutage(log, "sending results")
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func (h *workerHeal) own(id string) {
	h.mu.Lock()
	h.owned[id] = struct{}{}
	h.mu.Unlock()
}

func (h *workerHeal) release(ids []string) {
	h.mu.Lock()
	for _, id := range ids {
		delete(h.owned, id)
	}
	h.mu.Unlock()
}

func (h *workerHeal) isOwned(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.owned[id]
	return ok
}

// claimLimit is how long a job may be pending with a consumer before it is
// taken over: its own timeout (what a live worker needs at most) plus a
// margin for the flush.
func (w *Worker) claimLimit(j Job) time.Duration {
	t := j.Spec.Timeout
	if t <= 0 {
		t = DefaultHTTPTimeout
	}
	return t + w.cfg.ClaimMargin
}

// maintain runs the periodic chores of the read loop: dead consumers are
// removed every reapEvery and stale jobs claimed every claimEvery (at most
// free of them). It returns the claimed jobs.
func (w *Worker) maintain(ctx context.Context, free int) ([]JobMsg, error) {
	h := &w.heal
	if w.keep == nil {
		return nil, nil
	}
	now := time.Now()
	if now.Sub(h.lastReap) >= h.reapEvery {
		h.lastReap = now
		w.reap(ctx)
	}
	if now.Sub(h.lastClaim) < h.claimEvery {
		return nil, nil
	}
	h.lastClaim = now
	return w.claimStale(ctx, free)
}

// claimStale takes over jobs that another consumer (a dead worker, or this
// one before a restart) read and did not finish within their timeout plus
// the margin. A round is one XPENDING (only entries idle for at least the
// margin), one pipelined XRANGE for the payloads of entries not seen before
// (their timeouts are remembered), and one pipelined XCLAIM.
func (w *Worker) claimStale(ctx context.Context, free int) ([]JobMsg, error) {
	h := &w.heal
	region := w.cfg.Region
	start := h.cursor
	pend, err := w.keep.PendingJobs(ctx, region, w.cfg.ClaimMargin, start, claimPage)
	if err != nil {
		return nil, err
	}
	if len(pend) < claimPage {
		h.cursor = "-" // the end of the list: the next round starts over
	} else {
		h.cursor = nextID(pend[len(pend)-1].ID)
	}
	var unknown []string
	for _, p := range pend {
		h.passSeen[p.ID] = true
		if _, ok := h.limits[p.ID]; !ok && !h.isOwned(p.ID) {
			unknown = append(unknown, p.ID)
		}
	}
	if h.cursor == "-" {
		// A whole pass is done: forget entries no longer pending.
		for id := range h.limits {
			if !h.passSeen[id] {
				delete(h.limits, id)
			}
		}
		clear(h.passSeen)
	}
	if len(unknown) > 0 {
		jobs, err := w.keep.PeekJobs(ctx, region, unknown)
		if err != nil {
			return nil, err
		}
		var gone []string
		for _, id := range unknown {
			m, ok := jobs[id]
			switch {
			case !ok:
				gone = append(gone, id) // trimmed or deleted: nothing left to run
			case m.Err != nil:
				h.limits[id] = w.cfg.ClaimMargin // claimed, then dropped as malformed
			case len(h.limits) < maxClaimLimits:
				h.limits[id] = w.claimLimit(m.Job)
			}
		}
		if len(gone) > 0 {
			if err := w.keep.AckJobs(ctx, region, gone); err != nil {
				return nil, err
			}
		}
	}
	take := map[string]time.Duration{}
	for _, p := range pend {
		lim, ok := h.limits[p.ID]
		if !ok || p.Idle < lim || h.isOwned(p.ID) {
			continue
		}
		take[p.ID] = lim
		if len(take) >= free {
			break
		}
	}
	if len(take) == 0 {
		return nil, nil
	}
	msgs, err := w.keep.ClaimJobs(ctx, region, w.cfg.Name, take)
	if err != nil {
		return nil, err
	}
	for id := range take {
		delete(h.limits, id)
	}
	if len(msgs) > 0 {
		w.cfg.Logger.Info("claimed jobs a worker did not finish", "region", region, "n", len(msgs))
	}
	return msgs, nil
}

// nextID is the smallest stream ID after id, to page through XPENDING.
func nextID(id string) string {
	ms, seq, ok := strings.Cut(id, "-")
	n, err := strconv.ParseUint(seq, 10, 64)
	if !ok || err != nil {
		return "-"
	}
	return ms + "-" + strconv.FormatUint(n+1, 10)
}

// reap removes consumers of the region's workers group that have nothing
// pending and were not seen for reapIdle: workers that died or were
// replaced. Removing a live one by mistake costs nothing (its next read
// creates it again), and one with pending jobs is never removed.
func (w *Worker) reap(ctx context.Context) {
	h := &w.heal
	cs, err := w.keep.Consumers(ctx, w.cfg.Region)
	if err != nil {
		// An outage or a missing group shows up (and heals) in the read.
		w.cfg.Logger.Debug("listing consumers failed", "region", w.cfg.Region, "err", err)
		return
	}
	now := time.Now()
	quiet := make(map[string]time.Time, len(h.quiet))
	var dead []string
	for _, c := range cs {
		if c.Name == w.cfg.Name || c.Pending > 0 {
			continue
		}
		if c.Idle >= 0 {
			if c.Idle > h.reapIdle {
				dead = append(dead, c.Name)
			}
			continue
		}
		// The server does not track its idle time (miniredis): count from
		// when it was first seen here with nothing pending.
		since, ok := h.quiet[c.Name]
		if !ok {
			since = now
		}
		quiet[c.Name] = since
		if now.Sub(since) > h.reapIdle {
			dead = append(dead, c.Name)
			delete(quiet, c.Name)
		}
	}
	h.quiet = quiet
	n, err := w.keep.DeleteIdleConsumers(ctx, w.cfg.Region, dead)
	if err != nil {
		w.cfg.Logger.Debug("removing dead consumers failed", "region", w.cfg.Region, "err", err)
		return
	}
	if n > 0 {
		w.cfg.Logger.Info("removed dead consumers", "region", w.cfg.Region, "n", n)
	}
}

// readFailed handles a failed read or claim: a missing group is created
// again (retry at once: true), anything else is an outage (wait: false).
func (w *Worker) readFailed(ctx context.Context, err error) bool {
	if healGroups(ctx, w.q, w.cfg.Logger, err, w.cfg.Region) {
		return true
	}
	w.heal.readDown.fail(err, "region", w.cfg.Region)
	return false
}

// waitGrace waits for wg, and after grace calls stop and waits again.
func waitGrace(wg *sync.WaitGroup, grace time.Duration, stop func()) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		stop()
		<-done
	}
}
