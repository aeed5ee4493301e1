"""Bad input gets the right 4xx with the JSON error shape, and changes nothing."""

import pytest

from app.models import Asset, AssetType, AuditLog

SQL_METACHARACTERS = ["' OR '1'='1", "'; DROP TABLE assets; --", '" OR 1=1 --', "%", "_", "\\", "PR-%",
                      "1 UNION SELECT password_hash FROM users", "\u0000", "ü'\"`;"]


@pytest.fixture
def editor(api_as, seeded):
    return api_as("editor")


@pytest.fixture
def asset(editor, rows):
    type_id = rows(AssetType, code="printer")[0]["id"]
    response = editor.post("/api/assets", json={"asset_tag": "PR-1", "name": "Printer 1", "asset_type_id": type_id})
    assert response.status_code == 201
    return response.get_json() | {"etag": response.headers["ETag"]}


def snapshot(rows):
    return rows(Asset), rows(AuditLog)


def assert_error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == status and body["error"]["message"] and body["error"]["code"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body["error"]


def test_malformed_json_is_400(editor, asset, rows):
    before = snapshot(rows)
    for url, method in (("/api/assets", "POST"), (f"/api/assets/{asset['id']}", "PATCH")):
        response = editor.open(method, url, data='{"asset_tag": "X-1", "name": ', content_type="application/json")
        error = assert_error(response, 400)
        assert "JSON" in error["message"]
    assert snapshot(rows) == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", None])
def test_wrong_content_type_is_415(editor, asset, rows, content_type):
    before = snapshot(rows)
    kwargs = {"data": '{"asset_tag": "X-1", "name": "x", "asset_type_id": 1}'}
    if content_type:
        kwargs["content_type"] = content_type
    error = assert_error(editor.post("/api/assets", **kwargs), 415)
    assert "application/json" in error["message"]
    error = assert_error(editor.patch(f"/api/assets/{asset['id']}", **kwargs), 415)
    assert snapshot(rows) == before


def test_oversized_body_is_413(app, editor, asset, rows):
    before = snapshot(rows)
    notes = "a" * app.config["MAX_CONTENT_LENGTH"]
    big = '{"asset_tag": "X-1", "name": "x", "asset_type_id": 1, "notes": "' + notes + '"}'
    assert_error(editor.post("/api/assets", data=big, content_type="application/json"), 413)
    assert_error(editor.patch(f"/api/assets/{asset['id']}", data=big, content_type="application/json"), 413)
    assert snapshot(rows) == before


def test_unknown_fields_are_422(editor, asset, rows):
    before = snapshot(rows)
    error = assert_error(editor.post("/api/assets", json={"asset_tag": "X-1", "name": "x", "asset_type_id": 1,
                                                          "is_admin": True}), 422)
    assert error["details"]["json"] == {"is_admin": ["Unknown field."]}
    # Read-only fields are not writable either (no mass assignment of id, timestamps, deleted_at).
    for field, value in (("id", 99), ("deleted_at", "2020-01-01T00:00:00"), ("version", 1), ("created_at", "x")):
        assert_error(editor.patch(f"/api/assets/{asset['id']}", json={field: value}), 422)
    assert_error(editor.get("/api/assets?colour=red"), 422)
    assert snapshot(rows) == before


@pytest.mark.parametrize("bad", [
    {"asset_tag": "has space", "name": "x", "asset_type_id": 1},
    {"asset_tag": "X-2", "name": "", "asset_type_id": 1},
    {"asset_tag": "X-2", "name": "x", "asset_type_id": "one"},
    {"asset_tag": "X-2", "name": "x" * 201, "asset_type_id": 1},
    ["not", "an", "object"],
    "just a string",
])
def test_invalid_values_are_422(editor, asset, rows, bad):
    before = snapshot(rows)
    assert_error(editor.post("/api/assets", json=bad), 422)
    assert snapshot(rows) == before


@pytest.mark.parametrize("value", SQL_METACHARACTERS)
def test_sql_metacharacters_in_search_and_filters_are_plain_text(editor, asset, rows, value):
    before = snapshot(rows)
    for query in ({"q": value}, {"serial": value}, {"asset_tag": value}, {"status": value}):
        response = editor.get("/api/assets", query_string=query)
        if value == "\u0000" and "q" in query:
            assert_error(response, 422)  # SQLite would cut the LIKE pattern at the NUL and match everything
            continue
        assert response.status_code == 200, (query, response.get_json())
        assert response.get_json()["items"] == [] and response.get_json()["total"] == 0
    assert_error(editor.get("/api/assets", query_string={"asset_type_id": value}), 422)
    assert editor.get(f"/api/assets/by-tag/{value.replace('/', '')}").status_code in (404,)
    assert snapshot(rows) == before


def test_like_wildcards_do_not_widen_the_search(editor, asset):
    assert editor.get("/api/assets", query_string={"q": "Printer%1"}).get_json()["items"] == []
    assert editor.get("/api/assets", query_string={"q": "Printer_1"}).get_json()["items"] == []
    assert len(editor.get("/api/assets", query_string={"q": "Printer 1"}).get_json()["items"]) == 1


def test_per_page_over_the_cap_is_422_not_a_silent_cut(editor, asset):
    error = assert_error(editor.get("/api/assets?per_page=501"), 422)
    assert "per_page" in error["details"]["query"]
    assert_error(editor.get("/api/assets?page=0"), 422)


def test_stale_etag_is_412_and_changes_nothing(editor, asset, rows):
    assert editor.patch(f"/api/assets/{asset['id']}", json={"notes": "first"},
                        headers={"If-Match": asset["etag"]}).status_code == 200
    before = snapshot(rows)
    assert_error(editor.patch(f"/api/assets/{asset['id']}", json={"notes": "second"},
                              headers={"If-Match": asset["etag"]}), 412)
    assert_error(editor.patch(f"/api/assets/{asset['id']}", json={"notes": "second"},
                              headers={"If-Match": '"not-an-etag"'}), 412)
    assert snapshot(rows) == before


def test_missing_csrf_header_is_403_and_changes_nothing(editor, asset, rows):
    before = snapshot(rows)
    editor.csrf = None
    assert_error(editor.patch(f"/api/assets/{asset['id']}", json={"name": "csrf"}), 403)
    assert_error(editor.delete(f"/api/assets/{asset['id']}"), 403)
    assert snapshot(rows) == before


def test_viewer_writing_is_403_and_changes_nothing(api_as, asset, rows):
    before = snapshot(rows)
    viewer = api_as("viewer")
    assert_error(viewer.patch(f"/api/assets/{asset['id']}", json={"name": "viewer"}), 403)
    assert_error(viewer.delete(f"/api/assets/{asset['id']}"), 403)
    assert_error(viewer.post(f"/api/assets/{asset['id']}/restore"), 403)
    assert snapshot(rows) == before


def test_authorization_comes_before_input_validation(client, api_as, asset, rows):
    before = snapshot(rows)
    viewer = api_as("viewer")
    assert_error(viewer.post("/api/assets", json={"junk": True}), 403)
    assert_error(viewer.get("/api/users?bogus=1"), 403)
    assert_error(client.post("/api/assets", json={"junk": True}), 401)
    assert_error(client.get("/api/assets?per_page=100000"), 401)
    assert snapshot(rows) == before


def test_unknown_ids_and_routes_are_404_json(editor, asset):
    assert_error(editor.get("/api/assets/999999"), 404)
    assert_error(editor.patch("/api/assets/999999", json={"name": "x"}), 404)
    assert_error(editor.get("/api/no-such-thing"), 404)


def test_wrong_method_is_405_json(editor, asset):
    error_response = editor.open("PUT", f"/api/assets/{asset['id']}", json={"name": "x"})
    assert_error(error_response, 405)
    assert "PATCH" in error_response.headers["Allow"]


def test_unexpected_errors_are_500_json_without_a_trace(app_factory, tmp_path):
    fresh = app_factory(f"sqlite:///{tmp_path}/boom.sqlite")

    @fresh.get("/api/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = fresh.test_client().get("/api/boom")
    error = assert_error(response, 500)
    assert "secret internals" not in response.get_data(as_text=True)
    assert error["request_id"] == response.headers["X-Request-ID"]
