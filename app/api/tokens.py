"""/api/tokens: personal API tokens for scripts and the deploy kit (admin only). Shown once, stored hashed."""

from datetime import timedelta

from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from app.api.common import (Blueprint, Integer, ListArgsSchema, UTCDateTime, abort_json, current_user, get_or_404,
                            page_schema, paginate, record_audit, require_role, search_filter)
from app.auth import issue_api_token
from app.extensions import db
from app.models import ApiToken, User, utcnow

blp = Blueprint("tokens", __name__, url_prefix="/api/tokens", description="Personal API tokens (admin only)")


class TokenSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    user_id = Integer(metadata={"description": "Owner; defaults to the caller."})
    username = fields.String(dump_only=True, attribute="user.username")
    prefix = fields.String(dump_only=True, metadata={"description": "First characters, to recognise it."})
    expires_in_days = Integer(load_only=True, validate=validate.Range(min=1, max=3650))
    created_at = UTCDateTime(dump_only=True)
    expires_at = UTCDateTime(dump_only=True, allow_none=True, metadata={"description": "null: never expires."})
    revoked_at = UTCDateTime(dump_only=True, allow_none=True, metadata={"description": "null while valid."})


class NewTokenSchema(TokenSchema):
    token = fields.String(dump_only=True, metadata={"description": "The token. Shown this once only."})


class TokenListArgsSchema(ListArgsSchema):
    user_id = Integer()
    include_revoked = fields.Boolean(load_default=False)


TokenPageSchema = page_schema(TokenSchema)


def _audit_view(row):
    return {"id": row.id, "name": row.name, "user_id": row.user_id, "prefix": row.prefix,
            "expires_at": row.expires_at and row.expires_at.isoformat() + "Z",
            "revoked_at": row.revoked_at and row.revoked_at.isoformat() + "Z"}


@blp.route("")
class Tokens(MethodView):
    @require_role("admin")
    @blp.arguments(TokenListArgsSchema, location="query", unknown="raise")
    @blp.response(200, TokenPageSchema)
    def get(self, args):
        """List tokens (never their secret) in id order; filter by user_id."""
        stmt = select(ApiToken).order_by(ApiToken.id)
        if not args["include_revoked"]:
            stmt = stmt.where(ApiToken.revoked_at.is_(None))
        if "user_id" in args:
            stmt = stmt.where(ApiToken.user_id == args["user_id"])
        if "q" in args:
            stmt = stmt.where(search_filter(args["q"], ApiToken.name))
        return paginate(stmt, args)

    @require_role("admin")
    @blp.arguments(TokenSchema)
    @blp.response(201, NewTokenSchema)
    def post(self, data):
        """Create a token for a user (default: yourself). The response is the only time it is shown."""
        user = current_user() if "user_id" not in data else db.session.get(User, data["user_id"])
        if user is None or not user.is_active:
            abort_json(422, f"No active user with id {data.get('user_id')}.",
                       details={"json": {"user_id": ["unknown or disabled user"]}})
        expires = utcnow() + timedelta(days=data["expires_in_days"]) if "expires_in_days" in data else None
        row, token = issue_api_token(user, data["name"], expires)
        db.session.flush()
        record_audit("create", "api_tokens", row.id, after=_audit_view(row))
        db.session.commit()
        row.token = token  # a plain attribute for this response only; the table holds just the hash
        return row


@blp.route("/<int:token_id>")
class TokenResource(MethodView):
    @require_role("admin")
    @blp.response(204)
    def delete(self, token_id):
        """Revoke a token: it stops working at once."""
        row = get_or_404(ApiToken, token_id)
        if row.revoked_at is None:
            before = _audit_view(row)
            row.revoked_at = utcnow()
            record_audit("revoke", "api_tokens", row.id, before=before, after=_audit_view(row))
            db.session.commit()
