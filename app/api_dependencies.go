package app

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/upwatch/upwatch/store"
	"github.com/upwatch/upwatch/views"
)

// maxDependsOn bounds the monitors one monitor may depend on.
const maxDependsOn = 50

// checkDependsOn validates "depends_on" before a monitor is saved: the
// user's own monitors only, no cycle (id 0: a monitor being created, which
// nothing depends on yet).
func (a *App) checkDependsOn(ctx context.Context, userID, id int64, deps *[]int64) error {
	if deps == nil {
		return nil
	}
	if len(*deps) > maxDependsOn {
		return FieldErrors{{Field: "depends_on", Message: "must list at most 50 monitors"}}
	}
	for _, p := range *deps {
		if p == id {
			return FieldErrors{{Field: "depends_on", Message: "a monitor cannot depend on itself"}}
		}
		if _, err := a.st.GetMonitor(ctx, userID, p); errors.Is(err, store.ErrNotFound) {
			return FieldErrors{{Field: "depends_on", Message: "names a monitor that does not exist"}}
		} else if err != nil {
			return err
		}
	}
	if id == 0 {
		return nil
	}
	// The store checks again in its transaction; this answers before the
	// monitor's other fields are saved.
	return dependsOnErr(a.wouldCycle(ctx, userID, id, *deps))
}

// wouldCycle tells (as ErrDependencyCycle) whether id depending on deps
// closes a cycle: walks up from deps through the user's graph.
func (a *App) wouldCycle(ctx context.Context, userID, id int64, deps []int64) error {
	mons, err := a.st.ListMonitors(ctx, userID)
	if err != nil {
		return err
	}
	ids := make([]int64, len(mons))
	for i, m := range mons {
		ids[i] = m.ID
	}
	up, err := a.st.DependenciesOf(ctx, ids)
	if err != nil {
		return err
	}
	seen := map[int64]bool{}
	stack := append([]int64(nil), deps...)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n == id {
			return store.ErrDependencyCycle
		}
		if !seen[n] {
			seen[n] = true
			stack = append(stack, up[n]...)
		}
	}
	return nil
}

func dependsOnErr(err error) error {
	switch {
	case errors.Is(err, store.ErrDependencyCycle):
		return FieldErrors{{Field: "depends_on", Message: "would make a cycle: a monitor would depend on itself through others"}}
	case errors.Is(err, store.ErrNotFound):
		return FieldErrors{{Field: "depends_on", Message: "names a monitor that does not exist"}}
	}
	return err
}

// dependencyReloader is the checker's side (a test's scheduler may lack it).
type dependencyReloader interface {
	ReloadDependencies(ctx context.Context) error
}

// setDependsOn stores "depends_on" (when given) and tells the checker.
func (a *App) setDependsOn(ctx context.Context, userID, id int64, deps *[]int64) error {
	if deps == nil {
		return nil
	}
	if err := dependsOnErr(a.st.SetDependencies(ctx, userID, id, dedupe(*deps))); err != nil {
		return err
	}
	if r, ok := a.sched.(dependencyReloader); ok {
		if err := r.ReloadDependencies(ctx); err != nil {
			a.log.Error("reloading dependencies", "err", err)
		}
	}
	return nil
}

// dependsOnForm reads the form's "depends_on" boxes; nil when the form
// had none to offer.
func dependsOnForm(r *http.Request, fe *FieldErrors) *[]int64 {
	if r.PostFormValue("depends_on_present") != "1" {
		return nil
	}
	ids := []int64{}
	for _, s := range r.PostForm["depends_on"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			fe.add("depends_on", "names a monitor that does not exist")
			continue
		}
		ids = append(ids, id)
	}
	return &ids
}

// fillDependsOn offers the user's other monitors, ticked as posted or as
// stored (id 0: a monitor being added).
func (a *App) fillDependsOn(r *http.Request, f *views.MonitorForm, id int64) error {
	uid := userFrom(r.Context()).ID
	mons, err := a.st.ListMonitors(r.Context(), uid)
	if err != nil {
		return err
	}
	ticked := map[int64]bool{}
	if r.PostFormValue("depends_on_present") == "1" {
		for _, s := range r.PostForm["depends_on"] {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				ticked[n] = true
			}
		}
	} else if id != 0 {
		deps, err := a.st.DependenciesOf(r.Context(), []int64{id})
		if err != nil {
			return err
		}
		for _, p := range deps[id] {
			ticked[p] = true
		}
	}
	for _, m := range mons {
		if m.ID != id {
			f.DependsOn = append(f.DependsOn, views.MonitorChoice{ID: m.ID, Name: m.Name, Status: m.State.Status, Checked: ticked[m.ID]})
		}
	}
	return nil
}
