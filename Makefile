# upwatch — common tasks. `make run` starts the server with embedded defaults;
# `make test` is the test command CI runs.
GO      ?= go
# go.mod names the toolchain (the newest patch release, for its security
# fixes); let the go command fetch it even where the installed Go says
# GOTOOLCHAIN=local.
export GOTOOLCHAIN ?= auto
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: run build test bench fuzz vulncheck generate fmt vet check clean

run:
	$(GO) run .

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o upwatch .

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
	rm -f upwatch upwatch.db upwatch.db-wal upwatch.db-shm
