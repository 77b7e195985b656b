# The two commands of the quick start: `make run` and `make test`.
# Both create .venv when it is missing and install what they need.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= var

# Every command here starts Python processes (the server, agents, and the tests' own): without
# cached bytecode each one compiles every module it imports again, about 8 s of CPU for the
# server. Some machines set PYTHONDONTWRITEBYTECODE; the caches stay out of git (.gitignore).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test lint typecheck pytest install clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv

$(STAMP): pyproject.toml | $(BIN)/python
	UV_PYTHON_DOWNLOADS=never $(BIN)/uv pip install --quiet --compile-bytecode -p $(BIN)/python -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## run: set up and run the demonstration on the embedded default (SQLite, local files):
## a server, a lab and two GPs with their agents under ./var/demo, until Ctrl-C
run: $(STAMP)
	$(BIN)/caducee demo --dir $(DATA)/demo

## test: set up and run every check and test (ruff, mypy, pytest on SQLite and PostgreSQL)
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
