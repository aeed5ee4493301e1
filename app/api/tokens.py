"""/api/tokens: personal API tokens for scripts and the deploy kit (admin only). Shown once, stored hashed.

An admin mints tokens for themselves only: a token acts with its owner's rights and its actions are audited as
its owner, so one minted for someone else would let an admin act in their name. Tokens for other users (service
accounts) come from `flask token create --username NAME` on an app host, which records an audit row.
"""

from datetime import timedelta

from flask.views import MethodView
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from app.api.common import (Blueprint, Integer, ListArgsSchema, UTCDateTime, abort_json, current_user, get_or_404,
                            page_schema, paginate, record_audit, require_role, search_filter)
from app.auth import TOKEN_SCOPES, issue_api_token
from app.networks import network_problems
from app.extensions import db
from app.models import ApiToken, utcnow

blp = Blueprint("tokens", __name__, url_prefix="/api/tokens", description="Personal API tokens (admin only)")


def _valid_networks(value):
    problems = network_problems("allowed_networks", value)
    if problems:
        raise ValidationError(problems)


class TokenSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    user_id = Integer(metadata={"description": "Owner: only the caller's own id is accepted (403 otherwise); "
                                                      "tokens for other users come from `flask token create`."})
    username = fields.String(dump_only=True, attribute="user.username")
    prefix = fields.String(dump_only=True, metadata={"description": "First characters, to recognise it."})
    expires_in_days = Integer(load_only=True, validate=validate.Range(min=1, max=3650))
    scope = fields.String(load_default="read-write", validate=validate.OneOf(TOKEN_SCOPES), metadata={
        "description": "read: GET only (other methods 403 read_only_token); read-write: the owner's full role."})
    allowed_networks = fields.List(
        fields.String(validate=validate.Length(min=1, max=49)), attribute="networks",
        validate=[validate.Length(max=10), _valid_networks],
        metadata={"description": "Addresses or CIDRs the token is accepted from (403 address_not_allowed from "
                                 "elsewhere); empty or absent: anywhere."})
    created_at = UTCDateTime(dump_only=True)
    expires_at = UTCDateTime(dump_only=True, allow_none=True, metadata={"description": "null: never expires."})
    revoked_at = UTCDateTime(dump_only=True, allow_none=True, metadata={"description": "null while valid."})
    last_used_at = UTCDateTime(dump_only=True, allow_none=True, metadata={
        "description": "Last successful use, to the minute."})


class NewTokenSchema(TokenSchema):
    token = fields.String(dump_only=True, metadata={"description": "The token. Shown this once only."})


class TokenListArgsSchema(ListArgsSchema):
    user_id = Integer()
    include_revoked = fields.Boolean(load_default=False)


TokenPageSchema = page_schema(TokenSchema)


def audit_view(row):
    return {"id": row.id, "name": row.name, "user_id": row.user_id, "prefix": row.prefix,
            "expires_at": row.expires_at and row.expires_at.isoformat() + "Z",
            "revoked_at": row.revoked_at and row.revoked_at.isoformat() + "Z",
            "scope": row.scope, "allowed_networks": row.networks}


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
        """Create a token for yourself. The response is the only time it is shown."""
        user = current_user()
        if data.get("user_id", user.id) != user.id:
            abort_json(403, "Admins create API tokens for themselves only (a token's actions are audited as its "
                            "owner): run `flask token create --username NAME` on an app host for another user.",
                       code="forbidden")
        expires = utcnow() + timedelta(days=data["expires_in_days"]) if "expires_in_days" in data else None
        row, token = issue_api_token(user, data["name"], expires, data["scope"], data.get("networks", ()))
        db.session.flush()
        record_audit("create", "api_tokens", row.id, after=audit_view(row))
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
            before = audit_view(row)
            row.revoked_at = utcnow()
            record_audit("revoke", "api_tokens", row.id, before=before, after=audit_view(row))
            db.session.commit()
