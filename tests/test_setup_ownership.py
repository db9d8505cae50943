"""What `sudo make run` leaves in the checkout belongs to the user behind sudo (config/ownership.py),
never following a symlink out of it; without sudo nothing changes owner."""

import os
from types import SimpleNamespace

import pytest

from config import ownership

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="changing owners needs root")
USER = (54321, 54322)


@pytest.fixture
def checkout(tmp_path):
    (tmp_path / "staticfiles" / "css").mkdir(parents=True)
    (tmp_path / "staticfiles" / "css" / "app.css").write_text("x")
    (tmp_path / ".secret_key").write_text("k")
    (tmp_path / ".secret_key").chmod(0o600)
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (tmp_path / "staticfiles" / "link").symlink_to(outside)
    return tmp_path, outside


def test_under_sudo_files_and_directories_go_to_the_invoking_user(checkout, monkeypatch):
    root, outside = checkout
    monkeypatch.setenv("SUDO_UID", str(USER[0]))
    monkeypatch.setenv("SUDO_GID", str(USER[1]))
    changed = ownership.hand_back(root / ".secret_key", root / "staticfiles", root / "db.sqlite3")
    assert changed == 5  # the key, the directory, css/, app.css and the link itself
    for path in (".secret_key", "staticfiles", "staticfiles/css/app.css"):
        stat = (root / path).stat()
        assert (stat.st_uid, stat.st_gid) == USER, path
    assert (root / ".secret_key").stat().st_mode & 0o777 == 0o600, "the key became readable by others"
    assert os.lstat(root / "staticfiles" / "link").st_uid == USER[0]
    assert outside.stat().st_uid == 0, "a symlink was followed out of the checkout"
    assert ownership.hand_back(root / "staticfiles") == 0, "a second pass changed something"


def test_without_sudo_or_for_root_nothing_changes(checkout, monkeypatch):
    root, _ = checkout
    monkeypatch.delenv("SUDO_UID", raising=False)
    assert ownership.hand_back(root / ".secret_key") == 0
    monkeypatch.setenv("SUDO_UID", "0")
    monkeypatch.setenv("SUDO_GID", "0")
    assert ownership.hand_back(root / ".secret_key") == 0
    assert (root / ".secret_key").stat().st_uid == 0


def test_make_run_hands_back_the_database_its_journals_and_the_set_up_outputs(tmp_path):
    settings = SimpleNamespace(
        DATABASES={"default": {"NAME": str(tmp_path / "db.sqlite3")}}, STATIC_ROOT=tmp_path / "collected"
    )
    paths = {str(p) for p in ownership.setup_outputs(tmp_path / "checkout", settings)}
    for name in ("db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm", "collected"):
        assert str(tmp_path / name) in paths
    for name in (".secret_key", ".venv", "static/vendor", "staticfiles"):
        assert str(tmp_path / "checkout" / name) in paths
