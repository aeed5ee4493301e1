#!/usr/bin/env python3
"""Assembles the Ansible collection shopdb.deploy from ansible/ and builds its tarball.

ansible/ stays the one source (the checkout runs from it as before); this script lays a collection tree
out of it in build/collection/ansible_collections/shopdb/deploy and runs `ansible-galaxy collection
build` there:

    python scripts/collection.py [--out DIR]      # prints the tarball's path

    roles/       <- ansible/roles/*            (their molecule/ scenarios left out)
    playbooks/   <- ansible/*.yml with tasks/, vars/, templates/, files/, *_plugins/ and group_vars/all/
    plugins/     <- ansible/plugins/*          (whatever exists)
    README.md, meta/runtime.yml, changelogs/   <- ansible/collection/
    galaxy.yml   <- written here: version = the shopdb release in pyproject.toml
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
ANSIBLE = ROOT / "ansible"
NAMESPACE, NAME = "shopdb", "deploy"

# The collections the roles and playbooks call modules and plugins from (FQCNs outside ansible.builtin).
# check_dependencies() fails the build when the tree uses one that is missing here.
DEPENDENCIES = {
    "community.mysql": ">=3.0.0",
    "community.crypto": ">=2.0.0",
    "ansible.posix": ">=1.5.0",
}
# Used only by the Molecule scenarios (not shipped), so not dependencies of the collection.
TEST_ONLY = {"containers.podman", "community.docker"}

# ansible-test reads only tests/sanity/ignore-<its core version>.txt: one list, written for each release
# meta/runtime.yml supports.
SANITY_IGNORE_VERSIONS = ("2.18", "2.19", "2.20")

# What the collection never ships: test scenarios and caches, and what ansible-test leaves behind.
# The app's files that hold rules the deploy kit applies too: the placeholder secrets and the plugin-name rule.
APP_RULE_FILES = ("app/placeholders.py", "app/placeholders.txt", "app/plugins/base.py")
EXCLUDE = shutil.ignore_patterns("molecule", "__pycache__", "*.pyc", ".pytest_cache", "*.retry")
BUILD_IGNORE = ["tests/output", "changelogs/.plugin-cache.yaml", "*.tar.gz", "**/__pycache__", "**/*.pyc", ".pytest_cache"]

# Fully qualified names in task keys, filters and lookups: namespace.collection.plugin.
FQCN = re.compile(r"\b([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*\b")
KNOWN_NAMESPACES = {"ansible", "community", "containers", "shopdb"}


def release() -> str:
    """The shopdb release: pyproject.toml's version, also the collection's."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def playbook_dirs() -> list[str]:
    """What the playbooks read beside them: their task files, variables, templates and files, and the
    playbook-adjacent plugin directories (filter_plugins/, ...). Those keep working for a collection
    playbook, whose bare filter names are not looked up in its collection."""
    subs = [s for s in ("tasks", "vars", "templates", "files") if (ANSIBLE / s).is_dir()]
    return subs + sorted(p.name for p in ANSIBLE.glob("*_plugins") if p.is_dir())


def galaxy_yml(version: str) -> dict:
    return {
        "namespace": NAMESPACE,
        "name": NAME,
        "version": version,
        "readme": "README.md",
        "authors": ["shopdb maintainers"],
        "description": "Deploys shopdb sites: MariaDB, the Flask app under gunicorn, an nginx TLS proxy and backups, "
        "with the fleet's site, update, rollback, restore and status playbooks.",
        "tags": ["database", "web", "deployment", "mariadb", "nginx"],
        "dependencies": dict(DEPENDENCIES),
        "build_ignore": BUILD_IGNORE,
    }


