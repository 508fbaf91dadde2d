# The Python binding: python/ (PyO3 + maturin), its pytest suite, the
# controller demo and the benchmark against pure-Python queues.
#
# Everything runs in a virtual environment of its own, .venv, created with
# the system's python3 and holding pinned tools. The package is installed
# into it the way users install it (pip and the maturin build backend).

BUILD_TARGETS += build-python
TEST_TARGETS += test-python
DEMO_TARGETS += demo-python
BENCH_TARGETS += bench-python
LINT_TARGETS += lint-python

.PHONY: build-python test-python demo-python bench-python lint-python python-venv

PYTHON ?= python3
PY_VENV := .venv
PY := $(PY_VENV)/bin/python
PY_TOOLS := maturin==1.16.0 pytest==9.2.0 mypy==2.4.1 ruff==0.17.6 prometheus_client==0.26.0
# A cargo target directory of its own: maturin builds with
# PYO3_BUILD_EXTENSION_MODULE set, and sharing target/ with plain cargo
# runs would rebuild pyo3 whenever that variable flips.
PY_CARGO_TARGET := $(CURDIR)/target/python
PY_SOURCES := $(shell find python/src python/workqueue -type f -not -name '*.so' -not -path '*/__pycache__/*') \
	python/Cargo.toml python/pyproject.toml python/README.md \
	$(shell find workqueue-core/src -name '*.rs') workqueue-core/Cargo.toml Cargo.lock
PY_LINTED := python/workqueue python/tests python/examples bench/python
# Tool caches live in the venv, not in the source tree.
PY_CACHE := $(PY_VENV)/cache

$(PY_VENV)/.tools-stamp: mk/40-python.mk
	test -x $(PY) || $(PYTHON) -m venv $(PY_VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check $(PY_TOOLS)
	touch $@

python-venv: $(PY_VENV)/.tools-stamp

# `pip install ./python` with the pinned maturin of the venv as the build
# backend (no build isolation: no download on every build).
$(PY_VENV)/.workqueue-stamp: $(PY_VENV)/.tools-stamp $(PY_SOURCES)
	PATH="$(CURDIR)/$(PY_VENV)/bin:$$PATH" CARGO_TARGET_DIR="$(PY_CARGO_TARGET)" \
	  $(PY) -m pip install --quiet --disable-pip-version-check \
	  --no-build-isolation --no-deps --force-reinstall ./python
	touch $@

build-python: $(PY_VENV)/.workqueue-stamp

test-python: build-python
	$(PY) -m pytest -q -o cache_dir=$(CURDIR)/$(PY_CACHE)/pytest python/tests

lint-python: build-python
	$(PY_VENV)/bin/ruff check --cache-dir $(PY_CACHE)/ruff $(PY_LINTED)
	$(PY_VENV)/bin/ruff format --check --cache-dir $(PY_CACHE)/ruff $(PY_LINTED)
	$(PY_VENV)/bin/mypy --strict --cache-dir $(PY_CACHE)/mypy $(PY_LINTED)
	$(PY) -m mypy.stubtest --mypy-config-file python/pyproject.toml workqueue._workqueue

demo-python: build-python
	$(PY) python/examples/controller.py

bench-python: build-python
	$(PY) bench/python/bench.py
