"""Asset types (printer, pc, machine, ...) and asset statuses: reference data seeded by `flask seed`."""

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import SoftDeleteMixin, TimestampMixin


class AssetType(TimestampMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "asset_types"
    __table_args__ = (UniqueConstraint("code", "deleted_marker"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(50), nullable=False)  # indexed by the unique key
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}


class AssetStatus(db.Model):
    """Lifecycle states an asset can be in; assets reference the code."""

    __tablename__ = "asset_statuses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
