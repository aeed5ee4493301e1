"""Discovery, validation and registration of plugins at app start-up.

Sources, in this order (the first plugin of a name wins, later ones are marked failed):
1. every directory in the SHOPDB_PLUGIN_PATHS config (a list, or a string split on os.pathsep):
   <dir>/<name>/plugin.toml, imported under a private parent package per directory;
2. the entry-point group `shopdb.plugins` (`<name> = "package:plugin"`): site plugins installed as wheels, and
   the first-party plugins, which the shopdb wheel declares the same way (the repository's plugins/<name>/,
   installed as `app.first_party.<name>`: docs/adr/0009-one-top-level-package.md).

A plugin that fails any step is recorded as failed with its reason and logged at ERROR; the app starts
without it. With SHOPDB_PLUGINS_STRICT the first failure raises instead.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import logging
import os
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

from flask import Blueprint, Flask
from packaging.version import Version

from app.plugins.base import MANIFEST_NAME, BasePlugin, PluginError, PluginMeta, check_hooks, load_manifest

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "shopdb.plugins"
URL_PREFIX = "/api/plugins"

# Load states (in memory, per process). The site's enablement lives in the plugin_registry table.
LOADED = "loaded"
FAILED = "failed"
INCOMPATIBLE = "incompatible"


def core_version() -> Version:
    """The installed shopdb version that plugins' core_version specifiers are checked against."""
    return Version(importlib.metadata.version("shopdb"))


def core_tables() -> set[str]:
    """Tables of the core's models (classes defined in `app.models`). Plugin models share the same metadata
    and stay in it once imported, so "already in the metadata" does not mean "core"."""
    from app.extensions import db

    return {
        mapper.local_table.name
        for mapper in db.Model.registry.mappers
        if mapper.class_.__module__.startswith("app.models.")
    }


@dataclass
class Candidate:
    """A plugin found by discovery, before it is imported."""

    name: str  # the directory or entry-point name; the manifest must agree
    module: str  # the import name of the plugin package
    package_dir: Path | None
    origin: str  # human-readable: where it was found
    entry_point: importlib.metadata.EntryPoint | None = None


@dataclass
class LoadedPlugin:
    """One discovered plugin and what happened when loading it."""

    name: str
    origin: str
    state: str = FAILED
    error: str | None = None
    meta: PluginMeta | None = None
    plugin: BasePlugin | None = None
    tables: tuple[str, ...] = ()
    # True when this entry owns the name (first of its name): its migrations are on version_locations.
    owns_name: bool = True

    @property
    def ok(self) -> bool:
        return self.state == LOADED


