package checker

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	// Cron schedules are computed in the user's time zone; the server may
	// run in an image without /usr/share/zoneinfo (scratch, distroless,
	// minimal boards), so the database is embedded as a fallback.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"

	"github.com/upwatch/upwatch/reason"
	"github.com/upwatch/upwatch/settings"
)

// Limits and defaults of push monitors, in seconds as the settings hold them.
const (
	pushMinPeriod = 60              // one ping a minute is the finest the server tracks
	pushMaxPeriod = 365 * 24 * 3600 // a yearly job
	pushMaxGrace  = 30 * 24 * 3600  // beyond a month a deadline says little
	pushGrace     = 3600            // default: Healthchecks' default; covers a long backup that pings when done
	pushFieldHelp = "minute hour day month weekday"
)

func pushType() Type {
	return Type{
		Name:     TypePush,
		Label:    "Push (heartbeat)",
		Help:     "A cron job or script pings a secret URL each time it runs, and you are alerted when a ping is late or reports failure.",
		Fields:   pushFields(),
		Reasons:  []string{reason.Late, reason.Fail, reason.Timeout},
		Remote:   false,
		validate: validatePush,
	}
}

func pushFields() []settings.FieldInfo {
	return []settings.FieldInfo{
		{Name: "period_seconds", Label: "Period (seconds)", Kind: settings.KindNumber,
			Help: "How often the job runs, 60 (1 minute) to 31536000 (365 days). Set this or a cron expression."},
		{Name: "cron", Label: "Cron expression", Kind: settings.KindText,
			Help: "When the job runs, as 5 fields (" + pushFieldHelp + "), e.g. \"0 3 * * *\", or @hourly, @daily, @weekly, @monthly, @yearly. Set this or a period."},
		{Name: "timezone", Label: "Time zone", Kind: settings.KindText, Default: "UTC",
			Help: "The cron expression's time zone, an IANA name such as Europe/Berlin."},
		{Name: "grace_seconds", Label: "Grace (seconds)", Kind: settings.KindNumber, Default: strconv.Itoa(pushGrace),
			Help: "How long after the expected time a ping may still arrive: the job's run time plus some slack. 0 to 2592000 (30 days)."},
	}
}

