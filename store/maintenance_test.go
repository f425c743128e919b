package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestMaintenanceCRUDAndOwnership(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	alice := newUser(t, s, "alice@example.com")
	bob := newUser(t, s, "bob@example.com")
	ma := newMonitor(t, s, alice.ID)
	mb := newMonitor(t, s, bob.ID)
	start := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
	w := Maintenance{UserID: alice.ID, Title: "DB upgrade", Kind: MaintenanceOnce, StartsAt: start,
		EndsAt: start.Add(time.Hour), TimeZone: "UTC", Monitors: []int64{ma.ID}, Tags: []string{"db"}}
	got, err := s.CreateMaintenance(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateMaintenance(ctx, Maintenance{UserID: alice.ID, Title: "x", Kind: MaintenanceOnce,
		StartsAt: start, EndsAt: start.Add(time.Hour), TimeZone: "UTC", Monitors: []int64{mb.ID}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("another user's monitor: %v, want ErrNotFound", err)
	}
	read, err := s.GetMaintenance(ctx, alice.ID, got.ID)
	if err != nil || read.Title != "DB upgrade" || !read.StartsAt.Equal(start) || len(read.Monitors) != 1 ||
		read.Monitors[0] != ma.ID || len(read.Tags) != 1 {
		t.Fatalf("GetMaintenance = %+v, %v", read, err)
	}
	if _, err := s.GetMaintenance(ctx, bob.ID, got.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob reads alice's window: %v", err)
	}
	read.Kind, read.Days, read.StartTime, read.EndTime, read.TimeZone = MaintenanceWeekly, []string{"sun"}, "01:00", "05:00", "Europe/Berlin"
	read.StartsAt, read.EndsAt = time.Time{}, time.Time{}
	if err := s.UpdateMaintenance(ctx, read); err != nil {
		t.Fatal(err)
	}
	all, err := s.AllMaintenance(ctx)
	if err != nil || len(all) != 1 || all[0].Kind != MaintenanceWeekly || all[0].Days[0] != "sun" || !all[0].StartsAt.IsZero() {
		t.Fatalf("AllMaintenance = %+v, %v", all, err)
	}
	if err := s.DeleteMaintenance(ctx, bob.ID, got.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("bob deletes alice's window: %v", err)
	}
	if err := s.DeleteMaintenance(ctx, alice.ID, got.ID); err != nil {
		t.Fatal(err)
	}
	if list, err := s.ListMaintenance(ctx, alice.ID); err != nil || len(list) != 0 {
		t.Errorf("after delete: %+v, %v", list, err)
	}
}

// Maintenance checks count apart: uptime leaves them out.
func TestMaintenanceChecksLeaveUptime(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := newUser(t, s, "a@example.com")
	m := newMonitor(t, s, u.ID)
	start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	up := checksEvery(m.ID, start, time.Hour, time.Minute, true)
	down := checksEvery(m.ID, start.Add(time.Hour), time.Hour, time.Minute, false)
	for i := range down {
		down[i].Maintenance = true
	}
	if err := s.SaveChecks(ctx, append(up, down...), nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Uptime(ctx, []int64{m.ID}, start, start.Add(2*time.Hour))
	if err != nil || got[m.ID] != (Uptime{Up: 60}) {
		t.Errorf("Uptime = %+v, %v; want 60 up and the maintenance hour left out", got[m.ID], err)
	}
}

// Past downtime marked as maintenance leaves the roll-ups' up/down (hourly
// and daily), once however often it is marked.
func TestMarkMaintenanceAfterwards(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	s := openTest(t, WithClock(clk.Now))
	u := newUser(t, s, "a@example.com")
	m := newMonitor(t, s, u.ID)
	start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	cs := checksEvery(m.ID, start, time.Hour, time.Minute, true)
	cs = append(cs, checksEvery(m.ID, start.Add(time.Hour), 30*time.Minute, time.Minute, false)...)
	cs = append(cs, checksEvery(m.ID, start.Add(90*time.Minute), 30*time.Minute, time.Minute, true)...)
	if err := s.SaveChecks(ctx, cs, nil); err != nil {
		t.Fatal(err)
	}
	clk.t = start.Add(5 * time.Hour)
	// The outage, and ten minutes of the good time after it.
	w := Maintenance{UserID: u.ID, Title: "it was planned", Kind: MaintenanceOnce, TimeZone: "UTC",
		StartsAt: start.Add(time.Hour), EndsAt: start.Add(100 * time.Minute), Monitors: []int64{m.ID}}
	if _, err := s.CreateMaintenance(ctx, w); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkMaintenance(ctx, w.Monitors, w.StartsAt, w.EndsAt); err != nil { // again: no change
		t.Fatal(err)
	}
	want := Uptime{Up: 60 + 20}
	for _, span := range [][2]time.Time{{start, start.Add(2 * time.Hour)}, {start.Truncate(24 * time.Hour), start.Truncate(24 * time.Hour).Add(24 * time.Hour)}} {
		got, err := s.Uptime(ctx, []int64{m.ID}, span[0], span[1])
		if err != nil || got[m.ID] != want {
			t.Errorf("Uptime %v–%v = %+v, %v; want %+v", span[0], span[1], got[m.ID], err, want)
		}
	}
	var marked, maint int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM checks WHERE monitor_id = ? AND maintenance = 1`, m.ID).Scan(&marked); err != nil {
		t.Fatal(err)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT SUM(maint) FROM daily WHERE monitor_id = ?`, m.ID).Scan(&maint); err != nil {
		t.Fatal(err)
	}
	if marked != 40 || maint != 40 {
		t.Errorf("marked %d checks, daily maint %d; want 40 and 40", marked, maint)
	}
}
