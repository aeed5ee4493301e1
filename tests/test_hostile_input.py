"""Hostile input that once reached a 500: each now answers a 4xx in the core's error shape and changes nothing,
on SQLite and MariaDB. Integers past 64 bits, JSON nested 1,000 deep, lone surrogates, a unique key taken by a
concurrent write between the pre-check and the commit, a repeated query parameter and a PATCH naming no field."""

from contextlib import contextmanager

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import ApiToken, Asset, AssetType, AuditLog, User
from test_bad_input import assert_error  # pytest puts tests/ on sys.path (rootdir conftest, no package)

HUGE = 99999999999999999999  # past 64 bits
INT64_MAX = 9223372036854775807


@pytest.fixture
def editor(api_as, seeded):
    return api_as("editor")


@pytest.fixture
def admin(api_as, seeded):
    return api_as("admin")


@pytest.fixture
def type_id(rows, seeded):
    return rows(AssetType, code="printer")[0]["id"]


@pytest.fixture
def asset(editor, type_id):
    response = editor.post("/api/assets", json={"asset_tag": "PR-1", "name": "Printer 1", "asset_type_id": type_id})
    assert response.status_code == 201
    return response.get_json() | {"etag": response.headers["ETag"]}


@pytest.fixture
def state(rows):
    """Every row the tests here could change."""
    return lambda: (rows(Asset), rows(AuditLog), rows(User), rows(ApiToken))


@pytest.mark.parametrize("url", [f"/api/assets/{HUGE}", f"/api/assets/{INT64_MAX}", f"/api/assets/{2**31}",
                                 f"/api/assets/{HUGE}/restore", f"/api/asset-types/{HUGE}",
                                 f"/api/locations/{HUGE}", f"/api/users/{HUGE}", f"/api/tokens/{HUGE}"])
def test_an_id_past_the_int_range_in_a_path_is_404(admin, asset, state, url):
    before = state()
    for method in ("GET", "PATCH", "DELETE", "POST"):
        response = admin.open(method, url, json={"name": "x"} if method == "PATCH" else None)
        assert response.status_code in (404, 405), (method, url, response.get_data(as_text=True))
        assert_error(response, response.status_code)
    assert state() == before


@pytest.mark.parametrize("query", [{"page": INT64_MAX}, {"page": HUGE}, {"per_page": HUGE},
                                   {"asset_type_id": HUGE}, {"location_id": -HUGE}, {"page": 1.5}])
def test_an_integer_past_the_int_range_in_a_query_is_422(editor, asset, query):
    error = assert_error(editor.get("/api/assets", query_string=query), 422)
    assert set(error["details"]["query"]) == set(query)


@pytest.mark.parametrize("field, value", [("asset_type_id", HUGE), ("asset_type_id", 2**63), ("location_id", HUGE),
                                          ("location_id", -HUGE), ("asset_type_id", 1.5)])
def test_an_integer_past_the_int_range_in_a_body_is_422(editor, asset, type_id, state, field, value):
    before = state()
    body = {"asset_tag": "BIG-1", "name": "Big", "asset_type_id": type_id, field: value}
    error = assert_error(editor.post("/api/assets", json=body), 422)
    assert field in error["details"]["json"]
    error = assert_error(editor.patch(f"/api/assets/{asset['id']}", json={field: value}), 422)
    assert field in error["details"]["json"]
    assert state() == before


def test_a_huge_user_id_for_a_token_is_422(admin, state):
    before = state()
    error = assert_error(admin.post("/api/tokens", json={"name": "big", "user_id": HUGE}), 422)
    assert "user_id" in error["details"]["json"]
    assert_error(admin.get("/api/tokens", query_string={"user_id": HUGE}), 422)
    assert state() == before


