"""Users, their personal API tokens, revoked JWTs and failed logins."""

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import TimestampMixin, utcnow

# Ordered from least to most privileged: viewer reads, editor writes, admin manages users and tokens.
ROLES = ("viewer", "editor", "admin")


def role_at_least(role, needed):
    """True when *role* is *needed* or above."""
    return ROLES.index(role) >= ROLES.index(needed)


class User(TimestampMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('viewer', 'editor', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False, default="viewer", index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True, index=True)
    # Carried in every session JWT ("epoch" claim) and compared on each request: raising it ends every cookie
    # session issued before, without a blocklist row per token (password, role or active change, logout-all).
    session_epoch: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")

    def end_sessions(self):
        """End every cookie session issued to this user so far (the caller commits)."""
        self.session_epoch = (self.session_epoch or 0) + 1


class ApiToken(db.Model):
    """A personal API token. Only its SHA-256 is stored; the token itself is shown once at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    # The first characters of the token, to tell tokens apart in listings without revealing them.
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    # "read" tokens may only GET; "read-write" ones act with the owner's full role.
    scope: Mapped[str] = mapped_column(String(16), nullable=False, default="read-write", server_default="read-write")
    # Comma-separated addresses or CIDRs the token is accepted from (None: anywhere).
    allowed_networks: Mapped[str | None] = mapped_column(String(500))
    # Updated at most once a minute (TOKEN_LAST_USED_RESOLUTION), so a busy script does not write on every request.
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)

    @property
    def networks(self):
        """allowed_networks as a list (empty: anywhere)."""
        return self.allowed_networks.split(",") if self.allowed_networks else []


class TokenBlocklist(db.Model):
    """JWTs revoked before they expire. Rows past expires_at can be purged.

    Three kinds, by token_type: "access"/"refresh" (one token), "refresh" with *family* and *client* set (a
    refresh token rotated at revoked_at: presenting it again is reuse), and "family" (jti is a login's family
    id: every token of that login, newer ones included, is revoked).
    """

    __tablename__ = "token_blocklist"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jti: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    token_type: Mapped[str] = mapped_column(String(16), nullable=False)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    revoked_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
    family: Mapped[str | None] = mapped_column(String(64))
    # A hash of the address and User-Agent that rotated it: only that client gets the two-tab grace.
    client: Mapped[str | None] = mapped_column(String(64))


class LoginAttempt(db.Model):
    """A failed login. Kept in the database so throttling holds across gunicorn workers and restarts."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), nullable=False, index=True)
    ip: Mapped[str] = mapped_column(String(45), nullable=False, index=True)
    attempted_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow, index=True)
