# Every target sets up its own virtual environment, so a fresh clone needs only Python 3.11+, Node and npm.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	rm -f $(VENV)/.installed-*
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## The main job: deploy app.py's organization to the embedded WorkMail emulator (state in .workmail/).
demo: $(STAMP)
	$(BIN)/workmail-cdk deploy --local

## The whole test suite: lint, type check and tests.
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python -m bench.emulator_throughput
	$(BIN)/python -m bench.list_users
	$(BIN)/python -m bench.reconcile_scale
	$(BIN)/python -m bench.synth_scale
	$(BIN)/python -m bench.footprint

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache cdk.out .workmail
