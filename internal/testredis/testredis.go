// Package testredis gives tests the two queue backends upwatch supports: the
// embedded miniredis and a real redis-server, started on a private unix
// socket (no TCP port at all). Without redis-server the real backend is
// skipped on a laptop and fails the test when CI=true.
package testredis

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Backend is one Redis-compatible server for a test.
type Backend struct {
	Name   string
	Client *redis.Client
	URL    string // for code that takes REDIS_URL

	stop, start func(t testing.TB)
}

// Stop shuts the server down, losing its data, as a Redis without
// persistence loses it when it stops.
func (b Backend) Stop(t testing.TB) { t.Helper(); b.stop(t) }

// Start starts a stopped server again, empty, on the same address.
func (b Backend) Start(t testing.TB) { t.Helper(); b.start(t) }

// Restart stops the server and starts it again empty after down.
func (b Backend) Restart(t testing.TB, down time.Duration) {
	t.Helper()
	b.Stop(t)
	time.Sleep(down)
	b.Start(t)
}

// Mini starts an embedded miniredis for the test.
func Mini(t testing.TB) Backend {
	t.Helper()
	mr := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	return Backend{Name: "miniredis", Client: c, URL: "redis://" + mr.Addr(),
		stop: func(testing.TB) {
			mr.Close()
			mr.FlushAll()
		},
		start: func(t testing.TB) {
			// Close cancelled the context blocking commands wait on, and
			// Restart keeps it: without a new one every blocking read
			// would hang.
			mr.Lock()
			mr.Ctx, mr.CtxCancel = context.WithCancel(context.Background())
			mr.Unlock()
			if err := mr.Restart(); err != nil {
				t.Fatalf("restart miniredis: %v", err)
			}
		},
	}
}

// Real starts a redis-server on a unix socket in a temp dir.
func Real(t testing.TB) Backend {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is required in CI: %v", err)
		}
		t.Skip("redis-server not installed")
	}
	dir, err := os.MkdirTemp("", "upwatch-redis-")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "redis.sock")
	var cmd *exec.Cmd
	start := func(t testing.TB) {
		cmd = exec.Command(bin, "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
			"--save", "", "--appendonly", "no", "--dir", dir)
		cmd.Stdout, cmd.Stderr = nil, nil
		if err := cmd.Start(); err != nil {
			t.Fatalf("start redis-server: %v", err)
		}
		waitReady(t, sock)
	}
	stop := func(testing.TB) {
		if cmd != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			cmd = nil
		}
	}
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: sock})
	t.Cleanup(func() {
		_ = c.Close()
		stop(t)
		_ = os.RemoveAll(dir)
	})
	start(t)
	return Backend{Name: "redis-server", Client: c, URL: "unix://" + sock, stop: stop, start: start}
}

// waitReady waits until the server on sock answers, on a client of its own.
func waitReady(t testing.TB, sock string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: sock, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not answer: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Each runs f against miniredis and a real redis-server.
func Each(t *testing.T, f func(t *testing.T, b Backend)) {
	t.Run("miniredis", func(t *testing.T) { f(t, Mini(t)) })
	t.Run("redis-server", func(t *testing.T) { f(t, Real(t)) })
}
