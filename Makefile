# Chỉ số 766. `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.DEFAULT_GOAL := help
.PHONY: help install run test test-fast soak lint typecheck check bench verify simulate migrate clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## Create .venv and install the project with its dev tools

run: install ## The whole system: embedded broker and PostgreSQL, services, simulator, API on :8000 (ARGS="--national")
	$(PY) -m services.devstack $(ARGS)

test: install browser-setup ## All tests, against a real PostgreSQL, a real Tansu broker and Debian's Chromium
	$(PY) -m pytest -q

.PHONY: browser-setup
browser-setup: ## What the dashboard's tests need beyond .venv: Debian's chromium (never a downloaded build) and nodejs (as root)
	@command -v chromium >/dev/null 2>&1 || apt-get install -y chromium || (apt-get update && apt-get install -y chromium)
	@command -v node >/dev/null 2>&1 || apt-get install -y nodejs || (apt-get update && apt-get install -y nodejs)

test-fast: install ## The unit tests and the quick integration tests (under a minute)
	$(PY) -m pytest -q -m "unit or (integration and not slow)"

soak: install ## The fault and fuzz tests, long: 100 kill cycles, 60 s outages, 2000 fuzzed batches
	FAULT_KILL_CYCLES=100 FAULT_OUTAGE_SECONDS=60 FAULT_BROKER_OUTAGE_SECONDS=60 \
		FAULT_BROKER_DOWN_SECONDS=30 FUZZ_EXAMPLES=2000 \
		SCHEMATHESIS_EXAMPLES=200 SCHEMATHESIS_SEED=$$RANDOM $(PY) -m pytest -q -s tests/faults \
		tests/services/ingest/test_bad_input.py tests/services/api/test_openapi_fuzz.py

lint: install lint-js ## ruff (lint and format), mypy --strict, and ESLint over the dashboard
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

.PHONY: lint-js
lint-js: ## ESLint over the dashboard's modules (npm ci from package-lock.json)
	@test -d node_modules/eslint || npm ci --silent --no-audit --no-fund
	npx eslint services/api/dashboard tests/dashboard

check: lint test ## Everything CI should agree with

bench: install bench-setup ## Every figure as a share of an anchor measured beside it (PostgreSQL on 127.0.0.1:5432; ARGS="--help")
	$(PY) -m bench $(ARGS)

.PHONY: bench-setup
bench-setup: ## What the bench needs beyond .venv: the load generator wrk (Debian package, as root)
	@command -v wrk >/dev/null 2>&1 || apt-get install -y wrk || (apt-get update && apt-get install -y wrk)

verify: install ## Recompute every count from the event store and print the differences (DATABASE_URL)
	$(PY) -m services.scoring.verify

simulate: install ## Send a simulated province to KAFKA_BOOTSTRAP_SERVERS (ARGS="--help")
	$(PY) -m services.simulator --bootstrap-servers $${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092} $(ARGS)

migrate: install ## alembic upgrade head on DATABASE_URL
	$(VENV)/bin/alembic upgrade head

clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
