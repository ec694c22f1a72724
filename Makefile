# The two commands in the README: `make run` and `make test`. Nothing needs installing by hand.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app wsgi
PORT   ?= 5000
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-fast chromium install install-dev bench scale-test screenshots clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Stamp files re-run the install when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[dev]'
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

## the suite without the browser tests
test-fast: install-dev
	$(PY) -m pytest tests

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
