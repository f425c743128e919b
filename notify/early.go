package notify

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/upwatch/upwatch/store"
)

// TargetReader is what SendEarly reads: *store.Store, from its read pool.
type TargetReader interface {
	AlertTargets(ctx context.Context, monitorID int64) (store.AlertTargets, error)
}

// SendEarly sends a transition's alert to the monitor's enabled channels
// now, while the database cannot queue it (a full disk, a lock held by
// another process): one attempt per channel, recorded in t.Early, which
// SaveChecks turns into delivery records once storage works again (a
// channel that failed is then retried as usual). Reading the channels
// needs only the read pool, which those outages leave working.
func (d *Dispatcher) SendEarly(ctx context.Context, t *store.Transition) {
	defer t.Early.Finish()
	tr, ok := d.st.(TargetReader)
	if !ok {
		return
	}
	log := d.cfg.Logger.With("monitor", t.MonitorID, "to", t.To)
	var (
		tg  store.AlertTargets
		err error
	)
	for try := 0; try < 3; try++ {
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		tg, err = tr.AlertTargets(rctx, t.MonitorID)
		cancel()
		if err == nil || errors.Is(err, store.ErrNotFound) {
			break
		}
		sleepCtx(ctx, time.Second)
	}
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			log.Error("alerts: the database cannot be read either; this alert goes out when it is back", "err", err)
		}
		return
	}
	ev, ok := store.EarlyEvent(t, tg.Name, tg.URL)
	if !ok || len(tg.Channels) == 0 {
		return
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return
	}
	var wg sync.WaitGroup
	for _, ch := range tg.Channels {
		wg.Go(func() {
			del := store.Delivery{ChannelID: ch.ID, MonitorID: t.MonitorID, Kind: ev.Kind, Attempts: 1,
				Event: body, ChannelType: ch.Type, ChannelSettings: ch.Settings, OwnerAdmin: tg.OwnerAdmin}
			a, err := d.attempt(ctx, del)
			t.Early.Record(ch.ID, a)
			if err != nil {
				log.Warn("alert not sent while the database is unavailable; it is retried once the database is back", "channel", ch.ID, "err", a.Error)
				return
			}
			log.Info("alert sent while the database is unavailable; recorded when it is back", "channel", ch.ID, "kind", ev.Kind, "took", a.Duration)
		})
	}
	wg.Wait()
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
