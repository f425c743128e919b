package checker

// The HTTPS worker transport: a JobQueue that talks to the server's worker
// endpoint (app/worker_api.go) instead of Redis, for installs whose queue
// is the server's private embedded one. Every request carries a worker
// token (Authorization: Bearer upww_…) scoped to regions.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Paths and bounds of the worker endpoint, shared by both ends.
const (
	WorkerTokenPath     = "/api/v1/worker/token"
	WorkerJobsPath      = "/api/v1/worker/jobs"
	WorkerResultsPath   = "/api/v1/worker/results"
	WorkerHeartbeatPath = "/api/v1/worker/heartbeat"

	MaxPollWait    = 25 * time.Second // a long-poll's wait at most
	MaxPollJobs    = 256              // jobs asked for in one poll at most
	MaxSendResults = 256              // results in one request at most
	MaxSendAcks    = 512              // acknowledgements in one request at most
)

// Wire types of the worker endpoint.
type (
	// TokenInfo answers GET WorkerTokenPath: what the token is for.
	TokenInfo struct {
		Name    string   `json:"name"`
		Regions []string `json:"regions"`
	}
	// JobsRequest is a long-poll for jobs.
	JobsRequest struct {
		Region string `json:"region"`
		Name   string `json:"name"` // the worker's name; its consumer is "https:" + name
		Count  int    `json:"count"`
		WaitMS int    `json:"wait_ms"`
	}
	JobsResponse struct {
		Jobs []WireJob `json:"jobs"`
	}
	// WireJob is a job and its stream ID; Error instead of Job when the
	// message could not be decoded (the worker drops it, acknowledged).
	WireJob struct {
		ID    string `json:"id"`
		Job   *Job   `json:"job,omitempty"`
		Error string `json:"error,omitempty"`
	}
	// ResultsRequest sends results and acknowledges jobs (results' own
	// region must be the request's).
	ResultsRequest struct {
		Region  string   `json:"region"`
		Results []Result `json:"results"`
		Acks    []string `json:"acks"`
	}
	// HeartbeatRequest is a worker's heartbeat; Stopped removes it.
	HeartbeatRequest struct {
		Region          string `json:"region"`
		Name            string `json:"name"`
		Version         string `json:"version"`
		Host            string `json:"host"`
		StartedAt       int64  `json:"started_at"` // unix ms
		InFlight        int    `json:"in_flight"`
		ChecksPerMinute int    `json:"checks_per_minute"`
		Concurrency     int    `json:"concurrency"`
		Stopped         bool   `json:"stopped,omitempty"`
	}
)

// ErrUnavailable marks a failure that may pass by itself: the server is
// unreachable, restarting behind its proxy, or busy. Anything else the
// server answered is about the request.
var ErrUnavailable = errors.New("server unavailable")

const (
	// pollWait is how long a remote read waits for jobs, and pollSlack how
	// much longer the request may take before the connection is presumed
	// dead (a proxy that stopped answering).
	pollWait  = 20 * time.Second
	pollSlack = 15 * time.Second
	// sendTimeout bounds every other request; maxSendBytes the body of one
	// results request (the server takes 1 MiB).
	sendTimeout  = 15 * time.Second
	maxSendBytes = 768 << 10
)

// RemoteQueue is a JobQueue over the server's HTTPS worker endpoint. It
// keeps no consumer-group upkeep of its own: the server's bridge re-claims
// and reaps for its HTTPS consumers.
type RemoteQueue struct {
	base  string
	token string
	hc    *http.Client
	wait  time.Duration

	mu     sync.Mutex
	region string // of the last heartbeat, for RemoveWorker
}

// NewRemoteQueue talks to the server at serverURL (its root, e.g.
// https://upwatch.example) with a worker token. hc nil: a client of its
// own.
func NewRemoteQueue(serverURL, token string, hc *http.Client) *RemoteQueue {
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			ForceAttemptHTTP2:     true,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: pollWait + pollSlack,
			// Jobs and results are small and the CPU is the cost that
			// matters (see BenchmarkHTTPSTransport): no gzip.
			DisableCompression: true,
		}}
	}
	return &RemoteQueue{base: strings.TrimRight(serverURL, "/"), token: token, hc: hc, wait: pollWait}
}

// Token asks the server what the worker token is for.
func (r *RemoteQueue) Token(ctx context.Context) (TokenInfo, error) {
	var out TokenInfo
	err := r.do(ctx, http.MethodGet, WorkerTokenPath, nil, &out, sendTimeout)
	return out, err
}

// Setup does nothing: the server keeps the streams and groups.
func (r *RemoteQueue) Setup(context.Context, ...string) error { return nil }

