# Two commands for a fresh machine (see README.md): `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ROWS ?= 100000

AIRFLOW_HOME_DIR ?= .salespipe/dev/airflow

.PHONY: airflow bench-operator bench-airflow run test test-snowflake lint typecheck bench bench-quick bench-gold bench-streaming venv clean

RUN_STAMP := $(VENV)/.installed-run

venv: $(STAMP)

# uv (from PyPI) installs the pinned stack in seconds; reinstall when pyproject changes.
# --compile-bytecode: uv writes no .pyc by default, and with PYTHONDONTWRITEBYTECODE set
# no process writes them either, so every process compiled dbt (and Airflow) from source:
# `import dbt.cli.main` took 5.1 s, 2.4 s with bytecode.
# `make run` needs only the core; the tests need every extra.
$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[gold]'
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[dev,streaming,gold,airflow,operator]'
	touch $(STAMP)

run: $(RUN_STAMP)
	$(BIN)/salespipe run --rows $(ROWS)

# fakesnow needs duckdb 2.x (salespipe pins 1.5.5), so the Snowflake-dialect tests of
# the dbt project run in a venv of their own, without salespipe.
FS_VENV := .venv-fakesnow
FS_STAMP := $(FS_VENV)/.installed
FS_PACKAGES := fakesnow==0.12.1 dbt-core==1.11.16 dbt-snowflake==1.12.4 pytest==9.2.0

$(FS_STAMP): Makefile
	test -x $(FS_VENV)/bin/python || $(PYTHON) -m venv $(FS_VENV)
	$(FS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(FS_VENV)/bin/uv pip install --quiet --compile-bytecode --python $(FS_VENV)/bin/python $(FS_PACKAGES)
	touch $(FS_STAMP)

test-snowflake: $(FS_STAMP)
	$(FS_VENV)/bin/python -m pytest -q -p no:cacheprovider --confcutdir=tests/snowflake \
		tests/snowflake

# The real Kubernetes API server the operator tests run against (cached after one build).
test: $(STAMP) k8s-build test-snowflake
	$(BIN)/ruff check src tests bench dags operators
	$(BIN)/ruff format --check src tests bench dags operators
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench dags operators
	$(BIN)/ruff format --check src tests bench dags operators

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench.silver --sizes 1000000,10000000

bench-quick: $(STAMP)
	$(BIN)/python -m bench.silver --sizes 100000

bench-gold: $(STAMP)
	$(BIN)/python -m bench.gold --rows 1000000

bench-streaming: $(STAMP)
	$(BIN)/python -m bench.streaming --producer-config batch.size=131072
	$(BIN)/python -m bench.stream_silver --rates 1000 10000 --seconds 60 \
		--producer-config linger.ms=50

bench-operator: $(STAMP) k8s-build
	$(BIN)/python -m bench.operator --airflow local
	$(BIN)/python -m bench.operator --airflow stub

bench-airflow: $(STAMP)
	$(BIN)/python -m bench.airflow --rows 100000

# A local Airflow (api-server, scheduler, dag-processor) with salespipe's DAGs.
airflow: $(STAMP)
	$(BIN)/salespipe dev airflow --home $(AIRFLOW_HOME_DIR)

clean:
	rm -rf .salespipe

include mk/kube.mk
