"""Core models. Importing this package registers every core table on `db.metadata`."""

from app.models.asset_types import AssetStatus, AssetType
from app.models.assets import Asset
from app.models.audit import AuditLog
from app.models.base import SoftDeleteMixin, TimestampMixin, utcnow
from app.models.locations import Location
from app.models.plugins import PluginRecord
from app.models.users import ROLES, ApiToken, LoginAttempt, TokenBlocklist, User, role_at_least

__all__ = [
    "ROLES",
    "ApiToken",
    "Asset",
    "AssetStatus",
    "AssetType",
    "AuditLog",
    "Location",
    "LoginAttempt",
    "PluginRecord",
    "SoftDeleteMixin",
    "TimestampMixin",
    "TokenBlocklist",
    "User",
    "role_at_least",
    "utcnow",
]
