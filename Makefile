# The two commands of the README:
#   make demo   installs what is needed, simulates a store day on the embedded SQLite default, serves it
#   make test   installs what is needed and runs the whole test suite (lint, types, contracts, tests)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint bench clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# The benchmarks' extra (SpiffWorkflow, P1's peer) on top of the project's venv.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'

demo: $(STAMP)
	OPSDESK_SHOPIFY_SECRET=demo-secret $(BIN)/opsdesk demo demo --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports

# Over both cores of the project's 2-core machines (ADR 0044): `make test TEST_WORKERS=0` runs in one process.
# The longest files start first (tests/suite_order.py), not the files with the most tests (xdist's reorder).
TEST_WORKERS ?= 2

test: $(STAMP)
	@scripts/ensure-services
	@scripts/ensure-chromium
	$(MAKE) --no-print-directory lint
	$(BIN)/python -m pytest --numprocesses $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15

clean:
	rm -rf $(VENV) demo .pytest_cache .mypy_cache
