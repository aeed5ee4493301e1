"""Logins, cookie sessions with CSRF, refresh and logout, API tokens, throttling, password hashing."""

from datetime import timedelta

import jwt as pyjwt
import pytest
from flask_jwt_extended import create_access_token, decode_token
from sqlalchemy import select

from app.auth import hash_password, issue_api_token, password_hasher
from app.extensions import db
from app.models import ApiToken, Asset, AssetType, LoginAttempt, TokenBlocklist, User, utcnow


def cookie_attrs(response, name):
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "="))
    return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}, header


def test_login_sets_httponly_secure_samesite_cookies(client, make_user, password):
    make_user("alice", "viewer")
    response = client.post("/api/auth/login", json={"username": "alice", "password": password})
    assert response.status_code == 200
    assert response.get_json()["username"] == "alice"
    attrs, header = cookie_attrs(response, "access_token_cookie")
    assert {"httponly", "secure", "samesite"} <= attrs and "SameSite=Lax" in header
    attrs, _ = cookie_attrs(response, "refresh_token_cookie")
    assert {"httponly", "secure"} <= attrs
    # The CSRF companion must be readable by the page's script, so it is not HttpOnly.
    attrs, _ = cookie_attrs(response, "csrf_access_token")
    assert "httponly" not in attrs and "secure" in attrs
    assert client.get("/api/auth/me").get_json()["auth_method"] == "cookie"


