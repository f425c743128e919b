package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Retention defaults for MaintenanceConfig.
const (
	DefaultRetention       = 30 * 24 * time.Hour  // raw checks
	DefaultHourlyRetention = 400 * 24 * time.Hour // hourly roll-ups; daily ones are kept for ever
	DefaultMaintainEvery   = 10 * time.Minute
	DefaultPruneBatch      = 2000
)

// MaintenanceConfig configures Maintain and MaintainOnce; zero fields take
// the defaults.
type MaintenanceConfig struct {
	Every           time.Duration // between runs; default 10 min
	FirstRun        time.Duration // delay of the first run; default 1 min (at most Every)
	Retention       time.Duration // raw checks older than this are deleted; default 30 days, < 0 keeps them
	HourlyRetention time.Duration // likewise for hourly roll-ups; default 400 days, < 0 keeps them
	Batch           int           // rows deleted per transaction; default 2000
	Logger          *slog.Logger  // nil discards

	// DeliveryRetention: alert deliveries (and their attempts) queued longer
	// ago are deleted; default 30 days, < 0 keeps them.
	DeliveryRetention time.Duration

	// After waits like time.After (the default); tests replace it to step
	// the loop without sleeping.
	After func(time.Duration) <-chan time.Time
}

func (c MaintenanceConfig) withDefaults() MaintenanceConfig {
	if c.Every <= 0 {
		c.Every = DefaultMaintainEvery
	}
	if c.FirstRun <= 0 {
		c.FirstRun = min(time.Minute, c.Every)
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.HourlyRetention == 0 {
		c.HourlyRetention = DefaultHourlyRetention
	}
	if c.DeliveryRetention == 0 {
		c.DeliveryRetention = DefaultDeliveryRetention
	}
	if c.Batch <= 0 {
		c.Batch = DefaultPruneBatch
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.After == nil {
		c.After = time.After
	}
	return c
}

// MaintenanceReport is what one maintenance run did.
type MaintenanceReport struct {
	Sessions   int64 // expired sessions deleted
	Checks     int64 // raw checks deleted
	Hourly     int64 // hourly roll-up rows deleted
	Deliveries int64 // alert deliveries deleted (their attempts go with them)
	FreedPages int64 // pages returned to the file system by incremental vacuum
	WALBusy    bool  // the checkpoint could not truncate the WAL (a reader was in it)
	Took       time.Duration
}

// Maintain runs MaintainOnce every cfg.Every until ctx ends, the first time
// cfg.FirstRun after it starts. It is the store's only goroutine: start it
// with go. Failures are logged and retried at the next run.
func (s *Store) Maintain(ctx context.Context, cfg MaintenanceConfig) {
	cfg = cfg.withDefaults()
	wait := cfg.FirstRun
	for {
		select {
		case <-ctx.Done():
			return
		case <-cfg.After(wait):
		}
		wait = cfg.Every
		rep, err := s.MaintainOnce(ctx, cfg)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			cfg.Logger.Error("store maintenance failed", "err", err)
		default:
			cfg.Logger.Info("store maintenance", "sessions", rep.Sessions, "checks", rep.Checks,
				"hourly", rep.Hourly, "deliveries", rep.Deliveries, "freed_pages", rep.FreedPages, "wal_busy", rep.WALBusy, "took", rep.Took)
		}
	}
}

// MaintainOnce deletes expired sessions, raw checks, hourly roll-ups and
// alert deliveries past their retention (by the store's clock), then
// keeps the file bounded: it returns free pages to the file system (incremental vacuum),
// lets SQLite refresh planner statistics and truncates the WAL. Every step
// is its own short transaction, so the result sink waits milliseconds at a
// time, never for the whole run.
func (s *Store) MaintainOnce(ctx context.Context, cfg MaintenanceConfig) (MaintenanceReport, error) {
	cfg = cfg.withDefaults()
	start := time.Now()
	now := s.now()
	var rep MaintenanceReport
	var err error
	if rep.Sessions, err = s.DeleteExpiredSessions(ctx); err != nil {
		return rep, err
	}
	if cfg.Retention > 0 {
		if rep.Checks, err = s.PruneChecks(ctx, now.Add(-cfg.Retention), cfg.Batch); err != nil {
			return rep, err
		}
	}
	if cfg.HourlyRetention > 0 {
		if rep.Hourly, err = s.PruneHourly(ctx, now.Add(-cfg.HourlyRetention), cfg.Batch); err != nil {
			return rep, err
		}
	}
	if cfg.DeliveryRetention > 0 {
		if rep.Deliveries, err = s.PruneDeliveries(ctx, now.Add(-cfg.DeliveryRetention), cfg.Batch); err != nil {
			return rep, err
		}
	}
	if rep.FreedPages, err = s.incrementalVacuum(ctx); err != nil {
		return rep, fmt.Errorf("store: incremental vacuum: %w", err)
	}
	if _, err := s.w.ExecContext(ctx, `PRAGMA analysis_limit = 1000; PRAGMA optimize`); err != nil {
		return rep, fmt.Errorf("store: optimize: %w", err)
	}
	// Last, so the WAL is emptied of everything above too. It cannot
	// truncate while a reader is still using the WAL; the next run will.
	var busy, logPages, done int
	if err := s.w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logPages, &done); err != nil {
		return rep, fmt.Errorf("store: checkpoint: %w", err)
	}
	rep.WALBusy = busy != 0
	rep.Took = time.Since(start)
	return rep, nil
}

// vacuumStep is how many free pages one incremental vacuum step returns
// (8 MiB at 4 KiB pages), so a large prune does not hold the writer for
// long.
const vacuumStep = 2048

