# jiareg — the two commands a newcomer runs are `make demo` and `make test`.
# .venv's interpreter: the system's /usr/bin/python3 when it is a Python the project supports
# and can make a venv (Debian's python3.11-venv), else python3 on PATH. Debian builds its
# Python with profile-guided and link-time optimisation and links libpython into it; pyenv's
# default build has neither: the whole suite took 4 min of CPU on Debian's against 5 min 10 s
# (bench/RESULTS.md, "The test suite", session 8). `make setup PY=...` picks another.
SYSTEM_PY := /usr/bin/python3
PY      ?= $(shell $(SYSTEM_PY) -c 'import ensurepip, sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))' 2>/dev/null && echo $(SYSTEM_PY) || echo python3)
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export JIAREG_TEST_PG ?= postgresql://postgres@127.0.0.1:5432/postgres

# Let Python cache compiled modules: with PYTHONDONTWRITEBYTECODE set (some machines set it), each
# test worker and each `jiareg` process a test starts compiled every module again.
unexport PYTHONDONTWRITEBYTECODE

# The suite's throwaway registries live in RAM where /dev/shm is writable: each SQLite commit
# otherwise waits for the disk (about 4 ms), and the suite commits tens of thousands of times.
TEST_TMP := $(shell test -w /dev/shm && echo /dev/shm || echo $${TMPDIR:-/tmp})

# Workers for pytest-xdist; Spark, demo and browser tests each stay on one worker (xdist_group).
JOBS    ?= 2
FAST    := not spark and not browser and not pdf and not slow

.PHONY: setup system-deps demo test test-fast lint bench clean

setup: $(STAMP)   ## create .venv and install jiareg with every extra (idempotent)

$(STAMP): pyproject.toml
	@echo "setup 1/3: virtualenv in $(VENV) ($(PY))"
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "setup 2/3: pip 25.3"
	$(BIN)/python -m pip install --progress-bar on --upgrade pip==25.3
	@echo "setup 3/3: jiareg and its pinned dependencies (about 1.7 GB with Spark; a few minutes)"
	$(BIN)/python -m pip install --progress-bar on -e '.[spark,test,dev]'
	touch $(STAMP)

system-deps:     ## the Debian packages the tests need (installs as root, else says how)
	scripts/system-deps.sh

demo: setup      ## build the demo registry, run the founding study, write demo-output/
	$(BIN)/jiareg demo --out demo-output

test: setup system-deps  ## run the whole suite (SQLite, PostgreSQL, Spark local, browser, PDF)
	TMPDIR=$(TEST_TMP) $(BIN)/python -m pytest -n $(JOBS)

test-fast: setup ## the suite without Spark, browser, PDF and slow tests, a quarter of the hypothesis examples (under a minute on 2 cores)
	TMPDIR=$(TEST_TMP) $(BIN)/python -m pytest -n $(JOBS) -m "$(FAST)" --hypothesis-profile=fast

lint: setup      ## ruff + mypy --strict + the import-linter layering contracts
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	PYTHONPATH=src $(BIN)/lint-imports

bench: setup     ## benchmarks: rows/s and ratios to baselines measured in the same run
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
