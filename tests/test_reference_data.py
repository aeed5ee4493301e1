"""/api/asset-types and /api/locations: reference data with unique codes, ETags and soft delete."""

import pytest

from app.models import AssetType, Location

RESOURCES = [("/api/asset-types", AssetType, "drone"), ("/api/locations", Location, "hall-9")]


@pytest.fixture
def editor(api_as, seeded):
    return api_as("editor")


@pytest.mark.parametrize("url, model, code", RESOURCES)
def test_crud_cycle(editor, rows, url, model, code):
    created = editor.post(url, json={"code": code, "name": "New one", "description": "d"})
    assert created.status_code == 201
    item_id, etag = created.get_json()["id"], created.headers["ETag"]
    assert editor.post(url, json={"code": code, "name": "Twin"}).status_code == 409
    listed = editor.get(url, query_string={"code": code}).get_json()
    assert [i["id"] for i in listed["items"]] == [item_id]

    updated = editor.patch(f"{url}/{item_id}", json={"name": "Renamed"}, headers={"If-Match": etag})
    assert updated.status_code == 200 and updated.get_json()["code"] == code
    assert editor.patch(f"{url}/{item_id}", json={"name": "Stale"}, headers={"If-Match": etag}).status_code == 412
    assert rows(model, id=item_id)[0]["name"] == "Renamed"

    assert editor.delete(f"{url}/{item_id}").status_code == 204
    assert editor.get(f"{url}/{item_id}").status_code == 404
    assert editor.post(f"{url}/{item_id}/restore").status_code == 200
    assert editor.get(f"{url}/{item_id}").status_code == 200


@pytest.mark.parametrize("url, model, code", RESOURCES)
def test_codes_are_validated(editor, rows, url, model, code):
    before = rows(model)
    for bad in ("Upper", "with space", "", "x" * 51, "-lead"):
        assert editor.post(url, json={"code": bad, "name": "n"}).status_code == 422
    assert rows(model) == before


@pytest.mark.parametrize("url, model, code", [("/api/asset-types", AssetType, "printer"),
                                              ("/api/locations", Location, "main")])
def test_in_use_rows_cannot_be_deleted(editor, rows, url, model, code):
    printer = rows(AssetType, code="printer")[0]["id"]
    main = rows(Location, code="main")[0]["id"]
    asset = editor.post("/api/assets", json={"asset_tag": "A-1", "name": "a", "asset_type_id": printer,
                                             "location_id": main})
    assert asset.status_code == 201
    item_id = rows(model, code=code)[0]["id"]
    response = editor.delete(f"{url}/{item_id}")
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "in_use"
    assert rows(model, id=item_id)[0]["deleted_at"] is None
    # Deleted assets do not hold it.
    assert editor.delete(f"/api/assets/{asset.get_json()['id']}").status_code == 204
    assert editor.delete(f"{url}/{item_id}").status_code == 204


def test_deleted_type_cannot_be_used_for_new_assets(editor, rows):
    type_id = editor.post("/api/asset-types", json={"code": "drone", "name": "Drone"}).get_json()["id"]
    assert editor.delete(f"/api/asset-types/{type_id}").status_code == 204
    response = editor.post("/api/assets", json={"asset_tag": "D-1", "name": "d", "asset_type_id": type_id})
    assert response.status_code == 422
