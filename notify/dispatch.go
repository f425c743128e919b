package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/upwatch/upwatch/egress"
	"github.com/upwatch/upwatch/store"
)

// DeliveryStore is the outbox the Dispatcher works from: *store.Store.
type DeliveryStore interface {
	ClaimDeliveries(ctx context.Context, now time.Time, limit int) ([]store.Delivery, error)
	FinishDelivery(ctx context.Context, id int64, a store.DeliveryAttempt, retryAt time.Time) error
	ResetSending(ctx context.Context) (int64, error)
	EnqueueReminders(ctx context.Context, now time.Time) (int, error)
}

// escalationStore is the store's side of escalation policies (a test's
// store may lack it).
type escalationStore interface {
	EnqueueEscalations(ctx context.Context, now time.Time) (int, error)
}

// DispatchConfig configures a Dispatcher; zero fields take the defaults.
type DispatchConfig struct {
	// Workers bounds the sends in flight; default 8. (The store also keeps
	// at most store.MaxSendingPerChannel of one channel in flight, so a
	// slow channel cannot take every worker.)
	Workers int
	// Backoff is the wait before each retry: len(Backoff)+1 attempts in
	// all, then the delivery fails. Default 10s, 30s, 2m, 10m, 30m.
	Backoff []time.Duration
	// Timeout bounds each attempt; default and maximum 10 s.
	Timeout time.Duration
	// Poll is how often to look for due work (retries, reminders) without
	// a Poke; default 1 s.
	Poll time.Duration
	// BaseURL, e.g. "https://upwatch.example.com", makes Event.Link
	// BaseURL + "/monitors/<id>"; empty leaves events without a link.
	BaseURL string
	// Options are given to New for every send.
	Options Options
	// Now is the clock deliveries are due by; it must agree with the
	// store's. Default time.Now.
	Now func() time.Time
	// Logger gets one line per attempt; nil discards. Lines carry ids,
	// kinds and errors, never channel settings.
	Logger *slog.Logger
}

// Dispatch defaults and bounds.
const (
	DefaultDispatchWorkers = 8
	DefaultDispatchTimeout = 10 * time.Second
	DefaultDispatchPoll    = time.Second

	// maxRetryAfter: a channel that asks to be left alone for longer than
	// this gets no retry at all; an alert that late would only mislead.
	maxRetryAfter = time.Hour
	// storeTimeout bounds the dispatcher's own store writes, which are
	// not cancelled with Run's context (see Run).
	storeTimeout = 30 * time.Second
)

// DefaultBackoff returns the default retry schedule (a new slice).
func DefaultBackoff() []time.Duration {
	return []time.Duration{10 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute}
}

// Dispatcher sends the deliveries the store queues: claim the due ones,
// send each in its own goroutine with its own timeout, record the outcome
// and schedule retries. A channel that hangs holds only its own sends,
// until their timeout; checks never wait for alerts, which are queued by
// the result sink's transaction and sent from here.
type Dispatcher struct {
	st    DeliveryStore
	cfg   DispatchConfig
	wake  chan struct{} // Poke; capacity 1
	slots chan struct{} // one token per send in flight
	wg    sync.WaitGroup
}

// NewDispatcher returns a Dispatcher over st; start it with Run.
func NewDispatcher(st DeliveryStore, cfg DispatchConfig) *Dispatcher {
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultDispatchWorkers
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff()
	} else {
		cfg.Backoff = slices.Clone(cfg.Backoff)
	}
	if cfg.Timeout <= 0 || cfg.Timeout > DefaultDispatchTimeout {
		cfg.Timeout = DefaultDispatchTimeout
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultDispatchPoll
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{
		st:    st,
		cfg:   cfg,
		wake:  make(chan struct{}, 1),
		slots: make(chan struct{}, cfg.Workers),
	}
}

