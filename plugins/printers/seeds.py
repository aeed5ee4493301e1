"""Reference data printers needs. Author-owned: `copier update` never touches this file.

`seed()` runs in `flask plugin install` inside a transaction the framework commits (never commit here).
It must be idempotent: installing twice changes nothing, so look rows up by natural key first.
"""
from app.extensions import db
from app.models import AssetType

# The same code `flask seed` uses for printers, so a site that ran both has one type, not two.
ASSET_TYPE_CODE = "printer"


def seed():
    """Create the printer asset type unless a live one with its code exists."""
    exists = db.session.scalar(db.select(AssetType).filter_by(code=ASSET_TYPE_CODE, deleted_at=None))
    if exists is None:
        db.session.add(AssetType(code=ASSET_TYPE_CODE, name="Printer", description="Label and office printers."))


def unseed(drop_data):
    """Runs in `flask plugin uninstall`. The asset type stays: assets may still reference it."""
