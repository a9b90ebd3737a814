# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q

.PHONY: demo test lint typecheck pytest docs clean

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "echoppe-accounts needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Re-install only when the project's metadata changes.
$(VENV)/.stamp-base: $(PY) pyproject.toml
	$(PIP) install -e .
	@touch $@

$(VENV)/.stamp-dev: $(PY) pyproject.toml
	$(PIP) install -e '.[dev,postgres]'
	@touch $@ $(VENV)/.stamp-base

demo: $(VENV)/.stamp-base
	$(PY) -m echoppe_accounts.demo demo-data

lint: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check src tests docs
	$(VENV)/bin/ruff format --check src tests docs

typecheck: $(VENV)/.stamp-dev
	$(VENV)/bin/mypy --strict src

pytest: $(VENV)/.stamp-dev
	$(VENV)/bin/pytest --cov --cov-branch --cov-report=term $(PYTEST_ARGS)

docs: $(VENV)/.stamp-dev
	$(VENV)/bin/sphinx-build -E -n -W --keep-going -b html docs docs/_build/html -q

test: lint typecheck pytest docs

clean:
	rm -rf $(VENV) demo-data docs/_build .coverage .pytest_cache .mypy_cache .ruff_cache .hypothesis
