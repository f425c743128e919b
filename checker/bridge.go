package checker

// The HTTPS bridge: the server's side of the worker endpoint, for workers
// that reach the queue through the server's own HTTP port instead of
// Redis (app/worker_api.go speaks HTTP and checks tokens; this file
// speaks Redis).
//
// An HTTPS worker is an ordinary member of its region's consumer group,
// named "https:<its name>": the bridge reads jobs for it with XREADGROUP,
// its results acknowledge them, and a job it took and never answered (it
// died, or the answer to its poll was lost on the way) stays pending under
// that name until a worker of the region re-claims it after the job's
// timeout plus the claim margin. The bridge runs that upkeep for its own
// consumers on each poll, with the same code a Redis worker runs (heal.go),
// so a region served only by HTTPS workers heals as one served by Redis
// workers does.
//
// A long-poll holds no Redis connection while it waits: it reads without
// BLOCK and sleeps until this process publishes jobs for its region (the
// scheduler does, through Queue.PublishJobs) or a second passes, whichever
// is first; each second it also asks the caller whether it may go on (a
// revoked token ends its poll within that second).

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// BridgeConsumerPrefix starts the consumer (and heartbeat) name of every
	// HTTPS worker, so they never collide with Redis workers.
	BridgeConsumerPrefix = "https:"
	// pollSlice is how long a long-poll sleeps between looks at the queue
	// when nothing wakes it.
	pollSlice = time.Second
	// bridgeForget is how long the bridge keeps the claim bookkeeping of an
	// HTTPS consumer that stopped polling; maxBridgeConsumers caps them.
	bridgeForget       = 10 * time.Minute
	maxBridgeConsumers = 1000
)

// ErrBridgeFull is returned when more HTTPS workers poll than the bridge
// keeps bookkeeping for.
var ErrBridgeFull = errors.New("too many HTTPS workers")

// BridgeConfig tunes the bridge; zero values take defaults.
type BridgeConfig struct {
	// ClaimMargin is how long past its timeout a job may stay pending with
	// another consumer before an HTTPS worker is given it (default
	// DefaultClaimMargin).
	ClaimMargin time.Duration
	Logger      *slog.Logger
	Now         func() time.Time
}

// Bridge serves HTTPS workers from the queue.
type Bridge struct {
	q   *Queue
	cfg BridgeConfig

	mu        sync.Mutex
	consumers map[string]*bridgeConsumer // region + "\x00" + consumer
	lastSweep time.Time

	closing   chan struct{}
	closeOnce sync.Once

	// hbMu serialises heartbeats with removals, and stopped remembers
	// workers that said they stopped: a heartbeat the worker gave up on
	// may still reach us after its goodbye, and must not list it again.
	hbMu    sync.Mutex
	stopped map[string]time.Time
}

// stoppedFor is how long a stopped HTTPS worker's late heartbeats are
// ignored.
const stoppedFor = 30 * time.Second

// bridgeConsumer is one HTTPS worker's claim and reap bookkeeping. It is
// kept in a Worker (never Run) so that it is exactly what a Redis worker
// keeps.
type bridgeConsumer struct {
	mu   sync.Mutex // serialises this consumer's reads and upkeep
	w    *Worker
	used atomic.Int64 // unix ns of its last poll
}

func NewBridge(q *Queue, cfg BridgeConfig) *Bridge {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.ClaimMargin = cmp.Or(cfg.ClaimMargin, DefaultClaimMargin)
	return &Bridge{q: q, cfg: cfg, consumers: map[string]*bridgeConsumer{}, closing: make(chan struct{})}
}

// Close ends every long-poll (they answer with no jobs) and makes new ones
// return at once: the server is shutting down.
func (b *Bridge) Close() { b.closeOnce.Do(func() { close(b.closing) }) }

// consumer returns the bookkeeping of an HTTPS worker, creating it.
func (b *Bridge) consumer(region, name string) (*bridgeConsumer, error) {
	now := time.Now()
	key := region + "\x00" + name
	b.mu.Lock()
	defer b.mu.Unlock()
	if c, ok := b.consumers[key]; ok {
		return c, nil
	}
	if now.Sub(b.lastSweep) > time.Minute || len(b.consumers) >= maxBridgeConsumers {
		b.lastSweep = now
		for k, c := range b.consumers {
			idle := now.Sub(time.Unix(0, c.used.Load()))
			if idle > bridgeForget || len(b.consumers) >= maxBridgeConsumers && idle > time.Minute {
				delete(b.consumers, k)
			}
		}
		if len(b.consumers) >= maxBridgeConsumers {
			return nil, ErrBridgeFull
		}
	}
	c := &bridgeConsumer{w: NewWorker(b.q, nil, WorkerConfig{
		Region: region, Name: BridgeConsumerPrefix + name, Logger: b.cfg.Logger,
		Now: b.cfg.Now, ClaimMargin: b.cfg.ClaimMargin,
	})}
	c.used.Store(now.UnixNano())
	b.consumers[key] = c
	return c, nil
}

