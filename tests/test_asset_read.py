"""GET /api/assets/<id> and /by-tag/<tag> read the row without the ORM (app/api/assets.py, docs/PERFORMANCE.md
"API"): their body and ETag must stay exactly what AssetSchema dumps from the ORM object, field for field."""

import pytest
from sqlalchemy import select

from app.api.assets import AssetSchema
from app.api.common import etag_of
from app.extensions import db
from app.models import Asset, AssetType, Location


@pytest.fixture
def assets(app, seeded):
    """Ids of a located asset with every optional field set, one with none set, and a soft-deleted one."""
    with app.app_context():
        printer = db.session.scalar(select(AssetType).where(AssetType.code == "printer"))
        main = db.session.scalar(select(Location).where(Location.code == "main"))
        full = Asset(asset_tag="RD-1", name="full", serial="SN-1", asset_type=printer, location=main, notes="n",
                     status="spare")
        bare = Asset(asset_tag="RD-2", name="bare", asset_type=printer, status="in_service")
        gone = Asset(asset_tag="RD-3", name="gone", asset_type=printer, status="in_service")
        db.session.add_all([full, bare, gone])
        db.session.flush()
        gone.soft_delete()
        db.session.commit()
        return {"full": full.id, "bare": bare.id, "gone": gone.id}


def test_detail_and_by_tag_equal_the_orm_dump(app, api_as, assets):
    viewer = api_as("viewer")
    for key in ("full", "bare"):
        with app.app_context():
            asset = db.session.get(Asset, assets[key])
            expected, etag, tag = AssetSchema().dump(asset), f'"{etag_of(asset)}"', asset.asset_tag
        for url in (f"/api/assets/{assets[key]}", f"/api/assets/by-tag/{tag}"):
            response = viewer.get(url)
            assert response.status_code == 200, response.get_json()
            assert response.get_json() == expected, url
            assert response.headers["ETag"] == etag, url
    assert viewer.get("/api/assets/by-tag/RD-1").get_json()["location"]["code"] == "main"
    assert viewer.get("/api/assets/by-tag/RD-2").get_json()["location"] is None


def test_soft_deleted_and_unknown_assets_are_404(app, api_as, assets):
    viewer = api_as("viewer")
    response = viewer.get(f"/api/assets/{assets['gone']}")
    assert response.status_code == 404
    assert response.get_json()["error"]["message"] == f"No assets row with id {assets['gone']}."
    assert viewer.get("/api/assets/by-tag/RD-3").status_code == 404
    assert viewer.get("/api/assets/999999").status_code == 404
