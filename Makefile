# tradelib: two commands for a fresh machine (see README).
#   make all    set up, fetch -> build -> execute every notebook -> render the site
#   make test   set up, run the test suite (which also executes the notebooks)
# The offline mirror is used when ../shared/data/mirror exists or TRADELIB_MIRROR is set.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.tradelib-installed

.PHONY: all test setup lock fetch build site students bench bench-run bench-kernels lint clean-data

all: $(STAMP)
	$(BIN)/python -m tradelib run $(RUN_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: $(STAMP)

# Install exactly the locked environment (requirements.lock, every file checked by sha256), then
# tradelib itself in editable mode without dependencies. uv comes first, from the lock too, with
# pip --require-hashes; nothing is resolved at install time.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	awk '/^uv==/{p=1} p{print} p&&!/\\$$/{exit}' requirements.lock > $(VENV)/uv-lock.txt
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r $(VENV)/uv-lock.txt
	$(BIN)/uv pip sync --quiet --require-hashes --compile-bytecode --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (tradelib)" >/dev/null
	touch $(STAMP)

# Refresh the lock after changing dependencies in pyproject.toml (and environment.yml):
# resolves the newest versions within the declared bounds, for every platform, with hashes.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --universal \
		--python-version 3.11 --upgrade --quiet -o requirements.lock

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

# Re-execute every notebook under several OpenBLAS kernels; table of the recorded metrics' spread.
bench-kernels: $(STAMP)
	$(BIN)/python bench/kernel_spread.py

lint: $(STAMP)
	$(BIN)/ruff check tradelib tests

clean-data:
	rm -rf data/raw data/processed
