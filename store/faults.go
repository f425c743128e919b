package store

import (
	"errors"
	"fmt"

	sqlite3 "modernc.org/sqlite/lib"
)

// The errors Fault reports: the database failing for a reason outside the
// request — another process, the disk, the file's permissions — which the
// caller can only wait out or have an operator fix. Their text is fit to
// show to a user.
var (
	ErrLocked   = errors.New("the database is locked by another process")
	ErrDiskFull = errors.New("the disk holding the database is full")
	ErrReadOnly = errors.New("the database file is read-only")
	ErrIO       = errors.New("the database file cannot be read or written (I/O error)")
)

// Open refuses a file that is not an upwatch database with errors wrapping
// these, naming the file; it leaves such a file as it found it.
var (
	ErrNotSQLite  = errors.New("not an SQLite database")
	ErrNotUpwatch = errors.New("not an upwatch database")
)

// Fault returns ErrLocked, ErrDiskFull, ErrReadOnly or ErrIO when err comes
// from one of those conditions (by SQLite's result code, or because it
// wraps one of them), and nil for any other error.
func Fault(err error) error {
	if err == nil {
		return nil
	}
	for _, f := range []error{ErrLocked, ErrDiskFull, ErrReadOnly, ErrIO} {
		if errors.Is(err, f) {
			return f
		}
	}
	// The primary code is the low byte of an extended one
	// (SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED…).
	switch sqliteCode(err) & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return ErrLocked
	case sqlite3.SQLITE_FULL:
		return ErrDiskFull
	case sqlite3.SQLITE_READONLY:
		return ErrReadOnly
	case sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
		return ErrIO
	}
	return nil
}

// describeFault puts the cause in words in front of a raw SQLite error
// ("the database is locked by another process (…database is locked (5))"),
// so a message names what to fix; other errors are returned as they are.
func describeFault(err error) error {
	if f := Fault(err); f != nil && !errors.Is(err, f) {
		return fmt.Errorf("%w (%w)", f, err)
	}
	return err
}
