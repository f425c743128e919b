package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upwatch/upwatch/store"
)

// ---- fixtures ----

// dispClock is a settable clock shared by the store and the dispatcher.
type dispClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *dispClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *dispClock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// round is one dispatch round as the spy saw it: the time it claimed for
// and how many deliveries it got.
type round struct {
	now     time.Time
	claimed int
}

// spyStore is the real store, reporting every claim and finish on
// channels so tests wait on events instead of sleeping.
type spyStore struct {
	*store.Store
	rounds   chan round
	finished chan store.DeliveryAttempt
}

func (s *spyStore) ClaimDeliveries(ctx context.Context, now time.Time, limit int) ([]store.Delivery, error) {
	ds, err := s.Store.ClaimDeliveries(ctx, now, limit)
	if err == nil {
		select {
		case s.rounds <- round{now, len(ds)}:
		default: // nobody is counting rounds in this test
		}
	}
	return ds, err
}

func (s *spyStore) FinishDelivery(ctx context.Context, id int64, a store.DeliveryAttempt, retryAt time.Time) error {
	err := s.Store.FinishDelivery(ctx, id, a, retryAt)
	if err == nil {
		s.finished <- a
	}
	return err
}

type dispEnv struct {
	st   *spyStore
	user store.User
	logs *lockedBuffer
}

func newDispEnv(t *testing.T, now func() time.Time) *dispEnv {
	t.Helper()
	var opts []store.Option
	if now != nil {
		opts = append(opts, store.WithClock(now))
	}
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "upwatch.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	u, err := st.CreateUser(context.Background(), "ops@example.com", "h", false)
	if err != nil {
		t.Fatal(err)
	}
	return &dispEnv{
		st:   &spyStore{Store: st, rounds: make(chan round, 100000), finished: make(chan store.DeliveryAttempt, 100)},
		user: u,
		logs: &lockedBuffer{},
	}
}

