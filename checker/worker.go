package checker

import (
	"context"
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
	Concurrency int    // checks in flight at most
	Logger      *slog.Logger
	Now         func() time.Time
	// ClaimAfter is how long a job may sit unacknowledged with another
	// consumer before this worker takes it over (that worker died).
	ClaimAfter time.Duration
	// Version is shown with the worker's heartbeat; HeartbeatEvery is how
	// often it is written (default HeartbeatEvery).
	Version        string
	HeartbeatEvery time.Duration
}

// Worker reads jobs, probes, and sends results back in pipelined batches.
type Worker struct {
	q      *Queue
	prober Prober
	cfg    WorkerConfig
	meter  *meter // what the heartbeat reports
}

func NewWorker(q *Queue, prober Prober, cfg WorkerConfig) *Worker {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ClaimAfter <= 0 {
		cfg.ClaimAfter = 3 * time.Minute
	}
	m := &meter{}
	return &Worker{q: q, prober: meteredProber{prober, m}, cfg: cfg, meter: m}
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

// Run works until ctx is cancelled. In-flight checks are then abandoned (their
// jobs stay pending and expire); finished results are flushed before return.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.q.Setup(ctx, w.cfg.Region); err != nil {
		return err
	}
	slots := make(chan struct{}, w.cfg.Concurrency)
	results := make(chan done, w.cfg.Concurrency)
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		w.flushLoop(results)
	}()
	stopHeartbeat := w.startHeartbeat(ctx)
	defer stopHeartbeat() // after the last flush: the record goes last

	var inflight sync.WaitGroup
	lastClaim := time.Time{}
	for ctx.Err() == nil {
		// Wait for at least one free slot, then read as many jobs as slots.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		free := 1
		for free < w.cfg.Concurrency && free < maxFlushBatch {
			select {
			case slots <- struct{}{}:
				free++
				continue
			default:
			}
			break
		}
		var msgs []JobMsg
		var err error
		if now := w.cfg.Now(); now.Sub(lastClaim) > w.cfg.ClaimAfter/4 {
			lastClaim = now
			msgs, err = w.q.ClaimStaleJobs(ctx, w.cfg.Region, w.cfg.Name, w.cfg.ClaimAfter, free)
		}
		if err == nil && len(msgs) == 0 {
			msgs, err = w.q.ReadJobs(ctx, w.cfg.Region, w.cfg.Name, free, readBlock)
		}
		if err != nil && ctx.Err() == nil {
			w.cfg.Logger.Warn("reading jobs failed", "region", w.cfg.Region, "err", err)
			sleep(ctx, time.Second)
		}
		for i := 0; i < free-len(msgs); i++ {
			<-slots
		}
		for _, m := range msgs {
			inflight.Add(1)
			go func(m JobMsg) {
				defer inflight.Done()
				defer func() { <-slots }()
				results <- w.run(ctx, m)
			}(m)
		}
	}
	inflight.Wait()
	close(results)
	<-flushed
	return nil
}

// run executes one job, or drops it when it is malformed or stale.
func (w *Worker) run(ctx context.Context, m JobMsg) done {
	if m.Err != nil {
		w.cfg.Logger.Warn("dropping malformed job", "id", m.ID, "err", m.Err)
		return done{msgID: m.ID}
	}
	if w.cfg.Now().UnixMilli() > m.Job.Expires {
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
	}}
}

// flushLoop batches finished checks into one pipelined round trip.
func (w *Worker) flushLoop(in <-chan done) {
	var results []Result
	var acks []string
	flush := func() {
		if len(acks) == 0 && len(results) == 0 {
			return
		}
		// A fresh context: results finished before shutdown still count.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := w.q.Complete(ctx, w.cfg.Region, results, acks); err != nil {
			w.cfg.Logger.Error("sending results failed", "n", len(results), "err", err)
		}
		results, acks = results[:0], acks[:0]
	}
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	for {
		select {
		case d, ok := <-in:
			if !ok {
				flush()
				return
			}
			if d.msgID != "" {
				acks = append(acks, d.msgID)
			}
			if d.result != nil {
				results = append(results, *d.result)
			}
			if len(acks) >= maxFlushBatch {
				flush()
			}
		case <-tick.C:
			flush()
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
