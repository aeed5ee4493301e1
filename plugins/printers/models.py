"""Printers tables. Author-owned: rendered once by `copier copy`, never touched by `copier update`.

Every table is named `printers_...` and extends a core asset by its id (`assets.id` is frozen public API).
"""
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from app.extensions import db
from app.models import Asset, TimestampMixin


class Printer(TimestampMixin, db.Model):
    """A printer's model, address and print queue (at most one row per asset)."""

    __tablename__ = "printers_devices"

    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), primary_key=True)
    model: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    # Stored in canonical form: IPv4 dotted quad or compressed IPv6.
    ip_address: Mapped[str | None] = mapped_column(String(45), index=True)
    # The print server's queue name; one queue feeds one printer, so it is unique.
    queue_name: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Bumped on every update: the ETag derives from it and concurrent writers get a 412, not a lost update.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    asset: Mapped[Asset] = relationship(lazy="joined", innerjoin=True)
    # app.api.common's ETag helpers address rows by `id`.
    id = synonym("asset_id")

    __mapper_args__ = {"version_id_col": version}


# What the plugin's get_models() returns: the loader checks each table's prefix and registers it.
MODELS = [Printer]