func validatePush(raw json.RawMessage) (json.RawMessage, settings.FieldErrors) {
	s, errs := decodeAs[pushSettings](pushFields(), raw)
	if len(errs) > 0 {
		return nil, errs
	}
	norm, p, errs := s.check()
	// A schedule that never fires (31 April) makes a monitor that is never
	// late.
	if p.sched != nil && p.nextFire(time.Now()).IsZero() {
		errs.Add("cron", "never matches a date (such as 30 February)")
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return marshalSettings(norm)
}

// pushSettings are a push monitor's settings. Pointers tell an absent
// number from 0.
type pushSettings struct {
	PeriodSeconds *int   `json:"period_seconds,omitempty"`
	Cron          string `json:"cron,omitempty"`
	Timezone      string `json:"timezone,omitempty"`
	GraceSeconds  *int   `json:"grace_seconds,omitempty"`
}

// check applies the rules beyond the field table and returns the settings
// normalised (defaults filled, whitespace collapsed) with their schedule.
func (s pushSettings) check() (pushSettings, pushSchedule, settings.FieldErrors) {
	var errs settings.FieldErrors
	var p pushSchedule
	s.Cron = strings.Join(strings.Fields(s.Cron), " ")
	s.Timezone = strings.TrimSpace(s.Timezone)

	switch {
	case s.PeriodSeconds != nil && s.Cron != "":
		errs.Add("cron", "set either a period or a cron expression, not both")
	case s.PeriodSeconds == nil && s.Cron == "":
		errs.Add("period_seconds", "set a period, or a cron expression instead")
	case s.PeriodSeconds != nil:
		if n := *s.PeriodSeconds; n < pushMinPeriod || n > pushMaxPeriod {
			errs.Add("period_seconds", "must be between %d and %d seconds (1 minute to 365 days)", pushMinPeriod, pushMaxPeriod)
		}
		p.period = time.Duration(*s.PeriodSeconds) * time.Second
	}

	var sched *cron.SpecSchedule
	if s.Cron != "" && s.PeriodSeconds == nil {
		var expr, msg string
		sched, expr, msg = parseCron(s.Cron)
		if msg != "" {
			errs.Add("cron", "%s", msg)
		} else {
			s.Cron = expr
		}
	}
	loc := time.UTC
	switch {
	case s.Cron == "" && s.Timezone != "":
		errs.Add("timezone", "is only used with a cron expression")
	case s.Cron != "" && s.Timezone == "":
		s.Timezone = "UTC"
	case s.Cron != "":
		l, msg := loadZone(s.Timezone)
		if msg != "" {
			errs.Add("timezone", "%s", msg)
		} else {
			loc, s.Timezone = l, l.String()
		}
	}
	if sched != nil {
		p.expr, p.sched, p.loc = s.Cron, sched, loc
	}

	if s.GraceSeconds == nil {
		g := pushGrace
		s.GraceSeconds = &g
	}
	if g := *s.GraceSeconds; g < 0 || g > pushMaxGrace {
		errs.Add("grace_seconds", "must be between 0 and %d seconds (30 days)", pushMaxGrace)
	}
	p.graceDur = time.Duration(*s.GraceSeconds) * time.Second
	if len(errs) > 0 {
		return s, pushSchedule{}, errs
	}
	return s, p, nil
}

// loadZone loads an IANA time zone and returns a message for the form when
// it cannot.
func loadZone(name string) (*time.Location, string) {
	// "Local" is the server's own zone, which the user neither sees nor
	// controls.
	if name == "Local" {
		return nil, "must be an IANA time zone such as Europe/Berlin, or UTC"
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, "unknown time zone " + settings.Quote(name, 40) + "; use an IANA name such as Europe/Berlin, or UTC"
	}
	return loc, ""
}

// cronField describes one field of a 5-field cron expression, for messages.
type cronField struct {
	name   string
	lo, hi int
	names  string // what else the field takes, for "is not a number"
	note   string // for "is out of range"
}

// parseCron parses a standard 5-field cron expression or a descriptor and
// returns the schedule (without time zone), the expression normalised,
// and a message for the form when it is not valid. Seconds fields,
// @every and TZ= prefixes are refused: the period covers fixed intervals,
// the time zone is its own field, and nothing may fire more than once a
// minute.
func parseCron(expr string) (*cron.SpecSchedule, string, string) {
	parser := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	cronFields := [5]cronField{
		{"minute", 0, 59, "", ""},
		{"hour", 0, 23, "", ""},
		{"day of month", 1, 31, "", ""},
		{"month", 1, 12, " or a name like jan", ""},
		{"weekday", 0, 6, " or a name like mon", " (Sunday is 0)"},
	}
	if strings.HasPrefix(expr, "@") {
		d := strings.ToLower(expr)
		switch {
		case strings.HasPrefix(d, "@every"):
			return nil, "", "for a fixed interval, set the period instead of a cron expression"
		case d != "@hourly" && d != "@daily" && d != "@midnight" && d != "@weekly" &&
			d != "@monthly" && d != "@yearly" && d != "@annually":
			return nil, "", "unknown shortcut " + settings.Quote(expr, 20) + "; use @hourly, @daily, @weekly, @monthly or @yearly"
		}
		expr = d
	} else {
		if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
			return nil, "", "must not name a time zone; use the time zone field"
		}
		fields := strings.Fields(expr)
		if len(fields) != 5 {
			return nil, "", fmt.Sprintf("must have 5 fields: %s (found %d)", pushFieldHelp, len(fields))
		}
		// Each field on its own, so that the message names the field at
		// fault (robfig/cron's errors name only the value).
		for i, f := range cronFields {
			probe := []string{"*", "*", "*", "*", "*"}
			probe[i] = fields[i]
			if _, err := parser.Parse(strings.Join(probe, " ")); err != nil {
				return nil, "", cronFieldError(f, fields[i], err)
			}
		}
	}
	s, err := parser.Parse(expr)
	if err != nil {
		return nil, "", "is not a valid cron expression: " + err.Error()
	}
	spec, ok := s.(*cron.SpecSchedule)
	if !ok { // only @every gives another kind, refused above
		return nil, "", "is not a valid cron expression"
	}
	return spec, expr, ""
}

