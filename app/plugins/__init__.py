"""The plugin framework. Plugins import the contract from here: `from app.plugins import BasePlugin`."""
from app.plugins.base import HOOK_API_VERSION, BasePlugin, PluginMeta

__all__ = ["HOOK_API_VERSION", "BasePlugin", "PluginMeta", "init_app", "migration_locations"]


# Interim no-ops kept for the core's create_app/env.py until the loader lands (next commit).
def migration_locations():
    return []


def init_app(app):
    pass
