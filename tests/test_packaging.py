"""The shopdb wheel installs one top-level package, `app` (docs/adr/0009-one-top-level-package.md): nothing a
plugin's or any project's ordinary folders (`migrations/`, `plugins/`, `tests/`) could shadow."""
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "app", "migrations", "plugins")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The shopdb wheel, built from this checkout's files (uncommitted changes included) as a deploy builds it."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, src / name)
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    return next(out.glob("shopdb-*.whl"))


@pytest.mark.slow
def test_the_wheel_installs_only_the_app_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if ".dist-info/" not in name}
    assert top_level == {"app"}, f"the wheel installs top-level {sorted(top_level)}"
    assert {"app/migrations/env.py", "app/migrations/alembic.ini", "app/first_party/equipment/plugin.toml",
            "app/first_party/equipment/migrations/versions/equipment_0001_initial.py"} <= set(names)
    assert any(n.startswith("app/migrations/versions/core_0001") for n in names)
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    in_repo = sorted(p.parent.name for p in (REPO / "plugins").glob("*/plugin.toml"))
    for name in in_repo:  # every first-party plugin is found through the same entry-point group as site plugins
        assert f"{name} = app.first_party.{name}:plugin" in entry_points


@pytest.mark.slow
def test_a_projects_own_migrations_and_plugins_folders_shadow_nothing(wheel, tmp_path):
    """Run from a folder holding `migrations/` and `plugins/` packages of its own (as a plugin's repository
    may), the installed shopdb still migrates with its own Alembic environment and loads its own plugins."""
    site = tmp_path / "site-packages"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    project = tmp_path / "project"
    for folder in ("migrations", "plugins"):
        (project / folder).mkdir(parents=True)
        (project / folder / "__init__.py").write_text("raise ImportError('the project\\'s own folder')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPDB_", "FLASK_"))}
    env |= {"PYTHONPATH": f"{project}{os.pathsep}{site}", "SHOPDB_ENV": "testing",
            "SHOPDB_DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite'}"}
    upgrade = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=project, env=env,
                             capture_output=True, text=True, timeout=300)
    assert upgrade.returncode == 0, upgrade.stderr
    assert str(site / "app" / "migrations") in subprocess.run(
        [sys.executable, "-c", "import app.extensions; print(app.extensions.MIGRATIONS_DIR)"], cwd=project, env=env,
        capture_output=True, text=True, timeout=300).stdout
    listed = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "plugin", "list"], cwd=project, env=env,
                            capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0, listed.stderr
    assert all(name in listed.stdout for name in ("computers", "equipment", "printers")), listed.stdout


def test_every_first_party_plugin_has_its_entry_point():
    """The loader finds first-party plugins only through the `shopdb.plugins` entry points pyproject declares."""
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"]["shopdb.plugins"]
    in_repo = {p.parent.name for p in (REPO / "plugins").glob("*/plugin.toml")}
    assert declared == {name: f"app.first_party.{name}:plugin" for name in in_repo}
