package checker

import (
	"testing"
	"time"

	"github.com/upwatch/upwatch/store"
)

func TestNextState(t *testing.T) {
	at := t0.Add(time.Minute)
	st := func(status string, streak int) store.MonitorState {
		return store.MonitorState{Status: status, Since: t0, FailStreak: streak}
	}
	const up, deg, down = verdictUp, verdictDegraded, verdictDown
	cases := []struct {
		name  string
		cur   store.MonitorState
		conf  int
		v     verdict
		degs  int // degraded streak including this result
		want  string
		since time.Time
		fails int
	}{
		{"pending ok goes up", st("pending", 0), 2, up, 0, "up", at, 0},
		{"pending first failure waits", st("pending", 0), 2, down, 0, "pending", t0, 1},
		{"pending confirmed failure goes down", st("pending", 1), 2, down, 0, "down", at, 2},
		{"up blip stays up", st("up", 0), 2, down, 0, "up", t0, 1},
		{"up confirmed goes down", st("up", 1), 2, down, 0, "down", at, 2},
		{"confirmations 1 is immediate", st("up", 0), 1, down, 0, "down", at, 1},
		{"up ok resets streak", st("up", 1), 2, up, 0, "up", t0, 0},
		{"down stays down, since kept", st("down", 5), 2, down, 0, "down", t0, 6},
		{"down recovers on success", st("down", 5), 2, up, 0, "up", at, 0},
		{"zero confirmations acts as 1", st("up", 0), 0, down, 0, "down", at, 1},

		{"pending degraded goes up first", st("pending", 0), 2, deg, 1, "up", at, 0},
		{"up degraded once stays up", st("up", 0), 2, deg, 1, "up", t0, 0},
		{"up degraded confirmed", st("up", 0), 2, deg, 2, "degraded", at, 0},
		{"degraded stays, since kept", st("degraded", 0), 2, deg, 3, "degraded", t0, 0},
		{"degraded recovers on success", st("degraded", 0), 2, up, 0, "up", at, 0},
		{"degraded confirmed failure goes down", st("degraded", 1), 2, down, 0, "down", at, 2},
		{"down comes back degraded at once", st("down", 4), 3, deg, 1, "degraded", at, 0},
		{"degraded failure blip stays", st("degraded", 0), 2, down, 0, "degraded", t0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := nextState(c.cur, c.conf, c.v, c.degs, at)
			if got.Status != c.want || !got.Since.Equal(c.since) || got.FailStreak != c.fails {
				t.Errorf("got %+v, want status=%s since=%v fails=%d", got, c.want, c.since, c.fails)
			}
		})
	}
}
