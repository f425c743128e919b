package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func count(t *testing.T, s *Store, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.r.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// seedAges stores a check every 6 hours for 40 days up to now, for two
// monitors, and returns how many are older than cut.
func seedAges(t *testing.T, s *Store, now, cut time.Time) (ids []int64, older int64) {
	t.Helper()
	u := newUser(t, s, "a@example.com")
	for range 2 {
		m := newMonitor(t, s, u.ID)
		ids = append(ids, m.ID)
		cs := checksEvery(m.ID, now.Add(-40*24*time.Hour), 40*24*time.Hour, 6*time.Hour, true)
		if err := s.SaveChecks(context.Background(), cs, nil); err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.At.Before(cut) {
				older++
			}
		}
	}
	return ids, older
}

func TestPruneChecks(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cut := now.Add(-30 * 24 * time.Hour)
	_, older := seedAges(t, s, now, cut)
	total := count(t, s, `SELECT COUNT(*) FROM checks`)
	hourly, daily := count(t, s, `SELECT COUNT(*) FROM hourly`), count(t, s, `SELECT COUNT(*) FROM daily`)
	upBefore := count(t, s, `SELECT SUM(up) FROM daily`)

	// In batches of 7 (not a divisor of the 80 rows to delete).
	n, err := s.PruneChecks(ctx, cut, 7)
	if err != nil || n != older {
		t.Fatalf("PruneChecks = %d, %v, want %d", n, err, older)
	}
	if left := count(t, s, `SELECT COUNT(*) FROM checks`); left != total-older {
		t.Errorf("%d checks left, want %d", left, total-older)
	}
	if n := count(t, s, `SELECT COUNT(*) FROM checks WHERE ts < ?`, toMillis(cut)); n != 0 {
		t.Errorf("%d checks older than the cut left", n)
	}
	if h, d, up := count(t, s, `SELECT COUNT(*) FROM hourly`), count(t, s, `SELECT COUNT(*) FROM daily`),
		count(t, s, `SELECT SUM(up) FROM daily`); h != hourly || d != daily || up != upBefore {
		t.Errorf("roll-ups changed: hourly %d→%d, daily %d→%d, up %d→%d", hourly, h, daily, d, upBefore, up)
	}
	if n, err := s.PruneChecks(ctx, cut, 7); err != nil || n != 0 {
		t.Errorf("second prune = %d, %v", n, err)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.PruneChecks(cancelled, now, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled prune: %v", err)
	}
}

func TestPruneHourly(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cut := now.Add(-10*24*time.Hour - 30*time.Minute) // inside an hour: that hour started before the cut
	seedAges(t, s, now, cut)
	want := count(t, s, `SELECT COUNT(*) FROM hourly WHERE ts < ?`, toMillis(cut))
	daily := count(t, s, `SELECT COUNT(*) FROM daily`)
	checks := count(t, s, `SELECT COUNT(*) FROM checks`)
	n, err := s.PruneHourly(ctx, cut, 5)
	if err != nil || n != want || n == 0 {
		t.Fatalf("PruneHourly = %d, %v, want %d", n, err, want)
	}
	if left := count(t, s, `SELECT COUNT(*) FROM hourly WHERE ts < ?`, toMillis(cut)); left != 0 {
		t.Errorf("%d old hourly rows left", left)
	}
	if d, c := count(t, s, `SELECT COUNT(*) FROM daily`), count(t, s, `SELECT COUNT(*) FROM checks`); d != daily || c != checks {
		t.Errorf("daily %d→%d, checks %d→%d: only hourly rows may go", daily, d, checks, c)
	}
}

func TestAutoVacuumIncremental(t *testing.T) {
	s := openTest(t)
	if mode := count(t, s, `PRAGMA auto_vacuum`); mode != 2 {
		t.Errorf("new database: auto_vacuum = %d, want 2 (incremental)", mode)
	}

	// A database created before (by an upwatch that did not set the mode):
	// keeps its mode, and maintenance copes.
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	old, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if mode := count(t, old, `PRAGMA auto_vacuum`); mode != 0 {
		t.Errorf("existing database: auto_vacuum = %d, want it left at 0", mode)
	}
	if _, err := old.MaintainOnce(context.Background(), MaintenanceConfig{}); err != nil {
		t.Error(err)
	}
}

func TestMaintainOnce(t *testing.T) {
	ctx := context.Background()
	clk := newTestClock()
	s := openTest(t, WithClock(clk.Now))

	// Fresh database: nothing to do, no error.
	rep, err := s.MaintainOnce(ctx, MaintenanceConfig{})
	if err != nil || rep.Checks != 0 || rep.Hourly != 0 || rep.Sessions != 0 {
		t.Fatalf("fresh: %+v, %v", rep, err)
	}

	// Used database: old checks with some bulk, an expired session.
	now := clk.Now()
	u := newUser(t, s, "a@example.com")
	m := newMonitor(t, s, u.ID)
	var cs []Check
	for _, c := range checksEvery(m.ID, now.Add(-40*24*time.Hour), 5*24*time.Hour, time.Minute, false) {
		c.Error = string(bytes.Repeat([]byte("x"), 200))
		cs = append(cs, c)
	}
	if err := s.SaveChecks(ctx, cs, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, u.ID, 1, []byte("old"), now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, u.ID, 1, []byte("live"), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	rep, err = s.MaintainOnce(ctx, MaintenanceConfig{HourlyRetention: 36 * 24 * time.Hour, Batch: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Checks != int64(len(cs)) || rep.Sessions != 1 || rep.Hourly != 24*4 {
		t.Errorf("report %+v, want %d checks, 1 session, 96 hourly rows", rep, len(cs))
	}
	if rep.FreedPages == 0 {
		t.Errorf("no pages freed after deleting %d checks: %+v", len(cs), rep)
	}
	if free := count(t, s, `PRAGMA freelist_count`); free != 0 {
		t.Errorf("freelist_count = %d after maintenance", free)
	}
	if fi, err := os.Stat(s.Path() + "-wal"); err != nil || (!rep.WALBusy && fi.Size() != 0) {
		t.Errorf("WAL after checkpoint: %v, %v (busy %v)", fi.Size(), err, rep.WALBusy)
	}
	if n := count(t, s, `SELECT SUM(down) FROM daily`); n != int64(len(cs)) {
		t.Errorf("daily roll-ups hold %d checks, want %d", n, len(cs))
	}
}

func TestMaintainLoop(t *testing.T) {
	clk := newTestClock()
	s := openTest(t, WithClock(clk.Now))
	u := newUser(t, s, "a@example.com")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	waits := make(chan time.Duration)
	ticks := make(chan time.Time)
	var logs syncBuffer
	cfg := MaintenanceConfig{
		Every:  time.Hour,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		After: func(d time.Duration) <-chan time.Time {
			waits <- d
			return ticks
		},
	}
	done := make(chan struct{})
	go func() {
		s.Maintain(ctx, cfg)
		close(done)
	}()
	if d := <-waits; d != time.Minute {
		t.Errorf("first run after %v, want 1m", d)
	}
	for i := range 2 {
		if err := s.CreateSession(context.Background(), u.ID, 1, []byte{byte(i)}, clk.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Minute)
		ticks <- clk.Now()
		if d := <-waits; d != time.Hour { // the run is over when it waits again
			t.Errorf("next run after %v, want 1h", d)
		}
		if n := count(t, s, `SELECT COUNT(*) FROM sessions`); n != 0 {
			t.Errorf("run %d: %d expired sessions left", i, n)
		}
	}
	cancel()
	<-done
	if !bytes.Contains(logs.Bytes(), []byte("sessions=1")) {
		t.Errorf("log: %s", logs.Bytes())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.b.Bytes())
}

func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := newUser(t, s, "a@example.com")
	var ids []int64
	for range 20 {
		ids = append(ids, newMonitor(t, s, u.ID).ID)
	}

	// A writer that never stops: batch i holds one check per monitor.
	var committed atomic.Int64 // batches committed
	stop := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				errc <- nil
				return
			default:
			}
			var batch []Check
			for _, id := range ids {
				batch = append(batch, Check{MonitorID: id, Region: "local", At: t0.Add(time.Duration(i) * time.Minute), OK: true, StatusCode: 200})
			}
			if err := s.SaveChecks(ctx, batch, nil); err != nil {
				errc <- err
				return
			}
			committed.Add(1)
		}
	}()
	for committed.Load() < 20 {
		// Let the writer get ahead; each SaveChecks is a real commit.
		if err := s.Ping(ctx); err != nil {
			t.Fatal(err)
		}
	}

	dest := filepath.Join(t.TempDir(), "backup.db")
	before := committed.Load()
	if err := s.Backup(ctx, dest); err != nil {
		t.Fatal(err)
	}
	after := committed.Load()
	close(stop)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}

	b, err := Open(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var ok string
	if err := b.r.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check = %q, %v", ok, err)
	}
	n := count(t, b, `SELECT COUNT(*) FROM checks`)
	if n < before*int64(len(ids)) || n > (after+1)*int64(len(ids)) || n%int64(len(ids)) != 0 {
		t.Errorf("backup holds %d checks; %d batches of %d were committed before, %d after", n, before, len(ids), after)
	}
	// Roll-ups are copied in step with the checks: one snapshot.
	if up := count(t, b, `SELECT SUM(up) FROM daily`); up != n {
		t.Errorf("backup: %d checks but %d in the roll-ups", n, up)
	}

	if err := s.Backup(ctx, dest); !errors.Is(err, fs.ErrExist) {
		t.Errorf("backup over an existing file: %v", err)
	}
	if err := s.Backup(ctx, ""); err == nil {
		t.Error("backup to an empty path accepted")
	}
}

