# Two commands matter: `make lab` (the main job) and `make test` (every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: lab quickstart test bench sim clean

SERVER_CONFIG := jupyter-config/jupyter_server_config.d/opus_magic.json

$(STAMP): pyproject.toml $(SERVER_CONFIG)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# an editable install skips pyproject's data-files: enable the server extension by hand
	mkdir -p $(VENV)/etc/jupyter/jupyter_server_config.d
	cp $(SERVER_CONFIG) $(VENV)/etc/jupyter/jupyter_server_config.d/
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
