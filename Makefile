# The whole set-up: `make serve` and `make test`. Both go through `make install`, which
# sets up .venv with what serving needs; `make test` adds the dev tools on top (`make dev`).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
EXTRAS := postgres,s3,openai

.PHONY: install dev serve test lint typecheck unit lowest clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[$(EXTRAS)]'
	touch $(STAMP)

dev: $(DEV_STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[$(EXTRAS),dev]'
	touch $(DEV_STAMP)

# the port, when 8080 is taken: `make serve PORT=8081`
PORT ?= 8080

serve: install
	$(BIN)/rankion serve --host 127.0.0.1 --port $(PORT)

# Code, comments and docs speak of the product: no references to work items outside the
# changelog. The layer rules are import-linter contracts in pyproject.toml.
WORK_ITEM_REFS := (issue|ticket)s? ?\#?[0-9]+

lint: dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	@if git grep -nIiE '$(WORK_ITEM_REFS)' -- . ':!CHANGELOG.md'; then \
		echo "lint: the lines above cite work items; say what the code does instead"; exit 1; fi

typecheck: dev
	$(BIN)/mypy
	$(BIN)/mypy examples

# the fast inner loop: the core's unit and property tests only
unit: dev
	$(BIN)/pytest -q tests/core

test: dev lint typecheck
	$(BIN)/pytest -q

# The lower bounds in pyproject.toml are honest: a venv of its own with the lowest
# versions they allow of every direct dependency (uv's lowest-direct resolution; uv comes
# with the dev tools), made anew each run, runs the core and contract tests under the
# same warning rules as `make test`. A test that hangs fails after LOWEST_TIMEOUT seconds
# (setup, call and teardown) with every thread's stack, so the run always ends.
LOWEST := .venv-lowest
LOWEST_TIMEOUT ?= 120

lowest: dev
	rm -rf $(LOWEST)
	$(BIN)/uv venv -q --python $(BIN)/python $(LOWEST)
	$(BIN)/uv pip install -q --python $(LOWEST)/bin/python --resolution lowest-direct \
		-e '.[$(EXTRAS),dev]'
	$(LOWEST)/bin/python -m pytest -q -p no:cacheprovider --timeout $(LOWEST_TIMEOUT) \
		tests/core tests/contract

clean:
	rm -rf $(VENV) $(LOWEST) .mypy_cache .pytest_cache .ruff_cache .hypothesis
