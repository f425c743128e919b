package checker

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/upwatch/upwatch/reason"
)

func TestPushTypeInfo(t *testing.T) {
	typ, ok := LookupType(TypePush)
	if !ok {
		t.Fatal("push type not registered")
	}
	if typ.Remote || typ.newProber != nil || typ.validate == nil {
		t.Errorf("push must be evaluated by the server with its own validation: remote=%v prober=%v validate=%v",
			typ.Remote, typ.newProber != nil, typ.validate != nil)
	}
	if typ.Label != "Push (heartbeat)" || typ.Help == "" {
		t.Errorf("label %q, help %q", typ.Label, typ.Help)
	}
	if want := []string{reason.Late, reason.Fail, reason.Timeout}; !slices.Equal(typ.Reasons, want) {
		t.Errorf("reasons %v, want %v", typ.Reasons, want)
	}
	var names []string
	for _, f := range typ.Fields {
		names = append(names, f.Name+"="+f.Kind+":"+f.Default)
	}
	if want := []string{"period_seconds=number:", "cron=text:", "timezone=text:UTC", "grace_seconds=number:3600"}; !slices.Equal(names, want) {
		t.Errorf("fields %v, want %v", names, want)
	}
}

func TestPushValidate(t *testing.T) {
	cases := []struct {
		name, raw string
		want      string // normalised settings when valid
		errs      []string
	}{
		{name: "period", raw: `{"period_seconds":86400}`, want: `{"period_seconds":86400,"grace_seconds":3600}`},
		{name: "period min, no grace", raw: `{"period_seconds":60,"grace_seconds":0}`, want: `{"period_seconds":60,"grace_seconds":0}`},
		{name: "period max, grace max", raw: `{"period_seconds":31536000,"grace_seconds":2592000}`, want: `{"period_seconds":31536000,"grace_seconds":2592000}`},
		{name: "cron normalised", raw: `{"cron":"  0  3 * *  * ","timezone":" Europe/Berlin ","grace_seconds":1800}`,
			want: `{"cron":"0 3 * * *","timezone":"Europe/Berlin","grace_seconds":1800}`},
		{name: "daily", raw: `{"cron":"@daily"}`, want: `{"cron":"@daily","timezone":"UTC","grace_seconds":3600}`},
		{name: "descriptor case", raw: `{"cron":"@Weekly","timezone":"America/New_York"}`, want: `{"cron":"@weekly","timezone":"America/New_York","grace_seconds":3600}`},
		{name: "names and ranges", raw: `{"cron":"*/10 9-17 * jan-jun mon-fri"}`, want: `{"cron":"*/10 9-17 * jan-jun mon-fri","timezone":"UTC","grace_seconds":3600}`},
		{name: "nulls are absent", raw: `{"period_seconds":120,"cron":null,"timezone":null}`, want: `{"period_seconds":120,"grace_seconds":3600}`},
		{name: "empty cron is absent", raw: `{"period_seconds":120,"cron":"  "}`, want: `{"period_seconds":120,"grace_seconds":3600}`},

		{name: "both", raw: `{"period_seconds":3600,"cron":"0 3 * * *"}`, errs: []string{"cron: set either a period or a cron expression, not both"}},
		{name: "neither", raw: `{}`, errs: []string{"period_seconds: set a period, or a cron expression instead"}},
		{name: "neither, grace only", raw: `{"grace_seconds":60}`, errs: []string{"period_seconds: set a period"}},
		{name: "period 59", raw: `{"period_seconds":59}`, errs: []string{"period_seconds: must be between 60 and 31536000 seconds (1 minute to 365 days)"}},
		{name: "period 0", raw: `{"period_seconds":0}`, errs: []string{"period_seconds: must be between 60"}},
		{name: "period over a year", raw: `{"period_seconds":31536001}`, errs: []string{"period_seconds: must be between 60"}},
		{name: "huge period", raw: `{"period_seconds":99999999999}`, errs: []string{"period_seconds: must be a whole number"}},
		{name: "period as string", raw: `{"period_seconds":"3600"}`, errs: []string{"period_seconds: must be a number"}},
		{name: "fractional period", raw: `{"period_seconds":60.5}`, errs: []string{"period_seconds: must be a whole number"}},
		{name: "cron as number", raw: `{"cron":5}`, errs: []string{"cron: must be a string"}},
		{name: "hour out of range", raw: `{"cron":"0 25 * * *"}`, errs: []string{`cron: hour "25" is out of range: use 0-23`}},
		{name: "day 0", raw: `{"cron":"0 0 0 * *"}`, errs: []string{`cron: day of month "0" is out of range: use 1-31`}},
		{name: "weekday 7", raw: `{"cron":"0 0 * * 7"}`, errs: []string{`cron: weekday "7" is out of range: use 0-6 (Sunday is 0)`}},
		{name: "not a number", raw: `{"cron":"x * * * *"}`, errs: []string{`cron: minute "x" is not a number`}},
		{name: "bad month name", raw: `{"cron":"0 0 1 foo *"}`, errs: []string{`cron: month "foo" is not a number or a name like jan`}},
		{name: "backwards range", raw: `{"cron":"0 5-3 * * *"}`, errs: []string{`cron: hour "5-3": a range must go from low to high`}},
		{name: "zero step", raw: `{"cron":"*/0 * * * *"}`, errs: []string{`cron: minute "*/0": the step must be at least 1`}},
		{name: "seconds field", raw: `{"cron":"0 0 3 * * *"}`, errs: []string{"cron: must have 5 fields: minute hour day month weekday (found 6)"}},
		{name: "four fields", raw: `{"cron":"0 3 * *"}`, errs: []string{"cron: must have 5 fields: minute hour day month weekday (found 4)"}},
		{name: "every", raw: `{"cron":"@every 1s"}`, errs: []string{"cron: for a fixed interval, set the period instead"}},
		{name: "reboot", raw: `{"cron":"@reboot"}`, errs: []string{`cron: unknown shortcut "@reboot"`}},
		{name: "zone prefix", raw: `{"cron":"CRON_TZ=Europe/Berlin 0 3 * * *"}`, errs: []string{"cron: must not name a time zone; use the time zone field"}},
		{name: "never fires", raw: `{"cron":"0 0 30 2 *"}`, errs: []string{"cron: never matches a date"}},
		{name: "line break", raw: `{"cron":"0 3 * * *\n0 4 * * *"}`, errs: []string{"cron: must not contain control characters"}},
		{name: "bad timezone", raw: `{"cron":"0 3 * * *","timezone":"Mars/Olympus"}`, errs: []string{`timezone: unknown time zone "Mars/Olympus"`}},
		{name: "path as timezone", raw: `{"cron":"0 3 * * *","timezone":"../../etc/passwd"}`, errs: []string{"timezone: unknown time zone"}},
		{name: "server zone", raw: `{"cron":"0 3 * * *","timezone":"Local"}`, errs: []string{"timezone: must be an IANA time zone"}},
		{name: "timezone without cron", raw: `{"period_seconds":3600,"timezone":"UTC"}`, errs: []string{"timezone: is only used with a cron expression"}},
		{name: "bad cron, good zone", raw: `{"cron":"0 3 * *","timezone":"Europe/Berlin"}`, errs: []string{"cron: must have 5 fields"}},
		{name: "bad cron, bad zone", raw: `{"cron":"61 * * * *","timezone":"Nowhere"}`, errs: []string{`cron: minute "61" is out of range`, "timezone: unknown time zone"}},
		{name: "negative grace", raw: `{"period_seconds":3600,"grace_seconds":-1}`, errs: []string{"grace_seconds: must be between 0 and 2592000 seconds (30 days)"}},
		{name: "grace over 30 days", raw: `{"period_seconds":3600,"grace_seconds":2592001}`, errs: []string{"grace_seconds: must be between 0 and 2592000"}},
		{name: "grace as string", raw: `{"period_seconds":3600,"grace_seconds":"60"}`, errs: []string{"grace_seconds: must be a number"}},
		{name: "unknown field", raw: `{"period_seconds":3600,"interval":60}`, errs: []string{"interval: unknown field"}},
		{name: "not an object", raw: `[1]`, errs: []string{"settings: must be a JSON object"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, errs := ValidateSettings(TypePush, json.RawMessage(c.raw))
			var msgs []string
			for _, e := range errs {
				msgs = append(msgs, e.Error())
			}
			if len(msgs) != len(c.errs) {
				t.Fatalf("errors %q, want %q", msgs, c.errs)
			}
			for i, want := range c.errs {
				if !strings.HasPrefix(msgs[i], want) {
					t.Errorf("error %d: %q, want it to start with %q", i, msgs[i], want)
				}
			}
			if len(c.errs) > 0 {
				return
			}
			if string(got) != c.want {
				t.Errorf("normalised %s, want %s", got, c.want)
			}
			// Normalised settings are stable and build a schedule.
			again, errs := ValidateSettings(TypePush, got)
			if len(errs) > 0 || string(again) != string(got) {
				t.Errorf("validating the normalised settings: %s, %v", again, errs)
			}
			if _, err := parsePushSchedule(got); err != nil {
				t.Errorf("parsePushSchedule: %v", err)
			}
		})
	}
}

