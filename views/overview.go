package views

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a-h/templ"
	templruntime "github.com/a-h/templ/runtime"
)

// Uptime thresholds of the history bar, in percent.
const (
	barGood     = 99.9 // and above: green
	barFair     = 99   // and above: yellow-green
	barDegraded = 95   // and above: amber; below: red
)

// BarLevel grades a period's uptime: 0 no data, 1 below 95 %, 2 from 95 %,
// 3 from 99 %, 4 from 99.9 %.
func BarLevel(uptime *float64) int {
	if uptime == nil || math.IsNaN(*uptime) {
		return 0
	}
	switch u := *uptime; {
	case u >= barGood:
		return 4
	case u >= barFair:
		return 3
	case u >= barDegraded:
		return 2
	}
	return 1
}

var barClasses = [...]string{"b0", "b1", "b2", "b3", "b4"}

// BarClass is the CSS class of a history-bar period ("b0" no data … "b4").
func BarClass(uptime *float64) string { return barClasses[BarLevel(uptime)] }

// barDegraded is the class added to a period with degraded checks: a tint
// on top of its uptime colour.
const barDegradedClass = " bd"

// Class is the CSS class of the period: BarClass, plus " bd" when some
// checks were degraded.
func (p *Bar) Class() string {
	if p.Degraded > 0 && p.Uptime != nil {
		return BarClass(p.Uptime) + barDegradedClass
	}
	return BarClass(p.Uptime)
}

// UptimeText is an uptime percentage for people: "100%", "99.95%", "—" for
// no data. It rounds down, so anything short of 100 never shows as 100%.
func UptimeText(p *float64) string {
	if p == nil {
		return "—"
	}
	return string(appendPercent(nil, *p))
}

// appendPercent appends v as a percentage with two decimals, rounded down.
func appendPercent(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return append(b, "—"...)
	case v >= 100:
		return append(b, "100%"...)
	case v <= 0:
		return append(b, "0%"...)
	}
	t := int64(v*100 + 1e-6) // v > 0: truncation rounds down
	if t >= 10000 {
		t = 9999
	}
	b = strconv.AppendInt(b, t/100, 10)
	f := t % 100
	return append(b, '.', byte('0'+f/10), byte('0'+f%10), '%')
}

// appendMS appends milliseconds like FormatMS, without allocating.
func appendMS(b []byte, ms float64) []byte {
	switch {
	case ms >= 10 && ms < 999.5: // the usual case: a whole number
		b = appendCount(b, int64(ms+0.5))
	case math.IsNaN(ms) || math.IsInf(ms, 0) || ms < 0:
		return append(b, "—"...)
	case ms < 1:
		b = strconv.AppendFloat(b, ms, 'f', 2, 64)
	case ms < 10:
		b = strconv.AppendFloat(b, ms, 'f', 1, 64)
	default:
		b = append(b, groupDigits(int64(math.Round(ms)))...)
	}
	return append(b, " ms"...)
}

// labelCache remembers the escaped label of each bar position: every row
// of the overview has the same labels, usually the very same strings.
type labelCache struct {
	raw, esc [BarCount]string
}

// escaped is label escaped by templ, from the cache when it is the label
// last seen at position i.
func (c *labelCache) escaped(i int, label string) string {
	if c == nil || i >= BarCount {
		return templ.EscapeString(label)
	}
	if c.raw[i] != label || c.esc[i] == "" {
		c.raw[i], c.esc[i] = label, templ.EscapeString(label)
	}
	return c.esc[i]
}

// appendBarTitle appends the tooltip of a history-bar period: its label
// (already escaped), then uptime, checks and average latency (or "No
// data").
func appendBarTitle(b []byte, p *Bar, label string) []byte {
	if label != "" {
		b = append(b, label...)
		b = append(b, '\n')
	}
	if p.Uptime == nil {
		return append(b, "No data"...)
	}
	b = appendPercent(b, *p.Uptime)
	b = append(b, " · "...)
	b = strconv.AppendInt(b, p.Up, 10)
	b = append(b, " up, "...)
	b = strconv.AppendInt(b, p.Down, 10)
	b = append(b, " down"...)
	if p.Degraded > 0 {
		b = append(b, " · "...)
		b = strconv.AppendInt(b, p.Degraded, 10)
		b = append(b, " degraded"...)
	}
	if p.Up > 0 {
		b = append(b, " · avg "...)
		b = appendMS(b, p.AvgMS)
	}
	return b
}

