package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/store"
)

// Fair limits: per-user quotas (counted by the store in each create's
// transaction, so concurrent creates cannot pass them), a minimum interval
// for non-admins, and the admin's API to give one user other quotas.

// quotaNames are the kinds as the API names them (PATCH /api/v1/users/{id},
// GET /api/v1/me); status_pages is the hook for the status pages to come.
var quotaNames = func() []string {
	out := make([]string, len(store.QuotaKinds))
	for i, k := range store.QuotaKinds {
		out[i] = string(k)
	}
	return out
}()

var quotaWords = map[store.QuotaKind]string{
	store.QuotaMonitors: "monitors", store.QuotaChannels: "alert channels", store.QuotaTokens: "API tokens",
	store.QuotaWorkerTokens: "worker tokens", store.QuotaStatusPages: "status pages",
}

// quotaFields turns a create refused by a quota into the field error that
// the API (422, field quota.<kind>) and the forms show; other errors pass.
func quotaFields(err error) error {
	var qe *store.QuotaError
	if !errors.As(err, &qe) {
		return err
	}
	return FieldErrors{{Field: "quota." + string(qe.Kind), Message: fmt.Sprintf(
		"you have reached your limit of %d %s: delete one, or ask an admin to raise your quota", qe.Limit, quotaWords[qe.Kind])}}
}

// formError is the line above a form: a quota's message when a quota
// refused it (no field to highlight), else the usual one.
func formError(fe FieldErrors) string {
	for _, e := range fe {
		if strings.HasPrefix(e.Field, "quota.") {
			return "You have reached a limit: " + e.Message + "."
		}
	}
	return "Please fix the highlighted fields."
}

// minIntervalFor is the shortest interval u may give a monitor: none for
// admins (from 1 s), MIN_INTERVAL_SECONDS for everyone else.
func (a *App) minIntervalFor(u store.User) time.Duration {
	if u.Admin {
		return 0
	}
	return a.cfg.MinInterval
}

// defaultIntervalFor is a new monitor's interval when none is given: the
// instance's, raised to the user's minimum.
func (a *App) defaultIntervalFor(u store.User) time.Duration {
	return max(a.cfg.DefaultInterval, a.minIntervalFor(u))
}

// intervalFloor enforces the minimum interval on m as an edit (or create)
// left it. A monitor below the minimum from before it existed keeps
// running as it is; an edit may pause it or delete it, but one that leaves
// it running must bring it up to the minimum.
func (a *App) intervalFloor(u store.User, m *store.Monitor, in monitorInput, creating bool) FieldErrors {
	floor := a.minIntervalFor(u)
	if floor <= 0 || m.Type == checker.TypePush || m.Interval >= floor || m.Interval <= 0 {
		return nil
	}
	if creating && in.IntervalSeconds == nil {
		m.Interval = floor // the default was shorter than this user may use
		return nil
	}
	if !creating && in.IntervalSeconds == nil && m.Paused {
		return nil // pausing an old fast monitor is always allowed
	}
	return FieldErrors{{Field: "interval_seconds", Message: fmt.Sprintf(
		"must be at least %d seconds (the shortest interval allowed on this instance; admins may go lower)", int(floor/time.Second))}}
}

// quotasInput is PATCH /api/v1/users/{id}: limits by kind.
type quotasInput struct {
	Quotas map[string]*int `json:"quotas"`
}

type quotaJSON struct {
	Limit *int `json:"limit"` // null: no limit
	Used  int  `json:"used"`
	// Own tells the limit was set on this account by an admin; else it is
	// the instance's default (admins: none).
	Own bool `json:"own"`
}

// userWithQuotas is a user's JSON with their quotas and minimum interval.
func (a *App) userWithQuotas(ctx context.Context, u store.User) (userJSON, error) {
	j := toUserJSON(u)
	qs, err := a.st.UserQuotas(ctx, u.ID)
	if err != nil {
		return j, err
	}
	j.Quotas = map[string]quotaJSON{}
	for _, q := range qs {
		qj := quotaJSON{Used: q.Used, Own: q.Own}
		if q.Limit > 0 {
			qj.Limit = &q.Limit
		}
		j.Quotas[string(q.Kind)] = qj
	}
	mi := int(a.minIntervalFor(u) / time.Second)
	j.MinInterval = &mi
	return j, nil
}

// apiMe answers the caller's account with their quotas and usage.
func (a *App) apiMe(w http.ResponseWriter, r *http.Request) {
	j, err := a.userWithQuotas(r.Context(), userFrom(r.Context()))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// apiUpdateUser lets an admin set a user's own quotas:
// {"quotas":{"monitors":2000,"channels":null}} — a number is the limit (0:
// none), null goes back to the instance's default, kinds left out stay.
func (a *App) apiUpdateUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var in quotasInput
	if err := decodeJSON(w, r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	var fe FieldErrors
	set := map[store.QuotaKind]*int{}
	for k, v := range in.Quotas {
		switch {
		case !slices.Contains(quotaNames, k):
			fe.add("quotas."+k, "is not a quota (one of %s)", strings.Join(quotaNames, ", "))
		case v != nil && (*v < 0 || *v > 1_000_000):
			fe.add("quotas."+k, "must be from 0 (no limit) to 1000000, or null for the instance's default")
		default:
			set[store.QuotaKind(k)] = v
		}
	}
	if in.Quotas == nil {
		fe.add("quotas", "is required")
	}
	if len(fe) > 0 {
		slices.SortFunc(fe, func(x, y FieldError) int { return strings.Compare(x.Field, y.Field) })
		a.writeError(w, r, fe)
		return
	}
	ctx := r.Context()
	if err := a.st.SetUserQuotas(ctx, id, set); err != nil {
		a.writeError(w, r, storeErr(err))
		return
	}
	u, err := a.st.UserByID(ctx, id)
	if err != nil {
		a.writeError(w, r, storeErr(err))
		return
	}
	j, err := a.userWithQuotas(ctx, u)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// rateLimiter is the checker's count of runs the host rate cap skipped.
type rateLimiter interface{ RateLimited(id int64) int64 }

func (a *App) rateLimited(id int64) int64 {
	if rl, ok := a.sched.(rateLimiter); ok {
		return rl.RateLimited(id)
	}
	return 0
}
