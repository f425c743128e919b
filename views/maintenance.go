package views

import (
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
)

// MaintenancePage is GET /maintenance: the user's windows and a form to
// add one (a plain POST to /maintenance; it works without JavaScript).
type MaintenancePage struct {
	Page
	Windows []MaintenanceRow
	Form    MaintenanceForm
}

// MaintenanceRow is one window in the list.
type MaintenanceRow struct {
	ID       int64
	Title    string
	Schedule string   // "Sun 01:00–05:00 (Europe/Berlin)", "12 Dec 22:00 – 23:30 UTC"
	Monitors []string // names
	Active   bool
	// NextStart and NextEnd are the current or next occurrence; zero when
	// it is over.
	NextStart, NextEnd time.Time
	Notify             bool
}

// MaintenanceForm is the add form, re-rendered as typed with its errors.
type MaintenanceForm struct {
	Title, Kind           string // kind: once, weekly or cron
	StartsAt, EndsAt      string // datetime-local values, in TimeZone
	Days                  map[string]bool
	StartTime, EndTime    string
	Cron, DurationMinutes string
	TimeZone              string
	Notify                bool
	Monitors              []MonitorChoice
	Errors                map[string]string
	FormError             string
}

// MonitorChoice is one monitor offered by a form.
type MonitorChoice struct {
	ID      int64
	Name    string
	Status  string
	Checked bool
}

// weekdayChoices are the form's days, Monday first.
var weekdayChoices = []struct{ Value, Label string }{
	{"mon", "Mon"}, {"tue", "Tue"}, {"wed", "Wed"}, {"thu", "Thu"}, {"fri", "Fri"}, {"sat", "Sat"}, {"sun", "Sun"},
}

var maintenanceKinds = []struct{ Value, Label string }{
	{"once", "Once"}, {"weekly", "Every week"}, {"cron", "Cron expression"},
}

func maintenanceDeleteURL(id int64) templ.SafeURL {
	return templ.SafeURL("/maintenance/" + strconv.FormatInt(id, 10) + "/delete")
}

func monitorCheckID(id int64) string { return "mon-" + strconv.FormatInt(id, 10) }

func dayCheckID(d string) string { return "day-" + d }

// occurrenceText is "now, until 23:30 UTC" or "next 12 Dec 22:00 – 23:30 UTC".
func (r MaintenanceRow) occurrenceText(now time.Time) string {
	if r.NextStart.IsZero() {
		return "over"
	}
	if r.Active {
		return "in progress, until " + FullTime(r.NextEnd)
	}
	return "next " + FullTime(r.NextStart) + " – " + FullTime(r.NextEnd) + " (" + RelTime(now, r.NextStart) + ")"
}

func monitorsText(names []string) string {
	if len(names) == 0 {
		return "no monitors"
	}
	return strings.Join(names, ", ")
}

func dependsCheckID(id int64) string { return "dep-" + strconv.FormatInt(id, 10) }
