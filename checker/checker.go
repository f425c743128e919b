// Package checker schedules checks, runs them on workers over a Redis-stream
// queue and turns their results into stored history and monitor state.
package checker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/upwatch/upwatch/egress"
	"github.com/upwatch/upwatch/store"
)

// drainTimeout bounds how long shutdown waits for the last results.
const drainTimeout = 5 * time.Second

// LocalRegion is the region served by the workers inside the server.
const LocalRegion = "local"

// Store is what the checker needs from storage.
type Store interface {
	AllMonitors(ctx context.Context) ([]store.Monitor, error)
	MonitorByID(ctx context.Context, id int64) (store.Monitor, error)
	SaveChecks(ctx context.Context, checks []store.Check, updates []store.StateUpdate) error
}

// Config tunes the checker; zero values take defaults.
type Config struct {
	// LocalWorkers is the number of checks run at once inside the server;
	// 0 means the default, negative means none (remote workers only).
	LocalWorkers int
	// LocalWorkersMax caps how far the local pool grows when its targets
	// are slow (default 4×LocalWorkers).
	LocalWorkersMax int
	Logger          *slog.Logger
	Now             func() time.Time
	Version         string // the build, shown in the local workers' heartbeat
	// Now is the wall clock: it labels checks and states. Mono is the
	// monotonic clock (time since some fixed point): it decides when
	// checks run, so that a step of the wall clock never stops or
	// bunches them (clock.go). Defaults: time.Now and its monotonic
	// part; a Now without a Mono is also the monotonic clock (a test's).
	Mono func() time.Duration
	// RetryDelay caps how soon a failed check is repeated to confirm a
	// failure (default 5s, never more than the monitor's interval).
	RetryDelay time.Duration
	// Prober runs checks for local workers (default: every type's prober,
	// through Egress).
	Prober Prober
	// Egress decides, per monitor owner, whether its jobs may reach
	// private addresses (Spec.DenyPrivate), and guards the default
	// Prober's connections; nil means the default policy.
	Egress *egress.Policy
	// DefaultRegions are where monitors without regions of their own are
	// checked from (default: the server's own, "local").
	DefaultRegions []string
	// OnSaved, if set, is called by the sink after each batch is committed
	// (for live updates and alerts); it must not block for long.
	// While the database cannot be written, it is called when a batch is
	// applied in memory instead, once.
	OnSaved func(checks []store.Check, updates []store.StateUpdate)
	// Alerter sends the alerts of state changes the database cannot
	// record (backlog.go); nil: they wait for the database.
	Alerter EarlyAlerter
	// HostRate caps checks per second to one destination host across all
	// monitors (hostrate.go); 0: no cap.
	HostRate float64
	// Spool keeps results the database cannot take across a restart; nil:
	// in memory only (a stop during a storage outage loses them, and says
	// so).
	Spool *store.Spool
}

// Checker owns the schedule, the result sink and the local worker pool.
type Checker struct {
	st  Store
	q   *Queue
	cfg Config

	started time.Time // results due before it were issued by an earlier run
	run     uint64    // this run's id, in its jobs: results of other runs are told apart

	mu     sync.Mutex
	clk    *clock
	seq    uint64 // the last job's sequence number in this run
	stats  Stats
	health Health
	missed int64 // checks never answered in time, since start
	// missedAt samples missed at each health sweep, for the recent rate.
	missedAt []missedSample
	sched    *schedule
	states   map[int64]*monState
	// maint holds each monitor's maintenance windows (maintenance.go).
	maint map[int64][]*MaintenanceWindow
	// parents maps a monitor to the monitors it depends on, children the
	// other way (dependencies.go).
	parents, children map[int64][]int64
	// flapSettings are the monitors' own flapping limits (the others take
	// the defaults).
	flapSettings map[int64]store.FlapSettings
	// periods are the monitors' confirmation and recovery periods.
	periods map[int64]store.Periods
	push    *pushBook
	wake    chan struct{}
	// The wall clock's newest step (a tick, and its size), for Health.
	steppedAt time.Time
	stepSize  time.Duration
	// storeErr is the database's refusal that started the backlog; nil
	// while results are stored.
	storeErr error

	bl   *backlog
	lost atomic.Int64 // checks lost at shutdown (neither stored nor spooled)

	local      *Worker   // the server's own workers; nil without
	startTick  time.Time // when Run began (a tick)
	lastResult time.Time // when a result was last applied (a tick)
}