// fillChecks adds n raw checks of about 2 KB each to monitor m straight
// through SQL, to make a database big enough that copying it takes a while.
func fillChecks(t testing.TB, s *Store, m int64, n int) {
	t.Helper()
	_, err := s.w.Exec(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		INSERT INTO checks (monitor_id, region, ts, ok, error) SELECT ?, 'filler', i, 0, hex(zeroblob(1000)) FROM seq`, n, m)
	if err != nil {
		t.Fatal(err)
	}
}

func TestBackupDoesNotBlockWrites(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := newUser(t, s, "a@example.com")
	m := newMonitor(t, s, u.ID)
	fillChecks(t, s, m.ID, 10000) // ~20 MB

	dest := filepath.Join(t.TempDir(), "backup.db")
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- s.Backup(ctx, dest) }()
	// VACUUM INTO creates dest when it starts copying.
	for {
		if _, err := os.Stat(dest); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("backup finished (%v) before the test saw it start", err)
		default:
			time.Sleep(time.Millisecond)
		}
	}
	// Writes, each its own commit, finish while the copy runs: on the
	// writer, VACUUM INTO held them all until it was done.
	var writes time.Duration
	for i := range 5 {
		w0 := time.Now()
		if err := s.SaveChecks(ctx, []Check{{MonitorID: m.ID, Region: "local", At: t0.Add(time.Duration(i) * time.Minute), OK: true}}, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateMonitor(ctx, sampleMonitor(u.ID)); err != nil {
			t.Fatal(err)
		}
		writes += time.Since(w0)
	}
	select {
	case err := <-done:
		t.Fatalf("the writes waited for the backup (%v): it finished first, after %v", err, time.Since(start))
	default:
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("backup took %v; 10 writes during it took %v", time.Since(start), writes)

	b, err := Open(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var ok string
	if err := b.r.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check = %q, %v", ok, err)
	}
	// The snapshot is from before the writes.
	if n := count(t, b, `SELECT COUNT(*) FROM checks`); n != 10000 {
		t.Errorf("backup holds %d checks, want the 10000 from before it started", n)
	}
}

func TestSourceBackup(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "upwatch.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	newUser(t, s, "a@example.com")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Another process holds the write lock: a backup only reads, so it
	// neither waits nor fails.
	holder := rawDB(t, "file:"+path+"?_txlock=immediate")
	tx, err := holder.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO settings (key, value) VALUES ('uncommitted', '1')`); err != nil {
		t.Fatal(err)
	}
	src, err := OpenSource(ctx, path+"?_pragma=busy_timeout(50)")
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "backup.db")
	if err := src.Backup(ctx, dest); err != nil {
		t.Fatalf("backup under another process's write lock: %v", err)
	}
	tx.Rollback()
	holder.Close()
	b, err := Open(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, b, `SELECT COUNT(*) FROM users`); n != 1 {
		t.Errorf("backup holds %d users", n)
	}
	b.Close()

	// A lock that keeps even readers out is named as such.
	excl := rawDB(t, "file:"+path+"?_pragma=locking_mode(EXCLUSIVE)")
	excl.SetMaxOpenConns(1)
	if _, err := excl.Exec(`BEGIN IMMEDIATE; INSERT INTO settings (key, value) VALUES ('held', '1'); COMMIT`); err != nil {
		t.Fatal(err)
	}
	err = src.Backup(ctx, filepath.Join(dir, "backup2.db"))
	if Fault(err) != ErrLocked || !strings.Contains(err.Error(), "the database is locked by another process") {
		t.Errorf("backup under an exclusive lock: %v", err)
	}
	excl.Close()

	// A typo in the path does not create an empty database to back up.
	missing := filepath.Join(dir, "typo.db")
	if _, err := OpenSource(ctx, missing); err == nil || !strings.Contains(err.Error(), "no database there") {
		t.Errorf("OpenSource of a missing file: %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenSource created %s: %v", missing, err)
	}
}
