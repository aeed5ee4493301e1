"""Test harness for the computers plugin. Template-owned: `copier update` keeps it in step with shopdb.

The fixtures come from the real core (app.plugins.testing): `app` is a shopdb app on a fresh database
migrated to `heads` with this plugin installed, in strict mode; `viewer_client` and `editor_client` send a
personal API token; `migrations` runs Alembic. Tests run on SQLite and, where MariaDB is reachable, on
MariaDB too (SHOPDB_TEST_MARIADB=0 skips those; marker `mariadb`).

Each test request runs as in production: in its own app context, so in its own Session and database
connection, ended when the request ends. A view that forgets to commit loses its write at the end of the
request, and the test's next request sees it lost (sharing the test's session would hide that). On SQLite,
every SELECT without ORDER BY returns its rows in reverse, so a list that relies on the database's
accidental order fails its ordering test.
"""
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event

from app.extensions import db
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


class RequestClient(FlaskClient):
    """A test client whose every request gets its own app context, Session and connection."""

    def open(self, *args, **kwargs):
        # End the test's own transaction first: the request sees what the test wrote, and on MariaDB the
        # test's next read sees what the request committed (not a snapshot from before it).
        db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


def _reverse_unordered_selects(dbapi_connection, _record):
    dbapi_connection.execute("PRAGMA reverse_unordered_selects = ON")


@pytest.fixture(autouse=True)
def _requests_as_in_production(request):
    """For tests that use the app: RequestClient for its clients, unordered SELECTs reversed on SQLite."""
    if "app" not in request.fixturenames:
        yield
        return
    flask_app = request.getfixturevalue("app")
    flask_app.test_client_class = RequestClient
    engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _reverse_unordered_selects)
        db.session.remove()
        engine.dispose()  # connections made from now on get the pragma
    yield
    if event.contains(engine, "connect", _reverse_unordered_selects):
        event.remove(engine, "connect", _reverse_unordered_selects)


@pytest.fixture
def loaded(app):
    """This plugin as the loader sees it: state, meta, plugin instance, tables."""
    return app.extensions["shopdb_plugins"].get(PLUGIN_NAME)
