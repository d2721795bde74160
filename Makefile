# The commands of README.md:
#   make study      install everything and run the default study
#   make test       install, run the linters and the fast tests (a few minutes)
#   make test-all   install, run the linters and every test (CI; about 25 minutes)
#   make install    only install (.venv), e.g. on a cluster's login node
#   make reference  the shipped references (reference/smoke, reference/default)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Tests marked slow (pyproject.toml): the smoke studies end to end, the live
# Slurm cluster, the browser, the Monte-Carlo simulations.
FAST := -m "not slow"
# Tests run in parallel processes (pytest-xdist), each module's tests in one
# process (tests/conftest.py): the suite waits on subprocesses about half of
# its time, so two workers nearly halve it even on two cores.
WORKERS ?= 2
PARALLEL := -n $(WORKERS) --dist loadgroup

.PHONY: install study test test-all lint clean reference reference-smoke reference-default

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/activate requirements.txt requirements-dev.txt pyproject.toml
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

study: $(VENV)/.installed
	$(BIN)/snakemake

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src tests scripts benchmarks
	$(BIN)/snakefmt --check .
	$(BIN)/snakemake --lint --cores 1

test: lint
	$(BIN)/pytest $(PARALLEL) $(FAST)

test-all: lint
	$(BIN)/pytest $(PARALLEL) --durations=25

# The shipped references (README "Citing"): the smoke study run afresh in a
# scratch directory, and the default study's results (run first if needed).
reference: reference-smoke reference-default

reference-smoke: $(VENV)/.installed
	rm -rf .reference-smoke
	$(BIN)/snakemake --configfile tests/config/smoke.yaml -d .reference-smoke
	$(BIN)/python -m geoctx.reference .reference-smoke/results reference/smoke
	rm -rf .reference-smoke

reference-default: $(VENV)/.installed
	$(BIN)/snakemake
	$(BIN)/python -m geoctx.reference results reference/default

clean:
	rm -rf results/data results/models results/tables results/figures results/report logs benchmarks/rules .snakemake
