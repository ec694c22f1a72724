# The two commands in the README: `make run` and `make test`. Nothing needs installing by hand.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app wsgi
PORT   ?= 5000
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast lint format lock chromium install install-dev bench scale-test screenshots clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Installs come from the lock files: the exact versions, checked by hash, that the suite last
# passed with (`make lock` refreshes them). Stamp files re-run the install when a lock changes.
$(VENV)/.installed: requirements.lock pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q --require-hashes -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $@

$(VENV)/.installed-dev: requirements-dev.lock pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q --require-hashes -r requirements-dev.lock
	$(PY) -m pip install -q --no-deps -e .
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make run: migrate the SQLite database, load demo data, serve on http://127.0.0.1:$(PORT)
run: install
	$(FLASK) db-upgrade
	$(FLASK) seed-demo
	PORT=$(PORT) $(FLASK) serve-dev --port $(PORT)

## Debian's Chromium for the browser tests (Playwright cannot download its own here)
chromium:
	@command -v chromium >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

## make test: every test, unit, integration and browser (set DATABASE_URL for PostgreSQL)
test: install-dev chromium
	$(PY) -m pytest

## make test-fast: a quick loop: tests/ without the browser tests and the slow ones (fuzz, gunicorn, races)
test-fast: install-dev
	$(PY) -m pytest tests -m "not slow"

## make lint: ruff's checks and its formatting, as CI runs them (make format rewrites the files)
lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## make lock: refresh requirements.lock and requirements-dev.lock from pyproject.toml's ranges
## (the newest versions they allow), then run `make test` before committing them
PIP_COMPILE := $(VENV)/bin/pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links
lock: install-dev
	$(PIP_COMPILE) --upgrade -o requirements.lock pyproject.toml
	$(PIP_COMPILE) --upgrade --allow-unsafe --extra dev -o requirements-dev.lock pyproject.toml

## make bench: the performance targets of issue 7 as one table (needs wrk; PostgreSQL rows when it runs)
bench: install-dev
	@command -v wrk >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk; }
	$(PY) -m bench

## make scale-test: the production topology (2 gunicorn instances x 2 workers, 2 outbox workers) and the
## smallest one, on fresh PostgreSQL databases, under load and faults, as one table (a few minutes; loopback only)
scale-test: install-dev
	$(PY) -m bench.scale

## make screenshots: retake the README's pictures of the key screens into docs/screenshots/
screenshots: install-dev chromium
	SCREENSHOTS=1 $(PY) -m pytest -q e2e/test_screenshots.py

clean:
	rm -rf $(VENV) instance .pytest_cache
