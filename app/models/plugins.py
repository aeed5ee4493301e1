"""The per-site plugin registry: which plugins this site installed and whether they are enabled."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import utcnow

# The values of PluginRecord.state.
ENABLED = "enabled"
DISABLED = "disabled"
FAILED = "failed"  # the last install attempt failed; `error` says why


class PluginRecord(db.Model):
    """One row per plugin installed on this site (created by core revision core_0002)."""

    __tablename__ = "plugin_registry"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(64))  # the plugin version last installed
    state: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    installed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    def set(self, **changes) -> None:
        """Apply changes, bumping updated_at only when something really changed (install is idempotent)."""
        changed = {k: v for k, v in changes.items() if getattr(self, k) != v}
        for key, value in changed.items():
            setattr(self, key, value)
        if changed:
            self.updated_at = utcnow()
