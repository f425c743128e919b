// Command upwatch is a self-hosted uptime monitor in one binary.
package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/upwatch/upwatch/app"
	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/egress"
	"github.com/upwatch/upwatch/notify"
	"github.com/upwatch/upwatch/static"
	"github.com/upwatch/upwatch/store"
)

// version, commit and built are set at build time with -ldflags
// "-X main.version=… -X main.commit=… -X main.built=…" (make build,
// make release); built is the commit's time, so builds are reproducible.
var (
	version = "dev"
	commit  = ""
	built   = ""
)

// versionLine is what `upwatch version` prints.
func versionLine() string {
	s := "upwatch " + version
	if commit != "" {
		s += " (commit " + commit
		if built != "" {
			s += ", built " + built
		}
		s += ")"
	}
	return s + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "upwatch:", err)
		os.Exit(1)
	}
}

const usage = `upwatch — self-hosted uptime monitoring

Usage:
  upwatch [serve] [flags]          run the server (default)
  upwatch worker [flags]           run checks for a region: against REDIS_URL, or --server URL --token T
  upwatch user create --email E    create a user (password read from stdin)
  upwatch user password --email E  set a user's password (stdin) and sign out its sessions
  upwatch backup FILE              write a consistent copy of the database to FILE
  upwatch healthcheck [--url URL]  exit 0 if the server's /healthz says healthy (for Docker, systemd)
  upwatch version                  print the version

Run "upwatch serve -h" for the settings; each flag has an env variable.
`

// run is the whole program, testable: args without the program name.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "worker":
		return worker(ctx, args, getenv, stderr)
	case "user":
		return userCmd(ctx, args, getenv, stdin, stdout, stderr)
	case "backup":
		return backupCmd(ctx, args, getenv, stdout, stderr)
	case "healthcheck":
		return healthcheckCmd(ctx, args, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, versionLine())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("upwatch "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// redisLog sends go-redis's own messages (one per failed dial while Redis
// is down) to debug: the queue's loops report an outage once, and its end.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(_ context.Context, format string, v ...any) {
	l.log.Debug(fmt.Sprintf(format, v...))
}

// openQueue connects to REDIS_URL, or starts the embedded miniredis on a
// loopback port when it is empty. close releases both.
func openQueue(ctx context.Context, redisURL string) (rdb *redis.Client, closeFn func(), err error) {
	var mr *miniredis.Miniredis
	var opts *redis.Options
	if redisURL == "" {
		mr = miniredis.NewMiniRedis()
		// The embedded queue listens on loopback, where any local process
		// could otherwise join as a worker and forge results: it takes a
		// random password, known to this process only.
		password := rand.Text()
		mr.RequireAuth(password)
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			return nil, nil, fmt.Errorf("start embedded queue: %w", err)
		}
		opts = &redis.Options{Addr: mr.Addr(), Password: password}
	} else if opts, err = parseRedisURL(redisURL); err != nil {
		return nil, nil, err
	}
	rdb = redis.NewClient(opts)
	closeFn = func() {
		_ = rdb.Close()
		if mr != nil {
			mr.Close()
		}
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		closeFn()
		if msg := err.Error(); strings.HasPrefix(msg, "WRONGPASS") || strings.HasPrefix(msg, "NOAUTH") || strings.Contains(msg, "invalid username-password") {
			return nil, nil, fmt.Errorf("REDIS_URL: the server refused the credentials (%s): check the user and password; reserved characters in them must be percent-encoded", strings.Fields(msg)[0])
		}
		return nil, nil, fmt.Errorf("REDIS_URL: cannot reach the queue: %w", err)
	}
	return rdb, closeFn, nil
}

