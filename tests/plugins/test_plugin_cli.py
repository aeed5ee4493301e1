"""The real `flask` executable on a fresh site: the first-party plugins are listed and installed."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

FLASK = str(Path(sys.executable).with_name("flask"))
FIRST_PARTY = ("computers", "equipment", "printers")


def flask(tmp_path, *args):
    env = {**os.environ, "SHOPDB_ENV": "development", "SHOPDB_DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite'}"}
    env.pop("SHOPDB_PLUGINS_STRICT", None)
    return subprocess.run([FLASK, "--app", "app", *args], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)


def states(listing):
    return {line.split()[0]: line.split()[2] for line in listing.splitlines()[1:]}


@pytest.mark.slow  # four app start-ups in subprocesses
def test_fresh_site_lists_and_installs_first_party_plugins(tmp_path):
    assert flask(tmp_path, "db", "upgrade", "heads").returncode == 0
    listed = flask(tmp_path, "plugin", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[0].split() == ["NAME", "VERSION", "STATE", "ERROR"]
    first_party = {n: s for n, s in states(listed.stdout).items() if n in FIRST_PARTY}
    assert first_party == dict.fromkeys(FIRST_PARTY, "not-installed")

    installed = flask(tmp_path, "plugin", "install", "equipment")
    assert installed.returncode == 0, installed.stderr
    assert installed.stdout.startswith("installed equipment ")
    assert states(flask(tmp_path, "plugin", "list").stdout)["equipment"] == "enabled"
