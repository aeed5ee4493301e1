"""Helpers for the template's tests: render with Copier, run a rendered plugin's own tests, git plumbing.

Imported by the test modules next to it (named so it cannot clash with another helper on sys.path).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pathspec
import yaml
from copier import run_copy

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_PATHS = ("copier.yml", "copier-plugin")
CONFLICT = re.compile(r"^(<{7}|>{7})( |$)", re.MULTILINE)
GIT_ENV = {"GIT_AUTHOR_NAME": "template test", "GIT_AUTHOR_EMAIL": "test@shopdb.invalid",
           "GIT_COMMITTER_NAME": "template test", "GIT_COMMITTER_EMAIL": "test@shopdb.invalid"}


def copier_config() -> dict:
    return yaml.safe_load((REPO / "copier.yml").read_text())


def author_owned() -> list[str]:
    """The author-owned paths, read from copier.yml's `_exclude` (the one place they are defined)."""
    paths = []
    for entry in copier_config()["_exclude"]:
        match = re.fullmatch(r"\{% if _copier_operation == 'update' %\}(.+)\{% endif %\}", entry)
        if match:
            paths.append(match.group(1))
    return paths


def is_author_owned(relpath: str, owned: list[str]) -> bool:
    """Whether the `_exclude` patterns `owned` cover relpath, matched the way Copier does (gitignore style)."""
    return pathspec.PathSpec.from_lines("gitignore", owned).match_file(relpath)


def files(root: Path) -> set[str]:
    """Every file under root, relative, without caches and git metadata."""
    skip = {"__pycache__", ".pytest_cache", ".git"}
    return {str(p.relative_to(root)) for p in root.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(root).parts)}


def render(dst: Path, answers: dict, src: Path | str = REPO, vcs_ref: str = "HEAD") -> Path:
    """`copier copy --defaults` through Copier's API. HEAD of a local repo includes uncommitted changes."""
    run_copy(str(src), str(dst), data=answers, vcs_ref=vcs_ref, defaults=True, quiet=True)
    return dst


def copier_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The copier command line, unattended (no stdin), as an author or CI runs it."""
    return subprocess.run([str(Path(sys.executable).with_name("copier")), *args], cwd=cwd, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=300, env={**os.environ, **GIT_ENV})


def run_plugin_tests(plugin: Path, extra: tuple[str, ...] = (), env: dict | None = None) -> subprocess.CompletedProcess:
    """A rendered plugin's own tests as its author and CI run them: `python -m pytest` in its own folder, in a
    fresh interpreter (the real core, SQLite only: lean)."""
    env = {**os.environ, "SHOPDB_TEST_MARIADB": "0", **(env or {})}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra], cwd=plugin,
                          env=env, text=True, capture_output=True, timeout=900)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, text=True, capture_output=True,
                          env={**os.environ, **GIT_ENV}).stdout.strip()


def template_repo(path: Path) -> Path:
    """A throwaway git repository holding this repo's template (copier.yml at its root), one commit."""
    path.mkdir(parents=True)
    for name in TEMPLATE_PATHS:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, path / name)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "template")
    return path


def leftovers(root: Path) -> list[str]:
    """Files an update left unresolved: .rej files, or conflict markers in text files."""
    found = [f for f in files(root) if f.endswith(".rej")]
    found += [f for f in files(root)
              if not f.endswith(".rej") and CONFLICT.search((root / f).read_text(errors="replace"))]
    return found
