# `make serve` runs the gateway on the embedded SQLite default; `make test` runs the whole suite.
# Both build .venv first (Python 3.11+ is all they need).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# A local server shows GraphQL's "Did you mean" suggestions; `GATEWAY_ENV=production make serve`
# hides them as production does.
GATEWAY_ENV ?= development

serve: $(STAMP)
	GATEWAY_ENV=$(GATEWAY_ENV) $(BIN)/python -m app serve $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check app tests scripts
	$(BIN)/ruff format --check app tests scripts
	$(BIN)/mypy app

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python scripts/bench_pagination.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
