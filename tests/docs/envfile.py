"""Reading .env.example and finding every environment variable the app's code reads (by its AST)."""

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / ".env.example"
APP_DIR = ROOT / "app"

_ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")
_MARKER = re.compile(r"^#\s*\[(required|optional)\b")


@dataclass(frozen=True)
class EnvEntry:
    name: str
    value: str
    required: bool
    comment: str


def parse_env_example(path=ENV_EXAMPLE):
    """Each `NAME=value` line with the comment block just above it; the block must start with a marker."""
    entries, block = {}, []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("#"):
            block.append(line)
            continue
        if not line.strip():
            block = []
            continue
        match = _ASSIGNMENT.match(line)
        assert match, f"{path.name}:{number}: not a NAME=value line: {line!r}"
        name, value = match.groups()
        assert name not in entries, f"{path.name}:{number}: {name} is listed twice"
        marker = _MARKER.match(block[0]) if block else None
        assert marker, f"{path.name}:{number}: {name} needs a comment starting '# [required]' or '# [optional, ...]'"
        entries[name] = EnvEntry(name, value, marker.group(1) == "required", "\n".join(block))
        block = []
    return entries


def _imports_pytest(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "pytest" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "pytest":
            return True
    return False


def _is_environ(node):
    """`os.environ` (or a bare `environ` imported from os)."""
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ")


def _reader_call(call, readers):
    """The key expression when *call* reads the environment: os.environ.get(k), os.getenv(k) or reader(k)."""
    func = call.func
    if not call.args:
        return None
    if isinstance(func, ast.Attribute) and func.attr == "get" and _is_environ(func.value):
        return call.args[0]
    if isinstance(func, ast.Attribute) and func.attr == "getenv":
        return call.args[0]
    if isinstance(func, ast.Name) and func.id in readers:
        return call.args[0]
    if isinstance(func, ast.Attribute) and func.attr in readers:   # a method, e.g. self._bool(name)
        return call.args[0]
    return None


def env_vars_read_by(package_dir=APP_DIR):
    """Names of environment variables read anywhere in *package_dir*.

    Helper functions that pass a parameter through to the environment (like `_env(name)`) are found
    first, to a fixed point, so a new helper or a new call site is seen without changing this test.
    A read with a key that is neither a literal nor a helper's parameter is reported as an error.
    Modules that import pytest (fixtures shipped for plugin test suites) are test tooling, not the app.
    """
    trees = {path: ast.parse(path.read_text(), str(path)) for path in sorted(package_dir.rglob("*.py"))}
    trees = {path: tree for path, tree in trees.items() if not _imports_pytest(tree)}
    readers = set()
    changed = True
    while changed:
        changed = False
        for tree in trees.values():
            for fn in ast.walk(tree):
                if not isinstance(fn, ast.FunctionDef) or fn.name in readers:
                    continue
                params = {a.arg for a in fn.args.args}
                for node in ast.walk(fn):
                    key = _reader_call(node, readers) if isinstance(node, ast.Call) else None
                    if isinstance(key, ast.Name) and key.id in params:
                        readers.add(fn.name)
                        changed = True
                        break

    names, dynamic = set(), []
    for path, tree in trees.items():
        helper_bodies = {id(n) for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef) and fn.name in readers
                         for n in ast.walk(fn)}
        for node in ast.walk(tree):
            key = None
            if isinstance(node, ast.Call):
                key = _reader_call(node, readers)
            elif isinstance(node, ast.Subscript) and _is_environ(node.value):
                key = node.slice
            if key is None:
                continue
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                names.add(key.value)
            elif id(node) not in helper_bodies:
                dynamic.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return names, dynamic