func (e *dispEnv) channel(t *testing.T, typ, settings string) store.Channel {
	t.Helper()
	c, err := e.st.CreateChannel(context.Background(), store.Channel{UserID: e.user.ID, Name: typ, Type: typ,
		Settings: json.RawMessage(settings), Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *dispEnv) monitor(t *testing.T, name string, reminder time.Duration, channels ...int64) store.Monitor {
	t.Helper()
	m, err := e.st.CreateMonitor(context.Background(), store.Monitor{
		UserID: e.user.ID, Name: name, URL: "https://" + name + ".example.com/health", Method: "GET",
		Interval: time.Minute, Timeout: 10 * time.Second, ExpectedStatus: "200-299", Confirmations: 2,
		ReminderEvery: reminder, Channels: channels,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// transition saves a status change with Alert set, as the result sink does.
func (e *dispEnv) transition(t *testing.T, m store.Monitor, from, to string, at time.Time) {
	t.Helper()
	err := e.st.SaveChecks(context.Background(), nil, []store.StateUpdate{{
		MonitorID: m.ID, State: store.MonitorState{Status: to, Since: at},
		Transition: &store.Transition{MonitorID: m.ID, From: from, To: to, At: at,
			Reason: "status", Error: "HTTP 503 Service Unavailable", StatusCode: 503, Alert: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

func (e *dispEnv) dispatcher(cfg DispatchConfig) *Dispatcher {
	if cfg.Options.HTTPClient == nil {
		cfg.Options = testOptions()
	}
	cfg.Logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return NewDispatcher(e.st, cfg)
}

// run starts d and returns a stop function that cancels it and waits for
// Run to return.
func run(t *testing.T, d *Dispatcher) (stop func()) {
	t.Helper()
	stop, _ = runCancel(t, d)
	return stop
}

// runCancel is run that also returns the bare cancel of Run's context.
func runCancel(t *testing.T, d *Dispatcher) (stop, cancel func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		d.Run(ctx)
		close(done)
	}()
	stop = func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Fatal("Run did not return")
		}
	}
	t.Cleanup(stop)
	return stop, cancel
}

func (e *dispEnv) waitFinished(t *testing.T) store.DeliveryAttempt {
	t.Helper()
	select {
	case a := <-e.finished():
		return a
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery finished")
		return store.DeliveryAttempt{}
	}
}

func (e *dispEnv) finished() <-chan store.DeliveryAttempt { return e.st.finished }

// waitRound waits for a dispatch round at or after at and returns it.
func (e *dispEnv) waitRound(t *testing.T, at time.Time) round {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case r := <-e.st.rounds:
			if !r.now.Before(at) {
				return r
			}
		case <-deadline:
			t.Fatalf("no dispatch round at %v or later", at)
			return round{}
		}
	}
}

// hookReq is one request a hook received.
type hookReq struct {
	at   time.Time
	path string
	body []byte
}

// hook is a receiver on 127.0.0.1 whose answer to the n-th request (from 1)
// is up to the test.
func hook(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) (*httptest.Server, <-chan hookReq) {
	t.Helper()
	reqs := make(chan hookReq, 100)
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		reqs <- hookReq{at: time.Now(), path: r.URL.Path, body: b}
		answer(i, w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, reqs
}

func ok200(int, http.ResponseWriter, *http.Request) {}

func waitReq(t *testing.T, reqs <-chan hookReq) hookReq {
	t.Helper()
	select {
	case r := <-reqs:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("receiver got no request")
		return hookReq{}
	}
}

func noMoreReqs(t *testing.T, reqs <-chan hookReq) {
	t.Helper()
	select {
	case r := <-reqs:
		t.Errorf("unexpected request: %s", r.body)
	default:
	}
}

func webhookEvent(t *testing.T, r hookReq) WebhookPayload {
	t.Helper()
	var p WebhookPayload
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("webhook body: %v: %s", err, r.body)
	}
	return p
}

func ntfyTitle(t *testing.T, r hookReq) string {
	t.Helper()
	var p ntfyPayload
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("ntfy body: %v: %s", err, r.body)
	}
	return p.Title
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

const hookSecret = "s3cr3t-t0ken-in-the-path"

// ---- tests ----

func TestDispatchRetriesUntilDeliveredOnce(t *testing.T) {
	env := newDispEnv(t, nil)
	srv, reqs := hook(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, "boom")
		}
	})
	ch := env.channel(t, TypeWebhook, fmt.Sprintf(`{"url": %q}`, srv.URL+"/hook/"+hookSecret))
	m := env.monitor(t, "api", 0, ch.ID)
	backoff := 50 * time.Millisecond
	d := env.dispatcher(DispatchConfig{Backoff: []time.Duration{backoff}, Poll: 10 * time.Millisecond,
		BaseURL: "https://upwatch.example.com/"})
	stop := run(t, d)

	env.transition(t, m, store.StatusUp, store.StatusDown, time.Now())
	d.Poke()
	first, second := waitReq(t, reqs), waitReq(t, reqs)
	if gap := second.at.Sub(first.at); gap < backoff {
		t.Errorf("retried after %v, before the %v backoff", gap, backoff)
	}
	for _, r := range []hookReq{first, second} {
		p := webhookEvent(t, r)
		if p.Event != EventDown || p.Monitor.ID != m.ID || p.Monitor.Name != "api" || p.StatusCode != 503 ||
			p.Link != fmt.Sprintf("https://upwatch.example.com/monitors/%d", m.ID) {
			t.Errorf("payload = %+v", p)
		}
	}
	if a := env.waitFinished(t); a.OK || a.Error != "webhook: HTTP 500 Internal Server Error: boom" {
		t.Errorf("first attempt = %+v", a)
	}
	if a := env.waitFinished(t); !a.OK {
		t.Errorf("second attempt = %+v", a)
	}
	stop()
	noMoreReqs(t, reqs) // Run has returned: nothing else can arrive

	ds, err := env.st.ListDeliveries(context.Background(), env.user.ID, ch.ID, 0)
	if err != nil || len(ds) != 1 || ds[0].Status != store.DeliverySent || ds[0].Attempts != 2 || ds[0].LastError != "" {
		t.Fatalf("deliveries = %+v, %v", ds, err)
	}
	as, err := env.st.DeliveryAttempts(context.Background(), env.user.ID, ds[0].ID)
	if err != nil || len(as) != 2 || as[0].OK || !as[1].OK || as[0].Duration <= 0 {
		t.Errorf("attempts = %+v, %v", as, err)
	}
	if logs := env.logs.String(); strings.Contains(logs, hookSecret) || !strings.Contains(logs, "will retry") {
		t.Errorf("logs leak the secret or miss the retry:\n%s", logs)
	}
}

func TestDispatchHangingChannelDoesNotBlockOthers(t *testing.T) {
	env := newDispEnv(t, nil)
	entered, release := make(chan struct{}, 10), make(chan struct{})
	slow, _ := hook(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	fast, fastReqs := hook(t, ok200)
	hanging := env.channel(t, TypeWebhook, fmt.Sprintf(`{"url": %q}`, slow.URL+"/"+hookSecret))
	quick := env.channel(t, TypeNtfy, fmt.Sprintf(`{"server_url": %q, "topic": "alerts", "token": "tk_%s"}`, fast.URL, hookSecret))
	m1 := env.monitor(t, "one", 0, hanging.ID)
	m2 := env.monitor(t, "two", 0, quick.ID)
	d := env.dispatcher(DispatchConfig{Workers: 2, Timeout: 10 * time.Second, Poll: 10 * time.Millisecond})
	stop, cancel := runCancel(t, d)

	env.transition(t, m1, store.StatusUp, store.StatusDown, time.Now())
	d.Poke()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the hanging channel got no request")
	}
	// While it hangs: another monitor's transition is saved at once (the
	// sink never waits for alerts) and its alert goes out.
	env.transition(t, m2, store.StatusUp, store.StatusDown, time.Now())
	d.Poke()
	r := waitReq(t, fastReqs)
	if title := ntfyTitle(t, r); title != "🔴 DOWN: two" {
		t.Errorf("ntfy title = %q", title)
	}
	if a := env.waitFinished(t); !a.OK {
		t.Errorf("the quick channel's attempt: %+v", a)
	}
	select {
	case a := <-env.finished():
		t.Fatalf("the hanging send finished early: %+v", a)
	default:
	}

	// Shutting down lets the send in flight end and records it.
	cancel()
	close(release)
	if a := env.waitFinished(t); !a.OK {
		t.Errorf("the released send: %+v", a)
	}
	stop()
	ds, err := env.st.ListDeliveries(context.Background(), env.user.ID, hanging.ID, 0)
	if err != nil || len(ds) != 1 || ds[0].Status != store.DeliverySent {
		t.Errorf("hanging channel's delivery after shutdown: %+v, %v", ds, err)
	}
}

func TestDispatchTimeoutRetries(t *testing.T) {
	env := newDispEnv(t, nil)
	srv, reqs := hook(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			<-r.Context().Done() // hang until the client gives up
		}
	})
	ch := env.channel(t, TypeWebhook, fmt.Sprintf(`{"url": %q}`, srv.URL+"/"+hookSecret))
	m := env.monitor(t, "api", 0, ch.ID)
	d := env.dispatcher(DispatchConfig{Timeout: 100 * time.Millisecond, Backoff: []time.Duration{10 * time.Millisecond},
		Poll: 10 * time.Millisecond})
	run(t, d)
	env.transition(t, m, store.StatusUp, store.StatusDown, time.Now())
	d.Poke()
	waitReq(t, reqs)
	a := env.waitFinished(t)
	if a.OK || !strings.Contains(a.Error, "deadline exceeded") || strings.Contains(a.Error, hookSecret) ||
		strings.Contains(a.Error, "127.0.0.1") {
		t.Errorf("timed-out attempt = %+v", a)
	}
	waitReq(t, reqs)
	if a := env.waitFinished(t); !a.OK {
		t.Errorf("retry = %+v", a)
	}
}

