//go:build tools

// Package vulncheck pins the vulnerability scanner and a snapshot of the
// Go vulnerability database as modules, so that CI can scan the code with
// nothing but the module proxy: the database is built from the snapshot's
// OSV files (indexdb) and govulncheck reads it from disk. Move the
// snapshot forward with:
//
//	cd tools/vulncheck && go get golang.org/x/vulndb@latest golang.org/x/vuln@latest && go mod tidy
package vulncheck

import (
	_ "golang.org/x/vuln/cmd/govulncheck"
	_ "golang.org/x/vulndb/cmd/indexdb"
)
