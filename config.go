package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net/mail"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/upwatch/upwatch/checker"
	"github.com/upwatch/upwatch/egress"
)

// config is every setting, from env with flags overriding.
type config struct {
	Host          string
	Port          int
	DatabaseURL   string
	RedisURL      string
	JWTSecret     string
	CheckInterval time.Duration
	LogLevel      slog.Level
	Workers       int
	WorkersMax    int      // 0: 4×Workers
	Region        string   // worker only
	RegionSet     bool     // worker: REGION or --region was given (else an HTTPS worker takes its token's)
	Server        string   // worker: the server's URL, for an HTTPS worker
	WorkerToken   string   // worker: its token, with Server
	Regions       []string // server: where monitors without their own regions are checked from
	Retention     time.Duration
	BaseURL       string
	MailFrom      string
	// EgressPrivate and EgressAllow are the egress policy's settings:
	// who may reach private and loopback addresses, and ranges anyone may.
	EgressPrivate egress.Mode
	EgressAllow   []netip.Prefix
	// TrustedProxies are reverse proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Fair limits: default quotas per user, the shortest interval a
	// non-admin may use, and checks per second per destination host.
	QuotaMonitors, QuotaChannels, QuotaTokens int
	MinInterval                               time.Duration
	HostRate                                  float64
	// MetricsAllow are networks that may read /metrics without a token.
	MetricsAllow []netip.Prefix
}

// setting describes one env variable and its flag.
type setting struct {
	env, flag, def, usage string
}

var (
	sHost     = setting{"HOST", "host", "", "address to listen on (empty: all interfaces)"}
	sPort     = setting{"PORT", "port", "8080", "HTTP port"}
	sDatabase = setting{"DATABASE_URL", "database-url", "./upwatch.db", "SQLite file: a path, file:PATH or sqlite:PATH"}
	sRedis    = setting{"REDIS_URL", "redis-url", "", "Redis URL for the job queue (empty: embedded)"}
	sJWT      = setting{"JWT_SECRET", "jwt-secret", "", "secret signing API tokens (empty: generated once and stored)"}
	sInterval = setting{"CHECK_INTERVAL", "check-interval", "60000", "default check interval of new monitors, in ms"}
	sLogLevel = setting{"LOG_LEVEL", "log-level", "info", "debug, info, warn or error"}
	sWorkers  = setting{"WORKERS", "workers", "64", "checks run at once by this process"}
	sWorkMax  = setting{"WORKERS_MAX", "workers-max", "", "checks run at once at most when targets are slow and jobs wait (default 4×WORKERS)"}
	sRegion   = setting{"REGION", "region", "local", "region whose jobs a worker runs"}
	sRegions  = setting{"REGIONS", "regions", "local", "regions that check monitors without regions of their own, comma-separated (local: this server)"}
	sBaseURL  = setting{"BASE_URL", "base-url", "", "public URL of the dashboard, for links in alerts (e.g. https://upwatch.example.com)"}
	sMailFrom = setting{"MAIL_FROM", "mail-from", "", "default sender of email alerts (default upwatch@<hostname>)"}
	sRetain   = setting{"RETENTION_DAYS", "retention-days", "30", "days of raw check results kept (roll-ups are kept longer)"}
	sServer   = setting{"UPWATCH_SERVER", "server", "", "URL of the upwatch server, for a worker joining over HTTPS with a worker token (instead of REDIS_URL)"}
	sToken    = setting{"WORKER_TOKEN", "token", "", "worker token (upww_…) from the server's Workers page, with --server"}
	sEgress   = setting{"EGRESS_PRIVATE", "egress-private", "allow", "who may check or alert private and loopback addresses: allow (everyone), admins (monitors and channels of admins) or deny (no one)"}
	sEgressOK = setting{"EGRESS_ALLOW", "egress-allow", "", "CIDR ranges checks and alerts may always reach, even under EGRESS_PRIVATE=deny, comma-separated (never metadata or link-local addresses, nor upwatch's own ports)"}
	sQuotaMon = setting{"QUOTA_MONITORS", "quota-monitors", "500", "monitors a user may have (0: no limit; admins are not limited)"}
	sQuotaCh  = setting{"QUOTA_CHANNELS", "quota-channels", "50", "alert channels a user may have (0: no limit; admins are not limited)"}
	sQuotaTok = setting{"QUOTA_TOKENS", "quota-tokens", "20", "API tokens a user may have (0: no limit; admins are not limited)"}
	sMinIntv  = setting{"MIN_INTERVAL_SECONDS", "min-interval-seconds", "20", "shortest check interval a non-admin may give a monitor, in seconds (admins: from 1)"}
	sHostRate = setting{"HOST_RATE", "host-rate", "10", "checks per second at most to one destination host, across all monitors (0: no cap)"}
	sMetrics  = setting{"METRICS_ALLOW", "metrics-allow", "", "networks that may read /metrics without a token, comma-separated CIDRs or addresses (e.g. 127.0.0.1,10.0.0.0/8)"}
	sTrusted  = setting{"TRUSTED_PROXIES", "trusted-proxies", "", "reverse proxies whose X-Forwarded-For is believed, comma-separated CIDRs or addresses (e.g. 127.0.0.1/32,10.0.0.0/8)"}
)

