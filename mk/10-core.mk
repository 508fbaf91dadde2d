# The Rust core: workqueue-core.

BUILD_TARGETS += build-core
TEST_TARGETS += test-core test-core-loom
DEMO_TARGETS += demo-core
BENCH_TARGETS += bench-core
LINT_TARGETS += lint-rust

.PHONY: build-core test-core test-core-loom demo-core bench-core lint-rust rust-tools

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

lint-rust: rust-tools
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# rustfmt and clippy are rustup components; a fresh toolchain may lack them.
rust-tools:
	@command -v rustup >/dev/null && rustup component add rustfmt clippy >/dev/null 2>&1 || true
