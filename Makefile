# The single entry point: `make run` serves Coldstart, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export DJANGO_SETTINGS_MODULE := config.settings

.PHONY: run test bench lint assets system-deps-run system-deps-test migrate

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

ASSETS := static/vendor/.stamp
$(ASSETS): package.json package-lock.json frontend/editor.js scripts/vendor-assets.sh
	scripts/vendor-assets.sh

assets: $(ASSETS)

system-deps-run:
	scripts/system-deps.sh run

system-deps-test:
	scripts/system-deps.sh test

migrate: $(VENV)/.runtime
	$(PY) manage.py migrate --noinput -v 0

run: system-deps-run $(VENV)/.runtime $(ASSETS) migrate
	$(VENV)/bin/daphne -b 127.0.0.1 -p $(PORT) config.asgi:application

test: system-deps-test $(VENV)/.dev $(ASSETS)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

bench: system-deps-run $(VENV)/.dev
	$(PY) bench/engine.py

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
