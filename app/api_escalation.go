package app

import (
	"errors"
	"net/http"
	"time"

	"github.com/upwatch/upwatch/store"
)

// escalationJSON is an escalation policy: an incident still
// unacknowledged after_minutes after it began also goes to channels.
type escalationJSON struct {
	MonitorID    int64   `json:"monitor_id,omitempty"` // absent: the user's default
	AfterMinutes int     `json:"after_minutes"`
	Channels     []int64 `json:"channels"`
}

const maxEscalationMinutes = 7 * 24 * 60

// escalationTarget is the monitor a request is about (0: the default at
// /api/v1/escalation), checked to be the user's.
func (a *App) escalationTarget(r *http.Request) (int64, error) {
	if r.PathValue("id") == "" {
		return 0, nil
	}
	id, err := pathID(r)
	if err != nil {
		return 0, err
	}
	if _, err := a.st.GetMonitor(r.Context(), userFrom(r.Context()).ID, id); err != nil {
		return 0, storeErr(err)
	}
	return id, nil
}

func (a *App) apiGetEscalation(w http.ResponseWriter, r *http.Request) {
	id, err := a.escalationTarget(r)
	var e store.Escalation
	if err == nil {
		e, err = a.st.GetEscalation(r.Context(), userFrom(r.Context()).ID, id)
		err = storeErr(err)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, escalationJSON{MonitorID: id, AfterMinutes: int(e.After / time.Minute), Channels: e.Channels})
}

func (a *App) apiSetEscalation(w http.ResponseWriter, r *http.Request) {
	id, err := a.escalationTarget(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in escalationJSON
	if err := decodeJSON(w, r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	var fe FieldErrors
	if in.AfterMinutes < 1 || in.AfterMinutes > maxEscalationMinutes {
		fe.add("after_minutes", "must be from 1 to %d", maxEscalationMinutes)
	}
	if len(in.Channels) == 0 {
		fe.add("channels", "name at least one channel")
	}
	if len(fe) > 0 {
		a.writeError(w, r, fe)
		return
	}
	e := store.Escalation{UserID: userFrom(r.Context()).ID, MonitorID: id, After: time.Duration(in.AfterMinutes) * time.Minute,
		Channels: dedupe(in.Channels)}
	if err := a.st.SetEscalation(r.Context(), e); errors.Is(err, store.ErrNotFound) {
		a.writeError(w, r, FieldErrors{{Field: "channels", Message: "names a channel that does not exist"}})
		return
	} else if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, escalationJSON{MonitorID: id, AfterMinutes: in.AfterMinutes, Channels: e.Channels})
}

func (a *App) apiDeleteEscalation(w http.ResponseWriter, r *http.Request) {
	id, err := a.escalationTarget(r)
	if err == nil {
		err = storeErr(a.st.DeleteEscalation(r.Context(), userFrom(r.Context()).ID, id))
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
