"""The collection shopdb.deploy: built from ansible/ (one source), installed into an empty collections path,
its fleet playbooks run from there and not from the checkout, and ansible-test sanity on what it can check
offline."""
import json
import re
import shutil
import sys
import tarfile

import pytest
import yaml
from collection_kit import BIN, PLAYBOOKS, RELEASE, REPO, collection_script, explain, outside_env, run
from packaging.specifiers import SpecifierSet

COLLECTION = "ansible_collections/shopdb/deploy"

# ansible-test sanity tests that run offline on the controller's own Python. The others each set up a
# virtualenv of pinned requirements through a pip bootstrap script that ansible-test downloads from its
# own CI file host, which is not reachable here (or need a tool that is not installed): SKIPPED says why.
SANITY_OFFLINE = [
    "action-plugin-docs", "ansible-doc", "compile", "empty-init", "ignores", "line-endings", "no-assert",
    "no-get-exception", "no-illegal-filenames", "no-smart-quotes", "replace-urlopen", "shebang", "symlinks",
    "use-argspec-type-path", "use-compat-six",
]
SANITY_SKIPPED = {
    "changelog": "needs a pip-bootstrapped venv (antsibull-changelog lint runs in the build instead)",
    "import": "needs a pip-bootstrapped venv",
    "pep8": "needs a pip-bootstrapped venv",
    "pylint": "needs a pip-bootstrapped venv",
    "runtime-metadata": "needs a pip-bootstrapped venv",
    "validate-modules": "needs a pip-bootstrapped venv",
    "yamllint": "needs a pip-bootstrapped venv (scripts/lint.sh runs yamllint over ansible/)",
    "pslint": "needs PowerShell",
    "shellcheck": "needs shellcheck, not installed on the controller",
}


def manifest(tarball):
    with tarfile.open(tarball) as tar:
        return json.load(tar.extractfile("MANIFEST.json")), tar.getmembers()


def test_the_tarball_is_the_collection_of_ansible(built):
    _, tarball = built
    info, members = manifest(tarball)
    names = {m.name for m in members}
    assert info["collection_info"]["version"] == RELEASE
    assert info["collection_info"]["dependencies"] == collection_script().DEPENDENCIES
    assert {n.split("/")[1] for n in names if n.startswith("roles/") and n.count("/") >= 1} == {
        p.name for p in (REPO / "ansible" / "roles").iterdir() if p.is_dir()}
    assert {n for n in names if re.fullmatch(r"playbooks/[^/]+\.yml", n)} == {f"playbooks/{p}.yml" for p in PLAYBOOKS}
    for sub in collection_script().playbook_dirs():
        shipped = {n.removeprefix(f"playbooks/{sub}/") for n in names if n.startswith(f"playbooks/{sub}/")}
        assert shipped == {str(p.relative_to(REPO / "ansible" / sub)) for p in (REPO / "ansible" / sub).rglob("*")
                           if "__pycache__" not in p.parts}
    if (REPO / "ansible" / "plugins").is_dir():
        assert any(n.startswith("plugins/") for n in names)
    # Test scenarios and the site examples stay out: playbook group_vars outrank an inventory's own.
    assert not [n for n in names if "molecule" in n.split("/") or "__pycache__" in n]
    assert not [n for n in names if n.startswith("playbooks/group_vars/") and "/all" not in n]
    for required in ("README.md", "meta/runtime.yml", "CHANGELOG.rst", "changelogs/changelog.yaml"):
        assert required in names
    link = next(m for m in members if m.name == "playbooks/roles")
    assert link.issym() and link.linkname == "../roles"
    with tarfile.open(tarball) as tar:
        changelog = tar.extractfile("CHANGELOG.rst").read().decode()
    assert f"v{RELEASE}" in changelog and "shopdb.deploy.site" in changelog
    print(f"tarball {tarball.name}: {tarball.stat().st_size} bytes, {len(members)} members")


def test_the_build_refuses_a_collection_it_does_not_declare(tmp_path):
    script = collection_script()
    tasks = tmp_path / "roles" / "r" / "tasks"
    tasks.mkdir(parents=True)
    (tasks / "main.yml").write_text("- name: Archive.\n  community.general.archive:\n    path: /tmp/x\n")
    with pytest.raises(SystemExit, match=r"community\.general, which galaxy\.yml does not declare"):
        script.check_dependencies(tmp_path)
    (tasks / "main.yml").write_text("- name: A user.\n  community.mysql.mysql_user:\n    name: x\n")
    script.check_dependencies(tmp_path)


def test_requirements_yml_lists_the_collections_dependencies():
    requirements = yaml.safe_load((REPO / "collections" / "requirements.yml").read_text())
    listed = {c["name"]: c["version"] for c in requirements["collections"]}
    assert listed == collection_script().DEPENDENCIES


