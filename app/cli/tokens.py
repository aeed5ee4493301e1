"""`flask token create`: a personal API token for scripts and the deploy kit, printed once."""

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.auth import issue_api_token
from app.extensions import db
from app.models import User


@click.group("token", cls=AppGroup)
def token_cli():
    """Manage personal API tokens."""


@token_cli.command("create")
@click.option("--username", required=True, help="The user the token acts as.")
@click.option("--name", "label", required=True, help="A label saying where the token is used.")
def create(username, label):
    """Create a token and print it (only its hash is stored: this is the one chance to copy it)."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active:
        raise click.ClickException(f"no active user {username!r}: create it first (flask user create-admin)")
    _row, token = issue_api_token(user, label)
    db.session.commit()
    click.echo(token)
