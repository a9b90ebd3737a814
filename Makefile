# Two commands on a fresh machine: `make demo` and `make test`.
#
# Every package is installed from the lock (uv.lock: every direct and
# transitive package of the core and of the dev, postgres, example and bench
# extras, for Python 3.11 and newer, with their hashes), so `make test` passes
# whatever the package index serves today. uv itself is installed by pip from
# requirements/uv.txt, pinned with its hashes, into .tools/.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
TOOLS  := .tools
UV     := $(TOOLS)/bin/uv
# Use the interpreter the user has; never download one.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
SYNC   := $(UV) sync --locked --python $(PYTHON) --no-progress -q

.PHONY: demo test check lint typecheck pytest pytest-slow docs messages package bench \
	lock test-latest clean

$(UV): requirements/uv.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "echoppe-accounts needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip --disable-pip-version-check -q install \
		--require-hashes --only-binary :all: -r requirements/uv.txt
	@touch $@

# Re-install only when the project's metadata or the lock changes. The
# library alone for the demo (leaving extras a test run installed); the
# library with every extra the gates need for the rest.
$(VENV)/.stamp-base: $(UV) pyproject.toml uv.lock
	$(SYNC) --inexact
	@touch $@

$(VENV)/.stamp-dev: $(UV) pyproject.toml uv.lock
	$(SYNC) --extra dev --extra postgres --extra example --extra bench
	@touch $@ $(VENV)/.stamp-base

demo: $(VENV)/.stamp-base
	$(PY) -m echoppe_accounts.demo demo-data

lint: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check src tests docs examples benchmarks
	$(VENV)/bin/ruff format --check src tests docs examples benchmarks

typecheck: $(VENV)/.stamp-dev
	$(VENV)/bin/mypy --strict src

# pytest-xdist: one test process per core (TEST_WORKERS=0 for one process).
TEST_WORKERS ?= auto
COVERAGE     := --cov --cov-branch

# Every behaviour, quickly, before every commit: Hypothesis's default
# profile, no test marked slow (scale, soak, load, kill loops). The tests
# of the shared PostgreSQL server run after the others, one at a time
# (tests/conftest.py says why), and the coverage report covers both runs.
pytest: $(VENV)/.stamp-dev
	$(VENV)/bin/pytest -m "not slow and not postgres" -n $(TEST_WORKERS) \
		$(COVERAGE) --cov-report= --cov-fail-under=0 $(PYTEST_ARGS)
	$(VENV)/bin/pytest -m "postgres and not slow" \
		$(COVERAGE) --cov-append --cov-report=term $(PYTEST_ARGS)

# The slow tests alone (what `make check` adds to `make test`).
pytest-slow: $(VENV)/.stamp-dev
	$(VENV)/bin/pytest -m "slow and not postgres" -n $(TEST_WORKERS) -p no:cov $(PYTEST_ARGS)
	$(VENV)/bin/pytest -m "slow and postgres" -p no:cov $(PYTEST_ARGS)

docs: $(VENV)/.stamp-dev
	$(VENV)/bin/sphinx-build -E -n -W --keep-going -b html docs docs/_build/html -q

test: lint typecheck pytest docs

# The full check, what CI runs (.ci/run): `make test` with Hypothesis's
# thorough profile when CI=true, then the slow tests and the package.
# PostgreSQL, the SMTP test server and the browsers are required under CI=true.
check: test pytest-slow package

# Refresh the lock to the newest versions the index serves (then run
# `make test` and commit uv.lock).
lock: $(UV)
	$(UV) lock --upgrade --python $(PYTHON)

# The suite against the newest versions the index serves today, in a
# separate environment, ignoring the lock: finds a break like Babel 2.19's
# before a user does.
LATEST := .venv-latest
test-latest: $(UV)
	$(UV) venv -q --allow-existing --python $(PYTHON) $(LATEST)
	VIRTUAL_ENV=$(LATEST) $(UV) pip install -q --upgrade --reinstall-package echoppe-accounts \
		-e '.[dev,postgres,example,bench]'
	$(LATEST)/bin/pytest -m "not slow" -p no:cacheprovider $(PYTEST_ARGS)

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
bench: $(VENV)/.stamp-dev
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
	rm -rf $(VENV) $(TOOLS) $(LATEST) demo-data docs/_build .coverage .pytest_cache .mypy_cache .ruff_cache .hypothesis
