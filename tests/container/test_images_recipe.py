"""scripts/images.sh's build path, which a warm machine never takes (its Molecule images are up to date):
the full recipe runs every run into a scratch image (started in the background by conftest.py), which
must come out as the recipe promises, then be recognised as up to date by its hash label."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, CONTAINERS_CONF=str(ROOT / "scripts" / "containers.conf"))

pytestmark = pytest.mark.slow


def run(image, *argv):
    return subprocess.run(["podman", "run", "--rm", "--network", "none", image, *argv], env=ENV,
                          capture_output=True, text=True, timeout=120)


def test_the_molecule_image_recipe_builds_from_scratch(scratch_molecule_image):
    rc, log, seconds = scratch_molecule_image.wait()
    assert rc == 0, f"scripts/images.sh failed on the cold path:\n{log}"
    image = scratch_molecule_image.image
    assert f"images: built {image}" in log, log
    print(f"scripts/images.sh bookworm from scratch: {seconds:.0f} s (in the background)")

    # What the recipe promises: role packages installed, MariaDB's data directory initialised, sshd off,
    # no host keys baked in, an empty machine-id, no policy-rc.d left behind, systemd as the command.
    check = run(image, "sh", "-c",
                "dpkg-query -W -f='${Status}\\n' mariadb-server nginx python3-venv python3-pymysql | sort -u;"
                " test -d /var/lib/mysql/mysql && echo datadir;"
                " systemctl is-enabled ssh.service;"
                " ls /etc/ssh/ssh_host_* 2>/dev/null | wc -l; wc -c </etc/machine-id;"
                " test -e /usr/sbin/policy-rc.d || echo no-policy-rc.d")
    assert check.stdout.split("\n")[:6] == ["install ok installed", "datadir", "disabled", "0", "0",
                                            "no-policy-rc.d"], check.stdout + check.stderr
    inspect = subprocess.run(["podman", "image", "inspect", "--format", "{{json .Config.Cmd}}", image], env=ENV,
                             capture_output=True, text=True, timeout=60, check=True)
    assert inspect.stdout.strip() == '["/sbin/init"]'

    # The warm path: the same recipe again finds the image up to date by its hash label.
    again = subprocess.run(["bash", "scripts/images.sh", "bookworm"], cwd=ROOT, capture_output=True, text=True,
                           timeout=300, env=dict(ENV, SHOPDB_IMAGES_NAME=image.split("/")[1].split(":")[0]))
    assert again.returncode == 0 and f"images: {image} is up to date" in again.stdout, again.stdout + again.stderr
