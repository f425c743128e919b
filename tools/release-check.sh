#!/usr/bin/env bash
# Checks what a release ships, without Docker: the container's build
# command (make build, as the Dockerfile runs it) gives a static binary that
# knows its commit; cross-builds for the Raspberry Pi boards are the right
# machine code with checksums; the systemd unit passes systemd-analyze.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

grep -q 'make build' Dockerfile || { echo "Dockerfile no longer builds with make build"; exit 1; }
make build
file upwatch | grep -q 'statically linked' || { file upwatch; echo "upwatch is not static"; exit 1; }
./upwatch version | tee "$tmp/version"
grep -q "commit $(git rev-parse --short=12 HEAD)" "$tmp/version" || { echo "version does not name the commit"; exit 1; }

make release TARGETS="linux/arm64 linux/arm/7" DIST="$tmp/dist"
file "$tmp/dist/upwatch-linux-arm64" | grep -q 'ARM aarch64' || { file "$tmp/dist/upwatch-linux-arm64"; exit 1; }
file "$tmp/dist/upwatch-linux-armv7" | grep -q 'ARM, EABI5' || { file "$tmp/dist/upwatch-linux-armv7"; exit 1; }
(cd "$tmp/dist" && sha256sum -c SHA256SUMS)
# Reproducible: the same commit gives the same bytes.
make release TARGETS="linux/arm64" DIST="$tmp/again" >/dev/null
cmp "$tmp/dist/upwatch-linux-arm64" "$tmp/again/upwatch-linux-arm64"

if command -v systemd-analyze >/dev/null; then
  mkdir -p "$tmp/unit"
  sed "s|/usr/local/bin/upwatch|$PWD/upwatch|" packaging/upwatch.service > "$tmp/unit/upwatch.service"
  out="$(systemd-analyze verify "$tmp/unit/upwatch.service" 2>&1 || true)"
  if [ -n "$out" ]; then echo "systemd-analyze verify:"; echo "$out"; exit 1; fi
  echo "systemd unit verified"
else
  echo "systemd-analyze not installed: unit not verified"
fi
echo "release check passed"