func TestDispatchRestartSendsNothingTwice(t *testing.T) {
	ctx := context.Background()
	env := newDispEnv(t, nil)
	srv, reqs := hook(t, ok200)
	ch := env.channel(t, TypeWebhook, fmt.Sprintf(`{"url": %q}`, srv.URL+"/"+hookSecret))
	m := env.monitor(t, "api", 0, ch.ID)
	cfg := DispatchConfig{Poll: 10 * time.Millisecond, Backoff: []time.Duration{10 * time.Millisecond}}

	d1 := env.dispatcher(cfg)
	stop1 := run(t, d1)
	env.transition(t, m, store.StatusUp, store.StatusDown, time.Now())
	d1.Poke()
	if p := webhookEvent(t, waitReq(t, reqs)); p.Event != EventDown {
		t.Fatalf("first: %+v", p)
	}
	env.waitFinished(t)
	stop1()

	// The recovery is claimed by a process that dies before sending it.
	env.transition(t, m, store.StatusDown, store.StatusUp, time.Now())
	if ds, err := env.st.Store.ClaimDeliveries(ctx, time.Now(), 10); err != nil || len(ds) != 1 {
		t.Fatalf("claim by the dying process: %+v, %v", ds, err)
	}

	// A new dispatcher on the same store: the interrupted "up" goes out
	// once, the "down" already sent never again; later alerts flow.
	d2 := env.dispatcher(cfg)
	stop2 := run(t, d2)
	if p := webhookEvent(t, waitReq(t, reqs)); p.Event != EventUp || p.DurationSeconds < 0 {
		t.Fatalf("after restart: %+v", p)
	}
	env.waitFinished(t)
	env.transition(t, m, store.StatusUp, store.StatusDown, time.Now())
	d2.Poke()
	if p := webhookEvent(t, waitReq(t, reqs)); p.Event != EventDown {
		t.Fatalf("next alert: %+v", p)
	}
	env.waitFinished(t)
	stop2()
	noMoreReqs(t, reqs)

	ds, err := env.st.ListDeliveries(ctx, env.user.ID, ch.ID, 0)
	if err != nil || len(ds) != 3 {
		t.Fatalf("deliveries: %+v, %v", ds, err)
	}
	for _, d := range ds {
		if d.Status != store.DeliverySent {
			t.Errorf("delivery %s: %s", d.Key, d.Status)
		}
	}
}