// parseConfig reads the settings a subcommand uses from env and flags and
// validates them; an error names the setting at fault.
// fs may carry the subcommand's own extra flags.
func parseConfig(fs *flag.FlagSet, args []string, getenv func(string) string, use ...setting) (config, []string, error) {
	vals := map[string]*string{}
	for _, s := range use {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		vals[s.env] = fs.String(s.flag, def, s.usage+" ($"+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return config{}, nil, err
	}
	get := func(s setting) string {
		if p, ok := vals[s.env]; ok {
			return strings.TrimSpace(*p)
		}
		return s.def
	}
	var c config
	var err error
	c.Host = get(sHost)
	if c.Port, err = strconv.Atoi(get(sPort)); err != nil || c.Port < 0 || c.Port > 65535 {
		return c, nil, fmt.Errorf("PORT: %q is not a port number (0-65535)", get(sPort))
	}
	c.DatabaseURL = get(sDatabase)
	if c.DatabaseURL == "" {
		return c, nil, fmt.Errorf("DATABASE_URL: must not be empty")
	}
	c.RedisURL = get(sRedis)
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
			return c, nil, fmt.Errorf("REDIS_URL: must be a redis://, rediss:// or unix:// URL")
		}
	}
	c.JWTSecret = get(sJWT)
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		return c, nil, fmt.Errorf("JWT_SECRET: must be at least 32 characters (or unset to generate one)")
	}
	ms, err := strconv.Atoi(get(sInterval))
	if err != nil || ms < 1000 || ms > 86_400_000 {
		return c, nil, fmt.Errorf("CHECK_INTERVAL: %q must be milliseconds between 1000 and 86400000", get(sInterval))
	}
	c.CheckInterval = time.Duration(ms/1000) * time.Second
	if err := c.LogLevel.UnmarshalText([]byte(get(sLogLevel))); err != nil {
		return c, nil, fmt.Errorf("LOG_LEVEL: %q must be debug, info, warn or error", get(sLogLevel))
	}
	if c.Workers, err = strconv.Atoi(get(sWorkers)); err != nil || c.Workers < 0 || c.Workers > 10_000 {
		return c, nil, fmt.Errorf("WORKERS: %q must be a number from 0 to 10000", get(sWorkers))
	}
	if v := get(sWorkMax); v != "" {
		if c.WorkersMax, err = strconv.Atoi(v); err != nil || c.WorkersMax < max(c.Workers, 1) || c.WorkersMax > 10_000 {
			return c, nil, fmt.Errorf("WORKERS_MAX: %q must be a number from WORKERS (%d) to 10000", v, c.Workers)
		}
	}
	for _, r := range strings.Split(get(sRegions), ",") {
		r = strings.ToLower(strings.TrimSpace(r))
		if r == "" {
			continue
		}
		if !checker.ValidRegion(r) {
			return c, nil, fmt.Errorf("REGIONS: %q is not a region name (1 to 32 letters, digits or -)", r)
		}
		if !slices.Contains(c.Regions, r) {
			c.Regions = append(c.Regions, r)
		}
	}
	if len(c.Regions) == 0 {
		c.Regions = []string{"local"}
	}
	c.Region = get(sRegion)
	if c.Region == "" || strings.ContainsAny(c.Region, " \t\r\n:") || len(c.Region) > 64 {
		return c, nil, fmt.Errorf("REGION: %q must be a short name without spaces or colons", c.Region)
	}
	if _, ok := vals[sRegion.env]; ok {
		c.RegionSet = getenv(sRegion.env) != ""
		fs.Visit(func(f *flag.Flag) { c.RegionSet = c.RegionSet || f.Name == sRegion.flag })
	}
	c.Server = strings.TrimRight(get(sServer), "/")
	if c.Server != "" {
		if u, err := url.Parse(c.Server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return c, nil, fmt.Errorf("UPWATCH_SERVER: %q must be the server's http(s) URL, like https://upwatch.example.com", c.Server)
		}
	}
	c.WorkerToken = get(sToken)
	if c.WorkerToken != "" && !strings.HasPrefix(c.WorkerToken, "upww_") {
		return c, nil, fmt.Errorf("WORKER_TOKEN: not a worker token (they start with upww_; create one on the server's Workers page)")
	}
	days, err := strconv.Atoi(get(sRetain))
	if err != nil || days < 1 || days > 3650 {
		return c, nil, fmt.Errorf("RETENTION_DAYS: %q must be a number of days from 1 to 3650", get(sRetain))
	}
	c.Retention = time.Duration(days) * 24 * time.Hour
	c.BaseURL = strings.TrimRight(get(sBaseURL), "/")
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, nil, fmt.Errorf("BASE_URL: %q must be an http(s) URL like https://upwatch.example.com", c.BaseURL)
		}
	}
	c.MailFrom = get(sMailFrom)
	if c.MailFrom != "" {
		if _, err := mail.ParseAddress(c.MailFrom); err != nil {
			return c, nil, fmt.Errorf("MAIL_FROM: %q is not an email address", c.MailFrom)
		}
	}
	if c.EgressPrivate, err = egress.ParseMode(get(sEgress)); err != nil {
		return c, nil, fmt.Errorf("EGRESS_PRIVATE: %w", err)
	}
	if c.EgressAllow, err = egress.ParseAllow(get(sEgressOK)); err != nil {
		return c, nil, fmt.Errorf("EGRESS_ALLOW: %w", err)
	}
	if c.TrustedProxies, err = parsePrefixes(get(sTrusted)); err != nil {
		return c, nil, fmt.Errorf("TRUSTED_PROXIES: %w", err)
	}
	for _, q := range []struct {
		s   setting
		dst *int
	}{{sQuotaMon, &c.QuotaMonitors}, {sQuotaCh, &c.QuotaChannels}, {sQuotaTok, &c.QuotaTokens}} {
		if *q.dst, err = strconv.Atoi(get(q.s)); err != nil || *q.dst < 0 || *q.dst > 1_000_000 {
			return c, nil, fmt.Errorf("%s: %q must be a number from 0 (no limit) to 1000000", q.s.env, get(q.s))
		}
	}
	secs, err := strconv.Atoi(get(sMinIntv))
	if err != nil || secs < 1 || secs > 86400 {
		return c, nil, fmt.Errorf("MIN_INTERVAL_SECONDS: %q must be a number of seconds from 1 to 86400", get(sMinIntv))
	}
	c.MinInterval = time.Duration(secs) * time.Second
	if c.HostRate, err = strconv.ParseFloat(get(sHostRate), 64); err != nil || c.HostRate < 0 || c.HostRate > 100_000 || c.HostRate != c.HostRate {
		return c, nil, fmt.Errorf("HOST_RATE: %q must be checks per second from 0 (no cap) to 100000", get(sHostRate))
	}
	if c.MetricsAllow, err = parsePrefixes(get(sMetrics)); err != nil {
		return c, nil, fmt.Errorf("METRICS_ALLOW: %w", err)
	}
	return c, fs.Args(), nil
}

// parsePrefixes reads comma-separated CIDRs; a bare address is one host.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not a CIDR (like 10.0.0.0/8) or an IP address", f)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
