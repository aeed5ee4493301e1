"""A real `copier update` between two tags of the template, as a plugin author at a site runs it.
The tests run Copier and the plugin's own tests, so they are marked slow (left out of make test-fast)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from copier_kit import (REPO, author_owned, copier_cli, files, git, is_author_owned, leftovers, render, run_plugin_tests,
                        template_repo)

STATS_ROUTE = '''

@blp.route("/details/stats")
class WidgetsStats(MethodView):
    @require_role("viewer")
    def get(self):
        """How many assets have widgets details (an author's own route)."""
        return {"count": db.session.scalar(db.select(db.func.count()).select_from(WidgetsDetail))}
'''
STATS_TEST = '''

def test_stats_counts_details(editor_client, viewer_client, new_asset):
    assert editor_client.post(URL, json={"asset_id": new_asset()}).status_code == 201
    assert viewer_client.get(URL + "/stats").get_json() == {"count": 1}
'''
TEMPLATE_TEST = '''

def test_manifest_has_a_description():
    assert load_manifest(PLUGIN_DIR).description.strip()
'''


def _edit(path, old, new):
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def _append(path, text):
    path.write_text(path.read_text() + text)


def _copy_v1(tmp_path):
    template = template_repo(tmp_path / "shopdb")
    git(template, "tag", "v1")
    site = tmp_path / "site"
    site.mkdir()
    git(site, "init", "-q", "-b", "main")
    # The plugin's repository is named unlike the plugin, as authors and CI checkouts name them.
    result = copier_cli("copy", "--defaults", "--data", "plugin_name=widgets", str(template), "shopdb-widgets",
                        cwd=site)
    assert result.returncode == 0, result.stderr
    git(site, "add", "-A")
    git(site, "commit", "-q", "-m", "widgets from the v1 template")
    return template, site, site / "shopdb-widgets"


def _release(template, tag):
    git(template, "commit", "-q", "-am", f"template {tag}")
    git(template, "tag", tag)


@pytest.mark.slow
def test_update_keeps_author_files_and_brings_template_changes(tmp_path):
    template, site, plugin = _copy_v1(tmp_path)
    package = plugin / "widgets"
    models_v1 = (package / "models.py").read_text()

    # The author adds a route, renames their test module, and releases their plugin as 0.2.0.
    _append(package / "api.py", STATS_ROUTE)
    git(site, "mv", "shopdb-widgets/tests/test_api.py", "shopdb-widgets/tests/test_widgets_api.py")
    _append(plugin / "tests" / "test_widgets_api.py", STATS_TEST)
    for released in (package / "plugin.toml", plugin / "pyproject.toml"):
        _edit(released, 'version = "0.1.0"', 'version = "0.2.0"')
    git(site, "commit", "-q", "-am", "stats route")

    # shopdb releases a new template: template-owned files change, and so does an author-owned one.
    tpl = template / "copier-plugin"
    _append(tpl / "tests" / "test_plugin.py.jinja", TEMPLATE_TEST)
    _edit(tpl / "README.md.jinja", "## Develop and test\n", "## Develop and test\n\nTemplate v2 runs one more check.\n")
    package_tpl = tpl / "{{ package_dir }}"
    _edit(package_tpl / "plugin.toml.jinja", "# The plugin manifest:", "# The plugin manifest (template v2):")
    _edit(package_tpl / "models.py.jinja", "    # The example fields,", "    # TEMPLATE V2 CHANGE\n    # The example fields,")
    _release(template, "v2")

    result = copier_cli("update", "--defaults", cwd=plugin)
    assert result.returncode == 0, result.stderr

    assert leftovers(plugin) == []
    assert STATS_ROUTE.strip() in (package / "api.py").read_text()
    assert (package / "models.py").read_text() == models_v1  # author-owned: the v2 change never lands
    assert not (plugin / "tests" / "test_api.py").exists()  # deleted by the author: not resurrected
    assert "def test_manifest_has_a_description" in (plugin / "tests" / "test_plugin.py").read_text()
    assert "Template v2 runs one more check." in (plugin / "README.md").read_text()
    manifest = (package / "plugin.toml").read_text()
    assert "(template v2)" in manifest and 'version = "0.2.0"' in manifest  # three-way merge of both edits
    assert yaml.safe_load((plugin / ".copier-answers.yml").read_text())["_commit"] == "v2"
    changed = {*git(site, "diff", "--name-only").splitlines(),
               *git(site, "ls-files", "--others", "--exclude-standard").splitlines()}
    assert changed == {"shopdb-widgets/.copier-answers.yml", "shopdb-widgets/README.md",
                       "shopdb-widgets/widgets/plugin.toml", "shopdb-widgets/tests/test_plugin.py"}

    tests = run_plugin_tests(plugin)
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert "failed" not in tests.stdout


@pytest.mark.slow
def test_conflict_is_shown_inline_and_caught_until_resolved(tmp_path):
    template, site, plugin = _copy_v1(tmp_path)
    line = "`NOTES.md` (Copier never touches files it did not render)."
    _edit(plugin / "README.md", line, "`NOTES.md` (the author's wording).")
    git(site, "commit", "-q", "-am", "author rewords the README")
    _edit(template / "copier-plugin" / "README.md.jinja", line, "`NOTES.md` (the template's v2 wording).")
    _release(template, "v2")

    assert copier_cli("update", "--defaults", cwd=plugin).returncode == 0
    assert leftovers(plugin) == ["README.md"]
    guard = run_plugin_tests(plugin, extra=("-k", "no_update_leftovers"))
    assert guard.returncode != 0 and "unresolved copier update conflicts in: ['README.md']" in guard.stdout

    # Resolve as docs/PLUGIN-QUICKSTART.md says: keep the wanted side, drop the markers.
    text = (plugin / "README.md").read_text()
    start, end = text.index("<<<<<<< "), text.index(">>>>>>> ")
    resolved = text[:start] + "`NOTES.md` (the author's wording).\n" + text[text.index("\n", end) + 1:]
    (plugin / "README.md").write_text(resolved)
    assert leftovers(plugin) == []
    git(site, "add", "-A")  # marks it resolved: until then git still lists README.md as unmerged (UU)
    assert run_plugin_tests(plugin, extra=("-k", "no_update_leftovers")).returncode == 0


def _leftover_check(plugin):
    """The template's own leftover check, run as the quickstart runs it: on its own, outside pytest."""
    return subprocess.run([sys.executable, "tests/update_leftovers.py"], cwd=plugin, capture_output=True, text=True,
                          timeout=60)


def _status(site):
    return {line[3:]: line[:2] for line in git(site, "status", "--porcelain").splitlines()}


@pytest.mark.slow
def test_a_conflict_in_the_test_harness_is_found_without_pytest(tmp_path):
    """Copier exits 0 and says nothing; git shows UU; pytest cannot even import the conftest; the shipped
    check, run on its own, names the file."""
    template, site, plugin = _copy_v1(tmp_path)
    line = "def shopdb_plugins():\n    return [PLUGIN_NAME]\n"
    _edit(plugin / "tests" / "conftest.py", line, "def shopdb_plugins():\n    return [PLUGIN_NAME]  # author\n")
    git(site, "commit", "-q", "-am", "author edits the harness")
    _edit(template / "copier-plugin" / "tests" / "conftest.py.jinja", line,
          "def shopdb_plugins():\n    return [PLUGIN_NAME]  # template v2\n")
    _release(template, "v2")

    result = copier_cli("update", "--defaults", cwd=plugin)
    assert result.returncode == 0 and "conflict" not in (result.stdout + result.stderr).lower()
    assert _status(site)[f"{plugin.relative_to(site)}/tests/conftest.py"] == "UU"  # "both modified", not "modified"
    suite = run_plugin_tests(plugin)
    assert suite.returncode != 0 and "Error while loading conftest" in suite.stdout + suite.stderr  # no test ran
    check = _leftover_check(plugin)
    assert check.returncode == 1 and "unresolved copier update conflicts in: tests/conftest.py" in check.stderr

    text = (plugin / "tests" / "conftest.py").read_text()
    start, end = text.index("<<<<<<< "), text.index(">>>>>>> ")
    (plugin / "tests" / "conftest.py").write_text(
        text[:start] + "def shopdb_plugins():\n    return [PLUGIN_NAME]  # author\n" + text[text.index("\n", end) + 1:])
    assert _leftover_check(plugin).returncode == 1  # still unmerged in git's index: `git add` marks it resolved
    git(site, "add", "-A")
    check = _leftover_check(plugin)
    assert check.returncode == 0 and check.stdout.strip() == "no copier update leftovers"


@pytest.mark.slow
def test_conflict_rej_gives_the_template_version_and_puts_the_authors_hunks_in_rej(tmp_path):
    """What the quickstart warns about: with --conflict rej the file holds the template's lines, the .rej holds
    the author's own, so committing without reading the .rej drops the author's edit."""
    template, site, plugin = _copy_v1(tmp_path)
    line = "`NOTES.md` (Copier never touches files it did not render)."
    _edit(plugin / "README.md", line, "`NOTES.md` (the author's wording).")
    git(site, "commit", "-q", "-am", "author rewords the README")
    _edit(template / "copier-plugin" / "README.md.jinja", line, "`NOTES.md` (the template's v2 wording).")
    _release(template, "v2")

    assert copier_cli("update", "--defaults", "--conflict", "rej", cwd=plugin).returncode == 0
    readme = (plugin / "README.md").read_text()
    assert "the template's v2 wording" in readme and "the author's wording" not in readme
    assert "the author's wording" in (plugin / "README.md.rej").read_text()
    check = _leftover_check(plugin)
    assert check.returncode == 1 and "README.md.rej" in check.stderr


TEMPLATE_OWNED_SUFFIXES = {".py": "# template vN+1\n", ".jinja": "# template vN+1\n", ".toml": "# template vN+1\n",
                           ".yaml": "# template vN+1\n", ".md": "\nTemplate vN+1.\n"}


def _next_release(template):
    """Tag N+1: every template-owned file of the template changes, and a new one appears."""
    owned = author_owned()
    for path in sorted((template / "copier-plugin").rglob("*")):
        rel = path.relative_to(template / "copier-plugin").as_posix().removesuffix(".jinja")
        if not path.is_file() or "{{ _copier_conf" in rel or is_author_owned(rel.replace("{{ plugin_name }}", "x"), owned):
            continue
        marker = TEMPLATE_OWNED_SUFFIXES.get(Path(rel).suffix)
        if marker:
            path.write_text(path.read_text() + marker)
    (template / "copier-plugin" / "tests" / "test_release_notes.py.jinja").write_text(
        '"""Added by template vN+1 for {{ plugin_name }}."""\n')
    git(template, "add", "-A")
    _release(template, "v2")


def _template_owned(root):
    owned = author_owned()
    return {f: (root / f).read_bytes() for f in files(root) if not is_author_owned(f, owned)}


FIRST_PARTY = sorted(p.parent.name for p in (REPO / "plugins").glob("*/.copier-answers.yml"))


@pytest.mark.slow
@pytest.mark.parametrize("plugin_name", ["widgets", *FIRST_PARTY])
def test_update_from_n_to_n_plus_1_equals_a_fresh_render_at_n_plus_1(tmp_path, plugin_name):
    """The python-copier-template check: updating never leaves a plugin different from what a new copy at the
    same tag would be, in any template-owned file. First-party plugins start from their real files."""
    template = template_repo(tmp_path / "shopdb")
    git(template, "tag", "v1")
    site = tmp_path / "site"
    site.mkdir()
    git(site, "init", "-q", "-b", "main")
    if plugin_name == "widgets":
        answers = {"plugin_name": "widgets"}
        render(site / plugin_name, answers, src=template, vcs_ref="v1")
    else:
        recorded = yaml.safe_load((REPO / "plugins" / plugin_name / ".copier-answers.yml").read_text())
        answers = {k: v for k, v in recorded.items() if not k.startswith("_")}
        shutil.copytree(REPO / "plugins" / plugin_name, site / plugin_name,
                        ignore=shutil.ignore_patterns("__pycache__"))
        # The same plugin, as if copied from this template at v1 (its template-owned files are v1's: drift test).
        (site / plugin_name / ".copier-answers.yml").write_text(
            (REPO / "plugins" / plugin_name / ".copier-answers.yml").read_text()
            .replace(f"_commit: {recorded['_commit']}", "_commit: v1").replace("_src_path: .", f"_src_path: {template}"))
    git(site, "add", "-A")
    git(site, "commit", "-q", "-m", "v1")
    _next_release(template)

    result = copier_cli("update", "--defaults", cwd=site / plugin_name)
    assert result.returncode == 0, result.stderr
    fresh = render(tmp_path / "fresh" / plugin_name, answers, src=template, vcs_ref="v2")
    updated, expected = _template_owned(site / plugin_name), _template_owned(fresh)
    assert "tests/test_release_notes.py" in expected
    # Every file the template renders must equal the fresh render; files only the author added (a plugin's own
    # extra tests, e.g. computers' test_hostile_input.py) are not the template's to judge.
    differ = sorted(f for f in expected if updated.get(f) != expected[f])
    assert not differ, f"{plugin_name}: updated to v2 differs from a fresh v2 render in {differ}"
