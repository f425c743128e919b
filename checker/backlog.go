package checker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/upwatch/upwatch/store"
)

// The backlog: batches the sink applied in memory that the database did
// not take (a full disk, a lock held by another process, a failing disk).
// The state machine and alerts go on without it; the batches wait here,
// and in the spool file where that can be written, and a drainer
// goroutine writes them oldest first once the database takes writes
// again, while the sink keeps reading new results behind them.

const (
	// drainEvery is how often the drainer tries the database while it
	// fails. Each try may wait busy_timeout (5 s) on a lock, but only the
	// drainer waits: the sink goes on.
	drainEvery = time.Second
	// drainChunk bounds the checks of one drain transaction, so a long
	// backlog is written in steps that leave room for other writers.
	drainChunk = 5000
	// maxBacklogChecks bounds the checks held in memory (about 300 B
	// each): past it the oldest batches lose their checks (their state
	// changes are kept), counted and logged.
	maxBacklogChecks = 100_000
	// earlyWait bounds how long a drain waits for the alerts sent early
	// for its transitions: storing one before its sends are over would
	// queue them as unsent and send them twice.
	earlyWait = 15 * time.Second
	// finalDrain bounds the last try at shutdown.
	finalDrain = 2 * time.Second
)

// EarlyAlerter sends a transition's alerts while it cannot be stored: it
// records each attempt in t.Early and calls t.Early.Finish when done.
// notify.Dispatcher is one.
type EarlyAlerter interface {
	SendEarly(ctx context.Context, t *store.Transition)
}

// BacklogHealth is the backlog's part of Health.
type BacklogHealth struct {
	Checks, Updates int       // held, not yet stored
	Since           time.Time // when the oldest held batch failed; zero when none
	Dropped         int64     // checks dropped to keep the bound, since start
	Lost            int64     // checks neither stored nor spooled at the last shutdown (read back from the spool: 0)
	// Unspooled is set when the spool cannot be written either: what is
	// held would be lost by a stop before the database is back.
	Unspooled bool
	SpoolErr  string
}

type unsaved struct {
	b       store.Batch
	ids     []string // results not acknowledged yet (not in the spool)
	spooled bool
}

type backlog struct {
	log   *slog.Logger
	spool *store.Spool // nil: memory only

	mu       sync.Mutex
	items    []unsaved
	checks   int
	updates  int
	inflight int // items at the head the drainer is writing
	since    time.Time
	dropped  int64 // since start
	outDrop  int64 // in this outage, for its summary
	spoolErr error // the last spool failure; nil while the spool holds everything
	dirty    bool  // the spool holds more than the items (dropped checks, stored head)
	wake     chan struct{}
}

func newBacklog(log *slog.Logger, spool *store.Spool) *backlog {
	return &backlog{log: log, spool: spool, wake: make(chan struct{}, 1)}
}

func (bl *backlog) len() int {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	return len(bl.items)
}

func (bl *backlog) health() BacklogHealth {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	h := BacklogHealth{Checks: bl.checks, Updates: bl.updates, Since: bl.since, Dropped: bl.dropped}
	if bl.spoolErr != nil && len(bl.items) > 0 {
		h.Unspooled, h.SpoolErr = true, bl.spoolErr.Error()
	}
	return h
}

// push adds a batch behind the others and returns the ids of the results
// that are now safe to acknowledge: in the spool, or nothing when the
// spool fails (the queue keeps them then, where it outlives the process).
func (bl *backlog) push(b store.Batch, ids []string, now time.Time) []string {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	if len(bl.items) == 0 {
		bl.since, bl.outDrop = now, 0
	}
	it := unsaved{b: b, ids: ids}
	var acked []string
	if bl.spool != nil && bl.spoolErr == nil {
		if err := bl.spool.Append(b); err != nil {
			bl.spoolFailed(err)
		} else {
			it.spooled, acked, it.ids = true, ids, nil
		}
	}
	bl.items = append(bl.items, it)
	bl.checks += len(b.Checks)
	bl.updates += len(b.Updates)
	bl.bound()
	select {
	case bl.wake <- struct{}{}:
	default:
	}
	return acked
}

func (bl *backlog) spoolFailed(err error) {
	if bl.spoolErr == nil {
		bl.log.Error("results waiting for the database cannot be written to the spool either: they are kept in memory only and would be lost if upwatch stopped now",
			"spool", bl.spool.Path(), "err", err)
	}
	bl.spoolErr = err
}

