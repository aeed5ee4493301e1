"""The printers endpoints: list (pagination, filters, search), detail with ETag, create, update with
If-Match, roles and the error shape. Author-owned: `copier update` never touches this file; extend it as
you change models.py and api.py.
"""
import pytest

from app.api.common import PER_PAGE_MAX
from app.extensions import db
from app.models import AssetType

# The API tests run on SQLite only; test_plugin.py covers MariaDB for the migrations.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

URL = "/api/plugins/printers/details"


@pytest.fixture
def new_asset(app, editor_client):
    """Factory: a new core asset of this plugin's asset type (seeded on install); returns its id."""
    assert app.test_cli_runner().invoke(args=["seed"]).exit_code == 0  # statuses and a location
    type_id = db.session.scalar(db.select(AssetType.id).filter_by(code="printers", deleted_at=None))
    made = []

    def make(tag=None):
        tag = tag or f"T-{len(made) + 1:04d}"
        response = editor_client.post("/api/assets", json={"asset_tag": tag, "name": f"Asset {tag}",
                                                           "asset_type_id": type_id})
        assert response.status_code == 201, response.get_json()
        made.append(response.get_json()["id"])
        return made[-1]

    return make


def test_create_then_read_with_etag(editor_client, viewer_client, new_asset):
    asset_id = new_asset()
    created = editor_client.post(URL, json={"asset_id": asset_id, "label": "first"})
    assert created.status_code == 201, created.get_json()
    assert created.headers["Location"].endswith(f"{URL}/{asset_id}")
    body = viewer_client.get(f"{URL}/{asset_id}")
    assert body.status_code == 200
    assert body.get_json()["label"] == "first"
    assert body.get_json()["asset_tag"] == "T-0001"
    assert body.headers["ETag"] == created.headers["ETag"]


def test_update_requires_the_current_etag(editor_client, new_asset):
    asset_id = new_asset()
    etag = editor_client.post(URL, json={"asset_id": asset_id, "label": "old"}).headers["ETag"]
    changed = editor_client.patch(f"{URL}/{asset_id}", json={"label": "new"}, headers={"If-Match": etag})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["label"] == "new"
    assert changed.headers["ETag"] != etag
    stale = editor_client.patch(f"{URL}/{asset_id}", json={"label": "lost"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.get_json()["error"]["code"] == "precondition_failed"
    assert editor_client.get(f"{URL}/{asset_id}").get_json()["label"] == "new"


def test_list_paginates_filters_and_searches(editor_client, viewer_client, new_asset):
    for label in ("alpha", "beta", "gamma"):
        assert editor_client.post(URL, json={"asset_id": new_asset(), "label": label}).status_code == 201
    first = viewer_client.get(URL, query_string={"per_page": 2}).get_json()
    assert [i["label"] for i in first["items"]] == ["alpha", "beta"]
    assert (first["page"], first["per_page"], first["total"], first["has_next"]) == (1, 2, 3, True)
    second = viewer_client.get(URL, query_string={"per_page": 2, "page": 2}).get_json()
    assert [i["label"] for i in second["items"]] == ["gamma"] and second["has_next"] is False
    assert [i["label"] for i in viewer_client.get(URL, query_string={"label": "beta"}).get_json()["items"]] == ["beta"]
    assert [i["label"] for i in viewer_client.get(URL, query_string={"q": "amm"}).get_json()["items"]] == ["gamma"]
    assert viewer_client.get(URL, query_string={"per_page": PER_PAGE_MAX + 1}).status_code == 422
    assert viewer_client.get(URL, query_string={"colour": "red"}).status_code == 422


def test_create_refuses_unknown_assets_duplicates_and_bad_fields(editor_client, new_asset):
    asset_id = new_asset()
    missing = editor_client.post(URL, json={"asset_id": 999999, "label": "x"})
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert editor_client.post(URL, json={"asset_id": asset_id, "label": "x" * 101}).status_code == 422
    assert editor_client.post(URL, json={"asset_id": asset_id, "nope": 1}).status_code == 422
    assert editor_client.post(URL, json={"asset_id": asset_id}).status_code == 201
    duplicate = editor_client.post(URL, json={"asset_id": asset_id})
    assert duplicate.status_code == 409 and "PATCH" in duplicate.get_json()["error"]["message"]


def test_roles(client, viewer_client, new_asset):
    assert client.get(URL).status_code == 401
    assert viewer_client.get(URL).status_code == 200
    assert viewer_client.post(URL, json={"asset_id": new_asset()}).status_code == 403