@dataclass
class PluginManager:
    """The plugins of one app, keyed by name. Stored in app.extensions['shopdb_plugins']."""

    strict: bool = False
    plugins: dict[str, LoadedPlugin] = field(default_factory=dict)
    rejected: list[LoadedPlugin] = field(default_factory=list)  # later duplicates of a name
    blueprints: set[str] = field(default_factory=set)  # mounted plugin blueprints (named like their plugin)

    def get(self, name: str) -> LoadedPlugin | None:
        return self.plugins.get(name)

    def all(self) -> list[LoadedPlugin]:
        return sorted([*self.plugins.values(), *self.rejected], key=lambda p: (p.name, p.origin))

    def migration_locations(self) -> list[str]:
        """Every discovered plugin's migrations/versions folder, whatever its state, so that revisions
        already applied on a site always resolve (a disabled or broken plugin's branch stays known)."""
        return sorted(
            str(p.meta.migrations_dir)
            for p in self.plugins.values()
            if p.meta is not None and p.meta.migrations_dir.is_dir()
        )

    # -- loading ---------------------------------------------------------------------------------

    def fail(self, entry: LoadedPlugin, state: str, reason: str, exc: BaseException | None = None) -> None:
        entry.state, entry.error = state, reason
        if self.strict:
            raise PluginError(f"plugin '{entry.name}' ({entry.origin}): {reason}") from exc
        # A traceback only for errors in the plugin's own code; the loader's own findings are explicit.
        trace = exc if exc is not None and not isinstance(exc, PluginError) else None
        log.error("plugin %s (%s) %s: %s", entry.name, entry.origin, state, reason, exc_info=trace)

    def load(self, app: Flask, candidates: list[Candidate], core: Version) -> None:
        table_owner = {t: "core" for t in core_tables()}
        for cand in candidates:
            entry = LoadedPlugin(name=cand.name, origin=cand.origin)
            if cand.name in self.plugins:
                entry.owns_name = False
                self.rejected.append(entry)
                first = self.plugins[cand.name]
                self.fail(entry, FAILED, f"duplicate plugin name: '{cand.name}' is already provided by "
                          f"{first.origin}; remove or rename one of them")
                continue
            self.plugins[cand.name] = entry
            self._load_one(app, cand, entry, core, table_owner)

    def _load_one(self, app, cand: Candidate, entry: LoadedPlugin, core: Version, table_owner) -> None:
        try:
            entry.meta = meta = load_manifest(cand.package_dir)
        except PluginError as exc:
            return self.fail(entry, FAILED, str(exc), exc)
        if meta.name != cand.name or cand.module.rpartition(".")[2] != cand.name:
            entry.meta = None  # its migrations cannot be trusted to carry the right branch label
            return self.fail(entry, FAILED, f"plugin.toml names '{meta.name}' but the plugin was found as "
                             f"'{cand.name}' (package {cand.module}); make the manifest name, directory and "
                             "package name the same")
        if not meta.supports(core):
            return self.fail(entry, INCOMPATIBLE, f"{meta.name} {meta.version} requires shopdb "
                             f"'{meta.core_version}', this is shopdb {core}; install a {meta.name} release "
                             "built for this shopdb or upgrade shopdb")
        try:
            if cand.entry_point is not None:
                plugin = cand.entry_point.load()
            else:
                plugin = getattr(importlib.import_module(cand.module), "plugin", None)
        except Exception as exc:  # any import-time error in third-party code must not stop the app
            return self.fail(entry, FAILED, f"import failed: {type(exc).__name__}: {exc}", exc)
        if not isinstance(plugin, BasePlugin):
            return self.fail(entry, FAILED, f"{cand.module} must expose `plugin`, an instance of a "
                             f"BasePlugin subclass (got {type(plugin).__name__}); add `plugin = MyPlugin()`")
        plugin.meta = meta
        entry.plugin = plugin
        try:
            check_hooks(plugin)
            entry.tables = self._claim_tables(plugin, table_owner)
            self._register_blueprint(app, plugin)
        except Exception as exc:
            reason = str(exc) if isinstance(exc, PluginError) else f"{type(exc).__name__}: {exc}"
            return self.fail(entry, FAILED, reason, exc)
        entry.state = LOADED

    def _claim_tables(self, plugin: BasePlugin, table_owner: dict[str, str]) -> tuple[str, ...]:
        name = plugin.meta.name
        tables = []
        for model in plugin.get_models():
            table = getattr(model, "__table__", None)
            if table is None:
                raise PluginError(f"get_models() returned {model!r}, which is not a mapped model class")
            tables.append(table.name)
        for table in tables:
            if table_owner.get(table, name) != name:
                raise PluginError(f"table '{table}' collides with a table of {table_owner[table]}; "
                                  f"prefix the plugin's tables with '{name}_'")
            if not table.startswith(f"{name}_"):
                raise PluginError(f"table '{table}' must be prefixed '{name}_' (rename its __tablename__)")
        # Claim only once all tables passed, so a rejected plugin blocks no one.
        table_owner.update({t: f"plugin '{name}'" for t in tables})
        return tuple(sorted(tables))

    def _register_blueprint(self, app: Flask, plugin: BasePlugin) -> None:
        from flask_smorest import Blueprint as ApiBlueprint

        from app.extensions import api

        name = plugin.meta.name
        bp = plugin.get_blueprint()
        if not isinstance(bp, Blueprint):
            raise PluginError(f"get_blueprint() returned {type(bp).__name__}; return a flask_smorest.Blueprint")
        if bp.name != name:
            raise PluginError(f"blueprint is named '{bp.name}'; name it '{name}' like the plugin")
        if name in app.blueprints:
            raise PluginError(f"blueprint name '{name}' is already taken by {app.blueprints[name].import_name}")
        prefix = f"{URL_PREFIX}/{name}"
        if isinstance(bp, ApiBlueprint):
            api.register_blueprint(bp, url_prefix=prefix)  # also documents it in the OpenAPI spec
        else:
            app.register_blueprint(bp, url_prefix=prefix)
        self.blueprints.add(name)


# -- discovery ---------------------------------------------------------------------------------------


def _scan_dir(directory: Path, parent_module: str, origin: str) -> list[Candidate]:
    found = []
    for sub in sorted(directory.iterdir()):
        if sub.is_dir() and (sub / MANIFEST_NAME).is_file():
            found.append(Candidate(sub.name, f"{parent_module}.{sub.name}", sub, f"{origin}/{sub.name}"))
    return found


def _extra_path(directory: str) -> list[Candidate]:
    """Plugins in a directory of their own (tests, site-local checkouts).

    Each directory gets a private parent package so two directories may hold packages of the same name.
    """
    path = Path(directory).resolve()
    if not path.is_dir():
        raise PluginError(f"SHOPDB_PLUGIN_PATHS entry '{directory}' is not a directory")
    parent = "_shopdb_plugin_path_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    if parent not in sys.modules:
        module = types.ModuleType(parent, f"plugins found in {path}")
        module.__path__ = [str(path)]
        sys.modules[parent] = module
    return _scan_dir(path, parent, str(path))


def _entry_points() -> list[Candidate]:
    found = []
    for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        package = ep.module
        origin = f"entry point {ep.name} = {ep.value}"
        try:
            spec = importlib.util.find_spec(package)
            locations = spec.submodule_search_locations if spec else None
        except Exception:  # a broken parent package; the import step will report it
            locations = None
        package_dir = Path(locations[0]) if locations else Path(os.devnull)
        found.append(Candidate(ep.name, package, package_dir, origin, entry_point=ep))
    return found


def discover(extra_paths: list[str], manager: PluginManager) -> list[Candidate]:
    candidates = []
    for directory in extra_paths:
        try:
            candidates += _extra_path(directory)
        except PluginError as exc:
            if manager.strict:
                raise
            log.error("%s; fix or remove it", exc)
    return candidates + _entry_points()
