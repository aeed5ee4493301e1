"""`flask seed`: the reference data every site starts with. Idempotent: existing rows are left alone."""

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from app.extensions import db
from app.models import AssetStatus, AssetType, Location

ASSET_TYPES = (
    ("machine", "Machine", "Production machines: presses, CNC, lines."),
    ("pc", "PC", "Desktop and shop-floor computers."),
    ("printer", "Printer", "Label and office printers."),
    ("network", "Network device", "Switches, access points, routers."),
    ("other", "Other", "Anything else worth tracking."),
)
STATUSES = (
    ("in_service", "In service"),
    ("in_repair", "In repair"),
    ("spare", "Spare"),
    ("retired", "Retired"),
)
LOCATIONS = (("main", "Main shop floor", "Default location until assets are placed."),)


@click.command("seed")
@with_appcontext
def seed():
    """Create the default asset types, statuses and location (running it again changes nothing)."""
    added = add_reference_data()
    click.echo(f"seed: {added} row(s) added" if added else "seed: reference data already present; nothing changed")


def add_reference_data():
    """Add the missing reference rows and commit; returns how many were added (0: nothing changed)."""
    added = 0
    for code, name, description in ASSET_TYPES:
        if db.session.scalar(select(AssetType.id).where(AssetType.code == code)) is None:
            db.session.add(AssetType(code=code, name=name, description=description))
            added += 1
    for code, name in STATUSES:
        if db.session.scalar(select(AssetStatus.id).where(AssetStatus.code == code)) is None:
            db.session.add(AssetStatus(code=code, name=name))
            added += 1
    for code, name, description in LOCATIONS:
        if db.session.scalar(select(Location.id).where(Location.code == code)) is None:
            db.session.add(Location(code=code, name=name, description=description))
            added += 1
    db.session.commit()
    return added
