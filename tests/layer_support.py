"""Layer zips for the tests, built in memory, and a layer store of the test's own."""

import io
import sys
import zipfile

SITE = f"python/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages"


def make_zip(*members):
    """A zip of (name, content) pairs; a name may be a ZipInfo (its mode, its flags)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return buffer.getvalue()


def layer_zip(files):
    return make_zip(*files.items())
