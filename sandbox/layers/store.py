"""Where layers live on the host, under LAYERS_ROOT:

  content/<sha256 of the zip>/   one layer version, extracted once (sandbox/layers/archive.py)
  opt/<digest of the list>/      the /opt of an ordered list of layers: each extracted in turn,
                                 later ones overlaying earlier ones, as Lambda extracts them into
                                 /opt; files are hard links into content/, so a merge is cheap
  tmp/                           work in progress, renamed into place when complete

Everything here is made by this module from checked zips (regular files and directories only),
so walking it never follows a link a learner made. Directories are immutable once renamed into
place: two processes building the same one race harmlessly (the loser drops its copy).
"""

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from sandbox.layers.archive import extract


class LayerStore:
    def __init__(self, root, limits):
        self.root = Path(root)
        self.limits = limits

    def content_dir(self, sha256):
        return self.root / "content" / sha256

    def _workspace(self):
        tmp = self.root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=tmp))

    def _install(self, work, final):
        """Rename the finished `work` directory to `final`, unless another process got there first."""
        final.parent.mkdir(parents=True, exist_ok=True)
        work.chmod(0o755)
        try:
            work.rename(final)
        except OSError:
            if not final.is_dir():
                raise
            shutil.rmtree(work)

    def extract(self, sha256, data):
        """Check and extract one zip (raises LayerZipError, leaving nothing behind); returns the
        archive's Extracted figures. The directory is named by the zip's SHA-256."""
        work = self._workspace()
        try:
            extracted = extract(data, work, self.limits)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        final = self.content_dir(sha256)
        if final.is_dir():
            shutil.rmtree(work)
        else:
            self._install(work, final)
        return extracted

    def ensure_extracted(self, sha256, load_zip):
        """The content directory of one layer version, extracted from `load_zip()` if missing
        (another host's upload, or a LAYERS_ROOT that was cleared)."""
        final = self.content_dir(sha256)
        if not final.is_dir():
            self.extract(sha256, load_zip())
        return final

    def opt_dir(self, sha256s):
        """The host directory to mount at /opt for layers in this order (each already extracted),
        or None without layers. One layer is its own content directory; several are merged once."""
        if not sha256s:
            return None
        if len(sha256s) == 1:
            return self.content_dir(sha256s[0])
        digest = hashlib.sha256("\n".join(sha256s).encode()).hexdigest()
        final = self.root / "opt" / digest
        if not final.is_dir():
            work = self._workspace()
            try:
                for sha256 in sha256s:
                    _overlay(self.content_dir(sha256), work)
                self._install(work, final)
            except BaseException:
                shutil.rmtree(work, ignore_errors=True)
                raise
        return final


def _overlay(source, target):
    """Lay `source` over `target`: its files replace what is there (a file or a whole directory
    of that name), its directories merge with those there."""
    for folder, dirs, files in os.walk(source):
        relative = Path(folder).relative_to(source)
        here = target / relative
        for name in dirs:
            path = here / name
            if path.is_symlink() or (path.exists() and not path.is_dir()):
                path.unlink()
            if not path.exists():
                path.mkdir()
                path.chmod(0o755)
        for name in files:
            path = here / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
            entry = Path(folder) / name
            if not entry.is_file() or entry.is_symlink():
                raise ValueError(f"{entry} is not a regular file")  # never made by extract()
            os.link(entry, path)
