//go:build !unix

package store

import (
	"fmt"
	"io/fs"
)

// notWritable says why this process cannot write the file at path, or "":
// on Windows a read-only attribute shows as a mode without write bits.
func notWritable(path string, fi fs.FileInfo) string {
	if fi.Mode().Perm()&0o222 == 0 {
		return fmt.Sprintf("its mode %#o allows no writes", fi.Mode().Perm())
	}
	return ""
}
