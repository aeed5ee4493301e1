"""Logins, cookie sessions with CSRF, refresh and logout, API tokens, throttling, password hashing."""

from datetime import timedelta

import jwt as pyjwt
import pytest
from flask_jwt_extended import create_access_token, decode_token
from sqlalchemy import create_engine, insert, select
from sqlalchemy.pool import NullPool

import app.api.auth as auth_views
from app import auth
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
    before_refresh = client.get_cookie("access_token_cookie", path="/api/").value
    assert client.post("/api/auth/refresh",
                       headers={"X-CSRF-TOKEN": client.get_cookie("csrf_refresh_token").value}).status_code == 200
    session.csrf = client.get_cookie("csrf_access_token").value
    stolen_access = client.get_cookie("access_token_cookie", path="/api/").value
    stolen_refresh = client.get_cookie("refresh_token_cookie", path="/api/auth/").value
    stolen_csrf = client.get_cookie("csrf_refresh_token").value
    assert session.post("/api/auth/logout").status_code == 204
    assert client.get("/api/auth/me").status_code == 401
    # Replaying the old cookies (as a thief would) fails: every token of the login is revoked, the access token
    # in use, the one from before the last refresh (still unexpired) and the refresh token.
    for access in (stolen_access, before_refresh):
        thief = app.test_client()
        thief.set_cookie("access_token_cookie", access, path="/api/")
        response = thief.get("/api/auth/me")
        assert response.status_code == 401 and response.get_json()["error"]["code"] == "token_revoked"
    thief.set_cookie("refresh_token_cookie", stolen_refresh, path="/api/auth/")
    refreshed = thief.post("/api/auth/refresh", headers={"X-CSRF-TOKEN": stolen_csrf})
    assert refreshed.status_code == 401 and refreshed.get_json()["error"]["code"] == "token_revoked"
    with app.app_context():
        kinds = db.session.scalars(select(TokenBlocklist.token_type).order_by(TokenBlocklist.id)).all()
    assert kinds == ["refresh", "family"]  # the rotated refresh token, then the whole login


def _refresh(client, **kwargs):
    return client.post("/api/auth/refresh", headers={"X-CSRF-TOKEN": client.get_cookie("csrf_refresh_token").value},
                       **kwargs)


def test_refresh_rotates_both_cookies_and_keeps_the_login_lifetime(app, make_user, login):
    make_user("alice", "viewer")
    client = app.test_client()
    login(client, "alice")
    old_access = client.get_cookie("access_token_cookie", path="/api/").value
    old_refresh = client.get_cookie("refresh_token_cookie", path="/api/auth/").value
    assert client.post("/api/auth/refresh").status_code == 403  # CSRF header missing
    assert _refresh(client).status_code == 200
    assert client.get_cookie("access_token_cookie", path="/api/").value != old_access
    new_refresh = client.get_cookie("refresh_token_cookie", path="/api/auth/").value
    assert new_refresh != old_refresh
    assert client.get("/api/auth/me").status_code == 200
    with app.app_context():
        old_payload, new_payload = decode_token(old_refresh, allow_expired=True), decode_token(new_refresh)
    # The session's lifetime is the login's: rotation does not extend it.
    assert new_payload["exp"] <= old_payload["exp"]
    assert _refresh(client).status_code == 200


def test_a_refresh_token_used_twice_revokes_its_whole_family(app, make_user, login):
    """R1 stolen; the owner refreshes (R2); the thief's R1 replay ends the login for both, R2 included, and a
    thief who refreshed first (R2 stolen) is cut off when the owner presents R1."""
    make_user("alice", "viewer")
    owner = app.test_client()
    login(owner, "alice")
    r1 = owner.get_cookie("refresh_token_cookie", path="/api/auth/").value
    csrf1 = owner.get_cookie("csrf_refresh_token").value
    assert _refresh(owner).status_code == 200  # R2
    thief = app.test_client()
    thief.set_cookie("refresh_token_cookie", r1, path="/api/auth/")
    replayed = thief.post("/api/auth/refresh", headers={"X-CSRF-TOKEN": csrf1},
                          environ_base={"REMOTE_ADDR": "203.0.113.66"})
    assert replayed.status_code == 401 and replayed.get_json()["error"]["code"] == "token_reused"
    # The owner's newer refresh token and access token are revoked with it.
    assert _refresh(owner).status_code == 401
    assert owner.get("/api/auth/me").get_json()["error"]["code"] == "token_revoked"

    # The other order: the thief refreshes with the stolen R1 first and keeps R2; the owner's R1 ends it.
    login(owner, "alice")
    r1 = owner.get_cookie("refresh_token_cookie", path="/api/auth/").value
    csrf1 = owner.get_cookie("csrf_refresh_token").value
    thief = app.test_client()
    thief.set_cookie("refresh_token_cookie", r1, path="/api/auth/")
    thief.set_cookie("csrf_refresh_token", csrf1)
    assert _refresh(thief, environ_base={"REMOTE_ADDR": "203.0.113.66"}).status_code == 200
    assert _refresh(owner).get_json()["error"]["code"] == "token_reused"
    assert _refresh(thief, environ_base={"REMOTE_ADDR": "203.0.113.66"}).status_code == 401
    assert thief.get("/api/auth/me").status_code == 401


