"""Locations: where an asset stands (hall, line, room)."""

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import SoftDeleteMixin, TimestampMixin


class Location(TimestampMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("code", "deleted_marker"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(50), nullable=False)  # indexed by the unique key
    name: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    description: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}
