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
                         "enforced": {}, "admin_exists": True}
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


def table_names():
    db.session.remove()
    return set(inspect(db.engine).get_table_names())


def test_with_exact_the_list_is_the_site_truth_unlisted_plugins_are_disabled_and_keep_their_data(make_app):
    app = make_app()
    with app.app_context():
        setup(app, "--exact", "--plugin", "gadgets", "--plugin", "gizmos")
        tables = table_names()
        assert {"gadgets_items", "gizmos_parts"} <= tables, tables
        dropped_gizmos = setup(app, "--exact", "--plugin", "gadgets")
        assert dropped_gizmos["changed"] is True
        assert list(dropped_gizmos["enforced"]) == ["gizmos"]
        assert "disabled" in dropped_gizmos["enforced"]["gizmos"]
        assert table_names() == tables  # data kept
        states = {row["name"]: row["state"] for row in app_status(app)}
        assert states["gadgets"] == "enabled" and states["gizmos"] == "disabled"
        again = setup(app, "--exact", "--plugin", "gadgets")
        assert again["changed"] is False and again["enforced"] == {}
        # Listed again, it is enabled again; so is one disabled by hand (the list is the truth).
        assert app.test_cli_runner().invoke(args=["plugin", "disable", "gadgets"]).exit_code == 0
        back = setup(app, "--exact", "--plugin", "gadgets", "--plugin", "gizmos")
        assert back["changed"] is True and sorted(back["enforced"]) == ["gadgets", "gizmos"]
        states = {row["name"]: row["state"] for row in app_status(app)}
        assert states["gadgets"] == states["gizmos"] == "enabled"


def test_without_exact_an_unlisted_plugin_is_left_as_it_is(make_app):
    app = make_app()
    with app.app_context():
        setup(app, "--plugin", "gadgets", "--plugin", "gizmos")
        result = setup(app, "--plugin", "gadgets")
        assert result["enforced"] == {} and result["changed"] is False
        assert {row["name"]: row["state"] for row in app_status(app)}["gizmos"] == "enabled"


def test_drop_data_uninstalls_an_unlisted_plugin_and_drops_its_tables(make_app):
    app = make_app()
    with app.app_context():
        setup(app, "--exact", "--plugin", "gadgets", "--plugin", "gizmos")
        result = setup(app, "--exact", "--plugin", "gadgets", "--drop-data", "gizmos")
        assert "dropped its tables" in result["enforced"]["gizmos"]
        assert "gizmos_parts" not in table_names() and "gadgets_items" in table_names()
        assert "gizmos" not in {row["name"] for row in app_status(app) if row["installed_version"]}
        assert setup(app, "--exact", "--plugin", "gadgets", "--drop-data", "gizmos")["changed"] is False


def test_a_plugin_both_listed_and_to_drop_or_drop_without_exact_is_refused_before_anything_changes(make_app):
    app = make_app()
    with app.app_context():
        both = run(app, "--exact", "--plugin", "gadgets", "--drop-data", "gadgets")
        assert both.exit_code == 2 and "gadgets is both listed and to have its data dropped" in both.output
        alone = run(app, "--plugin", "gadgets", "--drop-data", "gizmos")
        assert alone.exit_code == 2 and "--drop-data needs --exact" in alone.output
        assert table_names() == set()


def app_status(app):
    from app.plugins import lifecycle
    db.session.remove()
    return lifecycle.status()
