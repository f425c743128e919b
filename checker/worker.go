package checker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Prober runs one check.
type Prober interface {
	Probe(ctx context.Context, s Spec) Outcome
}

// WorkerConfig configures a pool of check goroutines reading one region's jobs.
type WorkerConfig struct {
	Region      string
	Name        string // consumer name, unique per process
	Concurrency int    // checks in flight at first (and at least)
	// MaxConcurrency caps how far the pool grows when its targets are
	// slow and jobs wait (default 4×Concurrency; pool.go).
	MaxConcurrency int
	Logger         *slog.Logger
	Now            func() time.Time
	// ClaimMargin is how long past its own timeout a job may sit
	// unacknowledged with another consumer before this worker takes it over
	// (that worker died). Default DefaultClaimMargin.
	ClaimMargin time.Duration
	// Version is shown with the worker's heartbeat; HeartbeatEvery is how
	// often it is written (default HeartbeatEvery).
	Version        string
	HeartbeatEvery time.Duration
	// MaxRetryDelay caps the wait between failed reads, which doubles from
	// a second up to it (default a second: Redis is near, and its outages
	// are short).
	MaxRetryDelay time.Duration
}

// Worker reads jobs, probes, and sends results back in pipelined batches.
type Worker struct {
	q      JobQueue
	keep   queueKeeper // nil: the transport's other end keeps the group
	prober Prober
	heal   workerHeal
	cfg    WorkerConfig
	meter  *meter // what the heartbeat reports
	pool   *pool
}

func NewWorker(q JobQueue, prober Prober, cfg WorkerConfig) *Worker {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClaimMargin <= 0 {
		cfg.ClaimMargin = DefaultClaimMargin
	}
	if cfg.MaxRetryDelay <= 0 {
		cfg.MaxRetryDelay = time.Second
	}
	m := &meter{}
	w := &Worker{q: q, prober: meteredProber{prober, m}, cfg: cfg, meter: m,
		pool: newPool(cfg.Logger, cfg.Region, cfg.Concurrency, cfg.MaxConcurrency)}
	w.keep, _ = q.(queueKeeper)
	w.heal.init(cfg.Logger)
	return w
}

const (
	readBlock     = 500 * time.Millisecond
	flushEvery    = 50 * time.Millisecond
	maxFlushBatch = 256
)

type done struct {
	msgID  string
	result *Result // nil when the job was dropped
}

// Run works until ctx is cancelled, or until the transport refuses the
// worker (ErrDenied, returned). In-flight checks then get a short grace
// (stopGrace) to finish; what still runs after it is abandoned (its job
// stays pending, to be re-claimed or to expire). Finished results are
// flushed before return.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.q.Setup(ctx, w.cfg.Region); err != nil {
		return err
	}
	// slots holds one token per check in flight, up to the pool's cap;
	// only this loop takes them, and never past the pool's current limit.
	slots := make(chan struct{}, w.pool.max)
	freed := make(chan struct{}, 1)
	results := make(chan done, w.pool.max)
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		w.flushLoop(results)
	}()
	stopHeartbeat := w.startHeartbeat(ctx)
	defer stopHeartbeat() // after the last flush: the record goes last

	// Checks run on their own context, so that stopping lets them finish.
	probeCtx, stopProbes := context.WithCancel(context.WithoutCancel(ctx))
	defer stopProbes()
	var inflight sync.WaitGroup
	var denied error
	for ctx.Err() == nil && denied == nil {
		// Wait for at least one free slot, then read as many jobs as
		// there are free slots.
		limit := w.pool.current()
		if len(slots) >= limit {
			select {
			case <-freed:
			case <-ctx.Done():
			}
			continue
		}
		free := 0
		for len(slots) < limit && free < maxFlushBatch {
			slots <- struct{}{}
			free++
		}
		msgs, err := w.maintain(ctx, free)
		if err == nil && len(msgs) == 0 {
			msgs, err = w.q.ReadJobs(ctx, w.cfg.Region, w.cfg.Name, free, readBlock)
		}
		switch {
		case err == nil:
			w.heal.readDown.ok()
		case errors.Is(err, ErrDenied):
			denied = err
		case ctx.Err() == nil && !w.readFailed(ctx, err):
			sleep(ctx, w.retryDelay())
		}
		for i := 0; i < free-len(msgs); i++ {
			<-slots
		}
		if err == nil {
			w.pool.observe(free, len(msgs), len(slots), time.Now())
		}
		for _, m := range msgs {
			w.heal.own(m.ID)
			inflight.Add(1)
			go func(m JobMsg) {
				defer inflight.Done()
				defer func() {
					<-slots
					select {
					case freed <- struct{}{}:
					default:
					}
				}()
				results <- w.run(probeCtx, m)
			}(m)
		}
	}
	waitGrace(&inflight, w.heal.stopGrace, stopProbes)
	close(results)
	<-flushed
	return denied
}

