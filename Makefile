# Two commands for a fresh machine (see README.md): `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ROWS ?= 200000

.PHONY: run test lint typecheck bench bench-quick venv clean

RUN_STAMP := $(VENV)/.installed-run

venv: $(STAMP)

# uv (from PyPI) installs the pinned stack in seconds; reinstall when pyproject changes.
# `make run` needs only the core; the tests need every extra.
$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev,streaming]'
	touch $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/salespipe run --rows $(ROWS)

# The real Kubernetes API server the operator tests run against (cached after one build).
test: $(STAMP) k8s-build
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench.silver --sizes 1000000,10000000

bench-quick: $(STAMP)
	$(BIN)/python -m bench.silver --sizes 100000

clean:
	rm -rf .salespipe

include mk/kube.mk
