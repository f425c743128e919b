package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"
)

// WriteHealth is what the store knows of its own writes, for /healthz: it
// is kept in memory as writes happen, so reading it never waits for the
// writer (which a lock or a slow disk may hold for seconds).
type WriteHealth struct {
	LastOK time.Time // the newest write that committed; zero before the first
	// FailingSince is when the current run of failed writes began; zero
	// when the newest write worked. Err is the newest failure: one of the
	// Fault errors (ErrLocked, ErrDiskFull, …) where it is one of them.
	FailingSince time.Time
	Err          error
	// BusySince is when writes began waiting or working without one
	// ending since; zero when none is in progress. Long ago means the
	// writer is stuck (a lock held elsewhere, a hung disk).
	BusySince time.Time
}

// writeWatch records the outcome of every write transaction.
type writeWatch struct {
	mu       sync.Mutex
	h        WriteHealth
	inflight int
}

// WriteHealth reports the store's writes; see WriteHealth.
func (s *Store) WriteHealth() WriteHealth {
	s.ww.mu.Lock()
	defer s.ww.mu.Unlock()
	return s.ww.h
}

func (w *writeWatch) begin(now time.Time) {
	w.mu.Lock()
	if w.inflight == 0 {
		w.h.BusySince = now
	}
	w.inflight++
	w.mu.Unlock()
}

// end records a write's outcome. Only a failure of the database itself
// (a lock, the disk, the file) marks writes failing: a constraint a
// request broke, or a request that went away, says nothing of the store.
func (w *writeWatch) end(now time.Time, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.inflight--
	if w.inflight == 0 {
		w.h.BusySince = time.Time{}
	} else {
		w.h.BusySince = now // one ended: the writer moves; the next waits from now
	}
	switch {
	case err == nil:
		w.h.LastOK, w.h.FailingSince, w.h.Err = now, time.Time{}, nil
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
	default:
		f := Fault(err)
		if f == nil {
			return
		}
		if w.h.FailingSince.IsZero() {
			w.h.FailingSince = now
		}
		w.h.Err = f
	}
}

// exec runs one write statement on the writer, outside a transaction of
// ours, and records its outcome like inTx does.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s.ww.begin(time.Now())
	res, err := s.w.ExecContext(ctx, query, args...)
	s.ww.end(time.Now(), err)
	return res, err
}
