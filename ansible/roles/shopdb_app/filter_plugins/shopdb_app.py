"""The app role's filters. Rules it shares with the app, read from the app's own files so that each is
written once: the placeholder secrets (app/placeholders.py and its list, loaded by path). The plugin-name
rule is the `plugin_name` format of ansible/filter_plugins/shopdb_ranges.py, read from app/plugins/base.py.
And the plugin compatibility gate of ansible/update.yml's preflight (tasks/update_preflight.yml), and the
schema plan of a rollback (tasks/schema_plan.yml)."""
from functools import lru_cache
from pathlib import Path

from ansible.errors import AnsibleFilterError


@lru_cache(maxsize=None)
def _app_placeholders(path=None):
    """app/placeholders.py itself (its list and its one comparison rule, normalise()), loaded by path from the
    nearest folder above this file that holds it (the checkout, or the built collection, which ships it):
    the controller need not have shopdb installed."""
    import importlib.util

    path = path or next((f / "app" / "placeholders.py" for f in Path(__file__).resolve().parents
                         if (f / "app" / "placeholders.py").is_file()), Path("app/placeholders.py"))
    spec = importlib.util.spec_from_file_location("shopdb_app_placeholders", path)
    if spec is None or not Path(path).is_file():
        raise AnsibleFilterError(f"cannot read the placeholder rules {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _placeholders():
    return _app_placeholders().entries()


def placeholder(value):
    """True when `value` is a placeholder or example secret, compared as the app compares it (normalise())."""
    return isinstance(value, str) and _app_placeholders().is_placeholder(value)


# ----- The plugin compatibility gate (update.yml's preflight) -----

def release_plugins(wheelhouse, source_dir):
    """The plugin manifests (plugin.toml) a release brings: from the wheels of its wheelhouse when that is
    complete, else from the source tree it is built from. {name: {version, core_version}}."""
    import tomllib
    import zipfile
    from pathlib import Path

    found = {}
    wheelhouse = Path(wheelhouse)
    if (wheelhouse / ".complete").is_file():
        for wheel in sorted(wheelhouse.glob("*.whl")):
            with zipfile.ZipFile(wheel) as archive:
                for name in archive.namelist():
                    if name.endswith("/plugin.toml") and ".dist-info/" not in name:
                        data = tomllib.loads(archive.read(name).decode())
                        found.setdefault(data.get("name", name.split("/")[-2]), data)
    else:
        for manifest in sorted(Path(source_dir).glob("plugins/*/plugin.toml")):
            data = tomllib.loads(manifest.read_text())
            found.setdefault(data.get("name", manifest.parent.name), data)
    return {n: {"version": d.get("version"), "core_version": d.get("core_version")} for n, d in found.items()}


def plugin_conflicts(installed, manifests, release, site=""):
    """The site's installed plugins (as /api/ready lists them: name, version, state) that the release's copy
    (`manifests`, release_plugins) cannot run with: its core_version excludes `release`. Each a message naming
    the site, the plugin and both versions. A plugin the release does not bring is the loader's to report."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    try:
        target = Version(str(release))
    except InvalidVersion as exc:
        raise AnsibleFilterError(f"shopdb_release {release!r} is not a version: {exc}") from exc
    found = []
    for plugin in installed or []:
        manifest = manifests.get(plugin.get("name")) or {}
        if plugin.get("state") in (None, "not-installed") or not manifest.get("core_version"):
            continue
        label = f"{site}: plugin {plugin['name']} {manifest.get('version') or '-'}"
        try:
            spec = SpecifierSet(manifest["core_version"])
        except InvalidSpecifier:
            found.append(f"{label} declares core_version {manifest['core_version']!r}, which is not a version range")
            continue
        if not spec.contains(target, prereleases=True):
            found.append(f"{label} runs on shopdb {manifest['core_version']}, not on the release {release}")
    return found


def alembic_heads(lines):
    """The revisions `flask db heads` prints as heads ("REVISION (BRANCH) (head)")."""
    return [line.split()[0] for line in lines if "(head)" in line and line.split()]


def rollback_plan(heads_now_lines, heads_then_lines):
    """Where the schema goes back to: the heads only the older release has (downgrade targets), and those only
    the running one has; more of the latter than of the former means a branch the older release does not know."""
    now, then = alembic_heads(heads_now_lines), alembic_heads(heads_then_lines)
    downgrades = [h for h in then if h not in now]
    unknown = [h for h in now if h not in then]
    return {"downgrades": downgrades, "unknown": unknown, "safe": len(unknown) <= len(downgrades)}


class FilterModule:
    def filters(self):
        return {
            "shopdb_placeholder": placeholder,
            "shopdb_release_plugins": release_plugins,
            "shopdb_plugin_conflicts": plugin_conflicts,
            "shopdb_rollback_plan": rollback_plan,
        }
