"""Test harness for the equipment plugin. Template-owned: `copier update` keeps it in step with shopdb.

The fixtures come from the real core (app.plugins.testing): `app` is a shopdb app on a fresh database
migrated to `heads` with this plugin installed, in strict mode; `viewer_client` and `editor_client` send a
personal API token; `migrations` runs Alembic. Tests run on SQLite and, where MariaDB is reachable, on
MariaDB too (SHOPDB_TEST_MARIADB=0 skips those; marker `mariadb`).
"""
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from app.plugins.testing import *  # noqa: F401,F403 - the core's plugin fixtures

PROJECT_DIR = Path(__file__).resolve().parents[1]  # the plugin's repository (shopdb's plugins/<name>/ if first-party)
PLUGIN_DIR = PROJECT_DIR  # the package, holding plugin.toml
PLUGIN_NAME = tomllib.loads((PLUGIN_DIR / "plugin.toml").read_text())["name"]


def pytest_configure(config):
    # Registered here too, so the plugin's tests also run outside shopdb's own pytest configuration.
    config.addinivalue_line("markers", "mariadb: needs a real MariaDB server (skipped when SHOPDB_TEST_MARIADB=0)")


def first_party():
    """True when this plugin ships in the shopdb wheel (an entry point of shopdb itself)."""
    return any(ep.name == PLUGIN_NAME and ep.dist.name == "shopdb" for ep in entry_points(group="shopdb.plugins"))


@pytest.fixture
def shopdb_plugins():
    return [PLUGIN_NAME]


def installed_as_wheel():
    """True when the plugin is pip-installed (its `shopdb.plugins` entry point is found without help)."""
    return any(ep.name == PLUGIN_NAME for ep in entry_points(group="shopdb.plugins"))


@pytest.fixture
def shopdb_plugin_paths():
    # A plugin neither in shopdb's plugins/ nor pip-installed (a fresh render) is found through its parent dir.
    return [] if first_party() or installed_as_wheel() else [str(PLUGIN_DIR.parent)]


@pytest.fixture
def loaded(app):
    """This plugin as the loader sees it: state, meta, plugin instance, tables."""
    return app.extensions["shopdb_plugins"].get(PLUGIN_NAME)
