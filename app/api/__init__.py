"""The HTTP API under /api: one flask-smorest blueprint per area."""

from app.extensions import api


def register_blueprints(app):
    from app.api import asset_types, assets, audit, auth, health, locations, tokens, users

    for module in (health, auth, assets, asset_types, locations, users, tokens, audit):
        api.register_blueprint(module.blp)
