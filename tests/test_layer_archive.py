"""Layer zips (sandbox/layers/archive.py, store.py): every bad zip is refused with a reason that
names the problem and leaves nothing on disk; a good one is extracted with readable modes, and
several layers merge into one /opt with later layers on top."""

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest

from sandbox.layers.archive import LayerZipError, ZipLimits, extract
from sandbox.layers.store import LayerStore
from tests.layer_support import make_zip

LIMITS = ZipLimits(zip_bytes=1 << 20, unzipped_bytes=4 << 20, max_files=50)


def unix_member(name, mode, content=b""):
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info, content


def refused(data, tmp_path, limits=LIMITS):
    """The reason `data` is refused by the store, after checking it left nothing behind."""
    store = LayerStore(tmp_path / "layers", limits)
    with pytest.raises(LayerZipError) as caught:
        store.extract("sha", data)
    leftovers = [p for p in (tmp_path / "layers").rglob("*") if p.name != "tmp"]
    assert leftovers == [], leftovers
    assert str(caught.value)  # a message for the learner
    return caught.value.reason


# ----------------------------------------------------------------------------- bad zips


def test_bytes_that_are_not_a_zip_are_refused(tmp_path):
    assert refused(b"this is not a zip at all", tmp_path) == "NotAZip"
    good = make_zip(("python/a.py", "x = 1"))
    assert refused(good[: len(good) // 2], tmp_path) == "NotAZip"  # truncated
    assert refused(b"", tmp_path) == "NotAZip"


def test_an_empty_zip_is_refused(tmp_path):
    assert refused(make_zip(), tmp_path) == "EmptyZip"


@pytest.mark.parametrize("name", ["../evil.py", "python/../../evil.py", "python/..", "a/../../b"])
def test_path_traversal_in_member_names_is_refused(tmp_path, name):
    assert refused(make_zip(("python/ok.py", "x"), (name, "boom")), tmp_path) == "PathTraversal"


@pytest.mark.parametrize("name", ["/etc/cron.d/evil", "/python/a.py", "C:/python/a.py", "c:evil"])
def test_absolute_member_names_are_refused(tmp_path, name):
    assert refused(make_zip((name, "boom")), tmp_path) == "AbsolutePath"


@pytest.mark.parametrize(
    "name", ["python\\..\\..\\evil.py", "python//a.py", "./python/a.py", "python/\x01a.py"]
)
def test_odd_member_names_are_refused(tmp_path, name):
    assert refused(make_zip((name, "boom")), tmp_path) == "BadName"


def test_a_symlink_member_is_refused(tmp_path):
    link = unix_member("python/passwd", stat.S_IFLNK | 0o777, b"/etc/passwd")
    assert refused(make_zip(("python/ok.py", "x"), link), tmp_path) == "Symlink"
    # A link to a directory followed by a file "through" it: refused at the link already.
    through = make_zip(unix_member("python/up", stat.S_IFLNK | 0o777, b".."), ("python/up/x.py", "x"))
    assert refused(through, tmp_path) == "Symlink"


@pytest.mark.parametrize("kind", [stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK])
def test_devices_fifos_and_sockets_are_refused(tmp_path, kind):
    assert refused(make_zip(unix_member("python/dev", kind | 0o666)), tmp_path) == "SpecialFile"


def test_a_name_twice_or_as_file_and_directory_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, pytest.warns(UserWarning, match="Duplicate name"):
        archive.writestr("python/a.py", "first")
        archive.writestr("python/a.py", "second")
    assert refused(buffer.getvalue(), tmp_path) == "Duplicate"
    assert refused(make_zip(("python/a", "file"), ("python/a/b.py", "x")), tmp_path) == "Duplicate"


def test_an_encrypted_member_is_refused(tmp_path):
    data = bytearray(make_zip(("python/a.py", "x = 1")))
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 0x1  # general purpose flag bit 0: encrypted
    data[data.index(b"PK\x03\x04") + 6] |= 0x1
    assert refused(bytes(data), tmp_path) == "Encrypted"


def test_a_zip_over_the_zipped_limit_is_refused(tmp_path):
    data = make_zip(("python/big.bin", os.urandom(200_000)))
    assert refused(data, tmp_path, ZipLimits(100_000, 10 << 20, 50)) == "ZipTooLarge"


def test_a_zip_bomb_is_refused_by_its_unzipped_size(tmp_path):
    bomb = make_zip(("python/zeros.bin", bytes(20 << 20)))  # 20 MiB of zeros in ~20 KiB
    assert len(bomb) < LIMITS.zip_bytes
    assert refused(bomb, tmp_path) == "UnzippedTooLarge"
    # Many small members that add up past the limit.
    parts = make_zip(*[(f"python/part{i}.bin", bytes(1 << 20)) for i in range(5)])
    assert refused(parts, tmp_path) == "UnzippedTooLarge"


def test_a_zip_bomb_that_understates_its_sizes_is_refused(tmp_path):
    """Declared sizes patched down to 100 bytes: the real bytes are never trusted."""
    data = bytearray(make_zip(("python/zeros.bin", bytes(20 << 20))))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.index(signature) + offset
        data[at : at + 4] = (100).to_bytes(4, "little")
    assert refused(bytes(data), tmp_path) in ("NotAZip", "UnzippedTooLarge")


def test_too_many_files_are_refused(tmp_path):
    many = make_zip(*[(f"python/m{i}.py", "") for i in range(LIMITS.max_files + 1)])
    assert refused(many, tmp_path) == "TooManyFiles"
    # Counted with the directories the names imply.
    nested = make_zip(*[(f"python/d{i}/m.py", "") for i in range(30)])
    assert refused(nested, tmp_path) == "TooManyFiles"


# ----------------------------------------------------------------------------- good zips


def test_a_good_zip_is_extracted_with_modes_the_sandbox_can_read(tmp_path):
    os.umask(0o077)  # a restrictive umask must not make the layer unreadable to the sandbox's uid
    try:
        data = make_zip(
            ("python/pkg/__init__.py", "VALUE = 42\n"),
            unix_member("bin/tool", stat.S_IFREG | 0o700, b"#!/bin/sh\necho hi\n"),
            ("python/empty/", b""),
        )
        store = LayerStore(tmp_path / "layers", LIMITS)
        extracted = store.extract("abc", data)
    finally:
        os.umask(0o022)
    root = store.content_dir("abc")
    assert (root / "python/pkg/__init__.py").read_text() == "VALUE = 42\n"
    assert extracted.files == 2
    assert extracted.unzipped_bytes == len("VALUE = 42\n") + len("#!/bin/sh\necho hi\n")
    assert stat.S_IMODE((root / "python/pkg/__init__.py").stat().st_mode) == 0o644
    assert stat.S_IMODE((root / "bin/tool").stat().st_mode) == 0o755
    for folder in (root, root / "python", root / "python/pkg", root / "python/empty", root / "bin"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755, folder
    assert list((tmp_path / "layers" / "tmp").iterdir()) == []


def test_extract_never_writes_through_a_link_in_its_destination(tmp_path):
    """Belt and braces: even a link planted in the destination is not followed."""
    outside = tmp_path / "outside"
    outside.mkdir()
    destination = tmp_path / "dest"
    destination.mkdir()
    (destination / "python").symlink_to(outside)
    with pytest.raises(OSError):
        extract(make_zip(("python/a.py", "x")), destination, LIMITS)
    assert list(outside.iterdir()) == []


def test_layers_merge_in_order_later_ones_on_top(tmp_path):
    store = LayerStore(tmp_path / "layers", LIMITS)
    store.extract(
        "one", make_zip(("python/shared.py", "ONE"), ("python/only_one.py", "1"), ("python/x", "file"))
    )
    store.extract("two", make_zip(("python/shared.py", "TWO"), ("python/x/inner.py", "dir now")))
    assert store.opt_dir([]) is None
    assert store.opt_dir(["one"]) == store.content_dir("one")
    merged = store.opt_dir(["one", "two"])
    assert (merged / "python/shared.py").read_text() == "TWO"
    assert (merged / "python/only_one.py").read_text() == "1"
    assert (merged / "python/x/inner.py").read_text() == "dir now"
    other = store.opt_dir(["two", "one"])
    assert other != merged
    assert (other / "python/shared.py").read_text() == "ONE"
    assert (other / "python/x").read_text() == "file"
    assert store.opt_dir(["one", "two"]) == merged  # built once, then found
    # The content directories are untouched by the merges.
    assert (store.content_dir("one") / "python/shared.py").read_text() == "ONE"
    assert (store.content_dir("two") / "python/x").is_dir()


def test_a_lost_content_directory_is_extracted_again_from_the_zip(tmp_path):
    store = LayerStore(tmp_path / "layers", LIMITS)
    data = make_zip(("python/a.py", "A = 1"))
    calls = []
    path = store.ensure_extracted("k", lambda: calls.append(1) or data)
    assert Path(path, "python/a.py").read_text() == "A = 1"
    store.ensure_extracted("k", lambda: calls.append(1) or data)
    assert calls == [1]  # the second time it was there already