func TestDispatchRemindersOncePerPeriod(t *testing.T) {
	clk := &dispClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	env := newDispEnv(t, clk.Now)
	srv, reqs := hook(t, ok200)
	ch := env.channel(t, TypeNtfy, fmt.Sprintf(`{"server_url": %q, "topic": "alerts"}`, srv.URL))
	m := env.monitor(t, "api", 10*time.Minute, ch.ID)
	d := env.dispatcher(DispatchConfig{Now: clk.Now, Poll: 5 * time.Millisecond})
	run(t, d)

	start := clk.Now()
	env.transition(t, m, store.StatusUp, store.StatusDown, start)
	d.Poke()
	if title := ntfyTitle(t, waitReq(t, reqs)); title != "🔴 DOWN: api" {
		t.Fatalf("down title = %q", title)
	}
	env.waitFinished(t)

	quiet := func(d time.Duration) {
		t.Helper()
		at := clk.Add(d)
		if r := env.waitRound(t, at); r.claimed != 0 {
			t.Errorf("at +%v: a round claimed %d", at.Sub(start), r.claimed)
		}
		noMoreReqs(t, reqs)
	}
	reminder := func(d time.Duration, want string) {
		t.Helper()
		clk.Add(d)
		d2 := waitReq(t, reqs)
		if title := ntfyTitle(t, d2); title != want {
			t.Errorf("reminder title = %q, want %q", title, want)
		}
		env.waitFinished(t)
	}
	quiet(5 * time.Minute)
	quiet(4*time.Minute + 59*time.Second)
	reminder(time.Second, "⏰ Still down: api (10m0s)")   // +10m
	quiet(5 * time.Minute)                               // +15m: same period
	reminder(5*time.Minute, "⏰ Still down: api (20m0s)") // +20m
	quiet(time.Minute)

	env.transition(t, m, store.StatusDown, store.StatusUp, clk.Now())
	d.Poke()
	if title := ntfyTitle(t, waitReq(t, reqs)); !strings.HasPrefix(title, "✅ UP: api") {
		t.Errorf("up title = %q", title)
	}
	env.waitFinished(t)
	quiet(30 * time.Minute) // resolved: no more reminders
}

