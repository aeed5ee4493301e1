"""Column helpers shared by the core models (plugins may use them too)."""

from datetime import datetime, timezone

from sqlalchemy import DateTime, Integer
from sqlalchemy.orm import Mapped, mapped_column


def utcnow():
    """Naive UTC now: MariaDB DATETIME has no time zone, so every timestamp is stored as UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=utcnow, onupdate=utcnow, index=True)


class SoftDeleteMixin:
    """Soft delete. Natural keys are unique on (key, deleted_marker): 0 while live, the row id once deleted,
    so a deleted row never blocks a new one with the same key (portable to MariaDB, which lacks partial indexes)."""

    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, index=True)
    deleted_marker: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")

    def soft_delete(self):
        self.deleted_at = utcnow()
        self.deleted_marker = self.id

    def restore(self):
        self.deleted_at = None
        self.deleted_marker = 0