func TestParsePushScheduleRefusesBadSettings(t *testing.T) {
	for _, raw := range []string{`not json`, `{"period_seconds":"x"}`, `{}`, `{"period_seconds":60,"cron":"@daily"}`, `{"cron":"0 0 * * * *"}`} {
		if _, err := parsePushSchedule(json.RawMessage(raw)); err == nil || !strings.HasPrefix(err.Error(), "push settings: ") {
			t.Errorf("%s: error %v, want a push settings error", raw, err)
		}
	}
}

func mustPushSchedule(t *testing.T, raw string) pushSchedule {
	t.Helper()
	p, err := parsePushSchedule(json.RawMessage(raw))
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return p
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestPushDeadline(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	newYork := mustZone(t, "America/New_York")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name, settings string
		last           time.Time
		deadline       time.Time
		lateAt         time.Time // a late verdict...
		nextLate       time.Time // ...and the next one
	}{
		{"period", `{"period_seconds":3600,"grace_seconds":300}`,
			utc("2026-05-10T10:00:00Z"), utc("2026-05-10T11:05:00Z"), utc("2026-05-10T11:05:00Z"), utc("2026-05-10T12:05:00Z")},
		{"period, verdict delayed", `{"period_seconds":86400,"grace_seconds":0}`,
			utc("2026-05-10T10:00:00.25Z"), utc("2026-05-11T10:00:00.25Z"), utc("2026-05-11T10:00:07Z"), utc("2026-05-12T10:00:07Z")},
		{"cron, before the run", `{"cron":"0 3 * * *","grace_seconds":1800}`,
			utc("2026-05-10T02:59:59Z"), utc("2026-05-10T03:30:00Z"), utc("2026-05-10T03:30:00Z"), utc("2026-05-11T03:30:00Z")},
		{"cron, ping at the run is strictly before the next", `{"cron":"0 3 * * *","grace_seconds":1800}`,
			utc("2026-05-10T03:00:00Z"), utc("2026-05-11T03:30:00Z"), utc("2026-05-11T03:30:00.5Z"), utc("2026-05-12T03:30:00Z")},
		{"cron, ping after a long run", `{"cron":"0 3 * * *","grace_seconds":3600}`,
			utc("2026-05-10T03:42:10.5Z"), utc("2026-05-11T04:00:00Z"), utc("2026-05-11T04:00:00Z"), utc("2026-05-12T04:00:00Z")},
		{"cron, grace longer than the gap: one late per missed run", `{"cron":"*/5 * * * *","grace_seconds":3600}`,
			utc("2026-05-10T10:00:00Z"), utc("2026-05-10T11:05:00Z"), utc("2026-05-10T11:05:00Z"), utc("2026-05-10T11:10:00Z")},
		{"cron, late verdict between runs", `{"cron":"*/5 * * * *","grace_seconds":3600}`,
			utc("2026-05-10T10:01:00Z"), utc("2026-05-10T11:05:00Z"), utc("2026-05-10T11:07:30Z"), utc("2026-05-10T11:10:00Z")},
		{"hourly, no grace", `{"cron":"@hourly","grace_seconds":0}`,
			utc("2026-05-10T10:20:00Z"), utc("2026-05-10T11:00:00Z"), utc("2026-05-10T11:00:00Z"), utc("2026-05-10T12:00:00Z")},
		{"weekly in Berlin", `{"cron":"0 9 * * mon","timezone":"Europe/Berlin","grace_seconds":600}`,
			time.Date(2026, 5, 12, 9, 0, 0, 0, berlin), utc("2026-05-18T07:10:00Z"), utc("2026-05-18T07:10:00Z"), utc("2026-05-25T07:10:00Z")},
		{"monthly in New York", `{"cron":"@monthly","timezone":"America/New_York","grace_seconds":3600}`,
			time.Date(2026, 1, 15, 12, 0, 0, 0, newYork), utc("2026-02-01T06:00:00Z"), utc("2026-02-01T06:00:00Z"), utc("2026-03-01T06:00:00Z")},
		{"last day of February only in leap years", `{"cron":"0 12 29 2 *","grace_seconds":0}`,
			utc("2026-03-01T00:00:00Z"), utc("2028-02-29T12:00:00Z"), utc("2028-02-29T12:00:00Z"), utc("2032-02-29T12:00:00Z")},
		{"day of month or weekday", `{"cron":"0 0 13 * fri","grace_seconds":0}`,
			utc("2026-05-09T00:00:00Z"), utc("2026-05-13T00:00:00Z"), utc("2026-05-13T00:00:00Z"), utc("2026-05-15T00:00:00Z")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mustPushSchedule(t, c.settings)
			if got := p.deadline(c.last); !got.Equal(c.deadline) {
				t.Errorf("deadline(%v) = %v, want %v", c.last, got.UTC(), c.deadline)
			}
			if got := p.nextLate(c.lateAt); !got.Equal(c.nextLate) {
				t.Errorf("nextLate(%v) = %v, want %v", c.lateAt, got.UTC(), c.nextLate)
			}
		})
	}
}

