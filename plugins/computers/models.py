"""Computers tables. Author-owned: rendered once by `copier copy`, never touched by `copier update`.

Every table is named `computers_...` and extends a core asset by its id (`assets.id` is frozen public API).
"""
from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, synonym

from app.extensions import db
from app.models import Asset, TimestampMixin


class Computer(TimestampMixin, db.Model):
    """A computer's network identity (at most one row per asset)."""

    __tablename__ = "computers_hosts"

    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), primary_key=True)
    # Stored lower-case (DNS names are case-insensitive), unique across all computers.
    hostname: Mapped[str] = mapped_column(String(253), nullable=False, unique=True)
    os: Mapped[str | None] = mapped_column(String(100), index=True)
    # Stored in canonical form: IPv4 dotted quad or compressed IPv6.
    ip_address: Mapped[str | None] = mapped_column(String(45), index=True)
    # Stored as six lower-case hex pairs joined by colons.
    mac_address: Mapped[str | None] = mapped_column(String(17), index=True)
    # Bumped on every update: the ETag derives from it and concurrent writers get a 412, not a lost update.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    asset: Mapped[Asset] = relationship(lazy="joined", innerjoin=True)
    # app.api.common's ETag helpers address rows by `id`.
    id = synonym("asset_id")

    __mapper_args__ = {"version_id_col": version}


# What the plugin's get_models() returns: the loader checks each table's prefix and registers it.
MODELS = [Computer]
