"""`flask token create`: a personal API token for scripts and the deploy kit, printed once."""

from datetime import timedelta

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.api.common import record_audit
from app.api.tokens import audit_view
from app.auth import TOKEN_SCOPES, issue_api_token
from app.extensions import db
from app.models import User, utcnow
from app.networks import network_problems


@click.group("token", cls=AppGroup)
def token_cli():
    """Manage personal API tokens."""


@token_cli.command("create")
@click.option("--username", required=True, help="The user the token acts as.")
@click.option("--name", "label", required=True, help="A label saying where the token is used.")
@click.option("--expires-in-days", type=click.IntRange(1, 3650), help="Lifetime in days (default: no expiry).")
@click.option("--scope", type=click.Choice(TOKEN_SCOPES), default="read-write", show_default=True,
              help="read: GET only; read-write: the user's full role.")
@click.option("--allow-network", "networks", multiple=True,
              help="An address or CIDR the token is accepted from (repeat it; default: anywhere).")
def create(username, label, expires_in_days, scope, networks):
    """Create a token and print it (only its hash is stored: this is the one chance to copy it). Audited, with
    the actor 'system'."""
    problems = network_problems("--allow-network", networks)
    if problems:
        raise click.BadParameter(" ".join(problems), param_hint="--allow-network")
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active:
        raise click.ClickException(f"no active user {username!r}: create it first (flask user create)")
    expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    row, token = issue_api_token(user, label, expires, scope, networks)
    db.session.flush()
    record_audit("create", "api_tokens", row.id, after=audit_view(row))
    db.session.commit()
    click.echo(token)
