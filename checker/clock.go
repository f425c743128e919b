package checker

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Two clocks. The monotonic clock (Config.Mono) decides when things happen:
// the schedule's fixed-rate grid, early re-checks, push deadlines, when a
// region's results go stale. The wall clock (Config.Now) only labels: a
// check's time, a state's since, an incident's start. A step of the wall
// clock (NTP syncing a board that booted without an RTC, a VM restored from
// a snapshot, a machine resumed from sleep) therefore moves labels, never
// the schedule.
//
// The scheduler's times are ticks: the wall time at start plus the
// monotonic time since, as a time.Time. They read like wall times (and are
// the same as long as the wall clock does not step) but never jump. A
// tick's label is the tick plus the wall clock's offset from the ticks,
// re-measured at every reading, so labels follow the wall clock, slews and
// steps alike.

// stepThreshold is how far the wall clock must move against the monotonic
// clock between two readings to count as a step (and be logged). Smaller
// moves (NTP slewing, scheduling jitter) are followed silently.
const stepThreshold = 2 * time.Second

// processStart anchors the default monotonic clock: time.Since reads
// time.Now's monotonic part, which no wall-clock step moves.
var processStart = time.Now()

func monoSinceStart() time.Duration { return time.Since(processStart) }

// clock reads the wall and the monotonic clock together. It is not safe for
// concurrent use; the Checker guards it.
type clock struct {
	wall   func() time.Time
	mono   func() time.Duration
	epoch  time.Time     // the wall time of the first reading: tick zero
	mono0  time.Duration // the monotonic time then
	offset time.Duration // wall minus tick at the last reading
}

// newClock reads both clocks once. Without a monotonic clock of its own,
// one given a wall clock (a test's) counts on it: such a clock steps only
// when the test means time to pass.
func newClock(wall func() time.Time, mono func() time.Duration) *clock {
	switch {
	case wall == nil:
		wall = time.Now
		if mono == nil {
			mono = monoSinceStart
		}
	case mono == nil:
		start := wall()
		mono = func() time.Duration { return wall().Sub(start) }
	}
	k := &clock{wall: wall, mono: mono}
	k.epoch, k.mono0 = wall().Round(0), mono()
	return k
}

// tick is the monotonic time as a tick, without looking at the wall clock.
func (k *clock) tick() time.Time { return k.epoch.Add(k.mono() - k.mono0) }

// read returns the wall time and the tick, and the wall clock's step since
// the previous reading when it moved by more than stepThreshold against
// the monotonic clock (0 otherwise). The wall time has no monotonic
// reading: times compare as labels, steps included.
func (k *clock) read() (wall, tick time.Time, step time.Duration) {
	wall, tick = k.wall().Round(0), k.tick()
	off := wall.Sub(tick)
	if d := off - k.offset; d > stepThreshold || d < -stepThreshold {
		step = d
	}
	k.offset = off
	return wall, tick, step
}

// label is the wall time of a tick, as of the last reading.
func (k *clock) label(tick time.Time) time.Time { return tick.Add(k.offset) }

// nowLocked reads the clocks: the wall time, to label, and the tick, to
// schedule. A step of the wall clock is logged once, with its size, and
// the push deadlines this run set from its own clock keep their distance.
func (c *Checker) nowLocked() (wall, tick time.Time) {
	wall, tick, step := c.clk.read()
	if step != 0 {
		c.steppedAt, c.stepSize = tick, step
		c.push.shift(step)
		c.cfg.Logger.Warn("the wall clock stepped; checks keep their schedule, their times follow the new clock",
			"step", step.Round(time.Millisecond), "now", wall)
	}
	return wall, tick
}

// newRunID names a checker run: random, non-zero, and exact in JSON.
func newRunID() uint64 { return rand.Uint64()>>12 | 1 }

// stale tells a job past its use: by what its queue left of its TTL, or,
// from a server that sends none, by its expiry on this host's clock.
func stale(j Job, now func() time.Time) bool {
	if j.TTL != 0 {
		return j.TTL < 0
	}
	return now().UnixMilli() > j.Expires
}

// queueClockEvery is how often a queue reads the queue server's clock
// (Redis TIME); in between it counts on from its last reading with this
// host's monotonic clock.
const queueClockEvery = 10 * time.Second

// queueClock follows the queue server's clock, the one that stamps every
// stream entry's ID when it is added: a job's age is its ID's time to the
// queue's now, both on that one clock, whatever the server's and the
// workers' wall clocks say.
type queueClock struct {
	mu     sync.Mutex
	at     time.Time // when it was read, on this host (monotonic)
	ms     int64     // the queue server's time then, unix ms
	retry  time.Time // after a failed reading, when to try again
	warned bool
}

// now is the queue server's time in unix ms. When the server does not tell
// (an ACL without TIME, say), this host's clock stands in, as it did before
// jobs carried a TTL; that is logged once.
func (c *queueClock) now(ctx context.Context, rdb redis.UniversalClient) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if (c.at.IsZero() || time.Since(c.at) >= queueClockEvery) && time.Now().After(c.retry) {
		t, err := rdb.Time(ctx).Result()
		switch {
		case err == nil:
			c.at, c.ms = time.Now(), t.UnixMilli()
		case ctx.Err() == nil:
			c.retry = time.Now().Add(queueClockEvery)
			if !c.warned {
				c.warned = true
				slog.Warn("queue: cannot read the queue's clock (Redis TIME); the age of jobs is measured on this host's clock", "err", err)
			}
		}
	}
	if c.at.IsZero() {
		return time.Now().UnixMilli()
	}
	return c.ms + time.Since(c.at).Milliseconds()
}

// age turns the TTL of jobs just read into what is left of it: less the
// time since each was published (its stream ID's time), on the queue's
// clock.
func (q *Queue) age(ctx context.Context, msgs []JobMsg) []JobMsg {
	var now int64
	for i := range msgs {
		j := &msgs[i].Job
		ms, ok := idMillis(msgs[i].ID)
		if msgs[i].Err != nil || j.TTL <= 0 || !ok {
			continue
		}
		if now == 0 {
			now = q.clock.now(ctx, q.rdb)
		}
		j.TTL = ttlMillis(time.Duration(j.TTL-max(now-ms, 0)) * time.Millisecond)
	}
	return msgs
}

// idMillis is the time part of a stream entry ID ("1700000000000-0").
func idMillis(id string) (int64, bool) {
	ms, _, ok := strings.Cut(id, "-")
	n, err := strconv.ParseInt(ms, 10, 64)
	return n, ok && err == nil
}
