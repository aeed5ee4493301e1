"""/api/audit: the trail of changes, read only, admins only, newest first, exact filters."""

from urllib.parse import quote

from app.models import AssetType, AuditLog


def _asset(api, type_id, tag):
    response = api.post("/api/assets", json={"asset_tag": tag, "name": tag, "asset_type_id": type_id})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_admins_read_the_trail_of_one_asset_newest_first(api_as, seeded, rows):
    admin = api_as("admin", username="trail-admin")
    type_id = rows(AssetType, code="printer")[0]["id"]
    first = _asset(admin, type_id, "PR-0001")
    _asset(admin, type_id, "PR-0002")
    etag = admin.get(f"/api/assets/{first}").headers["ETag"]
    assert admin.patch(f"/api/assets/{first}", json={"name": "renamed"},
                       headers={"If-Match": etag}).status_code == 200

    body = admin.get(f"/api/audit?entity=assets&entity_id={first}").get_json()
    assert [e["action"] for e in body["items"]] == ["update", "create"]
    assert body["total"] == 2
    update = body["items"][0]
    assert update["before"]["name"] == "PR-0001" and update["after"]["name"] == "renamed"
    assert update["actor"] == "trail-admin" and update["actor_id"] == rows(AuditLog)[-1]["actor_id"]
    assert admin.get("/api/audit?actor=trail-admin&entity=assets").get_json()["total"] == 3
    assert update["created_at"].endswith("+00:00")
    ids = [e["id"] for e in admin.get("/api/audit?entity=assets&per_page=500").get_json()["items"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3


def test_time_window_and_action_filters(api_as, seeded, rows):
    admin = api_as("admin")
    type_id = rows(AssetType, code="printer")[0]["id"]
    _asset(admin, type_id, "PR-0001")
    everything = admin.get("/api/audit?action=create&entity=assets").get_json()
    assert everything["total"] == 1
    created_at = quote(everything["items"][0]["created_at"])  # "+00:00" would read as a space
    assert admin.get(f"/api/audit?entity=assets&since={created_at}").get_json()["total"] == 1
    assert admin.get(f"/api/audit?entity=assets&until={created_at}").get_json()["total"] == 0
    assert admin.get("/api/audit?entity=assets&action=delete").get_json()["total"] == 0


def test_non_admins_are_refused_and_bad_filters_are_422(api_as, seeded, rows):
    before = len(rows(AuditLog))
    for role in ("viewer", "editor"):
        assert api_as(role).get("/api/audit").status_code == 403
    admin = api_as("admin")
    for query in ("since=yesterday", "q=anything", "include_deleted=true", "per_page=501", "colour=red",
                  "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z"):
        response = admin.get(f"/api/audit?{query}")
        assert response.status_code == 422, query
        assert response.get_json()["error"]["message"], query
    assert len(rows(AuditLog)) == before
