#!/usr/bin/env bash
# Scans upwatch with govulncheck against the pinned snapshot of the Go
# vulnerability database (see tools.go): everything comes from the module
# proxy, nothing from the vulnerability service. Fails on a vulnerability
# in code upwatch calls.
set -euo pipefail
cd "$(dirname "$0")"
go mod download golang.org/x/vulndb
osv="$(go list -m -f '{{.Dir}}' golang.org/x/vulndb)/data/osv"
db="$(mktemp -d)"
trap 'rm -rf "$db"' EXIT
go run golang.org/x/vulndb/cmd/indexdb -vulns "$osv" -out "$db/db"
echo "vulnerability database: golang.org/x/vulndb $(go list -m -f '{{.Version}}' golang.org/x/vulndb), $(ls "$db/db/ID" | wc -l) entries"
go run golang.org/x/vuln/cmd/govulncheck -C ../.. -db "file://$db/db" ./...
