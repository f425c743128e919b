package views

import (
	"strconv"
	"time"

	"github.com/a-h/templ"
)

// WorkersPage is GET /workers: the processes that run checks, as their
// heartbeats describe them.
type WorkersPage struct {
	Page
	Workers []WorkerRow // alive first
	// ServerURL is this server's address, for the HTTPS worker command.
	ServerURL string

	// Worker tokens, for admins only.
	Admin  bool
	Tokens []WorkerTokenRow // live first
	// TokensPager pages the tokens (paging.go).
	TokensPager Pager
	// NewToken is a token just created: shown once, with its command line.
	NewToken, NewTokenName, NewTokenCommand string
	// TokenName and TokenRegions refill the create form after Errors.
	TokenName, TokenRegions string
	Errors                  map[string]string
}

// WorkerTokenRow is one worker token, without its secret.
type WorkerTokenRow struct {
	ID                               int64
	Name, Prefix                     string
	Regions                          []string
	CreatedAt, LastUsedAt, RevokedAt time.Time
}

func workerTokenRevokeURL(id int64) templ.SafeURL {
	return templ.SafeURL("/workers/tokens/" + strconv.FormatInt(id, 10) + "/revoke")
}

// httpsWorkerCommand is the command line of an HTTPS worker, the token
// left to fill in.
func httpsWorkerCommand(server string) string {
	return "upwatch worker --server " + orDefault(server, "https://upwatch.example") + " --token upww_…"
}

// WorkerRow is one worker. Name, Host, Region and Version come from the
// worker itself: they are shown as text, never trusted.
type WorkerRow struct {
	Name, Region, Version, Host string
	Alive                       bool // heard from within the last 30 s
	InFlight, Concurrency       int
	ChecksPerMinute             int
	LastSeen, StartedAt         time.Time
}

// workersSummary is the line above the table, e.g. "3 workers in 2
// regions · 1 offline".
func workersSummary(ws []WorkerRow) string {
	regions := map[string]bool{}
	offline := 0
	for _, w := range ws {
		regions[w.Region] = true
		if !w.Alive {
			offline++
		}
	}
	s := plural(len(ws), "worker", "workers") + " in " + plural(len(regions), "region", "regions")
	if offline > 0 {
		s += " · " + strconv.Itoa(offline) + " offline"
	}
	return s
}

// workerState is the word beside a worker's state dot.
func workerState(alive bool) string {
	if alive {
		return "Online"
	}
	return "Offline"
}
