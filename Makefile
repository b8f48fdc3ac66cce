# Two commands matter: `make lab` (the main job) and `make test` (every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab quickstart test bench sim clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## JupyterLab on notebooks/ (the built-in simulator answers when no API key is configured)
lab: $(STAMP)
	@$(BIN)/opus-magic endpoint
	$(BIN)/jupyter lab --notebook-dir=notebooks $$([ "$$(id -u)" = 0 ] && echo --allow-root)

## Execute the quickstart notebook headless and print its runs and costs
quickstart: $(STAMP)
	$(BIN)/opus-magic execute notebooks/01_quickstart.ipynb

## Every test
test: $(STAMP)
	$(BIN)/python -m pytest

## Benchmarks (writes benchmarks/RESULTS.md)
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

## The simulator on port 8765
sim: $(STAMP)
	$(BIN)/opus-magic sim --port 8765

clean:
	rm -rf $(VENV) .pytest_cache
