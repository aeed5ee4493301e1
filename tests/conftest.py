"""Fixtures for the core suite.

Every test that uses `app` (or `client`, `api_as`, ...) runs twice: on SQLite and on a real MariaDB.
Each test run creates its own MariaDB database `shopdb_test_<random>` as root over the unix socket and drops
it at the end; SHOPDB_TEST_MARIADB=0 leaves MariaDB out (`make test-fast`). The schema comes from the
migrations (`upgrade heads`), never from create_all, and every table is emptied after each test.
"""

import os
import secrets
from contextlib import contextmanager

import flask_migrate
import pymysql
import pytest
from sqlalchemy import event, inspect, select

from app import create_app
from app.auth import hash_password
from app.extensions import db
from app.models import User

MARIADB_SOCKET = "/run/mysqld/mysqld.sock"
USE_MARIADB = os.environ.get("SHOPDB_TEST_MARIADB", "1") != "0"
PASSWORD = "correct horse battery staple"


def mariadb_url(name):
    return f"mysql+pymysql://root@localhost/{name}?unix_socket={MARIADB_SOCKET}&charset=utf8mb4"


def _root_sql(statement):
    connection = pymysql.connect(unix_socket=MARIADB_SOCKET, user="root")
    try:
        connection.cursor().execute(statement)
    finally:
        connection.close()


@contextmanager
def mariadb_database():
    """A fresh, empty MariaDB database for the duration of the block; yields its URL."""
    name = f"shopdb_test_{secrets.token_hex(4)}"
    _root_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    try:
        yield mariadb_url(name)
    finally:
        _root_sql(f"DROP DATABASE IF EXISTS {name}")


def make_app(url, **overrides):
    return create_app("testing", overrides={"SQLALCHEMY_DATABASE_URI": url, **overrides})


def migrate_to_heads(app):
    with app.app_context():
        flask_migrate.upgrade(revision="heads")


BACKENDS = ["sqlite", pytest.param("mariadb", marks=[
    pytest.mark.mariadb,
    pytest.mark.skipif(not USE_MARIADB, reason="SHOPDB_TEST_MARIADB=0"),
])]


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """The URL of a migrated database for this test session, one per backend."""
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "shopdb.sqlite")
    else:
        with mariadb_database() as url:
            yield url


@pytest.fixture(scope="session")
def _session_app(database_url):
    app = make_app(database_url)
    migrate_to_heads(app)
    with app.app_context():
        existing = set(inspect(db.engine).get_table_names())
    app.extensions["test_tables"] = [t for t in reversed(db.metadata.sorted_tables) if t.name in existing]
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(_session_app):
    """The migrated app of the current backend; every table is emptied after the test."""
    yield _session_app
    with _session_app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in _session_app.extensions["test_tables"]:
                connection.execute(table.delete())


@pytest.fixture
def client(app):
    return app.test_client()


class ApiClient:
    """A test client that adds the CSRF header (cookie sessions) or the Bearer token on every request."""

    def __init__(self, client, csrf=None, token=None):
        self.client, self.csrf, self.token = client, csrf, token

    def open(self, method, url, headers=None, **kwargs):
        headers = dict(headers or {})
        if self.csrf and method != "GET":
            headers.setdefault("X-CSRF-TOKEN", self.csrf)
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return self.client.open(url, method=method, headers=headers, **kwargs)

    def get(self, url, **kw):
        return self.open("GET", url, **kw)

    def post(self, url, **kw):
        return self.open("POST", url, **kw)

    def patch(self, url, **kw):
        return self.open("PATCH", url, **kw)

    def delete(self, url, **kw):
        return self.open("DELETE", url, **kw)


@pytest.fixture
def password():
    """The password `make_user` gives users unless told otherwise."""
    return PASSWORD


@pytest.fixture
def make_user(app):
    """`make_user("bob", "editor")` -> the new user's id (password: the `password` fixture)."""

    def factory(username, role, password=PASSWORD, is_active=True):
        with app.app_context():
            user = User(username=username, password_hash=hash_password(password), role=role, is_active=is_active)
            db.session.add(user)
            db.session.commit()
            return user.id

    return factory


@pytest.fixture
def login():
    """`login(client, "bob")` -> an ApiClient on that client's cookie session, CSRF header included."""

    def factory(client, username, password=PASSWORD):
        response = client.post("/api/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.get_json()
        return ApiClient(client, csrf=client.get_cookie("csrf_access_token").value)

    return factory


@pytest.fixture
def api_as(app, make_user, login):
    """`api_as("editor")` -> an ApiClient logged in (cookie session) as a fresh user with that role."""

    def factory(role, username=None):
        username = username or f"{role}-{secrets.token_hex(3)}"
        make_user(username, role)
        return login(app.test_client(), username)

    return factory


@pytest.fixture
def seeded(app):
    result = app.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    return app


@pytest.fixture
def rows(app):
    """`rows(Asset, status="spare")` -> matching rows as dicts, read fresh from the database."""

    def fetch(model, **filters):
        with app.app_context():
            stmt = select(model).filter_by(**filters).order_by(*model.__table__.primary_key.columns)
            return [{c.key: getattr(r, c.key) for c in model.__table__.columns} for r in db.session.scalars(stmt)]

    return fetch


@pytest.fixture
def app_factory():
    """`app_factory(url, **config)` -> a testing app on that database (not migrated)."""
    return make_app


@pytest.fixture
def empty_mariadb_url():
    """A brand-new, empty MariaDB database for this one test (skipped with SHOPDB_TEST_MARIADB=0)."""
    if not USE_MARIADB:
        pytest.skip("SHOPDB_TEST_MARIADB=0")
    with mariadb_database() as url:
        yield url


@pytest.fixture
def sql_statements():
    """`with sql_statements(app) as seen:` collects the SQL the app sends in the block, whitespace-normalised,
    with literal values where the driver renders them (PyMySQL), so tests can count, read and EXPLAIN them."""

    @contextmanager
    def capture(app):
        seen = []

        def listener(_conn, cursor, statement, parameters, _context, _executemany):
            sql = cursor.mogrify(statement, parameters) if hasattr(cursor, "mogrify") else statement
            seen.append(" ".join(sql.split()))

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", listener)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", listener)

    return capture
