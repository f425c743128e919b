package app

import (
	"context"
	"fmt"
	"net/http"
	"slices"
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

// instanceProblems lists what is wrong with the instance: monitors without
// data, regions with monitors but no live worker. Storage and queue
// outages are /healthz's own checks.
func (a *App) instanceProblems(ctx context.Context) []Problem {
	now := a.now()
	a.problems.mu.Lock()
	defer a.problems.mu.Unlock()
	if !a.problems.at.IsZero() && now.Sub(a.problems.at) < problemsFresh && now.After(a.problems.at) {
		return a.problems.list
	}
	var out []Problem
	hr, ok := a.sched.(healthReader)
	if ok {
		h := hr.Health()
		if h.MissedRecent > 0 {
			out = append(out, Problem{"missed", fmt.Sprintf("%s not run in time in the last 5 minutes: the workers cannot keep up (raise WORKERS, or add workers) or some are missing.", checksWere(h.MissedRecent))})
		}
		if h.NoData > 0 {
			out = append(out, Problem{"no_data", fmt.Sprintf("%d of %s had no check results lately.", h.NoData, plural(h.Monitors, "monitor"))})
		}
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

// healthz answers 200 when the store and the queue answer and checks are
// being run and stored, else 503; the body says what is wrong either way.
func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	body := map[string]any{"store": "ok", "queue": "ok"}
	code := http.StatusOK
	if err := a.st.Ping(ctx); err != nil {
		body["store"], code = "unavailable", http.StatusServiceUnavailable
		a.log.Warn("health: store", "err", err)
	}
	if err := a.queue.Ping(ctx); err != nil {
		body["queue"], code = "unavailable", http.StatusServiceUnavailable
		a.log.Warn("health: queue", "err", err)
	}
	problems := a.instanceProblems(ctx)
	if len(problems) > 0 {
		code = http.StatusServiceUnavailable
	}
	body["problems"] = append([]Problem{}, problems...)
	if hr, ok := a.sched.(healthReader); ok {
		h := hr.Health()
		body["monitors"], body["no_data"] = h.Monitors, h.NoData
		body["refused_results"] = h.Refused.NotIssued + h.Refused.Future
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
