"""The computers endpoints: list (pagination, filters, search), detail with ETag, create, update with
If-Match, hostname uniqueness, address validation, roles and the error shape.
Author-owned: `copier update` never touches this file.
"""
import pytest

from app.api.common import PER_PAGE_MAX
from app.extensions import db
from app.models import AssetType, AuditLog

# The API tests run on SQLite only; test_plugin.py covers MariaDB for the migrations.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

URL = "/api/plugins/computers/hosts"
PC = {"hostname": "cell4-pc01.plant.example", "os": "Windows 10 IoT LTSC 2021", "ip_address": "10.20.0.15",
      "mac_address": "00:1a:2b:3c:4d:5e"}


@pytest.fixture
def new_asset(app, editor_client):
    """Factory: a new core asset of type pc (seeded on install); returns its id."""
    assert app.test_cli_runner().invoke(args=["seed"]).exit_code == 0  # statuses and a location
    type_id = db.session.scalar(db.select(AssetType.id).filter_by(code="pc", deleted_at=None))
    made = []

    def make():
        tag = f"PC-{len(made) + 1:04d}"
        response = editor_client.post("/api/assets", json={"asset_tag": tag, "name": f"Computer {tag}",
                                                           "asset_type_id": type_id})
        assert response.status_code == 201, response.get_json()
        made.append(response.get_json()["id"])
        return made[-1]

    return make


def test_create_normalizes_and_reads_back_with_etag(editor_client, viewer_client, new_asset):
    asset_id = new_asset()
    body = {"asset_id": asset_id, "hostname": "Cell4-PC01.Plant.Example.", "os": "Windows 10 IoT LTSC 2021",
            "ip_address": "FD00:0:0::15", "mac_address": "001A.2B3C.4D5E"}
    created = editor_client.post(URL, json=body)
    assert created.status_code == 201, created.get_json()
    assert created.headers["Location"].endswith(f"{URL}/{asset_id}")
    read = viewer_client.get(f"{URL}/{asset_id}")
    assert read.get_json()["updated_at"].endswith("+00:00")  # UTC, with its offset
    assert read.status_code == 200 and read.headers["ETag"] == created.headers["ETag"]
    got = read.get_json()
    assert (got["hostname"], got["ip_address"], got["mac_address"]) == (
        "cell4-pc01.plant.example", "fd00::15", "00:1a:2b:3c:4d:5e")


@pytest.mark.parametrize("field,value", [
    ("hostname", "bad_name"), ("hostname", "-edge.example"), ("hostname", "a" * 64 + ".example"),
    ("ip_address", "10.20.0.256"), ("ip_address", "pc01"), ("mac_address", "00:1a:2b:3c:4d"),
    ("mac_address", "00:1a-2b:3c:4d:5e"), ("mac_address", "gg:1a:2b:3c:4d:5e"),
])
def test_invalid_addresses_are_refused_with_a_field_message(editor_client, new_asset, field, value):
    response = editor_client.post(URL, json={"asset_id": new_asset(), **PC, field: value})
    assert response.status_code == 422
    assert field in response.get_json()["error"]["details"]["json"]
    assert editor_client.get(URL).get_json()["total"] == 0


def test_hostnames_are_unique(editor_client, new_asset):
    first, second = new_asset(), new_asset()
    assert editor_client.post(URL, json={"asset_id": first, **PC}).status_code == 201
    clash = editor_client.post(URL, json={"asset_id": second, **PC, "hostname": PC["hostname"].upper()})
    assert clash.status_code == 409 and "already used by asset" in clash.get_json()["error"]["message"]
    etag = editor_client.post(URL, json={"asset_id": second, **PC, "hostname": "cell4-pc02"}).headers["ETag"]
    rename = editor_client.patch(f"{URL}/{second}", json={"hostname": PC["hostname"]}, headers={"If-Match": etag})
    assert rename.status_code == 409
    assert editor_client.get(f"{URL}/{second}").get_json()["hostname"] == "cell4-pc02"


def test_update_requires_the_current_etag(editor_client, new_asset):
    asset_id = new_asset()
    etag = editor_client.post(URL, json={"asset_id": asset_id, **PC}).headers["ETag"]
    changed = editor_client.patch(f"{URL}/{asset_id}", json={"ip_address": "10.20.0.16"}, headers={"If-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    stale = editor_client.patch(f"{URL}/{asset_id}", json={"os": "lost"}, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.get_json()["error"]["code"] == "precondition_failed"


def test_list_paginates_filters_and_searches(editor_client, viewer_client, new_asset):
    hosts = [("pc01", "10.0.0.1", "Windows 11"), ("pc02", "10.0.0.2", "Debian 12"), ("pc03", "10.0.0.3", "Windows 11")]
    for host, ip, os_name in hosts:
        body = {"asset_id": new_asset(), "hostname": host, "ip_address": ip, "os": os_name}
        assert editor_client.post(URL, json=body).status_code == 201

    def names(**query):
        response = viewer_client.get(URL, query_string=query)
        assert response.status_code == 200, response.get_json()
        return [item["hostname"] for item in response.get_json()["items"]]

    page = viewer_client.get(URL, query_string={"per_page": 2}).get_json()
    assert (page["total"], page["has_next"], [i["hostname"] for i in page["items"]]) == (3, True, ["pc01", "pc02"])
    assert names(per_page=2, page=2) == ["pc03"]
    assert names(os="Windows 11") == ["pc01", "pc03"]
    assert names(hostname="PC02") == ["pc02"]
    assert names(ip_address="10.0.0.3") == ["pc03"]
    assert names(q="debian") == ["pc02"]
    assert viewer_client.get(URL, query_string={"ip_address": "nope"}).status_code == 422
    assert viewer_client.get(URL, query_string={"per_page": PER_PAGE_MAX + 1}).status_code == 422


def test_roles_and_unknown_assets(client, viewer_client, editor_client, new_asset):
    assert client.get(URL).status_code == 401
    assert client.post(URL, json={"nope": 1}).status_code == 401  # authenticated before input is parsed
    assert viewer_client.post(URL, json={"asset_id": new_asset(), **PC}).status_code == 403
    missing = editor_client.post(URL, json={"asset_id": 999999, **PC})
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_writes_are_audited_and_deleted_assets_hidden(editor_client, viewer_client, new_asset):
    asset_id = new_asset()
    created = editor_client.post(URL, json={"asset_id": asset_id, **PC})
    assert created.status_code == 201
    etag = created.headers["ETag"]
    changed = editor_client.patch(f"{URL}/{asset_id}", json={"os": "Windows 11"}, headers={"If-Match": etag})
    assert changed.status_code == 200
    audited = db.select(AuditLog.action).filter_by(entity="computers_hosts", entity_id=str(asset_id))
    actions = db.session.scalars(audited.order_by(AuditLog.id))
    assert list(actions) == ["create", "update"]  # in the same transactions as the changes
    assert editor_client.delete(f"/api/assets/{asset_id}").status_code == 204  # the core soft-deletes the asset
    assert viewer_client.get(f"{URL}/{asset_id}").status_code == 404
    assert viewer_client.get(URL).get_json()["total"] == 0
    assert viewer_client.get(URL, query_string={"include_deleted": "true"}).get_json()["total"] == 1
