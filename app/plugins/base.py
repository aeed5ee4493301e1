"""The plugin contract: the manifest a plugin ships and the base class it implements.

Everything in this module is frozen public API (see docs/PLUGIN-HOOKS.md): changing a hook's name or
signature is a hook-API major change and bumps HOOK_API_VERSION.
"""
from __future__ import annotations

import abc
import inspect
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

if TYPE_CHECKING:
    from flask import Blueprint

# The hook API this core implements. A plugin class declares the one it was written for in `hook_api`;
# the loader refuses any other value, so a plugin never runs against hooks it does not know.
HOOK_API_VERSION = 1

MANIFEST_NAME = "plugin.toml"
# Plugin names become table prefixes, URL segments, blueprint names and Alembic branch labels; the same
# rule as the template's plugin_name question. At most 27 characters, so revision ids like "<name>_0001"
# fit Alembic's 32-character version_num column.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]{1,26}$")
_REQUIRED_KEYS = ("name", "version", "description", "core_version")
_OPTIONAL_KEYS = ("display_name",)


class PluginError(Exception):
    """A plugin is unusable; the message names the plugin, the problem and the fix."""


class ManifestError(PluginError):
    """plugin.toml is missing or invalid."""


@dataclass(frozen=True)
class PluginMeta:
    """What plugin.toml declares, validated."""

    name: str
    version: Version
    description: str
    core_version: SpecifierSet
    display_name: str
    path: Path  # the plugin package directory (the one holding plugin.toml)

    def supports(self, core: str | Version) -> bool:
        """True when this plugin declares itself compatible with core version `core`."""
        return self.core_version.contains(Version(str(core)), prereleases=True)

    @property
    def migrations_dir(self) -> Path:
        return self.path / "migrations" / "versions"


def load_manifest(package_dir: Path) -> PluginMeta:
    """Read and validate <package_dir>/plugin.toml; raise ManifestError naming every problem."""
    path = Path(package_dir) / MANIFEST_NAME
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ManifestError(f"{path}: missing; every plugin package ships a plugin.toml") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: not valid TOML ({exc})") from None

    problems = [f"missing key '{k}'" for k in _REQUIRED_KEYS if k not in data]
    problems += [
        f"unknown key '{k}' (allowed: {', '.join(_REQUIRED_KEYS + _OPTIONAL_KEYS)})"
        for k in data
        if k not in _REQUIRED_KEYS + _OPTIONAL_KEYS
    ]
    problems += [f"'{k}' must be a string" for k in data if not isinstance(data[k], str)]
    if problems:
        raise ManifestError(f"{path}: " + "; ".join(problems))

    if not NAME_PATTERN.match(data["name"]):
        problems.append(f"name '{data['name']}' must match {NAME_PATTERN.pattern}")
    try:
        version = Version(data["version"])
    except InvalidVersion:
        problems.append(f"version '{data['version']}' is not a PEP 440 version (e.g. 1.0.0)")
    try:
        core_version = SpecifierSet(data["core_version"])
    except InvalidSpecifier:
        problems.append(f"core_version '{data['core_version']}' is not a PEP 440 specifier (e.g. >=0.1,<1)")
    else:
        if not data["core_version"].strip():
            problems.append("core_version is empty; give a range such as '>=0.1,<1'")
    if problems:
        raise ManifestError(f"{path}: " + "; ".join(problems))

    return PluginMeta(
        name=data["name"],
        version=version,
        description=data["description"],
        core_version=core_version,
        display_name=data.get("display_name", data["name"]),
        path=Path(package_dir).resolve(),
    )


class BasePlugin(abc.ABC):
    """Subclass this once per plugin and expose an instance as `plugin` in the package __init__.py.

    The loader sets `meta` (from plugin.toml) before it calls any hook. Hooks run inside an app context.
    """

    hook_api: ClassVar[int] = HOOK_API_VERSION
    meta: PluginMeta

    @property
    def name(self) -> str:
        return self.meta.name

    @abc.abstractmethod
    def get_blueprint(self) -> Blueprint:
        """Return the plugin's blueprint (a flask_smorest.Blueprint named like the plugin, no url_prefix).

        Called once per app at start-up; the loader mounts it under /api/plugins/<name>.
        """

    @abc.abstractmethod
    def get_models(self) -> Sequence[type]:
        """Return the plugin's SQLAlchemy model classes (all tables named `<name>_...`).

        Called once per app at start-up for every discovered plugin, enabled or not, so Alembic sees them.
        """

    @abc.abstractmethod
    def on_install(self) -> None:
        """Seed the plugin's reference data (e.g. its AssetType row) through app.extensions.db.session.

        Runs in `flask plugin install` after the plugin's migrations, in one transaction that the framework
        commits (do not commit). Must be idempotent: look rows up by natural key before inserting.
        """

    def on_uninstall(self, drop_data: bool) -> None:  # noqa: B027 - optional hook, default does nothing
        """Optional clean-up in `flask plugin uninstall`, in a transaction the framework commits.

        Runs before the plugin's tables are dropped when drop_data is True. Never touch core tables' rows
        that other code may still reference; the plugin's own rows go away with its tables.
        """


# The hooks and their parameters; the loader rejects plugin classes whose hooks differ, and any other
# public `on_*` method (a misspelt hook would otherwise silently never run).
HOOKS: dict[str, tuple[str, ...]] = {
    "get_blueprint": ("self",),
    "get_models": ("self",),
    "on_install": ("self",),
    "on_uninstall": ("self", "drop_data"),
}


def check_hooks(plugin: BasePlugin) -> None:
    """Raise PluginError if the plugin's class declares a hook API or hook signatures this core lacks."""
    cls = type(plugin)
    if cls.hook_api != HOOK_API_VERSION:
        raise PluginError(
            f"{cls.__qualname__} targets hook API {cls.hook_api}, this core implements {HOOK_API_VERSION}; "
            "update the plugin (copier update) or install a matching shopdb release"
        )
    for attr in dir(cls):
        if attr.startswith("on_") and attr not in HOOKS:
            raise PluginError(f"{cls.__qualname__}.{attr} is not a hook (hooks: {', '.join(HOOKS)})")
    for hook, params in HOOKS.items():
        got = tuple(inspect.signature(getattr(cls, hook)).parameters)
        if got != params:
            raise PluginError(
                f"{cls.__qualname__}.{hook}{inspect.signature(getattr(cls, hook))} does not match "
                f"the hook signature ({', '.join(params)})"
            )