// Jobs answers an HTTPS worker's long-poll: up to count jobs of region for
// the worker called name, as soon as there are any, or none after wait.
// While it waits, still is called every second; its error ends the poll.
func (b *Bridge) Jobs(ctx context.Context, region, name string, count int, wait time.Duration, still func(context.Context) error) ([]JobMsg, error) {
	c, err := b.consumer(region, name)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	checked := time.Now()
	healed := false
	for {
		// Taken before the read, so jobs published after it wake this poll.
		woken := b.q.published.wait(region)
		msgs, err := c.read(ctx, b.q, count)
		if err != nil {
			if !healed && healGroups(ctx, b.q, b.cfg.Logger, err, region) {
				healed = true
				continue
			}
			return nil, err
		}
		left := time.Until(deadline)
		if len(msgs) > 0 || left <= 0 {
			return msgs, nil
		}
		t := time.NewTimer(min(left, pollSlice))
		select {
		case <-woken:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-b.closing:
			t.Stop()
			return nil, nil
		}
		t.Stop()
		// Each second, however often publishes woke the poll for jobs
		// that other workers took.
		if still != nil && time.Since(checked) >= pollSlice {
			checked = time.Now()
			if err := still(ctx); err != nil {
				return nil, err
			}
		}
	}
}

// read re-claims what the consumer's upkeep finds due, or else reads new
// jobs without blocking.
func (c *bridgeConsumer) read(ctx context.Context, q *Queue, count int) ([]JobMsg, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.used.Store(time.Now().UnixNano())
	msgs, err := c.w.maintain(ctx, count)
	if err == nil && len(msgs) == 0 {
		msgs, err = q.ReadJobs(ctx, c.w.cfg.Region, c.w.cfg.Name, count, -1)
	}
	return msgs, err
}

// Complete stores an HTTPS worker's results and acknowledges its jobs.
func (b *Bridge) Complete(ctx context.Context, region string, results []Result, ackIDs []string) error {
	return b.q.Complete(ctx, region, results, ackIDs)
}

// Heartbeat records an HTTPS worker's heartbeat; w.Name is its consumer
// name (BridgeConsumerPrefix included).
func (b *Bridge) Heartbeat(ctx context.Context, w WorkerInfo) error {
	b.hbMu.Lock()
	defer b.hbMu.Unlock()
	if at, ok := b.stopped[w.Name]; ok && time.Since(at) < stoppedFor {
		return nil
	}
	return b.q.Heartbeat(ctx, w)
}

// RemoveWorker deletes an HTTPS worker's heartbeat (it stopped cleanly).
func (b *Bridge) RemoveWorker(ctx context.Context, name string) error {
	b.hbMu.Lock()
	defer b.hbMu.Unlock()
	if b.stopped == nil {
		b.stopped = map[string]time.Time{}
	}
	now := time.Now()
	for n, at := range b.stopped {
		if now.Sub(at) >= stoppedFor {
			delete(b.stopped, n)
		}
	}
	b.stopped[name] = now
	return b.q.RemoveWorker(ctx, name)
}

// jobSignal wakes waiters when jobs are published for their region.
type jobSignal struct {
	mu sync.Mutex
	ch map[string]chan struct{} // closed at the next publish to the region
}

// wait returns a channel closed when jobs are next published to region.
func (s *jobSignal) wait(region string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = map[string]chan struct{}{}
	}
	c, ok := s.ch[region]
	if !ok {
		c = make(chan struct{})
		s.ch[region] = c
	}
	return c
}

// notify wakes the waiters of the jobs' regions.
func (s *jobSignal) notify(jobs []Job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < len(jobs) && len(s.ch) > 0; i++ {
		if c, ok := s.ch[jobs[i].Region]; ok {
			close(c)
			delete(s.ch, jobs[i].Region)
		}
	}
}
