"""/api/auth: browser sessions as JWTs in HttpOnly cookies, with CSRF double submit."""

from datetime import datetime, timezone

from flask import after_this_request, current_app, g, request
from flask.views import MethodView
from flask_jwt_extended import (create_access_token, create_refresh_token, decode_token, get_jwt,
                                get_jwt_identity, set_access_cookies, set_refresh_cookies, unset_jwt_cookies,
                                verify_jwt_in_request)
from jwt.exceptions import PyJWTError
from marshmallow import Schema, fields, validate

from app.api.common import Blueprint, abort_json, current_user, require_role
from app.auth import clear_failed_logins, find_user, login_retry_after, record_failed_login, revoke_jwt, verify_password
from app.extensions import db
from app.models import User

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Log in and out (cookie sessions)")


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024), load_only=True)


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    role = fields.String()
    auth_method = fields.String(metadata={"description": "cookie or token"})


def _me(user, method):
    return {"id": user.id, "username": user.username, "role": user.role, "auth_method": method}


@blp.route("/login")
class Login(MethodView):
    @blp.doc(security=[])
    @blp.arguments(LoginSchema)
    @blp.response(200, MeSchema)
    @blp.errors(401, 429)
    def post(self, data):
        """Log in: sets the access and refresh cookies and their csrf_* companions.

        Send the csrf_access_token cookie's value as X-CSRF-TOKEN on every write (the refresh one on
        /api/auth/refresh). Too many failures for a username or an address answer 429 with Retry-After.
        """
        username, ip = data["username"], request.remote_addr or "unknown"
        wait = login_retry_after(username, ip)
        if wait:
            abort_json(429, f"Too many failed logins: wait {wait} seconds and try again.",
                       headers={"Retry-After": str(wait)})
        user = find_user(username)
        if not verify_password(user, data["password"]) or not user.is_active:
            db.session.rollback()
            record_failed_login(username, ip)
            current_app.logger.warning("login failed for %r from %s", username, ip)
            abort_json(401, "Wrong username or password.", code="invalid_credentials")
        clear_failed_logins(username)
        db.session.commit()  # also stores a rehashed password
        current_app.logger.info("login ok for %r from %s", username, ip)
        access = create_access_token(identity=str(user.id))
        refresh = create_refresh_token(identity=str(user.id))

        @after_this_request
        def _cookies(response):
            set_access_cookies(response, access)
            set_refresh_cookies(response, refresh)
            return response

        return _me(user, "cookie")


@blp.route("/logout")
class Logout(MethodView):
    @blp.response(204)
    def post(self):
        """Log out: revokes the access and refresh tokens (server side) and clears the cookies."""
        verify_jwt_in_request()
        revoke_jwt(get_jwt())
        refresh_cookie = request.cookies.get(current_app.config["JWT_REFRESH_COOKIE_NAME"])
        if refresh_cookie:
            try:
                revoke_jwt(decode_token(refresh_cookie, allow_expired=True))
            except PyJWTError:
                pass  # a broken refresh cookie grants nothing; it is cleared below
        db.session.commit()

        @after_this_request
        def _clear(response):
            unset_jwt_cookies(response)
            return response


@blp.route("/refresh")
class Refresh(MethodView):
    @blp.response(200, MeSchema)
    def post(self):
        """New access and refresh cookies from the refresh cookie (send the csrf_refresh_token as X-CSRF-TOKEN).

        The refresh token is rotated: the one presented goes on the blocklist, so a stolen copy replayed after
        the owner's next refresh is refused (401 token_revoked). The new one expires when the old one would
        have, so refreshing never extends a session past the lifetime of its login.
        """
        verify_jwt_in_request(refresh=True)
        presented = get_jwt()
        user = db.session.get(User, int(get_jwt_identity()))
        if user is None or not user.is_active:
            abort_json(401, "This account no longer exists or is disabled.", code="invalid_token")
        remaining = datetime.fromtimestamp(presented["exp"], timezone.utc) - datetime.now(timezone.utc)
        access = create_access_token(identity=str(user.id))
        refresh = create_refresh_token(identity=str(user.id), expires_delta=remaining)
        revoke_jwt(presented)
        db.session.commit()

        @after_this_request
        def _cookies(response):
            set_access_cookies(response, access)
            set_refresh_cookies(response, refresh, max_age=max(int(remaining.total_seconds()), 1))
            return response

        return _me(user, "cookie")


@blp.route("/me")
class Me(MethodView):
    @require_role("viewer")
    @blp.response(200, MeSchema)
    def get(self):
        """Who am I (works with the cookie session and with a Bearer API token)."""
        return _me(current_user(), g.auth_method)
