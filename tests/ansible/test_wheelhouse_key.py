"""The app role keys the controller's wheelhouse by the content of the shopdb wheel built from the source
(`key` of ansible/roles/shopdb_app/files/wheelhouse.py), so a changed tree under an unchanged version gets a
new wheelhouse while an unchanged tree reuses the built one. Real builds (`pip wheel`) of copies of this tree,
as the role makes them, in other directories and at other times, like a checkout and an unpacked tarball."""
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.fleet.releases import IGNORE, WHEELHOUSE  # noqa: E402

pytestmark = pytest.mark.slow


def key_of(src: Path, out: Path) -> str:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src)],
                   check=True, cwd=src)
    (wheel,) = out.glob("shopdb-*.whl")
    return subprocess.run([sys.executable, str(WHEELHOUSE), "key", str(wheel)], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_the_key_follows_the_code_not_the_build(tmp_path):
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, ignore=IGNORE)
    first = key_of(checkout, tmp_path / "w1")
    time.sleep(1.1)  # other timestamps in the wheel's zip entries
    tarball = tmp_path / "unpacked" / "shopdb-src"
    shutil.copytree(checkout, tarball)
    for f in tarball.rglob("*"):
        f.touch()
    assert key_of(tarball, tmp_path / "w2") == first
    health = tarball / "app" / "api" / "health.py"
    health.write_text(health.read_text() + "\n# changed code, same version\n")
    changed = key_of(tarball, tmp_path / "w3")
    assert len(changed) == len(first) == 20 and changed != first


def wheelhouse(command, *args):
    return subprocess.run([sys.executable, str(WHEELHOUSE), command, *map(str, args)], capture_output=True,
                          text=True, timeout=600)


def test_the_one_recipe_builds_reuses_and_rebuilds(tmp_path):
    """The script the role, docker-smoke.sh and the fleet fixtures share: built once, reused while the code
    is unchanged, rebuilt (and swapped in whole) when it changes; a source of another version is refused.
    A small `shopdb` project stands in for the tree (the recipe is the same; the build is quicker)."""
    import tarfile
    src = tmp_path / "src"
    (src / "shopdb_stub").mkdir(parents=True)
    (src / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools>=69"]\n'
                                        'build-backend = "setuptools.build_meta"\n'
                                        '[project]\nname = "shopdb"\nversion = "7.1"\n')
    code = src / "shopdb_stub" / "__init__.py"
    code.write_text("VALUE = 1\n")
    base = tmp_path / "base"     # dependency wheels to copy instead of downloading (as the fleet fixtures do)
    base.mkdir()
    (base / "dep-1.0-py3-none-any.whl").write_bytes(b"a dependency")
    (base / "shopdb-0.0.1-py3-none-any.whl").write_bytes(b"the base release's own wheel, not copied")
    dest = tmp_path / "wheelhouses" / "shopdb-7.1-cp311-x86_64"
    build = ("--dest", dest, "--src", src, "--deps-from", base)

    first = wheelhouse("build", *build, "--release", "7.1")
    assert first.returncode == 0 and first.stdout.startswith(f"built {dest}"), first.stdout + first.stderr
    (wheel,) = dest.glob("shopdb-*.whl")
    key = wheelhouse("key", wheel).stdout.strip()
    assert (dest / ".key").read_text().strip() == key and len(key) == 20
    assert (dest / ".complete").exists()
    with tarfile.open(dest / "wheels.tar") as tar:
        assert sorted(tar.getnames()) == ["dep-1.0-py3-none-any.whl", wheel.name]

    again = wheelhouse("build", *build, "--release", "7.1")
    assert again.stdout.startswith(f"reused {dest} (content key {key})"), again.stdout + again.stderr

    code.write_text("VALUE = 2\n")
    changed = wheelhouse("build", *build, "--release", "7.1")
    assert changed.stdout.startswith(f"built {dest}"), changed.stdout + changed.stderr
    assert (dest / ".key").read_text().strip() != key
    assert sorted(p.name for p in dest.parent.iterdir()) == [dest.name], "a temporary directory was left behind"

    other = wheelhouse("build", *build, "--release", "7.2")
    assert other.stdout.startswith(f"reused {dest} (the source is another version)"), other.stdout + other.stderr
    missing = wheelhouse("build", "--dest", tmp_path / "none", "--src", src, "--deps-from", base, "--release", "7.2")
    assert missing.returncode != 0 and "expected shopdb 7.2" in missing.stderr, missing.stdout + missing.stderr
    assert not (tmp_path / "none").exists()
