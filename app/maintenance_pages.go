package app

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/upwatch/upwatch/store"
	"github.com/upwatch/upwatch/views"
)

// formTimeLayout is an <input type="datetime-local"> value.
const formTimeLayout = "2006-01-02T15:04"

func (a *App) maintenancePage(w http.ResponseWriter, r *http.Request) {
	a.renderMaintenance(w, r, http.StatusOK, views.MaintenanceForm{Kind: store.MaintenanceOnce, TimeZone: "UTC"}, nil)
}

// renderMaintenance draws the list and the form (with its errors).
func (a *App) renderMaintenance(w http.ResponseWriter, r *http.Request, status int, f views.MaintenanceForm, checked map[int64]bool) {
	u := userFrom(r.Context())
	mons, err := a.st.ListMonitors(r.Context(), u.ID)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	list, err := a.st.ListMaintenance(r.Context(), u.ID)
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	names := map[int64]string{}
	for _, m := range mons {
		names[m.ID] = m.Name
		f.Monitors = append(f.Monitors, views.MonitorChoice{ID: m.ID, Name: m.Name, Status: m.State.Status, Checked: checked[m.ID]})
	}
	p, err := a.livePage(r, "Maintenance")
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	page := views.MaintenancePage{Page: p, Form: f}
	for _, m := range list {
		row := views.MaintenanceRow{ID: m.ID, Title: m.Title, Schedule: scheduleText(m), Notify: m.Notify}
		for _, id := range m.Monitors {
			row.Monitors = append(row.Monitors, names[id])
		}
		j := a.toMaintenanceJSON(m)
		row.Active = j.Active
		if j.NextStart != nil {
			row.NextStart, row.NextEnd = *j.NextStart, *j.NextEnd
		}
		page.Windows = append(page.Windows, row)
	}
	a.render(w, r, status, views.MaintenanceList(page))
}

// scheduleText describes a window's schedule for the list.
func scheduleText(m store.Maintenance) string {
	switch m.Kind {
	case store.MaintenanceWeekly:
		days := make([]string, len(m.Days))
		for i, d := range m.Days {
			days[i] = strings.ToUpper(d[:1]) + d[1:]
		}
		return "Every " + strings.Join(days, ", ") + " " + m.StartTime + "–" + m.EndTime + " (" + m.TimeZone + ")"
	case store.MaintenanceCron:
		return m.Cron + " for " + strconv.FormatInt(int64(m.Duration/time.Minute), 10) + " min (" + m.TimeZone + ")"
	}
	return views.FullTime(m.StartsAt) + " – " + views.FullTime(m.EndsAt)
}

func (a *App) createMaintenanceSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.pageError(w, r, badRequest("", "malformed form"))
		return
	}
	f := views.MaintenanceForm{
		Title: r.PostFormValue("title"), Kind: r.PostFormValue("kind"), StartsAt: r.PostFormValue("starts_at"),
		EndsAt: r.PostFormValue("ends_at"), StartTime: r.PostFormValue("start_time"), EndTime: r.PostFormValue("end_time"),
		Cron: r.PostFormValue("cron"), DurationMinutes: r.PostFormValue("duration_minutes"),
		TimeZone: strings.TrimSpace(r.PostFormValue("timezone")), Notify: r.PostFormValue("notify") == "on",
		Days: map[string]bool{},
	}
	in := maintenanceJSON{Title: f.Title, Kind: f.Kind, TimeZone: f.TimeZone, Notify: f.Notify}
	checked := map[int64]bool{}
	var fe FieldErrors
	for _, v := range r.PostForm["monitors"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			fe.add("monitors", "names a monitor that does not exist")
			continue
		}
		checked[id] = true
		in.Monitors = append(in.Monitors, id)
	}
	switch f.Kind {
	case store.MaintenanceWeekly:
		in.Days = r.PostForm["days"]
		for _, d := range in.Days {
			f.Days[d] = true
		}
		in.StartTime, in.EndTime = f.StartTime, f.EndTime
	case store.MaintenanceCron:
		in.Cron = f.Cron
		if mins, err := strconv.Atoi(strings.TrimSpace(f.DurationMinutes)); err == nil {
			in.DurationSeconds = int64(mins) * 60
		} else {
			fe.add("duration_minutes", "must be a whole number of minutes")
		}
	default:
		in.Kind = store.MaintenanceOnce
		loc, err := time.LoadLocation(orUTC(f.TimeZone))
		if err != nil || f.TimeZone == "Local" {
			fe.add("timezone", "must be an IANA time zone such as Europe/Berlin, or UTC")
			break
		}
		for _, p := range []struct {
			field, value string
			dst          **time.Time
		}{{"starts_at", f.StartsAt, &in.StartsAt}, {"ends_at", f.EndsAt, &in.EndsAt}} {
			if p.value == "" {
				fe.add(p.field, "is required")
				continue
			}
			t, err := time.ParseInLocation(formTimeLayout, p.value, loc)
			if err != nil {
				fe.add(p.field, "must be a date and time")
				continue
			}
			*p.dst = &t
		}
	}
	// Every field's fault at once: what the form could not read, then
	// what the shared validator says of the rest.
	if len(fe) > 0 {
		seen := fe.Map()
		_, more := maintenanceFrom(in, userFrom(r.Context()).ID)
		for _, e := range more {
			if _, ok := seen[e.Field]; !ok {
				fe = append(fe, e)
			}
		}
	}
	if len(fe) == 0 {
		_, err := a.saveMaintenance(r.Context(), userFrom(r.Context()), in)
		if err == nil {
			http.Redirect(w, r, "/maintenance?m=maintenance-created", http.StatusSeeOther)
			return
		}
		var ok bool
		if fe, ok = err.(FieldErrors); !ok {
			a.pageError(w, r, err)
			return
		}
	}
	f.Errors = fe.Map()
	if msg, ok := f.Errors["duration_seconds"]; ok {
		f.Errors["duration_minutes"] = strings.Replace(msg, "from 60 to 604800", "from 1 to 10080", 1)
	}
	a.renderMaintenance(w, r, http.StatusUnprocessableEntity, f, checked)
}

func orUTC(tz string) string {
	if tz == "" {
		return "UTC"
	}
	return tz
}

func (a *App) deleteMaintenanceSubmit(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = storeErr(a.st.DeleteMaintenance(r.Context(), userFrom(r.Context()).ID, id))
	}
	if err != nil {
		a.pageError(w, r, err)
		return
	}
	a.maintenanceChanged(r.Context())
	http.Redirect(w, r, "/maintenance?m=maintenance-deleted", http.StatusSeeOther)
}