// monState is what the sink needs to know of a monitor.
type monState struct {
	state           store.MonitorState
	confirmations   int
	interval        time.Duration
	paused          bool
	degradedLatency time.Duration
	alertDegraded   bool
	timeout         time.Duration
	// regionList is where the monitor is checked from, and quorum how many
	// of them must see it down; regions holds each one's own state (in
	// memory only: after a restart a single region starts from the
	// monitor's stored state, several from pending).
	regionList []string
	quorum     int
	regions    []regionState // by the index of regionList: a slice, as most monitors have one
	added      time.Time     // when the checker took the monitor on (a tick)
	push       bool          // evaluated by its deadlines, not by results arriving
	// lastLabel is the newest label (unix ms) given to a check of the
	// monitor, or stored for it: labels never go backwards.
	lastLabel int64
	flapLast  uint8          // its own status as flapping last counted it (ownStatus)
	flap      *flapState     // flapping.go; nil until it changes
	periods   *store.Periods // confirmation and recovery periods; nil: none
}

func New(st Store, q *Queue, cfg Config) *Checker {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	clk := newClock(cfg.Now, cfg.Mono)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RetryDelay <= 0 {
		cfg.RetryDelay = 5 * time.Second
	}
	if len(cfg.DefaultRegions) == 0 {
		cfg.DefaultRegions = []string{LocalRegion}
	}
	if cfg.LocalWorkers == 0 {
		cfg.LocalWorkers = 64
	}
	if cfg.Egress == nil {
		cfg.Egress = egress.New(egress.Config{})
	}
	if cfg.Prober == nil {
		cfg.Prober = NewProber(ProbeEnv{Region: LocalRegion, Egress: cfg.Egress})
	}
	return &Checker{
		st: st, q: q, cfg: cfg, started: clk.epoch, run: newRunID(), clk: clk,
		missedAt: []missedSample{{n: 0}}, // the baseline: nothing missed at start
		sched:    newCappedSchedule(cfg.HostRate),
		states:   map[int64]*monState{},
		push:     newPushBook(),
		wake:     make(chan struct{}, 1),
		bl:       newBacklog(cfg.Logger, cfg.Spool),
	}
}

// SpecOf turns a stored monitor into what a worker needs. Empty settings
// are left out: most monitors have none, and every job carries its spec.
func SpecOf(m store.Monitor) Spec {
	settings := m.Settings
	if string(settings) == "{}" {
		settings = nil
	}
	return Spec{
		MonitorID:       m.ID,
		Type:            m.Type,
		Settings:        settings,
		URL:             m.URL,
		Method:          m.Method,
		Headers:         m.Headers,
		Body:            m.Body,
		Timeout:         m.Timeout,
		ExpectedStatus:  m.ExpectedStatus,
		FollowRedirects: m.FollowRedirects,
		VerifyTLS:       m.VerifyTLS,
	}
}