// cronFieldError turns robfig/cron's error for one field into words for a
// form.
func cronFieldError(f cronField, value string, err error) string {
	v := f.name + " " + settings.Quote(value, 20)
	msg := err.Error()
	switch {
	case strings.Contains(msg, "above maximum"), strings.Contains(msg, "below minimum"):
		return fmt.Sprintf("%s is out of range: use %d-%d%s", v, f.lo, f.hi, f.note)
	case strings.HasPrefix(msg, "failed to parse int"):
		return v + " is not a number" + f.names
	case strings.Contains(msg, "beyond end of range"):
		return v + ": a range must go from low to high"
	case strings.Contains(msg, "step of range"):
		return v + ": the step must be at least 1"
	}
	return v + ": " + msg
}

// pushSchedule is when a push monitor expects its pings: every period, or
// at the fire times of a cron expression in a time zone; either plus a
// grace. It is immutable and safe for concurrent use. Build it with
// parsePushSchedule.
//
// Cron fire times are wall-clock times in the zone, computed here from the
// fields robfig/cron parses (its own Next skips whole days around the
// 30-minute changes of Australia/Lord_Howe, and fires twice when clocks go
// back). Around daylight saving changes the rule is the lenient one, so
// that a job run by any usual cron daemon is not reported late:
//   - a time that does not exist (02:30 on the day clocks go forward, in
//     Europe/Berlin) does not fire that day. A daemon that runs such jobs
//     anyway (cronie runs them right after the change) pings before the
//     next deadline; one that skips them is not late either.
//   - a time that happens twice (02:30 on the day clocks go back) fires
//     once, at its first occurrence, as cronie runs it; firing again an
//     hour later would make a job that ran once late. This holds for every
//     field, so "*/15 * * * *" has no fire times in the repeated hour's
//     second pass: a later deadline, never a false one.
type pushSchedule struct {
	period   time.Duration // 0 for a cron schedule
	expr     string
	sched    *cron.SpecSchedule // the parsed fields; its Location is unused
	loc      *time.Location
	graceDur time.Duration
}

// parsePushSchedule builds the schedule from a push monitor's validated
// settings.
func parsePushSchedule(raw json.RawMessage) (pushSchedule, error) {
	var s pushSettings
	if err := json.Unmarshal(raw, &s); err != nil {
		return pushSchedule{}, fmt.Errorf("push settings: %w", err)
	}
	_, p, errs := s.check()
	if len(errs) > 0 {
		return pushSchedule{}, fmt.Errorf("push settings: %w", errs)
	}
	return p, nil
}

// deadline is when a monitor whose last success ping was at last (or that
// was created or reset at last) becomes late: period: last+period+grace;
// cron: the first fire time strictly after last, plus grace.
func (p pushSchedule) deadline(last time.Time) time.Time {
	if p.sched == nil {
		return last.Add(p.period + p.graceDur)
	}
	return p.fireOrGiveUp(last).Add(p.graceDur)
}

// nextLate is, after a late verdict at t (a monitor already late), when it
// is late again, so that one more "late" check is recorded per missed run:
// period: t+period; cron: grace after the first run whose own deadline is
// after t. (For a cron schedule that is the first fire after t-grace, not
// after t: with a grace longer than the gap between runs, "next fire after
// t" would skip runs.) The result is always after t.
func (p pushSchedule) nextLate(t time.Time) time.Time {
	if p.sched == nil {
		return t.Add(p.period)
	}
	return p.fireOrGiveUp(t.Add(-p.graceDur)).Add(p.graceDur)
}

