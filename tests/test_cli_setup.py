"""`flask setup`, what a deploy runs on a site's database (one app start-up): migrations, reference data,
plugins and whether the first admin exists, reported as one JSON line whose "changed" says if anything did."""

import json

import pytest
from sqlalchemy import inspect

from app.extensions import db
from app.models import User

BACKENDS = ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]


@pytest.fixture(params=BACKENDS)
def fresh(request, app_factory, tmp_path):
    """A testing app on a brand-new, empty database (no migrations applied)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'site.sqlite'}"
    else:
        url = request.getfixturevalue("empty_mariadb_url")
    app = app_factory(url)
    yield app
    with app.app_context():
        db.engine.dispose()


def setup(app, *args):
    result = app.test_cli_runner().invoke(args=["setup", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.splitlines()[-1])


def test_a_fresh_site_is_set_up_once_and_a_second_run_changes_nothing(fresh):
    first = setup(fresh, "--plugin", "equipment", "--admin-username", "admin")
    assert first["changed"] is True and first["schema"]["before"] == []
    assert any(head.startswith("core_") for head in first["schema"]["after"])
    assert first["seeded"] > 0
    assert first["plugins_changed"] == ["equipment"] and first["plugins"]["equipment"].startswith("installed ")
    assert first["admin_exists"] is False

    created = fresh.test_cli_runner().invoke(args=["user", "create-admin", "--username", "admin",
                                                   "--password-stdin"], input="a long admin password\n")
    assert created.exit_code == 0, created.output
    again = setup(fresh, "--plugin", "equipment", "--admin-username", "admin")
    assert again == {**first, "changed": False, "schema": {"before": first["schema"]["after"],
                                                           "after": first["schema"]["after"]},
                     "seeded": 0, "plugins_changed": [], "admin_exists": True,
                     "plugins": {"equipment": again["plugins"]["equipment"]}}
    assert "already installed" in again["plugins"]["equipment"]
    with fresh.app_context():
        assert db.session.query(User).count() == 1


def test_a_disabled_plugin_stays_disabled_and_counts_as_no_change(fresh):
    setup(fresh, "--plugin", "equipment")
    runner = fresh.test_cli_runner()
    assert runner.invoke(args=["plugin", "disable", "equipment"]).exit_code == 0
    again = setup(fresh, "--plugin", "equipment")
    assert again["changed"] is False and again["admin_exists"] is None
    assert "already installed (disabled)" in again["plugins"]["equipment"]


def test_an_unknown_plugin_is_refused_before_anything_changes(fresh):
    result = fresh.test_cli_runner().invoke(args=["setup", "--plugin", "equipment", "--plugin", "equipmnt"])
    assert result.exit_code == 2
    assert "no plugin named equipmnt was discovered" in result.output and "equipment" in result.output
    with fresh.app_context():
        assert inspect(db.engine).get_table_names() == []
