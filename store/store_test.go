package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// testClock is a settable clock for WithClock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openTest(t testing.TB, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "upwatch.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestOpenMigrateReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "upwatch.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateUser(ctx, "a@example.com", "hash", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.UserByID(ctx, u.ID)
	if err != nil || got.Email != "a@example.com" {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	var n, maxV int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &maxV); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || maxV != ms[len(ms)-1].version {
		t.Errorf("schema_migrations: %d rows up to %d, want %d up to %d", n, maxV, len(ms), ms[len(ms)-1].version)
	}
	var mode string
	if err := s.r.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v", mode, err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "upwatch.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)`); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, path)
	if err == nil {
		t.Fatal("Open accepted a database from a newer binary")
	}
	ms, lerr := loadMigrations(migrationFS)
	if lerr != nil {
		t.Fatal(lerr)
	}
	if !strings.Contains(err.Error(), "999") || !strings.Contains(err.Error(), fmt.Sprintf("binary's %d", ms[len(ms)-1].version)) {
		t.Errorf("error should name both versions: %v", err)
	}
}

func TestOpenDSNForms(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, tc := range []struct {
		dsn, path string
	}{
		{"./plain.db", "plain.db"},
		{"rel.db", "rel.db"},
		{filepath.Join(dir, "abs.db"), filepath.Join(dir, "abs.db")},
		{"file:file.db", "file.db"},
		{"file:" + filepath.Join(dir, "fileabs.db"), filepath.Join(dir, "fileabs.db")},
		{"file:query.db?_pragma=cache_size(-1000)", "query.db"},
		{"file:///" + strings.TrimPrefix(filepath.Join(dir, "fileuri.db"), "/"), filepath.Join(dir, "fileuri.db")},
		{"sqlite:scheme.db", "scheme.db"},
		{"sqlite://" + filepath.Join(dir, "triple.db"), filepath.Join(dir, "triple.db")},
		{"sqlite://double.db", "double.db"},
		{"sqlite:odd%3Fname.db", "odd?name.db"},
		{"./with space.db?_pragma=cache_size(-1000)", "with space.db"},
		{"odd#%name.db", "odd#%name.db"},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			s, err := Open(context.Background(), tc.dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Path() != tc.path {
				t.Errorf("Path() = %q, want %q", s.Path(), tc.path)
			}
			if _, err := os.Stat(tc.path); err != nil {
				t.Errorf("database file not where expected: %v", err)
			}
			if _, err := s.CountUsers(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestOpenRejectsDSN(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ dsn, want string }{
		{"", "empty"},
		{"  ", "empty"},
		{":memory:", "in-memory"},
		{"file::memory:", "in-memory"},
		{"file::memory:?cache=shared", "in-memory"},
		{"sqlite::memory:", "in-memory"},
		{"file:" + filepath.Join(dir, "x.db") + "?mode=memory", "in-memory"},
		{"file:" + filepath.Join(dir, "x.db") + "?mode=ro", "mode=ro"},
		{filepath.Join(dir, "x.db") + "?_txlock=deferred", "_txlock"},
		{filepath.Join(dir, "x.db") + "?_query_only=1", "_query_only"},
		{filepath.Join(dir, "missing", "x.db"), "does not exist"},
	} {
		t.Run(tc.dsn, func(t *testing.T) {
			s, err := Open(context.Background(), tc.dsn)
			if err == nil {
				s.Close()
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestReadPoolRefusesWrites(t *testing.T) {
	s := openTest(t)
	_, err := s.r.ExecContext(context.Background(), `INSERT INTO settings (key, value) VALUES ('k', 'v')`)
	if err == nil {
		t.Fatal("read pool accepted a write")
	}
	if _, err := s.Setting(context.Background(), "k"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Setting after refused write: %v", err)
	}
}

func TestLoadMigrations(t *testing.T) {
	ok := fstest.MapFS{
		"migrations/0002_b.sql": {Data: []byte("B")},
		"migrations/0001_a.sql": {Data: []byte("A")},
	}
	ms, err := loadMigrations(ok)
	if err != nil || len(ms) != 2 || ms[0].sql != "A" || ms[1].version != 2 {
		t.Fatalf("got %+v, %v", ms, err)
	}
	// A gap is a range reserved for work not merged yet.
	gap := fstest.MapFS{"migrations/0001_a.sql": {}, "migrations/0003_c.sql": {}}
	if ms, err := loadMigrations(gap); err != nil || len(ms) != 2 || ms[1].version != 3 {
		t.Errorf("gap: %+v, %v", ms, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"repeat":  {"migrations/0001_a.sql": {}, "migrations/0001_b.sql": {}},
		"badname": {"migrations/init.sql": {}},
	} {
		if _, err := loadMigrations(fsys); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPragmas(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	for _, tc := range []struct {
		name   string
		db     queryer
		pragma string
		want   int
	}{
		{"writer", s.w, "foreign_keys", 1},
		{"writer", s.w, "busy_timeout", 5000},
		{"writer", s.w, "synchronous", 1}, // NORMAL
		{"writer", s.w, "query_only", 0},
		{"writer", s.w, "cache_size", -16384},
		{"reader", s.r, "foreign_keys", 1},
		{"reader", s.r, "busy_timeout", 5000},
		{"reader", s.r, "query_only", 1},
	} {
		var got int
		if err := tc.db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil || got != tc.want {
			t.Errorf("%s: PRAGMA %s = %d, %v, want %d", tc.name, tc.pragma, got, err, tc.want)
		}
	}
}

func TestQueryPlansUseIndexes(t *testing.T) {
	s := openTest(t)
	for _, q := range []string{
		`SELECT * FROM checks WHERE monitor_id = 1 ORDER BY ts DESC, region DESC LIMIT 10`,
		`SELECT * FROM monitor_transitions WHERE monitor_id = 1 ORDER BY ts DESC, id DESC LIMIT 10`,
	} {
		rows, err := s.r.Query(`EXPLAIN QUERY PLAN ` + q)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		text := strings.Join(plan, "; ")
		if !strings.Contains(text, "_monitor_ts") || strings.Contains(text, "TEMP B-TREE") {
			t.Errorf("%s\nplan: %s", q, text)
		}
	}
}

func TestDSNCacheSizeOverride(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "x.db")+"?_pragma=cache_size(-4000)")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got int
	if err := s.w.QueryRow("PRAGMA cache_size").Scan(&got); err != nil || got != -4000 {
		t.Errorf("writer cache_size = %d, %v, want the DSN's -4000", got, err)
	}
}

func TestReadsDoNotWaitForWriter(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s := openTest(t)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ('k', 'v')`); err != nil {
		t.Fatal(err)
	}
	// The writer's only connection is busy; reads must still go through
	// and see the last committed state.
	if _, err := s.Setting(ctx, "k"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("read during an open write: %v, want ErrNotFound", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Setting(ctx, "k"); err != nil || v != "v" {
		t.Errorf("after commit: %q, %v", v, err)
	}
}