def assemble(dest: Path) -> Path:
    """Lays the collection tree out in dest (emptied first); returns the collection's directory."""
    coll = dest / "ansible_collections" / NAMESPACE / NAME
    if dest.exists():
        shutil.rmtree(dest)
    coll.mkdir(parents=True)
    version = release()

    shutil.copytree(ANSIBLE / "collection", coll, ignore=EXCLUDE, dirs_exist_ok=True)
    shutil.copytree(ANSIBLE / "roles", coll / "roles", ignore=EXCLUDE)
    ignores = coll / "tests" / "sanity" / "ignore.txt"
    for core in SANITY_IGNORE_VERSIONS:
        shutil.copy2(ignores, ignores.with_name(f"ignore-{core}.txt"))
    ignores.unlink()

    playbooks = coll / "playbooks"
    playbooks.mkdir()
    for playbook in sorted(ANSIBLE.glob("*.yml")):
        shutil.copy2(playbook, playbooks / playbook.name)
    for sub in playbook_dirs():
        shutil.copytree(ANSIBLE / sub, playbooks / sub, ignore=EXCLUDE)
    # Only group_vars/all: it is the site kit's glue. The site_* examples belong to an inventory (playbook
    # group_vars outrank inventory group_vars, so shipping them would override every site's own).
    shutil.copytree(ANSIBLE / "group_vars" / "all", playbooks / "group_vars" / "all", ignore=EXCLUDE)
    # The checkout reads the release from pyproject.toml beside ansible/; the collection has none, and
    # deploys the release it was built from. Loaded after main.yml (same directory, sorted), so it wins.
    (playbooks / "group_vars" / "all" / "zz-collection-release.yml").write_text(
        "---\n# Written by scripts/collection.py: the shopdb release this collection was built from.\n"
        f"shopdb_release: {json.dumps(version)}\n"
    )
    # Playbooks and their task files address role files as {{ playbook_dir }}/roles/... (ansible/roles
    # in the checkout); the same relative link makes those paths hold in the collection.
    (playbooks / "roles").symlink_to(Path("..") / "roles", target_is_directory=True)

    # The rules the roles' filters share with the app, read from the app's own files (one place): the
    # collection carries those files at app/, where the filters look above themselves (shopdb_ranges.py,
    # shopdb_app.py), as the checkout has them above ansible/.
    for rule in APP_RULE_FILES:
        (coll / rule).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rule, coll / rule)

    if (ANSIBLE / "plugins").is_dir():
        shutil.copytree(ANSIBLE / "plugins", coll / "plugins", ignore=EXCLUDE)

    (coll / "galaxy.yml").write_text(
        "---\n# Written by scripts/collection.py from pyproject.toml; edit the script, not this file.\n"
        + yaml.safe_dump(galaxy_yml(version), sort_keys=False)
    )
    return coll


def used_collections(coll: Path) -> set[str]:
    """The collections named by FQCN in the shipped roles, playbooks and plugins."""
    used = set()
    for path in coll.rglob("*"):
        if path.is_symlink() or not path.is_file() or path.suffix not in {".yml", ".yaml", ".j2", ".py"}:
            continue
        if path.parent == coll / "changelogs" or "fragments" in path.parts:
            continue
        for ns, name in FQCN.findall(path.read_text(errors="replace")):
            if ns in KNOWN_NAMESPACES and ns != "shopdb":
                used.add(f"{ns}.{name}")
    return used - {"ansible.builtin"}


def check_dependencies(coll: Path) -> None:
    missing = sorted(used_collections(coll) - set(DEPENDENCIES))
    if missing:
        sys.exit(
            f"collection: the roles or playbooks use {', '.join(missing)}, which galaxy.yml does not declare: "
            "add them to DEPENDENCIES in scripts/collection.py (or TEST_ONLY if only Molecule uses them)."
        )


def changelog(coll: Path, version: str) -> None:
    """Folds the changelog fragments into CHANGELOG.rst for this version (in the build tree only: the
    fragments stay in ansible/collection/changelogs/fragments until a release is cut there)."""
    subprocess.run(
        ["antsibull-changelog", "lint"], cwd=coll, check=True
    )
    subprocess.run(
        ["antsibull-changelog", "release", "--version", version, "--update-existing"],
        cwd=coll, check=True, stdout=subprocess.DEVNULL,
    )


def build(dest: Path) -> Path:
    coll = assemble(dest)
    check_dependencies(coll)
    changelog(coll, release())
    subprocess.run(
        ["ansible-galaxy", "collection", "build", "--force", "--output-path", str(dest), str(coll)],
        check=True, stdout=subprocess.DEVNULL,
    )
    return dest / f"{NAMESPACE}-{NAME}-{release()}.tar.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "collection",
                        help="build directory (emptied first; default: build/collection)")
    args = parser.parse_args()
    print(build(args.out.resolve()))


if __name__ == "__main__":
    main()
