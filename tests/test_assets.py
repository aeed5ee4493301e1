"""/api/assets: create, read, list, update with ETags, soft delete and restore, audit trail."""

import pytest

from app.models import Asset, AssetType, AuditLog, Location


@pytest.fixture
def editor(api_as, seeded):
    return api_as("editor")


@pytest.fixture
def printer_id(rows, seeded):
    return rows(AssetType, code="printer")[0]["id"]


def new_asset(api, type_id, tag="PR-0001", **fields):
    response = api.post("/api/assets", json={"asset_tag": tag, "name": f"Printer {tag}", "asset_type_id": type_id,
                                             **fields})
    assert response.status_code == 201, response.get_json()
    return response


def test_create_read_and_lookup_by_tag(editor, printer_id, rows):
    main = rows(Location, code="main")[0]["id"]
    created = new_asset(editor, printer_id, serial="SN-1", location_id=main, notes="hall 2")
    body = created.get_json()
    assert body["asset_type"] == {"id": printer_id, "code": "printer", "name": "Printer"}
    assert body["status"] == "in_service" and body["location"]["code"] == "main"
    assert created.headers["Location"] == f"/api/assets/{body['id']}"
    assert created.headers["ETag"]

    detail = editor.get(f"/api/assets/{body['id']}")
    assert detail.status_code == 200 and detail.get_json() == body
    assert detail.headers["ETag"] == created.headers["ETag"]
    by_tag = editor.get("/api/assets/by-tag/PR-0001")
    assert by_tag.status_code == 200 and by_tag.get_json()["id"] == body["id"]
    assert editor.get("/api/assets/by-tag/NOPE").status_code == 404


def test_create_needs_tag_name_and_type(editor, rows):
    response = editor.post("/api/assets", json={})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["details"]["json"]) == {"asset_tag", "name", "asset_type_id"}
    assert rows(Asset) == []


def test_references_must_exist(editor, printer_id, rows):
    response = editor.post("/api/assets", json={"asset_tag": "X-1", "name": "x", "asset_type_id": 999,
                                                "location_id": 999, "status": "melted"})
    assert response.status_code == 422
    details = response.get_json()["error"]["details"]["json"]
    assert set(details) == {"asset_type_id", "location_id", "status"}
    assert "in_service" in details["status"][0]
    assert rows(Asset) == []


def test_asset_tag_unique_among_live_assets(editor, printer_id, rows):
    first = new_asset(editor, printer_id).get_json()
    duplicate = editor.post("/api/assets", json={"asset_tag": "PR-0001", "name": "again", "asset_type_id": printer_id})
    assert duplicate.status_code == 409
    assert len(rows(Asset)) == 1
    # Once deleted, the tag is free again; the deleted row cannot be restored while the tag is taken.
    assert editor.delete(f"/api/assets/{first['id']}").status_code == 204
    second = new_asset(editor, printer_id).get_json()
    assert second["id"] != first["id"]
    clash = editor.post(f"/api/assets/{first['id']}/restore")
    assert clash.status_code == 409
    assert rows(Asset, id=first["id"])[0]["deleted_at"] is not None


