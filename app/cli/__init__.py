"""Operator commands: `flask db` (Flask-Migrate's, several heads made safe), `flask seed`, `flask user ...`, `flask token ...`, `flask config check`, `flask setup`."""


def register_commands(app):
    from app.cli.config import config_cli
    from app.cli.db import db_cli
    from app.cli.seed import seed
    from app.cli.setup import setup
    from app.cli.tokens import token_cli
    from app.cli.users import user_cli

    for command in (seed, user_cli, token_cli, config_cli, setup):
        app.cli.add_command(command)
    # Replaces the `db` group Migrate.init_app registered (create_app binds the extensions first).
    app.cli.add_command(db_cli, "db")
