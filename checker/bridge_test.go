package checker

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upwatch/upwatch/internal/testredis"
)

func newBridge(t *testing.T, cfg BridgeConfig) (*Bridge, *Queue) {
	t.Helper()
	q := NewQueue(testredis.Mini(t).Client)
	if err := q.Setup(context.Background(), "eu"); err != nil {
		t.Fatal(err)
	}
	cfg.Logger = quietLogger()
	return NewBridge(q, cfg), q
}

func euJob(id int64, timeout time.Duration) Job {
	return Job{Spec: Spec{MonitorID: id, URL: "http://127.0.0.1:1/", Timeout: timeout}, Region: "eu", Due: 1,
		Expires: time.Now().Add(time.Hour).UnixMilli()}
}

// A long-poll holds until jobs are published to its region, and answers
// at once when they are; without jobs it answers empty after its wait.
func TestBridgeLongPoll(t *testing.T) {
	ctx := context.Background()
	b, q := newBridge(t, BridgeConfig{})
	start := time.Now()
	got, err := b.Jobs(ctx, "eu", "w1", 10, 300*time.Millisecond, nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty poll: %v %v", got, err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 2*time.Second {
		t.Fatalf("empty poll answered after %v, want its 300ms wait", d)
	}

	type answer struct {
		msgs []JobMsg
		at   time.Time
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		msgs, err := b.Jobs(ctx, "eu", "w1", 10, 10*time.Second, nil)
		done <- answer{msgs, time.Now(), err}
	}()
	time.Sleep(200 * time.Millisecond)
	// Jobs of another region do not answer it.
	if err := q.PublishJobs(ctx, []Job{{Spec: Spec{MonitorID: 9}, Region: "us", Expires: time.Now().Add(time.Hour).UnixMilli()}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	published := time.Now()
	if err := q.PublishJobs(ctx, []Job{euJob(1, time.Second), euJob(2, time.Second)}); err != nil {
		t.Fatal(err)
	}
	a := <-done
	if a.err != nil || len(a.msgs) != 2 || a.msgs[0].Job.Spec.MonitorID != 1 {
		t.Fatalf("poll: %+v %v", a.msgs, a.err)
	}
	if d := a.at.Sub(published); d > 500*time.Millisecond {
		t.Errorf("poll answered %v after the publish, want at once", d)
	}
	// They are pending under the HTTPS worker's consumer name. (The
	// pending list filters on at least 1 ms idle: give them that.)
	time.Sleep(5 * time.Millisecond)
	pend, err := q.PendingJobs(ctx, "eu", 0, "-", 10)
	if err != nil || len(pend) != 2 || pend[0].Consumer != "https:w1" {
		t.Fatalf("pending %+v %v", pend, err)
	}
}

// The caller's check runs while a poll waits and ends it with its error
// (a revoked token); Close ends polls at once.
func TestBridgeStillAndClose(t *testing.T) {
	ctx := context.Background()
	b, _ := newBridge(t, BridgeConfig{})
	revoked := errors.New("revoked")
	calls := 0
	start := time.Now()
	_, err := b.Jobs(ctx, "eu", "w1", 10, 20*time.Second, func(context.Context) error {
		calls++
		if calls == 2 {
			return revoked
		}
		return nil
	})
	if !errors.Is(err, revoked) || time.Since(start) > 3*time.Second {
		t.Fatalf("poll ended with %v after %v, want revoked within 2 s", err, time.Since(start))
	}

	// Also while publishes keep waking it for jobs that others took.
	b2, q := newBridge(t, BridgeConfig{})
	stopWaking := make(chan struct{})
	defer close(stopWaking)
	go func() {
		for {
			select {
			case <-stopWaking:
				return
			case <-time.After(50 * time.Millisecond):
				q.published.notify([]Job{{Region: "eu"}})
			}
		}
	}()
	start = time.Now()
	_, err = b2.Jobs(ctx, "eu", "w1", 10, 20*time.Second, func(context.Context) error { return revoked })
	if !errors.Is(err, revoked) || time.Since(start) > 3*time.Second {
		t.Fatalf("woken poll ended with %v after %v, want revoked within 2 s", err, time.Since(start))
	}

	done := make(chan error, 1)
	go func() {
		_, err := b.Jobs(ctx, "eu", "w1", 10, 20*time.Second, nil)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	b.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("Close did not end the poll")
	}
}

// A job an HTTPS worker took and never answered (it died) is given to
// another HTTPS worker after the job's timeout plus the margin, not
// before; and the bridge heals a group that vanished.
func TestBridgeReclaimsDeadWorkersJobs(t *testing.T) {
	ctx := context.Background()
	const margin = 300 * time.Millisecond
	b, q := newBridge(t, BridgeConfig{ClaimMargin: margin})
	if err := q.PublishJobs(ctx, []Job{euJob(1, 500*time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	got, err := b.Jobs(ctx, "eu", "dead", 10, 0, nil)
	if err != nil || len(got) != 1 {
		t.Fatalf("dead worker's poll: %v %v", got, err)
	}
	read := time.Now()
	var claimed []JobMsg
	for len(claimed) == 0 {
		if time.Since(read) > 6*time.Second {
			t.Fatal("the dead worker's job was not re-claimed")
		}
		if claimed, err = b.Jobs(ctx, "eu", "live", 10, 500*time.Millisecond, nil); err != nil {
			t.Fatal(err)
		}
	}
	took := time.Since(read)
	t.Logf("re-claimed %v after the dead worker took it", took.Round(time.Millisecond))
	if took < 500*time.Millisecond+margin || claimed[0].ID != got[0].ID {
		t.Fatalf("re-claimed %v after %v, want %s after its timeout + margin", claimed, took, got[0].ID)
	}
	time.Sleep(10 * time.Millisecond) // PendingJobs lists entries idle for 1 ms at least
	pend, err := q.PendingJobs(ctx, "eu", 0, "-", 10)
	if err != nil || len(pend) != 1 || pend[0].Consumer != "https:live" {
		t.Fatalf("pending %+v %v", pend, err)
	}
	if err := b.Complete(ctx, "eu", nil, []string{claimed[0].ID}); err != nil {
		t.Fatal(err)
	}

	if err := q.rdb.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Jobs(ctx, "eu", "live", 10, 0, nil); err != nil {
		t.Fatalf("after a flush: %v", err)
	}
	if err := q.PublishJobs(ctx, []Job{euJob(2, time.Second)}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Jobs(ctx, "eu", "live", 10, time.Second, nil); err != nil || len(got) != 1 {
		t.Fatalf("after the group was recreated: %v %v", got, err)
	}
}

// The remote queue maps the server's answers: 401 and 403 refuse the
// worker (ErrDenied, with the server's words), 5xx and 429 are passing
// (ErrUnavailable), 404 says the URL is not an upwatch server; results are
// sent within the server's bounds.
func TestRemoteQueueAnswers(t *testing.T) {
	var mu sync.Mutex
	status := http.StatusUnauthorized
	var sizes []int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer upww_x" {
			t.Errorf("authorization %q", r.Header.Get("Authorization"))
		}
		if r.URL.Path == WorkerResultsPath {
			var in ResultsRequest
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Region != "eu" {
				t.Errorf("results request: %+v %v", in, err)
			}
			sizes = append(sizes, len(in.Results), len(in.Acks))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"title":"x","detail":"the token is not for region us"}`))
	}))
	defer srv.Close()
	rq := NewRemoteQueue(srv.URL+"/", "upww_x", nil)
	ctx := context.Background()
	for code, want := range map[int]error{401: ErrDenied, 403: ErrDenied, 503: ErrUnavailable, 429: ErrUnavailable, 404: nil} {
		mu.Lock()
		status = code
		mu.Unlock()
		_, err := rq.ReadJobs(ctx, "us", "w", 4, 0)
		if err == nil || want != nil && !errors.Is(err, want) || want == nil && (errors.Is(err, ErrDenied) || errors.Is(err, ErrUnavailable)) {
			t.Errorf("%d: %v, want %v", code, err, want)
		}
		if code != 404 && !strings.Contains(err.Error(), "not for region us") {
			t.Errorf("%d: %v does not carry the server's detail", code, err)
		}
		if code == 404 && !strings.Contains(err.Error(), "root URL") {
			t.Errorf("404: %v", err)
		}
	}
	srv.Close()
	if _, err := rq.ReadJobs(ctx, "us", "w", 4, 0); !errors.Is(err, ErrUnavailable) {
		t.Errorf("server down: %v", err)
	}

	srv2 := httptest.NewServer(srv.Config.Handler)
	defer srv2.Close()
	rq = NewRemoteQueue(srv2.URL, "upww_x", nil)
	results := make([]Result, 600)
	acks := make([]string, 700)
	for i := range results {
		results[i] = Result{MonitorID: int64(i), Region: "eu"}
	}
	for i := range acks {
		acks[i] = "1-1"
	}
	if err := rq.Complete(ctx, "eu", results, acks); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []int{256, 512, 256, 188, 88, 0}
	if len(sizes) != len(want) {
		t.Fatalf("requests %v, want %v", sizes, want)
	}
	for i := range want {
		if sizes[i] != want[i] {
			t.Fatalf("requests %v, want %v", sizes, want)
		}
	}
}

// Answers are read to the end, so one connection serves every request:
// over TLS a new one would cost a handshake each time.
func TestRemoteQueueReusesConnections(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Large enough to be sent chunked, as a poll's answer is.
		jobs := make([]WireJob, 100)
		for i := range jobs {
			jobs[i] = WireJob{ID: "1-1", Job: &Job{Region: "eu", Spec: Spec{URL: "https://example.com/" + strings.Repeat("x", 50)}}}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(JobsResponse{Jobs: jobs})
	}))
	var conns atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()
	rq := NewRemoteQueue(srv.URL, "upww_x", srv.Client())
	for range 5 {
		if got, err := rq.ReadJobs(context.Background(), "eu", "w", 100, 0); err != nil || len(got) != 100 {
			t.Fatalf("read: %v %v", got, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 5 requests, want 1", n)
	}
}
