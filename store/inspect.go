package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"

	sqlite3 "modernc.org/sqlite/lib"
)

// inspect looks at an existing database file before the store opens it for
// writing. Opening the writer switches the file to WAL and migrating adds
// tables: neither may happen to another application's database (a wrong
// DATABASE_URL), nor to a file the store cannot write, where SQLite would
// leave read-only -wal and -shm files beside it that outlive a chmod. It
// changes nothing itself: see inspector for how it reads.
func (d dsn) inspect(ctx context.Context) error {
	fi, err := os.Stat(d.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a new database
	}
	if err != nil {
		return fmt.Errorf("store: open %s: %w", d.path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("store: open %s: not a regular file", d.path)
	}
	// Read-only -wal and -shm files, e.g. left by an earlier run on a
	// read-only database, would fail every open, this inspection's too.
	for _, side := range []string{d.path + "-wal", d.path + "-shm"} {
		if sfi, err := os.Stat(side); err == nil {
			if why := notWritable(side, sfi); why != "" {
				return fmt.Errorf("store: open %s: %w: %s beside it: %s; make it writable by the user upwatch runs as", d.path, ErrReadOnly, side, why)
			}
		}
	}
	if fi.Size() > 0 { // SQLite takes an empty file for a new database
		if err := d.checkSchema(ctx); err != nil {
			return err
		}
	}
	if why := notWritable(d.path, fi); why != "" {
		return fmt.Errorf("store: open %s: %w: %s; make it writable by the user upwatch runs as", d.path, ErrReadOnly, why)
	}
	return nil
}

// checkSchema refuses a file that is not SQLite, and one that has tables
// but no upwatch schema record.
func (d dsn) checkSchema(ctx context.Context) error {
	db, err := sql.Open("sqlite", d.inspector())
	if err != nil {
		return fmt.Errorf("store: open %s: %w", d.path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tables, upwatch, err := schemaOf(ctx, db)
	switch {
	case sqliteCode(err) == sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("store: open %s: %w: the file does not start with SQLite's header; it was left unchanged", d.path, ErrNotSQLite)
	case err != nil:
		return fmt.Errorf("store: open %s: read its schema: %w", d.path, describeFault(err))
	}
	return d.refuseForeign(tables, upwatch)
}

func (d dsn) refuseForeign(tables []string, upwatch bool) error {
	if len(tables) == 0 || upwatch {
		return nil
	}
	names := tables
	if len(names) > 5 {
		names = append(names[:5:5], "…")
	}
	return fmt.Errorf("store: open %s: %w: it holds %d tables (%s) but no upwatch schema record (schema_migrations); it was left unchanged",
		d.path, ErrNotUpwatch, len(tables), strings.Join(names, ", "))
}

type querier interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

// schemaOf lists a database's tables and tells whether it carries upwatch's
// schema record: a schema_migrations table with upwatch's columns (other
// tools use the same table name with other columns).
func schemaOf(ctx context.Context, db querier) (tables []string, upwatch bool, err error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_schema
		WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, false, err
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	var cols int
	err = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info('schema_migrations')
		WHERE name IN ('version', 'applied_at')`).Scan(&cols)
	return tables, cols == 2, err
}

// inspector is the driver DSN that reads a file before anything is known
// about it: read-only, and with none of the caller's parameters or the
// writer's journal_mode pragma, which alone would switch the file to WAL.
//
// A read-only connection to a WAL database creates -wal and -shm files that
// it then cannot remove. Where the -shm exists, another connection has the
// database open and owns those files, and mode=ro reads it with the usual
// locks. Where it does not, nothing has the database open in WAL mode, and
// immutable=1 reads the file without locks or shared memory, creating
// nothing.
func (d dsn) inspector() string {
	q := url.Values{}
	q.Set("mode", "ro")
	if _, err := os.Stat(d.path + "-shm"); err != nil {
		q.Set("immutable", "1")
	} else {
		q.Add("_pragma", d.busyTimeout())
		q.Add("_pragma", "query_only(1)")
	}
	return d.uri(q)
}
