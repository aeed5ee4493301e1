"""The one recipe for a shopdb wheelhouse: shopdb's own wheel built from a source tree, plus binary wheels of
every dependency for a target Python, architecture and glibc, so hosts (or an image build) install offline.

Used by the app role on the controller (tasks/install.yml), by scripts/docker-smoke.sh for the container
image, and by tests/fleet/releases.py for the update tests' fixture releases. Standard library only: it runs
with the controller's Ansible Python.

  wheelhouse.py build --dest DIR --src SRC [--release VERSION]
                      (--python 3.11 --arch x86_64 --glibc-minor 36 | --deps-from WHEELHOUSE)
  wheelhouse.py key WHEEL

`build` reuses DIR when it is complete (`.complete`) and its `.key` is the content key of the wheel built
from SRC now: changed code under an unchanged version gets a new wheelhouse, unchanged code reuses it. With
--release, a source of another version reuses a complete DIR and otherwise fails. --deps-from copies the
dependency wheels of an existing wheelhouse instead of downloading them (a fixture release with the same
dependencies). A new wheelhouse is built beside DIR and swapped in by renames, so a reader of the old one
keeps its open files. The first word of the last line printed is `built` or `reused`.

`key` prints the content key of a wheel: a hash of the files it installs (each file's name and sha256, from
the wheel's RECORD). Two builds of the same code get the same key whatever their timestamps, build directory
or kind of source (git checkout or unpacked tarball); any change to the code, data or metadata changes it.
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path


def content_key(wheel) -> str:
    with zipfile.ZipFile(wheel) as whl:
        (record,) = [name for name in whl.namelist() if name.endswith(".dist-info/RECORD")]
        # RECORD lists itself without a hash; the order of its lines depends on the build's directory walk.
        lines = sorted(line for line in whl.read(record).decode().splitlines()
                       if line and not line.startswith(record + ","))
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:20]


def platforms(arch: str, glibc_minor: int) -> list[str]:
    """pip's --platform tags a host of this glibc accepts: the manylinux aliases and each 2_N up to its own."""
    minors = [5, 12, *range(17, glibc_minor + 1)]
    return [f"manylinux_2_{n}_{arch}" for n in minors] + [f"manylinux2014_{arch}"]


def pip(*args):
    subprocess.run([sys.executable, "-m", "pip", *args, "-q", "--disable-pip-version-check"], check=True)


def build(dest: Path, src: Path, python: str, arch: str, glibc_minor: int, release=None, deps_from=None) -> str:
    dest.parent.mkdir(parents=True, exist_ok=True)
    complete = (dest / ".complete").exists()
    work = Path(tempfile.mkdtemp(prefix=dest.name + ".tmp.", dir=dest.parent))
    try:
        work.chmod(0o755)
        pip("wheel", "--no-deps", "-w", str(work), str(src))
        (wheel,) = work.glob("shopdb-*.whl")
        if release and not wheel.name.startswith(f"shopdb-{release}-"):
            if complete:
                return f"reused {dest} (the source is another version)"
            raise SystemExit(f"wheelhouse: built {wheel.name} from {src}, expected shopdb {release}")
        key = content_key(wheel)
        if complete and (dest / ".key").exists() and (dest / ".key").read_text().strip() == key:
            return f"reused {dest} (content key {key})"
        if deps_from:
            for whl in Path(deps_from).glob("*.whl"):
                if not whl.name.startswith("shopdb-"):
                    shutil.copy2(whl, work)
        else:
            tags = [arg for tag in platforms(arch, glibc_minor) for arg in ("--platform", tag)]
            pip("download", "--only-binary=:all:", "-d", str(work), "--python-version", python,
                "--implementation", "cp", "--abi", "cp" + python.replace(".", ""), *tags, str(wheel))
        with tarfile.open(work / "wheels.tar", "w") as tar:
            for whl in sorted(work.glob("*.whl")):
                tar.add(whl, arcname=whl.name)
        (work / ".key").write_text(key + "\n")
        (work / ".complete").touch()
        old = work.with_name(work.name + ".old")
        if dest.exists():
            dest.rename(old)
        work.rename(dest)
        shutil.rmtree(old, ignore_errors=True)
        return f"built {dest} (content key {key})"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build or reuse the wheelhouse DIR")
    b.add_argument("--dest", required=True, type=Path)
    b.add_argument("--src", required=True, type=Path)
    b.add_argument("--python", help="the target Python, e.g. 3.11")
    b.add_argument("--arch", help="the target architecture, e.g. x86_64")
    b.add_argument("--glibc-minor", type=int, help="the target glibc's minor version, e.g. 36")
    b.add_argument("--release", help="the shopdb version SRC must build")
    b.add_argument("--deps-from", type=Path, help="copy dependency wheels from this wheelhouse")
    k = sub.add_parser("key", help="print the content key of a wheel")
    k.add_argument("wheel")
    args = parser.parse_args(argv)
    if args.command == "key":
        print(content_key(args.wheel))
    elif not args.deps_from and None in (args.python, args.arch, args.glibc_minor):
        parser.error("build needs --python, --arch and --glibc-minor (the target), or --deps-from")
    else:
        print(build(args.dest.absolute(), args.src, args.python, args.arch, args.glibc_minor, args.release,
                    args.deps_from))


if __name__ == "__main__":
    os.umask(0o022)  # the wheelhouse is read by other users (podman build, the fleet tests)
    main()