def test_update_with_etag_and_stale_etag(editor, printer_id, rows):
    created = new_asset(editor, printer_id)
    asset_id, etag = created.get_json()["id"], created.headers["ETag"]
    updated = editor.patch(f"/api/assets/{asset_id}", json={"name": "Renamed", "status": "in_repair"},
                           headers={"If-Match": etag})
    assert updated.status_code == 200
    assert updated.get_json()["name"] == "Renamed" and updated.get_json()["status"] == "in_repair"
    assert updated.headers["ETag"] != etag
    # A second writer still holding the old ETag is refused and changes nothing.
    stale = editor.patch(f"/api/assets/{asset_id}", json={"name": "Lost update"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.get_json()["error"]["code"] == "precondition_failed"
    assert rows(Asset, id=asset_id)[0]["name"] == "Renamed"
    # So is a stale delete.
    assert editor.delete(f"/api/assets/{asset_id}", headers={"If-Match": etag}).status_code == 412
    assert rows(Asset, id=asset_id)[0]["deleted_at"] is None
    # `*` matches any current version.
    assert editor.patch(f"/api/assets/{asset_id}", json={"notes": "ok"}, headers={"If-Match": "*"}).status_code == 200


def test_if_match_can_be_required(app, editor, printer_id, rows):
    asset_id = new_asset(editor, printer_id).get_json()["id"]
    app.config["REQUIRE_IF_MATCH"] = True
    try:
        response = editor.patch(f"/api/assets/{asset_id}", json={"name": "blind write"})
        assert response.status_code == 428
    finally:
        app.config["REQUIRE_IF_MATCH"] = False
    assert rows(Asset, id=asset_id)[0]["name"] == "Printer PR-0001"


def test_patch_leaves_unsent_fields_alone(editor, printer_id, rows):
    asset_id = new_asset(editor, printer_id, status="spare", serial="S1").get_json()["id"]
    assert editor.patch(f"/api/assets/{asset_id}", json={"notes": "n"}).status_code == 200
    row = rows(Asset, id=asset_id)[0]
    assert (row["status"], row["serial"], row["notes"]) == ("spare", "S1", "n")


def test_soft_delete_and_restore(editor, printer_id, rows):
    asset_id = new_asset(editor, printer_id).get_json()["id"]
    assert editor.delete(f"/api/assets/{asset_id}").status_code == 204
    assert editor.get(f"/api/assets/{asset_id}").status_code == 404
    assert editor.get("/api/assets").get_json()["items"] == []
    listed = editor.get("/api/assets?include_deleted=true").get_json()["items"]
    assert [a["id"] for a in listed] == [asset_id] and listed[0]["deleted_at"]
    assert rows(Asset, id=asset_id), "soft delete keeps the row"
    restored = editor.post(f"/api/assets/{asset_id}/restore")
    assert restored.status_code == 200 and restored.get_json()["deleted_at"] is None
    assert editor.post(f"/api/assets/{asset_id}/restore").status_code == 409


def test_every_write_is_audited_with_actor_and_request_id(editor, printer_id, rows):
    created = editor.post("/api/assets", json={"asset_tag": "A-1", "name": "a", "asset_type_id": printer_id},
                          headers={"X-Request-ID": "req-create-1"})
    asset_id = created.get_json()["id"]
    editor.patch(f"/api/assets/{asset_id}", json={"name": "b"})
    editor.delete(f"/api/assets/{asset_id}")
    editor.post(f"/api/assets/{asset_id}/restore")
    trail = rows(AuditLog, entity="assets", entity_id=str(asset_id))
    assert [t["action"] for t in trail] == ["create", "update", "delete", "restore"]
    assert trail[0]["request_id"] == "req-create-1" and created.headers["X-Request-ID"] == "req-create-1"
    assert trail[0]["before"] is None and trail[0]["after"]["asset_tag"] == "A-1"
    assert trail[1]["before"]["name"] == "a" and trail[1]["after"]["name"] == "b"
    assert all(t["actor"].startswith("editor-") and t["actor_id"] for t in trail)


def test_failed_write_leaves_no_audit_row(editor, printer_id, rows):
    new_asset(editor, printer_id)
    editor.post("/api/assets", json={"asset_tag": "PR-0001", "name": "dup", "asset_type_id": printer_id})
    assert [t["action"] for t in rows(AuditLog, entity="assets")] == ["create"]


def test_list_filters_search_and_stable_pages(editor, printer_id, rows):
    pc = rows(AssetType, code="pc")[0]["id"]
    for n in range(7):
        new_asset(editor, printer_id if n % 2 else pc, tag=f"T-{n}", serial=f"SER{n}",
                  status="spare" if n == 3 else "in_service")
    page1 = editor.get("/api/assets?per_page=3").get_json()
    page2 = editor.get("/api/assets?per_page=3&page=2").get_json()
    page3 = editor.get("/api/assets?per_page=3&page=3").get_json()
    ids = [a["id"] for p in (page1, page2, page3) for a in p["items"]]
    assert ids == sorted(ids) and len(set(ids)) == 7
    assert page1["total"] == 7 and page1["has_next"] and not page3["has_next"]
    assert editor.get("/api/assets?count=false").get_json()["total"] is None

    by_type = editor.get(f"/api/assets?asset_type_id={printer_id}").get_json()
    assert {a["asset_tag"] for a in by_type["items"]} == {"T-1", "T-3", "T-5"}
    assert [a["asset_tag"] for a in editor.get("/api/assets?status=spare").get_json()["items"]] == ["T-3"]
    assert [a["asset_tag"] for a in editor.get("/api/assets?serial=SER4").get_json()["items"]] == ["T-4"]
    assert [a["asset_tag"] for a in editor.get("/api/assets?q=ser6").get_json()["items"]] == ["T-6"]


def test_viewer_reads_but_cannot_write(api_as, editor, printer_id, rows):
    asset_id = new_asset(editor, printer_id).get_json()["id"]
    viewer = api_as("viewer")
    assert viewer.get("/api/assets").status_code == 200
    assert viewer.get(f"/api/assets/{asset_id}").status_code == 200
    for response in (
        viewer.post("/api/assets", json={"asset_tag": "V-1", "name": "v", "asset_type_id": printer_id}),
        viewer.patch(f"/api/assets/{asset_id}", json={"name": "viewer was here"}),
        viewer.delete(f"/api/assets/{asset_id}"),
        viewer.post("/api/asset-types", json={"code": "drone", "name": "Drone"}),
        viewer.get("/api/users"),
    ):
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "forbidden"
    after = rows(Asset)
    assert len(after) == 1 and after[0]["name"] == "Printer PR-0001" and after[0]["deleted_at"] is None
    assert rows(AssetType, code="drone") == []


def test_timestamps_are_utc_and_updated_since_filters(editor, printer_id):
    body = new_asset(editor, printer_id).get_json()
    assert body["created_at"].endswith("+00:00") and body["updated_at"].endswith("+00:00")
    since = editor.get("/api/assets", query_string={"updated_since": body["updated_at"]}).get_json()["items"]
    assert [a["id"] for a in since] == [body["id"]]
    # The same instant written with another offset means the same thing.
    later = editor.get("/api/assets", query_string={"updated_since": "2999-01-01T02:00:00+02:00"}).get_json()
    assert later["items"] == []


def test_patch_without_changes_keeps_etag_and_writes_no_audit(editor, printer_id, rows):
    created = new_asset(editor, printer_id)
    asset_id = created.get_json()["id"]
    same = editor.patch(f"/api/assets/{asset_id}", json={"name": "Printer PR-0001"})
    assert same.status_code == 200 and same.headers["ETag"] == created.headers["ETag"]
    assert [t["action"] for t in rows(AuditLog, entity="assets")] == ["create"]


def test_database_enforces_live_tag_uniqueness_when_a_race_slips_past_the_check(editor, printer_id, rows,
                                                                                monkeypatch):
    """Two writers can both pass the pre-check; the unique key on (asset_tag, deleted_marker) still holds
    and the loser gets 409, not 500."""
    import app.api.crud as crud

    first = new_asset(editor, printer_id).get_json()
    monkeypatch.setattr(crud, "_live_conflict", lambda *args, **kwargs: None)
    racing = editor.post("/api/assets", json={"asset_tag": "PR-0001", "name": "racer", "asset_type_id": printer_id})
    assert racing.status_code == 409 and racing.get_json()["error"]["code"] == "conflict"
    assert [a["id"] for a in rows(Asset)] == [first["id"]]
    assert [t["action"] for t in rows(AuditLog, entity="assets")] == ["create"]
    # Deleted rows never block: their marker is their own id.
    assert editor.delete(f"/api/assets/{first['id']}").status_code == 204
    assert editor.post("/api/assets", json={"asset_tag": "PR-0001", "name": "new", "asset_type_id": printer_id}
                       ).status_code == 201