// TestPushDST pins the rule for cron schedules around daylight saving
// changes (see pushSchedule).
func TestPushDST(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, berlin) }
	utc := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, time.UTC) }
	p := mustPushSchedule(t, `{"cron":"30 2 * * *","timezone":"Europe/Berlin","grace_seconds":0}`)

	cases := []struct {
		name       string
		last, want time.Time
	}{
		{"spring forward: no run on the day without 02:30", at(2026, 3, 28, 2, 30), utc(2026, 3, 30, 0, 30)},
		{"spring forward: a daemon that runs it at 03:00 is on time", time.Date(2026, 3, 29, 3, 0, 5, 0, berlin), utc(2026, 3, 30, 0, 30)},
		{"fall back: first 02:30 (CEST)", at(2026, 10, 24, 2, 30), utc(2026, 10, 25, 0, 30)},
		{"fall back: run once, next is the next day", utc(2026, 10, 25, 0, 30).Add(5 * time.Second), utc(2026, 10, 26, 1, 30)},
		{"fall back: a ping in the repeated hour", utc(2026, 10, 25, 1, 10), utc(2026, 10, 26, 1, 30)},
	}
	for _, c := range cases {
		if got := p.deadline(c.last); !got.Equal(c.want) {
			t.Errorf("%s: deadline(%v) = %v, want %v", c.name, c.last, got.UTC(), c.want)
		}
	}

	// A quarter-hourly job: the repeated hour's second pass has no runs.
	q := mustPushSchedule(t, `{"cron":"*/15 * * * *","timezone":"Europe/Berlin","grace_seconds":0}`)
	if got, want := q.deadline(utc(2026, 10, 25, 0, 45)), utc(2026, 10, 25, 2, 0); !got.Equal(want) {
		t.Errorf("*/15 after 02:45 CEST: %v, want %v (03:00 CET)", got.UTC(), want)
	}
	if got, want := q.deadline(utc(2026, 3, 29, 0, 45)), utc(2026, 3, 29, 1, 0); !got.Equal(want) {
		t.Errorf("*/15 after 01:45 CET: %v, want %v (03:00 CEST)", got.UTC(), want)
	}

	// "0 3 * * *": successive deadlines are 24 h apart in UTC except across
	// the changes: 23 h into 29 March, 25 h into 25 October.
	for _, grace := range []int{0, 5400} {
		d := mustPushSchedule(t, fmt.Sprintf(`{"cron":"0 3 * * *","timezone":"Europe/Berlin","grace_seconds":%d}`, grace))
		for _, w := range []struct {
			from  time.Time
			short time.Time // the day whose run comes 23 or 25 h after the previous
			gap   time.Duration
		}{
			{at(2026, 3, 25, 12, 0), at(2026, 3, 29, 3, 0), 23 * time.Hour},
			{at(2026, 10, 21, 12, 0), at(2026, 10, 25, 3, 0), 25 * time.Hour},
		} {
			last := w.from
			prev := d.deadline(last)
			last = prev.Add(-d.grace())
			for range 6 {
				next := d.deadline(last)
				want := 24 * time.Hour
				if next.Add(-d.grace()).Equal(w.short) {
					want = w.gap
				}
				if gap := next.Sub(prev); gap != want {
					t.Errorf("grace %d: deadline %v is %v after %v, want %v", grace, next.UTC(), gap, prev.UTC(), want)
				}
				if got := next.Add(-d.grace()).In(berlin); got.Hour() != 3 || got.Minute() != 0 {
					t.Errorf("run at %v, want 03:00", got)
				}
				// Missed runs are counted on the same grid.
				if late := d.nextLate(prev); !late.Equal(next) {
					t.Errorf("grace %d: nextLate(%v) = %v, want %v", grace, prev.UTC(), late.UTC(), next.UTC())
				}
				prev, last = next, next.Add(-d.grace())
			}
		}
	}
}

