package checker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Stream and group names. Jobs go to one stream per region so remote workers
// of a region read only their own work; results all go to one stream.
const (
	jobsStreamPrefix = "upwatch:jobs:"
	resultsStream    = "upwatch:results"
	workersGroup     = "workers"
	sinkGroup        = "sink"

	// Jobs are disposable (a stale one is dropped anyway), so a stream that
	// nobody reads is capped; results are deleted once stored.
	jobsMaxLen    = 100_000
	resultsMaxLen = 1_000_000
)

// Job is one scheduled check of one monitor.
type Job struct {
	Spec    Spec   `json:"spec"`
	Region  string `json:"region"`
	Due     int64  `json:"due"`     // the check's time label, unix ms (server's wall clock); names the stored check
	Expires int64  `json:"expires"` // Due + interval: workers that predate TTL drop the job once their own clock passes it
	// TTL is how long the job is worth running, in ms: as the server
	// sends it, from when it was published; once a queue has read it
	// (ReadJobs, ClaimJobs), what is left of that, measured on the queue's
	// own clock. Negative: stale, dropped unrun. Zero: a job of an older
	// server, whose Expires applies. No host's wall clock need agree with
	// another's.
	TTL int64 `json:"ttl,omitempty"`
	// Run and Seq identify the job within the server run that issued it:
	// Seq grows with every job of the run. A result echoes them; the sink
	// orders a monitor's results by Seq, not by their labels, which a step
	// of the wall clock can move backwards.
	Run uint64 `json:"run,omitempty"`
	Seq uint64 `json:"seq,omitempty"`
}

// Result is the outcome of a Job, sent back to the server's sink.
type Result struct {
	MonitorID int64   `json:"id"`
	Region    string  `json:"region"`
	Due       int64   `json:"due"`
	Outcome   Outcome `json:"outcome"`
	Run       uint64  `json:"run,omitempty"` // the job's, echoed; absent from older workers
	Seq       uint64  `json:"seq,omitempty"`
	Worker    string  `json:"worker,omitempty"` // the consumer name of the worker that ran it
}

// JobMsg and ResultMsg pair a decoded message with its stream ID (for XACK).
type JobMsg struct {
	ID  string
	Job Job
	Err error // set when the message could not be decoded
}

type ResultMsg struct {
	ID     string
	Result Result
	Err    error
}

// ErrQueue marks errors of the queue itself (Redis unreachable, a group
// gone), as opposed to errors of what the caller did with the messages.
var ErrQueue = errors.New("queue")

// Queue is the stream transport between scheduler, workers and sink. It works
// the same against the embedded miniredis and a real Redis.
type Queue struct {
	clock queueClock // for the age of jobs read

	rdb redis.UniversalClient
	// published wakes the HTTPS bridge's long-polls when this process
	// publishes jobs (see bridge.go).
	published jobSignal
}

func NewQueue(rdb redis.UniversalClient) *Queue { return &Queue{rdb: rdb} }

func jobsStream(region string) string { return jobsStreamPrefix + region }

// Setup creates the consumer groups (and streams) if they do not exist yet.
func (q *Queue) Setup(ctx context.Context, regions ...string) error {
	pairs := [][2]string{{resultsStream, sinkGroup}}
	for _, r := range regions {
		pairs = append(pairs, [2]string{jobsStream(r), workersGroup})
	}
	for _, p := range pairs {
		err := q.rdb.XGroupCreateMkStream(ctx, p[0], p[1], "0").Err()
		if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
			return fmt.Errorf("queue: create group %s on %s: %w", p[1], p[0], err)
		}
	}
	return nil
}

// Ping reports whether the queue answers.
func (q *Queue) Ping(ctx context.Context) error {
	if err := q.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("queue: ping: %w", err)
	}
	return nil
}

// PublishJobs adds jobs to their region streams in one pipelined round trip.
func (q *Queue) PublishJobs(ctx context.Context, jobs []Job) error {
	if len(jobs) == 0 {
		return nil
	}
	pipe := q.rdb.Pipeline()
	for i := range jobs {
		data, err := json.Marshal(&jobs[i])
		if err != nil {
			return fmt.Errorf("queue: encode job: %w", err)
		}
		pipe.XAdd(ctx, &redis.XAddArgs{
			Stream: jobsStream(jobs[i].Region),
			MaxLen: jobsMaxLen,
			Approx: true,
			Values: []any{"d", data},
		})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("queue: publish %d jobs: %w", len(jobs), err)
	}
	q.published.notify(jobs)
	return nil
}

