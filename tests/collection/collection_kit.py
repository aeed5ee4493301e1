"""Helpers for the collection's tests: build shopdb.deploy with scripts/collection.py, install it, and run
Ansible from outside the checkout (an empty working directory, no ansible.cfg, no roles path)."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RELEASE = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
# The fleet playbooks: every playbook of ansible/ is shipped as shopdb.deploy.<name>.
PLAYBOOKS = sorted(p.stem for p in (REPO / "ansible").glob("*.yml"))


def collection_script():
    """scripts/collection.py as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("shopdb_collection_script", REPO / "scripts" / "collection.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def outside_env(collections: Path, workdir: Path, **extra) -> dict:
    """An environment in which Ansible sees only the installed collection (and the collections of the
    `ansible` package it depends on), never the checkout's ansible/ or its ansible.cfg."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "ARA_"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        ANSIBLE_ROLES_PATH=str(workdir / "no-roles"),
        ANSIBLE_LOCAL_TEMP=str(workdir / ".ansible-tmp"),
        ANSIBLE_NOCOLOR="1",
        **extra,
    )
    return env


def run(cmd, cwd: Path, env: dict, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def explain(result: subprocess.CompletedProcess) -> str:
    return f"rc={result.returncode}\n--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
