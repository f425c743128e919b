package store

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestTypedMonitorAndDegradedChecks(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	s := openTest(t, WithClock(clk.Now))
	u := newUser(t, s, "a@example.com")

	in := Monitor{UserID: u.ID, Name: "backup", Type: "push", Settings: json.RawMessage(`{"period_seconds":86400}`),
		Interval: time.Minute, Timeout: time.Second, Confirmations: 1, DegradedLatency: 800 * time.Millisecond,
		AlertDegraded: true, PushToken: "tok-1"}
	m, err := s.CreateMonitor(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != "push" || string(m.Settings) != `{"period_seconds":86400}` || m.DegradedLatency != 800*time.Millisecond ||
		!m.AlertDegraded || m.PushToken != "tok-1" {
		t.Fatalf("created = %+v", m)
	}
	// A second monitor cannot take the same push token.
	if _, err := s.CreateMonitor(ctx, in); err == nil {
		t.Error("duplicate push token stored")
	}

	at := clk.Now().Truncate(time.Hour)
	exp := at.Add(30 * 24 * time.Hour)
	body := strings.Repeat("x", MaxPushBody+10)
	err = s.SaveChecks(ctx, []Check{
		{MonitorID: m.ID, Region: "local", At: at, OK: true, Latency: time.Second, Degraded: true, Reason: "slow",
			Detail: "first", CertExpiry: exp},
		{MonitorID: m.ID, Region: "local", At: at.Add(time.Minute), OK: true, Latency: time.Millisecond, Detail: "second", Body: body},
		{MonitorID: m.ID, Region: "local", At: at.Add(2 * time.Minute), OK: false, Reason: "late", Error: "no ping"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetMonitor(ctx, u.ID, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The newest check without a certificate or a body keeps what an
	// earlier one saw.
	if !got.CertExpiresAt.Equal(exp) || len(got.LastBody) != MaxPushBody || got.LastCheck.Detail != "" || got.LastCheck.Reason != "late" {
		t.Errorf("last check columns: cert %v, body %d bytes, detail %q, reason %q", got.CertExpiresAt, len(got.LastBody), got.LastCheck.Detail, got.LastCheck.Reason)
	}
	checks, err := s.ListChecks(ctx, m.ID, 0)
	if err != nil || len(checks) != 3 || !checks[2].Degraded || checks[1].Degraded || checks[0].Degraded {
		t.Errorf("checks = %+v, %v", checks, err)
	}
	up, err := s.Uptime(ctx, []int64{m.ID}, at, at.Add(time.Hour))
	if err != nil || up[m.ID] != (Uptime{Up: 2, Down: 1, Degraded: 1}) {
		t.Errorf("uptime = %+v, %v", up[m.ID], err)
	}
	day, err := s.Uptime(ctx, []int64{m.ID}, at.Truncate(24*time.Hour), at.Truncate(24*time.Hour).Add(24*time.Hour))
	if err != nil || day[m.ID] != (Uptime{Up: 2, Down: 1, Degraded: 1}) {
		t.Errorf("daily uptime = %+v, %v", day[m.ID], err)
	}
}

func TestRegionsAndRegionUptime(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	s := openTest(t, WithClock(clk.Now))
	u := newUser(t, s, "a@example.com")
	in := sampleMonitor(u.ID)
	in.Regions, in.Quorum = []string{"eu", "us"}, 2
	m, err := s.CreateMonitor(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Regions) != 2 || m.Regions[1] != "us" || m.Quorum != 2 {
		t.Fatalf("regions %v quorum %d", m.Regions, m.Quorum)
	}
	m.Regions, m.Quorum = nil, 0
	if m, err = s.UpdateMonitor(ctx, m); err != nil || m.Regions != nil || m.Quorum != 0 {
		t.Fatalf("cleared regions: %v %d %v", m.Regions, m.Quorum, err)
	}
	at := clk.Now().Truncate(time.Hour)
	err = s.SaveChecks(ctx, []Check{
		{MonitorID: m.ID, Region: "eu", At: at, OK: true},
		{MonitorID: m.ID, Region: "eu", At: at.Add(time.Minute), OK: false},
		{MonitorID: m.ID, Region: "us", At: at, OK: true, Degraded: true},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.RegionUptime(ctx, m.ID, at.Add(-time.Hour), at.Add(time.Hour))
	if err != nil || got["eu"] != (Uptime{Up: 1, Down: 1}) || got["us"] != (Uptime{Up: 1, Degraded: 1}) || len(got) != 2 {
		t.Errorf("region uptime = %+v, %v", got, err)
	}
}

func TestChecksRecordTheirWorker(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	s := openTest(t, WithClock(clk.Now))
	u := newUser(t, s, "a@example.com")
	m := newMonitor(t, s, u.ID)
	at := clk.Now()
	save := func(checks ...Check) {
		t.Helper()
		if err := s.SaveChecks(ctx, checks, nil); err != nil {
			t.Fatal(err)
		}
	}
	save(Check{MonitorID: m.ID, Region: "eu", Worker: "worker-pi-12", At: at, OK: true},
		Check{MonitorID: m.ID, Region: "us", Worker: "https:vps", At: at, OK: true})
	save(Check{MonitorID: m.ID, Region: "eu", Worker: "worker-pi-12", At: at.Add(time.Second), OK: true},
		Check{MonitorID: m.ID, Region: "local", At: at.Add(time.Second), OK: true})
	cs, err := s.ListChecks(ctx, m.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range cs {
		got[c.Region+"@"+c.At.Format("05")] = c.Worker
	}
	want := map[string]string{"eu@00": "worker-pi-12", "us@00": "https:vps", "eu@01": "worker-pi-12", "local@01": ""}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("worker of %s = %q, want %q", k, got[k], w)
		}
	}
	var names int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM check_workers`).Scan(&names); err != nil || names != 2 {
		t.Errorf("%d worker names kept, want each once (2): %v", names, err)
	}
}
