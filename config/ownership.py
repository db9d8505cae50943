"""Files made under `sudo make run` belong to the user who typed it, so a later `make run` (or
`make test`) by that user can read and write them: the secret key, the SQLite database, and the
set-up's outputs in the checkout. Without sudo (SUDO_UID unset), or as plain root, nothing changes.

`python -m config.ownership` (run by `make run` after the set-up steps) hands them back; SQLite,
running as root, gives the journal files it creates later the database file's owner.
"""

import os
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SETUP_OUTPUTS = [
    ".secret_key", ".venv", "node_modules", "static/vendor", "staticfiles", "tests/artifacts", "var",
]  # fmt: skip


def invoking_user():
    """(uid, gid) of the user behind sudo when this runs as root under sudo; else None."""
    if os.geteuid() != 0:
        return None
    try:
        uid, gid = int(os.environ["SUDO_UID"]), int(os.environ["SUDO_GID"])
    except (KeyError, ValueError):
        return None
    return (uid, gid) if uid != 0 else None


def hand_back(*paths):
    """Give `paths` (directories: everything in them, never through a symlink) to the user behind
    sudo. Returns how many entries changed owner."""
    owner = invoking_user()
    if owner is None:
        return 0
    changed = 0
    for path in map(Path, paths):
        if not path.exists() and not path.is_symlink():
            continue
        entries = [path]
        if path.is_dir() and not path.is_symlink():
            for root, dirs, files in os.walk(path):
                entries += [Path(root) / name for name in dirs + files]
        for entry in entries:
            if entry.lstat().st_uid != owner[0]:
                os.lchown(entry, *owner)
                changed += 1
    return changed


def setup_outputs(base_dir, settings):
    """What the set-up and the server write: in the checkout, plus the database and static root."""
    database = Path(settings.DATABASES["default"]["NAME"])
    journals = [Path(f"{database}-wal"), Path(f"{database}-shm")]
    return [Path(base_dir) / p for p in SETUP_OUTPUTS] + [database, *journals, Path(settings.STATIC_ROOT)]


def main():
    import django
    from django.conf import settings

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    changed = hand_back(*setup_outputs(BASE_DIR, settings))
    if changed:
        print(f"==> Gave {changed} files made under sudo back to {os.environ.get('SUDO_USER', 'the user')}")


if __name__ == "__main__":
    sys.exit(main())
