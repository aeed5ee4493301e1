"""pytest fixtures for plugin tests: a real app with chosen plugins installed, on SQLite and on MariaDB.

A plugin's tests/conftest.py imports them (this works at any depth, unlike `pytest_plugins`):

    from app.plugins.testing import *  # noqa: F401,F403

    @pytest.fixture
    def shopdb_plugins():
        return ["equipment"]

Override fixtures: `shopdb_plugins` (installed and enabled in `app`), `shopdb_plugin_paths` (extra discovery
directories), `shopdb_config` (extra config). Every test gets a fresh database migrated with
`upgrade heads` (as deploys do) and runs in strict mode, so a broken plugin fails the test.

MariaDB: root over the local unix socket by default; SHOPDB_TEST_MARIADB_URL (a server URL without a database)
points elsewhere; SHOPDB_TEST_MARIADB=0 skips the MariaDB variants (marker `mariadb`).
"""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

import pytest
from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

__all__ = [
    "shopdb_plugins",
    "shopdb_plugin_paths",
    "shopdb_config",
    "database_url",
    "mariadb_database",
    "make_app",
    "app",
    "migrations",
    "client",
    "viewer_client",
    "editor_client",
]

DEFAULT_MARIADB_URL = "mysql+pymysql://root@localhost/?unix_socket=/run/mysqld/mysqld.sock&charset=utf8mb4"


def mariadb_enabled() -> bool:
    return os.environ.get("SHOPDB_TEST_MARIADB", "1").strip().lower() not in ("0", "false", "no", "off")


@pytest.fixture
def shopdb_plugins() -> list[str]:
    """Plugins to install (and so enable) in `app`. Override in the plugin's conftest."""
    return []


@pytest.fixture
def shopdb_plugin_paths() -> list[str]:
    """Extra plugin discovery directories (config PLUGIN_PATHS); the entry points (first-party and installed
    plugins) are always scanned."""
    return []


@pytest.fixture
def shopdb_config() -> dict:
    """Extra config overrides for `app`."""
    return {}


@contextmanager
def mariadb_database():
    """A new, empty MariaDB database for the duration of the block (dropped after); yields its URL."""
    server = make_url(os.environ.get("SHOPDB_TEST_MARIADB_URL") or DEFAULT_MARIADB_URL)
    name = f"shopdb_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def database_url(request, tmp_path):
    """The URL of a new, empty database, dropped after the test; parametrized over SQLite and MariaDB."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shopdb.sqlite'}"
    elif not mariadb_enabled():
        pytest.skip("SHOPDB_TEST_MARIADB=0")
    else:
        with mariadb_database() as url:
            yield url


@pytest.fixture
def make_app(database_url, shopdb_plugin_paths, shopdb_config):
    """Factory: make_app(strict=True, **config) -> a new app on the test database, not yet migrated."""
    from app import create_app
    from app.extensions import db

    made = []

    def factory(strict: bool = True, **config):
        overrides = {"SQLALCHEMY_DATABASE_URI": database_url, "PLUGINS_STRICT": strict,
                     "PLUGIN_PATHS": list(shopdb_plugin_paths), **shopdb_config, **config}
        made.append(create_app("testing", overrides))
        return made[-1]

    yield factory
    for flask_app in made:
        with flask_app.app_context():
            db.session.remove()
            db.engine.dispose()


class Migrations:
    """Alembic operations on the app's database, with every plugin branch on version_locations."""

    def __init__(self, flask_app):
        self.app = flask_app

    def config(self):
        with self.app.app_context():
            return self.app.extensions["migrate"].migrate.get_config()

    def upgrade(self, target: str = "heads") -> None:
        with self.app.app_context():
            command.upgrade(self.app.extensions["migrate"].migrate.get_config(), target)

    def downgrade(self, target: str) -> None:
        with self.app.app_context():
            command.downgrade(self.app.extensions["migrate"].migrate.get_config(), target)

    def heads(self) -> set[str]:
        """The heads the code defines (core plus one per plugin branch)."""
        with self.app.app_context():
            return set(ScriptDirectory.from_config(self.config()).get_heads())

    def current(self) -> set[str]:
        """The revisions the database is at."""
        from app.extensions import db

        with self.app.app_context(), db.engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())

    def tables(self) -> set[str]:
        from app.extensions import db

        with self.app.app_context():
            return set(inspect(db.engine).get_table_names())


@pytest.fixture
def app(make_app, shopdb_plugins):
    """The app as a fresh site has it: `flask db upgrade heads`, `flask seed`, then `flask plugin install` of
    each of `shopdb_plugins`. The test runs inside an app context."""
    from app.plugins import lifecycle

    flask_app = make_app()
    Migrations(flask_app).upgrade("heads")
    with flask_app.app_context():  # pushed before any CLI call: the command must not run in a leftover context
        seeded = flask_app.test_cli_runner().invoke(args=["seed"])
        assert seeded.exit_code == 0, seeded.output
        for name in shopdb_plugins:
            lifecycle.install(name)
        yield flask_app


@pytest.fixture
def migrations(app):
    """Migrations of `app`: upgrade(target), downgrade(target), heads(), current(), tables()."""
    return Migrations(app)


@pytest.fixture
def client(app):
    """An anonymous test client."""
    return app.test_client()


def _client_as(flask_app, role: str):
    from app.auth import hash_password, issue_api_token
    from app.extensions import db
    from app.models import User

    user = User(username=f"test-{role}", password_hash=hash_password(uuid.uuid4().hex), role=role)
    db.session.add(user)
    _, token = issue_api_token(user, f"pytest {role}")
    db.session.commit()
    test_client = flask_app.test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"  # a personal API token: no CSRF dance
    return test_client


@pytest.fixture
def viewer_client(app):
    """A test client authenticated as a user with role viewer (read-only)."""
    return _client_as(app, "viewer")


@pytest.fixture
def editor_client(app):
    """A test client authenticated as a user with role editor (reads and writes assets)."""
    return _client_as(app, "editor")