// cronMatches is robfig/cron's rule for whether a local time is a fire
// time of the schedule, minute resolution.
func cronMatches(s *cron.SpecSchedule, l time.Time) bool {
	bit := func(set uint64, v int) bool { return set&(1<<uint(v)) != 0 }
	if !bit(s.Minute, l.Minute()) || !bit(s.Hour, l.Hour()) || !bit(s.Month, int(l.Month())) {
		return false
	}
	dom, dow := bit(s.Dom, l.Day()), bit(s.Dow, int(l.Weekday()))
	const star = 1 << 63
	if s.Dom&star != 0 || s.Dow&star != 0 {
		return dom && dow
	}
	return dom || dow
}

// firesByScan lists the fire times in [from, to) the slow way: every
// minute whose wall clock matches and was not already seen (a wall clock
// repeated when clocks go back fires once).
func firesByScan(s *cron.SpecSchedule, loc *time.Location, from, to time.Time) []time.Time {
	var out []time.Time
	for m := from.Truncate(time.Minute); m.Before(to); m = m.Add(time.Minute) {
		l := m.In(loc)
		if !cronMatches(s, l) {
			continue
		}
		seen := false
		for k := 1; k <= 12 && !seen; k++ {
			e := m.Add(-time.Duration(k) * 15 * time.Minute).In(loc)
			seen = e.Year() == l.Year() && e.YearDay() == l.YearDay() && e.Hour() == l.Hour() && e.Minute() == l.Minute()
		}
		if !seen {
			out = append(out, m)
		}
	}
	return out
}

