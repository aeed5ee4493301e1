"""`flask config check`: does this environment's configuration pass the production checks?"""

import click
from flask.cli import AppGroup
from flask import current_app


@click.group("config", cls=AppGroup)
def config_cli():
    """Inspect the configuration."""


@config_cli.command("check")
def check():
    """Exit 0 when the configuration is acceptable.

    With SHOPDB_ENV=production a weak configuration never gets here: create_app() already exits 1
    listing every problem (see app.config.ProductionConfig.validate).
    """
    env = current_app.config["ENV_NAME"]
    if env == "production":
        click.echo("config: production configuration OK")
    else:
        click.echo(f"config: SHOPDB_ENV={env}; the production checks apply with SHOPDB_ENV=production")
