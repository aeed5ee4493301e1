"""Per-site install, uninstall, enable and disable through `flask plugin`, on SQLite and MariaDB."""
from pathlib import Path

from sqlalchemy import inspect, text

from app.extensions import db
from app.models import Asset, AssetType
from app.plugins.registry import PluginRecord
from app.plugins.testing import Migrations

FIXTURES = Path(__file__).parent / "fixtures"


def cli(app, *args):
    # End the test's own transaction first: on MariaDB it would hide the command's writes from later reads
    # and its metadata locks would block the command's DDL.
    db.session.rollback()
    result = app.test_cli_runner().invoke(args=["plugin", *args])
    # stdout carries the command's answer; errors and Alembic's log lines go to stderr.
    return result.exit_code, result.stdout if result.exit_code == 0 else result.stderr


def snapshot():
    """Every row of every table, to prove an operation changed nothing."""
    rows = {}
    for table in sorted(inspect(db.engine).get_table_names()):
        rows[table] = sorted(map(tuple, db.session.execute(text(f"SELECT * FROM {table}")).all()), key=repr)
    return rows


def add_gadget(label):
    kind = db.session.scalar(db.select(AssetType).filter_by(code="gadget"))
    db.session.add(Asset(asset_tag=f"G-{label}", name=label, asset_type=kind, status="in_service"))
    db.session.flush()
    asset_id = db.session.scalar(db.select(Asset.id).filter_by(asset_tag=f"G-{label}"))
    db.session.execute(text("INSERT INTO gadgets_items (asset_id, label) VALUES (:a, :l)"), {"a": asset_id, "l": label})
    db.session.commit()


def test_install_migrates_seeds_enables_and_is_idempotent(app):
    code, out = cli(app, "install", "gadgets")
    assert (code, out.strip()) == (0, "installed gadgets 1.2.0 (enabled)")
    record = db.session.get(PluginRecord, "gadgets")
    assert (record.version, record.state, record.error) == ("1.2.0", "enabled", None)
    assert db.session.scalar(db.select(db.func.count()).select_from(AssetType).filter_by(code="gadget")) == 1
    before = snapshot()

    code, out = cli(app, "install", "gadgets")
    assert (code, out.strip()) == (0, "gadgets 1.2.0 already installed (enabled)")
    db.session.expire_all()
    assert snapshot() == before


def test_install_refuses_an_incompatible_plugin_and_changes_nothing(make_app):
    app = make_app(strict=False, PLUGIN_PATHS=[str(FIXTURES / "good"), str(FIXTURES / "broken")])
    Migrations(app).upgrade("core@head")
    with app.app_context():
        before = snapshot()
        code, out = cli(app, "install", "oldcore")
        assert code == 1
        assert "cannot install oldcore: oldcore 1.0.0 requires shopdb '>=999', this is shopdb 0.1.0" in out
        assert snapshot() == before


def test_install_unknown_plugin_lists_the_discovered_ones(app):
    code, out = cli(app, "install", "nosuch")
    assert code == 1 and "no plugin named 'nosuch' was discovered (discovered: " in out and "gadgets" in out


def test_disabled_and_uninstalled_plugins_answer_404(app, client):
    url = "/api/plugins/gadgets/items"
    assert client.get(url).status_code == 404  # discovered, not installed
    assert cli(app, "install", "gadgets")[0] == 0
    assert client.get(url).status_code == 200
    assert cli(app, "disable", "gadgets") == (0, "gadgets disabled (all workers serve or refuse its routes from "
                                                 "the next request)\n")
    assert client.get(url).status_code == 404
    assert client.get(url).json["error"]["code"] == "not_found"
    assert cli(app, "install", "gadgets")[1].strip() == "gadgets 1.2.0 already installed (disabled)"
    assert client.get(url).status_code == 404
    assert cli(app, "enable", "gadgets")[0] == 0
    assert client.get(url).status_code == 200
    assert client.get("/api/plugins/gizmos/ping").status_code == 404  # the other plugin stays off


