"""The app role keys the controller's wheelhouse by the content of the shopdb wheel built from the source
(ansible/roles/shopdb_app/files/wheel_content_key.py), so a changed tree under an unchanged version gets a
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
from tests.fleet.releases import IGNORE, WHEEL_KEY  # noqa: E402

pytestmark = pytest.mark.slow


def key_of(src: Path, out: Path) -> str:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src)],
                   check=True, cwd=src)
    (wheel,) = out.glob("shopdb-*.whl")
    return subprocess.run([sys.executable, str(WHEEL_KEY), str(wheel)], check=True, capture_output=True,
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
