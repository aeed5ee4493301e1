"""`flask setup`, what a deploy runs on a site's database (one app start-up): migrations, reference data,
plugins and whether the first admin exists, reported as one JSON line whose "changed" says if anything did.
On a fresh database (SQLite and MariaDB) with the fixture plugins of fixtures/good."""
import json

from sqlalchemy import inspect

from app.extensions import db
from app.models import User


def run(app, *args):
    db.session.remove()  # on MariaDB the test's own transaction would hide the command's writes
    return app.test_cli_runner().invoke(args=["setup", *args])


def setup(app, *args):
    result = run(app, *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.splitlines()[-1])


def test_a_fresh_site_is_set_up_once_and_a_second_run_changes_nothing(make_app):
    app = make_app()
    with app.app_context():
        first = setup(app, "--plugin", "gadgets", "--admin-username", "admin")
        assert first["changed"] is True and first["schema"]["before"] == []
        assert any(head.startswith("core_") for head in first["schema"]["after"])
        assert first["seeded"] > 0
        assert first["plugins_changed"] == ["gadgets"] and first["plugins"]["gadgets"].startswith("installed ")
        assert first["admin_exists"] is False

        created = app.test_cli_runner().invoke(args=["user", "create-admin", "--username", "admin",
                                                     "--password-stdin"], input="a long admin password\n")
        assert created.exit_code == 0, created.output
        again = setup(app, "--plugin", "gadgets", "--admin-username", "admin")
        heads = first["schema"]["after"]
        assert again == {"changed": False, "schema": {"before": heads, "after": heads}, "seeded": 0,
                         "plugins": {"gadgets": again["plugins"]["gadgets"]}, "plugins_changed": [],
                         "admin_exists": True}
        assert "already installed" in again["plugins"]["gadgets"]
        assert db.session.query(User).count() == 1


def test_a_disabled_plugin_stays_disabled_and_counts_as_no_change(make_app):
    app = make_app()
    with app.app_context():
        setup(app, "--plugin", "gadgets")
        db.session.remove()
        assert app.test_cli_runner().invoke(args=["plugin", "disable", "gadgets"]).exit_code == 0
        again = setup(app, "--plugin", "gadgets")
        assert again["changed"] is False and again["admin_exists"] is None
        assert "already installed (disabled)" in again["plugins"]["gadgets"]


def test_an_unknown_plugin_is_refused_before_anything_changes(make_app):
    app = make_app()
    with app.app_context():
        result = run(app, "--plugin", "gadgets", "--plugin", "gadgetz")
        assert result.exit_code == 2
        assert "no plugin named gadgetz was discovered" in result.output and "gizmos" in result.output
        assert inspect(db.engine).get_table_names() == []
