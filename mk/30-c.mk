# The C ABI: workqueue-ffi (libworkqueue.so / libworkqueue.a), the
# generated header include/workqueue.h, the C examples and the C tests.
#
#   make header          regenerate include/workqueue.h with the pinned cbindgen
#   make test            runs, for this part: check-header (stale header,
#                        header alone as C11 and C++17, twice included),
#                        test-ffi-rust (the extern functions from Rust),
#                        test-c (the C suite), test-c-asan (ASan+UBSan),
#                        test-c-tsan (TSan; with nightly Rust over an
#                        instrumented library too), test-c-install
#                        (install + pkg-config) and demo-c-valgrind (the
#                        demos, zero leaks)
#   make test-sanitize   ASan+UBSan, TSan, Valgrind over demos and tests,
#                        and the Rust tests of the ABI under Miri
#   make demo-c          the hello, controller and event-loop demos, in C
#   make bench-c         the C ABI against the Rust core, in one run; then
#                        priorities (work queue, scheduling queue, a C heap)
#                        and the cost of metrics (named over unnamed cycle)
#   make install PREFIX=/usr/local [DESTDIR=...]

BUILD_TARGETS += build-c
TEST_TARGETS += test-ffi-rust test-c test-c-asan test-c-tsan test-c-install demo-c-valgrind
DEMO_TARGETS += demo-c
BENCH_TARGETS += bench-c
LINT_TARGETS += check-header

.PHONY: build-c header check-header cbindgen test-ffi-rust test-c test-c-asan \
        test-c-tsan test-c-valgrind test-c-install test-sanitize test-ffi-miri demo-c \
        demo-c-valgrind bench-c install c-programs

# cbindgen, pinned; installed into the project when missing or another version.
CBINDGEN_VERSION := 0.29.4
CBINDGEN_ROOT := target/tools
CBINDGEN := $(CBINDGEN_ROOT)/bin/cbindgen

C_BUILD := build/c
C_WARNINGS := -Wall -Wextra -Werror -pedantic
C_FLAGS := -std=c11 $(C_WARNINGS) -O2 -g -Iinclude
WQ_LIB_DIR := target/release
WQ_STATIC := $(WQ_LIB_DIR)/libworkqueue.a
# What libworkqueue.a needs besides libc (rustc --print native-static-libs).
WQ_STATIC_DEPS := -lpthread -ldl -lm -lrt -lutil -lgcc_s
WQ_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
WQ_SOVERSION := $(shell echo $(WQ_VERSION) | awk -F. '{ print ($$1 == 0) ? $$1 "." $$2 : $$1 }')

