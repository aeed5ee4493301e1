"""The plugin registry's row and states, where plugins import them (frozen public API, docs/PLUGIN-HOOKS.md).

The model itself is one of the core models (app/models/plugins.py).
"""
from app.models.plugins import DISABLED, ENABLED, FAILED, PluginRecord

__all__ = ["DISABLED", "ENABLED", "FAILED", "PluginRecord"]
