package app

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/store"
)

// maintenanceJSON is a maintenance window in the API. The kind may be
// left out: days make it weekly, cron makes it cron, else it is once.
type maintenanceJSON struct {
	ID              int64      `json:"id"`
	Title           string     `json:"title"`
	Kind            string     `json:"kind"`
	Monitors        []int64    `json:"monitors"`
	StartsAt        *time.Time `json:"starts_at"`
	EndsAt          *time.Time `json:"ends_at"`
	Days            []string   `json:"days,omitempty"`
	StartTime       string     `json:"start_time,omitempty"`
	EndTime         string     `json:"end_time,omitempty"`
	Cron            string     `json:"cron,omitempty"`
	DurationSeconds int64      `json:"duration_seconds,omitempty"`
	TimeZone        string     `json:"timezone"`
	Notify          bool       `json:"notify"`
	// Answers only: whether it holds now, and its current or next
	// occurrence.
	Active    bool       `json:"active"`
	NextStart *time.Time `json:"next_start,omitempty"`
	NextEnd   *time.Time `json:"next_end,omitempty"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
}

func (a *App) toMaintenanceJSON(m store.Maintenance) maintenanceJSON {
	j := maintenanceJSON{ID: m.ID, Title: m.Title, Kind: m.Kind, Monitors: m.Monitors,
		StartsAt: optTime(m.StartsAt), EndsAt: optTime(m.EndsAt), Days: m.Days, StartTime: m.StartTime,
		EndTime: m.EndTime, Cron: m.Cron, DurationSeconds: int64(m.Duration / time.Second),
		TimeZone: m.TimeZone, Notify: m.Notify, CreatedAt: optTime(m.CreatedAt)}
	if j.Monitors == nil {
		j.Monitors = []int64{}
	}
	if _, w, _, _ := checker.CompileMaintenance(m); w != nil {
		now := a.now()
		if s, e, ok := w.Occurrence(now); ok {
			j.Active = !now.Before(s) && now.Before(e)
			j.NextStart, j.NextEnd = optTime(s), optTime(e)
		}
	}
	return j
}

// maintenanceFrom validates an input into a window of userID's.
func maintenanceFrom(in maintenanceJSON, userID int64) (store.Maintenance, FieldErrors) {
	var fe FieldErrors
	in.Title = strings.TrimSpace(in.Title)
	switch n := utf8.RuneCountInString(in.Title); {
	case n == 0:
		fe.add("title", "is required")
	case n > 100:
		fe.add("title", "must be at most 100 characters")
	}
	if len(in.Monitors) == 0 {
		fe.add("monitors", "name at least one monitor")
	}
	if len(in.Monitors) > 1000 {
		fe.add("monitors", "must list at most 1000 monitors")
	}
	kind := in.Kind
	if kind == "" {
		switch {
		case len(in.Days) > 0 || in.StartTime != "":
			kind = store.MaintenanceWeekly
		case in.Cron != "":
			kind = store.MaintenanceCron
		default:
			kind = store.MaintenanceOnce
		}
	}
	m := store.Maintenance{UserID: userID, ID: in.ID, Title: in.Title, Kind: kind, Monitors: dedupe(in.Monitors),
		Days: in.Days, StartTime: in.StartTime, EndTime: in.EndTime, Cron: in.Cron,
		Duration: time.Duration(in.DurationSeconds) * time.Second, TimeZone: in.TimeZone, Notify: in.Notify}
	if in.StartsAt != nil {
		m.StartsAt = in.StartsAt.UTC().Truncate(time.Millisecond)
	}
	if in.EndsAt != nil {
		m.EndsAt = in.EndsAt.UTC().Truncate(time.Millisecond)
	}
	norm, w, field, msg := checker.CompileMaintenance(m)
	if w == nil {
		fe.add(field, "%s", msg)
	}
	return norm, fe
}

func dedupe(ids []int64) []int64 {
	seen := map[int64]bool{}
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// maintenanceReloader is the checker's side of windows (a test's
// scheduler may lack it).
type maintenanceReloader interface {
	ReloadMaintenance(ctx context.Context) error
}

// maintenanceChanged tells the checker; the window is stored either way,
// and the health loop moves monitors at its edges in any case.
func (a *App) maintenanceChanged(ctx context.Context) {
	if r, ok := a.sched.(maintenanceReloader); ok {
		if err := r.ReloadMaintenance(ctx); err != nil {
			a.log.Error("reloading maintenance windows", "err", err)
		}
	}
}

// saveMaintenance validates and stores a window (creating when id is 0).
func (a *App) saveMaintenance(ctx context.Context, u store.User, in maintenanceJSON) (store.Maintenance, error) {
	m, fe := maintenanceFrom(in, u.ID)
	if len(fe) > 0 {
		return m, fe
	}
	var err error
	if m.ID == 0 {
		m, err = a.st.CreateMaintenance(ctx, m)
	} else {
		err = a.st.UpdateMaintenance(ctx, m)
	}
	if errors.Is(err, store.ErrNotFound) {
		if m.ID != 0 {
			if _, gerr := a.st.GetMaintenance(ctx, u.ID, m.ID); errors.Is(gerr, store.ErrNotFound) {
				return m, errNotFound
			}
		}
		return m, FieldErrors{{Field: "monitors", Message: "names a monitor that does not exist"}}
	}
	if err != nil {
		return m, err
	}
	a.maintenanceChanged(ctx)
	return a.st.GetMaintenance(ctx, u.ID, m.ID)
}

func (a *App) apiCreateMaintenance(w http.ResponseWriter, r *http.Request) {
	var in maintenanceJSON
	if err := decodeJSON(w, r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	in.ID = 0
	m, err := a.saveMaintenance(r.Context(), userFrom(r.Context()), in)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, a.toMaintenanceJSON(m))
}

func (a *App) apiListMaintenance(w http.ResponseWriter, r *http.Request) {
	list, err := a.st.ListMaintenance(r.Context(), userFrom(r.Context()).ID)
	writeItems(a, w, r, list, err, a.toMaintenanceJSON)
}

func (a *App) apiGetMaintenance(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	var m store.Maintenance
	if err == nil {
		m, err = a.st.GetMaintenance(r.Context(), userFrom(r.Context()).ID, id)
		err = storeErr(err)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.toMaintenanceJSON(m))
}

// apiUpdateMaintenance changes the fields the body names; the rest stay.
func (a *App) apiUpdateMaintenance(w http.ResponseWriter, r *http.Request) {
	u := userFrom(r.Context())
	id, err := pathID(r)
	var cur store.Maintenance
	if err == nil {
		cur, err = a.st.GetMaintenance(r.Context(), u.ID, id)
		err = storeErr(err)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	// The body is read over the window as it is: its kind stays unless
	// the body names another.
	in := a.toMaintenanceJSON(cur)
	if err := decodeJSON(w, r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	in.ID = id
	m, err := a.saveMaintenance(r.Context(), u, in)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.toMaintenanceJSON(m))
}

func (a *App) apiDeleteMaintenance(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		err = storeErr(a.st.DeleteMaintenance(r.Context(), userFrom(r.Context()).ID, id))
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.maintenanceChanged(r.Context())
	w.WriteHeader(http.StatusNoContent)
}
