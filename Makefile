# tradelib: two commands for a fresh machine (see README).
#   make all    set up, fetch -> build -> execute every notebook -> render the site
#   make test   set up, run the test suite (which also executes the notebooks)
# The offline mirror is used when ../shared/data/mirror exists or TRADELIB_MIRROR is set.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.tradelib-installed

.PHONY: all test setup fetch build site students bench bench-run lint clean-data

all: $(STAMP)
	$(BIN)/python -m tradelib run $(RUN_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (tradelib)" >/dev/null
	touch $(STAMP)

fetch: $(STAMP)
	$(BIN)/python -m tradelib fetch

build: $(STAMP)
	$(BIN)/python -m tradelib build

site: $(STAMP)
	$(BIN)/python -m tradelib site

students: $(STAMP)
	$(BIN)/python -m tradelib student

bench: $(STAMP)
	$(BIN)/python -m tradelib.bench

bench-run: $(STAMP)
	$(BIN)/python bench/bench_run.py

lint: $(STAMP)
	$(BIN)/ruff check tradelib tests

clean-data:
	rm -rf data/raw data/processed
