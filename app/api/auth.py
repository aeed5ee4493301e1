"""/api/auth: browser sessions as JWTs in HttpOnly cookies, with CSRF double submit; ending sessions; passwords."""

import time

from flask import after_this_request, current_app, g, request
from flask.views import MethodView
from flask_jwt_extended import (decode_token, get_jwt, set_access_cookies, set_refresh_cookies, unset_jwt_cookies,
                                verify_jwt_in_request)
from flask_jwt_extended.exceptions import RevokedTokenError
from jwt.exceptions import PyJWTError
from marshmallow import Schema, fields, validate
from sqlalchemy.exc import IntegrityError

from app.api.common import Blueprint, abort_json, current_user, record_audit, require_role
from app.api.users import PASSWORD, check_password_policy
from app.auth import (clear_failed_logins, find_user, hash_password, issue_session, login_retry_after,
                      record_failed_login, revoke_session, rotate_refresh, session_problem, verify_password)
from app.extensions import db
from app.models import User

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Log in and out (cookie sessions)")


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024), load_only=True)


class PasswordChangeSchema(Schema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=1024), load_only=True)
    new_password = fields.String(required=True, validate=PASSWORD, load_only=True)


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    role = fields.String()
    auth_method = fields.String(metadata={"description": "cookie or token"})


def _me(user, method):
    return {"id": user.id, "username": user.username, "role": user.role, "auth_method": method}


def _client_address():
    return request.remote_addr or "unknown"


def _throttle(username, ip):
    wait = login_retry_after(username, ip)
    if wait:
        abort_json(429, f"Too many failed logins: wait {wait} seconds and try again.",
                   headers={"Retry-After": str(wait)})


def _set_session_cookies(access, refresh, max_age=None):
    @after_this_request
    def _cookies(response):
        set_access_cookies(response, access)
        set_refresh_cookies(response, refresh, max_age=max_age)
        return response


def _clear_session_cookies():
    @after_this_request
    def _clear(response):
        unset_jwt_cookies(response)
        return response


@blp.route("/login")
class Login(MethodView):
    @blp.doc(security=[])
    @blp.arguments(LoginSchema)
    @blp.response(200, MeSchema)
    @blp.errors(401, 429)
    def post(self, data):
        """Log in: sets the access and refresh cookies and their csrf_* companions.

        Send the csrf_access_token cookie's value as X-CSRF-TOKEN on every write (the refresh one on
        /api/auth/refresh). Too many failures answer 429 with Retry-After: per username and address (with a
        back-off), per username from all addresses (a higher limit) and per address (docs/API.md, "Throttling").
        """
        username, ip = data["username"], _client_address()
        _throttle(username, ip)
        user = find_user(username)
        if not verify_password(user, data["password"]) or not user.is_active:
            db.session.rollback()
            record_failed_login(username, ip)
            current_app.logger.warning("login failed for %r from %s", username, ip)
            abort_json(401, "Wrong username or password.", code="invalid_credentials")
        clear_failed_logins(username, ip)
        db.session.commit()  # also stores a rehashed password
        current_app.logger.info("login ok for %r from %s", username, ip)
        _set_session_cookies(*issue_session(user))
        return _me(user, "cookie")


@blp.route("/logout")
class Logout(MethodView):
    @blp.response(204)
    def post(self):
        """Log out: revokes every token of this login on the server (the access token in use, the ones from
        before the last refresh, the refresh token) and clears the cookies."""
        verify_jwt_in_request()
        revoke_session(get_jwt())
        refresh_cookie = request.cookies.get(current_app.config["JWT_REFRESH_COOKIE_NAME"])
        if refresh_cookie:
            try:
                revoke_session(decode_token(refresh_cookie, allow_expired=True))
            except PyJWTError:
                pass  # a broken refresh cookie grants nothing; it is cleared below
        try:
            db.session.commit()
        except IntegrityError:  # a concurrent logout of the same login revoked it first: done either way
            db.session.rollback()
        _clear_session_cookies()


@blp.route("/logout-all")
class LogoutAll(MethodView):
    @require_role("viewer")
    @blp.response(204)
    def post(self):
        """End every cookie session of the caller, on every device (this one too). API tokens are kept:
        revoke them with DELETE /api/tokens/<id>."""
        user = current_user()
        user.end_sessions()
        record_audit("logout_all", "users", user.id)
        db.session.commit()
        if g.auth_method == "cookie":
            _clear_session_cookies()


@blp.route("/password")
class Password(MethodView):
    @require_role("viewer")
    @blp.arguments(PasswordChangeSchema)
    @blp.response(200, MeSchema)
    @blp.errors(429)
    def post(self, data):
        """Change your own password (the current one is required). Ends every other cookie session of yours;
        a cookie caller gets new cookies for this one. Wrong current passwords count as failed logins (429)."""
        user, ip = current_user(), _client_address()
        _throttle(user.username, ip)
        if not verify_password(user, data["current_password"]):
            db.session.rollback()
            record_failed_login(user.username, ip)
            abort_json(422, "The current password is wrong: send your present password as current_password.",
                       details={"json": {"current_password": ["wrong password"]}})
        check_password_policy(data["new_password"], user.username, field="new_password")
        user.password_hash = hash_password(data["new_password"])
        user.end_sessions()
        record_audit("update", "users", user.id, after={"password_changed": True})
        db.session.commit()
        if g.auth_method == "cookie":
            _set_session_cookies(*issue_session(user))
        return _me(user, g.auth_method)


@blp.route("/refresh")
class Refresh(MethodView):
    @blp.response(200, MeSchema)
    def post(self):
        """New access and refresh cookies from the refresh cookie (send the csrf_refresh_token as X-CSRF-TOKEN).

        The refresh token is rotated: the one presented goes on the blocklist, and presenting it again revokes
        every token of its login, the newer ones included (401 token_reused: a stolen copy ends the thief's
        session and the owner's). The one exception is the same client again within a few seconds (two tabs
        refreshing at once): it gets the same new pair. The new refresh token expires when the old one would
        have, so refreshing never extends a session past the lifetime of its login.
        """
        try:
            verify_jwt_in_request(refresh=True)
            presented, reused = get_jwt(), False
        except RevokedTokenError as exc:  # signature, expiry and CSRF were checked before the blocklist
            presented, reused = exc.jwt_data, True
        user = db.session.get(User, int(presented["sub"]))
        problem = session_problem(presented, user)
        if problem:
            abort_json(401, problem[1], code=problem[0])
        access, refresh = rotate_refresh(presented, user, reused)
        try:
            db.session.commit()
        except IntegrityError:  # another request rotated the same token at the same moment (two tabs)
            db.session.rollback()
            access, refresh = rotate_refresh(presented, user, reused=True)
        _set_session_cookies(access, refresh, max_age=max(presented["exp"] - int(time.time()), 1))
        return _me(user, "cookie")


@blp.route("/me")
class Me(MethodView):
    @require_role("viewer")
    @blp.response(200, MeSchema)
    def get(self):
        """Who am I (works with the cookie session and with a Bearer API token)."""
        return _me(current_user(), g.auth_method)
