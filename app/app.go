// Package app is the HTTP surface: JSON API, auth, and dashboard pages.
package app

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/notify"
	"github.com/upwatch/upwatch/static"
	"github.com/upwatch/upwatch/store"
)

// Scheduler is told about monitor changes so they take effect at once.
type Scheduler interface {
	Reschedule(ctx context.Context, id int64) error
	Remove(id int64)
	RegionStates(id int64) []checker.RegionState // each region's view of a monitor
}

// Pinger reports whether a dependency answers (for /healthz).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Config holds the HTTP-side settings.
type Config struct {
	JWTSecret       []byte
	TokenTTL        time.Duration // API token lifetime
	SessionTTL      time.Duration // dashboard session lifetime
	DefaultInterval time.Duration // interval of new monitors
	MailFrom        string        // default sender of email alerts
	// SecureCookies marks session cookies Secure even when TLS ends at a
	// proxy in front (set when BASE_URL is https).
	SecureCookies bool
	// BaseURL is the dashboard's public URL, for push URLs.
	BaseURL string
	// DefaultRegions are where monitors without regions of their own are
	// checked from (the checker's defaults).
	DefaultRegions []string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (sign-in throttling per client address); none: the peer's
	// address is the client's.
	TrustedProxies []netip.Prefix
	// Fair limits (limits.go): the instance's default quotas (nil or 0:
	// none; admins are not held to them) and the shortest interval a
	// non-admin may give a monitor (0: none).
	Quotas      store.Quotas
	MinInterval time.Duration
	// MetricsAllow are the networks that may read /metrics without a
	// token (a Prometheus on the LAN); empty: a bearer token is needed.
	MetricsAllow []netip.Prefix
}

// Deps are the app's collaborators.
type Deps struct {
	Store     *store.Store
	Scheduler Scheduler
	Queue     Pinger
	Assets    *static.Assets
	Hub       *Hub               // live feed; nil: a private one
	Alerts    *notify.Dispatcher // sends test alerts at once; nil: tests are only queued
	Push      Pusher             // takes push monitors' pings; nil: they answer 503
	Logger    *slog.Logger       // nil: discard
	Now       func() time.Time   // nil: time.Now
	// Bridge serves HTTPS workers (/api/v1/worker/…); nil: one on Queue
	// when it is a *checker.Queue, else those endpoints answer 503.
	Bridge *checker.Bridge
}

// App holds the handlers' dependencies.
type App struct {
	cfg      Config
	st       *store.Store
	sched    Scheduler
	queue    Pinger
	assets   *static.Assets
	hub      *Hub
	alerts   *notify.Dispatcher
	log      *slog.Logger
	now      func() time.Time
	hash     *hasher
	touch    toucher
	gz       gzipper
	logins   loginLimiter
	push     Pusher
	pings    pingLimiter
	problems problemCache
	phases   phaseBook // each monitor's newest phases, for /metrics
	openapi  openAPICache
	bridge   *checker.Bridge
	polls    pollLimiter
	creds    credCache
	pageKey  []byte // signs list cursors (paging.go)
}

// New builds the app.
func New(cfg Config, d Deps) *App {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Hub == nil {
		d.Hub = NewHub()
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 12 * time.Hour
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 30 * 24 * time.Hour
	}
	if cfg.DefaultInterval <= 0 {
		cfg.DefaultInterval = time.Minute
	}
	if q, ok := d.Queue.(*checker.Queue); ok && d.Bridge == nil {
		d.Bridge = checker.NewBridge(q, checker.BridgeConfig{Logger: d.Logger})
	}
	if d.Store != nil && cfg.Quotas != nil {
		d.Store.SetQuotaDefaults(cfg.Quotas)
	}
	return &App{cfg: cfg, pageKey: newPageKey(cfg.JWTSecret), st: d.Store, sched: d.Scheduler, queue: d.Queue, assets: d.Assets, hub: d.Hub, alerts: d.Alerts,
		log: d.Logger, now: d.Now, hash: newHasher(2), push: d.Push, bridge: d.Bridge}
}

// Handler is the whole HTTP surface, with cross-origin protection on every
// state-changing request and a cap on request bodies.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	a.routes(mux)
	cop := http.NewCrossOriginProtection()
	h := a.gz.wrap(cop.Handler(mux))
	hsts := strings.HasPrefix(a.cfg.BaseURL, "https://")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		hdr := w.Header()
		hdr.Set("Content-Security-Policy", contentSecurityPolicy)
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("Referrer-Policy", "same-origin")
		if hsts {
			hdr.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	})
}

// contentSecurityPolicy goes on every response (it matters on the HTML
// pages): scripts and styles only from the site's own files — the pages
// carry no inline script, no on* handler and no style attribute (a test
// renders every page to make sure) — images also as data: URLs, the live
// feed's WebSocket to the same origin, no framing, no <base>, forms only to
// this site.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// reschedule tells the checker; a failure is logged, not fatal: the change is
// stored and the checker picks it up at its next start.
func (a *App) reschedule(ctx context.Context, id int64) {
	if err := a.sched.Reschedule(ctx, id); err != nil {
		a.log.Error("rescheduling monitor failed", "monitor", id, "err", err)
	}
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
