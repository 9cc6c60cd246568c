# Two commands do everything on a fresh machine:
#   make demo   - create .venv if needed, run the standard scenario
#   make test   - create .venv if needed, run the test-suite (in TEST_WORKERS processes,
#                 default 2), then the MPI-marked tests under mpirun -n 2
#
# Python >= 3.12 is found in this order: PYTHON=... on the command line,
# python3.12 / python3.13 on PATH (if it actually runs), then pyenv's interpreters.

SHELL := /bin/bash
VENV ?= .venv
SCENARIO ?= scenarios/standard-4ring.toml
OUT ?= out/standard-4ring
NPROC ?= 2
# the test-suite's worker processes (pytest-xdist; a test file stays in one worker, so its
# module fixtures run once): TEST_WORKERS=0 runs it in this process alone
TEST_WORKERS ?= $(NPROC)

# The first candidate that runs and reports >= 3.12 wins.
PYTHON_FOUND := $(shell \
  ok() { "$$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }; \
  for c in $(PYTHON) python3.12 python3.13 python3; do \
    if command -v "$$c" >/dev/null 2>&1 && ok "$$c"; then command -v "$$c"; exit 0; fi; \
  done; \
  root=$$(pyenv root 2>/dev/null || echo "$$HOME/.pyenv"); \
  for c in $$(ls -d "$$root"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
    if ok "$$c"; then echo "$$c"; exit 0; fi; \
  done)

.PHONY: all demo timeline teaching teaching-docs api-docs test test-serial test-mpi bench bench-continuum bench-store venv wheel browser clean help

all: test

help:
	@echo "make demo   - run the standard 4-ring frame ($(SCENARIO)) into $(OUT)"
	@echo "make test   - run the test-suite ($(TEST_WORKERS) worker processes, then MPI tests on $(NPROC) ranks)"
	@echo "make teaching - the pretension teaching demo (docs/teaching/pretension.md) into out/teaching"
	@echo "make api-docs - the API pages (docs/api/) from the docstrings (pdoc)"
	@echo "make teaching-docs - the same, and copy its two pictures into docs/teaching/ (tracked files)"
	@echo "make timeline - follow the 4 cm lengthening (scenarios/distraction-4cm.toml) into out/distraction-4cm"
	@echo "make wheel  - build the installable wheel into dist/ (README: Install as a package)"
	@echo "make bench  - time the standard scenario and a 60-day treatment (benchmarks/)"
	@echo "make bench-continuum - speed and memory of the continuum model on 1 and 2 ranks (~30 min)"
	@echo "make bench-store - a synthetic sweep store of 1e5 records: start-up, resume, summary (~4 min, 2 GB in /tmp)"

$(VENV)/.installed: pyproject.toml
	@if [ -z "$(PYTHON_FOUND)" ]; then \
	  echo "error: no Python >= 3.12 found (tried PYTHON=$(PYTHON), python3.12, python3.13, python3, pyenv)." >&2; \
	  echo "       Install Python 3.12 (e.g. 'pyenv install 3.12' or your distribution's python3.12)" >&2; \
	  echo "       or point at one with: make PYTHON=/path/to/python3.12 ..." >&2; \
	  exit 1; fi
	@echo "Using $(PYTHON_FOUND) ($$($(PYTHON_FOUND) --version))"
	@if [ ! -x $(VENV)/bin/python ]; then $(PYTHON_FOUND) -m venv $(VENV); fi
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[fenicsx,test]'
	@touch $@

venv: $(VENV)/.installed

# A normal (non-editable) wheel with the shipped scenarios, validation files and Slurm
# scripts inside (pyproject.toml); build/ is removed first so that no file deleted from
# the sources survives in the wheel.
wheel: $(VENV)/.installed
	rm -rf build
	$(VENV)/bin/python -m pip wheel --quiet --no-deps --wheel-dir dist .
	@ls dist/ilizarov-*.whl

demo: $(VENV)/.installed
	$(VENV)/bin/ilizarov run $(SCENARIO) --out $(OUT)
	$(VENV)/bin/ilizarov report $(OUT)

# writes into out/teaching only; teaching-docs also updates the pictures shipped in docs/teaching/
teaching: $(VENV)/.installed
	$(VENV)/bin/python examples/teaching_pretension.py

# the API pages (docs/api/, HTML) from the docstrings, with pdoc
api-docs: $(VENV)/.installed
	rm -rf docs/api && $(VENV)/bin/pdoc ilizarov ilizarov.results -o docs/api --no-search --no-show-source

teaching-docs: $(VENV)/.installed
	ILIZAROV_UPDATE_DOCS=1 $(VENV)/bin/python examples/teaching_pretension.py

timeline: $(VENV)/.installed
	$(VENV)/bin/ilizarov timeline scenarios/distraction-4cm.toml --out out/distraction-4cm

# The report test opens report.html in headless Chromium (Debian's `chromium` package).
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the report test (apt-get install chromium)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } || \
	  { echo "error: apt-get could not install chromium; install it by hand (apt-get install chromium)" >&2; exit 1; }; \
	elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the report test (sudo apt-get install chromium)"; \
	  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null || \
	  { echo "error: could not install chromium; install Debian's chromium package by hand" >&2; exit 1; }; \
	else \
	  echo "error: the report test needs Chromium: install Debian's chromium package (apt-get install chromium)" >&2; exit 1; \
	fi

test: $(VENV)/.installed browser
	$(VENV)/bin/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=15 tests
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/mpirun -n $(NPROC) $(VENV)/bin/python -m pytest -q -m mpi -p no:cacheprovider tests

bench: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/bench_frame.py
	$(VENV)/bin/python benchmarks/bench_timeline.py

bench-store: $(VENV)/.installed
	$(VENV)/bin/python benchmarks/bench_sweep_store.py

bench-continuum: $(VENV)/.installed
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/python benchmarks/bench_continuum.py

clean:
	rm -rf $(VENV) out .pytest_cache build dist
