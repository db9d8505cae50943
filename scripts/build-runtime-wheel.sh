#!/usr/bin/env bash
# Builds the runtime wheel that the browser runs in Pyodide: sandbox/runtime/ (lambda_core,
# bootstrap, browser_bootstrap, the coldstart helpers) plus the engine's pure rules package
# sandbox/engine/rules/ as `coldstart_rules` (used by the JS cross-check tests). Output: static/vendor/pyodide/coldstart_runtime-0.1.0-py3-none-any.whl
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
out=static/vendor/pyodide
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp scripts/runtime-wheel/pyproject.toml "$stage/"
cp sandbox/runtime/lambda_core.py sandbox/runtime/bootstrap.py sandbox/runtime/browser_bootstrap.py "$stage/"
mkdir -p "$stage/coldstart" "$stage/coldstart_rules"
cp sandbox/runtime/coldstart/*.py "$stage/coldstart/"
cp sandbox/engine/rules/*.py "$stage/coldstart_rules/"
mkdir -p "$out"
rm -f "$out"/coldstart_runtime-*.whl
"$PY" -m pip wheel --disable-pip-version-check -q --no-deps -w "$out" "$stage"
ls "$out"/coldstart_runtime-0.1.0-py3-none-any.whl >/dev/null