// Poke wakes Run to look for due work now, without blocking: the result
// sink calls it after saving a batch with alerting transitions.
func (d *Dispatcher) Poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run first returns deliveries a previous process left sending to the
// queue (store.ResetSending), then until ctx ends: queues due reminders,
// claims as many due deliveries as there are free workers and sends each
// in its own goroutine. It wakes on Poke, when a send ends, and every
// Poll. Run one per store.
//
// When ctx ends, Run claims nothing more but lets the sends in flight end
// (each within Timeout) and records them before returning: cutting them
// off would leave their outcome unknown, and a delivery that may have
// arrived would be sent again at the next start.
func (d *Dispatcher) Run(ctx context.Context) {
	defer d.wg.Wait()
	log := d.cfg.Logger
	timer := time.NewTimer(0)
	defer timer.Stop()
	reset := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-timer.C:
		}
		// Claiming before the reset succeeded would let a later reset
		// hand this process's own sends out again.
		if !reset {
			n, err := d.st.ResetSending(ctx)
			switch {
			case err != nil:
				if ctx.Err() == nil {
					log.Error("alerts: requeue interrupted deliveries failed", "err", err)
				}
			case n > 0:
				log.Warn("alerts: requeued deliveries interrupted by a restart", "count", n)
				fallthrough
			default:
				reset = true
			}
		}
		if reset {
			d.dispatch(ctx)
		}
		timer.Reset(d.cfg.Poll)
	}
}

// dispatch does one round: reminders, then a claim for the free workers.
func (d *Dispatcher) dispatch(ctx context.Context) {
	now := d.cfg.Now()
	if _, err := d.st.EnqueueReminders(ctx, now); err != nil && ctx.Err() == nil {
		d.cfg.Logger.Error("alerts: queue reminders failed", "err", err)
	}
	if es, ok := d.st.(escalationStore); ok {
		if _, err := es.EnqueueEscalations(ctx, now); err != nil && ctx.Err() == nil {
			d.cfg.Logger.Error("alerts: queue escalations failed", "err", err)
		}
	}
	// Only this goroutine takes slots, so at least this many are free.
	free := cap(d.slots) - len(d.slots)
	if free == 0 {
		return // a send ending will wake us
	}
	ds, err := d.st.ClaimDeliveries(ctx, now, free)
	if err != nil {
		if ctx.Err() == nil {
			d.cfg.Logger.Error("alerts: claim deliveries failed", "err", err)
		}
		return
	}
	for _, del := range ds {
		d.slots <- struct{}{}
		d.wg.Add(1)
		go d.deliver(del)
	}
}

// deliver makes one attempt at a claimed delivery and records it. It runs
// apart from Run's context: see Run.
func (d *Dispatcher) deliver(del store.Delivery) {
	defer func() {
		<-d.slots
		d.wg.Done()
		d.Poke() // a worker is free: there may be more due
	}()
	a, err := d.attempt(context.Background(), del)
	var retryAt time.Time
	if err != nil {
		// Backoff counts from the end of the failed attempt: after a
		// timeout, the channel still gets its full rest.
		retryAt = d.retryAt(del, err, d.cfg.Now())
	}
	d.finish(context.Background(), del, a, retryAt)
}

// SendNow sends a delivery the caller holds already claimed, with its
// channel settings (as store.EnqueueTest returns it; not one read back
// with GetDelivery), in the caller's goroutine, records the
// outcome and returns it, so a "send test message" button can show the
// result at once. It never retries: a failure is final. The attempt ends
// with ctx or after Timeout; the record is written even if ctx ended.
func (d *Dispatcher) SendNow(ctx context.Context, del store.Delivery) store.DeliveryAttempt {
	a, _ := d.attempt(ctx, del)
	d.finish(context.WithoutCancel(ctx), del, a, time.Time{})
	return a
}

func (d *Dispatcher) finish(ctx context.Context, del store.Delivery, a store.DeliveryAttempt, retryAt time.Time) {
	log := d.cfg.Logger.With("delivery", del.ID, "channel", del.ChannelID, "type", del.ChannelType,
		"kind", del.Kind, "attempt", del.Attempts)
	switch {
	case a.OK:
		log.Info("alert sent", "took", a.Duration)
	case !retryAt.IsZero():
		log.Warn("alert not sent, will retry", "err", a.Error, "retry_at", retryAt)
	default:
		log.Error("alert failed", "err", a.Error)
	}
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := d.st.FinishDelivery(ctx, del.ID, a, retryAt); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			log.Info("alert outcome not recorded: the delivery was deleted meanwhile (with its channel or monitor) or was not being sent")
			return
		}
		log.Error("alerts: recording the outcome failed", "err", err)
	}
}

// attempt sends del once. The error, if any, is returned for the retry
// policy; its text is in the attempt.
func (d *Dispatcher) attempt(ctx context.Context, del store.Delivery) (store.DeliveryAttempt, error) {
	a := store.DeliveryAttempt{DeliveryID: del.ID, At: d.cfg.Now()}
	start := time.Now()
	err := d.send(ctx, del)
	a.Duration = time.Since(start)
	if err != nil {
		a.Error = err.Error()
	} else {
		a.OK = true
	}
	return a, err
}

