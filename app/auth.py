"""Credentials: argon2id passwords, hashed scoped API tokens, JWT cookie sessions that end, login throttling."""

import hashlib
import hmac
import math
import secrets
import time
import uuid
from datetime import datetime, timezone

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, request
from flask_jwt_extended import create_access_token, create_refresh_token, get_jwt, verify_jwt_in_request
from sqlalchemy import and_, bindparam, case, delete, func, or_, select, update

from app.errors import abort_json, json_error
from app.extensions import db, jwt
from app.networks import address_in, parse_networks
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

# "read" tokens may only read (GET, HEAD, OPTIONS); "read-write" tokens act with the owner's full role.
TOKEN_SCOPES = ("read", "read-write")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _token_hash(token):
    # Tokens are 256 random bits, so a plain SHA-256 cannot be brute-forced; no pepper to rotate.
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(user, name, expires_at=None, scope="read-write", networks=()):
    """Create a token for *user*; returns (ApiToken row, the token text to show once). Caller commits.
    *networks*: addresses or CIDRs (checked with `app.networks.network_problems`) it is accepted from."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user=user, name=name, prefix=token[: len(API_TOKEN_PREFIX) + 6],
                   token_hash=_token_hash(token), expires_at=expires_at, scope=scope,
                   allowed_networks=",".join(networks) or None)
    db.session.add(row)
    return row, token


# Every authenticated request identifies its caller in one Core SELECT, built once: the user's id, username and
# role (what require_role and the audit trail need), whether the account is active and its session epoch, with the
# token's validity, scope and networks for a Bearer token. The User ORM object is loaded only when a view asks for
# it (current_user()): loading it on every request cost about 0.15 ms of CPU, a tenth of a detail request
# (docs/PERFORMANCE.md, "API").
_USERS, _TOKENS = User.__table__, ApiToken.__table__
_CALLER = select(_USERS.c.id, _USERS.c.username, _USERS.c.role, _USERS.c.is_active, _USERS.c.session_epoch)
_CALLER_BY_ID = _CALLER.where(_USERS.c.id == bindparam("user_id"))
_CALLER_BY_TOKEN = (_CALLER.add_columns(_TOKENS.c.id.label("token_id"), _TOKENS.c.revoked_at, _TOKENS.c.expires_at,
                                        _TOKENS.c.scope, _TOKENS.c.allowed_networks, _TOKENS.c.last_used_at)
                    .join(_TOKENS, _TOKENS.c.user_id == _USERS.c.id)
                    .where(_TOKENS.c.token_hash == bindparam("token_hash")))


def caller_by_id(user_id):
    """The user with *user_id* as a row (id, username, role, is_active, session_epoch), or None."""
    return db.session.execute(_CALLER_BY_ID, {"user_id": user_id}).first()


def caller_from_api_token(token):
    """The active user owning *token* as a row (id, username, role, ...); 401 (JSON) when the token is unknown,
    revoked or expired, or its user disabled; 403 when it is used from outside its networks, or is read-only and
    the request writes."""
    row = db.session.execute(_CALLER_BY_TOKEN, {"token_hash": _token_hash(token)}).first()
    if row is None or row.revoked_at is not None:
        abort_json(401, "Unknown or revoked API token: ask an admin for a new one.", code="invalid_token")
    now = utcnow()
    if row.expires_at is not None and row.expires_at <= now:
        abort_json(401, "This API token has expired: ask an admin for a new one.", code="token_expired")
    if not row.is_active:
        abort_json(401, "The user owning this API token is disabled.", code="invalid_token")
    if row.allowed_networks and not address_in(request.remote_addr,
                                               parse_networks(row.allowed_networks.split(","))):
        abort_json(403, f"This API token is not accepted from {request.remote_addr}: use it from "
                        f"{row.allowed_networks}, or ask an admin for a token for this address.",
                   code="address_not_allowed")
    if row.scope == "read" and request.method not in SAFE_METHODS:
        abort_json(403, "This API token is read-only: ask an admin for a read-write token to make changes.",
                   code="read_only_token")
    if row.last_used_at is None or row.last_used_at <= now - current_app.config["TOKEN_LAST_USED_RESOLUTION"]:
        # At most one write a minute per token, in its own short transaction (before the view's work starts).
        db.session.execute(update(_TOKENS).where(_TOKENS.c.id == row.token_id).values(last_used_at=now))
        db.session.commit()
    return row


# --- JWT cookie sessions ----------------------------------------------------------------------------
#
# Every login starts a token family (the "fam" claim, carried by its access and refresh tokens) and stamps its
# tokens with the user's session epoch ("epoch"). Logout blocklists the family; a password, role or active change
# and logout-all raise the epoch, which the caller lookup compares on every request. A refresh token is rotated on
# use; presenting a rotated one again revokes the family (reuse detection, RFC 9700 4.14.2), except from the same
# client within REFRESH_REUSE_GRACE, which gets the same new pair again (two tabs refreshing at once).

def _seconds(delta):
    return int(delta.total_seconds())


def _derived(seed, purpose):
    """A value only this server can compute from *seed*: the successor of a rotated refresh token is the same
    whenever it is asked for again within the grace."""
    key = current_app.config["JWT_SECRET_KEY"].encode()
    return hmac.new(key, f"{seed}:{purpose}".encode(), hashlib.sha256).hexdigest()[:36]


def issue_session(user, family=None, refresh_expires=None, seed=None, issued_at=None):
    """(access, refresh) JWTs for a cookie session of *user* in *family* (default: a new login).

    *refresh_expires* (a Unix time) keeps a rotated refresh token to its login's lifetime; *seed* and *issued_at*
    make the pair deterministic (jti and csrf from *seed*), so a rotation can be handed out again unchanged.
    """
    cfg = current_app.config
    now = issued_at or int(time.time())
    refresh_exp = refresh_expires or now + _seconds(cfg["JWT_REFRESH_TOKEN_EXPIRES"])
    claims = {"epoch": user.session_epoch or 0, "fam": family or uuid.uuid4().hex, "iat": now, "nbf": now}
    fixed = {}
    if seed:
        fixed = {kind: {"jti": _derived(seed, kind), "csrf": _derived(seed, kind + "-csrf")}
                 for kind in ("access", "refresh")}
    access = create_access_token(identity=str(user.id), additional_claims={
        **claims, **fixed.get("access", {}),
        "exp": min(now + _seconds(cfg["JWT_ACCESS_TOKEN_EXPIRES"]), refresh_exp)})
    refresh = create_refresh_token(identity=str(user.id), additional_claims={
        **claims, **fixed.get("refresh", {}), "exp": refresh_exp})
    return access, refresh


def session_problem(claims, caller):
    """Why the session JWT *claims* no longer speaks for *caller* (a caller row or User), or None."""
    if caller is None or not caller.is_active:
        return "invalid_token", "This account no longer exists or is disabled: log in again."
    if claims.get("epoch", 0) != caller.session_epoch:
        return "token_revoked", ("This session was ended (password, role or account change, or logout "
                                 "everywhere): log in again.")
    return None


def caller_from_session():
    """The caller of a request signed in with the access cookie (blocklist checked by flask-jwt-extended); 401
    when the cookie is missing or invalid, the user disabled or the session ended."""
    verify_jwt_in_request()
    claims = get_jwt()
    caller = caller_by_id(int(claims["sub"]))
    problem = session_problem(claims, caller)
    if problem:
        abort_json(401, problem[1], code=problem[0])
    return caller


def _expiry(payload):
    return datetime.fromtimestamp(payload["exp"], timezone.utc).replace(tzinfo=None)


def _blocked(jti):
    return db.session.scalar(select(TokenBlocklist.id).where(TokenBlocklist.jti == jti)) is not None


def revoke_jwt(payload):
    """Put a decoded JWT on the blocklist (until it would have expired anyway). Caller commits."""
    if not _blocked(payload["jti"]):
        db.session.add(TokenBlocklist(jti=payload["jti"], token_type=payload["type"],
                                      user_id=int(payload["sub"]), expires_at=_expiry(payload)))


def revoke_session(payload):
    """Revoke the whole login of the decoded JWT *payload*: its family (every access and refresh token of that
    login, older and newer), or the token alone when it predates families. Caller commits."""
    family = payload.get("fam")
    if family is None:
        return revoke_jwt(payload)
    if not _blocked(family):
        # No token of the family outlives the login's refresh lifetime counted from now.
        until = max(_expiry(payload), utcnow() + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"])
        db.session.add(TokenBlocklist(jti=family, token_type="family", user_id=int(payload["sub"]),
                                      expires_at=until))


def _client():
    return hashlib.sha256(f"{request.remote_addr}|{request.user_agent.string}".encode()).hexdigest()


def rotate_refresh(presented, user, reused):
    """The new (access, refresh) pair for the refresh JWT *presented* by *user*; the presented one is blocklisted
    as rotated. *reused*: flask-jwt-extended found it on the blocklist. Within the grace and from the client that
    rotated it, the same pair is handed out again; any other reuse revokes the family and answers 401."""
    family = presented.get("fam") or uuid.uuid4().hex
    if not reused:
        now = int(time.time())
        db.session.add(TokenBlocklist(
            jti=presented["jti"], token_type="refresh", user_id=user.id, expires_at=_expiry(presented),
            family=family, client=_client(),
            revoked_at=datetime.fromtimestamp(now, timezone.utc).replace(tzinfo=None)))
        return issue_session(user, family, presented["exp"], seed=presented["jti"], issued_at=now)
    rows = db.session.scalars(select(TokenBlocklist).where(
        TokenBlocklist.jti.in_([presented["jti"], family]))).all()
    rotated = next((r for r in rows if r.jti == presented["jti"] and r.client is not None), None)
    if any(r.token_type == "family" for r in rows):
        abort_json(401, "This session was logged out: log in again.", code="token_revoked")
    grace = current_app.config["REFRESH_REUSE_GRACE"]
    if rotated is not None and rotated.client == _client() and utcnow() - rotated.revoked_at <= grace:
        issued = int(rotated.revoked_at.replace(tzinfo=timezone.utc).timestamp())
        return issue_session(user, family, presented["exp"], seed=presented["jti"], issued_at=issued)
    revoke_session({**presented, "fam": family})
    db.session.commit()
    current_app.logger.warning("refresh token reuse for user %s: session family revoked", user.id)
    abort_json(401, "This refresh token was already used, so its session may be stolen: every token of this "
                    "login is revoked. Log in again.", code="token_reused")


def init_jwt(app):
    """Wire flask-jwt-extended's callbacks to the blocklist and to the JSON error shape."""
    @jwt.token_in_blocklist_loader
    def _revoked(_header, payload):
        # One statement: the token itself, or its whole login (family).
        keys = [payload["jti"]] + ([payload["fam"]] if payload.get("fam") else [])
        return db.session.scalar(select(TokenBlocklist.id).where(TokenBlocklist.jti.in_(keys)).limit(1)) is not None

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

    Counts failed logins in the database within LOGIN_WINDOW, so the limit holds across gunicorn workers, hosts
    sharing the database, and restarts, in one query:
    - per (username, address): LOGIN_MAX_FAILURES_PER_USER_ADDRESS free tries, then a back-off from the last
      failure that starts at LOGIN_BACKOFF and doubles with each further failure (at most the window);
    - per username from every address together, LOGIN_MAX_FAILURES_PER_USER (much higher), so an attacker at
      one address cannot lock the user out everywhere;
    - per address over every username, LOGIN_MAX_FAILURES_PER_IP.
    """
    cfg = current_app.config
    now, window = utcnow(), cfg["LOGIN_WINDOW"]
    pair = and_(LoginAttempt.username == username, LoginAttempt.ip == ip)
    by_user, by_ip = LoginAttempt.username == username, LoginAttempt.ip == ip
    at = LoginAttempt.attempted_at
    row = db.session.execute(
        select(func.count(case((pair, 1))), func.max(case((pair, at))),
               func.count(case((by_user, 1))), func.min(case((by_user, at))),
               func.count(case((by_ip, 1))), func.min(case((by_ip, at))))
        .where(at > now - window, or_(by_user, by_ip))
    ).one()
    pair_failures, pair_last, user_failures, user_oldest, ip_failures, ip_oldest = row
    until = []
    free = cfg["LOGIN_MAX_FAILURES_PER_USER_ADDRESS"]
    if pair_failures >= free:
        until.append(pair_last + min(cfg["LOGIN_BACKOFF"] * 2 ** (pair_failures - free), window))
    if user_failures >= cfg["LOGIN_MAX_FAILURES_PER_USER"]:
        until.append(user_oldest + window)
    if ip_failures >= cfg["LOGIN_MAX_FAILURES_PER_IP"]:
        until.append(ip_oldest + window)
    wait = (max(until) - now).total_seconds() if until else 0
    return max(1, math.ceil(wait)) if wait > 0 else 0


def record_failed_login(username, ip):
    """Remember a failed login and drop ones older than the window. Commits."""
    db.session.execute(delete(LoginAttempt).where(
        LoginAttempt.attempted_at < utcnow() - current_app.config["LOGIN_WINDOW"]))
    db.session.add(LoginAttempt(username=username, ip=ip))
    db.session.commit()


def clear_failed_logins(username, ip):
    """Forget the failures of *username* from *ip* after a successful login there (not those from other
    addresses: the owner's login must not give an attacker elsewhere fresh tries). Caller commits."""
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.username == username, LoginAttempt.ip == ip))


def find_user(username):
    return db.session.scalar(select(User).where(User.username == username))