// Run loads the monitors, then schedules, checks and stores results until
// ctx is cancelled. It returns after in-flight work is flushed.
func (c *Checker) Run(ctx context.Context) error {
	if err := c.q.Setup(ctx, LocalRegion); err != nil {
		return err
	}
	c.replaySpool(ctx)
	mons, err := c.st.AllMonitors(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: nothing ran, nothing to flush
		}
		return fmt.Errorf("checker: load monitors: %w", err)
	}
	c.mu.Lock()
	_, now := c.nowLocked()
	c.startTick = now
	for _, m := range mons {
		if _, ok := c.states[m.ID]; ok {
			continue // a Reschedule during start-up already has fresher data
		}
		c.putLocked(m, now.Add(spread(m.ID, m.Interval)))
	}
	c.mu.Unlock()
	if err := c.loadQuiet(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return err
	}
	c.cfg.Logger.Info("checker started", "monitors", len(mons), "local_workers", max(c.cfg.LocalWorkers, 0))

	// Workers stop first (no new results), then the sink drains, then Run returns.
	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	var workers sync.WaitGroup
	if c.cfg.LocalWorkers > 0 {
		host, _ := os.Hostname()
		w := NewWorker(c.q, c.cfg.Prober, WorkerConfig{
			Region:         LocalRegion,
			Name:           "server-" + host + "-" + strconv.Itoa(os.Getpid()),
			Concurrency:    c.cfg.LocalWorkers,
			MaxConcurrency: c.cfg.LocalWorkersMax,
			Logger:         c.cfg.Logger,
			Now:            c.cfg.Now,
			Version:        c.cfg.Version,
		})
		c.mu.Lock()
		c.local = w
		c.mu.Unlock()
		workers.Add(1)
		go func() {
			defer workers.Done()
			if err := w.Run(workCtx); err != nil {
				c.cfg.Logger.Error("local workers stopped", "err", err)
			}
		}()
	}
	// The sink outlives ctx: it stores what the workers flushed last.
	sinkCtx, stopSink := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSink()
	draining := make(chan struct{})
	sinkDone := make(chan struct{})
	drainCtx, stopDrain := context.WithCancel(sinkCtx)
	drainDone := make(chan struct{})
	go func() {
		defer close(drainDone)
		c.drainLoop(drainCtx)
	}()
	go func() {
		defer close(sinkDone)
		c.sink(sinkCtx, draining)
		stopDrain()
		<-drainDone
		c.closeBacklog() // the sink's last word, once nothing else writes the backlog
	}()

	healthDone := make(chan struct{})
	go func() {
		defer close(healthDone)
		c.healthLoop(ctx)
	}()
	c.scheduleLoop(ctx)
	<-healthDone
	stopWork()
	workers.Wait()
	close(draining)
	select {
	case <-sinkDone:
	case <-time.After(drainTimeout):
		stopSink()
		<-sinkDone
	}
	return nil
}

// putLocked (re)registers a monitor; paused monitors leave the schedule.
// first is a tick.
func (c *Checker) putLocked(m store.Monitor, first time.Time) {
	wall, tick := c.nowLocked()
	st := c.states[m.ID]
	if st == nil {
		st = &monState{added: tick}
		c.states[m.ID] = st
	}
	if m.LastCheck != nil {
		st.lastLabel = max(st.lastLabel, m.LastCheck.At.UnixMilli())
	}
	resumed := st.paused && !m.Paused
	st.state, st.confirmations, st.interval, st.paused = m.State, m.Confirmations, m.Interval, m.Paused
	st.degradedLatency, st.alertDegraded, st.timeout = m.DegradedLatency, m.AlertDegraded, m.Timeout
	st.push = m.Type == TypePush
	st.periods = nil
	if p, ok := c.periods[m.ID]; ok {
		st.periods = &p
	}
	if m.State.Status == store.StatusFlapping && (st.flap == nil || !st.flap.on) {
		// Flapping when stored: it goes on until it settles.
		st.flap = &flapState{on: true, since: m.State.Since}
	}
	regions := c.regionsFor(m)
	if resumed || !slices.Equal(regions, st.regionList) || st.regions == nil {
		next := make([]regionState, len(regions))
		for i, r := range regions {
			if j, ok := st.region(r); ok {
				next[i] = st.regions[j]
			} else {
				next[i].state = store.MonitorState{Status: store.StatusPending, Since: wall}
			}
		}
		if len(regions) == 1 {
			// One region is the monitor: it goes on from the stored state
			// (maintenance is shown over a state that was not stored).
			next[0].state = m.State
			if m.State.Status == store.StatusMaintenance || m.State.Status == store.StatusFlapping {
				next[0].state = store.MonitorState{Status: store.StatusPending, Since: wall}
			}
		}
		st.regions = next
	}
	st.regionList, st.quorum = regions, m.Quorum
	if m.Paused || m.Type == TypePush {
		c.sched.remove(m.ID)
	}
	if m.Type == TypePush || c.push.has(m.ID) {
		// A push monitor waits for pings instead; one changed into
		// another type leaves the push book here.
		c.putPushLocked(m, resumed)
	}
	if m.Paused || m.Type == TypePush {
		return
	}
	spec := SpecOf(m)
	// Decided here, where the owner is known; the job carries it to
	// whichever worker runs it.
	spec.DenyPrivate = !c.cfg.Egress.PrivateAllowed(m.OwnerAdmin)
	c.sched.put(spec, regions, m.Interval, first)
}

