//go:build unix

package store

import (
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"
)

// notWritable says why this process cannot write the file at path, or "".
// It asks access(2) rather than opening the file: closing any descriptor of
// a file drops every POSIX lock this process holds on it, SQLite's
// included. The mode is checked too, because access(2) lets root write
// anything while a 0444 file is still meant to stay unwritten.
func notWritable(path string, fi fs.FileInfo) string {
	if fi.Mode().Perm()&0o222 == 0 {
		return fmt.Sprintf("its mode %#o allows no writes", fi.Mode().Perm())
	}
	if err := unix.Access(path, unix.W_OK); err != nil {
		return fmt.Sprintf("this process may not write it (%v)", err)
	}
	return ""
}
