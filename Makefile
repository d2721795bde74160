# Two commands, as in README.md:
#   make study   install everything and run the default study
#   make test    install everything and run the tests and linters
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: study test lint clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/activate requirements.txt requirements-dev.txt pyproject.toml
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

study: $(VENV)/.installed
	$(BIN)/snakemake

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src tests scripts benchmarks
	$(BIN)/snakefmt --check .
	$(BIN)/snakemake --lint --cores 1

test: lint
	$(BIN)/pytest

clean:
	rm -rf results/data results/models results/tables results/figures results/report logs benchmarks/rules .snakemake
