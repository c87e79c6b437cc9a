# The two commands a newcomer needs: `make run` (the product) and `make test` (the test suite).
# Both create .venv and install everything on first use.

VENV ?= .venv
PYTHON ?= python3
# torch is installed first and pinned: on these machines torch==2.13.0 is a CPU build on local disk,
# while an unpinned torch would pull a multi-GB CUDA build. On a GPU machine, set TORCH_SPEC to the
# CUDA build you want (e.g. make run TORCH_SPEC="torch==2.13.0 --index-url <your CUDA wheel index>").
TORCH_SPEC ?= torch==2.13.0
# The rest is installed by uv, which resolves and links the ~100 wheels several times faster than pip
# (docs/development.md). torch stays with pip, so that pip's own configuration picks its build.
UV_SPEC ?= uv==0.13.8
STAMP := $(VENV)/.installed

.PHONY: install system-packages run test test-slow reliability lint models

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet $(TORCH_SPEC) $(UV_SPEC)
	$(VENV)/bin/uv pip install --python $(VENV)/bin/python --quiet -e ".[worker,embedded,dev,postgres]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/queuebot up

# Redis, docker-compose and Chromium for the tests: installed when missing (scripts/system-packages).
system-packages:
	scripts/system-packages

# The tests that touch the database, run a second time on a private PostgreSQL cluster (the
# production database; tests/support/postgres_server.py) after the whole suite on SQLite.
POSTGRES_TESTS := tests/db tests/e2e tests/bots tests/workers tests/reliability

# --durations: where the suite's time goes, printed at the end of every run.
test: install system-packages
	$(VENV)/bin/pytest --durations=20
	QUEUEBOT_TEST_DATABASE=postgresql $(VENV)/bin/pytest --durations=10 $(POSTGRES_TESTS)

# The suite as on a slower machine: pinned to one core (HOG=1: beside a busy loop on that core too).
# A test that passes only because this machine is fast fails here.
test-slow: install system-packages
	scripts/slowed $(if $(HOG),--hog) -- $(VENV)/bin/pytest --durations=20

# The fault, load and fuzz scenarios alone, on SQLite and then on PostgreSQL, each pass ending with its
# table: scenario, database, jobs, lost, duplicated, errors, time (they run in `make test` too).
reliability: install system-packages
	$(VENV)/bin/pytest tests/reliability
	QUEUEBOT_TEST_DATABASE=postgresql $(VENV)/bin/pytest tests/reliability

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

models: install
	$(VENV)/bin/queuebot build-models
