"""Test harness for the equipment plugin. Template-owned: `copier update` keeps it in step with shopdb.

The fixtures come from the real core (app.plugins.testing): `app` is a shopdb app on a fresh database
migrated to `heads` with this plugin installed, in strict mode; `viewer_client` and `editor_client` send a
personal API token; `migrations` runs Alembic. Tests run on SQLite and, where MariaDB is reachable, on
MariaDB too (SHOPDB_TEST_MARIADB=0 skips those; marker `mariadb`).
"""
import tomllib
from pathlib import Path

import pytest

from app.plugins.testing import *  # noqa: F401,F403 - the core's plugin fixtures

PLUGIN_DIR = Path(__file__).resolve().parents[1]
PLUGIN_NAME = tomllib.loads((PLUGIN_DIR / "plugin.toml").read_text())["name"]


def pytest_configure(config):
    # Registered here too, so the plugin's tests also run outside shopdb's own pytest configuration.
    config.addinivalue_line("markers", "mariadb: needs a real MariaDB server (skipped when SHOPDB_TEST_MARIADB=0)")


def _first_party():
    """True when this plugin sits in shopdb's own plugins/ package (discovered without help)."""
    try:
        import plugins
    except ImportError:
        return False
    return PLUGIN_DIR.parent in {Path(p).resolve() for p in plugins.__path__}


@pytest.fixture
def shopdb_plugins():
    return [PLUGIN_NAME]


@pytest.fixture
def shopdb_plugin_paths():
    # A plugin outside shopdb's plugins/ (a site's own, or a fresh render) is found through its parent dir.
    return [] if _first_party() else [str(PLUGIN_DIR.parent)]


@pytest.fixture
def loaded(app):
    """This plugin as the loader sees it: state, meta, plugin instance, tables."""
    return app.extensions["shopdb_plugins"].get(PLUGIN_NAME)