// Reschedule reloads a monitor after it was created or edited and checks it
// at once; a deleted monitor is removed.
func (c *Checker) Reschedule(ctx context.Context, id int64) error {
	m, err := c.st.MonitorByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		c.Remove(id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("checker: reschedule %d: %w", id, err)
	}
	c.mu.Lock()
	c.putLocked(m, c.clk.tick())
	c.mu.Unlock()
	c.poke()
	return nil
}

// Remove forgets a deleted monitor; its in-flight results are dropped.
func (c *Checker) Remove(id int64) {
	c.mu.Lock()
	c.sched.remove(id)
	c.push.remove(id)
	delete(c.states, id)
	c.mu.Unlock()
	c.poke()
}

func (c *Checker) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// schedQuantum batches dispatch: due times are rounded up to it, so
// monitors due within the same few milliseconds share one queue round trip
// (and the workers' reads and flushes batch with them). A check starts at
// most this late; its recorded time is still its exact slot.
const schedQuantum = 50 * time.Millisecond

func quantize(t time.Time) time.Time {
	if r := t.Sub(t.Truncate(schedQuantum)); r != 0 {
		return t.Add(schedQuantum - r)
	}
	return t
}

// scheduleLoop publishes due jobs; it never waits for checks to finish, so a
// slow target cannot shift anyone's schedule.
func (c *Checker) scheduleLoop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var jobs []Job
	// While the queue is unreachable due jobs are lost (they would be
	// stale anyway); the schedule goes on and the outage is logged once.
	// Late push monitors are kept and retried instead: nothing else would
	// report them.
	down := newOutage(c.cfg.Logger, "publishing jobs")
	var unsentLates []Result
	for {
		c.mu.Lock()
		wall, now := c.nowLocked()
		jobs = c.sched.due(now, c.clk.offset, jobs[:0])
		c.logRateLimitedLocked()
		c.issueJobsLocked(jobs, now)
		next, ok := c.sched.nextDue()
		lates := c.push.overdue(wall)
		for i := range lates {
			c.issueResultLocked(&lates[i], now)
		}
		if pn, pok := c.push.nextDeadline(); pok {
			// A push deadline is a wall time; as a tick:
			if pn = pn.Add(-c.clk.offset); !ok || pn.Before(next) {
				next, ok = pn, true
			}
		}
		c.mu.Unlock()
		if lates = append(unsentLates, lates...); len(lates) > 0 {
			unsentLates = nil
			if err := c.q.Complete(ctx, LocalRegion, lates, nil); err != nil && ctx.Err() == nil {
				down.fail(err, "late_push_monitors", len(lates))
				unsentLates = lates[max(len(lates)-maxUnsent, 0):]
			} else if err == nil {
				down.ok()
			}
		}
		for len(jobs) > 0 {
			n := min(len(jobs), 500)
			if err := c.q.PublishJobs(ctx, jobs[:n]); err != nil && ctx.Err() == nil {
				down.fail(err, "n", n)
			} else if err == nil {
				down.ok()
			}
			jobs = jobs[n:]
		}
		wait := time.Minute
		if ok {
			wait = quantize(next).Sub(c.clk.tick())
		}
		if len(unsentLates) > 0 {
			wait = min(wait, time.Second)
		}
		timer.Reset(max(wait, time.Millisecond))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-c.wake:
		}
	}
}

// loadQuiet reads what keeps alerts quiet: maintenance windows,
// dependencies, flapping limits, confirmation and recovery periods.
func (c *Checker) loadQuiet(ctx context.Context) error {
	if src, ok := c.st.(maintenanceSource); ok {
		list, err := src.AllMaintenance(ctx)
		if err != nil {
			return fmt.Errorf("checker: load maintenance: %w", err)
		}
		c.SetMaintenance(list)
	}
	if err := c.ReloadDependencies(ctx); err != nil {
		return err
	}
	if err := c.ReloadFlapping(ctx); err != nil {
		return err
	}
	return c.ReloadPeriods(ctx)
}
