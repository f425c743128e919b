package app

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/upwatch/upwatch/checker"
)

// Problem is one thing wrong with the instance, for /healthz and the
// dashboard's banner.
type Problem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// healthReader is what health needs of the checker; the app's Scheduler
// may be something else in tests.
type healthReader interface {
	Health() checker.Health
}

// liveRegioner is what health needs of the queue: live workers per region.
type liveRegioner interface {
	LiveRegions(ctx context.Context, now time.Time) (map[string]int, error)
}

// problemCache keeps the instance's problems for a moment: every page shows
// them, and working them out asks the queue.
type problemCache struct {
	mu   sync.Mutex
	at   time.Time
	list []Problem
}

const problemsFresh = 2 * time.Second

// How long a condition lasts before it is a problem, or stays one.
const (
	// writeStuckAfter: a write waiting this long means the writer is
	// stuck (a lock another process holds, a hung disk).
	writeStuckAfter = 10 * time.Second
	// clockStepShown: a step of the wall clock is reported this long.
	clockStepShown = 10 * time.Minute
)

// instanceProblems lists what is wrong with the instance: a database that
// does not take writes, results waiting for it, a checker that stores
// nothing although checks are due, a step of the wall clock, saturated or
// missing workers, monitors without data. Everything is read from memory
// (and one heartbeat read of the queue), so it never waits for the writer.
// The queue's own outage is /healthz's check.
func (a *App) instanceProblems(ctx context.Context) []Problem {
	now := a.now()
	a.problems.mu.Lock()
	defer a.problems.mu.Unlock()
	if !a.problems.at.IsZero() && now.Sub(a.problems.at) < problemsFresh && now.After(a.problems.at) {
		return a.problems.list
	}
	out := a.storeProblems(now)
	hr, ok := a.sched.(healthReader)
	if ok {
		h := hr.Health()
		out = append(out, checkerProblems(h, now)...)
		if lr, ok := a.queue.(liveRegioner); ok && len(h.Regions) > 0 {
			ctx, cancel := context.WithTimeout(ctx, time.Second)
			live, err := lr.LiveRegions(ctx, now)
			cancel()
			if err == nil {
				var missing []string
				for r := range h.Regions {
					if live[r] == 0 {
						missing = append(missing, r)
					}
				}
				slices.Sort(missing)
				for _, r := range missing {
					out = append(out, Problem{"no_workers", fmt.Sprintf("No worker is running for region %s (%s): start one with upwatch worker --region %s.", r, plural(h.Regions[r], "monitor"), r)})
				}
			}
		}
	}
	a.problems.at, a.problems.list = now, out
	return out
}

// storeProblems reports writes that fail or hang, from the store's record
// of its own writes.
func (a *App) storeProblems(now time.Time) []Problem {
	wh := a.st.WriteHealth()
	var out []Problem
	if !wh.FailingSince.IsZero() {
		cause := "unknown cause"
		if wh.Err != nil {
			cause = wh.Err.Error()
		}
		out = append(out, Problem{"store_write", fmt.Sprintf("The database has not taken writes for %s (%s): checks and alerts go on from memory, and results are stored once it works again.",
			fmtAgo(now.Sub(wh.FailingSince)), cause)})
	} else if !wh.BusySince.IsZero() && now.Sub(wh.BusySince) > writeStuckAfter {
		out = append(out, Problem{"store_write", fmt.Sprintf("A database write has been waiting for %s: is another process holding a lock on the file, or is the disk hanging?",
			fmtAgo(now.Sub(wh.BusySince)))})
	}
	return out
}