// TestPushCronMatchesMinuteScan compares the schedule with a minute-by-
// minute scan around every daylight saving change of zones with odd ones:
// 30-minute shifts (Lord Howe), changes at midnight (Havana, Santiago,
// São Paulo in 2018), a repeated hour across midnight (Santiago), 45-minute
// offsets (Chatham).
func TestPushCronMatchesMinuteScan(t *testing.T) {
	zones := []struct {
		name string
		year int
	}{
		{"Europe/Berlin", 2026}, {"America/New_York", 2026}, {"Australia/Lord_Howe", 2026},
		{"America/Havana", 2026}, {"America/Santiago", 2026}, {"America/Sao_Paulo", 2018},
		{"Pacific/Chatham", 2026}, {"Asia/Kolkata", 2026},
	}
	specs := []string{"30 2 * * *", "0 0 * * *", "30 23 * * *", "45 1 * * *", "15 0-3 * * *", "*/15 * * * *", "0 * * * *", "@daily"}
	for _, z := range zones {
		loc := mustZone(t, z.name)
		// The zone's changes in the year, or one plain day without any.
		var changes []time.Time
		for t0 := time.Date(z.year, 1, 1, 0, 0, 0, 0, loc); t0.Year() == z.year; {
			_, end := t0.ZoneBounds()
			if end.IsZero() || end.Year() != z.year {
				break
			}
			changes = append(changes, end)
			t0 = end
		}
		if len(changes) == 0 {
			changes = []time.Time{time.Date(z.year, 6, 1, 0, 0, 0, 0, loc)}
		}
		for _, change := range changes {
			from, to := change.Add(-30*time.Hour), change.Add(30*time.Hour)
			for _, spec := range specs {
				p := mustPushSchedule(t, fmt.Sprintf(`{"cron":%q,"timezone":%q,"grace_seconds":5400}`, spec, z.name))
				fires := firesByScan(p.sched, loc, from.Add(-3*time.Hour), to.Add(50*time.Hour))
				want := func(after time.Time) time.Time {
					i := sort.Search(len(fires), func(i int) bool { return fires[i].After(after) })
					if i == len(fires) {
						t.Fatalf("%s %s: no fire after %v in the scan", z.name, spec, after)
					}
					return fires[i]
				}
				// Times just before, at and after each fire, and a grid.
				var lasts []time.Time
				for _, f := range fires {
					if !f.Before(from) && f.Before(to) {
						lasts = append(lasts, f.Add(-time.Second), f, f.Add(time.Second))
					}
				}
				for l := from; l.Before(to); l = l.Add(7*time.Minute + 13*time.Second) {
					lasts = append(lasts, l)
				}
				for _, last := range lasts {
					if got, w := p.deadline(last), want(last).Add(p.grace()); !got.Equal(w) {
						t.Errorf("%s around %v, %q: deadline(%v) = %v, want %v",
							z.name, change.In(loc), spec, last.In(loc), got.In(loc), w.In(loc))
					}
					if got, w := p.nextLate(last), want(last.Add(-p.grace())).Add(p.grace()); !got.Equal(w) || !got.After(last) {
						t.Errorf("%s around %v, %q: nextLate(%v) = %v, want %v",
							z.name, change.In(loc), spec, last.In(loc), got.In(loc), w.In(loc))
					}
				}
			}
		}
	}
}

