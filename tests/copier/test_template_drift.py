"""First-party plugins stay what the template renders from their answers, apart from author-owned files,
and `copier update` works on them in place (their answers record `_src_path: .`, the repository itself)."""
import subprocess

import pytest
import yaml
from copier_kit import REPO, author_owned, copier_cli, files, git, is_author_owned, render

FIRST_PARTY = sorted(p.parent for p in (REPO / "plugins").glob("*/.copier-answers.yml"))


def _answers(plugin):
    return yaml.safe_load((plugin / ".copier-answers.yml").read_text())


def test_first_party_plugins_exist():
    assert {p.name for p in FIRST_PARTY} >= {"equipment", "computers", "printers"}


@pytest.mark.parametrize("plugin", FIRST_PARTY, ids=lambda p: p.name)
def test_first_party_plugin_matches_the_template(tmp_path, plugin):
    recorded = _answers(plugin)
    assert recorded["_src_path"] == ".", "copy first-party plugins from the repository root: copier copy . plugins/..."
    answers = {k: v for k, v in recorded.items() if not k.startswith("_")}
    rendered = render(tmp_path / plugin.name, answers)  # HEAD, uncommitted template changes included
    assert {k: v for k, v in _answers(rendered).items() if not k.startswith("_")} == answers
    owned = author_owned()
    drifted = [f for f in sorted(files(rendered)) if f != ".copier-answers.yml" and not is_author_owned(f, owned)
               and (not (plugin / f).is_file() or (plugin / f).read_bytes() != (rendered / f).read_bytes())]
    assert not drifted, (f"{plugin.name}: template-owned files differ from the template: {drifted}; run "
                         f"`copier update --defaults --vcs-ref HEAD plugins/{plugin.name}` from the repository root")
    present = files(plugin)
    for path in owned:  # the author-owned files are there, rendered once and then extended
        assert any(is_author_owned(f, [path]) for f in present), f"{plugin.name}: nothing matches {path}"


@pytest.mark.slow
def test_first_party_plugin_updates_in_place(tmp_path):
    """What a maintainer runs after changing the template: the update comes from the repo's own HEAD."""
    if git(REPO, "rev-parse", "--is-shallow-repository") == "true":
        pytest.skip("shallow clone: the template commit recorded in .copier-answers.yml is not in the history")
    clone = tmp_path / "shopdb"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    result = copier_cli("update", "--defaults", "--vcs-ref", "HEAD", "plugins/equipment", cwd=clone)
    assert result.returncode == 0, result.stderr
    changed = {*git(clone, "diff", "--name-only").splitlines(),
               *git(clone, "ls-files", "--others", "--exclude-standard").splitlines()}
    # Committed plugins match the committed template, so only the recorded template commit may move.
    assert changed <= {"plugins/equipment/.copier-answers.yml"}, changed
    assert _answers(clone / "plugins" / "equipment")["_commit"] == git(clone, "describe", "--tags", "--always")
