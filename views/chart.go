package views

import (
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
)

// The response-time chart is drawn on the server as SVG. The plot is a
// viewBox of chartW × chartH stretched to the card's width
// (preserveAspectRatio="none", strokes with vector-effect so lines keep
// their width); the axis labels sit in their own unstretched SVGs beside
// and below it, so text never distorts at any width.
const (
	chartW      = 1000.0
	chartH      = 200.0 // also the plot's CSS height in px
	chartTop    = 10.0  // headroom above the highest tick
	chartBase   = 188.0 // y of 0 ms
	chartDownY  = 192.0 // failure marks: a strip under the baseline
	chartDownH  = 8.0
	chartXTicks = 6 // about this many time labels
)

// chartRanges are the range tabs of the monitor page.
var chartRanges = []struct{ Value, Label, Long string }{
	{"1h", "1 h", "last hour"},
	{"24h", "24 h", "last 24 hours"},
	{"7d", "7 d", "last 7 days"},
	{"30d", "30 d", "last 30 days"},
	{"90d", "90 d", "last 90 days"},
}

// chartPhases are the stacked areas, bottom to top.
var chartPhases = []struct{ Class, Label string }{
	{"ph-dns", "DNS"},
	{"ph-connect", "Connect"},
	{"ph-tls", "TLS"},
	{"ph-ttfb", "TTFB"},
	{"ph-transfer", "Transfer"},
}

// rangeSelected reports whether opt is the chart's range ("24h" when none).
func rangeSelected(current, opt string) bool {
	if current == "" {
		current = "24h"
	}
	return current == opt
}

// chartURL is the monitor page with a chart range and region ("": all),
// so that either tab row keeps the other's choice.
func chartURL(rng, region string) templ.SafeURL {
	if rng == "" {
		rng = "24h"
	}
	q := "?range=" + url.QueryEscape(rng)
	if region != "" {
		q += "&region=" + url.QueryEscape(region)
	}
	return templ.SafeURL(q + "#chart")
}

// showRegions tells whether the chart offers region tabs.
func (c Chart) showRegions() bool { return len(c.Regions) > 1 }

// fromRegion is " from eu" when the chart shows one region, else "".
func (c Chart) fromRegion() string {
	if c.Region == "" {
		return ""
	}
	return " from " + c.Region
}

// rangeLong is "last 24 hours" for a range value.
func rangeLong(r string) string {
	if r == "" {
		r = "24h"
	}
	for _, c := range chartRanges {
		if c.Value == r {
			return c.Long
		}
	}
	return "selected range"
}

type chartTick struct {
	Pos   string // y in the plot's units, or x as a percentage ("12.5%")
	Label string
}

type chartSpan struct {
	X, W  string
	Title string
}

// chartGeom is a Chart turned into SVG attribute values.
type chartGeom struct {
	Empty    bool
	Areas    [5]string // path d of each phase
	Avg, P95 string    // path d of the lines
	Grid     string    // path d of the gridlines
	YTicks   []chartTick
	XTicks   []chartTick
	Down     []chartSpan // failure marks
	Targets  []chartSpan // hover targets, one per point
	Summary  string      // the whole chart in a sentence
	Stats    []chartStat
}

type chartStat struct{ Label, Value string }

// finite is v, or 0 when it is negative, NaN or infinite.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0
	}
	return v
}

// coord formats a coordinate with one decimal, "12.5" or "12".
func coord(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	s := strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
	if s == "-0" {
		return "0"
	}
	return s
}

