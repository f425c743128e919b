# upwatch — common tasks. `make run` starts the server with embedded defaults;
# `make test` is the test command CI runs.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: run build test bench generate fmt vet check clean

run:
	$(GO) run .

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o upwatch .

test:
	$(GO) test -race -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

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
