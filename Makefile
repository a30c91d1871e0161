# thirdbook: `make demo` plays the built-in demo, `make test` runs every check.
# Both create the virtual environment in .venv and install thirdbook into it first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup demo test lint pytest bench bench-lookup bench-console bench-snapshot bench-report \
	bench-startup clean otlp-fixtures otlp-fixtures-venv

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
	$(BIN)/python tests/bench/cold_lookup.py
	$(BIN)/python tests/bench/cold_lookup.py --shape otlp

bench-lookup: $(STAMP)
	$(BIN)/python tests/bench/cold_lookup.py
	$(BIN)/python tests/bench/cold_lookup.py --shape otlp

bench-console: $(STAMP)
	$(BIN)/python tests/bench/console.py

bench-snapshot: $(STAMP)
	$(BIN)/python tests/bench/snapshot.py

bench-report: $(STAMP)
	$(BIN)/python tests/bench/report.py

# The OTLP fixtures are made by real OpenTelemetry instrumentation in an environment of their own
# (.venv-otel, pinned by tests/otlp_fixtures/requirements.txt), never thirdbook's dependencies.
OTEL_VENV := .venv-otel
OTEL_REQUIREMENTS := tests/otlp_fixtures/requirements.txt
OTEL_STAMP := $(OTEL_VENV)/.installed-stamp
OTLP_OUT ?= tests/fixtures/otlp

$(OTEL_STAMP): $(OTEL_REQUIREMENTS)
	test -x $(OTEL_VENV)/bin/python || $(PYTHON) -m venv $(OTEL_VENV)
	$(OTEL_VENV)/bin/python -m pip install --quiet -r $(OTEL_REQUIREMENTS)
	touch $(OTEL_STAMP)

otlp-fixtures-venv: $(OTEL_STAMP)

otlp-fixtures: $(OTEL_STAMP)
	$(OTEL_VENV)/bin/python tests/otlp_fixtures/generate.py --out $(OTLP_OUT)
bench-startup: $(STAMP)
	$(BIN)/python tests/bench/startup.py

clean:
	rm -rf $(VENV) $(OTEL_VENV) .pytest_cache .mypy_cache .ruff_cache
