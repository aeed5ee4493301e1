"""What one detail request costs the database, kept fixed (bench/api.py, docs/PERFORMANCE.md "API"): the
statements it runs, the client/server round trips on MariaDB, and that ending each request's transaction
once (the pool's own ROLLBACK on return is off) still gives every request fresh data."""

import os
from contextlib import contextmanager

import pymysql
import pytest
from sqlalchemy import create_engine, insert, select, update
from sqlalchemy.pool import NullPool

from app.auth import hash_password, issue_api_token
from app.extensions import db
from app.models import Asset, AssetType, User

USE_MARIADB = os.environ.get("SHOPDB_TEST_MARIADB", "1") != "0"  # as in conftest.py


@pytest.fixture
def asset_id(app, seeded):
    with app.app_context():
        type_id = db.session.scalar(select(AssetType.id).limit(1))
        new_id = db.session.execute(insert(Asset).values(asset_tag="RC-1", name="before", asset_type_id=type_id,
                                                         status="in_service")).inserted_primary_key[0]
        db.session.commit()
    return new_id


@pytest.fixture
def bearer(app):
    """Authorization headers with a fresh viewer's personal API token."""
    with app.app_context():
        user = User(username="cost-viewer", password_hash=hash_password("cost-viewer-password"), role="viewer")
        _row, token = issue_api_token(user, "test")
        db.session.commit()
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def round_trips(monkeypatch):
    """Every command PyMySQL sends to the server while the block runs, as (command byte, text)."""
    sent = []
    send = pymysql.connections.Connection._execute_command

    def counting(connection, command, sql):
        sent.append((command, sql if isinstance(sql, str) else sql.decode(errors="replace")))
        return send(connection, command, sql)

    monkeypatch.setattr(pymysql.connections.Connection, "_execute_command", counting)
    yield sent
    monkeypatch.undo()


def test_a_detail_request_with_a_bearer_token_runs_two_statements(app, client, asset_id, bearer, sql_statements):
    client.get(f"/api/assets/{asset_id}", headers=bearer)  # the first request may connect
    with sql_statements(app) as seen:
        response = client.get(f"/api/assets/{asset_id}", headers=bearer)
    assert response.status_code == 200 and response.get_json()["asset_type"]["code"]
    # The token with its owner, then the asset with its type and location: nothing lazy-loaded afterwards.
    assert len(seen) == 2, seen
    assert "JOIN api_tokens" in seen[0] and seen[0].count("SELECT") == 1
    assert "password_hash" not in seen[0]  # the caller's id, name and role, not the whole User
    assert seen[1].startswith("SELECT assets.") and "LEFT OUTER JOIN asset_types" in seen[1]


def test_a_detail_request_with_a_cookie_session_runs_three_statements(app, api_as, asset_id, sql_statements):
    viewer = api_as("viewer")
    with sql_statements(app) as seen:
        response = viewer.get(f"/api/assets/{asset_id}")
    assert response.status_code == 200
    # The JWT blocklist, the user, the asset.
    assert len(seen) == 3, seen
    assert "token_blocklist" in seen[0] and "FROM users" in seen[1] and "FROM assets" in seen[2]


# Round trips are a client/server matter: this one runs on the session's MariaDB database only.
@pytest.mark.parametrize("database_url", [pytest.param("mariadb", marks=[
    pytest.mark.mariadb, pytest.mark.skipif(not USE_MARIADB, reason="SHOPDB_TEST_MARIADB=0")])], indirect=True)
def test_a_detail_request_costs_four_round_trips_on_mariadb(app, client, asset_id, bearer, monkeypatch):
    client.get(f"/api/assets/{asset_id}", headers=bearer)
    with round_trips(monkeypatch) as sent:
        assert client.get(f"/api/assets/{asset_id}", headers=bearer).status_code == 200
    kinds = ["PING" if command == pymysql.constants.COMMAND.COM_PING else sql.split()[0].upper()
             for command, sql in sent]
    # The pool's liveness check, the two SELECTs, and one ROLLBACK that ends the request's transaction
    # (with the pool's reset on return there was a second ROLLBACK).
    assert kinds == ["PING", "SELECT", "SELECT", "ROLLBACK"], sent


def test_every_request_sees_rows_committed_since_the_previous_one(app, client, asset_id, bearer):
    # The pool no longer rolls back on return: if a request left its transaction open, the next one on the same
    # connection would read that transaction's old snapshot (MariaDB's REPEATABLE READ) and hold its locks.
    assert client.get(f"/api/assets/{asset_id}", headers=bearer).get_json()["name"] == "before"
    other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    try:
        with other.begin() as connection:
            connection.execute(update(Asset.__table__).where(Asset.__table__.c.id == asset_id).values(name="after"))
    finally:
        other.dispose()
    assert client.get(f"/api/assets/{asset_id}", headers=bearer).get_json()["name"] == "after"
