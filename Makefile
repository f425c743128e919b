# upwatch — common tasks. `make run` starts the server with embedded defaults;
# `make test` is the test command CI runs.
GO      ?= go
# go.mod names the toolchain (the newest patch release, for its security
# fixes); let the go command fetch it even where the installed Go says
# GOTOOLCHAIN=local.
export GOTOOLCHAIN ?= auto
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
# The commit's own time, not the clock's: the same commit builds the same bytes.
BUILT   ?= $(shell git log -1 --format=%cI 2>/dev/null)
LDFLAGS := -s -w -buildid= -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.built=$(BUILT)
# Every board a homelab runs it on; GOOS/GOARCH[/GOARM].
TARGETS ?= linux/amd64 linux/arm64 linux/arm/7 linux/386 darwin/arm64 darwin/amd64 windows/amd64
DIST    ?= dist

.PHONY: run build release release-check test bench fuzz vulncheck generate fmt vet check clean

# Built and run in place of the shell (not go run, which reports a
# Ctrl-C as a failure), so stopping it is a clean exit.
run:
	$(GO) build -o upwatch . && exec ./upwatch

build:
	CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags '$(LDFLAGS)' -o upwatch .

# Static, stripped, reproducible binaries for every target in $(DIST)/,
# named upwatch-OS-ARCH[vARM][.exe], and their SHA256SUMS.
release:
	@mkdir -p $(DIST)
	@set -e; for t in $(TARGETS); do \
		os=$${t%%/*}; rest=$${t#*/}; arch=$${rest%%/*}; arm=""; [ "$$rest" != "$$arch" ] && arm=$${rest#*/}; \
		out=$(DIST)/upwatch-$$os-$$arch$${arm:+v$$arm}; [ $$os = windows ] && out=$$out.exe; \
		echo "== $$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch GOARM=$$arm $(GO) build -trimpath -buildvcs=false -ldflags '$(LDFLAGS)' -o $$out .; \
	done
	cd $(DIST) && sha256sum upwatch-* > SHA256SUMS && cat SHA256SUMS

test:
	$(GO) test -race -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

# Each fuzz target for a few seconds (FUZZTIME=1m for longer by hand); the
# seed corpora also run with every `make test`.
FUZZTIME ?= 5s
FUZZ_TARGETS := FuzzCheckURL:./app FuzzDecodeMonitor:./app FuzzParseCron:./checker FuzzBodyTemplate:./notify FuzzClassify:./egress
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do name=$${t%%:*}; pkg=$${t#*:}; \
		echo "== fuzz $$name ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; done

# What a release ships, checked without Docker (tools/release-check.sh).
release-check:
	bash tools/release-check.sh

# govulncheck against a pinned snapshot of the Go vulnerability database,
# all from the module proxy (tools/vulncheck).
vulncheck:
	bash tools/vulncheck/run.sh

generate:
	$(GO) tool templ generate

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...

# What CI checks before the tests: formatting, vet, generated code in sync.
check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool templ generate
	@git diff --exit-code -- '*_templ.go' || (echo "templ generate changed files: commit them"; exit 1)

clean:
	rm -rf upwatch upwatch.db upwatch.db-wal upwatch.db-shm $(DIST)
