"""Liveness and readiness, for the deploy kit and load balancers."""

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask.views import MethodView
from app.api.common import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import text

from app import plugins
from app.extensions import db

blp = Blueprint("health", __name__, url_prefix="/api", description="Liveness and readiness probes")


class HealthSchema(Schema):
    status = fields.String(required=True)


class ReadySchema(Schema):
    status = fields.String(required=True, metadata={"description": "ready or not_ready"})
    database = fields.String(required=True, metadata={"description": "ok, or the connection error"})
    schema = fields.Dict(metadata={"description": "current and expected Alembic heads"})
    plugins = fields.List(fields.Dict(), metadata={"description": "app.plugins.status(): one entry per plugin"})
    problems = fields.List(fields.String(), required=True)


def schema_heads():
    """(current heads in the database, heads the installed code expects) as sorted lists."""
    config = current_app.extensions["migrate"].migrate.get_config()
    script = ScriptDirectory.from_config(config)
    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_heads()
    # Branches of plugins this site neither installed nor migrated (e.g. after uninstall --drop-data) don't count.
    expected = set(script.get_heads()) - plugins.unused_heads(script, current)
    return sorted(current), sorted(expected)


@blp.route("/health")
class Health(MethodView):
    @blp.doc(security=[])
    @blp.response(200, HealthSchema)
    def get(self):
        """The process is alive (does not touch the database)."""
        return {"status": "ok"}


@blp.route("/ready")
class Ready(MethodView):
    @blp.doc(security=[])
    @blp.response(200, ReadySchema)
    @blp.alt_response(503, schema=ReadySchema, description="Not ready: see problems")
    def get(self):
        """Ready to serve: the database answers, the schema is at its heads and no enabled plugin failed."""
        body = {"status": "ready", "database": "ok", "problems": []}
        try:
            db.session.execute(text("SELECT 1"))
            current, expected = schema_heads()
            body["schema"] = {"current": current, "expected": expected}
            if set(current) != set(expected):
                body["problems"].append(
                    f"database schema is at {current or 'nothing'}, code expects {expected}: "
                    "run `flask db upgrade heads`")
        except Exception as exc:  # noqa: BLE001 - any database failure means not ready
            db.session.rollback()
            # The full error (host, user) goes to the log only; the probe answer names the kind.
            current_app.logger.error("readiness: database check failed: %s", exc)
            body["database"] = f"error: {type(exc).__name__}"
            body["problems"].append("database unreachable: check SHOPDB_DATABASE_URL and that MariaDB runs")
        else:
            # The probe is public: where a plugin was found on disk stays in `flask plugin list`.
            body["plugins"] = [{k: v for k, v in p.items() if k != "origin"} for p in plugins.status()]
            body["problems"] += [f"plugin {p['name']} failed: {p.get('error')}" for p in body["plugins"]
                                 if not p.get("ok", True)]
        if body["problems"]:
            body["status"] = "not_ready"
            return body, 503
        return body
