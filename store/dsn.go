package store

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// dsn is a parsed data source name: a file path plus the caller's extra
// driver parameters (e.g. _pragma=cache_size(-20000)).
type dsn struct {
	path  string
	query url.Values
}

// parseDSN accepts a plain path ("./upwatch.db", "/abs/x.db"), "file:x.db",
// "sqlite:x.db", "sqlite:///abs/x.db" and "sqlite://rel.db", each optionally
// followed by "?query". An in-memory database is refused: the product's
// state must survive a restart, and the writer and read pool would each get
// a private empty database anyway.
func parseDSN(s string) (dsn, error) {
	raw := strings.TrimSpace(s)
	if raw == "" {
		return dsn{}, errors.New("store: empty database DSN: want a file path such as ./upwatch.db")
	}
	rest, rawQuery, _ := strings.Cut(raw, "?")

	uri := false
	for _, scheme := range []string{"sqlite://", "file://", "sqlite:", "file:"} {
		if after, ok := strings.CutPrefix(rest, scheme); ok {
			rest, uri = after, true
			break
		}
	}
	path := rest
	if uri {
		rest, _, _ = strings.Cut(rest, "#")
		p, err := url.PathUnescape(rest)
		if err != nil {
			return dsn{}, fmt.Errorf("store: database DSN %q: %w", s, err)
		}
		path = p
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return dsn{}, fmt.Errorf("store: database DSN %q: %w", s, err)
	}

	if path == "" || strings.HasPrefix(path, ":memory:") || q.Get("mode") == "memory" {
		return dsn{}, fmt.Errorf("store: database DSN %q: in-memory databases are not supported, give a file path", s)
	}
	if m := q.Get("mode"); m == "ro" {
		return dsn{}, fmt.Errorf("store: database DSN %q: mode=ro is not supported, the store must write", s)
	}
	// These are how the store separates its writer from its readers; a
	// caller's value would silently undo that.
	for _, k := range []string{"_txlock", "_query_only"} {
		if q.Has(k) {
			return dsn{}, fmt.Errorf("store: database DSN %q: parameter %s is set by the store", s, k)
		}
	}
	return dsn{path: filepath.Clean(path), query: q}, nil
}

// checkDir refuses a missing parent directory: creating it would hide a
// typo in the path behind a fresh, empty database.
func (d dsn) checkDir() error {
	dir := filepath.Dir(d.path)
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: open %s: directory %s does not exist", d.path, dir)
	}
	if err != nil {
		return fmt.Errorf("store: open %s: %w", d.path, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("store: open %s: %s is not a directory", d.path, dir)
	}
	return nil
}

// writer is the driver DSN of the single writer connection. BEGIN
// IMMEDIATE takes the write lock up front: a deferred transaction that
// reads and then writes can fail with SQLITE_BUSY_SNAPSHOT despite
// busy_timeout.
func (d dsn) writer() string {
	q := d.base()
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// A batch of checks spread over many monitors dirties a leaf page per
	// check; with SQLite's default 2 MiB cache a large batch spills to the
	// WAL mid-transaction and reads pages back. 16 MiB holds ~4,000 pages.
	if !d.hasPragma("cache_size") {
		q.Add("_pragma", "cache_size(-16384)")
	}
	q.Set("_txlock", "immediate")
	return d.uri(q)
}

// reader is the driver DSN of the read pool; query_only turns an accidental
// write on it into an error instead of a second writer.
func (d dsn) reader() string {
	q := d.base()
	q.Set("_query_only", "1")
	return d.uri(q)
}

// copier is the driver DSN of the connection a backup reads through. It is
// not query_only, which makes SQLite refuse VACUUM INTO, but VACUUM INTO only
// reads its source, inside one read transaction: it never takes the write
// lock, so in WAL mode the writer goes on while it copies. It sets no
// journal mode: the database's own stays.
func (d dsn) copier() string {
	return d.uri(d.base())
}

// busyTimeout is the busy_timeout pragma of every connection: the caller's
// if the DSN sets one (tests make lock waits short), else 5 s.
func (d dsn) busyTimeout() string {
	for _, v := range d.query["_pragma"] {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "busy_timeout") {
			return v
		}
	}
	return "busy_timeout(5000)"
}

func (d dsn) hasPragma(name string) bool {
	for _, v := range d.query["_pragma"] {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), name) {
			return true
		}
	}
	return false
}

func (d dsn) base() url.Values {
	q := url.Values{}
	for k, v := range d.query {
		q[k] = append([]string(nil), v...)
	}
	if !d.hasPragma("busy_timeout") { // else the caller's, copied above
		q.Add("_pragma", d.busyTimeout())
	}
	q.Add("_pragma", "foreign_keys(1)")
	return q
}

// uri builds a "file:" URI so SQLite's own URI parameters in the caller's
// query keep working, escaping the characters a URI path cannot hold.
func (d dsn) uri(q url.Values) string {
	p := filepath.ToSlash(d.path)
	if filepath.VolumeName(d.path) != "" {
		p = "/" + p // file:/C:/x.db on Windows
	}
	var b strings.Builder
	b.WriteString("file:")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '%', '?', '#':
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('?')
	b.WriteString(q.Encode())
	return b.String()
}
