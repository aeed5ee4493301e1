"""`flask db`: Flask-Migrate's command group, with `upgrade` and `downgrade` made safe for several heads.

The core and every plugin are separate Alembic branches, so the schema has several heads by design. Alembic
refuses `upgrade head` when there are several, and walks `downgrade -1` down an arbitrary branch (with only a
warning). Here plain `flask db upgrade` (target `head`) means every head, and a relative downgrade without
a branch is refused, naming the branches, while the database is at more than one head. Everything else is
Flask-Migrate's own command, unchanged.
"""
import re

import click
import flask_migrate
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app, g
from flask.cli import with_appcontext
from flask_migrate import cli as flask_migrate_cli

from app.extensions import db

# `-1`, `head-2`: a step count with no branch to count it on.
_UNANCHORED_STEP = re.compile(r"^(head)?-\d+$")


def _upgrade(directory, sql, tag, x_arg, revision):
    """Upgrade to a later version (default: the core and every plugin branch to their heads)."""
    if revision == "head":
        revision = "heads"
    flask_migrate.upgrade(directory or g.directory, revision, sql, tag, x_arg or g.x_arg)


def _downgrade(directory, sql, tag, x_arg, revision):
    """Revert to a previous version. With several branches applied, name one: `flask db downgrade
    <branch>@-1`."""
    directory = directory or g.directory
    if not sql and _UNANCHORED_STEP.match(revision):  # --sql has no database to read; Alembic refuses it
        branches = _applied_branches(directory)
        if len(branches) > 1:
            raise click.UsageError(
                f"downgrade target '{revision}' is ambiguous: the database is at one head per branch "
                f"({', '.join(branches)}), and '{revision}' does not say which to step back. Name the "
                f"branch, e.g. `flask db downgrade {branches[-1]}@{revision.removeprefix('head')}`, or a "
                "revision id (`flask db current` lists them); `flask db downgrade base` reverts everything.")
    flask_migrate.downgrade(directory, revision, sql, tag, x_arg or g.x_arg)


def _applied_branches(directory) -> list[str]:
    """The branch label of each head the database is at (the revision id for an unlabelled one), core first."""
    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config(directory))
    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    labels = [next(iter(sorted(script.get_revision(rev).branch_labels)), rev) for rev in current]
    return sorted(labels, key=lambda label: (label != "core", label))


def _replace(command: click.Command, callback) -> click.Command:
    """Flask-Migrate's command with its options and arguments, running `callback` instead."""
    return click.Command(command.name, params=command.params, callback=with_appcontext(callback),
                         help=callback.__doc__, short_help=command.short_help)


_original = flask_migrate_cli.db
db_cli = click.Group(
    _original.name, callback=_original.callback, params=_original.params, help=_original.help,
    commands={**_original.commands,
              "upgrade": _replace(_original.commands["upgrade"], _upgrade),
              "downgrade": _replace(_original.commands["downgrade"], _downgrade)},
)
