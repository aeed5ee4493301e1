"""/api/users and /api/tokens: admin only; password policy; the last admin stays."""

from app.auth import verify_password
from app.extensions import db
from app.models import ApiToken, AuditLog, User


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


def test_token_for_unknown_user_is_422(api_as, rows):
    admin = api_as("admin")
    response = admin.post("/api/tokens", json={"name": "ci", "user_id": 424242})
    assert response.status_code == 422
    assert rows(ApiToken) == []


def test_token_expiry_is_set(api_as):
    admin = api_as("admin")
    body = admin.post("/api/tokens", json={"name": "ci", "expires_in_days": 30}).get_json()
    assert body["expires_at"] is not None and body["token"].startswith("shopdb_")