// appendBar appends one period of the history bar,
// <i class="bN" title="…"></i>. It is the overview's hot loop (900,000
// calls for 10,000 monitors), so it fills a stack array and appends once;
// the text is the same as appendBarTitle's.
func appendBar(b []byte, p *Bar, label string) []byte {
	const maxLabel, room = 64, 256
	if len(label) > maxLabel || p.Up < 0 || p.Down < 0 || p.Degraded < 0 || !(p.AvgMS < 1e9) {
		b = append(b, `<i class="`...)
		b = append(b, p.Class()...)
		b = append(b, `" title="`...)
		b = appendBarTitle(b, p, label)
		return append(b, `"></i>`...)
	}
	// Write into b's spare room: no zeroed scratch, one length update.
	b = slices.Grow(b, room)
	t := b[len(b) : len(b)+room]
	n := copy(t, `<i class="b`)
	t[n] = byte('0' + BarLevel(p.Uptime))
	n++
	if p.Degraded > 0 && p.Uptime != nil {
		n += copy(t[n:], barDegradedClass)
	}
	n += copy(t[n:], `" title="`)
	if label != "" {
		n += copy(t[n:], label)
		t[n] = '\n'
		n++
	}
	if p.Uptime == nil {
		n += copy(t[n:], "No data")
	} else {
		n += len(appendPercent(t[n:n], *p.Uptime))
		n += copy(t[n:], " · ")
		n += len(appendCount(t[n:n], p.Up))
		n += copy(t[n:], " up, ")
		n += len(appendCount(t[n:n], p.Down))
		n += copy(t[n:], " down")
		if p.Degraded > 0 {
			n += copy(t[n:], " · ")
			n += len(appendCount(t[n:n], p.Degraded))
			n += copy(t[n:], " degraded")
		}
		if p.Up > 0 {
			n += copy(t[n:], " · avg ")
			n += len(appendMS(t[n:n], p.AvgMS))
		}
	}
	n += copy(t[n:], `"></i>`)
	return b[:len(b)+n]
}

