# thirdbook: `make demo` plays the built-in demo, `make test` runs every check.
# Both create the virtual environment in .venv and install thirdbook into it first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup demo test lint pytest bench bench-console bench-snapshot bench-report bench-startup clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/thirdbook demo

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest

test: lint pytest

bench: $(STAMP)
	$(BIN)/python tests/bench/ingest.py

bench-console: $(STAMP)
	$(BIN)/python tests/bench/console.py

bench-snapshot: $(STAMP)
	$(BIN)/python tests/bench/snapshot.py

bench-report: $(STAMP)
	$(BIN)/python tests/bench/report.py

bench-startup: $(STAMP)
	$(BIN)/python tests/bench/startup.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
