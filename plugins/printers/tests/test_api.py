"""The printers endpoints: list (pagination, filters, search), detail with ETag, create, update with
If-Match, IP and queue-name validation, unique queues, roles and the error shape.
Author-owned: `copier update` never touches this file.
"""
import pytest

from app.api.common import PER_PAGE_MAX
from app.extensions import db
from app.models import AssetType, AuditLog

# The API tests run on SQLite only; test_plugin.py covers MariaDB for the migrations.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

URL = "/api/plugins/printers/devices"
LABELS = {"model": "Zebra ZT411", "ip_address": "10.20.0.40", "queue_name": "cell4-labels"}


@pytest.fixture
def new_asset(app, editor_client):
    """Factory: a new core asset of type printer (seeded on install); returns its id."""
    assert app.test_cli_runner().invoke(args=["seed"]).exit_code == 0  # statuses and a location
    type_id = db.session.scalar(db.select(AssetType.id).filter_by(code="printer", deleted_at=None))
    made = []

    def make():
        tag = f"PR-{len(made) + 1:04d}"
        response = editor_client.post("/api/assets", json={"asset_tag": tag, "name": f"Printer {tag}",
                                                           "asset_type_id": type_id})
        assert response.status_code == 201, response.get_json()
        made.append(response.get_json()["id"])
        return made[-1]

    return make


def test_create_then_read_with_etag(editor_client, viewer_client, new_asset):
    asset_id = new_asset()
    created = editor_client.post(URL, json={"asset_id": asset_id, **LABELS, "ip_address": "10.20.0.40"})
    assert created.status_code == 201, created.get_json()
    assert created.headers["Location"].endswith(f"{URL}/{asset_id}")
    read = viewer_client.get(f"{URL}/{asset_id}")
    assert read.get_json()["updated_at"].endswith("+00:00")  # UTC, with its offset
    assert read.status_code == 200 and read.headers["ETag"] == created.headers["ETag"]
    assert {k: read.get_json()[k] for k in LABELS} == LABELS


def test_validation_and_unique_queues(editor_client, new_asset):
    first, second = new_asset(), new_asset()
    # The address as the document's ipv4/ipv6 format has it: no surrounding blanks.
    for field, value in (("ip_address", "10.20.0"), ("ip_address", " 10.20.0.40 "), ("queue_name", "cell 4/labels"),
                         ("model", "")):
        response = editor_client.post(URL, json={"asset_id": first, **LABELS, field: value})
        assert response.status_code == 422 and field in response.get_json()["error"]["details"]["json"]
    assert editor_client.post(URL, json={"asset_id": first, **LABELS}).status_code == 201
    clash = editor_client.post(URL, json={"asset_id": second, **LABELS})
    assert clash.status_code == 409 and "already feeds" in clash.get_json()["error"]["message"]
    no_queue = editor_client.post(URL, json={"asset_id": second, "model": "HP M404"})
    assert no_queue.status_code == 201
    move = editor_client.patch(f"{URL}/{second}", json={"queue_name": "cell4-labels"},
                               headers={"If-Match": no_queue.headers["ETag"]})
    assert move.status_code == 409


def test_update_requires_the_current_etag(editor_client, new_asset):
    asset_id = new_asset()
    etag = editor_client.post(URL, json={"asset_id": asset_id, **LABELS}).headers["ETag"]
    changed = editor_client.patch(f"{URL}/{asset_id}", json={"ip_address": "fd00::40"}, headers={"If-Match": etag})
    assert changed.status_code == 200 and changed.get_json()["ip_address"] == "fd00::40"
    stale = editor_client.patch(f"{URL}/{asset_id}", json={"model": "lost"}, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.get_json()["error"]["code"] == "precondition_failed"


def test_list_paginates_filters_and_searches(editor_client, viewer_client, new_asset):
    for model, ip, queue in (("Zebra ZT411", "10.0.0.1", "q1"), ("HP M404", "10.0.0.2", "q2"),
                             ("Zebra ZD621", "10.0.0.3", "q3")):
        body = {"asset_id": new_asset(), "model": model, "ip_address": ip, "queue_name": queue}
        assert editor_client.post(URL, json=body).status_code == 201

    def queues(**query):
        response = viewer_client.get(URL, query_string=query)
        assert response.status_code == 200, response.get_json()
        return [item["queue_name"] for item in response.get_json()["items"]]

    page = viewer_client.get(URL, query_string={"per_page": 2}).get_json()
    assert (page["total"], page["has_next"], [i["queue_name"] for i in page["items"]]) == (3, True, ["q1", "q2"])
    assert queues(per_page=2, page=2) == ["q3"]
    assert queues(model="HP M404") == ["q2"]
    assert queues(ip_address="10.0.0.3") == ["q3"]
    assert queues(q="zebra") == ["q1", "q3"]
    assert viewer_client.get(URL, query_string={"per_page": PER_PAGE_MAX + 1}).status_code == 422


def test_roles_and_unknown_assets(client, viewer_client, editor_client, new_asset):
    assert client.get(URL).status_code == 401
    assert client.post(URL, json={"nope": 1}).status_code == 401  # authenticated before input is parsed
    assert viewer_client.post(URL, json={"asset_id": new_asset(), **LABELS}).status_code == 403
    missing = editor_client.post(URL, json={"asset_id": 999999, **LABELS})
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_writes_are_audited_and_deleted_assets_hidden(editor_client, viewer_client, new_asset):
    asset_id = new_asset()
    created = editor_client.post(URL, json={"asset_id": asset_id, **LABELS})
    assert created.status_code == 201
    etag = created.headers["ETag"]
    changed = editor_client.patch(f"{URL}/{asset_id}", json={"model": "Zebra ZT421"}, headers={"If-Match": etag})
    assert changed.status_code == 200
    audited = db.select(AuditLog.action).filter_by(entity="printers_devices", entity_id=str(asset_id))
    actions = db.session.scalars(audited.order_by(AuditLog.id))
    assert list(actions) == ["create", "update"]  # in the same transactions as the changes
    assert editor_client.delete(f"/api/assets/{asset_id}").status_code == 204  # the core soft-deletes the asset
    assert viewer_client.get(f"{URL}/{asset_id}").status_code == 404
    assert viewer_client.get(URL).get_json()["total"] == 0
    assert viewer_client.get(URL, query_string={"include_deleted": "true"}).get_json()["total"] == 1