// ReadJobs reads up to count new jobs of a region, waiting at most block.
func (q *Queue) ReadJobs(ctx context.Context, region, consumer string, count int, block time.Duration) ([]JobMsg, error) {
	msgs, err := q.readGroup(ctx, jobsStream(region), workersGroup, consumer, ">", count, block)
	if err != nil {
		return nil, fmt.Errorf("queue: read jobs: %w", err)
	}
	return q.age(ctx, decodeJobs(msgs)), nil
}

// PendingJob is a job delivered to a consumer and not acknowledged yet.
type PendingJob struct {
	ID       string
	Consumer string
	Idle     time.Duration // since it was last delivered (read or claimed)
}

// PendingJobs lists up to count of a region's jobs that have been pending
// for at least minIdle, from the ID start on ("-" for the first). One
// XPENDING, filtered by the server.
func (q *Queue) PendingJobs(ctx context.Context, region string, minIdle time.Duration, start string, count int) ([]PendingJob, error) {
	ps, err := q.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: jobsStream(region),
		Group:  workersGroup,
		Idle:   max(minIdle, time.Millisecond),
		Start:  start,
		End:    "+",
		Count:  int64(count),
	}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: pending jobs: %w", ErrQueue, err)
	}
	out := make([]PendingJob, len(ps))
	for i, p := range ps {
		out[i] = PendingJob{ID: p.ID, Consumer: p.Consumer, Idle: p.Idle}
	}
	return out, nil
}

// PeekJobs reads jobs by ID without claiming them, in one pipelined round
// trip. IDs no longer in the stream are missing from the map.
func (q *Queue) PeekJobs(ctx context.Context, region string, ids []string) (map[string]JobMsg, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := q.rdb.Pipeline()
	cmds := make([]*redis.XMessageSliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.XRange(ctx, jobsStream(region), id, id)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: peek %d jobs: %w", ErrQueue, len(ids), err)
	}
	out := make(map[string]JobMsg, len(ids))
	for _, c := range cmds {
		for _, m := range decodeJobs(c.Val()) {
			out[m.ID] = m
		}
	}
	return out, nil
}

// ClaimJobs takes over pending jobs for consumer, each only if it is still
// idle for at least its minimum (so two workers never both take one, and a
// job its reader is still running stays with it). One XCLAIM per distinct
// minimum, pipelined.
func (q *Queue) ClaimJobs(ctx context.Context, region, consumer string, minIdle map[string]time.Duration) ([]JobMsg, error) {
	if len(minIdle) == 0 {
		return nil, nil
	}
	byIdle := map[time.Duration][]string{}
	for id, d := range minIdle {
		byIdle[d] = append(byIdle[d], id)
	}
	pipe := q.rdb.Pipeline()
	var cmds []*redis.XMessageSliceCmd
	for d, ids := range byIdle {
		cmds = append(cmds, pipe.XClaim(ctx, &redis.XClaimArgs{
			Stream:   jobsStream(region),
			Group:    workersGroup,
			Consumer: consumer,
			MinIdle:  d,
			Messages: ids,
		}))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: claim %d jobs: %w", ErrQueue, len(minIdle), err)
	}
	var out []JobMsg
	for _, c := range cmds {
		for _, m := range c.Val() {
			if m.ID != "" { // an entry deleted meanwhile (older servers answer nil)
				out = append(out, decodeJobs([]redis.XMessage{m})...)
			}
		}
	}
	return q.age(ctx, out), nil
}

// AckJobs acknowledges (and deletes) jobs without results: ones gone from
// the stream, so that they leave the pending list.
func (q *Queue) AckJobs(ctx context.Context, region string, ids []string) error {
	return q.Complete(ctx, region, nil, ids)
}

// Consumers lists the workers group's consumers of a region.
func (q *Queue) Consumers(ctx context.Context, region string) ([]redis.XInfoConsumer, error) {
	cs, err := q.rdb.XInfoConsumers(ctx, jobsStream(region), workersGroup).Result()
	if err != nil {
		return nil, fmt.Errorf("%w: list consumers: %w", ErrQueue, err)
	}
	return cs, nil
}

