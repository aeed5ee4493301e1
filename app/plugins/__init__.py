"""The plugin framework. Plugins import the contract from here: `from app.plugins import BasePlugin`.

The core calls `init_app(app)` once in create_app (after the extensions are bound); Flask-Migrate's configure
callback below puts `migration_locations()` on Alembic's version_locations; /api/ready calls `status()`.
"""
import os
from pathlib import Path

from flask import Flask, abort, current_app, request

from app.extensions import migrate
from app.plugins.base import HOOK_API_VERSION, BasePlugin, PluginError, PluginMeta
from app.plugins.loader import PluginManager, core_version, discover

__all__ = [
    "HOOK_API_VERSION", "BasePlugin", "PluginError", "PluginMeta", "init_app", "migration_locations", "status",
    "unused_heads",
]


def init_app(app: Flask) -> None:
    """Discover and load every plugin, mount their blueprints, add `flask plugin` and the route gate."""
    from app.plugins.cli import plugin_cli

    paths = app.config.get("PLUGIN_PATHS") or []
    if isinstance(paths, str):
        paths = [p for p in paths.split(os.pathsep) if p]
    manager = PluginManager(strict=bool(app.config.get("PLUGINS_STRICT")))
    app.extensions["shopdb_plugins"] = manager
    with app.app_context():  # hooks may rely on current_app
        manager.load(app, discover(paths, manager), core_version())
    app.before_request(_gate_disabled_plugins)
    app.cli.add_command(plugin_cli)


def _gate_disabled_plugins():
    """404 for any route of a plugin that this site has not enabled.

    Every loaded plugin's blueprint is registered at start-up (Flask cannot unregister one), and the
    registry row is read on each plugin request, so `flask plugin enable/disable` takes effect at once in
    every gunicorn worker with no restart and no per-worker cache to drift.
    """
    blueprints = request.blueprints
    if blueprints:
        from app.plugins.lifecycle import is_enabled

        top = blueprints[-1]  # the outermost blueprint: the plugin's own, even for nested ones
        if top in current_app.extensions["shopdb_plugins"].blueprints and not is_enabled(top):
            abort(404)


def migration_locations() -> list[str]:
    """Every discovered plugin's migrations/versions folder, enabled or not (needs an app context)."""
    manager = current_app.extensions.get("shopdb_plugins")
    return manager.migration_locations() if manager else []


@migrate.configure
def _version_locations(config):
    """Put the core versions folder and every plugin's on Alembic's version_locations.

    A configure callback, because Alembic builds its ScriptDirectory before env.py runs (too late to add folders).
    """
    core = Path(config.get_main_option("script_location")) / "versions"
    locations = [str(core), *migration_locations()]
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(locations))
    return config


def status() -> list[dict]:
    """Each plugin's name, version, state, error and `ok` (False: enabled here but not loadable)."""
    from app.plugins.lifecycle import status as _status

    return _status()


def unused_heads(script, current) -> set[str]:
    """Heads /api/ready need not wait for: branches of plugins neither installed nor migrated on this site."""
    from app.plugins.lifecycle import unused_heads as _unused_heads

    return _unused_heads(script, set(current))
