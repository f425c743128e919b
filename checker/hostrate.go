package checker

import (
	"container/heap"
	"encoding/json"
	"math"
	"net"
	"net/url"
	"strings"
	"time"
)

// The host rate cap (HOST_RATE): at most so many checks per second go to
// one destination host, across every monitor and user, so upwatch cannot
// be turned into a flooder by many fast monitors on one target. It works
// where jobs are issued (schedule.due), with one token bucket per host
// (GCRA: a theoretical arrival time per host, one second's worth of
// burst). The key is the host name as the monitor writes it, lowercased,
// without the port: an HTTP URL's host, a TCP/TLS/ping monitor's host, a
// DNS monitor's own name server (one on the system's resolver is not
// capped); push monitors are not checked by upwatch.
//
// A run over the cap is deferred: it reserves the host's next free place
// and goes out then, labelled with that time and with a whole interval to
// run (its grid is unchanged: the next run is the next regular slot, which
// must win a place of its own). When that place would be
// at or after the monitor's next regular slot the run is skipped instead
// and counted (per monitor: Checker.RateLimited, the API's
// checks_rate_limited; the first time per host it is logged). The cost on
// the hot path is one map-free pointer hop and a few comparisons per job.

// hostBucket is one destination host's bucket.
type hostBucket struct {
	key  string
	tat  time.Time // the theoretical arrival time of the next check (a tick)
	refs int       // slots checking this host
	// limited counts this host's skipped runs; noticed is set once the host
	// has been reported over the cap (logged once per host and run).
	limited int64
	noticed bool
}

type hostRate struct {
	every time.Duration // one check per every
	tau   time.Duration // burst tolerance: (burst-1)·every
	hosts map[string]*hostBucket
	// over holds hosts newly over the cap, for the scheduler to log.
	over []string
}

// newHostRate caps checks to rate per second per host; nil (no cap) for
// rate <= 0.
func newHostRate(rate float64) *hostRate {
	if rate <= 0 || math.IsNaN(rate) || math.IsInf(rate, 0) {
		return nil
	}
	every := time.Duration(float64(time.Second) / rate)
	burst := max(1, math.Floor(rate))
	return &hostRate{every: every, tau: time.Duration(burst-1) * every, hosts: map[string]*hostBucket{}}
}

// bucket returns key's bucket with one more reference; nil for no key.
func (h *hostRate) bucket(key string) *hostBucket {
	if h == nil || key == "" {
		return nil
	}
	b := h.hosts[key]
	if b == nil {
		b = &hostBucket{key: key}
		h.hosts[key] = b
	}
	b.refs++
	return b
}

// release drops a reference; the last one forgets the host.
func (h *hostRate) release(b *hostBucket) {
	if h == nil || b == nil {
		return
	}
	if b.refs--; b.refs <= 0 {
		delete(h.hosts, b.key)
	}
}

// take lets one check to b go at now, or returns the earliest time one may.
func (h *hostRate) take(b *hostBucket, now time.Time) (bool, time.Time) {
	if b.tat.Before(now) {
		b.tat = now
	}
	if at := b.tat.Add(-h.tau); at.After(now) {
		return false, at
	}
	b.tat = b.tat.Add(h.every)
	return true, now
}

// admit decides whether the slot at the top of the heap, due at now, may
// go out now. If not, it has moved the slot (deferred to its reserved
// place, or skipped to its next regular slot, counted) and fixed the heap.
func (s *schedule) admit(sl *slot, now time.Time) bool {
	if sl.reserved {
		sl.reserved = false
		return true
	}
	ok, at := s.rate.take(sl.host, now)
	if ok {
		return true
	}
	if !sl.host.noticed {
		sl.host.noticed = true
		s.rate.over = append(s.rate.over, sl.host.key)
	}
	regular := slotAfter(sl.anchor, sl.interval, now)
	if at.Before(regular) {
		sl.host.tat = sl.host.tat.Add(s.rate.every) // the place is this run's
		sl.reserved, sl.next = true, at
	} else {
		sl.limited++
		sl.host.limited++
		sl.next = regular
	}
	heap.Fix(&s.h, 0)
	return false
}

// hostKey is the destination a monitor's checks go to, for the cap: the
// host name as written, lowercased, without a port; "" for none.
func hostKey(spec Spec) string {
	var host string
	switch spec.Type {
	case "", TypeHTTP:
		if u, err := url.Parse(spec.URL); err == nil {
			host = u.Hostname()
		}
	case TypeTCP, TypeTLS, TypePing:
		var s struct {
			Host string `json:"host"`
		}
		_ = json.Unmarshal(spec.Settings, &s)
		host = s.Host
	case TypeDNS:
		var s struct {
			Resolver string `json:"resolver"`
		}
		_ = json.Unmarshal(spec.Settings, &s)
		host = s.Resolver
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	return strings.ToLower(strings.Trim(strings.TrimSpace(host), "[]."))
}

// RateLimited is how many runs of a monitor the host rate cap skipped since
// the server started.
func (c *Checker) RateLimited(id int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sl, ok := c.sched.byID[id]; ok {
		return sl.limited
	}
	return 0
}

// logRateLimitedLocked logs each host newly over the cap, once.
func (c *Checker) logRateLimitedLocked() {
	if c.sched.rate == nil || len(c.sched.rate.over) == 0 {
		return
	}
	for _, h := range c.sched.rate.over {
		c.cfg.Logger.Warn("checks to one host exceed HOST_RATE: they are deferred, and skipped (counted per monitor) when they would run a whole interval late",
			"host", h, "per_second", float64(time.Second)/float64(c.sched.rate.every))
	}
	c.sched.rate.over = c.sched.rate.over[:0]
}

// newCappedSchedule is a schedule with the host rate cap (none for rate <= 0).
func newCappedSchedule(rate float64) *schedule {
	s := newSchedule()
	s.rate = newHostRate(rate)
	return s
}