def test_wrong_password_and_unknown_user_get_the_same_401(client, make_user):
    make_user("alice", "viewer")
    wrong = client.post("/api/auth/login", json={"username": "alice", "password": "not it at all"})
    unknown = client.post("/api/auth/login", json={"username": "nobody", "password": "not it at all"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json()["error"]["message"] == unknown.get_json()["error"]["message"]
    assert client.get("/api/auth/me").status_code == 401


def test_disabled_user_cannot_log_in(client, make_user, password):
    make_user("gone", "editor", is_active=False)
    assert client.post("/api/auth/login", json={"username": "gone", "password": password}).status_code == 401


def test_no_credentials_is_401_json(client):
    response = client.get("/api/assets")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "not_authenticated"


def test_write_without_csrf_header_is_refused_and_changes_nothing(app, api_as, seeded, rows):
    editor = api_as("editor")
    type_id = rows(AssetType, code="printer")[0]["id"]
    response = editor.client.post("/api/assets", json={"asset_tag": "PR-1", "name": "P", "asset_type_id": type_id})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "csrf_failed"
    wrong = editor.client.post("/api/assets", json={"asset_tag": "PR-1", "name": "P", "asset_type_id": type_id},
                               headers={"X-CSRF-TOKEN": "forged"})
    assert wrong.status_code == 403
    assert rows(Asset) == []


def test_logout_revokes_the_session_server_side(app, make_user, login):
    make_user("alice", "editor")
    client = app.test_client()
    session = login(client, "alice")
    stolen_access = client.get_cookie("access_token_cookie", path="/api/").value
    stolen_refresh = client.get_cookie("refresh_token_cookie", path="/api/auth/").value
    stolen_csrf = client.get_cookie("csrf_refresh_token").value
    assert session.post("/api/auth/logout").status_code == 204
    assert client.get("/api/auth/me").status_code == 401
    # Replaying the old cookies (as a thief would) fails: both tokens are on the blocklist.
    thief = app.test_client()
    thief.set_cookie("access_token_cookie", stolen_access, path="/api/")
    response = thief.get("/api/auth/me")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "token_revoked"
    thief.set_cookie("refresh_token_cookie", stolen_refresh, path="/api/auth/")
    refreshed = thief.post("/api/auth/refresh", headers={"X-CSRF-TOKEN": stolen_csrf})
    assert refreshed.status_code == 401 and refreshed.get_json()["error"]["code"] == "token_revoked"
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(TokenBlocklist)) == 2


def test_refresh_rotates_both_cookies_and_refuses_the_old_refresh_token(app, make_user, login):
    make_user("alice", "viewer")
    client = app.test_client()
    login(client, "alice")
    old_access = client.get_cookie("access_token_cookie", path="/api/").value
    old_refresh = client.get_cookie("refresh_token_cookie", path="/api/auth/").value
    csrf = client.get_cookie("csrf_refresh_token").value
    assert client.post("/api/auth/refresh").status_code == 403  # CSRF header missing
    response = client.post("/api/auth/refresh", headers={"X-CSRF-TOKEN": csrf})
    assert response.status_code == 200
    assert client.get_cookie("access_token_cookie", path="/api/").value != old_access
    new_refresh = client.get_cookie("refresh_token_cookie", path="/api/auth/").value
    assert new_refresh != old_refresh
    assert client.get("/api/auth/me").status_code == 200
    with app.app_context():
        old_payload, new_payload = decode_token(old_refresh, allow_expired=True), decode_token(new_refresh)
    # The session's lifetime is the login's: rotation does not extend it.
    assert new_payload["exp"] <= old_payload["exp"]
    # A replayed copy of the old refresh token is refused; the new one still works.
    thief = app.test_client()
    thief.set_cookie("refresh_token_cookie", old_refresh, path="/api/auth/")
    replayed = thief.post("/api/auth/refresh", headers={"X-CSRF-TOKEN": csrf})
    assert replayed.status_code == 401 and replayed.get_json()["error"]["code"] == "token_revoked"
    again = client.post("/api/auth/refresh",
                        headers={"X-CSRF-TOKEN": client.get_cookie("csrf_refresh_token").value})
    assert again.status_code == 200


def _token(app, user_id, **kwargs):
    with app.test_request_context():
        return create_access_token(identity=str(user_id), **kwargs)


def test_expired_session_token_is_401(app, client, make_user):
    user_id = make_user("alice", "viewer")
    client.set_cookie("access_token_cookie", _token(app, user_id, expires_delta=timedelta(seconds=-5)), path="/api/")
    response = client.get("/api/auth/me")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "token_expired"


def test_forged_session_token_is_401(app, client, make_user):
    user_id = make_user("alice", "admin")
    token = _token(app, user_id)
    header, payload, _signature = token.split(".")
    client.set_cookie("access_token_cookie", f"{header}.{payload}.{'A' * 43}", path="/api/")
    response = client.get("/api/auth/me")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "invalid_token"
    claims = pyjwt.decode(token, app.config["JWT_SECRET_KEY"], algorithms=["HS256"])
    # Signed with another key: same answer.
    client.set_cookie("access_token_cookie", pyjwt.encode(claims, "x" * 48, algorithm="HS256"), path="/api/")
    assert client.get("/api/auth/me").status_code == 401
    # alg=none is never accepted.
    client.set_cookie("access_token_cookie", pyjwt.encode(claims, None, algorithm="none"), path="/api/")
    assert client.get("/api/auth/me").status_code == 401


def test_session_of_disabled_user_stops_working(app, make_user, login):
    user_id = make_user("alice", "editor")
    session = login(app.test_client(), "alice")
    with app.app_context():
        db.session.get(User, user_id).is_active = False
        db.session.commit()
    assert session.get("/api/auth/me").status_code == 401


def test_api_token_bearer_lifecycle(app, api_as, make_user):
    admin = api_as("admin")
    bob_id = make_user("bob", "editor")
    created = admin.post("/api/tokens", json={"name": "ansible", "user_id": bob_id})
    assert created.status_code == 201
    token = created.get_json()["token"]
    assert token.startswith("shopdb_")
    # Stored hashed only: the token text appears nowhere in the table, and listings never show it.
    with app.app_context():
        stored = db.session.scalars(select(ApiToken)).all()
        assert all(token not in (row.token_hash, row.prefix) for row in stored)
    listing = admin.get("/api/tokens").get_json()["items"]
    assert listing and all("token" not in item for item in listing)

    bearer = app.test_client()
    me = bearer.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.get_json() == {"id": bob_id, "username": "bob", "role": "editor",
                                                       "auth_method": "token"}
    # Bearer tokens need no CSRF header (no cookie is involved).
    types = bearer.get("/api/asset-types", headers={"Authorization": f"Bearer {token}"})
    assert types.status_code == 200

    token_id = created.get_json()["id"]
    assert admin.delete(f"/api/tokens/{token_id}").status_code == 204
    revoked = bearer.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 401 and revoked.get_json()["error"]["code"] == "invalid_token"


@pytest.mark.parametrize("header", ["Bearer shopdb_not-a-real-token", "Bearer ", "Basic YWRtaW46YWRtaW4=", "Bearer"])
def test_bad_bearer_tokens_are_401(client, header):
    response = client.get("/api/auth/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert "error" in response.get_json()


def test_expired_api_token_is_401(app, make_user):
    user_id = make_user("bot", "viewer")
    with app.app_context():
        _row, token = issue_api_token(db.session.get(User, user_id), "old", utcnow() - timedelta(minutes=1))
        db.session.commit()
    response = app.test_client().get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "token_expired"


def test_passwords_are_argon2id_and_rehashed_on_login(app, client, password):
    with app.app_context():
        weak = hash_password(password)  # the testing profile's cost
        db.session.add(User(username="old", password_hash=weak, role="viewer"))
        db.session.commit()
    assert weak.startswith("$argon2id$")
    app.config["ARGON2_TIME_COST"] = 2
    try:
        assert client.post("/api/auth/login", json={"username": "old", "password": password}).status_code == 200
        with app.app_context():
            new_hash = db.session.scalar(select(User.password_hash).where(User.username == "old"))
            assert new_hash != weak and new_hash.startswith("$argon2id$") and ",t=2," in new_hash
            assert not password_hasher().check_needs_rehash(new_hash)
    finally:
        app.config["ARGON2_TIME_COST"] = 1


def test_login_throttle_holds_across_app_instances(app, app_factory, make_user, password):
    """Two app instances (as two gunicorn workers or two hosts) share the limit through the database."""
    make_user("alice", "editor")
    other = app_factory(app.config["SQLALCHEMY_DATABASE_URI"])
    clients = [app.test_client(), other.test_client()]
    limit = app.config["LOGIN_MAX_FAILURES_PER_USER"]
    for attempt in range(limit):
        response = clients[attempt % 2].post("/api/auth/login", json={"username": "alice", "password": "wrong!"})
        assert response.status_code == 401
    for c in clients:
        blocked = c.post("/api/auth/login", json={"username": "alice", "password": password})
        assert blocked.status_code == 429
        assert int(blocked.headers["Retry-After"]) > 0
        assert blocked.get_json()["error"]["code"] == "too_many_requests"
    # Another user from another address is not affected.
    make_user("bob", "viewer")
    ok = clients[1].post("/api/auth/login", json={"username": "bob", "password": password},
                         environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert ok.status_code == 200
    with other.app_context():
        db.engine.dispose()


def test_successful_login_clears_failures(app, client, make_user, password, rows):
    make_user("alice", "editor")
    client.post("/api/auth/login", json={"username": "alice", "password": "wrong!"})
    assert len(rows(LoginAttempt, username="alice")) == 1
    assert client.post("/api/auth/login", json={"username": "alice", "password": password}).status_code == 200
    assert rows(LoginAttempt, username="alice") == []


def test_proxy_fix_trusts_one_hop_for_the_client_address(app, client, make_user):
    """Behind nginx the throttle keys on the real client (X-Forwarded-For), one hop only."""
    make_user("alice", "editor")
    client.post("/api/auth/login", json={"username": "alice", "password": "wrong!"},
                headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.5"})
    with app.app_context():
        assert db.session.scalar(select(LoginAttempt.ip)) == "203.0.113.5"
