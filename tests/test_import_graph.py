"""The app package has no import circle: no module imports, directly or through others, a module that
imports it back. Every import counts, the deferred ones inside functions too: deferring an import hides a
circle from Python at start-up, not from the reader."""
import ast
from pathlib import Path

import app

APP_DIR = Path(app.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = path.relative_to(APP_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, (ast.Name, ast.Attribute)) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(tree: ast.AST, modules: set[str], this: str) -> set[str]:
    """The app modules `tree` imports (a `from package import name` of a submodule counts as that module)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and is_type_checking(node):
            node.body = []  # annotations only, never imported at run time
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module if node.level == 0 else ".".join(this.split(".")[:-node.level] + [node.module])
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {name for name in found if name in modules and name != this}


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in APP_DIR.rglob("*.py")}
    return {name: imports(ast.parse(path.read_text()), set(files), name) for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected component of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_walk_sees_a_circle():
    """The check can fail: a circle through a deferred import is reported."""
    graph = {"app.a": {"app.b"}, "app.b": {"app.c"}, "app.c": {"app.a"}, "app.d": {"app.a"}}
    assert cycles(graph) == [["app.a", "app.b", "app.c"]]
    tree = ast.parse("def f():\n    from app import b\n")
    assert imports(tree, {"app", "app.a", "app.b"}, "app.a") == {"app.b"}


def test_the_app_package_has_no_import_circle():
    graph = import_graph()
    assert len(graph) > 20 and graph["app.cli.db"]  # the walk found the package and its imports
    assert cycles(graph) == [], "import circles (each line: modules that import each other, directly or not)"