// appendCount appends a non-negative count, with a fast path for the
// small numbers a period has.
func appendCount(b []byte, v int64) []byte {
	switch {
	case v < 0:
		return strconv.AppendInt(b, v, 10)
	case v < 10:
		return append(b, byte('0'+v))
	case v < 100:
		return append(b, byte('0'+v/10), byte('0'+v%10))
	case v < 1000:
		return append(b, byte('0'+v/100), byte('0'+v/10%10), byte('0'+v%10))
	case v < 10000:
		return append(b, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
	}
	return strconv.AppendInt(b, v, 10)
}

// BarTitle is the tooltip of a history-bar period, e.g.
// "24 Nov 14:00\n99.95% · 1439 up, 1 down · 12 degraded · avg 123 ms" (no
// "degraded" part when none were).
func BarTitle(p Bar) string { return string(appendBarTitle(nil, &p, templ.EscapeString(p.Label))) }

// BarSummary is the accessible summary of a whole history bar, e.g.
// "Last 90 days: 99.95% uptime, 2 days with failures" (then ", 3 days
// degraded" if some had degraded checks).
func BarSummary(bars []Bar, daily bool) string {
	var t barTotals
	for i := range bars {
		t.add(&bars[i])
	}
	return string(t.appendSummary(nil, daily))
}

// barTotals sums up a history bar for its summary.
type barTotals struct {
	periods, failing, degraded int
	up, down                   int64
}

func (t *barTotals) add(p *Bar) {
	t.periods++
	t.up += max(p.Up, 0)
	t.down += max(p.Down, 0)
	if p.Uptime != nil && *p.Uptime < 100 {
		t.failing++
	}
	if p.Uptime != nil && p.Degraded > 0 {
		t.degraded++
	}
}

func (t *barTotals) appendSummary(b []byte, daily bool) []byte {
	unit, units := "hour", "hours"
	if daily {
		unit, units = "day", "days"
	}
	b = append(b, "Last "...)
	b = strconv.AppendInt(b, int64(t.periods), 10)
	b = append(b, ' ')
	if t.periods == 1 {
		b = append(b, unit...)
	} else {
		b = append(b, units...)
	}
	if t.up+t.down == 0 {
		return append(b, ": no data yet"...)
	}
	b = append(b, ": "...)
	b = appendPercent(b, float64(t.up)*100/float64(t.up+t.down))
	b = append(b, " uptime"...)
	switch t.failing {
	case 0:
		b = append(b, ", no failures"...)
	case 1:
		b = append(b, ", 1 "...)
		b = append(b, unit...)
		b = append(b, " with failures"...)
	default:
		b = append(b, ", "...)
		b = strconv.AppendInt(b, int64(t.failing), 10)
		b = append(b, ' ')
		b = append(b, units...)
		b = append(b, " with failures"...)
	}
	if t.degraded > 0 {
		b = append(b, ", "...)
		b = strconv.AppendInt(b, int64(t.degraded), 10)
		b = append(b, ' ')
		if t.degraded == 1 {
			b = append(b, unit...)
		} else {
			b = append(b, units...)
		}
		b = append(b, " degraded"...)
	}
	return b
}

var barBufs = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

// historyBar renders the history bar of one monitor: one <i> per period,
// coloured by its class, with the details in its title. It is written by
// hand because the overview may hold 10,000 of them (900,000 periods); the
// only text in it, the period label, goes through templ's escaping.
func historyBar(bars []Bar, daily bool, lc *labelCache) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		if len(bars) == 0 {
			_, err := io.WriteString(w, `<div class="bar bar-none" role="img" aria-label="No history yet"></div>`)
			return err
		}
		bp := barBufs.Get().(*[]byte)
		defer barBufs.Put(bp)
		// The periods first, summing up as they go; then the opening tag
		// with the summary (plain ASCII, nothing to escape) in front.
		const head = 160
		b := append((*bp)[:0], make([]byte, head)...)
		var t barTotals
		for i := range bars {
			t.add(&bars[i])
			b = appendBar(b, &bars[i], lc.escaped(i, bars[i].Label))
		}
		b = append(b, `</div>`...)
		var h [head]byte
		open := append(h[:0], `<div class="bar" role="img" aria-label="`...)
		open = t.appendSummary(open, daily)
		open = append(open, `">`...)
		start := head - len(open)
		copy(b[start:], open)
		*bp = b
		_, err := w.Write(b[start:])
		return err
	})
}

// filterStates are the options of the overview's state filter.
var filterStates = []struct{ Value, Label string }{
	{"", "All states"},
	{StatusDown, "Down"},
	{StatusDegraded, "Degraded"},
	{StatusFlapping, "Flapping"},
	{StatusUnreachable, "Unreachable"},
	{StatusPending, "Pending"},
	{StatusUp, "Up"},
	{StatusMaintenance, "Maintenance"},
	{StatusPaused, "Paused"},
}

// sortOptions are the options of the overview's sort select.
var sortOptions = []struct{ Value, Label string }{
	{"", "Status (down first)"},
	{"name", "Name"},
	{"latency", "Latency (slowest first)"},
}

// sortSelected reports whether opt is the current sort ("" and "status"
// are the same).
func sortSelected(current, opt string) bool {
	if current == "status" {
		current = ""
	}
	return current == opt
}

// overviewURL is "/" with the given filter, dropping empty values.
func overviewURL(q, state, sort string, daily bool) templ.SafeURL {
	v := url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	if state != "" {
		v.Set("state", state)
	}
	if sort != "" && sort != "status" {
		v.Set("sort", sort)
	}
	v.Set("bars", barsParam(daily))
	return templ.SafeURL("/?" + v.Encode())
}

func barsParam(daily bool) string {
	if daily {
		return "days"
	}
	return "hours"
}

// stateURL is the overview filtered to state, keeping the other filters;
// the current state links back to all.
func (o Overview) stateURL(state string) templ.SafeURL {
	if o.State == state {
		state = ""
	}
	return overviewURL(o.Query, state, o.Sort, o.BarsDaily)
}

// barsURL is the overview with the bars in days or hours.
func (o Overview) barsURL(daily bool) templ.SafeURL {
	return overviewURL(o.Query, o.State, o.Sort, daily)
}