// fireOrGiveUp is nextFire, or the end of its search when the schedule
// has no fire time in it (validation refuses such schedules): the monitor
// is looked at again then rather than late now.
func (p pushSchedule) fireOrGiveUp(t time.Time) time.Time {
	if n := p.nextFire(t); !n.IsZero() {
		return n
	}
	return t.AddDate(0, 0, cronSearchDays)
}

func (p pushSchedule) grace() time.Duration { return p.graceDur }

// String describes the schedule for pages: "every 1 day, grace 1 h",
// "0 3 * * * (Europe/Berlin), grace 30 min".
func (p pushSchedule) String() string {
	g := "grace " + formatSpan(p.graceDur)
	if p.graceDur == 0 {
		g = "no grace"
	}
	if p.sched == nil {
		return "every " + formatSpan(p.period) + ", " + g
	}
	return p.expr + " (" + p.loc.String() + "), " + g
}

// cronSearchDays bounds the search for the next fire time: nine years
// cover 29 February across 2100, which is no leap year.
const cronSearchDays = 9 * 366

// nextFire is the first fire time strictly after t, in t's location; the
// zero time when there is none within cronSearchDays.
func (p pushSchedule) nextFire(t time.Time) time.Time {
	l := t.In(p.loc)
	h0, m0 := l.Hour(), l.Minute()
	// Days are counted in UTC, where every day has 24 hours; only the
	// candidate times are built in the zone. A fire time on the day of t
	// but before t's wall clock could only be a repeated time, whose first
	// occurrence is before t.
	day := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
	for range cronSearchDays {
		if p.dayMatches(day) {
			for h := h0; h < 24; h, m0 = h+1, 0 {
				if p.sched.Hour&(1<<uint(h)) == 0 {
					continue
				}
				for m := m0; m < 60; m++ {
					if p.sched.Minute&(1<<uint(m)) == 0 {
						continue
					}
					c := time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, p.loc)
					if c.Day() != day.Day() || c.Hour() != h || c.Minute() != m {
						continue // skipped when clocks went forward
					}
					if c = firstOccurrence(c); c.After(t) {
						return c.In(t.Location())
					}
				}
			}
		}
		h0, m0 = 0, 0
		day = day.AddDate(0, 0, 1)
	}
	return time.Time{}
}

// dayMatches is cron's rule for a date: month, and day of month and
// weekday, but either of them when both are restricted.
func (p pushSchedule) dayMatches(day time.Time) bool {
	const star = 1 << 63 // robfig/cron marks a field given as *
	s := p.sched
	if s.Month&(1<<uint(day.Month())) == 0 {
		return false
	}
	dom := s.Dom&(1<<uint(day.Day())) != 0
	dow := s.Dow&(1<<uint(day.Weekday())) != 0
	if s.Dom&star != 0 || s.Dow&star != 0 {
		return dom && dow
	}
	return dom || dow
}

// firstOccurrence is the earlier instant with t's wall-clock time when
// that time happens twice (clocks went back shortly before t), else t.
func firstOccurrence(t time.Time) time.Time {
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return t
	}
	_, before := start.Add(-time.Second).Zone()
	_, now := t.Zone()
	back := time.Duration(before-now) * time.Second
	if back <= 0 || !t.Before(start.Add(back)) {
		return t
	}
	return t.Add(-back)
}

// formatSpan writes a duration of whole seconds for people: "1 day",
// "2 days 3 h", "30 min", "1 min 30 s".
func formatSpan(d time.Duration) string {
	secs := int64(d / time.Second)
	if secs <= 0 {
		return "0 s"
	}
	var parts []string
	for _, u := range []struct {
		n    int64
		unit string
	}{{86400, " day"}, {3600, " h"}, {60, " min"}, {1, " s"}} {
		if k := secs / u.n; k > 0 {
			s := strconv.FormatInt(k, 10) + u.unit
			if u.unit == " day" && k > 1 {
				s += "s"
			}
			parts = append(parts, s)
			secs -= k * u.n
		}
	}
	return strings.Join(parts, " ")
}
