"""Finds what a `copier update` left unresolved in this plugin: conflict markers, `.rej` files and paths git
still lists as unmerged (`UU` in `git status`). Template-owned.

Run it on its own after every update, before committing; it imports nothing of shopdb or of the plugin, so
it works even when the conflict is in a file pytest must import (tests/conftest.py, __init__.py):

    python tests/update_leftovers.py        # exit 0: nothing left; exit 1: lists each file to resolve

tests/test_plugin.py runs the same check in the test suite, and .pre-commit-config.yaml before each commit.
"""
import re
import subprocess
import sys
from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parents[1]
# The start and end markers git merge-file writes (`=======` alone also appears in Markdown underlines).
CONFLICT = re.compile(r"^(<{7}|>{7})( |$)", re.MULTILINE)
SKIP = {".git", "__pycache__", ".pytest_cache", "build", "dist"}


def leftovers(root=PLUGIN_DIR):
    """Relative paths of the files still to resolve, sorted."""
    found = set()
    for path in root.rglob("*"):
        if not path.is_file() or SKIP & set(path.relative_to(root).parts):
            continue
        if path.suffix == ".rej":
            found.add(path)
        elif CONFLICT.search(path.read_bytes().decode("utf-8", errors="replace")):
            found.add(path)
    try:  # unmerged index entries: marked resolved only by `git add` (outside git there are none)
        unmerged = subprocess.run(["git", "ls-files", "--unmerged", "--full-name", "-z", "--", "."], cwd=root,
                                  capture_output=True, text=True, check=True).stdout
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True, text=True,
                             check=True).stdout.strip()
        found |= {Path(top) / entry.split("\t", 1)[1] for entry in unmerged.split("\0") if "\t" in entry}
    except (OSError, subprocess.CalledProcessError):
        pass
    return sorted(str(p.relative_to(root)) for p in found)


def main():
    left = leftovers()
    if not left:
        print("no copier update leftovers")
        return 0
    print("unresolved copier update conflicts in: " + ", ".join(left), file=sys.stderr)
    print("Keep the lines you want, delete the <<<<<<< ======= >>>>>>> markers, apply or delete each .rej "
          "file (it holds hunks that did not apply), then `git add -A` and run this again.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
