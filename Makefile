# `make run` starts the bot, `make test` checks everything; both set up .venv first.
# Packages go in at the exact versions of constraints.txt, the ones the project was tested
# with; `make lock` resolves pyproject.toml's ranges anew and rewrites that file.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS := constraints.txt

.PHONY: run test lint bench clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Both stamps depend on the constraints: a refreshed constraints.txt reinstalls.
$(VENV)/.runtime: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e .
	touch $@

$(VENV)/.test: pyproject.toml $(CONSTRAINTS) | $(BIN)/python
	$(BIN)/pip install --quiet -c $(CONSTRAINTS) -e '.[test]'
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	$(BIN)/python -m bot

lint: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: $(VENV)/.test
	$(BIN)/python -m bench

# A throwaway venv, so nothing already installed in .venv steers the resolver; the file
# is replaced only once the whole install has succeeded. Then `make test` and commit it.
lock:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PYTHON) -m venv "$$tmp/venv" && \
	"$$tmp/venv/bin/python" -m pip install --quiet --upgrade pip && \
	"$$tmp/venv/bin/pip" install --quiet -e '.[test]' && \
	{ \
	  echo "# Exact versions the project is tested with; \`make\` installs with them (pip -c)."; \
	  echo "# Refresh with \`make lock\`: a fresh venv resolves pyproject.toml's ranges anew."; \
	  echo "# Generated; edit pyproject.toml, not this file."; \
	  "$$tmp/venv/bin/pip" freeze --exclude-editable; \
	} > "$$tmp/$(CONSTRAINTS)" && \
	mv "$$tmp/$(CONSTRAINTS)" $(CONSTRAINTS) && \
	echo "$(CONSTRAINTS) refreshed: run make test, then commit it"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
