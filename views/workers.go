package views

import (
	"strconv"
	"time"
)

// WorkersPage is GET /workers: the processes that run checks, as their
// heartbeats describe them.
type WorkersPage struct {
	Page
	Workers []WorkerRow // alive first
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