// ReadJobs long-polls the server for up to count jobs. It waits longer
// than block: the server answers as soon as there are jobs, and an idle
// poll costs a request every 20 s instead of two a second.
func (r *RemoteQueue) ReadJobs(ctx context.Context, region, consumer string, count int, _ time.Duration) ([]JobMsg, error) {
	req := JobsRequest{Region: region, Name: consumer, Count: min(max(count, 1), MaxPollJobs), WaitMS: int(r.wait.Milliseconds())}
	var resp JobsResponse
	if err := r.do(ctx, http.MethodPost, WorkerJobsPath, &req, &resp, r.wait+pollSlack); err != nil {
		return nil, fmt.Errorf("read jobs: %w", err)
	}
	out := make([]JobMsg, len(resp.Jobs))
	for i, j := range resp.Jobs {
		out[i].ID = j.ID
		switch {
		case j.Error != "":
			out[i].Err = fmt.Errorf("message %s: %s", j.ID, j.Error)
		case j.Job == nil:
			out[i].Err = fmt.Errorf("message %s has no job", j.ID)
		default:
			out[i].Job = *j.Job
		}
	}
	return out, nil
}

// Complete sends results and acknowledgements, in as many requests as the
// server's bounds need (one, but for the backlog of an outage).
func (r *RemoteQueue) Complete(ctx context.Context, region string, results []Result, ackIDs []string) error {
	for len(results) > 0 || len(ackIDs) > 0 {
		nr, na := min(len(results), MaxSendResults), min(len(ackIDs), MaxSendAcks)
		body, err := json.Marshal(ResultsRequest{Region: region, Results: results[:nr], Acks: ackIDs[:na]})
		if err != nil {
			return fmt.Errorf("encode results: %w", err)
		}
		for len(body) > maxSendBytes && nr > 1 {
			// Unusually large results (long errors, escaped excerpts).
			nr = (nr + 1) / 2
			if body, err = json.Marshal(ResultsRequest{Region: region, Results: results[:nr], Acks: ackIDs[:na]}); err != nil {
				return fmt.Errorf("encode results: %w", err)
			}
		}
		if err := r.do(ctx, http.MethodPost, WorkerResultsPath, json.RawMessage(body), nil, sendTimeout); err != nil {
			return fmt.Errorf("send %d results: %w", nr, err)
		}
		results, ackIDs = results[nr:], ackIDs[na:]
	}
	return nil
}

// Heartbeat sends the worker's heartbeat; the server records it with its
// own clock, under the worker's consumer name.
func (r *RemoteQueue) Heartbeat(ctx context.Context, w WorkerInfo) error {
	r.mu.Lock()
	r.region = w.Region
	r.mu.Unlock()
	return r.do(ctx, http.MethodPost, WorkerHeartbeatPath, &HeartbeatRequest{
		Region: w.Region, Name: w.Name, Version: w.Version, Host: w.Host, StartedAt: w.StartedAt.UnixMilli(),
		InFlight: w.InFlight, ChecksPerMinute: w.ChecksPerMinute, Concurrency: w.Concurrency,
	}, nil, sendTimeout)
}

// RemoveWorker removes the worker's heartbeat (it stops cleanly).
func (r *RemoteQueue) RemoveWorker(ctx context.Context, name string) error {
	r.mu.Lock()
	region := r.region
	r.mu.Unlock()
	if region == "" {
		return nil // it never sent one
	}
	return r.do(ctx, http.MethodPost, WorkerHeartbeatPath, &HeartbeatRequest{Region: region, Name: name, Stopped: true}, nil, sendTimeout)
}

// do sends one JSON request and decodes a JSON answer into out (if any).
func (r *RemoteQueue) do(ctx context.Context, method, path string, in, out any, timeout time.Duration) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, body)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer func() {
		// Read to the end, so that the connection is reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}()
	if resp.StatusCode/100 == 2 {
		if out == nil {
			return nil
		}
		if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
			return fmt.Errorf("%w: %s: bad answer: %w", ErrUnavailable, path, err)
		}
		return nil
	}
	detail := problemDetail(resp)
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized:
		return fmt.Errorf("%w (401 Unauthorized): %s; an admin creates worker tokens on the server's Workers page", ErrDenied, detail)
	case code == http.StatusForbidden:
		return fmt.Errorf("%w (403 Forbidden): %s", ErrDenied, detail)
	case code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("%w: %s answered %d: %s", ErrUnavailable, path, code, detail)
	case code == http.StatusNotFound:
		return fmt.Errorf("%s answered 404: is %s the root URL of an upwatch server with HTTPS workers?", path, r.base)
	default:
		return fmt.Errorf("%s answered %d: %s", path, code, detail)
	}
}

// problemDetail is what an error answer says: a problem document's detail,
// or the start of whatever else (a proxy's error page).
func problemDetail(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == "application/problem+json" || ct == "application/json" {
		var p struct{ Detail, Title string }
		if json.Unmarshal(b, &p) == nil && (p.Detail != "" || p.Title != "") {
			return cmp.Or(p.Detail, p.Title)
		}
	}
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		s = resp.Status
	}
	return s
}
