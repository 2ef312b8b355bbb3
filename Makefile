# mpsanalysis: quarterly policing-plan performance reports.
# Every target describes itself: run `make help`.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Exact versions with hashes of every dependency (made by `make lock` with uv).
LOCK   := requirements/lock.txt
LOCK_TOOLS := $(VENV)/lock-tools
# Period for `make reports`: latest complete quarter in the data unless overridden,
# e.g. `make reports QUARTER=2010/11-Q2`.
QUARTER ?= latest
WORKERS ?=

.DEFAULT_GOAL := help
.PHONY: help setup lock fetch build reports audit test test-fast test-damage bench lint clean clean-outputs

help: ## List the targets and what they do
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name mpsanalysis --display-name "Python (mpsanalysis)" > /dev/null
	$(BIN)/python -m ipykernel install --user --name mpsanalysis --display-name "Python (mpsanalysis)" > /dev/null
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv/ and install the locked dependencies (requirements/lock.txt, hashes checked), the package and the Jupyter kernel

lock: ## Regenerate requirements/lock.txt from pyproject.toml (exact versions and hashes, with uv)
	@test -x $(LOCK_TOOLS)/bin/uv || { $(PYTHON) -m venv $(LOCK_TOOLS) && $(LOCK_TOOLS)/bin/python -m pip install --quiet uv; }
	$(LOCK_TOOLS)/bin/uv pip compile pyproject.toml --extra test --extra bench --generate-hashes --python-version 3.11 --quiet -o $(LOCK)

fetch: $(STAMP) ## Copy the raw data into data/raw/ from ../shared/data (or download it) and record checksums
	$(BIN)/mpsanalysis fetch

build: fetch ## Validate the raw files and write the processed store in data/processed/
	$(BIN)/mpsanalysis build

reports: build ## Run every objective for the latest complete quarter and write reports/ (HTML + index)
	$(BIN)/mpsanalysis run --quarter $(QUARTER) $(if $(WORKERS),--workers $(WORKERS),)

audit: build ## Run every objective for London and 3 boroughs, a quarter a year, and check every page
	$(BIN)/mpsanalysis audit $(if $(WORKERS),--workers $(WORKERS),)

test: $(STAMP) ## Run the test suite (unit, real data, notebooks, browser; a sample of the damage harness)
	$(BIN)/python -m pytest -m "not damage"

test-fast: $(STAMP) ## Run the unit tests only (no notebooks, no browser)
	$(BIN)/python -m pytest -m "not slow and not damage"

test-damage: $(STAMP) ## Run the full damage harness (damaged copies of the real borough files; a few minutes)
	$(BIN)/python -m pytest -q -m damage tests/test_damage.py

bench: build ## Run the benchmarks; exits non-zero if any target ratio is missed
	$(BIN)/python -m benchmarks

lint: $(STAMP) ## Check style (ruff check and format), types (mypy) and that notebooks carry no outputs
	$(BIN)/ruff check mpsanalysis tests benchmarks
	$(BIN)/ruff format --check mpsanalysis tests benchmarks
	$(BIN)/mypy
	$(BIN)/nbstripout --keep-id --verify notebooks/*.ipynb

clean-outputs: ## Delete processed data and reports (they are rebuilt by `make reports`)
	rm -rf data/processed/* reports/* reports/.cache
	@touch data/processed/.gitkeep reports/.gitkeep

clean: clean-outputs ## Also delete the virtual environment and the raw copies
	rm -rf $(VENV) data/raw/*/
