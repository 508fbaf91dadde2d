# The project's verbs. Each language adds its own targets in mk/*.mk by
# appending to TEST_TARGETS, DEMO_TARGETS and BENCH_TARGETS, so this file
# stays the same as bindings arrive.
#
#   make demo    build and run every demo
#   make test    run every test suite (what CI runs)
#   make bench   run every benchmark and print figures and ratios
#   make lint    formatters and linters, as CI checks them

SHELL := /bin/bash
.DEFAULT_GOAL := build

CARGO ?= cargo

TEST_TARGETS :=
DEMO_TARGETS :=
BENCH_TARGETS :=
LINT_TARGETS :=
BUILD_TARGETS :=

include $(sort $(wildcard mk/*.mk))

.PHONY: build test demo bench lint
build: $(BUILD_TARGETS)
test: lint $(TEST_TARGETS)
demo: $(DEMO_TARGETS)
bench: $(BENCH_TARGETS)
lint: $(LINT_TARGETS)
