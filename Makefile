# jiareg — the two commands a newcomer runs are `make demo` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export JIAREG_TEST_PG ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: setup demo test lint bench clean

setup: $(STAMP)   ## create .venv and install jiareg with every extra (idempotent)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -e '.[spark,test,dev]'
	touch $(STAMP)

demo: setup      ## build the demo registry, run the founding study, write demo-output/
	$(BIN)/jiareg demo --out demo-output

test: setup      ## run the whole suite (SQLite, PostgreSQL, Spark local, browser)
	$(BIN)/python -m pytest

lint: setup      ## ruff + mypy --strict
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

bench: setup     ## benchmarks: rows/s and ratios to baselines measured in the same run
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