func TestPushScheduleString(t *testing.T) {
	cases := []struct{ settings, want string }{
		{`{"period_seconds":86400,"grace_seconds":3600}`, "every 1 day, grace 1 h"},
		{`{"period_seconds":172800}`, "every 2 days, grace 1 h"},
		{`{"period_seconds":93784,"grace_seconds":90}`, "every 1 day 2 h 3 min 4 s, grace 1 min 30 s"},
		{`{"period_seconds":300,"grace_seconds":0}`, "every 5 min, no grace"},
		{`{"cron":"0 3 * * *","timezone":"Europe/Berlin","grace_seconds":1800}`, "0 3 * * * (Europe/Berlin), grace 30 min"},
		{`{"cron":"@daily"}`, "@daily (UTC), grace 1 h"},
	}
	for _, c := range cases {
		if got := mustPushSchedule(t, c.settings).String(); got != c.want {
			t.Errorf("%s: %q, want %q", c.settings, got, c.want)
		}
	}
}

// FuzzPushValidate: whatever a form sends, validation answers with settings
// that build a schedule whose deadlines move forward, or with field errors;
// it never panics.
func FuzzPushValidate(f *testing.F) {
	for _, seed := range []string{
		`{"cron":"0 3 * * *","timezone":"Europe/Berlin"}`, `{"cron":"*/7 1-5/2 L * 1#2"}`, `{"cron":"@every 1h"}`,
		`{"cron":"1-2-3 */ ,, ? *"}`, `{"cron":"99999999999999999999 * * * *"}`, `{"period_seconds":60,"grace_seconds":0}`,
		`{"cron":"0 0 29 2 *","timezone":"Australia/Lord_Howe"}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		norm, errs := ValidateSettings(TypePush, json.RawMessage(raw))
		if len(errs) > 0 {
			return
		}
		p, err := parsePushSchedule(norm)
		if err != nil {
			t.Fatalf("%s validated to %s, which does not parse: %v", raw, norm, err)
		}
		last := time.Date(2026, 10, 25, 0, 59, 30, 0, time.UTC)
		if d := p.deadline(last); !d.After(last) {
			t.Fatalf("%s: deadline(%v) = %v", norm, last, d)
		}
		if n := p.nextLate(last); !n.After(last) {
			t.Fatalf("%s: nextLate(%v) = %v", norm, last, n)
		}
	})
}
