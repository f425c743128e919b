package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/internal/testredis"
	"github.com/upwatch/upwatch/static"
	"github.com/upwatch/upwatch/store"
)

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type okProber struct{}

func (okProber) Probe(context.Context, checker.Spec) checker.Outcome {
	return checker.Outcome{OK: true, StatusCode: 200, Latency: time.Millisecond}
}

// BenchmarkHTTPSTransport is what a check costs in transport: jobs
// published to a region, taken by a worker, answered with a result (the
// probe itself does nothing) and read back as the server's sink reads
// them — the worker on the queue directly (as a Redis worker), or over
// the server's worker endpoint (as an HTTPS worker: plain HTTP on
// loopback, with gzip, and over TLS). Client, server and the embedded
// queue all run in this process: cpu-µs/check is all of their CPU. One op
// is one batch of jobs round-tripped.
func BenchmarkHTTPSTransport(b *testing.B) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	const token = "upww_benchmark-token-0123456789abcdefghijklmnopq"
	if _, err := st.CreateWorkerToken(ctx, "bench", []string{"eu"}, token[:11], hashToken(token), 0); err != nil {
		b.Fatal(err)
	}
	assets, err := static.New()
	if err != nil {
		b.Fatal(err)
	}

	transports := []struct {
		name  string
		queue func(b *testing.B, q *checker.Queue) checker.JobQueue
	}{
		{"queue", func(_ *testing.B, q *checker.Queue) checker.JobQueue { return q }},
		{"http", func(b *testing.B, q *checker.Queue) checker.JobQueue {
			srv := httptest.NewServer(New(Config{}, Deps{Store: st, Queue: q, Assets: assets, Logger: log}).Handler())
			b.Cleanup(srv.Close)
			return checker.NewRemoteQueue(srv.URL, token, nil)
		}},
		{"http-gzip", func(b *testing.B, q *checker.Queue) checker.JobQueue {
			srv := httptest.NewServer(New(Config{}, Deps{Store: st, Queue: q, Assets: assets, Logger: log}).Handler())
			b.Cleanup(srv.Close)
			tr := http.DefaultTransport.(*http.Transport).Clone()
			tr.MaxIdleConnsPerHost = 4 // as NewRemoteQueue's own client: poll, results and heartbeat at once
			return checker.NewRemoteQueue(srv.URL, token, &http.Client{Transport: tr})
		}},
		{"https", func(b *testing.B, q *checker.Queue) checker.JobQueue {
			srv := httptest.NewTLSServer(New(Config{}, Deps{Store: st, Queue: q, Assets: assets, Logger: log}).Handler())
			b.Cleanup(srv.Close)
			hc := srv.Client()
			hc.Transport.(*http.Transport).DisableCompression = true
			hc.Transport.(*http.Transport).MaxIdleConnsPerHost = 4
			return checker.NewRemoteQueue(srv.URL, token, hc)
		}},
	}
	for _, batch := range []int{1, 100} {
		for _, tr := range transports {
			b.Run(fmt.Sprintf("jobs=%d/transport=%s", batch, tr.name), func(b *testing.B) {
				q := checker.NewQueue(testredis.Mini(b).Client)
				if err := q.Setup(ctx, "eu"); err != nil {
					b.Fatal(err)
				}
				w := checker.NewWorker(tr.queue(b, q), okProber{}, checker.WorkerConfig{
					Region: "eu", Name: "bench", Concurrency: 64, Logger: log})
				wctx, stop := context.WithCancel(ctx)
				done := make(chan error, 1)
				go func() { done <- w.Run(wctx) }()
				b.Cleanup(func() { stop(); <-done })

				jobs := make([]checker.Job, batch)
				for i := range jobs {
					jobs[i] = checker.Job{Spec: checker.Spec{MonitorID: int64(i + 1), URL: "http://127.0.0.1:1/health-" + strings.Repeat("x", 40),
						Method: "GET", Timeout: 10 * time.Second, ExpectedStatus: "200-299", FollowRedirects: true, VerifyTLS: true}, Region: "eu"}
				}
				round := func() {
					now := time.Now()
					for i := range jobs {
						jobs[i].Due, jobs[i].Expires = now.UnixMilli(), now.Add(time.Minute).UnixMilli()
					}
					if err := q.PublishJobs(ctx, jobs); err != nil {
						b.Fatal(err)
					}
					for got := 0; got < batch; {
						msgs, err := q.ReadResults(ctx, "sink", batch, time.Second, false)
						if err != nil {
							b.Fatal(err)
						}
						ids := make([]string, len(msgs))
						for i, m := range msgs {
							ids[i] = m.ID
						}
						if err := q.AckResults(ctx, ids); err != nil {
							b.Fatal(err)
						}
						got += len(msgs)
					}
				}
				round() // warm up: connections, groups, the bridge's consumer
				b.ResetTimer()
				cpu0, start := processCPU(), time.Now()
				for i := 0; i < b.N; i++ {
					round()
				}
				b.StopTimer()
				n := float64(b.N * batch)
				b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/n, "cpu-µs/check")
				b.ReportMetric(n/time.Since(start).Seconds(), "checks/s")
			})
		}
	}
}
