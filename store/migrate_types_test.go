package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"
)

// TestMigrateMonitorTypes opens a database built with the schema before
// monitor kinds (migrations 1-5, written as that version wrote them) that
// holds an HTTP monitor with history, an incident and a channel link, and
// checks that the upgrade keeps every piece and makes it an HTTP monitor.
func TestMigrateMonitorTypes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	d, err := parseDSN(path)
	if err != nil {
		t.Fatal(err)
	}
	old, err := sql.Open("sqlite", d.writer())
	if err != nil {
		t.Fatal(err)
	}
	old.SetMaxOpenConns(1)
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := old.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`)
	for _, m := range ms[:5] {
		exec(m.sql)
		exec(`INSERT INTO schema_migrations VALUES (?, 0)`, m.version)
	}
	const at = int64(1_740_830_400_000) // 2025-03-01 12:00 UTC
	exec(`INSERT INTO users (id, email, password_hash, created_at) VALUES (1, 'a@example.com', 'x', ?)`, at)
	exec(`INSERT INTO monitors (id, user_id, name, url, method, headers, body, interval_us, timeout_us,
		expected_status, follow_redirects, verify_tls, confirmations, created_at, updated_at, status,
		status_since, last_check_at, last_ok, last_status_code, last_latency_us, last_reason, last_error,
		last_region, reminder_minutes)
		VALUES (7, 1, 'Shop', 'https://shop.example/health', 'POST', '{"X-A":"1"}', 'ping', 60000000, 5000000,
		'200-299,304', 0, 1, 3, ?, ?, 'down', ?, ?, 0, 503, 1200, 'status', 'HTTP 503', 'local', 15)`,
		at, at, at, at)
	exec(`INSERT INTO checks (monitor_id, region, ts, ok, status_code, latency_us, reason, error)
		VALUES (7, 'local', ?, 1, 200, 900, '', ''), (7, 'local', ?, 0, 503, 1200, 'status', 'HTTP 503')`, at-60_000, at)
	exec(`INSERT INTO hourly (monitor_id, ts, region, up, down, lat_n, lat_sum_us) VALUES (7, ?, 'local', 1, 1, 2, 2100)`, at)
	exec(`INSERT INTO daily (monitor_id, ts, region, up, down, lat_n, lat_sum_us) VALUES (7, ?, 'local', 1, 1, 2, 2100)`, at-12*hourMS)
	exec(`INSERT INTO incidents (id, monitor_id, started_at, reason, error, status_code) VALUES (3, 7, ?, 'status', 'HTTP 503', 503)`, at)
	exec(`INSERT INTO channels (id, user_id, name, type, settings, created_at, updated_at) VALUES (2, 1, 'hook', 'webhook', '{}', ?, ?)`, at, at)
	exec(`INSERT INTO monitor_channels VALUES (7, 2)`)
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, err := s.GetMonitor(ctx, 1, 7)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != "http" || string(m.Settings) != "{}" || m.DegradedLatency != 0 || m.AlertDegraded || m.PushToken != "" {
		t.Errorf("kind columns = %q %s %v %v %q, want an HTTP monitor with no extras", m.Type, m.Settings, m.DegradedLatency, m.AlertDegraded, m.PushToken)
	}
	if m.Name != "Shop" || m.URL != "https://shop.example/health" || m.Method != "POST" || m.Headers["X-A"] != "1" ||
		m.Body != "ping" || m.Interval != time.Minute || m.Timeout != 5*time.Second || m.ExpectedStatus != "200-299,304" ||
		m.FollowRedirects || !m.VerifyTLS || m.Confirmations != 3 || m.ReminderEvery != 15*time.Minute ||
		m.State.Status != StatusDown || len(m.Channels) != 1 || m.Channels[0] != 2 {
		t.Errorf("monitor changed by the upgrade: %+v", m)
	}
	if c := m.LastCheck; c == nil || c.StatusCode != 503 || c.Reason != "status" || c.Degraded {
		t.Errorf("last check = %+v", c)
	}
	checks, err := s.ListChecks(ctx, 7, 0)
	if err != nil || len(checks) != 2 || checks[0].Degraded || checks[1].Degraded || !checks[1].OK {
		t.Errorf("checks = %+v, %v", checks, err)
	}
	up, err := s.Uptime(ctx, []int64{7}, time.UnixMilli(at-24*hourMS), time.UnixMilli(at+hourMS))
	if err != nil || up[7].Up < 1 || up[7].Down < 1 || up[7].Degraded != 0 {
		t.Errorf("uptime = %+v, %v", up, err)
	}
	incs, err := s.ListIncidents(ctx, 1, IncidentFilter{MonitorID: 7, Status: "open"})
	if err != nil || len(incs) != 1 || incs[0].ID != 3 || incs[0].StatusCode != 503 {
		t.Errorf("open incidents = %+v, %v", incs, err)
	}
	// The rest of the store takes the upgraded monitor as any other.
	m.Type, m.Settings = "http", []byte(`{"keyword":"ok"}`)
	if _, err := s.UpdateMonitor(ctx, m); err != nil {
		t.Fatal(err)
	}
}
