"""Credentials: argon2id passwords, hashed personal API tokens, JWT revocation and login throttling."""

import hashlib
import secrets
from datetime import datetime, timezone

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import bindparam, delete, func, select

from app.errors import abort_json, json_error
from app.extensions import db, jwt
from app.models import ApiToken, LoginAttempt, TokenBlocklist, User, utcnow

API_TOKEN_PREFIX = "shopdb_"


# --- passwords --------------------------------------------------------------------------------------

def password_hasher():
    cfg = current_app.config
    return PasswordHasher(time_cost=cfg["ARGON2_TIME_COST"], memory_cost=cfg["ARGON2_MEMORY_COST"],
                          parallelism=cfg["ARGON2_PARALLELISM"], type=Type.ID)


def hash_password(password):
    return password_hasher().hash(password)


# A real hash to verify against when the username is unknown, so timing does not reveal which users exist.
_DUMMY_HASH = {}


def verify_password(user, password):
    """Check *password* for *user* (None = unknown user, still costs one hash). Rehashes with the
    current cost settings after a successful check; the caller commits."""
    hasher = password_hasher()
    if user is None:
        key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
        if key not in _DUMMY_HASH:
            _DUMMY_HASH[key] = hasher.hash(secrets.token_hex(16))
        try:
            hasher.verify(_DUMMY_HASH[key], password)
        except VerificationError:
            pass
        return False
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


def password_problems(password, username=None):
    """What is wrong with *password* under the policy (empty list when acceptable)."""
    problems = []
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        problems.append(f"the password must be at least {minimum} characters long")
    if username and password.lower() == username.lower():
        problems.append("the password must not be the username")
    if password and len(set(password)) < 4:
        problems.append("the password must not repeat one or two characters")
    return problems


# --- personal API tokens ----------------------------------------------------------------------------

def _token_hash(token):
    # Tokens are 256 random bits, so a plain SHA-256 cannot be brute-forced; no pepper to rotate.
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(user, name, expires_at=None):
    """Create a token for *user*; returns (ApiToken row, the token text to show once). Caller commits."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user=user, name=name, prefix=token[: len(API_TOKEN_PREFIX) + 6],
                   token_hash=_token_hash(token), expires_at=expires_at)
    db.session.add(row)
    return row, token


# Every authenticated request identifies its caller in one Core SELECT, built once: the user's id, username and
# role (what require_role and the audit trail need) and whether the account is active, with the token's validity
# for a Bearer token. The User ORM object is loaded only when a view asks for it (current_user()): loading it on
# every request cost about 0.15 ms of CPU, a tenth of a detail request (docs/PERFORMANCE.md, "API").
_USERS, _TOKENS = User.__table__, ApiToken.__table__
_CALLER = select(_USERS.c.id, _USERS.c.username, _USERS.c.role, _USERS.c.is_active)
_CALLER_BY_ID = _CALLER.where(_USERS.c.id == bindparam("user_id"))
_CALLER_BY_TOKEN = (_CALLER.add_columns(_TOKENS.c.revoked_at, _TOKENS.c.expires_at)
                    .join(_TOKENS, _TOKENS.c.user_id == _USERS.c.id)
                    .where(_TOKENS.c.token_hash == bindparam("token_hash")))


def caller_by_id(user_id):
    """The user with *user_id* as a row (id, username, role, is_active), or None."""
    return db.session.execute(_CALLER_BY_ID, {"user_id": user_id}).first()


def caller_from_api_token(token):
    """The active user owning *token* as a row (id, username, role, ...); 401 (JSON) when the token is unknown,
    revoked or expired, or its user disabled."""
    row = db.session.execute(_CALLER_BY_TOKEN, {"token_hash": _token_hash(token)}).first()
    if row is None or row.revoked_at is not None:
        abort_json(401, "Unknown or revoked API token: ask an admin for a new one.", code="invalid_token")
    if row.expires_at is not None and row.expires_at <= utcnow():
        abort_json(401, "This API token has expired: ask an admin for a new one.", code="token_expired")
    if not row.is_active:
        abort_json(401, "The user owning this API token is disabled.", code="invalid_token")
    return row


# --- JWT cookies ------------------------------------------------------------------------------------

def revoke_jwt(payload):
    """Put a decoded JWT on the blocklist (until it would have expired anyway). Caller commits."""
    expires = datetime.fromtimestamp(payload["exp"], timezone.utc).replace(tzinfo=None)
    if db.session.scalar(select(TokenBlocklist.id).where(TokenBlocklist.jti == payload["jti"])) is None:
        db.session.add(TokenBlocklist(jti=payload["jti"], token_type=payload["type"],
                                      user_id=int(payload["sub"]), expires_at=expires))


def init_jwt(app):
    """Wire flask-jwt-extended's callbacks to the blocklist and to the JSON error shape."""
    @jwt.token_in_blocklist_loader
    def _revoked(_header, payload):
        return db.session.scalar(select(TokenBlocklist.id).where(TokenBlocklist.jti == payload["jti"])) is not None

    # These run inside flask-jwt-extended's error handlers, so they return a response instead of raising.
    def _unauthorized(message, code):
        return json_error(401, message, code=code)

    jwt.unauthorized_loader(lambda reason: _unauthorized(
        f"Not logged in ({reason}): POST /api/auth/login, or send 'Authorization: Bearer <api token>'.",
        "not_authenticated"))
    jwt.invalid_token_loader(lambda reason: _unauthorized(f"Invalid session token ({reason}): log in again.",
                                                          "invalid_token"))
    jwt.expired_token_loader(lambda _h, _p: _unauthorized(
        "Your session has expired: POST /api/auth/refresh or log in again.", "token_expired"))
    jwt.revoked_token_loader(lambda _h, _p: _unauthorized("This session was logged out: log in again.",
                                                          "token_revoked"))


# --- login throttling -------------------------------------------------------------------------------

def login_retry_after(username, ip):
    """Seconds the client must wait before another login try (0 = go ahead).

    Counts failed logins in the database within LOGIN_WINDOW, per username and per client address,
    so the limit holds across gunicorn workers, hosts sharing the database, and restarts.
    """
    cfg = current_app.config
    since = utcnow() - cfg["LOGIN_WINDOW"]
    recent = LoginAttempt.attempted_at > since
    user_failures, user_oldest = db.session.execute(
        select(func.count(), func.min(LoginAttempt.attempted_at)).where(recent, LoginAttempt.username == username)
    ).one()
    ip_failures, ip_oldest = db.session.execute(
        select(func.count(), func.min(LoginAttempt.attempted_at)).where(recent, LoginAttempt.ip == ip)
    ).one()
    blocked = [oldest for failures, oldest, limit in (
        (user_failures, user_oldest, cfg["LOGIN_MAX_FAILURES_PER_USER"]),
        (ip_failures, ip_oldest, cfg["LOGIN_MAX_FAILURES_PER_IP"]),
    ) if failures >= limit]
    if not blocked:
        return 0
    wait = (max(blocked) + cfg["LOGIN_WINDOW"] - utcnow()).total_seconds()
    return max(1, int(wait))


def record_failed_login(username, ip):
    """Remember a failed login and drop ones older than the window. Commits."""
    db.session.execute(delete(LoginAttempt).where(
        LoginAttempt.attempted_at < utcnow() - current_app.config["LOGIN_WINDOW"]))
    db.session.add(LoginAttempt(username=username, ip=ip))
    db.session.commit()


def clear_failed_logins(username):
    """Forget a user's failed logins after a successful one. Caller commits."""
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.username == username))


def find_user(username):
    return db.session.scalar(select(User).where(User.username == username))
