package checker

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

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
		fmt.Println(ln.Addr().String())
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// targetProcess starts the test binary as a target server; it is killed
// when the benchmark ends.
func targetProcess(b *testing.B) string {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "UPWATCH_BENCH_TARGET=1")
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
