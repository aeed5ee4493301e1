"""/api/users: accounts and roles (admin only). Changes that matter to security end the user's sessions."""

from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select, update

from app.api.common import (Blueprint, ListArgsSchema, Pattern, UTCDateTime, abort_json, commit_or_409, get_or_404,
                            page_schema, paginate, record_audit, require_role, search_filter, snapshot)
from app.auth import hash_password, password_problems
from app.config import Config
from app.extensions import db
from app.models import ROLES, ApiToken, User, utcnow

blp = Blueprint("users", __name__, url_prefix="/api/users", description="Users (admin only)")

AUDIT_EXCLUDE = ("password_hash",)
# The length rule of the password policy, in the document too; the rest (not the username, not one or two
# characters repeated) is checked by `password_problems`, which a JSON schema cannot state.
PASSWORD = validate.Length(min=Config.PASSWORD_MIN_LENGTH, max=1024,
                           error="The password must be {min} to {max} characters long.")


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    username = fields.String(required=True, validate=Pattern(
        r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,79}$", error="Use 1-80 letters, digits, '.', '_', '@' or '-'."))
    password = fields.String(required=True, load_only=True, validate=PASSWORD)
    role = fields.String(load_default="viewer", validate=validate.OneOf(ROLES))
    is_active = fields.Boolean(load_default=True)
    created_at = UTCDateTime(dump_only=True)
    updated_at = UTCDateTime(dump_only=True)


class UserUpdateSchema(Schema):
    password = fields.String(load_only=True, validate=PASSWORD)
    role = fields.String(validate=validate.OneOf(ROLES))
    is_active = fields.Boolean()


class UserListArgsSchema(ListArgsSchema):
    role = fields.String(validate=validate.OneOf(ROLES))
    is_active = fields.Boolean()


UserPageSchema = page_schema(UserSchema)


def check_password_policy(password, username, field="password"):
    """422 naming *field* when *password* breaks the policy (app.auth.password_problems)."""
    problems = password_problems(password, username)
    if problems:
        abort_json(422, "Weak password: " + "; ".join(problems) + ".", details={"json": {field: problems}})


def _active_admins():
    return db.session.scalar(select(func.count()).where(User.role == "admin", User.is_active.is_(True)))


@blp.route("")
class Users(MethodView):
    @require_role("admin")
    @blp.arguments(UserListArgsSchema, location="query", unknown="raise")
    @blp.response(200, UserPageSchema)
    def get(self, args):
        """List users in id order; filter by role and is_active, search usernames with q."""
        stmt = select(User).order_by(User.id)
        for name in ("role", "is_active"):
            if name in args:
                stmt = stmt.where(getattr(User, name) == args[name])
        if "q" in args:
            stmt = stmt.where(search_filter(args["q"], User.username))
        return paginate(stmt, args)

    @require_role("admin")
    @blp.arguments(UserSchema)
    @blp.response(201, UserSchema)
    @blp.errors(409)
    def post(self, data):
        """Create a user (409 when the username is taken)."""
        check_password_policy(data["password"], data["username"])
        if db.session.scalar(select(User.id).where(User.username == data["username"])) is not None:
            abort_json(409, f"User {data['username']!r} already exists.", code="conflict")
        user = User(username=data["username"], password_hash=hash_password(data["password"]),
                    role=data["role"], is_active=data["is_active"])
        with commit_or_409(f"User {data['username']!r} already exists.", details={"username": ["already in use"]}):
            db.session.add(user)
            db.session.flush()
            record_audit("create", "users", user.id, after=snapshot(user, exclude=AUDIT_EXCLUDE))
        return user


@blp.route("/<int:user_id>")
class UserResource(MethodView):
    @require_role("admin")
    @blp.response(200, UserSchema)
    def get(self, user_id):
        """One user."""
        return get_or_404(User, user_id)

    @require_role("admin")
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    @blp.errors(409)
    def patch(self, data, user_id):
        """Change role, active flag or password. The last active admin cannot be demoted or disabled."""
        user = get_or_404(User, user_id)
        losing_admin = user.role == "admin" and user.is_active and (
            data.get("role", "admin") != "admin" or data.get("is_active", True) is False)
        if losing_admin and _active_admins() <= 1:
            abort_json(409, "This is the last active admin: make another admin first.", code="last_admin")
        before = snapshot(user, exclude=AUDIT_EXCLUDE)
        password = data.pop("password", None)
        if password is not None:
            check_password_policy(password, user.username)
            user.password_hash = hash_password(password)
        disabling = user.is_active and data.get("is_active", True) is False
        # A new password, another role or disabling ends every cookie session issued before (the epoch in
        # their JWTs no longer matches); disabling also revokes the user's API tokens for good.
        if password is not None or data.get("role", user.role) != user.role or disabling:
            user.end_sessions()
        for field, value in data.items():
            setattr(user, field, value)
        revoked_tokens = 0
        if disabling:
            revoked_tokens = db.session.execute(update(ApiToken).where(
                ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow())).rowcount
        db.session.flush()
        after = snapshot(user, exclude=AUDIT_EXCLUDE) | {"password_changed": password is not None}
        if revoked_tokens:
            after["api_tokens_revoked"] = revoked_tokens
        record_audit("update", "users", user.id, before=before, after=after)
        db.session.commit()
        return user


@blp.route("/<int:user_id>/logout-all")
class UserLogoutAll(MethodView):
    @require_role("admin")
    @blp.response(204)
    def post(self, user_id):
        """End every cookie session of this user (audited as logout_all). Their API tokens are kept: revoke
        them with DELETE /api/tokens/<id>, or disable the user, which revokes them all."""
        user = get_or_404(User, user_id)
        user.end_sessions()
        record_audit("logout_all", "users", user.id)
        db.session.commit()