// bound drops the checks of the oldest batches past maxBacklogChecks.
// Their state changes stay: incidents and alerts matter more than one
// check's row, and they are few.
func (bl *backlog) bound() {
	for i := bl.inflight; bl.checks > maxBacklogChecks && i < len(bl.items); i++ {
		n := len(bl.items[i].b.Checks)
		if n == 0 {
			continue
		}
		if bl.outDrop == 0 {
			bl.log.Error("the database has not taken results for a long time: dropping the oldest buffered check results to stay within bounds (their state changes are kept)",
				"held", bl.checks, "bound", maxBacklogChecks, "since", bl.since)
		}
		bl.items[i].b.Checks = nil
		bl.checks -= n
		bl.dropped += int64(n)
		bl.outDrop += int64(n)
		bl.dirty = bl.dirty || bl.items[i].spooled
	}
}

// head takes the batches of the next drain: the oldest, up to drainChunk
// checks (at least one batch), merged into one.
func (bl *backlog) head() (store.Batch, int, bool) {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	var b store.Batch
	n := 0
	for n < len(bl.items) {
		it := bl.items[n]
		if n > 0 && len(b.Checks)+len(it.b.Checks) > drainChunk {
			break
		}
		b.Checks = append(b.Checks, it.b.Checks...)
		b.Updates = append(b.Updates, it.b.Updates...)
		n++
	}
	bl.inflight = n
	return b, n, n > 0
}

// stored removes the n batches of a drain that committed and returns the
// ids to acknowledge. The spool is rewritten with what is left.
func (bl *backlog) stored(n int, now time.Time) []string {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	var ids []string
	for _, it := range bl.items[:n] {
		ids = append(ids, it.ids...)
		bl.checks -= len(it.b.Checks)
		bl.updates -= len(it.b.Updates)
	}
	bl.items = append([]unsaved(nil), bl.items[n:]...)
	bl.inflight = 0
	bl.dirty = true
	ids = append(ids, bl.respoolLocked()...)
	if len(bl.items) == 0 {
		bl.log.Info("the database takes writes again: buffered results are stored",
			"after", now.Sub(bl.since).Round(time.Millisecond), "dropped_checks", bl.outDrop)
		bl.since, bl.outDrop = time.Time{}, 0
	}
	return ids
}

// respoolLocked writes the spool anew from the items when it holds more
// than they (or failed before, and may work now), and returns the ids
// that it now keeps.
func (bl *backlog) respoolLocked() []string {
	if bl.spool == nil || !bl.dirty && bl.spoolErr == nil {
		return nil
	}
	bs := make([]store.Batch, len(bl.items))
	for i, it := range bl.items {
		bs[i] = it.b
	}
	if err := bl.spool.Rewrite(bs); err != nil {
		bl.spoolFailed(err)
		return nil
	}
	if bl.spoolErr != nil {
		bl.log.Info("the spool can be written again: buffered results are safe from a restart", "spool", bl.spool.Path())
	}
	bl.spoolErr, bl.dirty = nil, false
	var ids []string
	for i := range bl.items {
		ids = append(ids, bl.items[i].ids...)
		bl.items[i].ids, bl.items[i].spooled = nil, true
	}
	return ids
}

// failed ends a drain that did not commit, and returns the ids the spool
// now keeps (the disk may have room for it again).
func (bl *backlog) failed() []string {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	bl.inflight = 0
	return bl.respoolLocked()
}

// drainLoop writes the backlog until ctx ends.
func (c *Checker) drainLoop(ctx context.Context) {
	t := time.NewTicker(drainEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.bl.wake:
		}
		for ctx.Err() == nil && c.drainOnce(ctx) {
		}
	}
}

// drainOnce writes the next chunk of the backlog and says whether it did
// (and there may be more).
func (c *Checker) drainOnce(ctx context.Context) bool {
	b, n, ok := c.bl.head()
	if !ok {
		return false
	}
	// Alerts still being sent early must be recorded as sent, not queued;
	// a send that takes longer than earlyWait is recorded as it stands.
	wait := time.NewTimer(earlyWait)
	defer wait.Stop()
waiting:
	for _, u := range b.Updates {
		if u.Transition == nil {
			continue
		}
		select {
		case <-u.Transition.Early.Done():
		case <-wait.C:
			break waiting
		case <-ctx.Done():
			break waiting
		}
	}
	err := c.st.SaveChecks(ctx, b.Checks, b.Updates)
	if err != nil {
		c.ack(ctx, c.bl.failed())
		if ctx.Err() == nil {
			c.storageFailed(err)
		}
		return false
	}
	ids := c.bl.stored(n, c.cfg.Now())
	c.mu.Lock()
	c.health.LastStored, _ = c.nowLocked()
	c.mu.Unlock()
	c.noteBacklog()
	c.ack(ctx, ids)
	return true
}