func (d *Dispatcher) send(ctx context.Context, del store.Delivery) error {
	ev, err := DecodeEvent(del.Event)
	if err != nil {
		return permanent(err)
	}
	if d.cfg.BaseURL != "" && ev.MonitorID != 0 {
		ev.Link = d.cfg.BaseURL + "/monitors/" + strconv.FormatInt(ev.MonitorID, 10)
	}
	opts := d.cfg.Options
	if opts.Egress != nil {
		// The policy's decision for the channel's owner.
		opts.DenyPrivate = !opts.Egress.PrivateAllowed(del.OwnerAdmin)
	}
	s, err := New(del.ChannelType, del.ChannelSettings, opts)
	if err != nil {
		// Settings stored before a validation rule changed, or edited
		// behind the app's back: retrying cannot help.
		return permanent(fmt.Errorf("%s: channel settings: %w", clean(del.ChannelType, 40), err))
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	return s.Send(ctx, ev)
}

// retryAt is when to try del again after err, or zero to give up: out of
// attempts, or an error that retrying cannot fix (a 4xx answer other than
// 408, 425 and 429, an SMTP 5xx, invalid settings or event). A channel's
// Retry-After is honoured: never sooner, and not at all if it asks for
// more than an hour.
func (d *Dispatcher) retryAt(del store.Delivery, err error, now time.Time) time.Time {
	if !retryable(err) || del.Attempts < 1 || del.Attempts > len(d.cfg.Backoff) {
		return time.Time{}
	}
	wait := d.cfg.Backoff[del.Attempts-1]
	var se *StatusError
	if errors.As(err, &se) && se.RetryAfter > wait {
		if se.RetryAfter > maxRetryAfter {
			return time.Time{}
		}
		wait = se.RetryAfter
	}
	return now.Add(wait)
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return &permanentError{err} }

func retryable(err error) bool {
	var pe *permanentError
	if errors.As(err, &pe) {
		return false
	}
	if _, ok := egress.AsBlocked(err); ok {
		return false // the egress policy refused the address: it will again
	}
	var se *StatusError
	if errors.As(err, &se) {
		switch {
		case se.StatusCode >= 500, se.StatusCode == http.StatusRequestTimeout,
			se.StatusCode == http.StatusTooEarly, se.StatusCode == http.StatusTooManyRequests:
			return true
		}
		return false
	}
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 && te.Code < 600 {
		return false // SMTP permanent failure, e.g. 535 bad login, 550 no such mailbox
	}
	var fe *FieldError
	return !errors.As(err, &fe) // network errors, timeouts, 4xx SMTP: worth another try
}

// DecodeEvent turns a delivery's event snapshot (a store.AlertEvent) into
// an Event, without a Link. An unknown kind is an error.
func DecodeEvent(raw json.RawMessage) (Event, error) {
	var a store.AlertEvent
	if err := json.Unmarshal(raw, &a); err != nil {
		return Event{}, fmt.Errorf("notify: event snapshot: %w", err)
	}
	switch a.Kind {
	case EventDown, EventUp, EventReminder, EventTest, EventDegraded, EventInstance, EventMaintenanceStart, EventMaintenanceEnd, EventFlapping, EventFlappingEnd, EventEscalation:
	default:
		return Event{}, fmt.Errorf("notify: event snapshot: unknown kind %q", clean(a.Kind, 20))
	}
	return Event{
		Kind:       a.Kind,
		MonitorID:  a.MonitorID,
		Monitor:    a.Monitor,
		URL:        a.URL,
		Reason:     a.Reason,
		Error:      a.Error,
		StatusCode: a.StatusCode,
		StartedAt:  a.StartedAt,
		At:         a.At,
		Duration:   a.Duration(),
		From:       a.From,
		Window:     a.Window,
		Changes:    a.Changes,
	}, nil
}

// EncodeEvent is the snapshot of e that store.EnqueueTest takes (e.Link is
// dropped: the dispatcher adds it).
func EncodeEvent(e Event) (json.RawMessage, error) {
	return json.Marshal(store.AlertEvent{
		Kind:       e.Kind,
		MonitorID:  e.MonitorID,
		Monitor:    e.Monitor,
		URL:        e.URL,
		Reason:     e.Reason,
		Error:      e.Error,
		StatusCode: e.StatusCode,
		StartedAt:  e.StartedAt.UTC(),
		At:         e.At.UTC(),
		DurationMS: e.Duration.Milliseconds(),
		From:       e.From,
		Window:     e.Window,
		Changes:    e.Changes,
	})
}
