# `make serve` runs the gateway on the embedded SQLite default; `make test` runs the whole suite.
# Both build .venv first. `make serve` needs only Python 3.11+ (with npm it also installs GraphiQL's
# files so the playground works offline); `make test` also needs Node.js 20+ and Chromium
# (scripts/system-packages.sh installs Chromium when run as root on Debian).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SERVE_STAMP := $(VENV)/.installed-serve

PLAYGROUND := playground/node_modules/.installed
CLIENTS := clients/node_modules/.installed
CODEGEN := .venv-codegen/.installed

.PHONY: serve test check lint system-packages bench bench-pagination schema-baseline clean

# Serving needs only the package's own dependencies; the test tools (pytest, mypy, hypothesis,
# schemathesis, selenium, …) come with the first `make test`, `make lint` or `make bench`.
$(SERVE_STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $(SERVE_STAMP)

$(STAMP): $(SERVE_STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# GraphiQL and its explorer from the npm registry, served by the gateway. Without npm (or the
# registry) the playground loads the same files from unpkg.com instead (the page and the banner
# say so); the server starts either way.
$(PLAYGROUND): playground/package-lock.json
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "npm not found: the playground will load GraphiQL from unpkg.com (needs internet)"; \
	elif ! npm ci --prefix playground --no-audit --no-fund --loglevel=error; then \
	  echo "npm ci failed: the playground will load GraphiQL from unpkg.com (needs internet)"; \
	else \
	  touch $@; \
	fi

# The client and schema tools the tests run (tests/clients).
$(CLIENTS): clients/package-lock.json
	npm ci --prefix clients --no-audit --no-fund --loglevel=error
	touch $@

# ariadne-codegen pins an older graphql-core than Strawberry, so it gets a virtualenv of its own.
$(CODEGEN): clients/python/requirements.txt
	$(PYTHON) -m venv .venv-codegen
	.venv-codegen/bin/pip install --quiet -r clients/python/requirements.txt
	touch $@

system-packages:
	@scripts/system-packages.sh

# A local server shows GraphQL's "Did you mean" suggestions; `GATEWAY_ENV=production make serve`
# hides them as production does.
GATEWAY_ENV ?= development

# The virtualenv and GraphiQL's npm packages install side by side (some 8 s sooner on a fresh clone).
serve:
	@$(MAKE) --no-print-directory -j2 $(SERVE_STAMP) $(PLAYGROUND)
	GATEWAY_ENV=$(GATEWAY_ENV) $(BIN)/python -m app serve $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check app tests scripts clients/python
	$(BIN)/ruff format --check app tests scripts clients/python
	$(BIN)/mypy app

test: system-packages lint $(PLAYGROUND) $(CLIENTS) $(CODEGEN)
	$(BIN)/pytest

# The fast tier: unit and API tests on SQLite alone, the API clients calling the app in-process,
# on several processes; nothing marked `slow` (browsers, npm clients, other processes, fuzzing,
# the differential sweeps), no network, no Postgres. `make test` runs everything.
check: $(STAMP)
	TEST_DATABASE_URL= TEST_TRANSPORT=asgi $(BIN)/pytest -m "not slow" -n 4 -q

# The gateway beside a raw twin (scripts/bench_twin.py) on SQLite, and on Postgres when
# BENCH_DATABASE_URL names a server; needs wrk. `make bench ARGS="--seconds 3"` passes options.
bench: $(STAMP)
	$(BIN)/python scripts/bench.py $(ARGS)

# Keyset against OFFSET at growing depths, in the store alone.
bench-pagination: $(STAMP)
	$(BIN)/python scripts/bench_pagination.py $(ARGS)

# Move the schema guard's baseline (clients/schema/baseline.graphql) forward to schema.graphql:
# run it when a deprecation period ends and commit the result on its own, so that the removal it
# lets through is a deliberate, visible step.
schema-baseline:
	cp schema.graphql clients/schema/baseline.graphql

clean:
	rm -rf $(VENV) .venv-codegen playground/node_modules clients/node_modules .pytest_cache .ruff_cache