// niceStep is a 1-2-5 step so that max/step is at most about n.
func niceStep(max float64, n int) float64 {
	if max <= 0 || math.IsNaN(max) || math.IsInf(max, 0) {
		return 1
	}
	raw := max / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

// axisMS labels the y axis: "0", "50 ms", "1.5 s".
func axisMS(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 1000:
		return strconv.FormatFloat(v/1000, 'f', -1, 64) + " s"
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + " ms"
}

// timeSteps are the candidate spacings of the x-axis labels.
var timeSteps = []time.Duration{
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 28 * 24 * time.Hour,
}

// chartStep is the nominal spacing of the points: the median gap between
// them, or the resolution's bucket when there are too few.
func chartStep(c Chart, pts []ChartPoint) time.Duration {
	if len(pts) >= 2 {
		gaps := make([]time.Duration, 0, len(pts)-1)
		for i := 1; i < len(pts); i++ {
			if d := pts[i].At.Sub(pts[i-1].At); d > 0 {
				gaps = append(gaps, d)
			}
		}
		if len(gaps) > 0 {
			slices.Sort(gaps)
			return gaps[len(gaps)/2]
		}
	}
	switch c.Resolution {
	case "daily":
		return 24 * time.Hour
	case "hourly":
		return time.Hour
	}
	return time.Minute
}

// pointLabel is the time of a point for its tooltip, by resolution.
func pointLabel(c Chart, t time.Time) string {
	t = t.UTC()
	switch c.Resolution {
	case "daily":
		return t.Format("Mon 2 Jan 2006")
	case "hourly":
		return t.Format("2 Jan 15:04") + "–" + t.Add(time.Hour).Format("15:04") + " UTC"
	}
	return t.Format("2 Jan 15:04:05") + " UTC"
}

// pointTitle is the tooltip of one point.
func pointTitle(c Chart, p ChartPoint) string {
	var b strings.Builder
	b.WriteString(pointLabel(c, p.At))
	if p.Up == 0 && p.Down == 0 && p.AvgMS == 0 {
		b.WriteString("\nNo data")
		return b.String()
	}
	b.WriteString("\nAverage " + FormatMS(finite(p.AvgMS)) + " · p95 " + FormatMS(finite(p.P95MS)))
	b.WriteString("\nMin " + FormatMS(finite(p.MinMS)) + " · max " + FormatMS(finite(p.MaxMS)))
	b.WriteString("\nDNS " + phaseMS(finite(p.DNSMS)) + " · connect " + phaseMS(finite(p.ConnectMS)) + " · TLS " + phaseMS(finite(p.TLSMS)))
	b.WriteString("\nTTFB " + phaseMS(finite(p.TTFBMS)) + " · transfer " + phaseMS(finite(p.TransferMS)))
	if p.Up+p.Down > 0 {
		b.WriteString("\n" + strconv.FormatInt(p.Up, 10) + " up, " + strconv.FormatInt(p.Down, 10) + " down")
	}
	return b.String()
}

// xTickLabel formats an x-axis label: a time of day, or a date for steps
// of a day or more.
func xTickLabel(t time.Time, step time.Duration) string {
	t = t.UTC()
	if step >= 24*time.Hour {
		return t.Format("2 Jan")
	}
	if t.Hour() == 0 && t.Minute() == 0 {
		return t.Format("2 Jan")
	}
	return t.Format("15:04")
}

// buildChart turns a Chart into SVG geometry. It never yields NaN or Inf:
// bad numbers count as 0, an empty or reversed range is widened.
func buildChart(c Chart) chartGeom {
	var g chartGeom
	pts := c.Points
	if !slices.IsSortedFunc(pts, func(a, b ChartPoint) int { return a.At.Compare(b.At) }) {
		pts = slices.Clone(pts)
		slices.SortStableFunc(pts, func(a, b ChartPoint) int { return a.At.Compare(b.At) })
	}
	from, to := c.From, c.To
	if len(pts) > 0 {
		if from.IsZero() || pts[0].At.Before(from) {
			from = pts[0].At
		}
		if to.IsZero() || pts[len(pts)-1].At.After(to) {
			to = pts[len(pts)-1].At
		}
	}
	step := chartStep(c, pts)
	bucketed := c.Resolution == "hourly" || c.Resolution == "daily"
	if !to.After(from) {
		from, to = from.Add(-30*time.Minute), from.Add(30*time.Minute)
		if from.IsZero() {
			from, to = time.Unix(0, 0), time.Unix(3600, 0)
		}
	}
	span := to.Sub(from).Seconds()
	xOf := func(t time.Time) float64 {
		x := t.Sub(from).Seconds() / span * chartW
		return math.Max(0, math.Min(chartW, finite(x)))
	}
	// A bucket's point sits in its middle; a raw check where it ran.
	center := func(p ChartPoint) float64 {
		if bucketed {
			return xOf(p.At.Add(step / 2))
		}
		return xOf(p.At)
	}
	halfW := math.Max(step.Seconds()/span*chartW/2, 0.5)

	// Y scale over what is drawn: the stacked phases, the average and p95.
	var yMax float64
	type stack struct{ c [6]float64 }
	stacks := make([]stack, len(pts))
	var sumAvg, minMS, maxMS float64
	var up, down int64
	var failing int
	minMS = math.Inf(1)
	for i, p := range pts {
		s := &stacks[i]
		for k, v := range []float64{p.DNSMS, p.ConnectMS, p.TLSMS, p.TTFBMS, p.TransferMS} {
			s.c[k+1] = s.c[k] + finite(v)
		}
		yMax = math.Max(yMax, math.Max(s.c[5], math.Max(finite(p.AvgMS), finite(p.P95MS))))
		if p.Up > 0 {
			sumAvg += finite(p.AvgMS) * float64(p.Up)
			if m := finite(p.MinMS); m > 0 {
				minMS = math.Min(minMS, m)
			}
			maxMS = math.Max(maxMS, finite(p.MaxMS))
		}
		up += max(p.Up, 0)
		down += max(p.Down, 0)
		if p.Down > 0 {
			failing++
		}
	}
	ystep := niceStep(yMax, 4)
	top := math.Max(ystep, math.Ceil(yMax/ystep)*ystep)
	yOf := func(v float64) float64 {
		return chartBase - finite(v)/top*(chartBase-chartTop)
	}

	// Gridlines and y labels.
	var grid strings.Builder
	for v := 0.0; v <= top+ystep/1000; v += ystep {
		y := coord(yOf(v))
		grid.WriteString("M0 " + y + "H" + coord(chartW))
		if len(pts) > 0 {
			g.YTicks = append(g.YTicks, chartTick{Pos: y, Label: axisMS(v)})
		}
	}

	// Time labels at round UTC times.
	tstep := timeSteps[len(timeSteps)-1]
	for _, s := range timeSteps {
		if to.Sub(from)/s <= chartXTicks {
			tstep = s
			break
		}
	}
	var first time.Time
	if tstep >= 24*time.Hour {
		d := from.UTC().Truncate(24 * time.Hour)
		days := int(tstep / (24 * time.Hour))
		first = d
		for first.Before(from) {
			first = first.Add(time.Duration(days) * 24 * time.Hour)
		}
	} else {
		first = from.UTC().Truncate(tstep)
		if first.Before(from) {
			first = first.Add(tstep)
		}
	}
	for t := first; !t.After(to) && len(g.XTicks) < 3*chartXTicks; t = t.Add(tstep) {
		x := xOf(t)
		if x < 20 || x > chartW-20 { // a label there would be cut off
			continue
		}
		grid.WriteString("M" + coord(x) + " " + coord(chartTop) + "V" + coord(chartBase))
		g.XTicks = append(g.XTicks, chartTick{Pos: coord(x/chartW*100) + "%", Label: xTickLabel(t, tstep)})
	}
	g.Grid = grid.String()

	if len(pts) == 0 {
		g.Empty = true
		g.Summary = "No checks" + c.fromRegion() + " in the " + rangeLong(c.Range) + "."
		return g
	}

	// Segments: runs of points without a gap (more than 2.5 steps apart).
	var segs [][2]int
	start := 0
	for i := 1; i <= len(pts); i++ {
		if i == len(pts) || pts[i].At.Sub(pts[i-1].At) > step*5/2 {
			segs = append(segs, [2]int{start, i})
			start = i
		}
	}
	var areas [5]strings.Builder
	var avg, p95 strings.Builder
	for _, sg := range segs {
		a, b := sg[0], sg[1]
		xs := make([]float64, 0, b-a+2)
		idx := make([]int, 0, b-a+2)
		if b-a == 1 { // a lone point: a short flat run across its bucket
			x := center(pts[a])
			xs = append(xs, math.Max(0, x-halfW), math.Min(chartW, x+halfW))
			idx = append(idx, a, a)
		} else {
			for i := a; i < b; i++ {
				xs = append(xs, center(pts[i]))
				idx = append(idx, i)
			}
		}
		for k := range 5 {
			w := &areas[k]
			for j := range xs {
				cmd := "L"
				if j == 0 {
					cmd = "M"
				}
				w.WriteString(cmd + coord(xs[j]) + " " + coord(yOf(stacks[idx[j]].c[k+1])))
			}
			for j := len(xs) - 1; j >= 0; j-- {
				w.WriteString("L" + coord(xs[j]) + " " + coord(yOf(stacks[idx[j]].c[k])))
			}
			w.WriteString("Z")
		}
		for j := range xs {
			cmd := "L"
			if j == 0 {
				cmd = "M"
			}
			p := pts[idx[j]]
			avg.WriteString(cmd + coord(xs[j]) + " " + coord(yOf(p.AvgMS)))
			p95.WriteString(cmd + coord(xs[j]) + " " + coord(yOf(p.P95MS)))
		}
	}
	for k := range 5 {
		g.Areas[k] = areas[k].String()
	}
	g.Avg, g.P95 = avg.String(), p95.String()

	// Hover targets and failure marks: each point owns the space halfway
	// to its neighbours (at most one step wide).
	g.Targets = make([]chartSpan, len(pts))
	for i, p := range pts {
		x := center(p)
		l, r := math.Max(0, x-halfW), math.Min(chartW, x+halfW)
		if i > 0 {
			l = math.Max(l, (center(pts[i-1])+x)/2)
		}
		if i < len(pts)-1 {
			r = math.Min(r, (x+center(pts[i+1]))/2)
		}
		w := math.Max(r-l, 0.5)
		span := chartSpan{X: coord(l), W: coord(w), Title: pointTitle(c, p)}
		g.Targets[i] = span
		if p.Down > 0 {
			g.Down = append(g.Down, chartSpan{X: span.X, W: coord(math.Max(w, 2))})
		}
	}

	// The numbers in words.
	avgAll := 0.0
	if up > 0 {
		avgAll = sumAvg / float64(up)
		g.Stats = append(g.Stats, chartStat{"Average", FormatMS(avgAll)})
	}
	if !math.IsInf(minMS, 1) {
		g.Stats = append(g.Stats, chartStat{"Fastest", FormatMS(minMS)})
	}
	if maxMS > 0 {
		g.Stats = append(g.Stats, chartStat{"Slowest", FormatMS(maxMS)})
	}
	if total := up + down; total > 0 {
		g.Stats = append(g.Stats, chartStat{"Checks", groupDigits(total)})
		g.Stats = append(g.Stats, chartStat{"Failed", groupDigits(down)})
	}
	sum := "Response time" + c.fromRegion() + ", " + rangeLong(c.Range) + ", times in UTC"
	if up > 0 {
		sum += ": average " + FormatMS(avgAll)
		if maxMS > 0 {
			sum += ", slowest " + FormatMS(maxMS)
		}
	}
	switch failing {
	case 0:
		sum += "; no failed checks."
	case 1:
		sum += "; failed checks in 1 period."
	default:
		sum += "; failed checks in " + strconv.Itoa(failing) + " periods."
	}
	g.Summary = sum
	return g
}
