package checker

// Worker heartbeats. Every worker (the server's own pool and each
// `upwatch worker` process) writes a small record of itself into one Redis
// hash every few seconds, and removes it when it stops cleanly. The server
// reads the hash to list workers and to know which regions have live ones.
//
// Liveness comes from the record's last_seen, compared with the reader's
// clock, never from key expiry: the embedded miniredis does not expire keys
// unless its clock is driven. Workers and server are assumed to keep their
// clocks roughly in time (NTP); 30 s of slack absorbs ordinary skew.

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

const (
	// workersKey is the hash of heartbeats: field = consumer name.
	workersKey = "upwatch:workers"

	// HeartbeatEvery is how often a worker writes its heartbeat.
	HeartbeatEvery = 5 * time.Second
	// WorkerDeadAfter is how long a worker may stay silent before it is
	// counted dead.
	WorkerDeadAfter = 30 * time.Second
	// WorkerForgetAfter is how long a dead worker stays listed; the reader
	// then deletes its record, so the hash stays small.
	WorkerForgetAfter = time.Hour
)

// WorkerInfo is one worker as its newest heartbeat describes it.
type WorkerInfo struct {
	Name            string // consumer name, unique per process
	Region          string
	Version         string
	Host            string
	StartedAt       time.Time
	LastSeen        time.Time // by the worker's clock
	InFlight        int       // checks running at the time of the heartbeat
	ChecksPerMinute int       // checks finished over the minute before it
	Concurrency     int       // checks in flight at most
	Alive           bool      // set by the reader: seen within WorkerDeadAfter
}

// heartbeat is a WorkerInfo as stored: times in unix milliseconds.
type heartbeat struct {
	Name            string `json:"name"`
	Region          string `json:"region"`
	Version         string `json:"version"`
	Host            string `json:"host"`
	StartedAt       int64  `json:"started_at"`
	LastSeen        int64  `json:"last_seen"`
	InFlight        int    `json:"in_flight"`
	ChecksPerMinute int    `json:"checks_per_minute"`
	Concurrency     int    `json:"concurrency"`
}

// Heartbeat writes (or refreshes) a worker's record in one round trip.
func (q *Queue) Heartbeat(ctx context.Context, w WorkerInfo) error {
	data, err := json.Marshal(heartbeat{
		Name: w.Name, Region: w.Region, Version: w.Version, Host: w.Host,
		StartedAt: w.StartedAt.UnixMilli(), LastSeen: w.LastSeen.UnixMilli(),
		InFlight: w.InFlight, ChecksPerMinute: w.ChecksPerMinute, Concurrency: w.Concurrency,
	})
	if err != nil {
		return fmt.Errorf("queue: encode heartbeat: %w", err)
	}
	if err := q.rdb.HSet(ctx, workersKey, w.Name, data).Err(); err != nil {
		return fmt.Errorf("queue: heartbeat: %w", err)
	}
	return nil
}

// RemoveWorker deletes a worker's record (it stopped cleanly).
func (q *Queue) RemoveWorker(ctx context.Context, name string) error {
	if err := q.rdb.HDel(ctx, workersKey, name).Err(); err != nil {
		return fmt.Errorf("queue: remove worker: %w", err)
	}
	return nil
}