C_TEST_SOURCES := $(wildcard examples-c/tests/*.c)
C_TEST_HEADERS := $(wildcard examples-c/tests/*.h) include/workqueue.h
SANITIZE_ASAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SANITIZE_TSAN := -fsanitize=thread
VALGRIND := valgrind --quiet --error-exitcode=3 --leak-check=full --suppressions=examples-c/valgrind.supp \
            --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible

# ---- the library -----------------------------------------------------------

build-c:
	$(CARGO) build --release -p workqueue-ffi

# Cargo decides whether anything changed; the C programs relink only when
# the library file really changed.
$(WQ_STATIC): build-c
	@:

# ---- the header ------------------------------------------------------------

# Checks the installed version every time (a few milliseconds), so a
# missing or different cbindgen is (re)installed before it is used.
cbindgen:
	@if [ "$$($(CBINDGEN) --version 2>/dev/null)" != "cbindgen $(CBINDGEN_VERSION)" ]; then \
	  echo "installing cbindgen $(CBINDGEN_VERSION) into $(CBINDGEN_ROOT)"; \
	  $(CARGO) install cbindgen --version =$(CBINDGEN_VERSION) --locked --force --root $(CBINDGEN_ROOT); \
	fi

# cbindgen reads the sources directly (no cargo metadata), so it never
# touches Cargo.lock or the network.
header: cbindgen
	$(CBINDGEN) --config workqueue-ffi/cbindgen.toml --output include/workqueue.h workqueue-ffi/src/lib.rs

# Fails when include/workqueue.h is not what the sources generate; then
# compiles the header on its own as C11 and as C++17, included twice.
check-header: cbindgen
	@mkdir -p $(C_BUILD)
	@$(CBINDGEN) --config workqueue-ffi/cbindgen.toml --output $(C_BUILD)/workqueue.h workqueue-ffi/src/lib.rs
	@diff -u include/workqueue.h $(C_BUILD)/workqueue.h || \
	  { echo "include/workqueue.h is stale: run 'make header' and commit it" >&2; exit 1; }
	@printf '#include "workqueue.h"\n#include "workqueue.h"\nint main(void) { return WQ_STATUS_OK + (int)sizeof(wq_queue_options); }\n' > $(C_BUILD)/header_alone.c
	$(CC) -std=c11 $(C_WARNINGS) -Iinclude -c $(C_BUILD)/header_alone.c -o $(C_BUILD)/header_alone_c.o
	$(CXX) -x c++ -std=c++17 $(C_WARNINGS) -Iinclude -c $(C_BUILD)/header_alone.c -o $(C_BUILD)/header_alone_cxx.o
	@echo "include/workqueue.h is up to date and compiles alone as C11 and C++17"

# ---- tests -----------------------------------------------------------------

# The extern functions called from Rust (through the rlib).
test-ffi-rust:
	$(CARGO) test --release -p workqueue-ffi

$(C_BUILD)/wq_test: $(C_TEST_SOURCES) $(C_TEST_HEADERS) $(WQ_STATIC)
	@mkdir -p $(C_BUILD)
	$(CC) $(C_FLAGS) $(C_TEST_SOURCES) $(WQ_STATIC) $(WQ_STATIC_DEPS) -o $@

$(C_BUILD)/wq_test_asan: $(C_TEST_SOURCES) $(C_TEST_HEADERS) $(WQ_STATIC)
	@mkdir -p $(C_BUILD)
	$(CC) $(C_FLAGS) -O1 $(SANITIZE_ASAN) $(C_TEST_SOURCES) $(WQ_STATIC) $(WQ_STATIC_DEPS) -o $@

$(C_BUILD)/wq_test_tsan: $(C_TEST_SOURCES) $(C_TEST_HEADERS) $(WQ_STATIC)
	@mkdir -p $(C_BUILD)
	$(CC) $(C_FLAGS) -O1 $(SANITIZE_TSAN) $(C_TEST_SOURCES) $(WQ_STATIC) $(WQ_STATIC_DEPS) -o $@

test-c: check-header $(C_BUILD)/wq_test
	$(C_BUILD)/wq_test conformance

# LeakSanitizer also sees the library's allocations (Rust uses malloc), so
# a handle the tests forget to free fails the run.
test-c-asan: $(C_BUILD)/wq_test_asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(C_BUILD)/wq_test_asan conformance

# ThreadSanitizer sees synchronisation only in instrumented code. With a
# nightly Rust that has rust-src, the library and its std are built with
# -Zsanitizer=thread too (target/tsan; about 2 minutes the first time), so
# TSan checks the C tests and the library's own locking together, with no
# suppression. Without one, TSan checks the C side against the plain
# library, with examples-c/tests/tsan.supp hiding the reports that come
# from the library's (invisible) futex-based locks.
TSAN_TARGET_DIR := target/tsan
RUST_HOST := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
WQ_STATIC_TSAN := $(TSAN_TARGET_DIR)/$(RUST_HOST)/release/libworkqueue.a
NIGHTLY_SYSROOT = $(shell rustup run nightly rustc --print sysroot 2>/dev/null)

test-c-tsan: $(C_BUILD)/wq_test_tsan
	@if [ -n "$(NIGHTLY_SYSROOT)" ] && { [ -d "$(NIGHTLY_SYSROOT)/lib/rustlib/src/rust/library" ] || \
	      rustup component add rust-src --toolchain nightly >/dev/null 2>&1; }; then \
	  set -e; \
	  echo "ThreadSanitizer over the C tests and an instrumented libworkqueue (nightly, -Zbuild-std)"; \
	  RUSTFLAGS="-Zsanitizer=thread" CARGO_TARGET_DIR=$(TSAN_TARGET_DIR) \
	    $(CARGO) +nightly build -Zbuild-std --target $(RUST_HOST) --release -p workqueue-ffi --lib; \
	  $(CC) $(C_FLAGS) -O1 $(SANITIZE_TSAN) $(C_TEST_SOURCES) examples-c/tsan_shim.c \
	    $(WQ_STATIC_TSAN) $(WQ_STATIC_DEPS) -o $(C_BUILD)/wq_test_tsan_full; \
	  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" $(C_BUILD)/wq_test_tsan_full conformance; \
	else \
	  echo "no nightly Rust with rust-src: ThreadSanitizer checks the C side only"; \
	  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/examples-c/tests/tsan.supp" \
	    $(C_BUILD)/wq_test_tsan conformance; \
	fi

test-c-valgrind: $(C_BUILD)/wq_test
	$(VALGRIND) $(C_BUILD)/wq_test conformance

# The Rust tests of the ABI under Miri (nightly; the miri component is added
# when missing): undefined behaviour in the pointer handling fails them.
# The fd test is skipped there (no timerfd in Miri).
test-ffi-miri:
	@if [ -n "$(NIGHTLY_SYSROOT)" ] && { [ "$$(rustup component list --toolchain nightly --installed 2>/dev/null | grep -c '^miri\|^rust-src')" = 2 ] || \
	      rustup component add miri rust-src --toolchain nightly >/dev/null 2>&1; }; then \
	  CARGO_TARGET_DIR=target/miri $(CARGO) +nightly miri test -p workqueue-ffi; \
	else \
	  echo "no nightly Rust with Miri: skipping test-ffi-miri"; \
	fi

test-sanitize: test-c-asan test-c-tsan demo-c-valgrind test-c-valgrind test-ffi-miri

# ---- examples --------------------------------------------------------------

$(C_BUILD)/%: examples-c/%.c include/workqueue.h $(WQ_STATIC)
	@mkdir -p $(C_BUILD)
	$(CC) $(C_FLAGS) $< $(WQ_STATIC) $(WQ_STATIC_DEPS) -o $@

c-programs: $(C_BUILD)/hello $(C_BUILD)/controller $(C_BUILD)/event_loop

demo-c: c-programs
	$(C_BUILD)/hello
	$(C_BUILD)/controller
	$(C_BUILD)/event_loop

# The demos under Valgrind: no error and no leak (definite, indirect or
# possible) allowed. WQ_DEMO_QUICK shortens the controller demo.
demo-c-valgrind: c-programs
	$(VALGRIND) $(C_BUILD)/hello > /dev/null
	WQ_DEMO_QUICK=1 $(VALGRIND) $(C_BUILD)/controller > /dev/null
	WQ_DEMO_QUICK=1 $(VALGRIND) $(C_BUILD)/event_loop > /dev/null

# ---- install ---------------------------------------------------------------

PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include

install: build-c
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)
	install -m 644 $(WQ_STATIC) $(DESTDIR)$(LIBDIR)/libworkqueue.a
	install -m 755 $(WQ_LIB_DIR)/libworkqueue.so $(DESTDIR)$(LIBDIR)/libworkqueue.so.$(WQ_VERSION)
	ln -sf libworkqueue.so.$(WQ_VERSION) $(DESTDIR)$(LIBDIR)/libworkqueue.so.$(WQ_SOVERSION)
	ln -sf libworkqueue.so.$(WQ_SOVERSION) $(DESTDIR)$(LIBDIR)/libworkqueue.so
	install -m 644 include/workqueue.h $(DESTDIR)$(INCLUDEDIR)/workqueue.h
	@# Rust's std ships with debug info; the installed copies drop it (22 MB -> 14 MB).
	-strip --strip-debug $(DESTDIR)$(LIBDIR)/libworkqueue.a $(DESTDIR)$(LIBDIR)/libworkqueue.so.$(WQ_VERSION)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(WQ_VERSION)|' -e 's|@STATIC_DEPS@|$(WQ_STATIC_DEPS)|' \
	    workqueue-ffi/workqueue.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/workqueue.pc
	@echo "installed libworkqueue $(WQ_VERSION) into $(DESTDIR)$(PREFIX)"

# Installs into a scratch prefix, then builds examples against the
# installed copy with pkg-config only: shared (run through its rpath) and
# static.
INSTALL_TEST := $(CURDIR)/$(C_BUILD)/install-test
test-c-install: build-c
	rm -rf $(INSTALL_TEST)
	$(MAKE) --no-print-directory install PREFIX=$(INSTALL_TEST)/prefix
	export PKG_CONFIG_PATH=$(INSTALL_TEST)/prefix/lib/pkgconfig; \
	set -e; \
	test "$$(pkg-config --modversion workqueue)" = "$(WQ_VERSION)"; \
	libdir=$$(pkg-config --variable=libdir workqueue); \
	$(CC) -std=c11 $(C_WARNINGS) examples-c/hello.c $$(pkg-config --cflags --libs workqueue) \
	  -Wl,-rpath,$$libdir -o $(INSTALL_TEST)/hello-shared; \
	$(CC) -std=c11 $(C_WARNINGS) $$(pkg-config --cflags workqueue) examples-c/controller.c \
	  $$libdir/libworkqueue.a $$(pkg-config --static --libs-only-l workqueue | sed 's/-lworkqueue//') \
	  -o $(INSTALL_TEST)/controller-static; \
	ldd $(INSTALL_TEST)/hello-shared | grep -q "$$libdir/libworkqueue.so.$(WQ_SOVERSION)"; \
	$(INSTALL_TEST)/hello-shared > /dev/null; \
	WQ_DEMO_QUICK=1 $(INSTALL_TEST)/controller-static > /dev/null; \
	echo "install test: built and ran examples against $(INSTALL_TEST)/prefix with pkg-config"

# ---- benchmark -------------------------------------------------------------

$(C_BUILD)/bench_c: bench/c/bench.c include/workqueue.h $(WQ_STATIC)
	@mkdir -p $(C_BUILD)
	$(CC) $(C_FLAGS) -O3 $< $(WQ_STATIC) $(WQ_STATIC_DEPS) -o $@

bench-c: $(C_BUILD)/bench_c
	$(CARGO) build --release -p workqueue-ffi --example bench_core
	$(C_BUILD)/bench_c --rust $(WQ_LIB_DIR)/examples/bench_core
