package app

import (
	"context"
	"time"
)

// Flapping limits a monitor may take.
const (
	maxFlapChanges = 100
	maxFlapMinutes = 24 * 60
	// maxPeriodSeconds bounds confirm_seconds and recover_seconds: a day.
	maxPeriodSeconds = 86400
)

// checkQuiet validates what a monitor says about staying quiet
// (dependencies, flapping limits) before it is saved.
func (a *App) checkQuiet(ctx context.Context, userID, id int64, in monitorInput) error {
	var fe FieldErrors
	if in.FlapChanges != nil && (*in.FlapChanges < 0 || *in.FlapChanges > maxFlapChanges) {
		fe.add("flap_changes", "must be from 0 (off) to %d", maxFlapChanges)
	}
	if in.FlapMinutes != nil && (*in.FlapMinutes < 1 || *in.FlapMinutes > maxFlapMinutes) {
		fe.add("flap_minutes", "must be from 1 to %d", maxFlapMinutes)
	}
	for _, f := range []struct {
		name string
		v    *int
	}{{"confirm_seconds", in.ConfirmSeconds}, {"recover_seconds", in.RecoverSeconds}} {
		if f.v != nil && (*f.v < 0 || *f.v > maxPeriodSeconds) {
			fe.add(f.name, "must be from 0 (off) to %d", maxPeriodSeconds)
		}
	}
	if len(fe) > 0 {
		return fe
	}
	return a.checkDependsOn(ctx, userID, id, in.DependsOn)
}

// flapReloader is the checker's side (a test's scheduler may lack it).
type flapReloader interface {
	ReloadFlapping(ctx context.Context) error
}

// setQuiet stores them once the monitor is saved.
func (a *App) setQuiet(ctx context.Context, userID, id int64, in monitorInput) error {
	if err := a.setDependsOn(ctx, userID, id, in.DependsOn); err != nil {
		return err
	}
	if err := a.setPeriods(ctx, userID, id, in); err != nil {
		return err
	}
	if in.FlapChanges == nil && in.FlapMinutes == nil {
		return nil
	}
	cur, err := a.st.FlapSettingsOf(ctx, []int64{id})
	if err != nil {
		return err
	}
	f := cur[id]
	if in.FlapChanges != nil {
		f.Changes = *in.FlapChanges
	}
	if in.FlapMinutes != nil {
		f.Window = time.Duration(*in.FlapMinutes) * time.Minute
	}
	if err := a.st.SetFlapSettings(ctx, userID, id, f); err != nil {
		return storeErr(err)
	}
	if r, ok := a.sched.(flapReloader); ok {
		if err := r.ReloadFlapping(ctx); err != nil {
			a.log.Error("reloading flapping settings", "err", err)
		}
	}
	return nil
}

// periodReloader is the checker's side (a test's scheduler may lack it).
type periodReloader interface {
	ReloadPeriods(ctx context.Context) error
}

// setPeriods stores confirm_seconds and recover_seconds, when given.
func (a *App) setPeriods(ctx context.Context, userID, id int64, in monitorInput) error {
	if in.ConfirmSeconds == nil && in.RecoverSeconds == nil {
		return nil
	}
	cur, err := a.st.PeriodsOf(ctx, []int64{id})
	if err != nil {
		return err
	}
	p := cur[id]
	if in.ConfirmSeconds != nil {
		p.Confirm = time.Duration(*in.ConfirmSeconds) * time.Second
	}
	if in.RecoverSeconds != nil {
		p.Recover = time.Duration(*in.RecoverSeconds) * time.Second
	}
	if err := a.st.SetPeriods(ctx, userID, id, p); err != nil {
		return storeErr(err)
	}
	if r, ok := a.sched.(periodReloader); ok {
		if err := r.ReloadPeriods(ctx); err != nil {
			a.log.Error("reloading periods", "err", err)
		}
	}
	return nil
}
