"""`flask user create-admin`: the first admin, with the password read from stdin (never a default)."""

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.auth import hash_password, password_problems
from app.extensions import db
from app.models import User


def user_exists(username):
    return db.session.scalar(select(User.id).where(User.username == username)) is not None


@click.group("user", cls=AppGroup)
def user_cli():
    """Manage users."""


@user_cli.command("create-admin")
@click.option("--username", required=True, help="Login name of the admin.")
@click.option("--password-stdin", "password_stdin", is_flag=True,
              help="Read the password from the first line of stdin (required; keeps it out of ps and history).")
def create_admin(username, password_stdin):
    """Create an admin user. Exits 0 with an 'exists' message, changing nothing, if the user exists."""
    if user_exists(username):
        click.echo(f"user {username!r} exists; nothing changed")
        return
    if not password_stdin:
        raise click.UsageError("pass the password on stdin with --password-stdin, e.g. "
                               "`printf '%s\\n' \"$PW\" | flask user create-admin --username admin --password-stdin`")
    password = sys.stdin.readline().rstrip("\r\n")
    problems = password_problems(password, username)
    if problems:
        raise click.ClickException("weak password: " + "; ".join(problems))
    db.session.add(User(username=username, password_hash=hash_password(password), role="admin"))
    db.session.commit()
    click.echo(f"user {username!r} created with role admin")