def test_two_tabs_refreshing_together_get_the_same_pair_within_the_grace(app, make_user, login):
    make_user("alice", "viewer")
    client = app.test_client()
    login(client, "alice")
    r1 = client.get_cookie("refresh_token_cookie", path="/api/auth/").value
    csrf1 = client.get_cookie("csrf_refresh_token").value
    first = client.post("/api/auth/refresh", headers={"X-CSRF-TOKEN": csrf1})
    pair = (client.get_cookie("access_token_cookie", path="/api/").value,
            client.get_cookie("refresh_token_cookie", path="/api/auth/").value)
    # The second tab still sends R1 (same browser: same address and User-Agent).
    tab2 = app.test_client()
    tab2.set_cookie("refresh_token_cookie", r1, path="/api/auth/")
    second = tab2.post("/api/auth/refresh", headers={"X-CSRF-TOKEN": csrf1})
    assert first.status_code == second.status_code == 200
    assert (tab2.get_cookie("access_token_cookie", path="/api/").value,
            tab2.get_cookie("refresh_token_cookie", path="/api/auth/").value) == pair
    assert client.get("/api/auth/me").status_code == 200 and _refresh(client).status_code == 200
    # Past the grace, the same replay is reuse.
    login(client, "alice")
    r1 = client.get_cookie("refresh_token_cookie", path="/api/auth/").value
    csrf1 = client.get_cookie("csrf_refresh_token").value
    assert _refresh(client).status_code == 200
    app.config["REFRESH_REUSE_GRACE"] = timedelta(0)
    try:
        tab2 = app.test_client()
        tab2.set_cookie("refresh_token_cookie", r1, path="/api/auth/")
        late = tab2.post("/api/auth/refresh", headers={"X-CSRF-TOKEN": csrf1})
    finally:
        app.config["REFRESH_REUSE_GRACE"] = timedelta(seconds=10)
    assert late.status_code == 401 and late.get_json()["error"]["code"] == "token_reused"
    assert client.get("/api/auth/me").status_code == 401


def test_two_tabs_rotating_at_the_same_moment_both_get_a_pair(app, make_user, login, monkeypatch):
    """The other tab's request commits the same rotation between this one's check and its commit: no 500."""
    make_user("alice", "viewer")
    client = app.test_client()
    login(client, "alice")
    rotate = auth_views.rotate_refresh

    def racing(presented, user, reused):
        pair = rotate(presented, user, reused)
        if not reused:
            other = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
            try:
                with other.begin() as connection:
                    connection.execute(insert(TokenBlocklist.__table__).values(
                        jti=presented["jti"], token_type="refresh", user_id=user.id, family=presented["fam"],
                        client=auth._client(), revoked_at=utcnow().replace(microsecond=0),
                        expires_at=utcnow() + timedelta(hours=1)))
            finally:
                other.dispose()
        return pair

    monkeypatch.setattr(auth_views, "rotate_refresh", racing)
    response = _refresh(client)
    assert response.status_code == 200, response.get_json()
    assert client.get("/api/auth/me").status_code == 200
    monkeypatch.setattr(auth_views, "rotate_refresh", rotate)
    assert _refresh(client).status_code == 200


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


