package app

// The HTTPS worker endpoint: `upwatch worker --server URL --token upww_…`
// joins through the server's own HTTP port when the queue is the server's
// private embedded one. Every request carries a worker token, looked up on
// each request (revoking one refuses its next request, and ends a
// long-poll within a second); a token is good for its regions and for
// nothing else, and nothing else is good here. The queue side is
// checker.Bridge; the client is checker.RemoteQueue.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/store"
)

// workerTokenPrefix starts every worker token (as upw_ does API tokens).
const workerTokenPrefix = "upww_"

// maxPollsPerToken caps the long-polls one token holds at once: a worker
// holds one, so a few workers may share a token.
const maxPollsPerToken = 4

var (
	errWorkerToken = &apiError{Status: http.StatusUnauthorized, Title: "Unauthorized",
		Detail: "missing, wrong or revoked worker token (Authorization: Bearer upww_…)"}
	errWorkerTokenHere = &apiError{Status: http.StatusUnauthorized, Title: "Unauthorized",
		Detail: "a worker token only lets `upwatch worker` fetch jobs and send results; use an API token here"}
	errNoBridge = &apiError{Status: http.StatusServiceUnavailable, Title: "Unavailable",
		Detail: "this server does not take HTTPS workers"}
	errTooManyPolls = &apiError{Status: http.StatusTooManyRequests, Title: "Too many requests",
		Detail: fmt.Sprintf("this worker token already has %d requests for jobs waiting; give each few workers their own token", maxPollsPerToken)}
)

// workerAuth is the token of an HTTPS worker's request.
type workerAuth struct {
	token store.WorkerToken
	hash  []byte
}

// requireWorker authenticates a request by worker token, and only so.
func (a *App) requireWorker(next func(http.ResponseWriter, *http.Request, workerAuth)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		raw = strings.TrimSpace(raw)
		if !ok || !strings.HasPrefix(raw, workerTokenPrefix) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="upwatch worker"`)
			a.writeError(w, r, errWorkerToken)
			return
		}
		if a.bridge == nil {
			a.writeError(w, r, errNoBridge)
			return
		}
		hash := hashToken(raw)
		t, err := a.st.WorkerTokenByHash(r.Context(), hash)
		if errors.Is(err, store.ErrNotFound) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="upwatch worker", error="invalid_token"`)
			err = errWorkerToken
		}
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		next(w, r, workerAuth{token: t, hash: hash})
	}
}

// allows refuses a region the token is not for.
func (wa workerAuth) allows(region string) error {
	if slices.Contains(wa.token.Regions, region) {
		return nil
	}
	return &apiError{Status: http.StatusForbidden, Title: "Forbidden", Field: "region",
		Detail: fmt.Sprintf("worker token %q is for region %s, not %q", wa.token.Name, strings.Join(wa.token.Regions, ", "), trunc(region, 40))}
}

