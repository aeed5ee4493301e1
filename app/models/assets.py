"""Assets: the shop floor's machines, PCs, printers. `assets.id` is the stable key plugins extend."""

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.asset_types import AssetType
from app.models.base import SoftDeleteMixin, TimestampMixin
from app.models.locations import Location


class Asset(TimestampMixin, SoftDeleteMixin, db.Model):
    __tablename__ = "assets"
    # The list filters' indexes end with deleted_at, so a filtered page and its count walk the live matches in id
    # order on one index; with single-column ones MariaDB intersected the filter's index with deleted_at's,
    # which every live row shares (bench/api.py, docs/adr/0008-bounded-list-totals.md).
    __table_args__ = (UniqueConstraint("asset_tag", "deleted_marker"),
                      Index("ix_assets_asset_type_id_deleted_at", "asset_type_id", "deleted_at"),
                      Index("ix_assets_status_deleted_at", "status", "deleted_at"),
                      Index("ix_assets_location_id_deleted_at", "location_id", "deleted_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_tag: Mapped[str] = mapped_column(String(64), nullable=False)  # indexed by the unique key
    name: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    serial: Mapped[str | None] = mapped_column(String(128), index=True)
    asset_type_id: Mapped[int] = mapped_column(ForeignKey("asset_types.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(32), ForeignKey("asset_statuses.code"), nullable=False)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    # Many-to-one, always loaded in the same SELECT: a page of assets costs one query, never N+1.
    # Outer joins on purpose: they keep `assets` the driving table, so ORDER BY id LIMIT walks the primary
    # key; with an inner join MariaDB started from asset_types and sorted every live asset for each page.
    asset_type: Mapped[AssetType] = relationship(lazy="joined")
    location: Mapped[Location | None] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}
