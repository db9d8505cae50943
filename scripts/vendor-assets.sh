#!/usr/bin/env bash
# Vendors the pinned front-end packages from npm into static/vendor/ (git-ignored): htmx, its ws
# extension and uPlot as shipped, CodeMirror bundled by esbuild. Classrooms are often offline, so
# pages never load anything from a CDN.
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
touch "$out/.stamp"