// parseRedisURL reads REDIS_URL. Its errors never quote the URL: it may
// hold a password, and a password with reserved characters is the usual
// reason it does not parse.
func parseRedisURL(raw string) (*redis.Options, error) {
	opts, err := redis.ParseURL(raw)
	if err == nil {
		return opts, nil
	}
	why := "it is not a redis://, rediss:// or unix:// URL"
	switch msg := err.Error(); {
	case strings.Contains(msg, "invalid URL escape"):
		why = "it has a % not followed by two hex digits"
	case strings.Contains(msg, "invalid port"), strings.Contains(msg, "missing port"):
		why = "the address ends early: a # / or ? in the password cuts it"
	case strings.Contains(msg, "invalid redis URL scheme"):
		why = "the scheme must be redis://, rediss:// or unix://"
	}
	return nil, fmt.Errorf("REDIS_URL: cannot be read (%s); write reserved characters of the user and password percent-encoded: %% as %%25, # as %%23, / as %%2F, ? as %%3F, @ as %%40, : as %%3A", why)
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, _, err := parseConfig(newFlagSet("serve", stderr), args, getenv, sHost, sPort, sDatabase, sRedis, sJWT, sInterval, sLogLevel, sWorkers, sWorkMax, sRetain, sBaseURL, sMailFrom, sRegions, sEgress, sEgressOK, sTrusted, sMetrics,
		sQuotaMon, sQuotaCh, sQuotaTok, sMinIntv, sHostRate)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	redis.SetLogger(redisLog{log})

	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return databaseError(err)
	}
	defer st.Close()

	secret := cfg.JWTSecret
	if secret == "" {
		buf := make([]byte, 32)
		if _, err := rand.Read(buf); err != nil {
			return fmt.Errorf("generate JWT secret: %w", err)
		}
		// Generated once and kept, so tokens survive restarts.
		if secret, err = st.SettingOrInit(ctx, "jwt_secret", hex.EncodeToString(buf)); err != nil {
			return err
		}
	}

	rdb, closeQueue, err := openQueue(ctx, cfg.RedisURL)
	if err != nil {
		return err
	}
	defer closeQueue()
	q := checker.NewQueue(rdb)

	workers := cfg.Workers
	if workers == 0 {
		workers = -1 // remote workers only
		if cfg.RedisURL == "" {
			log.Warn("WORKERS=0 with the embedded queue: nothing can run checks (remote workers need REDIS_URL); the dashboard and /healthz will say so")
		}
	}
	hub := app.NewHub()
	hostname, _ := os.Hostname()
	from := cfg.MailFrom
	if from == "" {
		from = "upwatch@" + cmp.Or(hostname, "localhost")
	}
	// Listen before anything names this server's address: with PORT=0 the
	// port is known only now, and push URLs and alert links carry it.
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("PORT: %w", err)
	}
	defer ln.Close()
	baseURL := cmp.Or(cfg.BaseURL, "http://"+net.JoinHostPort(displayHost(cfg.Host), strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)))
	// Checks and alerts never reach this server's own port (on any local
	// address) or its queue.
	pol := newPolicy(ctx, cfg, rdb, ln.Addr().(*net.TCPAddr).AddrPort())
	alerts := notify.NewDispatcher(st, notify.DispatchConfig{
		BaseURL: baseURL,
		Options: notify.Options{From: from, Egress: pol, Helo: fqdn(ctx, hostname)},
		Logger:  log,
	})
	var a *app.App // set below; the sink starts only once it is
	onSaved := func(checks []store.Check, updates []store.StateUpdate) {
		hub.Published(checks, updates)
		a.ObserveChecks(checks)
		for _, u := range updates {
			if u.Transition != nil && u.Transition.Alert {
				alerts.Poke() // the batch queued alerts: send them now, not at the next poll
				break
			}
		}
	}
	// Results the database does not take (a full disk, a lock) wait in a
	// spool beside it; their alerts go out at once from memory.
	spool := store.OpenSpool(store.SpoolPath(st.Path()))
	defer spool.Close()
	chk := checker.New(st, q, checker.Config{LocalWorkers: workers, LocalWorkersMax: cfg.WorkersMax, Logger: log, OnSaved: onSaved,
		DefaultRegions: cfg.Regions, Version: version, Alerter: alerts, Spool: spool, Egress: pol, HostRate: cfg.HostRate})
	assets, err := static.New()
	if err != nil {
		return err
	}
	// HTTPS workers join through the bridge, on this server's own port.
	bridge := checker.NewBridge(q, checker.BridgeConfig{Logger: log})
	a = app.New(app.Config{JWTSecret: []byte(secret), DefaultInterval: cfg.CheckInterval, MailFrom: from,
		SecureCookies: strings.HasPrefix(cfg.BaseURL, "https://"), BaseURL: baseURL, DefaultRegions: cfg.Regions,
		TrustedProxies: cfg.TrustedProxies, MetricsAllow: cfg.MetricsAllow, MinInterval: cfg.MinInterval,
		Quotas: store.Quotas{store.QuotaMonitors: cfg.QuotaMonitors, store.QuotaChannels: cfg.QuotaChannels, store.QuotaTokens: cfg.QuotaTokens}},
		app.Deps{Store: st, Scheduler: chk, Push: chk, Queue: q, Bridge: bridge, Assets: assets, Hub: hub, Alerts: alerts, Logger: log})

	// Alerts are delivered beside the checks and finish their sends in
	// flight before the store closes.
	alertCtx, stopAlerts := context.WithCancel(context.WithoutCancel(ctx))
	alertsDone := make(chan struct{})
	go func() {
		defer close(alertsDone)
		alerts.Run(alertCtx)
	}()
	defer func() { stopAlerts(); <-alertsDone }()
	// Instance problems (no data, no workers, missed checks) go to the
	// channels an admin chose, when they begin and when they end.
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		a.WatchInstance(alertCtx, 15*time.Second)
	}()
	defer func() { stopAlerts(); <-watchDone }()

	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Workers' long-polls (up to 25 s) end at once on shutdown.
	srv.RegisterOnShutdown(bridge.Close)

	// Retention and file upkeep run beside the checker and stop with ctx.
	maintCtx, stopMaint := context.WithCancel(ctx)
	maintDone := make(chan struct{})
	go func() {
		defer close(maintDone)
		st.Maintain(maintCtx, store.MaintenanceConfig{Retention: cfg.Retention, Logger: log})
	}()
	defer func() { stopMaint(); <-maintDone }()

	chkCtx, stopChecker := context.WithCancel(context.WithoutCancel(ctx))
	defer stopChecker()
	chkDone := make(chan error, 1)
	go func() { chkDone <- chk.Run(chkCtx) }()

	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Serve(ln) }()
	addr := ln.Addr().(*net.TCPAddr)
	host := displayHost(cfg.Host)
	log.Info("upwatch started", "version", version, "addr", addr.String(), "database", st.Path(), "embedded_queue", cfg.RedisURL == "")
	fmt.Fprintf(stdout, "upwatch listening on http://%s\n", net.JoinHostPort(host, strconv.Itoa(addr.Port)))

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-srvDone:
		runErr = fmt.Errorf("http server: %w", err)
	case err := <-chkDone:
		chkDone <- err
		if err != nil {
			runErr = fmt.Errorf("checker: %w", err)
		}
	}
	log.Info("shutting down")
	// Stop taking requests, then stop checks and flush their results, then
	// the deferred closes release the queue and the database.
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("http shutdown", "err", err)
	}
	stopChecker()
	if err := <-chkDone; err != nil && runErr == nil {
		runErr = fmt.Errorf("checker: %w", err)
	}
	return runErr
}

