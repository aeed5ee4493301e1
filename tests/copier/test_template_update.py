"""A real `copier update` between two tags of the template, as a plugin author at a site runs it.
The tests run Copier and the plugin's own tests, so they are marked slow (left out of make test-fast)."""
import pytest
import yaml
from copier_kit import copier_cli, git, leftovers, run_plugin_tests, template_repo

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
    _edit(package_tpl / "models.py.jinja", "    # The example field:", "    # TEMPLATE V2 CHANGE\n    # The example field:")
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
    assert run_plugin_tests(plugin, extra=("-k", "no_update_leftovers")).returncode == 0
