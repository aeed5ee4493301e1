"""`flask setup`: a deploy's database steps in one process, so a deploy starts the app once instead of once per
step: `flask db upgrade heads`, `flask seed`, `flask plugin install NAME` for each --plugin, and whether the
first admin exists (creating it needs its password: `flask user create-admin`). Prints one JSON line."""

import click
import flask_migrate
from alembic.runtime.migration import MigrationContext
from flask import json
from flask.cli import with_appcontext

from app.cli.seed import add_reference_data
from app.cli.users import user_exists
from app.extensions import db
from app.models import PluginRecord
from app.plugins import lifecycle
from app.plugins.base import PluginError


def current_heads():
    with db.engine.connect() as connection:
        return sorted(MigrationContext.configure(connection).get_current_heads())


def registry_row(name):
    record = db.session.get(PluginRecord, name)
    return None if record is None else (record.version, record.state, record.error)


@click.command("setup")
@click.option("--plugin", "plugins", multiple=True, metavar="NAME",
              help="A plugin this site uses (repeatable): installed, or upgraded, and enabled as `flask plugin install`.")
@click.option("--admin-username", metavar="NAME", help="Report whether this user exists (`admin_exists`).")
@with_appcontext
def setup(plugins, admin_username):
    """Migrate the core and every plugin to their heads, seed the reference data, install the --plugin's and
    report whether --admin-username exists. Idempotent.

    Prints {"changed": ..., "schema": {"before": [...], "after": [...]}, "seeded": ROWS, "plugins": {NAME:
    "what install did"}, "plugins_changed": [...], "admin_exists": true|false|null}; "changed" is false when
    none of the steps changed anything.
    """
    discovered = lifecycle.manager().plugins
    unknown = [name for name in plugins if name not in discovered]
    if unknown:  # checked before anything changes
        raise click.BadParameter(f"no plugin named {', '.join(unknown)} was discovered "
                                 f"(discovered: {', '.join(sorted(discovered)) or 'none'})", param_hint="--plugin")
    before = current_heads()
    flask_migrate.upgrade(revision="heads")
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
    click.echo(json.dumps({
        "changed": before != after or seeded > 0 or bool(plugins_changed),
        "schema": {"before": before, "after": after},
        "seeded": seeded,
        "plugins": outcomes,
        "plugins_changed": plugins_changed,
        "admin_exists": user_exists(admin_username) if admin_username else None,
    }))