def nested(depth):
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [33, 1000, 100000])
def test_json_nested_too_deep_is_400_even_before_login(client, state, depth):
    before = state()
    response = client.post("/api/auth/login", data=nested(depth), content_type="application/json")
    error = assert_error(response, 400)
    assert "nested more than 32 levels" in error["message"]
    body = '{"username": "x", "password": ' + nested(depth) + "}"
    assert_error(client.post("/api/auth/login", data=body, content_type="application/json"), 400)
    assert state() == before


def test_json_nested_within_the_limit_reaches_the_schema(client):
    error = assert_error(client.post("/api/auth/login", data=nested(32), content_type="application/json"), 422)
    assert "json" in error["details"]


@pytest.mark.parametrize("body", [
    '{"asset_tag": "UNI-1", "name": "bad \\ud800", "asset_type_id": TYPE}',
    '{"asset_tag": "UNI-1", "name": "bad \\udfff end", "asset_type_id": TYPE}',
    '{"asset_tag": "UNI-1", "name": "ok", "notes": "\\ude00\\ud83d", "asset_type_id": TYPE}',
    '{"asset_tag": "UNI-1", "name": "ok", "asset_type_id": TYPE, "bad \\ud800 key": 1}',
])
def test_a_lone_surrogate_in_a_string_is_422(editor, asset, type_id, state, body):
    before = state()
    data = body.replace("TYPE", str(type_id))
    error = assert_error(editor.post("/api/assets", data=data, content_type="application/json"), 422)
    assert "surrogate" in error["message"] and error["details"]["json"]
    assert_error(editor.patch(f"/api/assets/{asset['id']}", data='{"notes": "x \\ud800"}',
                              content_type="application/json"), 422)
    assert state() == before


def test_a_surrogate_pair_is_ordinary_text(editor, type_id, rows):
    data = f'{{"asset_tag": "UNI-2", "name": "smile \\ud83d\\ude00", "asset_type_id": {type_id}}}'
    response = editor.post("/api/assets", data=data, content_type="application/json")
    assert response.status_code == 201, response.get_json()
    assert rows(Asset, asset_tag="UNI-2")[0]["name"] == "smile \U0001F600"


def test_a_login_with_a_lone_surrogate_is_422_not_500(client):
    data = '{"username": "admin\\ud800", "password": "whatever-it-is"}'
    assert_error(client.post("/api/auth/login", data=data, content_type="application/json"), 422)


def test_a_repeated_query_parameter_is_422_not_the_first_value(editor, asset, client):
    error = assert_error(editor.get("/api/assets?per_page=1&per_page=999"), 422)
    assert error["details"]["query"] == {"per_page": ["Given 2 times: send it once."]}
    assert_error(editor.get("/api/assets?q=PR&q=x&q=y"), 422)
    assert_error(client.get("/api/assets?per_page=1&per_page=999"), 401)  # authentication still comes first


@pytest.mark.parametrize("kwargs", [{}, {"json": {}}, {"data": "{}", "content_type": "application/json"}])
def test_a_patch_naming_no_field_is_422_and_writes_no_audit_row(editor, admin, asset, make_user, state, kwargs):
    user_id = make_user("carol", "viewer")
    before = state()
    for client, url in ((editor, f"/api/assets/{asset['id']}"), (admin, f"/api/users/{user_id}")):
        error = assert_error(client.patch(url, **kwargs), 422)
        assert "at least one field" in str(error["details"])
    assert state() == before


# --- a unique key taken between the pre-check and the commit ------------------------------------------------

@contextmanager
def concurrent_write(app, table, row):
    """Just before the request's first INSERT or UPDATE of *table*, another connection commits *row* (an ORM
    object): what a second request that passed the same pre-check at the same moment does."""
    with app.app_context():
        engine = db.engine
    done = []

    def before_cursor_execute(_conn, _cursor, statement, *_args):
        words = statement.split()
        if done or len(words) < 3 or table not in (words[1], words[2]) or words[0] not in ("INSERT", "UPDATE"):
            return
        done.append(statement)
        with Session(engine) as other:
            other.add(row)
            other.commit()

    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield done
    finally:
        event.remove(engine, "before_cursor_execute", before_cursor_execute)