// newPolicy builds the egress policy from the settings. self are this
// process's own listeners; the queue rdb talks to is one too (the
// embedded one, or a Redis named by address).
func newPolicy(ctx context.Context, cfg config, rdb *redis.Client, self ...netip.AddrPort) *egress.Policy {
	if rdb != nil {
		self = append(self, queueAddrs(ctx, rdb.Options())...)
	}
	return egress.New(egress.Config{Private: cfg.EgressPrivate, Allow: cfg.EgressAllow, Self: self})
}

// queueAddrs are the TCP addresses of the Redis opts connects to: a name
// is resolved once, at start (a unix socket has none).
func queueAddrs(ctx context.Context, opts *redis.Options) []netip.AddrPort {
	if opts.Network == "unix" {
		return nil
	}
	host, portText, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.AddrPort{netip.AddrPortFrom(a, uint16(port))}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	out := make([]netip.AddrPort, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, netip.AddrPortFrom(a, uint16(port)))
	}
	return out
}

// displayHost is how a person reaches a listen address: a wildcard means
// this machine.
func displayHost(host string) string {
	if host == "" || host == "0.0.0.0" || host == "::" {
		return "localhost"
	}
	return host
}

func worker(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, _, err := parseConfig(newFlagSet("worker", stderr), args, getenv, sRedis, sServer, sToken, sRegion, sWorkers, sWorkMax, sLogLevel, sEgress, sEgressOK)
	if err != nil {
		return err
	}
	switch {
	case cfg.Server != "" && cfg.RedisURL != "":
		return errors.New("REDIS_URL and UPWATCH_SERVER: set one of them — a worker reaches the jobs either through the server's Redis or through the server's own address with a worker token")
	case cfg.Server != "" && cfg.WorkerToken == "":
		return errors.New("WORKER_TOKEN: a worker joining with --server needs a worker token (--token upww_…); an admin creates one on the server's Workers page")
	case cfg.Server == "" && cfg.WorkerToken != "":
		return errors.New("UPWATCH_SERVER: a worker token needs the server's URL (--server https://…)")
	case cfg.Server != "":
		return httpsWorker(ctx, cfg, newLogger(stderr, cfg.LogLevel))
	case cfg.RedisURL == "":
		return errors.New("REDIS_URL: a worker needs the server's Redis (the embedded queue is private to the server), or the server's URL and a worker token (--server, --token)")
	}
	log := newLogger(stderr, cfg.LogLevel)
	redis.SetLogger(redisLog{log})
	rdb, closeQueue, err := openQueue(ctx, cfg.RedisURL)
	if err != nil {
		return err
	}
	defer closeQueue()
	host, _ := os.Hostname()
	pol := newPolicy(ctx, cfg, rdb)
	w := checker.NewWorker(checker.NewQueue(rdb), checker.NewProber(checker.ProbeEnv{Region: cfg.Region, Egress: pol}), checker.WorkerConfig{
		Region:         cfg.Region,
		Name:           fmt.Sprintf("worker-%s-%d", host, os.Getpid()),
		Concurrency:    max(cfg.Workers, 1),
		MaxConcurrency: cfg.WorkersMax,
		Logger:         log,
		Version:        version,
	})
	log.Info("worker started", "region", cfg.Region, "concurrency", max(cfg.Workers, 1))
	return w.Run(ctx)
}