// checkerProblems are the checker's own: its backlog, a stall, a clock
// step, saturation, missed checks, monitors without data.
func checkerProblems(h checker.Health, now time.Time) []Problem {
	var out []Problem
	if b := h.Backlog; b.Checks+b.Updates > 0 {
		msg := fmt.Sprintf("%s and %s wait to be stored (since %s ago).", plural(b.Checks, "check result"), plural(b.Updates, "state change"), fmtAgo(now.Sub(b.Since)))
		if b.Unspooled {
			msg += " They cannot be written to the spool either (" + b.SpoolErr + "): they would be lost if upwatch stopped now."
		} else {
			msg += " They are kept in the spool beside the database and survive a restart."
		}
		if h.StoreErr != "" {
			msg += " The database said: " + h.StoreErr
		}
		out = append(out, Problem{"backlog", msg})
	}
	if b := h.Backlog; b.Dropped > 0 {
		out = append(out, Problem{"dropped", fmt.Sprintf("%s buffered during a long storage outage were dropped to stay within memory (their state changes were kept).", plural(int(b.Dropped), "check result"))})
	}
	if h.Stalled {
		out = append(out, Problem{"stalled", fmt.Sprintf("No check result has arrived for %s although checks are due: the queue or every worker is stuck.", fmtAgo(h.StalledFor))})
	}
	if h.ClockStep != 0 && now.Sub(h.ClockSteppedAt) < clockStepShown && now.Sub(h.ClockSteppedAt) > -clockStepShown {
		out = append(out, Problem{"clock_step", fmt.Sprintf("The system clock jumped by %s at %s: checks kept their schedule, but times around it may look odd. Is NTP running?",
			signedDur(h.ClockStep), h.ClockSteppedAt.UTC().Format("15:04:05 UTC"))})
	}
	if s := h.Saturation; s.Saturated {
		out = append(out, Problem{"saturated", fmt.Sprintf("The server's workers run %d checks at once, their most, and jobs still wait (since %s ago): checks run late or are missed. Raise WORKERS_MAX or WORKERS, or add workers.",
			s.Limit, fmtAgo(now.Sub(s.Since)))})
	}
	if h.MissedRecent > 0 {
		out = append(out, Problem{"missed", fmt.Sprintf("%s not run in time in the last 5 minutes: the workers cannot keep up (raise WORKERS, or add workers) or some are missing.", checksWere(h.MissedRecent))})
	}
	if h.NoData > 0 {
		out = append(out, Problem{"no_data", fmt.Sprintf("%d of %s had no check results lately.", h.NoData, plural(h.Monitors, "monitor"))})
	}
	return out
}

// fmtAgo is a duration for people: "45s", "3m10s", "2h5m".
func fmtAgo(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return strings.TrimSuffix(d.Round(time.Second).String(), "0s")
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}

// signedDur is "+1h0m0s" or "-5s".
func signedDur(d time.Duration) string {
	if d > 0 {
		return "+" + d.Round(time.Second).String()
	}
	return d.Round(time.Second).String()
}

// healthReadTimeout bounds /healthz's read of the database: a store that
// cannot answer a read that fast is reported unavailable rather than
// making the health check itself hang.
const healthReadTimeout = 500 * time.Millisecond

// healthz answers 200 when the store and the queue answer and checks are
// being run and stored, else 503; the body says what is wrong either way.
// It never waits for the database's writer (a lock or a full disk would
// hold it): writes are judged from the store's record of them.
func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	body := map[string]any{"store": "ok", "queue": "ok"}
	code := http.StatusOK
	rctx, rcancel := context.WithTimeout(ctx, healthReadTimeout)
	if err := a.st.PingRead(rctx); err != nil {
		body["store"], code = "unavailable", http.StatusServiceUnavailable
		a.log.Warn("health: store", "err", err)
	}
	rcancel()
	if wh := a.st.WriteHealth(); !wh.FailingSince.IsZero() {
		body["store"], code = "not_writable", http.StatusServiceUnavailable
	}
	qctx, qcancel := context.WithTimeout(ctx, time.Second)
	if err := a.queue.Ping(qctx); err != nil {
		body["queue"], code = "unavailable", http.StatusServiceUnavailable
		a.log.Warn("health: queue", "err", err)
	}
	qcancel()
	problems := a.instanceProblems(ctx)
	if len(problems) > 0 {
		code = http.StatusServiceUnavailable
	}
	body["problems"] = append([]Problem{}, problems...)
	if hr, ok := a.sched.(healthReader); ok {
		h := hr.Health()
		body["monitors"], body["no_data"] = h.Monitors, h.NoData
		body["refused_results"] = h.Refused.NotIssued + h.Refused.Future
		body["backlog"] = h.Backlog.Checks + h.Backlog.Updates
		body["workers"] = map[string]any{"at_once": h.Saturation.Limit, "max": h.Saturation.Max, "saturated": h.Saturation.Saturated}
		if !h.LastStored.IsZero() {
			body["last_stored_at"] = h.LastStored.UTC()
		}
	}
	body["status"] = "ok"
	if code != http.StatusOK {
		body["status"] = "unhealthy"
	}
	writeJSON(w, code, body)
}

// plural is "1 monitor" or "3 monitors".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// checksWere is "1 check was" or "3 checks were".
func checksWere(n int64) string {
	if n == 1 {
		return "1 check was"
	}
	return fmt.Sprintf("%d checks were", n)
}
