"""/api/users and /api/tokens: admin only; password policy; the last admin stays; token scopes, networks, use."""

from datetime import timedelta

import pytest

from app.auth import verify_password
from app.extensions import db
from app.models import ApiToken, AssetType, AuditLog, User, utcnow


def test_only_admins_manage_users_and_tokens(api_as, rows):
    editor = api_as("editor")
    for response in (editor.get("/api/users"), editor.post("/api/users", json={"username": "x", "password": "y" * 20}),
                     editor.get("/api/tokens"), editor.post("/api/tokens", json={"name": "t"})):
        assert response.status_code == 403
    assert [u["username"] for u in rows(User)] == [u["username"] for u in rows(User) if u["role"] == "editor"]
    assert rows(ApiToken) == []


def test_admin_creates_and_changes_users(app, api_as, rows):
    admin = api_as("admin")
    created = admin.post("/api/users", json={"username": "carol", "password": "a long enough password",
                                             "role": "editor"})
    assert created.status_code == 201
    body = created.get_json()
    assert body["role"] == "editor" and "password" not in body and "password_hash" not in body
    assert admin.post("/api/users", json={"username": "carol", "password": "another long password"}).status_code == 409
    changed = admin.patch(f"/api/users/{body['id']}", json={"role": "viewer", "password": "a brand new password"})
    assert changed.status_code == 200 and changed.get_json()["role"] == "viewer"
    with app.app_context():
        assert verify_password(db.session.get(User, body["id"]), "a brand new password")
    trail = rows(AuditLog, entity="users", entity_id=str(body["id"]))
    assert [t["action"] for t in trail] == ["create", "update"]
    assert all("password_hash" not in (t["after"] or {}) for t in trail)
    assert trail[1]["after"]["password_changed"] is True
    listed = admin.get("/api/users?role=viewer").get_json()["items"]
    assert [u["username"] for u in listed] == ["carol"]


def test_password_policy(api_as, rows):
    admin = api_as("admin")
    for password, username in (("short", "dave"), ("dave-the-user", "dave-the-user"), ("aaaaaaaaaaaaaaaa", "dave")):
        response = admin.post("/api/users", json={"username": username, "password": password})
        assert response.status_code == 422, password
        assert "password" in response.get_json()["error"]["details"]["json"]
    assert rows(User, username="dave") == []


def test_last_admin_cannot_be_demoted_or_disabled(api_as, rows):
    admin = api_as("admin", username="root-admin")
    admin_id = rows(User, username="root-admin")[0]["id"]
    for change in ({"role": "editor"}, {"is_active": False}):
        response = admin.patch(f"/api/users/{admin_id}", json=change)
        assert response.status_code == 409 and response.get_json()["error"]["code"] == "last_admin"
    assert rows(User, id=admin_id)[0]["role"] == "admin"
    second = admin.post("/api/users", json={"username": "admin2", "password": "admin two password", "role": "admin"})
    assert second.status_code == 201
    assert admin.patch(f"/api/users/{admin_id}", json={"role": "editor"}).status_code == 200


def test_an_admin_cannot_mint_a_token_for_another_user(api_as, make_user, rows):
    """Refused (docs/API.md): the token would act, and be audited, as the other user. `flask token create` is
    the operator's path for service accounts."""
    admin = api_as("admin")
    bob_id = make_user("bob", "editor")
    for user_id in (bob_id, 424242):
        response = admin.post("/api/tokens", json={"name": "ci", "user_id": user_id})
        assert response.status_code == 403 and "flask token create" in response.get_json()["error"]["message"]
    assert rows(ApiToken) == [] and rows(AuditLog, entity="api_tokens") == []
    own = admin.post("/api/tokens", json={"name": "ci", "user_id": rows(User, role="admin")[0]["id"]})
    assert own.status_code == 201