// Workers lists the workers that sent a heartbeat within WorkerForgetAfter
// of now, alive ones first, then by region and name. Records older than
// that, or unreadable, are deleted.
func (q *Queue) Workers(ctx context.Context, now time.Time) ([]WorkerInfo, error) {
	all, err := q.rdb.HGetAll(ctx, workersKey).Result()
	if err != nil {
		return nil, fmt.Errorf("queue: read workers: %w", err)
	}
	out := make([]WorkerInfo, 0, len(all))
	var stale []string
	for field, v := range all {
		var h heartbeat
		if err := json.Unmarshal([]byte(v), &h); err != nil || h.LastSeen == 0 {
			stale = append(stale, field)
			continue
		}
		seen := time.UnixMilli(h.LastSeen)
		age := now.Sub(seen)
		if age > WorkerForgetAfter {
			stale = append(stale, field)
			continue
		}
		out = append(out, WorkerInfo{
			Name: field, Region: h.Region, Version: h.Version, Host: h.Host,
			StartedAt: unixMilli(h.StartedAt), LastSeen: seen,
			InFlight: h.InFlight, ChecksPerMinute: h.ChecksPerMinute, Concurrency: h.Concurrency,
			Alive: age <= WorkerDeadAfter,
		})
	}
	if len(stale) > 0 {
		// A worker coming back between the read and this delete loses one
		// heartbeat, and writes the next.
		if err := q.rdb.HDel(ctx, workersKey, stale...).Err(); err != nil {
			return nil, fmt.Errorf("queue: forget %d workers: %w", len(stale), err)
		}
	}
	slices.SortFunc(out, func(a, b WorkerInfo) int {
		if a.Alive != b.Alive {
			if a.Alive {
				return -1
			}
			return 1
		}
		return cmp.Or(strings.Compare(a.Region, b.Region), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}

// LiveRegions counts the live workers of each region; a region without
// live workers is absent.
func (q *Queue) LiveRegions(ctx context.Context, now time.Time) (map[string]int, error) {
	ws, err := q.Workers(ctx, now)
	if err != nil {
		return nil, err
	}
	live := map[string]int{}
	for _, w := range ws {
		if w.Alive {
			live[w.Region]++
		}
	}
	return live, nil
}

func unixMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// meter counts the checks of one worker for its heartbeat.
type meter struct {
	inFlight atomic.Int64
	done     atomic.Int64
}

// meteredProber is a Prober that counts its checks on a meter.
type meteredProber struct {
	p Prober
	m *meter
}

func (p meteredProber) Probe(ctx context.Context, s Spec) Outcome {
	p.m.inFlight.Add(1)
	defer p.m.inFlight.Add(-1)
	out := p.p.Probe(ctx, s)
	p.m.done.Add(1)
	return out
}

// rate turns a running total into a count over the last minute, from the
// samples taken at each heartbeat.
type rate struct {
	samples []rateSample // oldest first
}

type rateSample struct {
	at    time.Time
	total int64
}

// perMinute is the count over the minute before now, and records the
// sample. Before a minute of samples it is the count so far (the total
// started at zero); after, it is scaled from the newest sample at least a
// minute old.
func (r *rate) perMinute(now time.Time, total int64) int {
	base := -1
	for i, s := range r.samples {
		if !s.at.After(now.Add(-time.Minute)) {
			base = i
		}
	}
	n := float64(total)
	if base >= 0 {
		// Older samples than the base are no longer needed.
		r.samples = append(r.samples[:0], r.samples[base:]...)
		b := r.samples[0]
		n = float64(total-b.total) * float64(time.Minute) / float64(now.Sub(b.at))
	}
	r.samples = append(r.samples, rateSample{now, total})
	return int(math.Round(max(n, 0)))
}

// startHeartbeat writes the worker's heartbeat at once and then every
// HeartbeatEvery until ctx ends or stop is called. stop waits for the
// writer and removes the record: a worker that stops cleanly leaves no
// dead entry behind.
func (w *Worker) startHeartbeat(ctx context.Context) (stop func()) {
	every := cmp.Or(w.cfg.HeartbeatEvery, HeartbeatEvery)
	host, _ := os.Hostname()
	info := WorkerInfo{
		Name: w.cfg.Name, Region: w.cfg.Region, Version: w.cfg.Version, Host: host,
		StartedAt: w.cfg.Now(), Concurrency: w.cfg.Concurrency,
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var perMin rate
		failing := false
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			now := w.cfg.Now()
			info.LastSeen = now
			info.InFlight = int(w.meter.inFlight.Load())
			info.ChecksPerMinute = perMin.perMinute(now, w.meter.done.Load())
			bctx, bcancel := context.WithTimeout(ctx, max(every, time.Second))
			err := w.q.Heartbeat(bctx, info)
			bcancel()
			switch {
			case err != nil && ctx.Err() == nil && !failing:
				// Once per outage: reads of jobs report it every second.
				w.cfg.Logger.Warn("worker heartbeat failed", "region", w.cfg.Region, "err", err)
				failing = true
			case err == nil:
				failing = false
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		cancel()
		<-done
		// A fresh context: ctx is done by now.
		rctx, rcancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer rcancel()
		if err := w.q.RemoveWorker(rctx, w.cfg.Name); err != nil {
			w.cfg.Logger.Warn("removing worker heartbeat failed", "err", err)
		}
	}
}
