"""Render the template with several answer sets and run each rendered plugin's own tests against the core."""
import os
import re
import subprocess
import sys
import tomllib
import warnings
import zipfile

import pytest
import yaml
from copier_kit import REPO, copier_cli, git, render, run_plugin_tests, template_repo

ANSWER_SETS = [
    # Defaults for everything but the name.
    {"plugin_name": "widgets"},
    # Characters that must survive TOML, Python strings and Markdown; a narrower core range.
    {"plugin_name": "cnc5", "description": 'Fifth-axis "trunnion" heads \\ Müller’s line',
     "author": "Jane Doe <jane@example.com>", "core_version": ">=0.1,<0.2"},
    {"plugin_name": "tooling", "description": "Cutting tools", "core_version": "~=0.1"},
]


def repository(tmp_path, name):
    """Where an author's repository of plugin `name` lives: never a folder named like the plugin."""
    return tmp_path / f"shopdb-plugin-{name}"


@pytest.mark.slow
def test_rendered_plugins_pass_their_own_tests(tmp_path):
    """Each rendered into a repository named unlike the plugin, its tests run from that folder with `python -m
    pytest`, as its author and CI run them (no install: the tests find the plugin's package beside them)."""
    for answers in ANSWER_SETS:
        render(repository(tmp_path, answers["plugin_name"]), answers)
    for answers in ANSWER_SETS:
        repo = repository(tmp_path, answers["plugin_name"])
        root = repo / answers["plugin_name"]  # the package
        assert {p.name for p in repo.iterdir()} >= {"pyproject.toml", "README.md", "tests", answers["plugin_name"]}
        manifest = tomllib.loads((root / "plugin.toml").read_text())
        assert manifest["name"] == answers["plugin_name"] and manifest["version"] == "0.1.0"
        for key in ("description", "core_version"):
            if key in answers:
                assert manifest[key] == answers[key]
        recorded = yaml.safe_load((repo / ".copier-answers.yml").read_text())
        assert recorded["_src_path"] == str(REPO) and recorded["_commit"]
        assert (root / "migrations" / "versions" / f"{answers['plugin_name']}_0001_initial.py").is_file()
        with warnings.catch_warnings():  # quotes and backslashes in answers must not break Python
            warnings.simplefilter("error")
            for source in repo.rglob("*.py"):
                compile(source.read_text(), str(source), "exec", dont_inherit=True)
    defaults = tomllib.loads((repository(tmp_path, "widgets") / "widgets" / "plugin.toml").read_text())
    release = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert defaults["core_version"] == f">={release},<{int(release.split('.')[0]) + 1}.0.0"

    for answers in ANSWER_SETS:
        result = run_plugin_tests(repository(tmp_path, answers["plugin_name"]))
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        passed = int(re.search(r"(\d+) passed", result.stdout).group(1))
        assert passed >= 10 and " failed" not in result.stdout


def test_unattended_copy_from_a_release_tag(tmp_path):
    """The documented command: no prompts, no --trust, from a tag of a git repo whose root has copier.yml."""
    template = template_repo(tmp_path / "shopdb")
    git(template, "tag", "v0.1.0")
    result = copier_cli("copy", "--defaults", "--data", "plugin_name=widgets", "--vcs-ref", "v0.1.0",
                        str(template), str(tmp_path / "widgets"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    recorded = yaml.safe_load((tmp_path / "widgets" / ".copier-answers.yml").read_text())
    assert (recorded["_commit"], recorded["_src_path"], recorded["plugin_name"]) == ("v0.1.0", str(template), "widgets")
    assert "class WidgetsPlugin(BasePlugin)" in (tmp_path / "widgets" / "widgets" / "__init__.py").read_text()


@pytest.mark.slow
def test_site_plugin_builds_a_wheel_that_shopdb_loads_through_its_entry_point(tmp_path):
    """A site plugin ships as its own wheel (docs/adr/0002): build it, install it beside shopdb, install it
    on a site with the real CLI, and run its tests in its repository with the wheel installed."""
    plugin = render(tmp_path / "src" / "shopdb-plugin-widgets", {"plugin_name": "widgets"})
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"),
                            str(plugin)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("shopdb_plugin_widgets-0.1.0-*.whl"))
    site = tmp_path / "site-packages"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(site), "SHOPDB_ENV": "development", "SHOPDB_TEST_MARIADB": "0",
           "SHOPDB_DATABASE_URL": f"sqlite:///{tmp_path / 'site.sqlite'}"}

    def flask(*args):
        return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)

    installed = flask("plugin", "install", "widgets")
    assert installed.returncode == 0, installed.stderr
    assert installed.stdout.strip() == "installed widgets 0.1.0 (enabled)"
    origin = subprocess.run([sys.executable, "-c", "from app import create_app; "
                             "print(create_app().extensions['shopdb_plugins'].get('widgets').origin)"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert origin.stdout.strip() == "entry point widgets = widgets:plugin", origin.stderr
    wheel_files = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert wheel_files == {"widgets", "shopdb_plugin_widgets-0.1.0.dist-info"}, wheel_files  # no tests/, no README
    tests = run_plugin_tests(plugin, env=env)
    assert tests.returncode == 0, tests.stdout[-4000:]


def test_copy_from_a_missing_tag_fails_as_the_quickstart_says(tmp_path):
    """An untagged repository (or a clone without its tags): Copier's traceback ends with the error the
    quickstart's Common errors row names; after `git fetch --tags` the same command works."""
    template = template_repo(tmp_path / "shopdb")
    untagged = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--no-tags", str(template), str(untagged))
    git(template, "tag", "v0.1.0")
    args = ("copy", "--defaults", "--data", "plugin_name=widgets", "--vcs-ref", "v0.1.0", str(untagged),
            str(tmp_path / "widgets"))
    result = copier_cli(*args, cwd=tmp_path)
    assert result.returncode != 0 and not (tmp_path / "widgets").exists()
    assert result.stderr.strip().splitlines()[-1] == "ValueError: Unknown revision: 'v0.1.0'"
    quickstart = (REPO / "docs" / "PLUGIN-QUICKSTART.md").read_text()
    assert "| `ValueError: Unknown revision: 'v0.1.0'`" in quickstart and "fetch --tags origin" in quickstart
    git(untagged, "fetch", "-q", "--tags", "origin")  # the fix the row gives
    assert copier_cli(*args, cwd=tmp_path).returncode == 0
