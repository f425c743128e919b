package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fileState is a database file's bytes and the names of the files beside
// it, to show that a refused Open changed nothing.
type fileState struct {
	data  []byte
	names []string
}

func stateOf(t *testing.T, path string) fileState {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	es, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return fileState{data, names}
}

func (a fileState) same(t *testing.T, b fileState) {
	t.Helper()
	if !bytes.Equal(a.data, b.data) {
		t.Error("the database file changed")
	}
	if !slices.Equal(a.names, b.names) {
		t.Errorf("files beside it were %v, now %v", a.names, b.names)
	}
}

// rawDB opens path with the driver directly, outside the store.
func rawDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenRefusesForeignDatabase(t *testing.T) {
	for _, tc := range []struct {
		name, journal, schema string
	}{
		{"rollback journal", "DELETE", `CREATE TABLE posts (id INTEGER PRIMARY KEY, body TEXT); CREATE TABLE users (id INTEGER PRIMARY KEY)`},
		{"WAL", "WAL", `CREATE TABLE posts (id INTEGER PRIMARY KEY, body TEXT)`},
		// golang-migrate names its table schema_migrations too.
		{"other tool's schema_migrations", "DELETE", `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, dirty INTEGER); CREATE TABLE posts (id INTEGER)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "other-app.db")
			db := rawDB(t, "file:"+path+"?_pragma=journal_mode("+tc.journal+")")
			if _, err := db.Exec(tc.schema + `; INSERT INTO posts (id) VALUES (1)`); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			before := stateOf(t, path)

			s, err := Open(context.Background(), path)
			if err == nil {
				s.Close()
				t.Fatal("Open accepted another application's database")
			}
			if !errors.Is(err, ErrNotUpwatch) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not an upwatch database") {
				t.Errorf("error should name the file and say it is not an upwatch database: %v", err)
			}
			if !strings.Contains(err.Error(), "posts") {
				t.Errorf("error should name the tables it found: %v", err)
			}
			stateOf(t, path).same(t, before)

			if _, err := OpenSource(context.Background(), path); !errors.Is(err, ErrNotUpwatch) {
				t.Errorf("OpenSource: %v", err)
			}
			stateOf(t, path).same(t, before)
		})
	}
}

func TestOpenRefusesNonSQLiteFile(t *testing.T) {
	for name, data := range map[string][]byte{
		"text":  []byte("DATABASE_URL=postgres://db/upwatch\n"),
		"pages": bytes.Repeat([]byte{0xAB}, 8192),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "upwatch.db")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			before := stateOf(t, path)
			s, err := Open(context.Background(), path)
			if err == nil {
				s.Close()
				t.Fatal("Open accepted a file that is not SQLite")
			}
			if !errors.Is(err, ErrNotSQLite) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not an SQLite database") {
				t.Errorf("error should name the file and say it is not SQLite: %v", err)
			}
			stateOf(t, path).same(t, before)
		})
	}
}

func TestOpenEmptyFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// A zero-length file and an SQLite file without tables are new
	// databases, not foreign ones.
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(dir, "bare.db")
	db := rawDB(t, "file:"+bare)
	if _, err := db.Exec(`PRAGMA user_version = 1`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, path := range []string{empty, bare} {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if _, err := s.CountUsers(ctx); err != nil {
			t.Error(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenReadOnlyFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "upwatch.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	before := stateOf(t, path)
	if slices.ContainsFunc(before.names, func(n string) bool { return n != "upwatch.db" }) {
		t.Fatalf("files beside the closed database: %v", before.names)
	}

	s, err = Open(ctx, path)
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a read-only file")
	}
	if !errors.Is(err, ErrReadOnly) || Fault(err) != ErrReadOnly ||
		!strings.Contains(err.Error(), "the database file is read-only") || !strings.Contains(err.Error(), path) {
		t.Errorf("error should name the file and say it is read-only: %v", err)
	}
	stateOf(t, path).same(t, before) // no 0444 -wal and -shm left behind

	// Writable again, but with a read-only -shm beside it (left by an
	// older upwatch that opened the read-only file): named as well.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+"-shm", nil, 0o444); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path)
	if err == nil {
		s.Close()
		t.Fatal("Open accepted a read-only -shm file")
	}
	if !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), path+"-shm") {
		t.Errorf("error should name the read-only -shm file: %v", err)
	}
}

func TestOpenLockedByAnotherProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "upwatch.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// What another process holding the file in exclusive locking mode
	// does: no other connection may even read it.
	holder := rawDB(t, "file:"+path+"?_pragma=locking_mode(EXCLUSIVE)")
	holder.SetMaxOpenConns(1)
	if _, err := holder.Exec(`BEGIN IMMEDIATE; INSERT INTO settings (key, value) VALUES ('held', '1'); COMMIT`); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, path+"?_pragma=busy_timeout(50)")
	if err == nil {
		t.Fatal("Open succeeded under another process's exclusive lock")
	}
	if Fault(err) != ErrLocked || !strings.Contains(err.Error(), "the database is locked by another process") || !strings.Contains(err.Error(), path) {
		t.Errorf("error should name the file and the lock: %v", err)
	}
}

func TestFaultOfSQLiteErrors(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	u := newUser(t, s, "a@example.com")
	m := newMonitor(t, s, u.ID)

	// SQLITE_READONLY: the read pool is query_only.
	_, err := s.r.ExecContext(ctx, `DELETE FROM settings`)
	if Fault(err) != ErrReadOnly {
		t.Errorf("write on the read pool: Fault(%v) = %v", err, Fault(err))
	}

	// SQLITE_BUSY: another connection holds the write lock.
	holder := rawDB(t, "file:"+s.Path()+"?_txlock=immediate")
	tx, err := holder.Begin()
	if err != nil {
		t.Fatal(err)
	}
	other := rawDB(t, "file:"+s.Path()+"?_txlock=immediate&_pragma=busy_timeout(20)")
	_, err = other.Exec(`INSERT INTO settings (key, value) VALUES ('k', 'v')`)
	if Fault(err) != ErrLocked {
		t.Errorf("write under another connection's lock: Fault(%v) = %v", err, Fault(err))
	}
	tx.Rollback()

	// SQLITE_FULL, for real: the writer may not grow the file.
	var pages int64
	if err := s.w.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `PRAGMA max_page_count = `+strconv.FormatInt(pages, 10)); err != nil {
		t.Fatal(err)
	}
	var full error
	for i := 0; full == nil && i < 200; i++ {
		full = s.SaveChecks(ctx, checksEvery(m.ID, t0.Add(time.Duration(i)*time.Hour), time.Hour, time.Second, true), nil)
	}
	if full == nil || Fault(full) != ErrDiskFull {
		t.Errorf("saving checks into a full database: Fault(%v) = %v", full, Fault(full))
	}
	if _, err := s.w.ExecContext(ctx, `PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveChecks(ctx, checksEvery(m.ID, t0.Add(-time.Hour), time.Minute, time.Second, true), nil); err != nil {
		t.Errorf("after the disk has room again: %v", err)
	}

	for _, err := range []error{nil, errors.New("boom"), ErrNotFound, sql.ErrNoRows} {
		if f := Fault(err); f != nil {
			t.Errorf("Fault(%v) = %v, want nil", err, f)
		}
	}
	if f := Fault(errors.Join(errors.New("x"), ErrDiskFull)); f != ErrDiskFull {
		t.Errorf("Fault of a wrapped ErrDiskFull = %v", f)
	}
}
