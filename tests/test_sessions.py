"""Sessions that really end: password, role and active changes, logout-all (own and admin's), self-service
password change. Each ends the cookie sessions issued before through the user's session epoch."""

from sqlalchemy import select

from app.auth import issue_api_token, verify_password
from app.extensions import db
from app.models import ApiToken, AuditLog, User


def _token_for(app, user_id, **kwargs):
    with app.app_context():
        _row, token = issue_api_token(db.session.get(User, user_id), "script", **kwargs)
        db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def _me(client, **kwargs):
    return client.get("/api/auth/me", **kwargs)


def test_an_admin_password_reset_ends_the_users_cookie_sessions_but_keeps_their_tokens(app, api_as, make_user,
                                                                                        login):
    admin = api_as("admin")
    bob_id = make_user("bob", "editor")
    bob = login(app.test_client(), "bob")
    bearer = _token_for(app, bob_id)
    assert _me(bob).status_code == 200
    assert admin.patch(f"/api/users/{bob_id}", json={"password": "a brand new password"}).status_code == 200
    ended = _me(bob)
    assert ended.status_code == 401 and ended.get_json()["error"]["code"] == "token_revoked"
    # The refresh token of the old session cannot start a new one either.
    refreshed = bob.client.post("/api/auth/refresh",
                                headers={"X-CSRF-TOKEN": bob.client.get_cookie("csrf_refresh_token").value})
    assert refreshed.status_code == 401
    # API tokens are separate credentials (docs/API.md): a password reset keeps them; disabling ends them.
    assert _me(app.test_client(), headers=bearer).status_code == 200
    # A new login with the new password works.
    assert login(app.test_client(), "bob", "a brand new password").get("/api/auth/me").status_code == 200


def test_a_role_change_ends_the_users_cookie_sessions(app, api_as, make_user, login):
    admin = api_as("admin")
    bob_id = make_user("bob", "editor")
    bob = login(app.test_client(), "bob")
    assert admin.patch(f"/api/users/{bob_id}", json={"role": "viewer"}).status_code == 200
    assert _me(bob).status_code == 401
    # An unrelated change (none here: setting the same role) does not.
    carol_id = make_user("carol", "editor")
    carol = login(app.test_client(), "carol")
    assert admin.patch(f"/api/users/{carol_id}", json={"role": "editor"}).status_code == 200
    assert _me(carol).status_code == 200


def test_disabling_a_user_ends_sessions_and_revokes_api_tokens_for_good(app, api_as, make_user, login, rows):
    admin = api_as("admin")
    bob_id = make_user("bob", "editor")
    bob = login(app.test_client(), "bob")
    bearer = _token_for(app, bob_id)
    assert admin.patch(f"/api/users/{bob_id}", json={"is_active": False}).status_code == 200
    assert _me(bob).status_code == 401
    assert _me(app.test_client(), headers=bearer).status_code == 401
    # Enabling the user again does not bring the old session or token back.
    assert admin.patch(f"/api/users/{bob_id}", json={"is_active": True}).status_code == 200
    assert _me(bob).status_code == 401
    assert _me(app.test_client(), headers=bearer).status_code == 401
    assert all(t["revoked_at"] is not None for t in rows(ApiToken, user_id=bob_id))
    update = rows(AuditLog, entity="users", entity_id=str(bob_id), action="update")[0]
    assert update["after"]["api_tokens_revoked"] == 1


def test_logout_all_ends_every_session_of_the_caller(app, make_user, login, rows):
    user_id = make_user("alice", "viewer")
    laptop, phone = login(app.test_client(), "alice"), login(app.test_client(), "alice")
    response = laptop.post("/api/auth/logout-all")
    assert response.status_code == 204
    assert _me(laptop).status_code == 401 and _me(phone).status_code == 401
    assert [a["action"] for a in rows(AuditLog, entity="users", entity_id=str(user_id))] == ["logout_all"]
    # Signing in again works.
    assert _me(login(app.test_client(), "alice")).status_code == 200


def test_an_admin_ends_another_users_sessions_audited(app, api_as, make_user, login, rows):
    admin = api_as("admin")
    bob_id = make_user("bob", "editor")
    bob = login(app.test_client(), "bob")
    assert api_as("editor").post(f"/api/users/{bob_id}/logout-all").status_code == 403
    assert _me(bob).status_code == 200
    assert admin.post(f"/api/users/{bob_id}/logout-all").status_code == 204
    assert _me(bob).status_code == 401
    assert _me(admin).status_code == 200  # the admin's own session is untouched
    trail = rows(AuditLog, entity="users", entity_id=str(bob_id))
    assert [a["action"] for a in trail] == ["logout_all"] and trail[0]["actor"] == rows(User, role="admin")[0][
        "username"]
    assert admin.post("/api/users/424242/logout-all").status_code == 404


def test_self_service_password_change_needs_the_current_password(app, make_user, login, password, rows):
    user_id = make_user("alice", "editor")
    here, elsewhere = login(app.test_client(), "alice"), login(app.test_client(), "alice")
    wrong = here.post("/api/auth/password", json={"current_password": "not it", "new_password": "a new long secret"})
    assert wrong.status_code == 422 and "current_password" in wrong.get_json()["error"]["details"]["json"]
    weak = here.post("/api/auth/password", json={"current_password": password, "new_password": "short"})
    assert weak.status_code == 422 and "new_password" in weak.get_json()["error"]["details"]["json"]
    with app.app_context():
        assert verify_password(db.session.get(User, user_id), password)  # nothing changed so far
    assert _me(elsewhere).status_code == 200
    changed = here.post("/api/auth/password", json={"current_password": password,
                                                    "new_password": "a new long secret"})
    assert changed.status_code == 200 and changed.get_json()["username"] == "alice"
    # Every other session ended; this one got fresh cookies and goes on.
    assert _me(elsewhere).status_code == 401
    here.csrf = here.client.get_cookie("csrf_access_token").value
    assert _me(here).status_code == 200
    assert here.post("/api/auth/logout").status_code == 204
    assert login(app.test_client(), "alice", "a new long secret")
    assert [a["after"] for a in rows(AuditLog, entity="users", entity_id=str(user_id))] == [
        {"password_changed": True}]


def test_wrong_current_passwords_are_throttled_like_logins(app, make_user, login, password):
    make_user("alice", "editor")
    session = login(app.test_client(), "alice")
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_USER_ADDRESS"]):
        assert session.post("/api/auth/password", json={"current_password": "guess",
                                                        "new_password": "a new long secret"}).status_code == 422
    blocked = session.post("/api/auth/password", json={"current_password": password,
                                                       "new_password": "a new long secret"})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0


def test_the_epoch_check_adds_no_statement(app, make_user, login, sql_statements):
    make_user("alice", "viewer")
    session = login(app.test_client(), "alice")
    with sql_statements(app) as seen:
        assert _me(session).status_code == 200
    assert len(seen) == 3, seen  # blocklist, the caller (with its epoch), the User for the answer
    assert "session_epoch" in seen[1]
    with app.app_context():
        assert db.session.scalar(select(User.session_epoch).where(User.username == "alice")) == 0
