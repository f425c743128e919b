package checker

import (
	"log/slog"
	"sync"
	"time"
)

// The worker's concurrency adapts to its targets: checks of slow targets
// mostly wait on the network, so when every slot is busy and jobs keep
// waiting behind them, the pool grows (up to its cap) instead of running
// one-second monitors every few seconds without a word; when the rush is
// over it shrinks back. At the cap and still behind, it is saturated, and
// says so (Health, /healthz, the banner).

const (
	poolAdjustEvery = time.Second
	// poolShrinkAfter is how long without pressure before shrinking.
	poolShrinkAfter = 30 * time.Second
	// saturatedAfter is how long at the cap under pressure before the
	// pool reports itself saturated.
	saturatedAfter = 10 * time.Second
)

// Saturation is how a worker pool keeps up.
type Saturation struct {
	Limit, Base, Max int       // checks it runs at once now, at least and at most
	Saturated        bool      // at Max, with jobs waiting, for saturatedAfter
	Since            time.Time // when it became saturated
}

// pool holds a worker's concurrency limit and the pressure it sees.
type pool struct {
	log       *slog.Logger
	region    string
	base, max int

	mu        sync.Mutex
	limit     int
	pressure  int       // reads since the last adjustment that found the pool full and more jobs waiting
	adjusted  time.Time // last adjustment
	calmSince time.Time // no pressure since then
	fullSince time.Time // at max under pressure since then; zero otherwise
	satLogged bool
}

func newPool(log *slog.Logger, region string, base, max int) *pool {
	if max <= 0 {
		max = 4 * base
	}
	if max < base {
		max = base
	}
	now := time.Now()
	return &pool{log: log, region: region, base: base, max: max, limit: base, adjusted: now, calmSince: now}
}

func (p *pool) current() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.limit
}

// observe records one read: asked for n jobs, got got, with busy checks
// in flight afterwards (of the current limit).
func (p *pool) observe(asked, got, busy int, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if got > 0 && got == asked && busy >= p.limit {
		p.pressure++
	}
	if now.Sub(p.adjusted) < poolAdjustEvery {
		return
	}
	p.adjusted = now
	switch {
	case p.pressure >= 2 && p.limit < p.max:
		old := p.limit
		p.limit = min(p.max, p.limit+max(p.limit/2, 1))
		p.log.Info("checks are slow and jobs wait: running more at once", "region", p.region, "from", old, "to", p.limit, "cap", p.max)
	case p.pressure >= 2:
		if p.fullSince.IsZero() {
			p.fullSince = now
		}
		if !p.satLogged && now.Sub(p.fullSince) >= saturatedAfter {
			p.satLogged = true
			p.log.Warn("workers saturated: jobs wait although the pool runs as many checks as allowed; checks run late or are missed (raise WORKERS_MAX or WORKERS, or add workers)",
				"region", p.region, "at_once", p.limit)
		}
	case p.pressure == 0 && now.Sub(p.calmSince) >= poolShrinkAfter && p.limit > p.base && busy < p.limit/2:
		p.limit = max(p.base, p.limit*3/4)
		p.calmSince = now
	}
	if p.pressure > 0 {
		p.calmSince = now
	} else {
		if !p.fullSince.IsZero() && p.satLogged {
			p.log.Info("workers keep up again", "region", p.region, "at_once", p.limit)
		}
		p.fullSince, p.satLogged = time.Time{}, false
	}
	p.pressure = 0
}

func (p *pool) saturation(now time.Time) Saturation {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Saturation{Limit: p.limit, Base: p.base, Max: p.max}
	if !p.fullSince.IsZero() && now.Sub(p.fullSince) >= saturatedAfter {
		s.Saturated, s.Since = true, p.fullSince
	}
	return s
}
