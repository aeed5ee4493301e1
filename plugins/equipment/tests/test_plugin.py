"""The equipment plugin against the real core: it loads, registers, installs idempotently, migrates
both ways, its models match its migrations, and no update left conflicts behind.
Template-owned: `copier update` keeps this file in step with shopdb; put your own tests in other files.
It looks into the plugin framework beyond its frozen API (loader states, the registry), which is safe only
because each shopdb release ships the matching version of this file.
"""
import tomllib
from importlib.metadata import entry_points

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from sqlalchemy import func, inspect, select

from app.extensions import db
from app.plugins.base import load_manifest
from app.plugins.loader import LOADED, URL_PREFIX, core_version
from app.plugins.registry import ENABLED, PluginRecord

from .conftest import PLUGIN_DIR, PLUGIN_NAME, PROJECT_DIR, first_party
from .update_leftovers import leftovers

PREFIX = f"{PLUGIN_NAME}_"


def _own_tables(names):
    return {t for t in names if t.startswith(PREFIX)}


def test_manifest_accepts_the_installed_core():
    meta = load_manifest(PLUGIN_DIR)
    assert meta.name == PLUGIN_NAME == PLUGIN_DIR.name
    assert meta.supports(core_version()), f"core_version '{meta.core_version}' excludes shopdb {core_version()}"


def test_packaging_matches_the_manifest():
    """A site plugin is its own wheel whose version and core range match plugin.toml; a first-party plugin
    ships inside the shopdb wheel and has no packaging of its own."""
    pyproject = PROJECT_DIR / "pyproject.toml"
    if first_party():
        assert not pyproject.exists(), "a first-party plugin has no pyproject.toml (answer first_party=true)"
        return
    if pyproject.is_file():  # the source tree
        project = tomllib.loads(pyproject.read_text())["project"]
        version, requires = project["version"], project["dependencies"]
        entry = project["entry-points"]["shopdb.plugins"]
    else:  # installed from its wheel: the same facts from the installed metadata
        dist = next(ep.dist for ep in entry_points(group="shopdb.plugins") if ep.name == PLUGIN_NAME)
        version, requires = dist.version, dist.requires
        entry = {ep.name: ep.value for ep in dist.entry_points if ep.group == "shopdb.plugins"}
    manifest = tomllib.loads((PLUGIN_DIR / "plugin.toml").read_text())
    assert version == manifest["version"], "keep pyproject.toml's version equal to plugin.toml's"
    assert [(r.name, r.specifier) for r in map(Requirement, requires)] == [
        ("shopdb", SpecifierSet(manifest["core_version"]))], "depend on shopdb with plugin.toml's core_version"
    assert entry == {PLUGIN_NAME: f"{PLUGIN_NAME}:plugin"}


def test_plugin_loads_and_registers_blueprint_and_models(app, loaded):
    assert loaded.state == LOADED, loaded.error
    assert loaded.tables and all(t.startswith(PREFIX) for t in loaded.tables)
    assert set(loaded.tables) <= set(db.metadata.tables)
    assert PLUGIN_NAME in app.blueprints
    rules = [r.rule for r in app.url_map.iter_rules() if r.endpoint.startswith(f"{PLUGIN_NAME}.")]
    assert rules and all(r.startswith(f"{URL_PREFIX}/{PLUGIN_NAME}/") for r in rules)
    record = db.session.get(PluginRecord, PLUGIN_NAME)
    assert (record.state, record.version) == (ENABLED, str(loaded.meta.version))


def _row_counts():
    return {t.name: db.session.scalar(select(func.count()).select_from(t))
            for t in db.metadata.sorted_tables if t.name in inspect(db.engine).get_table_names()}


def test_installing_twice_changes_nothing(app):
    from app.plugins import lifecycle

    before = _row_counts()
    record = db.session.get(PluginRecord, PLUGIN_NAME)
    stamp = (record.version, record.state, record.updated_at)
    assert "already installed" in lifecycle.install(PLUGIN_NAME)
    db.session.expire_all()
    assert _row_counts() == before
    record = db.session.get(PluginRecord, PLUGIN_NAME)
    assert (record.version, record.state, record.updated_at) == stamp


def test_migrations_go_up_down_and_up_again(app, migrations, loaded):
    db.session.remove()  # release SQLite/MariaDB locks before DDL
    assert migrations.current() == migrations.heads()
    assert _own_tables(migrations.tables()) == set(loaded.tables)
    migrations.downgrade(f"{PLUGIN_NAME}@base")
    assert _own_tables(migrations.tables()) == set()
    migrations.upgrade(f"{PLUGIN_NAME}@head")
    assert _own_tables(migrations.tables()) == set(loaded.tables)
    assert migrations.current() == migrations.heads()


def _table_of(diff):
    """The table an autogenerate diff is about (column changes come grouped in a list)."""
    if isinstance(diff, list):
        diff = diff[0]
    kind = diff[0]
    if kind.endswith("_table"):
        return diff[1].name
    if kind in ("add_column", "remove_column") or kind.startswith("modify_"):
        return diff[2]
    return diff[1].table.name  # indexes, constraints, foreign keys


def test_models_match_the_migrations(app, migrations):
    """What `flask db migrate` would write for this plugin's tables: nothing, or a migration is missing."""
    db.session.remove()
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, db.metadata)

    ours = [d for d in diffs if _table_of(d).startswith(PREFIX)]
    assert not ours, f"models and migrations differ; add a migration (see README.md): {ours}"


def test_no_update_leftovers():
    """A `copier update` conflict leaves markers inline (or .rej files); resolve them before committing.
    The same check runs without pytest: `python tests/update_leftovers.py`."""
    assert not leftovers(), f"unresolved copier update conflicts in: {leftovers()}"