def test_token_expiry_is_set(api_as):
    admin = api_as("admin")
    body = admin.post("/api/tokens", json={"name": "ci", "expires_in_days": 30}).get_json()
    assert body["expires_at"] is not None and body["token"].startswith("shopdb_")


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_a_read_only_token_reads_but_never_writes(app, api_as, rows):
    admin = api_as("admin")
    created = admin.post("/api/tokens", json={"name": "report", "scope": "read"})
    assert created.status_code == 201 and created.get_json()["scope"] == "read"
    client = app.test_client()
    headers = _bearer(created.get_json()["token"])
    assert client.get("/api/asset-types", headers=headers).status_code == 200
    for method, url, body in (("POST", "/api/asset-types", {"code": "ro", "name": "Read only"}),
                              ("POST", "/api/auth/logout-all", None), ("DELETE", "/api/tokens/1", None)):
        refused = client.open(url, method=method, json=body, headers=headers)
        assert refused.status_code == 403, (method, url)
        assert refused.get_json()["error"]["code"] == "read_only_token"
    assert rows(AssetType) == []
    write = admin.post("/api/tokens", json={"name": "deploy"}).get_json()
    assert write["scope"] == "read-write"
    assert client.post("/api/asset-types", json={"code": "rw", "name": "Read write"},
                       headers=_bearer(write["token"])).status_code == 201
    assert admin.post("/api/tokens", json={"name": "x", "scope": "admin"}).status_code == 422


def test_a_token_with_networks_works_only_from_them(app, api_as):
    admin = api_as("admin")
    created = admin.post("/api/tokens", json={"name": "ansible", "allowed_networks": ["10.0.0.0/24", "192.0.2.7"]})
    assert created.status_code == 201 and created.get_json()["allowed_networks"] == ["10.0.0.0/24", "192.0.2.7"]
    headers, client = _bearer(created.get_json()["token"]), app.test_client()
    for address in ("10.0.0.99", "192.0.2.7"):
        assert client.get("/api/auth/me", headers=headers, environ_base={"REMOTE_ADDR": address}).status_code == 200
    outside = client.get("/api/auth/me", headers=headers, environ_base={"REMOTE_ADDR": "10.0.1.1"})
    assert outside.status_code == 403 and outside.get_json()["error"]["code"] == "address_not_allowed"
    bad = admin.post("/api/tokens", json={"name": "bad", "allowed_networks": ["10.0.0.0/33"]})
    assert bad.status_code == 422 and "allowed_networks" in bad.get_json()["error"]["details"]["json"]
    listed = admin.get("/api/tokens").get_json()["items"]
    assert [t["allowed_networks"] for t in listed] == [["10.0.0.0/24", "192.0.2.7"]]


def test_last_used_at_is_shown_and_written_at_most_once_a_minute(app, api_as, sql_statements):
    admin = api_as("admin")
    created = admin.post("/api/tokens", json={"name": "probe"}).get_json()
    assert created["last_used_at"] is None
    client, headers = app.test_client(), _bearer(created["token"])
    with sql_statements(app) as first:
        assert client.get("/api/auth/me", headers=headers).status_code == 200
    with sql_statements(app) as second:
        assert client.get("/api/auth/me", headers=headers).status_code == 200
    assert sum(s.startswith("UPDATE api_tokens") for s in first) == 1
    assert not any(s.startswith("UPDATE") for s in second), second
    used = admin.get("/api/tokens").get_json()["items"][0]["last_used_at"]
    assert used is not None
    with app.app_context():
        row = db.session.get(ApiToken, created["id"])
        row.last_used_at = utcnow() - timedelta(minutes=2)
        db.session.commit()
    with sql_statements(app) as later:
        assert client.get("/api/auth/me", headers=headers).status_code == 200
    assert sum(s.startswith("UPDATE api_tokens") for s in later) == 1


@pytest.mark.parametrize("days", [0, 3651])
def test_token_expiry_out_of_range_is_422(api_as, rows, days):
    assert api_as("admin").post("/api/tokens", json={"name": "ci", "expires_in_days": days}).status_code == 422
    assert rows(ApiToken) == []
