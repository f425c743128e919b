package app

import (
	"context"
	"net/http"
	"time"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/store"
	"github.com/upwatch/upwatch/views"
)

// workerLister is what the workers page and API need of the queue. The
// checker's queue (Deps.Queue) is one; a queue that is not lists none.
type workerLister interface {
	Workers(ctx context.Context, now time.Time) ([]checker.WorkerInfo, error)
}

// workers lists the check workers by their heartbeats, alive first.
func (a *App) workers(ctx context.Context) ([]checker.WorkerInfo, error) {
	wl, ok := a.queue.(workerLister)
	if !ok {
		return nil, nil
	}
	return wl.Workers(ctx, a.now())
}

type workerJSON struct {
	Name            string    `json:"name"`
	Region          string    `json:"region"`
	Version         string    `json:"version"`
	Host            string    `json:"host"`
	StartedAt       time.Time `json:"started_at"`
	LastSeen        time.Time `json:"last_seen"` // by the worker's clock
	Alive           bool      `json:"alive"`     // heard from within the last 30 s
	InFlight        int       `json:"in_flight"`
	ChecksPerMinute int       `json:"checks_per_minute"`
	Concurrency     int       `json:"concurrency"`
}

func (a *App) workersPage(w http.ResponseWriter, r *http.Request) {
	a.renderWorkers(w, r, http.StatusOK, views.WorkersPage{})
}

// renderWorkers renders the workers page; p carries form state to show.
// Admins also see the worker tokens.
func (a *App) renderWorkers(w http.ResponseWriter, r *http.Request, status int, p views.WorkersPage) {
	ws, err := a.workers(r.Context())
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	p.Page = a.page(r, "Workers")
	p.ServerURL = a.serverURL(r)
	for _, x := range ws {
		p.Workers = append(p.Workers, views.WorkerRow{Name: x.Name, Region: x.Region, Version: x.Version, Host: x.Host,
			Alive: x.Alive, InFlight: x.InFlight, Concurrency: x.Concurrency, ChecksPerMinute: x.ChecksPerMinute,
			LastSeen: x.LastSeen, StartedAt: x.StartedAt})
	}
	if p.Admin = userFrom(r.Context()).Admin; p.Admin {
		tokens, next, err := a.st.WorkerTokensPage(r.Context(), store.Page{Limit: 100, After: a.pageCursor(r, "tokens", "page-worker-tokens")})
		if err != nil {
			a.pageError(w, r, err)
			return
		}
		p.TokensPager = a.pager(r, "/workers", "", "tokens", "page-worker-tokens", next)
		for _, t := range tokens {
			p.Tokens = append(p.Tokens, views.WorkerTokenRow{ID: t.ID, Name: t.Name, Regions: t.Regions, Prefix: t.Prefix,
				CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt})
		}
	}
	a.render(w, r, status, views.Workers(p))
}
