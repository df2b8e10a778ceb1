# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

# The suite runs against real services (see .ci/services); override to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/hub
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# The suite waits on servers and workers more than on the CPU: three processes on two cores.
TEST_PROCESSES ?= 3
# The suite and the checks run on the sandboxes (pytest also sets HUB_SANDBOX in tests/environment.py).
TEST_ENV := DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) DB_CONN_MAX_AGE=0 HUB_SANDBOX=1
# The modules that also run on the embedded SQLite database (make test runs them twice).
SQLITE_TESTS := tests/exceptions/test_bad_input.py tests/exceptions/test_triage.py tests/exceptions/test_api.py tests/exceptions/test_undo.py tests/exceptions/test_groups.py tests/exceptions/test_snooze.py tests/browser/test_triage_work.py
# mypy's Django plugin loads the settings, which refuse to start in production without real connectors.
MYPY := HUB_SANDBOX=1 $(PY) -m mypy

.PHONY: install demo test bench lint services migrate clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# Embedded default: SQLite + filesystem broker, nothing else to install. Set DATABASE_URL and
# REDIS_URL to run the demo on PostgreSQL and Redis instead. The demo runs on the sandboxes.
demo: export HUB_SANDBOX = 1
demo: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py demo

services:
	bash .ci/services

test: install services
	$(VENV)/bin/ruff check .
	$(MYPY)
	$(TEST_ENV) $(PY) manage.py makemigrations --check --dry-run
	# Three processes, each with its own test database and Redis database (tests/environment.py);
	# a module's tests stay together (loadfile): many share servers started once per module.
	$(TEST_ENV) $(PY) -m pytest -q -m "not bench" -n $(TEST_PROCESSES) --dist loadfile
	# The triage list and its filters once more on SQLite, the embedded demo's database: a lookup
	# only PostgreSQL knows is a 500 there (no DATABASE_URL / REDIS_URL: the embedded defaults).
	env -u DATABASE_URL -u REDIS_URL HUB_SANDBOX=1 $(PY) -m pytest -q -m "not bench" $(SQLITE_TESTS)

bench: install services
	$(TEST_ENV) $(PY) -m pytest -q -s -m bench tests/bench

lint: install
	$(VENV)/bin/ruff check .
	$(MYPY)

clean:
	rm -rf var .pytest_cache
