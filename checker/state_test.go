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
	cases := []struct {
		name  string
		cur   store.MonitorState
		conf  int
		ok    bool
		want  string
		since time.Time
		fails int
	}{
		{"pending ok goes up", st("pending", 0), 2, true, "up", at, 0},
		{"pending first failure waits", st("pending", 0), 2, false, "pending", t0, 1},
		{"pending confirmed failure goes down", st("pending", 1), 2, false, "down", at, 2},
		{"up blip stays up", st("up", 0), 2, false, "up", t0, 1},
		{"up confirmed goes down", st("up", 1), 2, false, "down", at, 2},
		{"confirmations 1 is immediate", st("up", 0), 1, false, "down", at, 1},
		{"up ok resets streak", st("up", 1), 2, true, "up", t0, 0},
		{"down stays down, since kept", st("down", 5), 2, false, "down", t0, 6},
		{"down recovers on success", st("down", 5), 2, true, "up", at, 0},
		{"zero confirmations acts as 1", st("up", 0), 0, false, "down", at, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := nextState(c.cur, c.conf, c.ok, at)
			if got.Status != c.want || !got.Since.Equal(c.since) || got.FailStreak != c.fails {
				t.Errorf("got %+v, want status=%s since=%v fails=%d", got, c.want, c.since, c.fails)
			}
		})
	}
}
