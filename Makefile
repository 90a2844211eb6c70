# Pursuit: `make run` serves the demo, `make test` runs every test. Both set themselves up.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)

.PHONY: run test check install lock bench clean

run: $(STAMP)
	$(BIN)/pursuit demo

test: $(STAMP)
	@scripts/ensure-chromium
	$(BIN)/pytest -n auto

check: $(STAMP)
	$(BIN)/ruff format --check backend tests e2e bench scripts
	$(BIN)/ruff check backend tests e2e bench scripts
	$(BIN)/mypy

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "Pursuit needs Python 3.11: install python3.11 or run 'make PYTHON=/path/to/python3.11'"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

lock:
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --quiet -o requirements.lock

bench: $(STAMP)
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/routing.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

# Extract the rep app's and notices' messages and merge them into each Babel catalog.
.PHONY: messages
messages: $(STAMP)
	scripts/i18n
	scripts/i18n check
