"""`flask setup`: a deploy's database steps in one process, so a deploy starts the app once instead of once per
step: `flask db upgrade heads`, `flask seed`, `flask plugin install NAME` for each --plugin (with --exact, the
site's whole list: listed plugins are enabled, every other installed one disabled, its data kept unless
--drop-data NAME), and whether
the first admin exists (creating it needs its password: `flask user create-admin`). Prints one JSON line."""

import click
import flask_migrate
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import json
from flask.cli import with_appcontext

from app.cli.seed import add_reference_data
from app.cli.users import user_exists
from app.extensions import db
from app.plugins import lifecycle
from app.plugins.base import PluginError
from app.plugins.registry import DISABLED, PluginRecord


def current_heads():
    with db.engine.connect() as connection:
        return sorted(MigrationContext.configure(connection).get_current_heads())


def registry_row(name):
    record = db.session.get(PluginRecord, name)
    return None if record is None else (record.version, record.state, record.error)


@click.command("setup")
@click.option("--plugin", "plugins", multiple=True, metavar="NAME",
              help="A plugin this site uses (repeatable): installed, or upgraded, and enabled as `flask plugin install`.")
@click.option("--exact", is_flag=True,
              help="The --plugin's are the site's whole list: enable them, disable every other installed plugin (data kept).")
@click.option("--drop-data", "drop", multiple=True, metavar="NAME",
              help="With --exact, uninstall this unlisted plugin and drop its tables (repeatable).")
@click.option("--admin-username", metavar="NAME", help="Report whether this user exists (`admin_exists`).")
@with_appcontext
def setup(plugins, exact, drop, admin_username):
    """Migrate the core and every plugin to their heads, seed the reference data, install the --plugin's (with
    --exact, disable the others, or uninstall the --drop-data ones) and report whether --admin-username exists.
    Idempotent.

    Prints {"changed": ..., "schema": {"before": [...], "after": [...]}, "seeded": ROWS, "plugins": {NAME:
    "what install did"}, "plugins_changed": [...], "enforced": {NAME: "what --exact did"}, "admin_exists":
    true|false|null}; "changed" is false when none of the steps changed anything.
    """
    discovered = lifecycle.manager().plugins
    unknown = [name for name in plugins if name not in discovered]
    if unknown:  # checked before anything changes
        raise click.BadParameter(f"no plugin named {', '.join(unknown)} was discovered "
                                 f"(discovered: {', '.join(sorted(discovered)) or 'none'})", param_hint="--plugin")
    if drop and not exact:
        raise click.BadParameter("--drop-data needs --exact (the plugins not listed are the ones it may drop)",
                                 param_hint="--drop-data")
    if listed := sorted(set(drop) & set(plugins)):
        raise click.BadParameter(f"{', '.join(listed)} is both listed and to have its data dropped: "
                                 "remove it from one of the two lists", param_hint="--drop-data")
    before = current_heads()
    # Every head but those of plugins this site does not use (lifecycle.unused_heads), so a plugin whose
    # data --drop-data dropped does not get its tables back on the next run.
    script = ScriptDirectory.from_config(lifecycle.alembic_config())
    for head in sorted(set(script.get_heads()) - lifecycle.unused_heads(script, set(before))):
        flask_migrate.upgrade(revision=head)
    after = current_heads()
    seeded = add_reference_data()
    outcomes, plugins_changed = {}, []
    for name in dict.fromkeys(plugins):
        was = registry_row(name)
        try:
            outcomes[name] = lifecycle.install(name)
        except PluginError as exc:
            raise click.ClickException(str(exc)) from None
        if registry_row(name) != was:
            plugins_changed.append(name)
    enforced = enforce_list(set(plugins), set(drop)) if exact else {}
    click.echo(json.dumps({
        "changed": before != after or seeded > 0 or bool(plugins_changed) or bool(enforced),
        "schema": {"before": before, "after": after},
        "seeded": seeded,
        "plugins": outcomes,
        "plugins_changed": plugins_changed,
        "enforced": enforced,
        "admin_exists": user_exists(admin_username) if admin_username else None,
    }))


def enforce_list(listed, drop):
    """Make the registry match the site's list: enable a listed plugin left disabled (by hand, or by an earlier
    run that did not list it), disable every unlisted one, or uninstall it with its tables when in drop.
    Returns what changed, per plugin."""
    done = {}
    for record in db.session.scalars(db.select(PluginRecord).order_by(PluginRecord.name)).all():
        try:
            if record.name in listed:
                if record.state == DISABLED:
                    done[record.name] = lifecycle.set_enabled(record.name, True)
            elif record.name in drop:
                done[record.name] = lifecycle.uninstall(record.name, drop_data=True)
            elif record.state != DISABLED:
                done[record.name] = lifecycle.set_enabled(record.name, False)
        except PluginError as exc:
            raise click.ClickException(str(exc)) from None
    return done