// ack acknowledges results the backlog stored or spooled.
func (c *Checker) ack(ctx context.Context, ids []string) {
	if len(ids) == 0 {
		return
	}
	if err := c.q.AckResults(context.WithoutCancel(ctx), ids); err != nil {
		c.cfg.Logger.Warn("acknowledging kept results failed; a re-read finds them stored", "n", len(ids), "err", err)
	}
}

// storageFailed logs a failed write of results once per outage (the
// backlog's start) and keeps the cause for Health.
func (c *Checker) storageFailed(err error) {
	c.mu.Lock()
	first := c.storeErr == nil
	c.storeErr = err
	c.mu.Unlock()
	if first {
		c.cfg.Logger.Error("the database does not take results: monitoring goes on from memory and alerts are sent at once; results are stored when it works again",
			"err", err)
	}
}

// noteBacklog clears the failure once the backlog is empty again.
func (c *Checker) noteBacklog() {
	if c.bl.len() == 0 {
		c.mu.Lock()
		c.storeErr = nil
		c.mu.Unlock()
	}
}

// sendEarly has the alerts of a batch's transitions sent now, since the
// database cannot queue them.
func (c *Checker) sendEarly(b store.Batch) {
	if c.cfg.Alerter == nil {
		return
	}
	for _, u := range b.Updates {
		t := u.Transition
		if t == nil || !t.Alert || t.Early != nil {
			continue
		}
		t.Early = store.NewEarlyAlert()
		go c.cfg.Alerter.SendEarly(context.Background(), t)
	}
}

// replaySpool stores what a previous run left in the spool, before the
// monitors are loaded (so their states include it). What the database
// does not take yet starts the backlog.
func (c *Checker) replaySpool(ctx context.Context) {
	if c.cfg.Spool == nil {
		return
	}
	bs, err := c.cfg.Spool.Load()
	if err != nil {
		c.cfg.Logger.Error("reading the spool of results from the last run failed; what could be read is stored", "err", err)
	}
	if len(bs) == 0 {
		return
	}
	n := 0
	for i, b := range bs {
		if err := c.st.SaveChecks(ctx, b.Checks, b.Updates); err != nil {
			c.storageFailed(err)
			for _, rest := range bs[i:] {
				c.bl.items = append(c.bl.items, unsaved{b: rest, spooled: true})
				c.bl.checks += len(rest.Checks)
				c.bl.updates += len(rest.Updates)
			}
			c.bl.since = c.cfg.Now()
			c.bl.bound()
			c.cfg.Logger.Warn("results kept from the last run wait for the database", "batches", len(bs)-i)
			return
		}
		n += len(b.Checks)
	}
	if err := c.cfg.Spool.Rewrite(nil); err != nil {
		c.cfg.Logger.Error("removing the stored spool failed; its results would be stored again (harmlessly for checks)", "err", err)
	}
	c.cfg.Logger.Info("stored the results the last run kept while its database was unavailable", "batches", len(bs), "checks", n)
}

// closeBacklog is the sink's last word: one more try at the database, then
// everything left goes to the spool; what cannot go anywhere is counted
// and logged as lost.
func (c *Checker) closeBacklog() {
	if c.bl.len() == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), finalDrain)
	for c.drainOnce(ctx) {
	}
	cancel()
	bl := c.bl
	bl.mu.Lock()
	defer bl.mu.Unlock()
	if len(bl.items) == 0 {
		return
	}
	bl.dirty = true
	if ids := bl.respoolLocked(); len(ids) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c.ack(ctx, ids)
		cancel()
	}
	if bl.spoolErr == nil && bl.spool != nil {
		bl.log.Warn("stopping with results the database has not taken: they are in the spool and are stored at the next start",
			"checks", bl.checks, "state_updates", bl.updates, "spool", bl.spool.Path())
		return
	}
	lost := errors.New("no spool")
	if bl.spoolErr != nil {
		lost = bl.spoolErr
	}
	bl.log.Error(fmt.Sprintf("stopping with %d check results and %d state changes that could be neither stored nor spooled: they are lost unless the queue (a real Redis) still holds them", bl.checks, bl.updates),
		"checks", bl.checks, "state_updates", bl.updates, "err", lost)
	c.lost.Add(int64(bl.checks))
}