func TestDispatchSendNow(t *testing.T) {
	ctx := context.Background()
	env := newDispEnv(t, nil)
	srv, reqs := hook(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n > 1 {
			w.WriteHeader(http.StatusNotFound)
		}
	})
	ch := env.channel(t, TypeWebhook, fmt.Sprintf(`{"url": %q}`, srv.URL+"/"+hookSecret))
	d := env.dispatcher(DispatchConfig{BaseURL: "https://upwatch.example.com"})

	ev, err := EncodeEvent(Event{Kind: EventTest, Monitor: "api", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	del, err := env.st.EnqueueTest(ctx, env.user.ID, ch.ID, ev)
	if err != nil {
		t.Fatal(err)
	}
	a := d.SendNow(ctx, del)
	if !a.OK || a.DeliveryID != del.ID {
		t.Errorf("SendNow = %+v", a)
	}
	if p := webhookEvent(t, waitReq(t, reqs)); p.Event != EventTest || p.Link != "" {
		t.Errorf("test payload = %+v", p)
	}
	if got, err := env.st.GetDelivery(ctx, env.user.ID, del.ID); err != nil || got.Status != store.DeliverySent {
		t.Errorf("after SendNow: %+v, %v", got, err)
	}

	// A failing test is final (no retry behind the user's back), and the
	// result is recorded even when the request that asked is gone.
	del, err = env.st.EnqueueTest(ctx, env.user.ID, ch.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	reqCtx, cancel := context.WithCancel(ctx)
	a = d.SendNow(reqCtx, del)
	cancel()
	if a.OK || a.Error != "webhook: HTTP 404 Not Found" {
		t.Errorf("failed SendNow = %+v", a)
	}
	got, err := env.st.GetDelivery(ctx, env.user.ID, del.ID)
	if err != nil || got.Status != store.DeliveryFailed || strings.Contains(got.LastError, hookSecret) {
		t.Errorf("after a failed SendNow: %+v, %v", got, err)
	}
}

func TestDispatchRetryPolicy(t *testing.T) {
	d := NewDispatcher(nil, DispatchConfig{Backoff: []time.Duration{time.Second, 2 * time.Second}})
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name     string
		err      error
		attempts int
		want     time.Duration // -1: give up
	}{
		{"5xx, first attempt", &StatusError{StatusCode: 503}, 1, time.Second},
		{"5xx, second attempt", &StatusError{StatusCode: 500}, 2, 2 * time.Second},
		{"out of attempts", &StatusError{StatusCode: 500}, 3, -1},
		{"network error", errors.New("webhook: Post request failed: connection refused"), 1, time.Second},
		{"timeout", fmt.Errorf("slack: %w", context.DeadlineExceeded), 1, time.Second},
		{"429 with Retry-After", &StatusError{StatusCode: 429, RetryAfter: 90 * time.Second}, 1, 90 * time.Second},
		{"Retry-After shorter than backoff", &StatusError{StatusCode: 429, RetryAfter: time.Millisecond}, 2, 2 * time.Second},
		{"Retry-After too long", &StatusError{StatusCode: 503, RetryAfter: 2 * time.Hour}, 1, -1},
		{"408", &StatusError{StatusCode: 408}, 1, time.Second},
		{"404", &StatusError{StatusCode: 404}, 1, -1},
		{"401", fmt.Errorf("wrapped: %w", &StatusError{StatusCode: 401}), 1, -1},
		{"invalid settings", permanent(FieldErrors{{Field: "url", Message: "is required"}}), 1, -1},
		{"SMTP 550", fmt.Errorf("email: RCPT: %w", &textproto.Error{Code: 550, Msg: "no such user"}), 1, -1},
		{"SMTP 421", fmt.Errorf("email: DATA: %w", &textproto.Error{Code: 421, Msg: "try later"}), 1, time.Second},
	} {
		got := d.retryAt(store.Delivery{Attempts: c.attempts}, c.err, now)
		want := time.Time{}
		if c.want >= 0 {
			want = now.Add(c.want)
		}
		if !got.Equal(want) {
			t.Errorf("%s: retry at %v, want %v", c.name, got, want)
		}
	}
}

func TestDispatchPermanentFailures(t *testing.T) {
	ctx := context.Background()
	env := newDispEnv(t, nil)
	// Settings that no longer validate: failed at once, no retry.
	ch := env.channel(t, TypeWebhook, `{"url": "ftp://example.com/x"}`)
	m := env.monitor(t, "api", 0, ch.ID)
	d := env.dispatcher(DispatchConfig{Poll: 10 * time.Millisecond})
	run(t, d)
	env.transition(t, m, store.StatusUp, store.StatusDown, time.Now())
	d.Poke()
	if a := env.waitFinished(t); a.OK || !strings.Contains(a.Error, "channel settings") {
		t.Errorf("attempt = %+v", a)
	}
	ds, err := env.st.ListDeliveries(ctx, env.user.ID, ch.ID, 0)
	if err != nil || len(ds) != 1 || ds[0].Status != store.DeliveryFailed || ds[0].Attempts != 1 {
		t.Errorf("deliveries = %+v, %v", ds, err)
	}
}

func TestEventSnapshotRoundTrip(t *testing.T) {
	e := Event{Kind: EventUp, MonitorID: 7, Monitor: "api", URL: "https://x", Reason: "status", Error: "e",
		StatusCode: 503, StartedAt: time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.UTC),
		At: time.Date(2025, 1, 2, 3, 9, 5, 0, time.UTC), Duration: 5 * time.Minute, Link: "dropped"}
	raw, err := EncodeEvent(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeEvent(raw)
	e.Link = ""
	if err != nil || got != e {
		t.Errorf("round trip = %+v, %v\nwant %+v", got, err, e)
	}
	if _, err := DecodeEvent(json.RawMessage(`{"kind":"explode"}`)); err == nil {
		t.Error("unknown kind accepted")
	}
	if _, err := DecodeEvent(json.RawMessage(`[`)); err == nil {
		t.Error("invalid JSON accepted")
	}
}