// validWorkerName accepts what a worker calls itself: 1 to 100 letters,
// digits, dots, dashes and underscores.
func validWorkerName(s string) bool {
	if s == "" || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// checkWorker validates what every worker request names: its region (in
// the token) and its own name.
func checkWorker(wa workerAuth, region, name string) error {
	if !validWorkerName(name) {
		return badRequest("name", "must be 1 to 100 letters, digits, dots, dashes or underscores")
	}
	return wa.allows(region)
}

// GET /api/v1/worker/token: what the token is for, so that a worker
// started without --region takes the token's only one.
func (a *App) workerToken(w http.ResponseWriter, r *http.Request, wa workerAuth) {
	writeJSON(w, http.StatusOK, checker.TokenInfo{Name: wa.token.Name, Regions: wa.token.Regions})
}

// POST /api/v1/worker/jobs: a long-poll for jobs.
func (a *App) workerJobs(w http.ResponseWriter, r *http.Request, wa workerAuth) {
	var in checker.JobsRequest
	if err := decodeJSON(w, r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	var fe FieldErrors
	if in.Count < 1 || in.Count > checker.MaxPollJobs {
		fe.add("count", "must be from 1 to %d", checker.MaxPollJobs)
	}
	if in.WaitMS < 0 || in.WaitMS > int(checker.MaxPollWait.Milliseconds()) {
		fe.add("wait_ms", "must be from 0 to %d", checker.MaxPollWait.Milliseconds())
	}
	if len(fe) > 0 {
		a.writeError(w, r, fe)
		return
	}
	if err := checkWorker(wa, in.Region, in.Name); err != nil {
		a.writeError(w, r, err)
		return
	}
	if !a.polls.acquire(wa.token.ID) {
		w.Header().Set("Retry-After", "1")
		a.writeError(w, r, errTooManyPolls)
		return
	}
	defer a.polls.release(wa.token.ID)
	// Checked again each second while the poll waits: a revoked token
	// ends it then.
	still := func(ctx context.Context) error {
		if _, err := a.st.WorkerTokenByHash(ctx, wa.hash); errors.Is(err, store.ErrNotFound) {
			return errWorkerToken
		}
		return nil
	}
	msgs, err := a.bridge.Jobs(r.Context(), in.Region, in.Name, in.Count, time.Duration(in.WaitMS)*time.Millisecond, still)
	if r.Context().Err() != nil {
		return // the worker went away; what was read stays pending, to be re-claimed
	}
	if err != nil {
		a.writeError(w, r, queueErr(err))
		return
	}
	out := checker.JobsResponse{Jobs: make([]checker.WireJob, len(msgs))}
	for i := range msgs {
		out.Jobs[i].ID = msgs[i].ID
		if msgs[i].Err != nil {
			out.Jobs[i].Error = msgs[i].Err.Error()
		} else {
			out.Jobs[i].Job = &msgs[i].Job
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// POST /api/v1/worker/results: results of the token's regions, and the
// acknowledgements of the jobs they answer.
func (a *App) workerResults(w http.ResponseWriter, r *http.Request, wa workerAuth) {
	var in checker.ResultsRequest
	if err := decodeJSON(w, r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := wa.allows(in.Region); err != nil {
		a.writeError(w, r, err)
		return
	}
	var fe FieldErrors
	if len(in.Results) > checker.MaxSendResults {
		fe.add("results", "at most %d in one request", checker.MaxSendResults)
	}
	if len(in.Acks) > checker.MaxSendAcks {
		fe.add("acks", "at most %d in one request", checker.MaxSendAcks)
	}
	for i := range in.Results {
		// A result counts for the region it names: only the request's.
		if in.Results[i].Region == "" {
			in.Results[i].Region = in.Region
		}
		if in.Results[i].Region != in.Region {
			fe.add("results", "result %d is for region %q, not %q", i, trunc(in.Results[i].Region, 40), in.Region)
			break
		}
	}
	for _, id := range in.Acks {
		if !validStreamID(id) {
			fe.add("acks", "%q is not a job id", trunc(id, 40))
			break
		}
	}
	if len(fe) > 0 {
		a.writeError(w, r, fe)
		return
	}
	if err := a.bridge.Complete(r.Context(), in.Region, in.Results, in.Acks); err != nil {
		a.writeError(w, r, queueErr(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// POST /api/v1/worker/heartbeat: the worker's record on the Workers page,
// under its consumer name and by the server's clock; stopped removes it.
func (a *App) workerHeartbeat(w http.ResponseWriter, r *http.Request, wa workerAuth) {
	var in checker.HeartbeatRequest
	if err := decodeJSON(w, r, &in); err != nil {
		a.writeError(w, r, err)
		return
	}
	if err := checkWorker(wa, in.Region, in.Name); err != nil {
		a.writeError(w, r, err)
		return
	}
	name := checker.BridgeConsumerPrefix + in.Name
	var err error
	if in.Stopped {
		err = a.bridge.RemoveWorker(r.Context(), name)
	} else {
		var started time.Time
		if in.StartedAt > 0 {
			started = time.UnixMilli(in.StartedAt)
		}
		err = a.bridge.Heartbeat(r.Context(), checker.WorkerInfo{
			Name: name, Region: in.Region, Version: cutRunes(in.Version, 64), Host: cutRunes(in.Host, 255),
			StartedAt: started, LastSeen: a.now(),
			InFlight: max(in.InFlight, 0), ChecksPerMinute: max(in.ChecksPerMinute, 0), Concurrency: max(in.Concurrency, 0),
		})
	}
	if err != nil {
		a.writeError(w, r, queueErr(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// queueErr answers a queue failure with 503: the worker retries.
func queueErr(err error) error {
	var ae *apiError
	if errors.As(err, &ae) {
		return err
	}
	return &apiError{Status: http.StatusServiceUnavailable, Title: "Unavailable", Detail: "the job queue is unavailable; retry", wrapped: err}
}

// validStreamID accepts a Redis stream ID: digits, a dash, digits.
func validStreamID(s string) bool {
	ms, seq, ok := strings.Cut(s, "-")
	return ok && len(s) <= 41 && allDigits(ms) && allDigits(seq)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// cutRunes shortens s to at most n characters.
func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// pollLimiter counts each token's long-polls in progress.
type pollLimiter struct {
	mu sync.Mutex
	n  map[int64]int
}

func (l *pollLimiter) acquire(id int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == nil {
		l.n = map[int64]int{}
	}
	if l.n[id] >= maxPollsPerToken {
		return false
	}
	l.n[id]++
	return true
}

func (l *pollLimiter) release(id int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[id]--; l.n[id] <= 0 {
		delete(l.n, id)
	}
}
