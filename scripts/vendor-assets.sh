#!/usr/bin/env bash
# Vendors the pinned front-end packages from npm into static/vendor/ (git-ignored): htmx, its ws
# extension, uPlot and Pyodide's core files as shipped, CodeMirror bundled by esbuild.
# Classrooms are often offline, so pages never load anything from a CDN. The runtime wheel is
# built separately (scripts/build-runtime-wheel.sh), so editing Python never re-runs npm.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --loglevel=error
out=static/vendor
mkdir -p "$out"
cp node_modules/htmx.org/dist/htmx.min.js "$out/htmx.min.js"
cp node_modules/htmx-ext-ws/dist/ws.min.js "$out/htmx-ext-ws.min.js" 2>/dev/null \
  || cp node_modules/htmx-ext-ws/ws.js "$out/htmx-ext-ws.min.js"
cp node_modules/uplot/dist/uPlot.iife.min.js "$out/uPlot.iife.min.js"
cp node_modules/uplot/dist/uPlot.min.css "$out/uPlot.min.css"
node_modules/.bin/esbuild frontend/editor.js --bundle --minify --format=iife \
  --outfile="$out/codemirror.bundle.js" --log-level=warning
# Pyodide (the browser runtime of issue 7): core runtime and standard library only, no packages,
# in a directory named by its version: Pyodide loads these files by fixed names, so the version in
# the path is what lets them be cached for a year (config/static_files.py).
version=$(node -p 'require("./node_modules/pyodide/package.json").version')
rm -rf "$out/pyodide"/[0-9]*/ "$out/pyodide"/pyodide* "$out/pyodide/python_stdlib.zip"  # older layouts
mkdir -p "$out/pyodide/$version"
for f in pyodide.js pyodide.mjs pyodide.asm.js pyodide.asm.wasm python_stdlib.zip pyodide-lock.json; do
  cp "node_modules/pyodide/$f" "$out/pyodide/$version/$f"
done
# Swagger UI for /api/docs (the API's interactive reference): its bundle and stylesheet only.
mkdir -p "$out/swagger-ui"
for f in swagger-ui-bundle.js swagger-ui.css; do
  cp "node_modules/swagger-ui-dist/$f" "$out/swagger-ui/$f"
done
touch "$out/.stamp"
