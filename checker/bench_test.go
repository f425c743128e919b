package checker

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/upwatch/upwatch/internal/testredis"
	"github.com/upwatch/upwatch/store"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestMain lets the test binary double as a loopback HTTP target in its own
// process, so benchmarks measure the monitor's CPU and not the target's.
func TestMain(m *testing.M) {
	if os.Getenv("UPWATCH_BENCH_TARGET") == "1" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		delay, _ := time.ParseDuration(os.Getenv("UPWATCH_BENCH_DELAY"))
		fmt.Println(ln.Addr().String())
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(delay) }))
		os.Exit(0)
	}
	if url := os.Getenv("UPWATCH_BENCH_WORKER"); url != "" {
		benchWorker(url)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// benchWorker makes the test binary an `upwatch worker` of region "bench"
// with 16 check slots, until it is told to stop (SIGTERM).
func benchWorker(redisURL string) {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	w := NewWorker(NewQueue(rdb), NewProber(ProbeEnv{Region: "bench"}), WorkerConfig{
		Region: "bench", Name: fmt.Sprint("bench-", os.Getpid()), Concurrency: 16, Logger: quietLogger(),
	})
	_ = w.Run(ctx)
}

// targetProcess starts the test binary as a target server; it is killed
// when the benchmark ends.
func targetProcess(b *testing.B) string { return slowTargetProcess(b, 0) }

// slowTargetProcess is a target that answers after delay.
func slowTargetProcess(b *testing.B, delay time.Duration) string {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "UPWATCH_BENCH_TARGET=1", "UPWATCH_BENCH_DELAY="+delay.String())
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("target process: %v", err)
	}
	return "http://" + strings.TrimSpace(addr) + "/"
}

// BenchmarkPipeline measures the whole path of a check in the server process
// — schedule, embedded queue, worker, HTTP probe on a fresh connection to a
// loopback target in another process, result sink, SQLite — as the server
// process's CPU time per stored check. One op is one round of every monitor
// checked once (monitors run at a 1 s interval).
func BenchmarkPipeline(b *testing.B) {
	target := targetProcess(b)
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("monitors=%d", n), func(b *testing.B) {
			st, u := openStoreB(b)
			for i := 0; i < n; i++ {
				if _, err := st.CreateMonitor(context.Background(), store.Monitor{
					UserID: u.ID, Name: fmt.Sprint("m", i), URL: target, Method: "GET", Interval: time.Second,
					Timeout: time.Second, ExpectedStatus: "200-299", Confirmations: 2,
				}); err != nil {
					b.Fatal(err)
				}
			}
			var stored atomic.Int64
			c := New(st, NewQueue(testredis.Mini(b).Client), Config{
				LocalWorkers: 64, Logger: quietLogger(),
				OnSaved: func(cs []store.Check, _ []store.StateUpdate) { stored.Add(int64(len(cs))) },
			})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx) }()
			// Warm up: the first round is spread over one interval.
			for stored.Load() < int64(n) {
				time.Sleep(10 * time.Millisecond)
			}
			b.ResetTimer()
			start, cpu0, from := time.Now(), cpuTime(), stored.Load()
			for i := 0; i < b.N; i++ {
				for stored.Load() < from+int64((i+1)*n) {
					time.Sleep(5 * time.Millisecond)
				}
			}
			b.StopTimer()
			got := stored.Load() - from
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(got), "cpu-µs/check")
			b.ReportMetric(float64(got)/time.Since(start).Seconds(), "checks/s")
			cancel()
			<-done
		})
	}
}

func openStoreB(b *testing.B) (*store.Store, store.User) {
	st, err := store.Open(context.Background(), b.TempDir()+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	u, err := st.CreateFirstUser(context.Background(), "b@example.com", "x")
	if err != nil {
		b.Fatal(err)
	}
	return st, u
}

// BenchmarkMemoryPerMonitor reports the checker's resident cost of one
// scheduled monitor (schedule slot, probe spec, state), in bytes.
func BenchmarkMemoryPerMonitor(b *testing.B) {
	const n = 10000
	mons := make([]store.Monitor, n)
	for i := range mons {
		mons[i] = store.Monitor{ID: int64(i + 1), Name: fmt.Sprint("service ", i), URL: fmt.Sprintf("https://svc%05d.example.test/health", i),
			Method: "GET", Interval: time.Minute, Timeout: 10 * time.Second, ExpectedStatus: "200-299", Confirmations: 2,
			FollowRedirects: true, VerifyTLS: true, State: store.MonitorState{Status: store.StatusUp}}
	}
	var perMonitor float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		c := New(nil, nil, Config{Logger: quietLogger(), Prober: nopProber{}})
		now := time.Now()
		for _, m := range mons {
			c.putLocked(m, now.Add(spread(m.ID, m.Interval)))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perMonitor = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(c)
	}
	b.ReportMetric(perMonitor, "bytes/monitor")
}

type nopProber struct{}

func (nopProber) Probe(context.Context, Spec) Outcome { return Outcome{} }

// BenchmarkWorkerProcesses shows checks per second growing with the
// number of worker processes: each `worker` process (the test binary in
// worker mode) has 16 check slots, and the target takes 100 ms to answer,
// so one process can run ~160 checks/s; 400 monitors at a 1 s interval
// want 400. The server runs no checks itself (region "bench" only).
func BenchmarkWorkerProcesses(b *testing.B) {
	target := slowTargetProcess(b, 100*time.Millisecond)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("processes=%d", workers), func(b *testing.B) {
			const n = 400
			mr := testredis.Mini(b)
			st, u := openStoreB(b)
			for i := 0; i < n; i++ {
				if _, err := st.CreateMonitor(context.Background(), store.Monitor{
					UserID: u.ID, Name: fmt.Sprint("m", i), URL: target, Method: "GET", Interval: time.Second,
					Timeout: time.Second, ExpectedStatus: "200-299", Confirmations: 2,
				}); err != nil {
					b.Fatal(err)
				}
			}
			for i := 0; i < workers; i++ {
				cmd := exec.Command(os.Args[0], "-test.run=^$")
				cmd.Env = append(os.Environ(), "UPWATCH_BENCH_WORKER="+mr.URL)
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
			}
			var stored atomic.Int64
			c := New(st, NewQueue(mr.Client), Config{
				LocalWorkers: -1, Logger: quietLogger(), DefaultRegions: []string{"bench"},
				OnSaved: func(cs []store.Check, _ []store.StateUpdate) { stored.Add(int64(len(cs))) },
			})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx) }()
			defer func() { cancel(); <-done }()
			time.Sleep(2 * time.Second) // warm up: first round spread, workers connected
			b.ResetTimer()
			start, from := time.Now(), stored.Load()
			for i := 0; i < b.N; i++ {
				time.Sleep(time.Second)
			}
			b.StopTimer()
			b.ReportMetric(float64(stored.Load()-from)/time.Since(start).Seconds(), "checks/s")
		})
	}
}
