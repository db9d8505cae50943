"""Which static files are served (settings read this; config/static_serving.py serves them).

"collected" (what `make run` does): `collectstatic` writes hashed copies (css/coldstart.3f2a….css)
with gzip and brotli versions into STATIC_ROOT; hashed names are cached for a year, immutable.
Pyodide loads its files by fixed names from one directory, so that directory carries the Pyodide
version instead (vendor/pyodide/<version>/) and is cached as long.
"source" (tests, development): the files in static/ as they are, cached for a minute.
"auto" picks "collected" only when STATIC_ROOT holds a manifest newer than every source file,
so an edit made after the last collectstatic is never hidden behind a stale copy.
"""

import json
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PYODIDE_VERSION = json.loads((BASE_DIR / "package.json").read_text())["dependencies"]["pyodide"]
PYODIDE_DIR = f"vendor/pyodide/{PYODIDE_VERSION}/"  # under STATIC_URL; scripts/vendor-assets.sh
MANIFEST = "staticfiles.json"


def choose_mode(requested, static_root, source_dirs):
    if requested != "auto":
        return requested
    manifest = Path(static_root) / MANIFEST
    if not manifest.exists():
        return "source"
    collected_at = manifest.stat().st_mtime
    for directory in source_dirs:
        for path in Path(directory).rglob("*"):
            if path.is_file() and path.stat().st_mtime > collected_at:
                return "source"
    return "collected"
