package checker

import (
	"container/heap"
	"hash/fnv"
	"strconv"
	"time"
)

// schedule is the in-memory fixed-rate timetable: one entry per active
// monitor, ordered by when it is next due. Its times are ticks (clock.go):
// monotonic, so a step of the wall clock neither skips nor repeats runs.
// It is not safe for concurrent use; the Checker guards it.
type schedule struct {
	byID map[int64]*slot
	h    slotHeap
	rate *hostRate // the per-host cap (hostrate.go); nil: none
}

type slot struct {
	spec     Spec
	regions  []string // one job per region per slot
	interval time.Duration
	// anchor is the origin of the monitor's fixed-rate grid: regular runs
	// are due at anchor + k*interval whatever happens to earlier checks.
	anchor time.Time
	next   time.Time
	index  int
	// The host rate cap (hostrate.go): the destination's bucket (nil: not
	// capped); reserved when next is a place the bucket set aside; limited
	// counts the runs skipped.
	host     *hostBucket
	reserved bool
	limited  int64
}

func newSchedule() *schedule { return &schedule{byID: map[int64]*slot{}} }

// put adds or replaces a monitor. first is its first run: now for a monitor
// just created or edited, a spread offset at start-up.
func (s *schedule) put(spec Spec, regions []string, interval time.Duration, first time.Time) {
	host := s.rate.bucket(hostKey(spec))
	if sl, ok := s.byID[spec.MonitorID]; ok {
		s.rate.release(sl.host)
		sl.spec, sl.regions, sl.interval = spec, regions, interval
		sl.anchor, sl.next = first, first
		sl.host, sl.reserved = host, false
		heap.Fix(&s.h, sl.index)
		return
	}
	sl := &slot{spec: spec, regions: regions, interval: interval, anchor: first, next: first, host: host}
	s.byID[spec.MonitorID] = sl
	heap.Push(&s.h, sl)
}

func (s *schedule) remove(id int64) {
	sl, ok := s.byID[id]
	if !ok {
		return
	}
	heap.Remove(&s.h, sl.index)
	delete(s.byID, id)
	s.rate.release(sl.host)
}

// recheck pulls a monitor's next run forward to at (never later than its
// regular slot), used to confirm a failure early.
func (s *schedule) recheck(id int64, at time.Time) {
	sl, ok := s.byID[id]
	if !ok || !at.Before(sl.next) {
		return
	}
	sl.next, sl.reserved = at, false
	heap.Fix(&s.h, sl.index)
}

// nextDue is the earliest due time, and false when nothing is scheduled.
func (s *schedule) nextDue() (time.Time, bool) {
	if len(s.h) == 0 {
		return time.Time{}, false
	}
	return s.h[0].next, true
}

// due pops every run due at now into jobs and moves each monitor to its next
// grid slot after now. Slots missed while the process stalled are skipped,
// not run in a burst. A job's label is its slot plus offset (the wall
// clock's, clock.go); its TTL is what is left of its slot's interval.
func (s *schedule) due(now time.Time, offset time.Duration, jobs []Job) []Job {
	for len(s.h) > 0 && !s.h[0].next.After(now) {
		sl := s.h[0]
		if sl.host != nil && !s.admit(sl, now) {
			continue // deferred or skipped by the host rate cap
		}
		label := sl.next.Add(offset)
		for _, r := range sl.regions {
			jobs = append(jobs, Job{
				Spec:    sl.spec,
				Region:  r,
				Due:     label.UnixMilli(),
				Expires: label.Add(sl.interval).UnixMilli(),
				TTL:     ttlMillis(sl.next.Add(sl.interval).Sub(now)),
			})
		}
		sl.next = slotAfter(sl.anchor, sl.interval, now)
		heap.Fix(&s.h, 0)
	}
	return jobs
}

// ttlMillis is a job's time to live in ms: never 0, which means a job
// without one; negative when it is stale.
func ttlMillis(d time.Duration) int64 {
	if ms := d.Milliseconds(); ms > 0 {
		return ms
	}
	return -1
}

// slotAfter is the first anchor + k*interval strictly after now.
func slotAfter(anchor time.Time, interval time.Duration, now time.Time) time.Time {
	if now.Before(anchor) {
		return anchor
	}
	k := now.Sub(anchor)/interval + 1
	return anchor.Add(k * interval)
}

// spread is a monitor's stable start-up offset within one interval, so a
// restart does not check every monitor at the same instant.
func spread(id int64, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(strconv.FormatInt(id, 10)))
	return time.Duration(h.Sum64() % uint64(interval))
}

type slotHeap []*slot

func (h slotHeap) Len() int           { return len(h) }
func (h slotHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h slotHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *slotHeap) Push(x any) {
	sl := x.(*slot)
	sl.index = len(*h)
	*h = append(*h, sl)
}
func (h *slotHeap) Pop() any {
	old := *h
	sl := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return sl
}