def test_enable_disable_reach_every_worker_at_once(app, make_app):
    """Two apps on one database stand for two gunicorn workers: a CLI change is seen by both on the next request."""
    other_worker = make_app()
    url = "/api/plugins/gizmos/ping"
    assert other_worker.test_client().get(url).status_code == 404
    cli(app, "install", "gizmos")
    assert other_worker.test_client().get(url).status_code == 200
    cli(app, "disable", "gizmos")
    assert other_worker.test_client().get(url).status_code == 404


def test_enable_requires_install(app):
    code, out = cli(app, "enable", "gizmos")
    assert code == 1 and "plugin 'gizmos' is not installed on this site; run `flask plugin install gizmos`" in out


def test_uninstall_keeps_data_unless_told(app, client, migrations):
    cli(app, "install", "gadgets")
    add_gadget("kept")
    assert cli(app, "uninstall", "gadgets") == (0, "uninstalled gadgets (its tables and data are kept)\n")
    assert db.session.get(PluginRecord, "gadgets") is None
    assert client.get("/api/plugins/gadgets/items").status_code == 404
    assert db.session.execute(text("SELECT label FROM gadgets_items")).scalars().all() == ["kept"]

    cli(app, "install", "gadgets")  # back, with its data
    assert client.get("/api/plugins/gadgets/items").json == {"items": [{"asset_id": 1, "label": "kept"}]}

    assert cli(app, "uninstall", "gadgets", "--drop-data")[1] == "uninstalled gadgets and dropped its tables\n"
    assert "gadgets_items" not in migrations.tables()
    assert not {"gadgets_0001", "gadgets_0002"} & migrations.current()
    assert "assets" in migrations.tables()
    # The site no longer uses the branch, so readiness does not wait for it.
    assert client.get("/api/ready").status_code == 200


def test_ready_waits_for_the_branch_of_an_installed_plugin(app, client, migrations):
    cli(app, "install", "gadgets")
    db.session.remove()
    migrations.downgrade("gadgets@base")  # as if the deploy had skipped `flask db upgrade heads`
    ready = client.get("/api/ready")
    assert ready.status_code == 503
    assert "gadgets_0002" in ready.json["schema"]["expected"]
    assert "run `flask db upgrade heads`" in ready.json["problems"][0]


def test_uninstall_of_a_plugin_not_installed_is_refused(app):
    code, out = cli(app, "uninstall", "gizmos")
    assert code == 1 and "plugin 'gizmos' is not installed on this site" in out


def test_a_failing_on_install_seeds_nothing_and_is_shown(app, monkeypatch):
    plugin = app.extensions["shopdb_plugins"].get("gadgets").plugin

    def half_done():
        db.session.add(AssetType(code="half", name="Half-seeded"))
        db.session.flush()
        raise RuntimeError("seed file missing")

    monkeypatch.setattr(plugin, "on_install", half_done)
    code, err = cli(app, "install", "gadgets")
    assert code == 1
    assert "installing gadgets failed in on_install, nothing was seeded: RuntimeError: seed file missing" in err
    assert db.session.scalar(db.select(AssetType).filter_by(code="half")) is None  # rolled back
    record = db.session.get(PluginRecord, "gadgets")
    assert (record.state, record.error) == ("failed", "on_install failed: RuntimeError: seed file missing")
    assert app.test_client().get("/api/plugins/gadgets/items").status_code == 404
    code, out = cli(app, "list")
    assert "failed" in out and "seed file missing" in out

    monkeypatch.undo()
    assert cli(app, "install", "gadgets") == (0, "installed gadgets 1.2.0 (enabled)\n")
    db.session.expire_all()
    record = db.session.get(PluginRecord, "gadgets")
    assert (record.state, record.error) == ("enabled", None)
