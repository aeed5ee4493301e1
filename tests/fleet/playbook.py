"""Running the repository's ansible/ playbooks from a Molecule scenario's tests: against the scenario's
inventory, from the repository root, with the roles of this tree."""
import os
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(name, *args, timeout=1800):
    """ansible-playbook ansible/<name> ARGS; returns (return code, output, seconds). The output's end is
    printed, so a failing test shows it."""
    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(ROOT / "ansible" / "roles"), ANSIBLE_FORCE_COLOR="0")
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(ROOT / "ansible" / name), *args]
    t0 = time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=timeout)
    out = done.stdout + done.stderr
    print(out[-6000:])
    return done.returncode, out, time.monotonic() - t0
