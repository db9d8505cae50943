# The single entry point: `make run` serves Coldstart, `make test` runs every test. Each set-up
# step prints one line (==> ...); the first run takes a few minutes, later ones seconds.
# Python >= 3.11: python3, or the newest python3.1x found (Ubuntu 22.04's python3 is 3.10).
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# BIND=0.0.0.0 serves a classroom: every interface, this machine's addresses allowed, links and
# QR codes showing the address students reach (README, "Running a class").
BIND ?= 127.0.0.1
# As root, the web process runs as WEB_USER (created if missing) and writes only var/data, its
# own; the sandbox launcher alone keeps root (config/privileges.py). WORKERS=N also runs N
# `runworker sandbox` processes as that user (with REDIS_URL).
WEB_USER ?= coldstart
WORKERS ?= 0
ifeq ($(shell id -u),0)
run migrate data-dir: export COLDSTART_DATA_DIR ?= $(CURDIR)/var/data
SERVE_AS := --web-user $(WEB_USER) --workers $(WORKERS)
endif
export DJANGO_SETTINGS_MODULE := config.settings
# Node.js from PyPI lands in .venv/bin when the system's is older than 20 (scripts/ensure-node.sh).
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
NODE_TESTS := tests/js/*.test.mjs

.PHONY: run test test-js bench lint assets layers collectstatic system-deps-run system-deps-test migrate data-dir

$(VENV)/.runtime: requirements.txt
	@test -n "$(PYTHON)" || { echo "==> Python 3.11+ not found: run 'sudo scripts/system-deps.sh run'"; exit 1; }
	@echo "==> Creating the virtualenv $(VENV) with $(PYTHON) ($$($(PYTHON) --version))"
	@$(PYTHON) -m venv $(VENV)
	@echo "==> Installing the pinned Python packages (requirements.txt; a minute or two the first time)"
	@$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements.txt
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	@echo "==> Installing the test tools (requirements-dev.txt)"
	@$(VENV)/bin/pip install --disable-pip-version-check -q -r requirements-dev.txt
	@touch $@

$(VENV)/.node: requirements-node.txt scripts/ensure-node.sh | $(VENV)/.runtime
	@scripts/ensure-node.sh
	@touch $@

VENDOR := static/vendor/.stamp
WHEEL := static/vendor/pyodide/coldstart_runtime-0.1.0-py3-none-any.whl
RUNTIME_SOURCES := $(wildcard sandbox/runtime/*.py sandbox/runtime/coldstart/*.py sandbox/engine/rules/*.py)
# npm packages only: needs the registry, so it runs when package*.json change, not on a .py edit.
$(VENDOR): package.json package-lock.json frontend/editor.js scripts/vendor-assets.sh | $(VENV)/.node
	@echo "==> Front-end packages from npm (npm ci) into static/vendor"
	@scripts/vendor-assets.sh

# The runtime wheel for the browser mode: local, rebuilt when the runtime or the rules change.
$(WHEEL): $(VENDOR) scripts/build-runtime-wheel.sh scripts/runtime-wheel/pyproject.toml $(RUNTIME_SOURCES) | $(VENV)/.runtime
	@echo "==> Building the browser runtime wheel (sandbox/runtime, the engine's rules)"
	@scripts/build-runtime-wheel.sh

ASSETS := $(VENDOR) $(WHEEL)
assets: $(ASSETS)

# The bundled layers (public layers every learner can attach): each from the wheels pinned in
# scripts/layers/NAME.txt, for the virtualenv's Python; rebuilt when the pins or the venv change.
BUNDLED_LAYERS := $(patsubst scripts/layers/%.txt,var/bundled-layers/%.zip,$(wildcard scripts/layers/*.txt))
var/bundled-layers/%.zip: scripts/layers/%.txt scripts/build-layer.py $(VENV)/.runtime
	@echo "==> Building the bundled layer $* from pinned wheels ($<)"
	@$(PY) scripts/build-layer.py $< $@
layers: $(BUNDLED_LAYERS)

# Hashed names and gzip/brotli copies in staticfiles/ (config/static_files.py), when static/ changed.
COLLECTED := staticfiles/staticfiles.json
$(COLLECTED): $(ASSETS) $(shell find static -type f -not -path 'static/vendor/*' 2>/dev/null) | $(VENV)/.runtime
	@echo "==> Collecting static files (hashed names, gzip and brotli; about a minute the first time)"
	@STATIC_FROM=collected $(PY) manage.py collectstatic --noinput -v 0
collectstatic: $(COLLECTED)

system-deps-run:
	@scripts/system-deps.sh run

system-deps-test:
	@scripts/system-deps.sh test

data-dir: $(VENV)/.runtime
	@$(PY) -m config.privileges data-dir

migrate: $(VENV)/.runtime data-dir
	@echo "==> Migrating the database"
	@$(PY) manage.py migrate --noinput -v 0

run: system-deps-run data-dir $(VENV)/.runtime $(ASSETS) $(BUNDLED_LAYERS) $(COLLECTED) migrate
	@echo "==> Loading the lessons"
	@-$(PY) manage.py sync_lessons
	@$(PY) manage.py sync_layers
	@$(PY) -m config.ownership
	@STATIC_FROM=$${STATIC_FROM:-collected} BIND=$(BIND) PORT=$(PORT) $(PY) manage.py serve $(SERVE_AS)

test: system-deps-test $(VENV)/.dev $(ASSETS) $(BUNDLED_LAYERS)
	$(VENV)/bin/ruff check .
	node --test $(NODE_TESTS)
	$(PY) -m pytest
	CLASSROOM_SPEED=true $(PY) manage.py check_lessons --generated

bench: system-deps-run $(VENV)/.dev
	$(PY) bench/engine.py
	$(PY) bench/pool.py
	$(PY) bench/playground.py
	$(PY) bench/classroom.py

test-js: $(ASSETS)
	node --test $(NODE_TESTS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
