# The Rust core: workqueue-core.

BUILD_TARGETS += build-core
TEST_TARGETS += test-core test-core-loom
DEMO_TARGETS += demo-core
BENCH_TARGETS += bench-core
LINT_TARGETS += lint-rust

.PHONY: build-core test-core test-core-loom demo-core bench-core lint-rust

build-core:
	$(CARGO) build --release -p workqueue-core

test-core:
	$(CARGO) test -p workqueue-core --release

# Model-checks the queue's locking under every interleaving loom explores.
test-core-loom:
	RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
	  $(CARGO) test -p workqueue-core --release --test loom

demo-core:
	$(CARGO) run --release -p workqueue-core --example controller

bench-core:
	$(CARGO) run --release -p workqueue-bench

lint-rust:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
