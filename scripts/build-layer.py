"""Build a bundled layer's zip from pinned wheels for this interpreter (the server's Python).

    python scripts/build-layer.py scripts/layers/NAME.txt var/bundled-layers/NAME.zip

Each `package==version` line of the pin file is downloaded as a wheel (binary only, no
dependencies: every package the layer needs is pinned in the file), and its files are laid
under python/ of the zip, where Lambda's Python runtime finds them (/opt/python). A wheel's
.data/purelib and .data/platlib go there too, its scripts to bin/ (/opt/bin, on PATH). Next to
the zip, NAME.txt describes it (the layer version's description).
"""

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed dates: the same wheels give the same zip, byte for byte


def pins(path):
    lines = [line.split("#")[0].strip() for line in Path(path).read_text().splitlines()]
    found = [line for line in lines if line]
    for line in found:
        if "==" not in line:
            sys.exit(f"{path}: {line!r} is not pinned exactly (package==version)")
    return found


def download(requirements, folder):
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q",
         "--only-binary=:all:", "--no-deps", "-d", str(folder), *requirements],
        check=True,
    )  # fmt: skip
    wheels = sorted(Path(folder).glob("*.whl"))
    if len(wheels) != len(requirements):
        sys.exit(f"expected {len(requirements)} wheels, got {[w.name for w in wheels]}")
    return wheels


def layer_name(member):
    """Where a wheel's member goes in the layer, or None to leave it out."""
    parts = member.split("/")
    if parts[0].endswith(".data") and len(parts) > 2:
        if parts[1] in ("purelib", "platlib"):
            return "python/" + "/".join(parts[2:])
        if parts[1] == "scripts":
            return "bin/" + "/".join(parts[2:])
        return None  # headers, data: nothing a handler imports
    return "python/" + member


def build(wheels, output):
    tmp = output.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as layer:
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as source:
                for info in source.infolist():
                    name = layer_name(info.filename)
                    if name is None or info.is_dir():
                        continue
                    target = zipfile.ZipInfo(name, EPOCH)
                    target.external_attr = info.external_attr or (0o644 << 16)
                    target.create_system = 3
                    target.compress_type = zipfile.ZIP_DEFLATED
                    layer.writestr(target, source.read(info))
    tmp.replace(output)


def main(pin_file, output):
    pin_file, output = Path(pin_file), Path(output)
    requirements = pins(pin_file)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        wheels = download(requirements, folder)
        build(wheels, output)
        tags = ", ".join(w.name.removesuffix(".whl").split("-", 2)[2] for w in wheels)
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    description = f"{', '.join(requirements)} for Python {python} ({tags})"
    output.with_suffix(".txt").write_text(description[:256] + "\n")
    print(f"    {output}: {output.stat().st_size / (1 << 20):.1f} MiB, {description}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