// Saturation reports how the worker keeps up with its jobs.
func (w *Worker) Saturation() Saturation { return w.pool.saturation(time.Now()) }

// retryDelay is the wait after a failed read: a second, doubling with each
// failure of the outage up to MaxRetryDelay.
func (w *Worker) retryDelay() time.Duration {
	d := time.Second
	for i := 1; i < w.heal.readDown.fails && d < w.cfg.MaxRetryDelay; i++ {
		d *= 2
	}
	return min(d, w.cfg.MaxRetryDelay)
}

// run executes one job, or drops it when it is malformed or stale.
func (w *Worker) run(ctx context.Context, m JobMsg) done {
	if m.Err != nil {
		w.cfg.Logger.Warn("dropping malformed job", "id", m.ID, "err", m.Err)
		return done{msgID: m.ID}
	}
	if stale(m.Job, w.cfg.Now) {
		return done{msgID: m.ID}
	}
	out := w.prober.Probe(ctx, m.Job.Spec)
	if ctx.Err() != nil {
		// Shutting down: the outcome is an artefact of cancellation.
		return done{}
	}
	return done{msgID: m.ID, result: &Result{
		MonitorID: m.Job.Spec.MonitorID,
		Region:    w.cfg.Region,
		Due:       m.Job.Due,
		Outcome:   out,
		Run:       m.Job.Run,
		Seq:       m.Job.Seq,
		Worker:    w.cfg.Name,
	}}
}

// flushLoop batches finished checks into one pipelined round trip (or
// request) per maxFlushBatch. While the queue is unreachable it keeps them
// (up to maxUnsent) and retries.
func (w *Worker) flushLoop(in <-chan done) {
	var unsent []done
	var retryAt time.Time
	dropped := 0 // in this outage
	flush := func(final bool) {
		if len(unsent) == 0 || !final && time.Now().Before(retryAt) {
			return
		}
		for sent := 0; sent < len(unsent); {
			results, acks := splitDone(unsent[sent:min(len(unsent), sent+maxFlushBatch)])
			// A fresh context: results finished before shutdown still count.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := w.q.Complete(ctx, w.cfg.Region, results, acks)
			cancel()
			if err != nil {
				unsent = append(unsent[:0], unsent[sent:]...)
				w.heal.sendDown.fail(err, "region", w.cfg.Region)
				if final {
					results, acks := splitDone(unsent)
					w.cfg.Logger.Error("queue: results lost: the queue is unreachable at shutdown", "region", w.cfg.Region, "n", len(results), "err", err)
					w.heal.release(acks)
					unsent = unsent[:0]
					return
				}
				retryAt = time.Now().Add(time.Second)
				if n := len(unsent) - maxUnsent; n > 0 {
					if dropped == 0 {
						w.cfg.Logger.Warn("queue: too many unsent results; dropping the oldest", "region", w.cfg.Region, "keep", maxUnsent)
					}
					dropped += n
					for _, d := range unsent[:n] {
						w.heal.release([]string{d.msgID})
					}
					unsent = append(unsent[:0], unsent[n:]...)
				}
				return
			}
			w.heal.sendDown.ok()
			if dropped > 0 {
				w.cfg.Logger.Warn("queue: results dropped during the outage", "region", w.cfg.Region, "n", dropped)
				dropped = 0
			}
			w.heal.release(acks)
			sent += min(len(unsent)-sent, maxFlushBatch)
		}
		unsent = unsent[:0]
	}
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	for {
		select {
		case d, ok := <-in:
			if !ok {
				flush(true)
				return
			}
			if d.msgID != "" || d.result != nil {
				unsent = append(unsent, d)
			}
			if len(unsent) >= maxFlushBatch {
				flush(false)
			}
		case <-tick.C:
			flush(false)
		}
	}
}

// splitDone separates finished checks into results and the jobs to
// acknowledge (dropped jobs have no result).
func splitDone(ds []done) (results []Result, acks []string) {
	results = make([]Result, 0, len(ds))
	acks = make([]string, 0, len(ds))
	for _, d := range ds {
		if d.msgID != "" {
			acks = append(acks, d.msgID)
		}
		if d.result != nil {
			results = append(results, *d.result)
		}
	}
	return results, acks
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
