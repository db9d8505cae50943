"""A layer's zip, checked and extracted without trusting anything it says.

Every member is checked before a byte is written: a relative, normalised name (no '..', no
absolute or drive path, no backslash, no NUL), a regular file or a directory (no symlink, device,
FIFO or socket), not encrypted, not twice, not both a file and a directory. The entry count is
bounded before the zip's directory is even parsed, the declared sizes before anything is
decompressed, and the real sizes while decompressing (a zip bomb lies about its sizes). Files are
created relative to directory descriptors with O_NOFOLLOW | O_EXCL inside a fresh directory, so
nothing can redirect a write even if a check were missed. Standard library only.
"""

import io
import lzma
import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass

CENTRAL_HEADER = b"PK\x01\x02"  # starts every entry of a zip's central directory
CHUNK = 1 << 20
MAX_NAME_BYTES = 1024
MAX_COMPONENT_BYTES = 255
DRIVE = re.compile(r"^[A-Za-z]:")


class LayerZipError(ValueError):
    """A zip refused; `reason` is a short code (e.g. 'Symlink'), the message names the problem."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ZipLimits:
    zip_bytes: int
    unzipped_bytes: int
    max_files: int

    @classmethod
    def from_table(cls, table):
        return cls(table["ZIP_BYTES"], table["UNZIPPED_BYTES"], table["MAX_FILES"])


@dataclass(frozen=True)
class Member:
    info: zipfile.ZipInfo
    parts: tuple  # the path's components
    is_dir: bool
    executable: bool


@dataclass(frozen=True)
class Extracted:
    files: int
    directories: int
    unzipped_bytes: int


def mib(size):
    return f"{size / (1 << 20):.1f} MiB"


def human_size(size):
    """A size as a page shows it: bytes, KiB or MiB."""
    if size < 1024:
        return f"{size} B"
    return f"{size / 1024:.1f} KiB" if size < 1 << 20 else mib(size)


def _mib(size):
    return f"{mib(size)} ({size} bytes)"


def open_zip(data, limits):
    """A ZipFile over `data` (bytes), after the checks that need no parsing: size and entry count."""
    if len(data) > limits.zip_bytes:
        raise LayerZipError(
            "ZipTooLarge", f"The zip is {_mib(len(data))}; the limit is {_mib(limits.zip_bytes)}."
        )
    # Counted before zipfile parses the central directory: a 50 MB zip of empty entries would
    # otherwise become a million objects in memory. Each entry starts with this signature, so the
    # count is never below the real one.
    if data.count(CENTRAL_HEADER) > limits.max_files:
        raise LayerZipError("TooManyFiles", f"The zip has more than {limits.max_files} entries (the limit).")
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
        raise LayerZipError("NotAZip", f"The body is not a valid zip archive ({exc}).") from None


def _check_name(info):
    name = info.orig_filename
    if "\x00" in name:
        raise LayerZipError("BadName", f"The zip member {name!r} has a NUL character in its name.")
    if name.startswith("/") or DRIVE.match(name):
        raise LayerZipError("AbsolutePath", f"The zip member {name!r} has an absolute path.")
    if "\\" in name:
        raise LayerZipError("BadName", f"The zip member {name!r} has a backslash in its name.")
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        raise LayerZipError("BadName", f"A zip member's name is over {MAX_NAME_BYTES} bytes.")
    parts = name.rstrip("/").split("/")
    if ".." in parts:
        raise LayerZipError("PathTraversal", f"The zip member {name!r} climbs out of the layer ('..').")
    for part in parts:
        if part in ("", "."):
            raise LayerZipError("BadName", f"The zip member {name!r} is not a plain relative path.")
        if len(part.encode("utf-8", "surrogateescape")) > MAX_COMPONENT_BYTES:
            raise LayerZipError("BadName", f"The zip member {name!r} has a name part over 255 bytes.")
        if any(ord(c) < 32 for c in part):
            raise LayerZipError("BadName", f"The zip member {name!r} has a control character in its name.")
    return tuple(parts)


def _check_member(info):
    parts = _check_name(info)
    name = info.orig_filename
    if info.flag_bits & 0x1:
        raise LayerZipError("Encrypted", f"The zip member {name!r} is encrypted.")
    mode = info.external_attr >> 16 if info.create_system == 3 else 0
    kind = stat.S_IFMT(mode)
    if stat.S_ISLNK(mode):
        raise LayerZipError(
            "Symlink", f"The zip member {name!r} is a symbolic link; layers may not hold links."
        )
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise LayerZipError("SpecialFile", f"The zip member {name!r} is not a regular file or a directory.")
    is_dir = name.endswith("/") or kind == stat.S_IFDIR or bool(info.external_attr & 0x10)
    if is_dir and info.file_size:
        raise LayerZipError("BadName", f"The zip member {name!r} is a directory with content.")
    return Member(info, parts, is_dir, bool(mode & 0o111) and not is_dir)


def check_members(archive, limits):
    """The members of `archive`, each checked, and the total of their declared sizes checked."""
    infos = archive.infolist()
    if not infos:
        raise LayerZipError("EmptyZip", "The zip is empty.")
    members = [_check_member(info) for info in infos]
    files, directories = set(), set()
    for member in members:
        if member.parts in files or (member.parts in directories and not member.is_dir):
            raise LayerZipError("Duplicate", f"The zip holds {'/'.join(member.parts)!r} twice.")
        (directories if member.is_dir else files).add(member.parts)
        directories.update(member.parts[:i] for i in range(1, len(member.parts)))
    clash = files & directories
    if clash:
        name = "/".join(sorted(clash)[0])
        raise LayerZipError("Duplicate", f"The zip holds {name!r} both as a file and as a directory.")
    if len(files) + len(directories) > limits.max_files:
        raise LayerZipError(
            "TooManyFiles",
            f"The zip has {len(files) + len(directories)} entries; the limit is {limits.max_files}.",
        )
    declared = sum(m.info.file_size for m in members)
    if declared > limits.unzipped_bytes:
        raise LayerZipError(
            "UnzippedTooLarge",
            f"Unzipped, the layer is {_mib(declared)}; the limit is {_mib(limits.unzipped_bytes)}.",
        )
    return members


def extract(data, destination, limits):
    """Check the zip in `data` and extract it into `destination`, an empty directory that only
    this process writes to. Raises LayerZipError (the caller removes `destination`)."""
    archive = open_zip(data, limits)
    with archive:
        members = check_members(archive, limits)
        root = os.open(destination, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            return _write_all(archive, members, root, limits)
        finally:
            os.close(root)


def _write_all(archive, members, root, limits):
    written = 0
    made = set()
    files = 0
    for member in members:
        dirs = member.parts if member.is_dir else member.parts[:-1]
        parent = _make_dirs(root, dirs, made)
        try:
            if not member.is_dir:
                written = _write_file(archive, member, parent, written, limits)
                files += 1
        finally:
            if parent != root:
                os.close(parent)
    return Extracted(files=files, directories=len(made), unzipped_bytes=written)


def _make_dirs(root, parts, made):
    """An fd of root/parts..., each directory made if missing and opened without following links."""
    fd = root
    for depth, name in enumerate(parts):
        fresh = parts[: depth + 1] not in made
        if fresh:
            try:
                os.mkdir(name, 0o755, dir_fd=fd)
            except FileExistsError:
                pass
            made.add(parts[: depth + 1])
        child = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
        if fd != root:
            os.close(fd)
        if fresh:
            os.fchmod(child, 0o755)  # readable by the sandbox's uid whatever the umask
        fd = child
    return fd


def _write_file(archive, member, parent, written, limits):
    mode = 0o755 if member.executable else 0o644
    fd = os.open(member.parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode, dir_fd=parent)
    try:
        os.fchmod(fd, mode)
        for chunk in _chunks(archive, member):
            written += len(chunk)
            if written > limits.unzipped_bytes:
                raise LayerZipError(
                    "UnzippedTooLarge",
                    f"Unzipped, the layer is over {_mib(limits.unzipped_bytes)} (the limit); "
                    "the zip declared smaller sizes.",
                )
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    return written


def _chunks(archive, member):
    """The member's bytes as they decompress; a damaged member is the zip's fault, not ours."""
    try:
        with archive.open(member.info) as source:
            while chunk := source.read(CHUNK):
                yield chunk
    except (
        zipfile.BadZipFile,
        EOFError,
        NotImplementedError,
        RuntimeError,
        zlib.error,
        lzma.LZMAError,
    ) as exc:
        raise LayerZipError(
            "NotAZip", f"The zip member {'/'.join(member.parts)!r} cannot be read ({exc})."
        ) from None
