# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q

.PHONY: demo test lint typecheck pytest docs messages package bench clean

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "echoppe-accounts needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Re-install only when the project's metadata changes.
$(VENV)/.stamp-base: $(PY) pyproject.toml
	$(PIP) install -e .
	@touch $@

$(VENV)/.stamp-dev: $(PY) pyproject.toml
	$(PIP) install -e '.[dev,postgres,example]'
	@touch $@ $(VENV)/.stamp-base

demo: $(VENV)/.stamp-base
	$(PY) -m echoppe_accounts.demo demo-data

lint: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check src tests docs examples benchmarks
	$(VENV)/bin/ruff format --check src tests docs examples benchmarks

typecheck: $(VENV)/.stamp-dev
	$(VENV)/bin/mypy --strict src

pytest: $(VENV)/.stamp-dev
	$(VENV)/bin/pytest --cov --cov-branch --cov-report=term $(PYTEST_ARGS)

docs: $(VENV)/.stamp-dev
	$(VENV)/bin/sphinx-build -E -n -W --keep-going -b html docs docs/_build/html -q

test: lint typecheck pytest docs

# The distributions as pip users get them: build, twine check --strict, the
# licence files, and the wheel's command run from a fresh virtual environment.
package: $(VENV)/.stamp-dev
	PYTHON=$(PY) .ci/check-package

# The benchmark suite (issue 12, benchmarks/): every row a ratio against a
# baseline measured in the same run, printed with its target and PASS or MISS,
# written as JSON to $(BENCH_JSON). Exits 0 whatever the verdicts, 1 if a row
# crashed. BENCH_ARGS="--only login outbox_smtp" picks rows; the PostgreSQL
# rows need ECHOPPE_BENCH_POSTGRES_DSN (or ECHOPPE_TEST_POSTGRES_DSN). The
# lookup rows' million accounts and the import's million-line memory child
# are the issue's sizes; BENCH_ARGS="--accounts 200000 --import-lines 200000"
# makes a shorter run (its lookup verdicts are then not at the target size).
BENCH_JSON ?= benchmarks/results.json
$(VENV)/.stamp-bench: $(PY) pyproject.toml
	$(PIP) install -e '.[bench,postgres]'
	@touch $@ $(VENV)/.stamp-base

bench: $(VENV)/.stamp-bench
	$(PY) -m benchmarks --json $(BENCH_JSON) $(BENCH_ARGS)

# Message catalogues (SPEC T1): extract the messages of the sources and
# templates into messages.pot, merge it into every language's messages.po,
# then compile the .mo files that ship in the wheel. Translate what the
# update left empty (or marked fuzzy) in the .po files, and run it again.
# The catalogue tests fail while a .po or .mo file is behind the sources.
LOCALE := src/echoppe_accounts/locale
messages: $(VENV)/.stamp-base
	$(VENV)/bin/pybabel -q extract -F pyproject.toml --project=echoppe-accounts \
		--copyright-holder="L'Échoppe" --width=79 \
		-o $(LOCALE)/messages.pot src/echoppe_accounts
	$(VENV)/bin/pybabel -q update -i $(LOCALE)/messages.pot -d $(LOCALE) -D messages \
		--ignore-obsolete --width=79
	$(VENV)/bin/pybabel compile -d $(LOCALE) -D messages --statistics

clean:
	rm -rf $(VENV) demo-data docs/_build .coverage .pytest_cache .mypy_cache .ruff_cache .hypothesis