// incrementalVacuum truncates the file by its free pages, in steps. On a
// database created before auto_vacuum was set it does nothing.
func (s *Store) incrementalVacuum(ctx context.Context) (int64, error) {
	var mode int
	if err := s.w.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		return 0, err
	}
	if mode != 2 { // not INCREMENTAL: free pages are reused, never returned
		return 0, nil
	}
	var freed int64
	for {
		var free int64
		if err := s.w.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&free); err != nil {
			return freed, err
		}
		if free == 0 {
			return freed, nil
		}
		if _, err := s.w.ExecContext(ctx, fmt.Sprintf(`PRAGMA incremental_vacuum(%d)`, vacuumStep)); err != nil {
			return freed, err
		}
		freed += min(free, vacuumStep)
	}
}

// PruneChecks deletes raw checks older than before, batch rows per
// transaction (batch <= 0: DefaultPruneBatch), and returns how many it
// deleted. Between transactions the
// writer connection goes back to the pool, whose waiting callers (the
// result sink) get it first; the roll-ups are untouched.
func (s *Store) PruneChecks(ctx context.Context, before time.Time, batch int) (int64, error) {
	// Monitor by monitor through the (monitor_id, ts) index: each batch
	// costs one index seek per monitor plus the rows deleted, where a scan
	// by ts would read the whole table to find nothing left to delete.
	n, err := s.prune(ctx, `DELETE FROM checks WHERE id IN (
		SELECT c.id FROM monitors AS m CROSS JOIN checks AS c ON c.monitor_id = m.id
		WHERE c.ts < ?1 LIMIT ?2)`, toMillis(before), batch)
	if err != nil {
		return n, fmt.Errorf("store: prune checks: %w", err)
	}
	return n, nil
}

// PruneHourly deletes hourly roll-ups of hours that started before before,
// batch rows per transaction; see PruneChecks. Daily roll-ups are kept.
func (s *Store) PruneHourly(ctx context.Context, before time.Time, batch int) (int64, error) {
	n, err := s.prune(ctx, `DELETE FROM hourly WHERE (monitor_id, ts, region) IN (
		SELECT h.monitor_id, h.ts, h.region FROM monitors AS m CROSS JOIN hourly AS h ON h.monitor_id = m.id
		WHERE h.ts < ?1 LIMIT ?2)`, toMillis(before), batch)
	if err != nil {
		return n, fmt.Errorf("store: prune hourly roll-ups: %w", err)
	}
	return n, nil
}

func (s *Store) prune(ctx context.Context, query string, before int64, batch int) (int64, error) {
	if batch <= 0 {
		batch = DefaultPruneBatch
	}
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		res, err := s.exec(ctx, query, before, batch)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}

// Backup writes a consistent copy of the database to dest with VACUUM
// INTO, compacted: the copy is the state at the moment it started. It reads
// through a connection of its own, not the writer, so writes (and health
// checks) go on while it copies. An existing dest is refused rather than
// overwritten.
func (s *Store) Backup(ctx context.Context, dest string) error {
	return backup(ctx, s.dsn, dest)
}

// Source is a database opened only to be copied, for `upwatch backup`:
// unlike Open it neither creates nor migrates the database, and it takes no
// write lock, so a server on the same file goes on undisturbed.
type Source struct {
	d dsn
}

// OpenSource checks that dsn names an existing upwatch database, which it
// leaves as it is, for Source.Backup.
func OpenSource(ctx context.Context, dsn string) (*Source, error) {
	d, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(d.path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: open %s: no database there", d.path)
	}
	if err := d.inspect(ctx); err != nil {
		return nil, err
	}
	return &Source{d: d}, nil
}

// Backup writes a consistent copy of the database to dest; see
// Store.Backup.
func (src *Source) Backup(ctx context.Context, dest string) error {
	return backup(ctx, src.d, dest)
}

// backup runs VACUUM INTO on a connection of its own (see dsn.copier): in
// WAL mode its read transaction keeps the snapshot the copy is made from
// while the writer commits beside it.
func backup(ctx context.Context, d dsn, dest string) error {
	if dest == "" {
		return errors.New("store: backup: empty destination path")
	}
	// Absolute: SQLite would read a relative "file:…" name as a URI.
	abs, err := filepath.Abs(dest)
	if err != nil {
		return fmt.Errorf("store: backup to %s: %w", dest, err)
	}
	if _, err := os.Lstat(abs); err == nil {
		return fmt.Errorf("store: backup to %s: %w", dest, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: backup to %s: %w", dest, err)
	}
	db, err := sql.Open("sqlite", d.copier())
	if err != nil {
		return fmt.Errorf("store: backup of %s: %w", d.path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, abs); err != nil {
		return fmt.Errorf("store: backup of %s to %s: %w", d.path, dest, describeFault(err))
	}
	// VACUUM INTO does not sync the copy; a backup should survive a crash.
	if err := syncFile(abs); err != nil {
		return fmt.Errorf("store: backup to %s: %w", dest, err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// setAutoVacuum makes a new, empty database auto_vacuum=INCREMENTAL, so
// MaintainOnce can hand pages freed by retention back to the file system.
// The mode can only change before the first table exists (or by a full
// VACUUM, which on an empty file is instant); the WAL pragma of the DSN has
// already written the header, hence the VACUUM. An existing database keeps
// its mode.
func setAutoVacuum(ctx context.Context, db *sql.DB) error {
	var tables, mode int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema`).Scan(&tables); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		return err
	}
	if tables > 0 || mode == 2 {
		return nil
	}
	_, err := db.ExecContext(ctx, `PRAGMA auto_vacuum = INCREMENTAL; VACUUM`)
	return err
}
