# The single entry point: `make run` serves Coldstart, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export DJANGO_SETTINGS_MODULE := config.settings

.PHONY: run test test-js bench lint assets system-deps-run system-deps-test migrate

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

VENDOR := static/vendor/.stamp
WHEEL := static/vendor/pyodide/coldstart_runtime-0.1.0-py3-none-any.whl
RUNTIME_SOURCES := $(wildcard sandbox/runtime/*.py sandbox/runtime/coldstart/*.py sandbox/engine/rules/*.py)
# npm packages only: needs the registry, so it runs when package*.json change, not on a .py edit.
$(VENDOR): package.json package-lock.json frontend/editor.js scripts/vendor-assets.sh
	scripts/vendor-assets.sh

# The runtime wheel for the browser mode: local, rebuilt when the runtime or the rules change.
$(WHEEL): $(VENDOR) scripts/build-runtime-wheel.sh scripts/runtime-wheel/pyproject.toml $(RUNTIME_SOURCES) | $(VENV)/.runtime
	scripts/build-runtime-wheel.sh

ASSETS := $(VENDOR) $(WHEEL)
assets: $(ASSETS)

system-deps-run:
	scripts/system-deps.sh run

system-deps-test:
	scripts/system-deps.sh test

migrate: $(VENV)/.runtime
	$(PY) manage.py migrate --noinput -v 0

run: system-deps-run $(VENV)/.runtime $(ASSETS) migrate
	-$(PY) manage.py sync_lessons
	$(PY) -m config.serve -b 127.0.0.1 -p $(PORT) config.asgi:application

test: system-deps-test $(VENV)/.dev $(ASSETS)
	$(VENV)/bin/ruff check .
	node --test tests/js/
	$(PY) -m pytest
	$(PY) manage.py check_lessons

bench: system-deps-run $(VENV)/.dev
	$(PY) bench/engine.py
	$(PY) bench/pool.py
	$(PY) bench/playground.py

test-js: $(ASSETS)
	node --test tests/js/

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
