"""Render the template with several answer sets and run each rendered plugin's own tests against the core."""
import re
import tomllib

import yaml
from copier_kit import REPO, copier_cli, git, render, run_plugin_tests, template_repo

ANSWER_SETS = [
    # Defaults for everything but the name.
    {"plugin_name": "widgets"},
    # Characters that must survive TOML, Python strings and Markdown; a narrower core range.
    {"plugin_name": "cnc5", "description": 'Fifth-axis "trunnion" heads \\ Müller’s line', "author": "Jane Doe <jane@example.com>",
     "core_version": ">=0.1,<0.2"},
    {"plugin_name": "tooling", "description": "Cutting tools", "core_version": "~=0.1"},
]


def test_rendered_plugins_pass_their_own_tests(tmp_path):
    for answers in ANSWER_SETS:
        render(tmp_path / answers["plugin_name"], answers)
    for answers in ANSWER_SETS:
        root = tmp_path / answers["plugin_name"]
        manifest = tomllib.loads((root / "plugin.toml").read_text())
        assert manifest["name"] == answers["plugin_name"] and manifest["version"] == "0.1.0"
        for key in ("description", "core_version"):
            if key in answers:
                assert manifest[key] == answers[key]
        recorded = yaml.safe_load((root / ".copier-answers.yml").read_text())
        assert recorded["_src_path"] == str(REPO) and recorded["_commit"]
        assert (root / "migrations" / "versions" / f"{answers['plugin_name']}_0001_initial.py").is_file()
    defaults = tomllib.loads((tmp_path / "widgets" / "plugin.toml").read_text())
    release = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert defaults["core_version"] == f">={release},<{int(release.split('.')[0]) + 1}.0.0"

    # All three in one run: each finds itself through its parent dir, and they must not collide.
    result = run_plugin_tests(*(tmp_path / a["plugin_name"] for a in ANSWER_SETS))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    passed = int(re.search(r"(\d+) passed", result.stdout).group(1))
    assert passed >= 10 * len(ANSWER_SETS) and " failed" not in result.stdout


def test_unattended_copy_from_a_release_tag(tmp_path):
    """The documented command: no prompts, no --trust, from a tag of a git repo whose root has copier.yml."""
    template = template_repo(tmp_path / "shopdb")
    git(template, "tag", "v0.1.0")
    result = copier_cli("copy", "--defaults", "--data", "plugin_name=widgets", "--vcs-ref", "v0.1.0",
                        str(template), str(tmp_path / "widgets"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    recorded = yaml.safe_load((tmp_path / "widgets" / ".copier-answers.yml").read_text())
    assert (recorded["_commit"], recorded["_src_path"], recorded["plugin_name"]) == ("v0.1.0", str(template), "widgets")
    assert "class WidgetsPlugin(BasePlugin)" in (tmp_path / "widgets" / "__init__.py").read_text()
