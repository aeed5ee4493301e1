"""The equipment endpoints: list (pagination, filters, search), detail with ETag, create, update with
If-Match, validation, roles and the error shape. Author-owned: `copier update` never touches this file.
"""
from datetime import date, timedelta

import pytest

from app.api.common import PER_PAGE_MAX
from app.extensions import db
from app.models import AssetType, AuditLog

# The API tests run on SQLite only; test_plugin.py covers MariaDB for the migrations.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

URL = "/api/plugins/equipment/machines"
MILL = {"make": "DMG Mori", "model": "DMU 50", "controller": "Heidenhain TNC 640", "serial": "DM-1001",
        "install_date": "2021-06-14"}


@pytest.fixture
def new_asset(app, editor_client):
    """Factory: a new core asset of type machine (seeded on install); returns its id."""
    assert app.test_cli_runner().invoke(args=["seed"]).exit_code == 0  # statuses and a location
    type_id = db.session.scalar(db.select(AssetType.id).filter_by(code="machine", deleted_at=None))
    made = []

    def make():
        tag = f"M-{len(made) + 1:04d}"
        response = editor_client.post("/api/assets", json={"asset_tag": tag, "name": f"Machine {tag}",
                                                           "asset_type_id": type_id})
        assert response.status_code == 201, response.get_json()
        made.append(response.get_json()["id"])
        return made[-1]

    return make


def test_create_then_read_with_etag(editor_client, viewer_client, new_asset):
    asset_id = new_asset()
    created = editor_client.post(URL, json={"asset_id": asset_id, **MILL})
    assert created.status_code == 201, created.get_json()
    assert created.headers["Location"].endswith(f"{URL}/{asset_id}")
    read = viewer_client.get(f"{URL}/{asset_id}")
    assert read.get_json()["updated_at"].endswith("+00:00")  # UTC, with its offset
    assert read.status_code == 200
    assert {k: read.get_json()[k] for k in MILL} == MILL
    assert read.get_json()["asset_tag"] == "M-0001"
    assert read.headers["ETag"] == created.headers["ETag"]


def test_update_requires_the_current_etag(editor_client, new_asset):
    asset_id = new_asset()
    etag = editor_client.post(URL, json={"asset_id": asset_id, **MILL}).headers["ETag"]
    changed = editor_client.patch(f"{URL}/{asset_id}", json={"controller": "Siemens 840D"},
                                  headers={"If-Match": etag})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["controller"] == "Siemens 840D" and changed.headers["ETag"] != etag
    stale = editor_client.patch(f"{URL}/{asset_id}", json={"controller": "lost"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.get_json()["error"]["code"] == "precondition_failed"
    assert editor_client.get(f"{URL}/{asset_id}").get_json()["controller"] == "Siemens 840D"


def test_list_paginates_filters_and_searches(editor_client, viewer_client, new_asset):
    rows = [("Haas", "VF-2", "2019-01-10"), ("Mazak", "QTN 200", "2022-05-01"), ("Haas", "ST-10", "2023-09-30")]
    for make, model, installed in rows:
        body = {"asset_id": new_asset(), "make": make, "model": model, "install_date": installed}
        assert editor_client.post(URL, json=body).status_code == 201

    def models(**query):
        response = viewer_client.get(URL, query_string=query)
        assert response.status_code == 200, response.get_json()
        return [item["model"] for item in response.get_json()["items"]]

    first = viewer_client.get(URL, query_string={"per_page": 2}).get_json()
    assert (first["page"], first["per_page"], first["total"], first["has_next"]) == (1, 2, 3, True)
    assert [i["model"] for i in first["items"]] == ["VF-2", "QTN 200"]
    assert models(per_page=2, page=2) == ["ST-10"]
    assert models(make="Haas") == ["VF-2", "ST-10"]
    assert models(installed_since="2022-01-01") == ["QTN 200", "ST-10"]
    assert models(q="qtn") == ["QTN 200"]
    assert viewer_client.get(URL, query_string={"count": "false"}).get_json()["total"] is None
    assert viewer_client.get(URL, query_string={"per_page": PER_PAGE_MAX + 1}).status_code == 422
    assert viewer_client.get(URL, query_string={"colour": "red"}).status_code == 422


def test_create_validates_and_refuses_duplicates(editor_client, new_asset):
    asset_id = new_asset()
    missing = editor_client.post(URL, json={"asset_id": 999999, **MILL})
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    no_model = editor_client.post(URL, json={"asset_id": asset_id, "make": "Haas"})
    assert no_model.status_code == 422 and "model" in str(no_model.get_json()["error"]["details"])
    future = (date.today() + timedelta(days=2)).isoformat()
    assert editor_client.post(URL, json={"asset_id": asset_id, **MILL, "install_date": future}).status_code == 422
    assert editor_client.post(URL, json={"asset_id": asset_id, **MILL, "install_date": "14/06/2021"}).status_code == 422
    assert editor_client.post(URL, json={"asset_id": asset_id, **MILL}).status_code == 201
    duplicate = editor_client.post(URL, json={"asset_id": asset_id, **MILL})
    assert duplicate.status_code == 409 and "PATCH" in duplicate.get_json()["error"]["message"]


def test_roles(client, viewer_client, new_asset):
    assert client.get(URL).status_code == 401
    assert client.post(URL, json={"nope": 1}).status_code == 401  # authenticated before input is parsed
    assert viewer_client.get(URL).status_code == 200
    assert viewer_client.post(URL, json={"asset_id": new_asset(), **MILL}).status_code == 403


def test_writes_are_audited_and_deleted_assets_hidden(editor_client, viewer_client, new_asset):
    asset_id = new_asset()
    created = editor_client.post(URL, json={"asset_id": asset_id, **MILL})
    assert created.status_code == 201
    etag = created.headers["ETag"]
    changed = editor_client.patch(f"{URL}/{asset_id}", json={"controller": "Fanuc 0i"}, headers={"If-Match": etag})
    assert changed.status_code == 200
    audited = db.select(AuditLog.action).filter_by(entity="equipment_machines", entity_id=str(asset_id))
    actions = db.session.scalars(audited.order_by(AuditLog.id))
    assert list(actions) == ["create", "update"]  # in the same transactions as the changes
    assert editor_client.delete(f"/api/assets/{asset_id}").status_code == 204  # the core soft-deletes the asset
    assert viewer_client.get(f"{URL}/{asset_id}").status_code == 404
    assert viewer_client.get(URL).get_json()["total"] == 0
    assert viewer_client.get(URL, query_string={"include_deleted": "true"}).get_json()["total"] == 1
