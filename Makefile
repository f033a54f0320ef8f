# Two commands matter: `make run` and `make test`. Everything they need installs from here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test install system-deps lint typecheck bench seed-data clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# torch first and pinned: it comes as a CPU build from this machine's disk, a bare
# requirement would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

# Debian chromium drives the browser tests (Playwright's own browser download fails offline).
system-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing chromium (browser tests)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

# With PAPERS_WATCH set, `papers watch` keeps those folders ingested alongside the app and stops with it.
run: install
	$(BIN)/papers ingest --if-empty
	@if [ -n "$$PAPERS_WATCH" ]; then \
		$(BIN)/papers watch & watcher=$$!; \
		trap 'kill $$watcher 2>/dev/null; wait $$watcher 2>/dev/null' EXIT; \
		trap 'exit 130' INT TERM; \
	fi; \
	$(BIN)/streamlit run ui/app.py --server.address 127.0.0.1 --server.port $(PORT) --server.headless true

# Two workers (this machine's cores); --dist loadfile keeps a test file's module fixtures on one worker.
# TEST_WORKERS=0 runs everything in this one process.
TEST_WORKERS ?= 2
test: install system-deps
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

lint: install
	$(BIN)/ruff check assistant ingest ui tests bench
	$(BIN)/mypy assistant ingest ui tests bench

# The `bench` extra holds what only the bench needs (llama-index baseline, onnx/onnxruntime).
bench: install
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	$(BIN)/python -m bench.run

# Regenerate the shipped seed data file from the seed page.
seed-data: install
	$(BIN)/python -m ingest.sources.seed ingest/data/trending-papers-page.txt

clean:
	rm -rf $(VENV) .papers .pytest_cache .mypy_cache .ruff_cache
