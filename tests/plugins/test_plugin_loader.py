"""Discovery and loading: good, broken, incompatible, duplicate and colliding plugins."""
import logging
from pathlib import Path

import pytest

from app.extensions import db
from app.plugins import PluginError, status
from app.plugins.registry import PluginRecord
from app.plugins.testing import Migrations

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def database_url(tmp_path):
    """Loading does not depend on the database engine: SQLite only here."""
    return f"sqlite:///{tmp_path / 'loader.sqlite'}"


@pytest.fixture
def shopdb_plugin_paths():
    return [str(FIXTURES / "good"), str(FIXTURES / "broken"), str(FIXTURES / "dupe")]


@pytest.fixture
def loose_app(make_app):
    """A non-strict app with every fixture plugin, its database at heads."""
    app = make_app(strict=False)
    Migrations(app).upgrade("heads")
    return app


def by_name(app):
    return {(p.name, p.origin.split("/fixtures/")[-1]): p for p in app.extensions["shopdb_plugins"].all()}


def test_good_plugins_are_mounted_under_their_prefix(loose_app):
    plugins = by_name(loose_app)
    gadgets, gizmos = plugins["gadgets", "good/gadgets"], plugins["gizmos", "good/gizmos"]
    assert (gadgets.state, gadgets.error, gadgets.tables) == ("loaded", None, ("gadgets_items",))
    assert (gizmos.state, gizmos.tables) == ("loaded", ("gizmos_parts",))
    rules = {r.rule for r in loose_app.url_map.iter_rules()}
    assert {"/api/plugins/gadgets/items", "/api/plugins/gizmos/ping"} <= rules
    assert str(gadgets.meta.version) == "1.2.0"


@pytest.mark.parametrize("name, origin, state, reason", [
    ("crashy", "broken/crashy",
     "failed", "import failed: ModuleNotFoundError: No module named 'shopdb_fixture_module_that_does_not_exist'"),
    ("oldcore", "broken/oldcore",
     "incompatible", "oldcore 1.0.0 requires shopdb '>=999', this is shopdb 0.1.0"),
    ("squatter", "broken/squatter",
     "failed", "table 'assets' collides with a table of core; prefix the plugin's tables with 'squatter_'"),
    ("mislabel", "broken/mislabel", "failed", "table 'widgets' must be prefixed 'mislabel_'"),
    ("mismatch", "broken/mismatch",
     "failed", "plugin.toml names 'somethingelse' but the plugin was found as 'mismatch'"),
    ("gadgets", "dupe/gadgets",
     "failed", "duplicate plugin name: 'gadgets' is already provided by "),
])
def test_broken_plugin_is_marked_failed_with_its_reason(loose_app, name, origin, state, reason):
    # oldcore, mismatch and the duplicate raise if imported: their reason proves they never were.
    entry = by_name(loose_app)[name, origin]
    assert entry.state == state
    assert reason in entry.error


def test_failures_are_logged_at_error(make_app, caplog):
    with caplog.at_level(logging.ERROR, logger="app.plugins.loader"):
        make_app(strict=False)
    failed = {r.getMessage().split()[1] for r in caplog.records if r.levelno == logging.ERROR}
    assert failed == {"crashy", "oldcore", "squatter", "mislabel", "mismatch", "gadgets"}


def test_strict_mode_raises_on_the_first_failure(make_app):
    with pytest.raises(PluginError, match=r"plugin 'crashy' \(.*broken/crashy\): import failed"):
        make_app(strict=True)


def test_core_keeps_serving_with_broken_plugins(loose_app):
    client = loose_app.test_client()
    assert client.get("/api/health").status_code == 200
    ready = client.get("/api/ready")
    assert ready.status_code == 200, ready.json  # nothing broken is enabled on this site
    states = {(p["name"], p["state"]) for p in ready.json["plugins"]}
    assert {("crashy", "failed"), ("oldcore", "incompatible"), ("gadgets", "not-installed")} <= states
    assert client.get("/api/assets").status_code == 401  # a core route still answers (and still wants a login)


def test_ready_fails_when_an_enabled_plugin_cannot_load(loose_app):
    with loose_app.app_context():
        db.session.add(PluginRecord(name="crashy", version="1.0.0", state="enabled"))  # enabled by an earlier release
        db.session.commit()
        rows = {p["name"]: p for p in status()}
    assert rows["crashy"]["ok"] is False
    ready = loose_app.test_client().get("/api/ready")
    assert ready.status_code == 503
    assert any("plugin crashy failed: import failed" in p for p in ready.json["problems"])


def test_failed_and_incompatible_plugins_keep_their_migrations_on_the_path(loose_app):
    with loose_app.app_context():
        locations = loose_app.extensions["shopdb_plugins"].migration_locations()
    assert any(loc.endswith("broken/crashy/migrations/versions") for loc in locations)
    assert not any("/dupe/" in loc for loc in locations)  # the rejected duplicate's would clash
    assert "crashy_0001" in Migrations(loose_app).current()


def test_plugin_list_shows_every_discovered_plugin(loose_app):
    with loose_app.app_context():  # the command must run against this app even if another context leaked
        result = loose_app.test_cli_runner().invoke(args=["plugin", "list"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert lines["gizmos"].split()[1:3] == ["0.3.0", "not-installed"]
    assert "incompatible" in lines["oldcore"] and "requires shopdb '>=999'" in lines["oldcore"]
    assert "import failed" in lines["crashy"]


def test_entry_point_plugins_are_discovered(make_app, monkeypatch):
    # An installed distribution (fixtures/site holds its package and dist-info) declaring the entry point.
    monkeypatch.syspath_prepend(str(FIXTURES / "site"))
    app = make_app(strict=True, PLUGIN_PATHS=[])
    entry = app.extensions["shopdb_plugins"].get("sitegauges")
    assert (entry.state, entry.origin) == ("loaded", "entry point sitegauges = sitegauges:plugin")
    assert str(entry.meta.version) == "2.0.0"
    Migrations(app).upgrade("heads")
    with app.app_context():
        assert app.test_cli_runner().invoke(args=["plugin", "install", "sitegauges"]).exit_code == 0
    assert app.test_client().get("/api/plugins/sitegauges/hello").json == {"sitegauges": "hello"}