func userCmd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	const usage = "usage: upwatch user create --email E [--admin] | upwatch user password --email E (password on stdin)"
	if len(args) == 0 || (args[0] != "create" && args[0] != "password") {
		return errors.New(usage)
	}
	fs := newFlagSet("user "+args[0], stderr)
	email := fs.String("email", "", "email address of the user")
	admin := fs.Bool("admin", false, "make the new user an admin (the first user always is)")
	cfg, _, err := parseConfig(fs, args[1:], getenv, sDatabase, sLogLevel)
	if err != nil {
		return err
	}
	fmt.Fprint(stderr, "Password: ")
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read password: %w", err)
	}
	fmt.Fprintln(stderr)
	password := strings.TrimRight(line, "\r\n")
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return databaseError(err)
	}
	defer st.Close()
	if args[0] == "password" {
		// The way back in for an owner who forgot the password: it also
		// signs out every session.
		u, err := app.ResetPassword(ctx, st, *email, password)
		if err != nil {
			return explainFault(err)
		}
		fmt.Fprintf(stdout, "password changed for %s; all sessions signed out\n", u.Email)
		return nil
	}
	u, err := app.CreateUser(ctx, st, *email, password, *admin)
	if err != nil {
		return explainFault(err)
	}
	role := "user"
	if u.Admin {
		role = "admin"
	}
	fmt.Fprintf(stdout, "created %s %s (id %d)\n", role, u.Email, u.ID)
	return nil
}

// backupCmd copies the database with VACUUM INTO; safe while a server runs
// on the same file, which it neither migrates nor write-locks.
func backupCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, rest, err := parseConfig(newFlagSet("backup", stderr), args, getenv, sDatabase, sLogLevel)
	if err != nil {
		return err
	}
	if len(rest) != 1 || rest[0] == "" {
		return errors.New("usage: upwatch backup [--database-url DB] FILE")
	}
	src, err := store.OpenSource(ctx, cfg.DatabaseURL)
	if err != nil {
		return databaseError(err)
	}
	if err := src.Backup(ctx, rest[0]); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s\n", rest[0])
	return nil
}

// fqdn is the host's fully qualified name for the SMTP greeting, or ""
// when it has none (the sender's domain is used then): strict mail
// servers refuse a bare "localhost".
func fqdn(ctx context.Context, hostname string) string {
	if strings.Contains(hostname, ".") {
		return hostname
	}
	if hostname == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if name, err := net.DefaultResolver.LookupCNAME(ctx, hostname); err == nil {
		if name = strings.TrimSuffix(name, "."); strings.Contains(name, ".") && !strings.HasSuffix(name, ".localdomain") {
			return name
		}
	}
	return ""
}

// databaseError blames DATABASE_URL for a database that could not be
// opened, unless the database itself is at fault: locked by another
// process, read-only, on a full or failing disk. Those messages name the
// file and the cause already.
func databaseError(err error) error {
	if store.Fault(err) != nil {
		return err
	}
	return fmt.Errorf("DATABASE_URL: %w", err)
}

// explainFault puts a storage fault's cause in words ahead of SQLite's own
// message ("the database is locked by another process: …").
func explainFault(err error) error {
	if f := store.Fault(err); f != nil && !errors.Is(err, f) {
		return fmt.Errorf("%w: %w", f, err)
	}
	return err
}
