# The Go binding: go/ (a cgo module over the C ABI, linking
# target/release/libworkqueue.a), its test suite, the controller demo and
# the benchmarks against client-go, controller-runtime and container/heap.
#
#   make test-go     go vet, go test -race (the package and its Prometheus
#                    collector, go/wqprometheus), and a GOGC=1 run of the
#                    tests that catch a native handle freed too early
#   make test-go-priorityqueue
#                    the controller-runtime adapter (go/priorityqueue, its
#                    own module): vet and test, with the compile-time check
#                    against controller-runtime's PriorityQueue. Not part
#                    of `make test`: controller-runtime pulls in
#                    client-go's whole typed client (about 700 packages,
#                    minutes to compile on two cores)
#   make lint-go     gofmt
#   make demo-go     the controller demo, in Go
#   make bench-go    go test -bench against client-go (go/), then the
#                    priority benchmark against controller-runtime and
#                    container/heap (go/priorityqueue), medians and ratios
#                    (BENCH_GO_FLAGS to change the run)
#
# Modules (client-go, client_golang, controller-runtime) come from the Go
# module proxy on first use; go.sum pins them.

BUILD_TARGETS += build-go
TEST_TARGETS += test-go
DEMO_TARGETS += demo-go
BENCH_TARGETS += bench-go
LINT_TARGETS += lint-go

.PHONY: build-go test-go test-go-priorityqueue lint-go demo-go bench-go

GO ?= go
GO_DIR := go
# cgo is needed (the race detector needs it too); say so in case the
# environment turned it off. The library's digest in the link flags makes
# Go link again after libworkqueue.a changed (see go/link_repo.go).
GO_ENV = CGO_ENABLED=1 GOFLAGS=-ldflags=-X=github.com/workqueue-project/workqueue/go.linkedLibrary=$(shell cksum < target/release/libworkqueue.a | cut -d' ' -f1)
# The tests the GOGC=1 run repeats: with a collection at almost every
# allocation, a handle freed while still in use would crash them.
GO_GC_TESTS := Lifetime|Close|Interner|Conformance|ShutDown|GetWith|GarbageCollection|Shared|Scheduling|Metric|Submitted
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

test-go-priorityqueue: build-c
	cd $(GO_DIR)/priorityqueue && $(GO_ENV) $(GO) vet ./...
	cd $(GO_DIR)/priorityqueue && $(GO_ENV) $(GO) test -count=1 ./...

bench-go: build-c
	cd $(GO_DIR) && set -o pipefail && $(GO_ENV) $(GO) test -run '^$$' -bench . $(BENCH_GO_FLAGS) . \
	  | $(GO) run ./internal/benchratio
	cd $(GO_DIR)/priorityqueue && set -o pipefail && $(GO_ENV) $(GO) test -run '^$$' -bench . $(BENCH_GO_FLAGS) . \
	  | $(GO) -C .. run ./internal/benchratio