def test_a_concurrent_create_of_the_same_tag_is_409_and_keeps_nothing(app, editor, type_id, rows):
    audit_before = rows(AuditLog)
    rival = Asset(asset_tag="RACE-1", name="the other request's", asset_type_id=type_id, status="in_service")
    with concurrent_write(app, "assets", rival) as fired:
        response = editor.post("/api/assets", json={"asset_tag": "RACE-1", "name": "mine", "asset_type_id": type_id})
    assert fired, "the hook never ran: the test did not race"
    error = assert_error(response, 409)
    assert error["code"] == "conflict" and "RACE-1" in error["message"]
    assert [a["name"] for a in rows(Asset, asset_tag="RACE-1")] == ["the other request's"]
    assert rows(AuditLog) == audit_before


def test_a_concurrent_rename_to_the_same_tag_is_409_and_keeps_nothing(app, editor, asset, type_id, rows):
    before = rows(Asset, id=asset["id"]), rows(AuditLog)
    rival = Asset(asset_tag="RACE-2", name="the other request's", asset_type_id=type_id, status="in_service")
    with concurrent_write(app, "assets", rival) as fired:
        response = editor.patch(f"/api/assets/{asset['id']}", json={"asset_tag": "RACE-2"})
    assert fired
    assert assert_error(response, 409)["code"] == "conflict"
    assert (rows(Asset, id=asset["id"]), rows(AuditLog)) == before


def test_a_concurrent_create_of_the_same_username_is_409(app, admin, rows, password):
    audit_before = rows(AuditLog)
    rival = User(username="dave", password_hash="not-a-hash", role="viewer")
    with concurrent_write(app, "users", rival) as fired:
        response = admin.post("/api/users", json={"username": "dave", "password": password + " 2", "role": "editor"})
    assert fired
    error = assert_error(response, 409)
    assert error["details"] == {"username": ["already in use"]}
    assert [u["role"] for u in rows(User, username="dave")] == ["viewer"]
    assert rows(AuditLog) == audit_before


def test_a_write_outside_commit_or_409_still_gets_a_409_not_a_500(app, app_factory, tmp_path):
    """The last resort: a view (a plugin's, say) that commits a duplicate without commit_or_409."""
    fresh = app_factory(app.config["SQLALCHEMY_DATABASE_URI"])

    @fresh.post("/api/raw-duplicate")
    def raw_duplicate():
        for _ in range(2):
            db.session.add(User(username="twin", password_hash="x", role="viewer"))
        db.session.commit()
        return {}

    error = assert_error(fresh.test_client().post("/api/raw-duplicate"), 409)
    assert error["code"] == "conflict"
    with fresh.app_context():
        assert db.session.scalars(select(User).where(User.username == "twin")).all() == []
        with pytest.raises(IntegrityError):  # the constraint the handler answered for is real
            db.session.add_all([User(username="twin", password_hash="x", role="viewer") for _ in range(2)])
            db.session.commit()
        db.session.rollback()


@pytest.mark.parametrize("field, value", [("asset_tag", "PR-2\n"), ("name", "ok"), ("serial", None)])
def test_a_pattern_matches_the_whole_value_as_the_document_says(editor, type_id, rows, field, value):
    """Python's `$` also matches before a final newline; the document's `^...$` does not, nor does the API."""
    body = {"asset_tag": "PR-2", "name": "Printer 2", "asset_type_id": type_id, field: value}
    response = editor.post("/api/assets", json=body)
    if field == "asset_tag":
        assert "asset_tag" in assert_error(response, 422)["details"]["json"]
        assert rows(Asset) == []
        assert_error(editor.get("/api/assets", query_string={"q": "PR\n"}), 422)  # control characters, even last
    else:
        assert response.status_code == 201, response.get_json()
