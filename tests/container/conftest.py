"""The cold-machine paths of the container and Molecule images, run on every run under scratch names.

A warm machine has its base images cached, so the steps that build them would otherwise run only on a fresh
machine (where `rootfs: unbound variable` once broke the first `make test`). Here they run every time: the
container test builds its base and wheelhouse from nothing under scratch names, and scripts/images.sh's full
recipe builds a scratch Molecule image in the background while the container tests run. Scratch images and
wheelhouses are removed afterwards; the shared ones (localhost/shopdb-debian:*) are never touched.
"""

import os
import secrets
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, CONTAINERS_CONF=str(ROOT / "scripts" / "containers.conf"))
SCRATCH = f"shopdb-scratch-{secrets.token_hex(4)}"


def remove_image(ref):
    subprocess.run(["podman", "rmi", "-f", ref], env=ENV, capture_output=True, timeout=120)


class Build:
    """A build started in the background: wait() gives (exit code, output, seconds from the start)."""

    def __init__(self, argv, env):
        self.started = time.monotonic()
        self.log = open(ROOT / ".cache" / f"{SCRATCH}-images.log", "w+")
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.seconds = None

    def wait(self, timeout=900):
        self.proc.wait(timeout=timeout)
        if self.seconds is None:
            self.seconds = time.monotonic() - self.started
        self.log.seek(0)
        return self.proc.returncode, self.log.read(), self.seconds


@pytest.fixture(scope="session")
def scratch_molecule_image():
    """scripts/images.sh's full recipe (debootstrap, role packages, import) into localhost/<scratch>:bookworm,
    in the background; the container image fixture starts it first, so the two builds overlap."""
    (ROOT / ".cache").mkdir(exist_ok=True)
    env = dict(ENV, SHOPDB_IMAGES_NAME=SCRATCH, SHOPDB_IMAGES_FORCE="1")
    build = Build(["bash", "scripts/images.sh", "bookworm"], env)
    build.image = f"localhost/{SCRATCH}:bookworm"
    yield build
    build.wait()   # never killed half-way: the script's own clean-up unmounts and removes its rootfs
    build.log.close()
    os.unlink(build.log.name)
    remove_image(build.image)
