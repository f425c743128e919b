package checker

import (
	"testing"
	"time"
)

// FuzzParseCron: any expression gives a schedule or a message, never a
// panic; an accepted one fires at most once a minute, always ahead.
func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"0 3 * * *", "*/5 * * * *", "@daily", "@every 1s", "TZ=UTC 0 * * * *", "* * * * * *",
		"61 * * * *", "0 0 31 2 *", "0 0 * * 7", "mon-fri", "0 9-17/2 * jan,dec sun", "@annually", ""} {
		f.Add(s)
	}
	start := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, expr string) {
		sched, norm, msg := parseCron(expr)
		if (sched == nil) == (msg == "") {
			t.Fatalf("%q: schedule %v with message %q", expr, sched != nil, msg)
		}
		if sched == nil {
			return
		}
		if _, again, msg := parseCron(norm); msg != "" || again != norm {
			t.Fatalf("%q normalised to %q, which parses to %q / %q", expr, norm, again, msg)
		}
		prev := start
		for range 3 {
			next := sched.Next(prev)
			if next.IsZero() {
				return // never fires (e.g. 31 February): allowed, the form says so elsewhere
			}
			if next.Sub(prev) < time.Minute && !prev.Equal(start) {
				t.Fatalf("%q fires %v after %v", expr, next.Sub(prev), prev)
			}
			if !next.After(prev) {
				t.Fatalf("%q: next %v not after %v", expr, next, prev)
			}
			prev = next
		}
	})
}
