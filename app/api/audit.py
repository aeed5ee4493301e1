"""/api/audit: the audit trail, read only (admin only): who changed what, when, with before/after snapshots."""

from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select

from app.api.common import Blueprint, ListArgsSchema, UTCDateTime, page_schema, paginate, require_role
from app.models import AuditLog

blp = Blueprint("audit", __name__, url_prefix="/api/audit", description="The audit trail (admin only, read only)")


class AuditEntrySchema(Schema):
    id = fields.Integer()
    created_at = UTCDateTime()
    actor_id = fields.Integer(allow_none=True, metadata={"description": "null for the system (CLI, deploy kit)."})
    actor = fields.String()
    action = fields.String(metadata={"description": "create, update, delete, restore, ..."})
    entity = fields.String(metadata={"description": "The table or resource, e.g. assets, users, api_tokens."})
    entity_id = fields.String()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    request_id = fields.String(allow_none=True, metadata={"description": "The X-Request-ID of the change."})


class AuditListArgsSchema(ListArgsSchema):
    class Meta(ListArgsSchema.Meta):
        # The trail has no soft delete and no free-text search: its filters are exact.
        exclude = ("q", "include_deleted")

    entity = fields.String(validate=validate.Length(min=1, max=64))
    entity_id = fields.String(validate=validate.Length(min=1, max=64))
    actor = fields.String(validate=validate.Length(min=1, max=80))
    action = fields.String(validate=validate.Length(min=1, max=32))
    request_id = fields.String(validate=validate.Length(min=1, max=64))
    since = UTCDateTime(metadata={"description": "Entries at or after this instant (ISO 8601)."})
    until = UTCDateTime(metadata={"description": "Entries before this instant (ISO 8601)."})

    @validates_schema
    def _since_before_until(self, data, **_kwargs):
        if "since" in data and "until" in data and data["since"] >= data["until"]:
            raise ValidationError("since must be earlier than until.", "until")


AuditPageSchema = page_schema(AuditEntrySchema)
_EXACT = ("entity", "entity_id", "actor", "action", "request_id")


@blp.route("")
class Audit(MethodView):
    @require_role("admin")
    @blp.arguments(AuditListArgsSchema, location="query", unknown="raise")
    @blp.response(200, AuditPageSchema)
    def get(self, args):
        """List audit entries, newest first; filter by entity (and entity_id), actor, action, request_id, time."""
        stmt = select(AuditLog).order_by(AuditLog.id.desc())
        for name in _EXACT:
            if name in args:
                stmt = stmt.where(getattr(AuditLog, name) == args[name])
        if "since" in args:
            stmt = stmt.where(AuditLog.created_at >= args["since"])
        if "until" in args:
            stmt = stmt.where(AuditLog.created_at < args["until"])
        return paginate(stmt, args)
