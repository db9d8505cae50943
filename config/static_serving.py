"""Static files served by servestatic, an ASGI-native server of precompressed files, inside
Django's async middleware chain (config/static_files.py says which files)."""

import os

from servestatic.compress import Compressor
from servestatic.middleware import ServeStaticMiddleware
from servestatic.storage import CompressedManifestStaticFilesStorage

from config.static_files import PYODIDE_DIR


class IncrementalCompressor(Compressor):
    """Keeps the compressed copies of a file collectstatic left untouched (servestatic gives them
    the file's mtime): brotli on Pyodide's 10 MB takes a minute, so it is done once, not each run."""

    def compress(self, path):
        path = os.fspath(path)
        mtime = os.stat(path).st_mtime
        done = [path + suffix for suffix in (".br", ".gz") if os.path.exists(path + suffix)]
        if done and all(os.stat(copy).st_mtime == mtime for copy in done):
            return done
        return super().compress(path)


class HashedStaticStorage(CompressedManifestStaticFilesStorage):
    """Hashed names and compressed copies. Only CSS references are rewritten: the vendored
    bundles name source maps that are not shipped, and a missing file must not stop collectstatic.
    The versioned Pyodide directory keeps its names (Pyodide asks for them), so its 13 MB are
    neither copied again under hashed names nor compressed twice."""

    patterns = (
        ("*.css", tuple(rule for rule in dict(CompressedManifestStaticFilesStorage.patterns)["*.css"]
                        if "sourceMappingURL" not in str(rule))),
    )

    def create_compressor(self, **options):
        return IncrementalCompressor(**options)

    def hashed_name(self, name, content=None, filename=None):
        if name.startswith(PYODIDE_DIR):
            return name
        return super().hashed_name(name, content, filename)


class StaticFilesMiddleware(ServeStaticMiddleware):
    """servestatic, with the versioned Pyodide directory cached like a hashed file."""

    async def __call__(self, request):
        # Every static file is under the prefix (no SERVESTATIC_ROOT): other requests skip the
        # lookup, which with autorefresh (STATIC_FROM=source) is a thread hop and a failed
        # import of sniffio per request.
        if not request.path_info.startswith(self.static_prefix):
            return await self.get_response(request)
        return await super().__call__(request)

    def immutable_file_test(self, path, url):
        return url.startswith(self.static_prefix + PYODIDE_DIR) or super().immutable_file_test(path, url)
