package checker

import (
	"time"

	"github.com/upwatch/upwatch/store"
)

// verdict is what one result says of a monitor's health.
type verdict int

const (
	verdictUp       verdict = iota
	verdictDegraded         // passed, but slow or with a warning
	verdictDown
)

// nextState applies one check result to a monitor's state. A monitor goes
// DOWN only after `confirmations` consecutive failures, so a single blip
// never flips it, and likewise becomes DEGRADED from up only after
// `confirmations` consecutive degraded results (degStreak counts them,
// this one included). Recovery is at once: one healthy result brings it UP,
// one degraded result brings a DOWN monitor back to DEGRADED.
func nextState(cur store.MonitorState, confirmations int, v verdict, degStreak int, at time.Time) store.MonitorState {
	if confirmations < 1 {
		confirmations = 1
	}
	next := cur
	set := func(status string) {
		if cur.Status != status {
			next.Status, next.Since = status, at
		}
	}
	switch v {
	case verdictUp:
		next.FailStreak = 0
		set(store.StatusUp)
	case verdictDegraded:
		next.FailStreak = 0
		switch {
		case cur.Status == store.StatusDown, cur.Status == store.StatusDegraded, degStreak >= confirmations:
			set(store.StatusDegraded)
		default:
			set(store.StatusUp) // healthy enough until the degradation is confirmed
		}
	default:
		next.FailStreak++
		if cur.Status != store.StatusDown && next.FailStreak >= confirmations {
			set(store.StatusDown)
		}
	}
	return next
}
