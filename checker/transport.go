package checker

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// JobQueue is what a Worker needs of its transport: the Redis streams
// directly (*Queue), or the server's HTTPS worker endpoint (*RemoteQueue).
type JobQueue interface {
	// Setup makes sure the region's stream and group exist.
	Setup(ctx context.Context, regions ...string) error
	// ReadJobs reads up to count new jobs of a region for consumer,
	// waiting at most block (a remote queue may wait longer: it long-polls).
	ReadJobs(ctx context.Context, region, consumer string, count int, block time.Duration) ([]JobMsg, error)
	// Complete sends results and acknowledges the jobs they answer.
	Complete(ctx context.Context, region string, results []Result, ackIDs []string) error
	Heartbeat(ctx context.Context, w WorkerInfo) error
	RemoveWorker(ctx context.Context, name string) error
}

// queueKeeper is the consumer-group upkeep a worker does when it talks to
// Redis itself: re-claiming jobs a dead consumer left pending and removing
// dead consumers. A transport without it (the HTTPS one) leaves that to
// the other end, where the server's bridge does it for its consumers.
type queueKeeper interface {
	PendingJobs(ctx context.Context, region string, minIdle time.Duration, start string, count int) ([]PendingJob, error)
	PeekJobs(ctx context.Context, region string, ids []string) (map[string]JobMsg, error)
	ClaimJobs(ctx context.Context, region, consumer string, minIdle map[string]time.Duration) ([]JobMsg, error)
	AckJobs(ctx context.Context, region string, ids []string) error
	Consumers(ctx context.Context, region string) ([]redis.XInfoConsumer, error)
	DeleteIdleConsumers(ctx context.Context, region string, names []string) (int, error)
}

var (
	_ JobQueue    = (*Queue)(nil)
	_ queueKeeper = (*Queue)(nil)
	_ JobQueue    = (*RemoteQueue)(nil)
)

// ErrDenied marks a transport's refusal of the worker itself (a wrong or
// revoked token, a region the token is not for): retrying cannot help, so
// a Worker stops with it.
var ErrDenied = errors.New("the server refused this worker")
