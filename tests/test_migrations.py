"""The migration runner on a real MariaDB: from empty to heads, down to base and up again, and no drift."""

import flask_migrate
import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from app.extensions import db


CORE_TABLES = {"assets", "asset_types", "asset_statuses", "locations", "users", "api_tokens", "token_blocklist",
               "login_attempts", "audit_log"}


def tables(app):
    with app.app_context():
        return set(inspect(db.engine).get_table_names())


def heads(app):
    with app.app_context():
        expected = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config()).get_heads()
        with db.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_heads()
    return set(current), set(expected)


@pytest.fixture
def fresh(app_factory, empty_mariadb_url):
    app = app_factory(empty_mariadb_url)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.mark.mariadb
def test_core_revision_ids_are_fixed(fresh):
    with fresh.app_context():
        script = ScriptDirectory.from_config(fresh.extensions["migrate"].migrate.get_config())
        first = script.get_revision("core_0001")
    assert first.down_revision is None
    assert "core" in first.branch_labels


@pytest.mark.mariadb
def test_upgrade_heads_from_empty_builds_the_schema(fresh):
    assert tables(fresh) == set()
    with fresh.app_context():
        flask_migrate.upgrade(revision="heads")
    assert CORE_TABLES <= tables(fresh)
    current, expected = heads(fresh)
    assert current == expected and current


@pytest.mark.mariadb
def test_downgrade_to_base_then_upgrade_again(fresh):
    with fresh.app_context():
        flask_migrate.upgrade(revision="heads")
        flask_migrate.downgrade(revision="base")
    assert tables(fresh) == {"alembic_version"}
    assert heads(fresh)[0] == set()
    with fresh.app_context():
        flask_migrate.upgrade(revision="heads")
    assert CORE_TABLES <= tables(fresh)
    current, expected = heads(fresh)
    assert current == expected


@pytest.mark.mariadb
def test_models_match_migrations_flask_db_check(fresh):
    """`flask db check`: autogenerate finds nothing to do after `upgrade heads`."""
    with fresh.app_context():
        flask_migrate.upgrade(revision="heads")
    result = fresh.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


@pytest.mark.mariadb
def test_flask_db_check_notices_drift(fresh):
    """The check above can fail: a schema that differs from the models is reported."""
    with fresh.app_context():
        flask_migrate.upgrade(revision="heads")
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP INDEX ix_assets_serial ON assets")
    result = fresh.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code != 0


def test_no_drift_on_each_backend(app):
    """The suite's own databases (SQLite and MariaDB), built by `upgrade heads`, match the models."""
    result = app.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


@pytest.fixture
def fresh_sqlite(app_factory, tmp_path):
    app = app_factory(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    yield app
    with app.app_context():
        db.engine.dispose()


def test_plain_flask_db_upgrade_brings_every_branch_to_its_head(fresh_sqlite):
    """`flask db upgrade`, the command Flask-Migrate's docs give, on a fresh database: core and plugins."""
    result = fresh_sqlite.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    current, expected = heads(fresh_sqlite)
    assert current == expected and len(current) > 1  # the core and the first-party plugins' branches
    assert fresh_sqlite.test_cli_runner().invoke(args=["db", "upgrade", "heads"]).exit_code == 0


def test_ambiguous_downgrade_is_refused_naming_the_branches(fresh_sqlite):
    runner = fresh_sqlite.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", "heads"]).exit_code == 0
    before, _ = heads(fresh_sqlite)
    for target in ([], ["--", "-1"], ["head-1"]):
        result = runner.invoke(args=["db", "downgrade", *target])
        assert result.exit_code == 2, result.output
        assert "ambiguous" in result.output
        for branch in ("core", "computers", "equipment", "printers"):
            assert branch in result.output
        assert "equipment@-1" in result.output or "printers@-1" in result.output
        assert heads(fresh_sqlite)[0] == before  # nothing changed
    one_branch = runner.invoke(args=["db", "downgrade", "printers@-1"])
    assert one_branch.exit_code == 0, one_branch.output
    assert heads(fresh_sqlite)[0] == before - {"printers_0001"}
