// Package store keeps upwatch's data in one SQLite file: users, sessions,
// settings, monitors, their checks, the hourly and daily roll-ups that
// answer every history question, and incidents.
//
// Every write goes through a single writer connection, so SQLite never has
// to arbitrate between writers inside the process; reads use a separate
// pool that WAL lets run alongside the writer.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// readConns bounds the read pool: a few readers cover the web pages on a
// small machine without multiplying SQLite's per-connection page caches.
const readConns = 4

// Store is the SQLite-backed storage. It is safe for concurrent use.
type Store struct {
	path string
	dsn  dsn
	w    *sql.DB // the one writer connection
	r    *sql.DB // query_only read pool
	now  func() time.Time
	// prepared holds the hot write statements (see prepared.go); fixed
	// after Open.
	prepared map[string]*sql.Stmt

	// workers caches check_workers ids by name: a handful of names,
	// needed for every check.
	workersMu sync.Mutex
	workers   map[string]int64

	ww writeWatch // the outcome of writes, for WriteHealth

	quotas quotaDefaults // the instance's default quotas (quotas.go)
}

type options struct {
	now func() time.Time
}

// Option configures Open.
type Option func(*options)

// WithClock replaces time.Now, so tests can steer session expiry and the
// timestamps the store writes itself.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// Open opens (creating if needed) the database named by dsn and brings its
// schema up to date. See parseDSN for the accepted forms.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	d, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	if err := d.checkDir(); err != nil {
		return nil, err
	}
	// Read-only and changing nothing, before the writer may switch the file
	// to WAL and add tables.
	if err := d.inspect(ctx); err != nil {
		return nil, err
	}

	s := &Store{path: d.path, dsn: d, now: o.now}
	if s.w, err = sql.Open("sqlite", d.writer()); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", d.path, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	// Keep the one connection for good: reopening it would re-run the
	// pragmas and drop SQLite's page cache.
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	if err := s.initWriter(ctx, !d.hasPragma("auto_vacuum")); err != nil {
		s.w.Close()
		return nil, openError(d.path, err)
	}

	if s.prepared, err = prepareHot(ctx, s.w); err != nil {
		s.w.Close()
		return nil, openError(d.path, err)
	}

	// The read pool is opened after migrating so its connections never see
	// a half-built schema.
	if s.r, err = sql.Open("sqlite", d.reader()); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("store: open %s: %w", d.path, err)
	}
	s.r.SetMaxOpenConns(readConns)
	s.r.SetMaxIdleConns(readConns)
	if err := s.r.PingContext(ctx); err != nil {
		s.Close()
		return nil, openError(d.path, fmt.Errorf("store: open %s for reading: %w", d.path, err))
	}
	return s, nil
}

// openError names the file and, when the environment is at fault (a lock,
// the disk, permissions), the cause in words before SQLite's own message.
func openError(path string, err error) error {
	if f := Fault(err); f != nil && !errors.Is(err, f) {
		prefix := "store: open " + path + ": "
		return &wrapped{
			msg:  prefix + f.Error() + " (" + strings.TrimPrefix(err.Error(), prefix) + ")",
			errs: []error{f, err},
		}
	}
	return err
}

// wrapped is an error with its own text that wraps others.
type wrapped struct {
	msg  string
	errs []error
}

func (e *wrapped) Error() string   { return e.msg }
func (e *wrapped) Unwrap() []error { return e.errs }

func (s *Store) initWriter(ctx context.Context, autoVacuum bool) error {
	// The pragmas in the DSN run when the first connection opens; a file
	// system without shared memory support silently stays out of WAL, and
	// the reader/writer split would then block, so fail loudly instead.
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("store: open %s: %w", s.path, err)
	}
	if mode != "wal" {
		return fmt.Errorf("store: open %s: journal_mode is %q, want wal (is the file on a network file system?)", s.path, mode)
	}
	// Before migrating: on a new file, the mode must be set before the
	// first table is created. A DSN that sets auto_vacuum itself wins.
	if autoVacuum {
		if err := setAutoVacuum(ctx, s.w); err != nil {
			return fmt.Errorf("store: open %s: auto_vacuum: %w", s.path, err)
		}
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	// The server runs for months: refresh planner statistics that are
	// missing or stale now rather than waiting for a clean shutdown. The
	// analysis limit keeps this to milliseconds on a large checks table.
	if _, err := s.w.ExecContext(ctx, "PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002"); err != nil {
		return fmt.Errorf("store: optimize %s: %w", s.path, err)
	}
	return nil
}

// Close closes both pools. It lets SQLite refresh the planner statistics
// of tables whose shape changed first, which is cheap when nothing did.
func (s *Store) Close() error {
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	closeStmts(s.prepared)
	if _, err := s.w.Exec("PRAGMA analysis_limit = 1000; PRAGMA optimize"); err != nil {
		errs = append(errs, fmt.Errorf("store: optimize: %w", err))
	}
	errs = append(errs, s.w.Close())
	return errors.Join(errs...)
}

// Ping checks that both the writer and the read pool answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping writer: %w", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping reader: %w", err)
	}
	return nil
}

// PingRead checks that the database answers a read, from the read pool:
// unlike Ping it never waits for the writer, which a lock held by another
// process or a slow disk may keep busy.
func (s *Store) PingRead(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations LIMIT 1`).Scan(&one); err != nil {
		return fmt.Errorf("store: read: %w", describeFault(err))
	}
	return nil
}

// Path is the database file's path as parsed from the DSN, for logs and
// backups.
func (s *Store) Path() string { return s.path }

// sqliteCode returns the extended SQLite result code of err, or 0.
func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func isUniqueViolation(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func isForeignKeyViolation(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE, from the DSN) and
// commits if fn returns nil. fn must use tx only: the writer pool has one
// connection, which tx is holding.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) (err error) {
	s.ww.begin(time.Now())
	defer func() { s.ww.end(time.Now(), err) }()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Times are stored as Unix milliseconds and durations as microseconds, both
// as INTEGER, so SQL can compare and sum them without parsing.

func toMillis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func toMicros(d time.Duration) int64 { return d.Microseconds() }

func fromMicros(us int64) time.Duration { return time.Duration(us) * time.Microsecond }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
