package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/upwatch/upwatch/store"
)

// settingInstanceAlerts holds the channel ids (JSON) that hear about the
// instance's own problems.
const settingInstanceAlerts = "instance_alert_channels"

// instanceAlertChannels reads the chosen channels; none when unset.
func (a *App) instanceAlertChannels(ctx context.Context) ([]int64, error) {
	raw, err := a.st.Setting(ctx, settingInstanceAlerts)
	if errors.Is(err, store.ErrNotFound) || raw == "" {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []int64
	if err := json.Unmarshal([]byte(raw), &ids); err != nil {
		return nil, nil // unreadable: treat as unset rather than fail every loop
	}
	return ids, nil
}

// apiInstanceAlerts shows which channels hear about instance problems.
func (a *App) apiInstanceAlerts(w http.ResponseWriter, r *http.Request) {
	ids, err := a.instanceAlertChannels(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if ids == nil {
		ids = []int64{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"channels": ids})
}

// apiSetInstanceAlerts chooses them: channels of the admin's own, [] for none.
func (a *App) apiSetInstanceAlerts(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Channels *[]int64 `json:"channels"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if in.Channels == nil {
		a.writeError(w, r, FieldErrors{{Field: "channels", Message: "is required (a list of channel ids, [] for none)"}})
		return
	}
	if len(*in.Channels) > maxChannels {
		a.writeError(w, r, FieldErrors{{Field: "channels", Message: "too many channels"}})
		return
	}
	uid := userFrom(r.Context()).ID
	for _, id := range *in.Channels {
		if _, err := a.st.GetChannel(r.Context(), uid, id); err != nil {
			a.writeError(w, r, FieldErrors{{Field: "channels", Message: "names a channel that does not exist"}})
			return
		}
	}
	b, _ := json.Marshal(*in.Channels)
	if err := a.st.SetSetting(r.Context(), settingInstanceAlerts, string(b)); err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"channels": *in.Channels})
}

// instanceWatch remembers which problems were already told, by code, with
// when each began (it makes the delivery's key, so a problem is told once).
type instanceWatch struct {
	open map[string]toldProblem
}

type toldProblem struct {
	since time.Time
	msg   string
}

// WatchInstance tells the chosen channels when the instance gets a problem
// (no data, no workers, missed checks) and when it is over, until ctx ends.
func (a *App) WatchInstance(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	var w instanceWatch
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := a.checkInstance(ctx, &w); err != nil && ctx.Err() == nil {
			a.log.Warn("instance alerts", "err", err)
		}
	}
}

// checkInstance compares the instance's problems with the last look and
// queues an alert for each that began or ended.
func (a *App) checkInstance(ctx context.Context, w *instanceWatch) error {
	if w.open == nil {
		w.open = map[string]toldProblem{}
	}
	problems := a.instanceProblems(ctx)
	ids, err := a.instanceAlertChannels(ctx)
	if err != nil || len(ids) == 0 {
		return err
	}
	now := a.now().UTC().Truncate(time.Millisecond)
	current := map[string]string{}
	for _, p := range problems {
		current[p.Code] += p.Message + " "
	}
	queued := false
	for code, msg := range current {
		if _, told := w.open[code]; told {
			continue
		}
		w.open[code] = toldProblem{now, strings.TrimSpace(msg)}
		ev := store.AlertEvent{Kind: store.AlertInstance, Reason: code, Error: strings.TrimSpace(msg), At: now, StartedAt: now}
		if err := a.st.EnqueueInstanceAlert(ctx, ids, "instance:"+code+":"+now.Format(time.RFC3339Nano), ev); err != nil {
			return err
		}
		queued = true
	}
	for code, p := range w.open {
		if _, still := current[code]; still {
			continue
		}
		delete(w.open, code)
		ev := store.AlertEvent{Kind: store.AlertInstance, Reason: code, From: "resolved", At: now, StartedAt: p.since,
			DurationMS: now.Sub(p.since).Milliseconds(), Error: "Resolved: " + p.msg}
		if err := a.st.EnqueueInstanceAlert(ctx, ids, "instance:"+code+":"+p.since.Format(time.RFC3339Nano)+":resolved", ev); err != nil {
			return err
		}
		queued = true
	}
	if queued && a.alerts != nil {
		a.alerts.Poke()
	}
	return nil
}
