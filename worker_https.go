package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/upwatch/upwatch/checker"
)

// maxHTTPSRetry caps the wait between tries while the server cannot be
// reached (it may be restarting behind its proxy).
const maxHTTPSRetry = 30 * time.Second

// httpsWorker runs checks for a region over the server's worker endpoint,
// with a worker token instead of Redis.
func httpsWorker(ctx context.Context, cfg config, log *slog.Logger) error {
	if u, err := url.Parse(cfg.Server); err == nil && u.Scheme == "http" && !loopbackHost(u.Hostname()) {
		log.Warn("UPWATCH_SERVER is plain http: the worker token and the checks travel unencrypted; use the https:// address of your reverse proxy", "server", cfg.Server)
	}
	rq := checker.NewRemoteQueue(cfg.Server, cfg.WorkerToken, nil)
	info, err := hello(ctx, rq, cfg.Server, log)
	if err != nil || ctx.Err() != nil {
		return err
	}
	region := cfg.Region
	switch {
	case !cfg.RegionSet && len(info.Regions) == 1:
		region = info.Regions[0]
	case !cfg.RegionSet:
		return fmt.Errorf("REGION: worker token %q is for regions %s: choose one with --region", info.Name, strings.Join(info.Regions, ", "))
	case !slices.Contains(info.Regions, region):
		return fmt.Errorf("REGION: worker token %q is for %s, not %q", info.Name, strings.Join(info.Regions, ", "), region)
	}
	host, _ := os.Hostname()
	pol := newPolicy(ctx, cfg, nil)
	w := checker.NewWorker(rq, checker.NewProber(checker.ProbeEnv{Region: region, Egress: pol}), checker.WorkerConfig{
		Region:         region,
		Name:           workerName(host, os.Getpid()),
		Concurrency:    max(cfg.Workers, 1),
		MaxConcurrency: cfg.WorkersMax,
		Logger:         log,
		Version:        version,
		MaxRetryDelay:  maxHTTPSRetry,
	})
	log.Info("worker started", "region", region, "server", cfg.Server, "token", info.Name, "concurrency", max(cfg.Workers, 1))
	if err := w.Run(ctx); err != nil {
		if errors.Is(err, checker.ErrDenied) {
			return fmt.Errorf("WORKER_TOKEN: %w", err)
		}
		return err
	}
	return nil
}

// hello asks the server what the token is for, retrying with backoff while
// the server cannot be reached (logged once); a refusal is final.
func hello(ctx context.Context, rq *checker.RemoteQueue, server string, log *slog.Logger) (checker.TokenInfo, error) {
	delay := time.Second
	var since time.Time
	for {
		info, err := rq.Token(ctx)
		switch {
		case err == nil:
			if !since.IsZero() {
				log.Info("the server answers again", "server", server, "after", time.Since(since).Round(time.Second))
			}
			return info, nil
		case errors.Is(err, checker.ErrDenied):
			return info, fmt.Errorf("WORKER_TOKEN: %w", err)
		case !errors.Is(err, checker.ErrUnavailable):
			return info, fmt.Errorf("UPWATCH_SERVER: %w", err)
		case ctx.Err() != nil:
			return info, nil
		case since.IsZero():
			since = time.Now()
			log.Warn("cannot reach the server; retrying until it answers", "server", server, "err", err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return info, nil
		case <-t.C:
		}
		delay = min(delay*2, maxHTTPSRetry)
	}
}

// workerName is this process's name as a worker: worker-<host>-<pid>, in
// the characters the server takes.
func workerName(host string, pid int) string {
	b := []byte(fmt.Sprintf("worker-%s-%d", host, pid))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '-'
		}
	}
	if len(b) > 100 {
		b = append(b[:80], b[len(b)-20:]...)
	}
	return string(b)
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
