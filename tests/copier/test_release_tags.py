"""`make release` tags a clean commit v<version> of pyproject.toml, the tag plugin authors copy the template
from; it refuses a dirty tree, another version and a tag that names another commit, changing nothing."""

import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from copier_kit import GIT_ENV, git, render

REPO = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def release(clone, **env):
    return subprocess.run(["make", "--no-print-directory", "release", *(f"{k}={v}" for k, v in env.items())],
                          cwd=clone, text=True, capture_output=True, env={**os.environ, **GIT_ENV}, timeout=120)


@pytest.fixture
def clone(tmp_path):
    # The committed tree of this checkout (a clone has no uncommitted changes and no tags of its own).
    subprocess.run(["git", "clone", "-q", "--no-tags", str(REPO), str(tmp_path / "shopdb")], check=True)
    return tmp_path / "shopdb"


def tags(clone):
    return git(clone, "tag", "--list", "v*").split()


def test_a_release_tags_the_commit_and_the_template_copies_from_it(clone, tmp_path):
    result = release(clone)
    assert result.returncode == 0, result.stderr
    assert tags(clone) == [f"v{VERSION}"]
    assert git(clone, "cat-file", "-t", f"v{VERSION}") == "tag"  # annotated
    assert git(clone, "rev-list", "-n1", f"v{VERSION}") == git(clone, "rev-parse", "HEAD")
    assert release(clone).returncode == 0  # re-run on the tagged commit: nothing to do
    plugin = render(tmp_path / "widgets", {"plugin_name": "widgets"}, src=clone, vcs_ref=f"v{VERSION}")
    assert (plugin / "widgets" / "plugin.toml").is_file()


def test_a_dirty_tree_is_refused_without_a_tag(clone):
    (clone / "README.md").write_text("changed\n")
    result = release(clone)
    assert result.returncode != 0 and "uncommitted changes" in result.stderr and tags(clone) == []


def test_another_version_is_refused_without_a_tag(clone):
    result = release(clone, VERSION="99.0.0")
    assert result.returncode != 0 and f"pyproject.toml says {VERSION}" in result.stderr and tags(clone) == []


def test_a_tag_on_another_commit_is_refused(clone):
    git(clone, "tag", "-a", f"v{VERSION}", "-m", "old", "HEAD~1")
    result = release(clone)
    assert result.returncode != 0 and "already tags another commit" in result.stderr
    assert git(clone, "rev-list", "-n1", f"v{VERSION}") == git(clone, "rev-parse", "HEAD~1")
