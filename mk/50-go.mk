# The Go binding: go/ (a cgo module over the C ABI, linking
# target/release/libworkqueue.a), its test suite, the controller demo and
# the benchmark against client-go.
#
#   make test-go    go vet, go test -race, and a GOGC=1 run of the tests
#                   that catch a native handle freed too early
#   make lint-go    gofmt
#   make demo-go    the controller demo, in Go
#   make bench-go   go test -bench against client-go in the same run,
#                   medians and ratios (BENCH_GO_FLAGS to change the run)
#
# Modules (client-go for the tests and the benchmark) come from the Go
# module proxy on first use; go.sum pins them.

BUILD_TARGETS += build-go
TEST_TARGETS += test-go
DEMO_TARGETS += demo-go
BENCH_TARGETS += bench-go
LINT_TARGETS += lint-go

.PHONY: build-go test-go lint-go demo-go bench-go

GO ?= go
GO_DIR := go
# cgo is needed (the race detector needs it too); say so in case the
# environment turned it off.
GO_ENV := CGO_ENABLED=1
# The tests the GOGC=1 run repeats: with a collection at almost every
# allocation, a handle freed while still in use would crash them.
GO_GC_TESTS := Lifetime|Close|Interner|Conformance|ShutDown|GetWith|GarbageCollection|Shared
BENCH_GO_FLAGS ?= -benchtime=500ms -count=5

build-go: build-c
	cd $(GO_DIR) && $(GO_ENV) $(GO) build ./...

test-go: build-c
	cd $(GO_DIR) && $(GO_ENV) $(GO) vet ./...
	cd $(GO_DIR) && $(GO_ENV) $(GO) test -race -count=1 ./...
	cd $(GO_DIR) && GOGC=1 $(GO_ENV) $(GO) test -count=1 -run '$(GO_GC_TESTS)' .

lint-go:
	@unformatted="$$(gofmt -l $(GO_DIR))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt: not formatted:" $$unformatted >&2; exit 1; fi
	@echo "gofmt: $(GO_DIR) is formatted"

demo-go: build-c
	cd $(GO_DIR) && $(GO_ENV) $(GO) run ./examples/controller

bench-go: build-c
	cd $(GO_DIR) && set -o pipefail && $(GO_ENV) $(GO) test -run '^$$' -bench . $(BENCH_GO_FLAGS) . \
	  | $(GO) run ./internal/benchratio
