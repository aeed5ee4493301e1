"""`flask user create` and `create-admin`: users with the password read from stdin (never a default)."""

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.api.common import record_audit, snapshot
from app.auth import hash_password, password_problems
from app.extensions import db
from app.models import ROLES, User

PASSWORD_HINT = ("pass the password on stdin with --password-stdin, e.g. "
                 "`printf '%s\\n' \"$PW\" | flask user create --username NAME --role editor --password-stdin`")


def user_exists(username):
    return db.session.scalar(select(User.id).where(User.username == username)) is not None


def _create(username, role, password_stdin):
    """Create *username* with *role*, the password from stdin; 'exists' (exit 0, nothing changed) if taken."""
    if user_exists(username):
        click.echo(f"user {username!r} exists; nothing changed")
        return
    if not password_stdin:
        raise click.UsageError(PASSWORD_HINT)
    password = sys.stdin.readline().rstrip("\r\n")
    problems = password_problems(password, username)
    if problems:
        raise click.ClickException("weak password: " + "; ".join(problems))
    user = User(username=username, password_hash=hash_password(password), role=role)
    db.session.add(user)
    db.session.flush()
    record_audit("create", "users", user.id, after=snapshot(user, exclude=("password_hash",)))  # actor: system
    db.session.commit()
    click.echo(f"user {username!r} created with role {role}")


@click.group("user", cls=AppGroup)
def user_cli():
    """Manage users."""


USERNAME = click.option("--username", required=True, help="Login name of the user.")
PASSWORD_STDIN = click.option("--password-stdin", "password_stdin", is_flag=True,
                              help="Read the password from the first line of stdin (required; keeps it out of ps "
                                   "and history).")


@user_cli.command("create")
@USERNAME
@click.option("--role", required=True, type=click.Choice(ROLES), help="viewer reads, editor writes, admin manages.")
@PASSWORD_STDIN
def create(username, role, password_stdin):
    """Create a user with a role. Exits 0 with an 'exists' message, changing nothing, if the user exists."""
    _create(username, role, password_stdin)


@user_cli.command("create-admin")
@USERNAME
@PASSWORD_STDIN
def create_admin(username, password_stdin):
    """Create an admin user (`create --role admin`). Exits 0 with an 'exists' message if the user exists."""
    _create(username, "admin", password_stdin)
