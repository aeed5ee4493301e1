"""A controller with no checkout of this repository, as an Automation Controller execution node or a fleet's
own CI has: a fresh virtualenv holding only ansible-core (the version this tree runs), and a collections path
holding shopdb.deploy installed from the tarball scripts/collection.py builds, beside the collections its
galaxy.yml declares. Galaxy is not reachable from these machines, so those (and the Molecule hosts'
connection plugins) are copied from this tree's `ansible` package; nothing else of the checkout is visible."""
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _collection_script():
    spec = importlib.util.spec_from_file_location("shopdb_collection_script", ROOT / "scripts" / "collection.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Controller:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.venv = workdir / "venv"
        self.collections = workdir / "collections"
        self.cwd = workdir / "cwd"   # an empty working directory: no ansible.cfg, no roles beside it
        self.cwd.mkdir(parents=True)
        script = _collection_script()
        tarball = subprocess.run([sys.executable, ROOT / "scripts" / "collection.py", "--out", workdir / "build"],
                                 check=True, capture_output=True, text=True).stdout.strip()
        subprocess.run([sys.executable, "-m", "venv", self.venv], check=True)
        core = importlib.metadata.version("ansible-core")
        subprocess.run([self.venv / "bin" / "pip", "install", "-q", f"ansible-core=={core}"], check=True)
        self.run_cmd(["ansible-galaxy", "collection", "install", "--no-deps", "-p", self.collections, tarball])
        bundled = Path(importlib.util.find_spec("ansible_collections").submodule_search_locations[0])
        for name in sorted(set(script.DEPENDENCIES) | script.TEST_ONLY):
            namespace, collection = name.split(".")
            shutil.copytree(bundled / namespace / collection,
                            self.collections / "ansible_collections" / namespace / collection)
        self.playbooks = self.collections / "ansible_collections" / "shopdb" / "deploy" / "playbooks"

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "ARA_", "VIRTUAL_ENV"))}
        env.update(PATH=f"{self.venv / 'bin'}{os.pathsep}{env['PATH']}", ANSIBLE_COLLECTIONS_PATH=str(self.collections),
                   ANSIBLE_ROLES_PATH=str(self.workdir / "no-roles"), ANSIBLE_NOCOLOR="1")
        return env

    def run_cmd(self, argv, timeout=600):
        return subprocess.run([str(self.venv / "bin" / argv[0]), *map(str, argv[1:])], cwd=self.cwd, env=self.env(),
                              check=True, capture_output=True, text=True, timeout=timeout)

    def playbook(self, name, *args, timeout=1800):
        """ansible-playbook shopdb.deploy.<name> against the scenario's inventory; (rc, output, seconds)."""
        cmd = [str(self.venv / "bin" / "ansible-playbook"), "-i", os.environ["MOLECULE_INVENTORY_FILE"],
               f"shopdb.deploy.{name}", *args]
        t0 = time.monotonic()
        done = subprocess.run(cmd, cwd=self.cwd, env=self.env(), capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=timeout)
        out = done.stdout + done.stderr
        print(out[-6000:])
        return done.returncode, out, time.monotonic() - t0
