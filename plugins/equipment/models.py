"""Equipment tables. Author-owned: rendered once by `copier copy`, never touched by `copier update`.

Every table is named `equipment_...` and extends a core asset by its id (`assets.id` is frozen public API).
"""
from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from app.extensions import db
from app.models import Asset, TimestampMixin


class Machine(TimestampMixin, db.Model):
    """A machine tool's details (at most one row per asset)."""

    __tablename__ = "equipment_machines"

    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), primary_key=True)
    make: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    model: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    # The CNC control, e.g. "Fanuc 31i-B" or "Heidenhain TNC 640".
    controller: Mapped[str | None] = mapped_column(String(100), index=True)
    # The builder's serial number from the machine plate (the asset's own `serial` may be an internal one).
    serial: Mapped[str | None] = mapped_column(String(128), index=True)
    install_date: Mapped[date | None] = mapped_column(Date)
    # Bumped on every update: the ETag derives from it and concurrent writers get a 412, not a lost update.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    asset: Mapped[Asset] = relationship(lazy="joined", innerjoin=True)
    # app.api.common's ETag helpers address rows by `id`.
    id = synonym("asset_id")

    __mapper_args__ = {"version_id_col": version}


# What the plugin's get_models() returns: the loader checks each table's prefix and registers it.
MODELS = [Machine]