// delIdleConsumers deletes each named consumer only if it has nothing
// pending, checked in the same atomic step: XGROUP DELCONSUMER drops a
// consumer's pending entries, and a job dropped so could no longer be
// re-claimed.
var delIdleConsumers = redis.NewScript(`
local n = 0
for _, c in ipairs(ARGV) do
  if #redis.call('XPENDING', KEYS[1], KEYS[2], '-', '+', 1, c) == 0 then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], KEYS[2], c)
    n = n + 1
  end
end
return n`)

// DeleteIdleConsumers removes the named consumers of a region's workers
// group that have nothing pending; it returns how many it removed.
func (q *Queue) DeleteIdleConsumers(ctx context.Context, region string, names []string) (int, error) {
	if len(names) == 0 {
		return 0, nil
	}
	args := make([]any, len(names))
	for i, n := range names {
		args[i] = n
	}
	n, err := delIdleConsumers.Run(ctx, q.rdb, []string{jobsStream(region), workersGroup}, args...).Int()
	if err != nil {
		return 0, fmt.Errorf("%w: delete consumers: %w", ErrQueue, err)
	}
	return n, nil
}

// GroupGone reports whether err means a stream or its consumer group does
// not exist (Redis restarted without its data, or was flushed): Setup
// creates them again.
func GroupGone(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "NOGROUP") || strings.Contains(s, "no such key")
}

func decodeJobs(msgs []redis.XMessage) []JobMsg {
	out := make([]JobMsg, 0, len(msgs))
	for _, m := range msgs {
		jm := JobMsg{ID: m.ID}
		jm.Err = decode(m, &jm.Job)
		out = append(out, jm)
	}
	return out
}

func decode(m redis.XMessage, v any) error {
	s, ok := m.Values["d"].(string)
	if !ok {
		return fmt.Errorf("message %s has no data field", m.ID)
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("message %s: %w", m.ID, err)
	}
	return nil
}

// Complete publishes results and acknowledges (and deletes) the jobs they
// answer, in one pipelined round trip. ackIDs may include dropped jobs.
func (q *Queue) Complete(ctx context.Context, region string, results []Result, ackIDs []string) error {
	if len(results) == 0 && len(ackIDs) == 0 {
		return nil
	}
	pipe := q.rdb.Pipeline()
	for i := range results {
		data, err := json.Marshal(&results[i])
		if err != nil {
			return fmt.Errorf("queue: encode result: %w", err)
		}
		pipe.XAdd(ctx, &redis.XAddArgs{
			Stream: resultsStream,
			MaxLen: resultsMaxLen,
			Approx: true,
			Values: []any{"d", data},
		})
	}
	if len(ackIDs) > 0 {
		pipe.XAck(ctx, jobsStream(region), workersGroup, ackIDs...)
		pipe.XDel(ctx, jobsStream(region), ackIDs...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("queue: complete %d results: %w", len(results), err)
	}
	return nil
}

// ReadResults reads up to count results for the sink. With pending it
// re-reads this consumer's delivered but unacknowledged results (after a
// crash or a failed write) instead of new ones.
func (q *Queue) ReadResults(ctx context.Context, consumer string, count int, block time.Duration, pending bool) ([]ResultMsg, error) {
	start := ">"
	if pending {
		start = "0"
		block = -1 // pending reads never block
	}
	msgs, err := q.readGroup(ctx, resultsStream, sinkGroup, consumer, start, count, block)
	if err != nil {
		return nil, fmt.Errorf("queue: read results: %w", err)
	}
	out := make([]ResultMsg, 0, len(msgs))
	for _, m := range msgs {
		rm := ResultMsg{ID: m.ID}
		rm.Err = decode(m, &rm.Result)
		out = append(out, rm)
	}
	return out, nil
}

// readGroup reads one stream as a consumer group member; a read that timed
// out with nothing new is no messages, not an error.
func (q *Queue) readGroup(ctx context.Context, stream, group, consumer, start string, count int, block time.Duration) ([]redis.XMessage, error) {
	streams, err := q.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group:    group,
		Consumer: consumer,
		Streams:  []string{stream, start},
		Count:    int64(count),
		Block:    block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var msgs []redis.XMessage
	for _, s := range streams {
		msgs = append(msgs, s.Messages...)
	}
	return msgs, nil
}

// AckResults acknowledges and deletes stored results.
func (q *Queue) AckResults(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	pipe := q.rdb.Pipeline()
	pipe.XAck(ctx, resultsStream, sinkGroup, ids...)
	pipe.XDel(ctx, resultsStream, ids...)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("%w: ack %d results: %w", ErrQueue, len(ids), err)
	}
	return nil
}