def test_api_token_bearer_lifecycle(app, api_as, rows):
    admin = api_as("admin", username="ada")
    created = admin.post("/api/tokens", json={"name": "ansible"})
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
    ada_id = rows(User, username="ada")[0]["id"]
    assert me.status_code == 200 and me.get_json() == {"id": ada_id, "username": "ada", "role": "admin",
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
    limit = app.config["LOGIN_MAX_FAILURES_PER_USER_ADDRESS"]
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


def test_a_direct_client_cannot_forge_its_address(app, client, make_user):
    """Only TRUSTED_PROXIES may name the client: anyone reaching gunicorn directly keeps their own address, so a
    made-up X-Forwarded-For does not buy fresh login attempts."""
    make_user("alice", "editor")
    limit = app.config["LOGIN_MAX_FAILURES_PER_USER_ADDRESS"]
    direct = {"REMOTE_ADDR": "10.1.2.3"}
    for n in range(limit):
        client.post("/api/auth/login", json={"username": "alice", "password": "wrong!"}, environ_base=direct,
                    headers={"X-Forwarded-For": f"198.51.100.{n}"})
    with app.app_context():
        assert set(db.session.scalars(select(LoginAttempt.ip))) == {"10.1.2.3"}
    for n in range(10):
        spoofed = client.post("/api/auth/login", json={"username": "alice", "password": "wrong!"},
                              environ_base=direct, headers={"X-Forwarded-For": f"192.0.2.{n}"})
        assert spoofed.status_code == 429


def test_trusted_proxies_come_from_the_environment_and_are_checked(app_factory, monkeypatch):
    monkeypatch.setenv("SHOPDB_TRUSTED_PROXIES", "10.0.0.0/24, 192.0.2.1")
    proxied = app_factory("sqlite://")
    assert proxied.config["TRUSTED_PROXIES"] == ["10.0.0.0/24", "192.0.2.1"]

    @proxied.get("/api/_whoami")
    def _whoami():
        from flask import request
        return {"addr": request.remote_addr}

    web = proxied.test_client()
    via_proxy = web.get("/api/_whoami", environ_base={"REMOTE_ADDR": "10.0.0.7"},
                        headers={"X-Forwarded-For": "203.0.113.9"})
    assert via_proxy.get_json()["addr"] == "203.0.113.9"
    # 127.0.0.1 is no longer listed, so its header is ignored.
    assert web.get("/api/_whoami", headers={"X-Forwarded-For": "203.0.113.9"}).get_json()["addr"] == "127.0.0.1"
    monkeypatch.setenv("SHOPDB_TRUSTED_PROXIES", "10.0.0.0/24,nginx.example")
    with pytest.raises(SystemExit):
        app_factory("sqlite://")


def _fail(client, address, username="admin"):
    return client.post("/api/auth/login", json={"username": username, "password": "wrong!"},
                       environ_base={"REMOTE_ADDR": address})


def test_failures_from_one_address_do_not_lock_the_user_out_elsewhere(app, client, make_user, password):
    make_user("admin", "admin")
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_USER_ADDRESS"]):
        assert _fail(client, "203.0.113.5").status_code == 401
    attacker = client.post("/api/auth/login", json={"username": "admin", "password": password},
                           environ_base={"REMOTE_ADDR": "203.0.113.5"})
    assert attacker.status_code == 429
    # The admin, from their own address, signs in; that clears only their own address's failures.
    owner = client.post("/api/auth/login", json={"username": "admin", "password": password},
                        environ_base={"REMOTE_ADDR": "10.0.0.20"})
    assert owner.status_code == 200
    assert _fail(client, "203.0.113.5").status_code == 429


def test_the_back_off_doubles_with_each_failure_after_the_free_ones(app, client, make_user, rows):
    make_user("alice", "editor")
    free = app.config["LOGIN_MAX_FAILURES_PER_USER_ADDRESS"]
    for _ in range(free):
        _fail(client, "203.0.113.5", "alice")
    first = int(_fail(client, "203.0.113.5", "alice").headers["Retry-After"])
    assert 55 <= first <= 60  # LOGIN_BACKOFF after the last failure
    # Let the wait pass (move the failures back in time), fail once more: the wait doubles.
    with app.app_context():
        for attempt in db.session.scalars(select(LoginAttempt)):
            attempt.attempted_at -= timedelta(seconds=61)
        db.session.commit()
    assert _fail(client, "203.0.113.5", "alice").status_code == 401
    second = int(_fail(client, "203.0.113.5", "alice").headers["Retry-After"])
    assert 115 <= second <= 120
    assert len(rows(LoginAttempt, username="alice")) == free + 1


def test_a_slower_limit_per_user_holds_over_every_address(app, client, make_user, password):
    make_user("alice", "editor")
    app.config["LOGIN_MAX_FAILURES_PER_USER"] = 8
    try:
        for n in range(8):
            assert _fail(client, f"198.51.100.{n}", "alice").status_code == 401
        fresh_address = client.post("/api/auth/login", json={"username": "alice", "password": password},
                                    environ_base={"REMOTE_ADDR": "10.9.9.9"})
        assert fresh_address.status_code == 429
        assert int(fresh_address.headers["Retry-After"]) > 60 * 14
    finally:
        app.config["LOGIN_MAX_FAILURES_PER_USER"] = 50
