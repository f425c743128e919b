package checker

import (
	"time"

	"github.com/upwatch/upwatch/store"
)

// nextState applies one check result to a monitor's state. A monitor goes
// DOWN only after `confirmations` consecutive failures, so a single blip
// never flips it; one success brings it back UP.
func nextState(cur store.MonitorState, confirmations int, ok bool, at time.Time) store.MonitorState {
	if confirmations < 1 {
		confirmations = 1
	}
	next := cur
	if ok {
		next.FailStreak = 0
		if cur.Status != store.StatusUp {
			next.Status, next.Since = store.StatusUp, at
		}
		return next
	}
	next.FailStreak++
	if cur.Status != store.StatusDown && next.FailStreak >= confirmations {
		next.Status, next.Since = store.StatusDown, at
	}
	return next
}
