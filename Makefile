# Two commands matter: `make lab` (the main job) and `make test` (every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock

.PHONY: lab quickstart test bench sim lock lock-upgrade compile-lock clean

SERVER_CONFIG := jupyter-config/jupyter_server_config.d/opus_magic.json

# Exact versions and hashes from the committed lock, then the package itself without resolving
# anything again: a new release of a dependency cannot change what the tests run on.
$(STAMP): pyproject.toml $(LOCK) $(SERVER_CONFIG)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
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

## The lock after a dependency was added or removed in pyproject.toml (other pins stay)
lock:
	$(MAKE) LOCK_FLAGS= compile-lock

## Refresh every pin on purpose (newest releases within pyproject's ranges); review and commit it
lock-upgrade:
	$(MAKE) LOCK_FLAGS=--upgrade compile-lock

compile-lock:
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet pip-tools
	.lock-venv/bin/pip-compile --quiet $(LOCK_FLAGS) --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links \
		--extra dev --extra postgresql --extra lab --extra pandas -o $(LOCK) pyproject.toml
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .pytest_cache
