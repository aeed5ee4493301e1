"""Per-site plugin operations behind `flask plugin ...`: install, uninstall, enable, disable.

Each runs inside an app context and raises PluginError (naming the problem and the fix) without changing
anything when the request is invalid.
"""
from __future__ import annotations

from alembic import command
from alembic.script import ScriptDirectory
from flask import current_app

from app.extensions import db
from app.models.plugins import DISABLED, ENABLED, FAILED, PluginRecord
from app.plugins.base import PluginError
from app.plugins.loader import INCOMPATIBLE, LOADED, LoadedPlugin, PluginManager

CORE_BRANCH = "core"


def manager() -> PluginManager:
    return current_app.extensions["shopdb_plugins"]


def alembic_config():
    """The app's Alembic config, with every plugin's versions folder on version_locations."""
    return current_app.extensions["migrate"].migrate.get_config()


def _loaded(name: str) -> LoadedPlugin:
    entry = manager().get(name)
    if entry is None:
        known = ", ".join(sorted(manager().plugins)) or "none"
        raise PluginError(f"no plugin named '{name}' was discovered (discovered: {known})")
    if entry.state == INCOMPATIBLE:
        raise PluginError(f"cannot install {name}: {entry.error}")
    if entry.state != LOADED:
        raise PluginError(f"cannot use plugin '{name}', it failed to load: {entry.error}")
    return entry


def _has_branch(name: str, script=None) -> bool:
    script = script or ScriptDirectory.from_config(alembic_config())
    return any(name in rev.branch_labels for rev in script.walk_revisions())


def install(name: str) -> str:
    """Migrate the core and the plugin's branch to head, run on_install, record the plugin as enabled.

    Idempotent: on an installed plugin the migrations and on_install are no-ops and the row is unchanged
    (a disabled plugin stays disabled). Returns a one-line summary.
    """
    entry = _loaded(name)
    meta = entry.meta
    config = alembic_config()
    command.upgrade(config, f"{CORE_BRANCH}@head")  # the core first: the plugin's branch depends on it
    if meta.migrations_dir.is_dir():
        if not _has_branch(name):
            raise PluginError(f"{meta.migrations_dir} has no revision with branch_labels=('{name}',); "
                              "label the plugin's first revision with its name")
        command.upgrade(config, f"{name}@head")

    record = db.session.get(PluginRecord, name)
    try:
        entry.plugin.on_install()
        if record is None:
            db.session.add(PluginRecord(name=name, version=str(meta.version), state=ENABLED, error=None))
            outcome = f"installed {name} {meta.version} (enabled)"
        else:
            was = (record.version, record.state)
            state = ENABLED if record.state == FAILED else record.state
            record.set(version=str(meta.version), state=state, error=None)
            outcome = (f"{name} {meta.version} already installed ({record.state})" if was ==
                       (record.version, record.state) else f"installed {name} {meta.version} ({record.state})")
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        _record_failure(name, str(meta.version), f"on_install failed: {type(exc).__name__}: {exc}")
        raise PluginError(f"installing {name} failed in on_install, nothing was seeded: "
                          f"{type(exc).__name__}: {exc}") from exc
    return outcome


def _record_failure(name: str, version: str, error: str) -> None:
    """Show a failed install in `flask plugin list`; an already installed plugin keeps its state."""
    record = db.session.get(PluginRecord, name)
    if record is None:
        db.session.add(PluginRecord(name=name, version=version, state=FAILED, error=error))
    else:
        record.set(error=error)
    db.session.commit()