// filtered reports whether a filter hides some monitors.
func (o Overview) filtered() bool { return o.Query != "" || o.State != "" }

// count is the number of monitors in a state.
func (o Overview) count(state string) int {
	switch state {
	case StatusUp:
		return o.Up
	case StatusDown:
		return o.Down
	case StatusDegraded:
		return o.Degraded
	case StatusPending:
		return o.Pending
	case StatusPaused:
		return o.Paused
	case StatusMaintenance:
		return o.Maintenance
	case StatusUnreachable:
		return o.Unreachable
	case StatusFlapping:
		return o.Flapping
	}
	return 0
}

// titled is the page with "(2 down)" in front of its title when monitors are
// down, so the tab says so.
func (o Overview) titled() Page {
	p := o.Page
	p.section = "monitors"
	if o.Down > 0 {
		p.Title = "(" + strconv.Itoa(o.Down) + " down) " + orDefault(p.Title, "Monitors")
	}
	return p
}

// barsLabel is the column heading of the history bar.
func barsLabel(daily bool) string {
	if daily {
		return "Last 90 days"
	}
	return "Last 90 hours"
}

// matchText describes the active filter, e.g. `“api” · Down`.
func (o Overview) matchText() string {
	s := ""
	if o.Query != "" {
		s = "“" + o.Query + "”"
	}
	if o.State != "" {
		if s != "" {
			s += " · "
		}
		s += StatusLabel(o.State)
	}
	return s
}

// overviewFromList adapts the old MonitorsPage to the overview: no history
// yet, sorted down first.
func overviewFromList(p MonitorsPage) Overview {
	o := Overview{Page: p.Page, Up: p.Up, Down: p.Down, Degraded: p.Degraded, Pending: p.Pending, Paused: p.Paused, Total: len(p.Rows), BarsDaily: true}
	for _, r := range SortRows(p.Rows) {
		o.Rows = append(o.Rows, OverviewRow{MonitorRow: r})
	}
	return o
}

// parallelRows is the list size from which the overview renders its rows on
// all cores; rowChunk rows go to a worker at a time.
const (
	parallelRows = 1000
	rowChunk     = 200
)

var chunkBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// overviewRows renders the rows of the overview in order. A big list is cut
// into chunks rendered on all cores into buffers, written out in order as
// they complete (with a bounded lead, so memory stays a few chunks).
func overviewRows(now time.Time, rows []OverviewRow, daily bool) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		workers := runtime.GOMAXPROCS(0)
		if len(rows) < parallelRows || workers < 2 {
			lc := new(labelCache)
			for i := range rows {
				if err := overviewRow(now, &rows[i], daily, lc).Render(ctx, w); err != nil {
					return err
				}
			}
			return nil
		}
		n := (len(rows) + rowChunk - 1) / rowChunk
		type result struct {
			buf *bytes.Buffer
			err error
		}
		results := make([]chan result, n)
		for i := range results {
			results[i] = make(chan result, 1)
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		lead := make(chan struct{}, 4*workers) // chunks rendered but not yet written
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				lc := new(labelCache)
				for {
					select {
					case lead <- struct{}{}:
					case <-ctx.Done():
						return
					}
					i := int(next.Add(1) - 1)
					if i >= n {
						return
					}
					buf := chunkBufs.Get().(*bytes.Buffer)
					buf.Reset()
					tb, _ := templruntime.GetBuffer(buf) // one buffered writer per chunk, not per row
					var err error
					for j := i * rowChunk; j < min((i+1)*rowChunk, len(rows)) && err == nil; j++ {
						err = overviewRow(now, &rows[j], daily, lc).Render(ctx, tb)
					}
					if ferr := templruntime.ReleaseBuffer(tb); err == nil {
						err = ferr
					}
					results[i] <- result{buf, err}
				}
			}()
		}
		var err error
		for i := 0; i < n && err == nil; i++ {
			var r result
			select {
			case r = <-results[i]:
			case <-ctx.Done():
				err = ctx.Err()
				continue
			}
			err = r.err
			if err == nil {
				_, err = w.Write(r.buf.Bytes())
			}
			chunkBufs.Put(r.buf)
			<-lead
		}
		cancel()
		wg.Wait()
		return err
	})
}