def test_its_dependencies_are_installed_at_the_declared_versions(installed):
    collections, workdir = installed
    result = run([BIN / "ansible-galaxy", "collection", "list", "--format", "json"], cwd=workdir,
                 env=outside_env(collections, workdir))
    assert result.returncode == 0, explain(result)
    found = {}
    for path_listing in json.loads(result.stdout).values():
        for name, meta in path_listing.items():
            found.setdefault(name, meta["version"])
    assert found.get("shopdb.deploy") == RELEASE
    for name, spec in collection_script().DEPENDENCIES.items():
        assert name in found, f"{name} is not installed"
        assert found[name] in SpecifierSet(spec), f"{name} {found[name]} does not satisfy {spec}"


@pytest.mark.slow
@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_every_fleet_playbook_loads_from_the_installed_collection(installed, playbook):
    collections, workdir = installed
    env = outside_env(collections, workdir)
    inventory = REPO / "inventories" / "production" / "hosts.ini"
    shipped = collections / COLLECTION / "playbooks" / f"{playbook}.yml"
    for mode in ("--syntax-check", "--list-tasks"):
        result = run([BIN / "ansible-playbook", "-i", inventory, f"shopdb.deploy.{playbook}", mode], cwd=workdir, env=env)
        assert result.returncode == 0, explain(result)
        assert f"playbook: {shipped}" in result.stdout, explain(result)
    assert "tasks:" in result.stdout


def test_the_installed_collection_deploys_the_release_it_was_built_from(installed):
    """group_vars/all ships beside the playbooks (no pyproject.toml in a collection to read it from)."""
    collections, workdir = installed
    result = run([BIN / "ansible", "localhost", "-m", "ansible.builtin.debug", "-a", "var=shopdb_release",
                  "--playbook-dir", collections / COLLECTION / "playbooks"], cwd=workdir,
                 env=outside_env(collections, workdir))
    assert result.returncode == 0, explain(result)
    assert f'"shopdb_release": "{RELEASE}"' in result.stdout, explain(result)


@pytest.mark.slow
def test_ansible_test_sanity_offline(built, tmp_path):
    """ansible-test needs the tree under ansible_collections/<ns>/<name> and writes tests/output there."""
    tree = tmp_path / "ansible_collections"
    shutil.copytree(built[0] / "ansible_collections", tree, symlinks=True)
    coll = tree / "shopdb" / "deploy"
    env = outside_env(tmp_path / "none", tmp_path)
    listed = run([BIN / "ansible-test", "sanity", "--list-tests"], cwd=coll, env=env)
    assert listed.returncode == 0, explain(listed)
    tests = set(listed.stdout.split())
    # A test ansible-test adds gets a decision here: run it offline, or say why not.
    assert tests == set(SANITY_OFFLINE) | set(SANITY_SKIPPED), explain(listed)
    cmd = [BIN / "ansible-test", "sanity", "--python", f"{sys.version_info.major}.{sys.version_info.minor}", "--color", "no"]
    for test in SANITY_OFFLINE:
        cmd += ["--test", test]
    result = run(cmd, cwd=coll, env=env)
    assert result.returncode == 0, explain(result)
    ran = re.findall(r'Running sanity test "([\w-]+)"', result.stdout + result.stderr)
    assert sorted(ran) == sorted(SANITY_OFFLINE), explain(result)
    print(f"sanity passed: {', '.join(ran)}; skipped: {', '.join(sorted(SANITY_SKIPPED))}")


def test_the_installed_collections_filters_read_the_apps_rules_it_ships(installed):
    """The preflight filters read the placeholder list and the plugin-name rule from the app's own files
    (one place); the collection has no checkout above it, so it ships those files and the filters find them
    there. Found when update.yml first ran from the installed collection: `No such file ... app/plugins/base.py`."""
    import importlib.util

    collections, _ = installed
    root = collections / COLLECTION

    def load(path):
        spec = importlib.util.spec_from_file_location(f"installed_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    ranges = load(root / "playbooks" / "filter_plugins" / "shopdb_ranges.py")
    assert ranges.app_file("app/plugins/base.py") == root / "app" / "plugins" / "base.py"
    from app.plugins.base import NAME_PATTERN

    assert ranges.plugin_name_pattern() == NAME_PATTERN.pattern
    assert ranges._plugin_name("printers") and not ranges._plugin_name("Bad-Name")
    for rule in collection_script().APP_RULE_FILES:
        assert (root / rule).read_bytes() == (REPO / rule).read_bytes()
    app = load(root / "roles" / "shopdb_app" / "filter_plugins" / "shopdb_app.py")
    assert app.placeholder("CHANGE-ME") and app.placeholder('"change-me-1"') and not app.placeholder("k" * 8 + "Zq7-x!")