def uninstall(name: str, drop_data: bool = False) -> str:
    """Forget the plugin on this site. Its tables and rows stay unless drop_data, which downgrades the
    plugin's branch to base (the plugin's code must still be present for that)."""
    record = db.session.get(PluginRecord, name)
    if record is None:
        raise PluginError(f"plugin '{name}' is not installed on this site (see `flask plugin list`)")
    entry = manager().get(name)
    if drop_data and (entry is None or entry.meta is None):
        raise PluginError(f"cannot drop {name}'s data: its code (and so its migrations) is not present; "
                          "install the plugin's release again, then run uninstall --drop-data")
    if entry is not None and entry.state == LOADED:
        try:
            entry.plugin.on_uninstall(drop_data)
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            raise PluginError(f"uninstalling {name} failed in on_uninstall, nothing changed: "
                              f"{type(exc).__name__}: {exc}") from exc
    if drop_data and entry.meta.migrations_dir.is_dir():
        command.downgrade(alembic_config(), f"{name}@base")
    db.session.delete(record)
    db.session.commit()
    return f"uninstalled {name}" + (" and dropped its tables" if drop_data else " (its tables and data are kept)")


def set_enabled(name: str, enabled: bool) -> str:
    record = db.session.get(PluginRecord, name)
    if record is None:
        raise PluginError(f"plugin '{name}' is not installed on this site; run `flask plugin install {name}`")
    if enabled:
        _loaded(name)
        if record.state == FAILED:
            raise PluginError(f"{name}'s last install failed ({record.error}); run `flask plugin install {name}`")
    state = ENABLED if enabled else DISABLED
    if record.state == state:
        return f"{name} is already {state}"
    record.set(state=state)
    db.session.commit()
    return f"{name} {state} (all workers serve or refuse its routes from the next request)"


def status() -> list[dict]:
    """Every discovered plugin and every registry row, with whether it is healthy for this site.

    `ok` is False when the site enabled a plugin that this process could not load (a lost feature:
    /api/ready reports it) or when the registry is unreadable.
    """
    mgr = manager()
    try:
        records = {r.name: r for r in db.session.scalars(db.select(PluginRecord))}
        registry_error = None
    except Exception as exc:  # no DB, or core_0002 not applied yet
        db.session.rollback()
        records = {}
        registry_error = f"registry unreadable ({type(exc).__name__}): run `flask db upgrade heads`"
    rows = []
    for entry in mgr.all():
        record = records.get(entry.name) if entry.owns_name else None
        site_state = record.state if record else "unknown" if registry_error else "not-installed"
        row = {
            "name": entry.name,
            "version": str(entry.meta.version) if entry.meta else None,
            "installed_version": record.version if record else None,
            "origin": entry.origin,
            "state": site_state if entry.state == LOADED else entry.state,
            "error": entry.error or (record.error if record else None) or registry_error,
            "ok": registry_error is None and (entry.state == LOADED or site_state != ENABLED),
        }
        if not entry.owns_name:
            row["ok"] = True  # a rejected duplicate: the first of the name is the one that counts
        rows.append(row)
    for name in sorted(set(records) - set(mgr.plugins)):
        record = records[name]
        rows.append({
            "name": name, "version": None, "installed_version": record.version, "origin": None,
            "state": "missing", "error": "installed on this site but its code was not found",
            "ok": record.state != ENABLED,
        })
    return rows


def is_enabled(name: str) -> bool:
    record = db.session.get(PluginRecord, name)
    return record is not None and record.state == ENABLED


def unused_heads(script, current: set[str]) -> set[str]:
    """Heads of plugin branches this site does not use: the plugin is not installed and none of its
    revisions is applied (never migrated, or `uninstall --drop-data`). /api/ready does not wait for them;
    `flask db upgrade heads` would still create their (empty) tables."""
    try:
        installed = set(db.session.scalars(db.select(PluginRecord.name)))
    except Exception:  # no registry yet: every branch counts
        db.session.rollback()
        return set()
    applied = set().union(*(script.get_revision(rev).branch_labels for rev in current))
    unused = set()
    for entry in manager().plugins.values():
        if entry.meta is None or entry.name in installed or entry.name in applied:
            continue
        if entry.meta.migrations_dir.is_dir() and _has_branch(entry.name, script):
            unused |= {rev.revision for rev in script.revision_map.get_revisions(f"{entry.name}@head")}
    return unused
