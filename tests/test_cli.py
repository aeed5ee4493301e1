"""`flask seed`, `flask user create` / `create-admin`, `flask token create`, and the CLI from any directory."""

import os
import subprocess
import sys

import pytest

from datetime import timedelta

from app.models import ApiToken, AssetStatus, AssetType, AuditLog, Location, User, utcnow


def test_seed_is_idempotent(app, rows):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0 and "added" in first.output
    snapshot = (rows(AssetType), rows(AssetStatus), rows(Location))
    assert {t["code"] for t in snapshot[0]} >= {"printer", "pc", "machine"}
    assert {s["code"] for s in snapshot[1]} >= {"in_service", "retired"}
    assert [loc["code"] for loc in snapshot[2]] == ["main"]
    second = runner.invoke(args=["seed"])
    assert second.exit_code == 0 and "nothing changed" in second.output
    assert (rows(AssetType), rows(AssetStatus), rows(Location)) == snapshot


def test_create_admin_reads_stdin_and_is_idempotent(app, client, rows):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["user", "create-admin", "--username", "root", "--password-stdin"],
                           input="a long admin password\n")
    assert result.exit_code == 0, result.output
    assert [(u["username"], u["role"]) for u in rows(User)] == [("root", "admin")]
    stored = rows(User)[0]["password_hash"]
    again = runner.invoke(args=["user", "create-admin", "--username", "root", "--password-stdin"],
                          input="a different password\n")
    assert again.exit_code == 0 and "exists" in again.output
    assert rows(User)[0]["password_hash"] == stored
    login = client.post("/api/auth/login", json={"username": "root", "password": "a long admin password"})
    assert login.status_code == 200 and login.get_json()["role"] == "admin"


def test_create_admin_never_uses_a_default_password(app, rows):
    runner = app.test_cli_runner()
    no_stdin = runner.invoke(args=["user", "create-admin", "--username", "root"])
    assert no_stdin.exit_code == 2 and "--password-stdin" in no_stdin.output
    weak = runner.invoke(args=["user", "create-admin", "--username", "root", "--password-stdin"], input="short\n")
    assert weak.exit_code == 1 and "at least" in weak.output
    empty = runner.invoke(args=["user", "create-admin", "--username", "root", "--password-stdin"], input="")
    assert empty.exit_code == 1
    assert rows(User) == []


def test_token_create_prints_a_working_token(app, client, make_user):
    make_user("deploy", "editor")
    result = app.test_cli_runner().invoke(args=["token", "create", "--username", "deploy", "--name", "ansible"])
    assert result.exit_code == 0
    token = result.output.strip()
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.get_json()["username"] == "deploy"
    missing = app.test_cli_runner().invoke(args=["token", "create", "--username", "ghost", "--name", "x"])
    assert missing.exit_code == 1 and "no active user" in missing.output


def test_token_create_with_expiry_scope_and_networks(app, client, make_user, rows):
    make_user("probe", "viewer")
    result = app.test_cli_runner().invoke(args=[
        "token", "create", "--username", "probe", "--name", "monitoring", "--expires-in-days", "30",
        "--scope", "read", "--allow-network", "10.0.0.0/24", "--allow-network", "127.0.0.1"])
    assert result.exit_code == 0, result.output
    [token] = rows(ApiToken)
    assert token["scope"] == "read" and token["allowed_networks"] == "10.0.0.0/24,127.0.0.1"
    assert timedelta(days=29, hours=23) < token["expires_at"] - utcnow() <= timedelta(days=30)
    # Audited: who the token is for, with the actor "system" (the operator on the host).
    [audit] = rows(AuditLog, entity="api_tokens")
    assert audit["actor"] == "system" and audit["after"]["user_id"] == token["user_id"]
    headers = {"Authorization": f"Bearer {result.output.strip()}"}
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    for args, message in ((["--expires-in-days", "0"], "--expires-in-days"), (["--scope", "all"], "--scope"),
                          (["--allow-network", "office"], "--allow-network")):
        bad = app.test_cli_runner().invoke(args=["token", "create", "--username", "probe", "--name", "x", *args])
        assert bad.exit_code == 2 and message in bad.output, bad.output
    assert len(rows(ApiToken)) == 1


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_user_create_with_a_role(app, client, rows, role):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["user", "create", "--username", "sam", "--role", role, "--password-stdin"],
                           input="a long user password\n")
    assert result.exit_code == 0, result.output
    assert [(u["username"], u["role"]) for u in rows(User)] == [("sam", role)]
    assert [a["action"] for a in rows(AuditLog, entity="users")] == ["create"]
    login = client.post("/api/auth/login", json={"username": "sam", "password": "a long user password"})
    assert login.status_code == 200 and login.get_json()["role"] == role


def test_user_create_refuses_unknown_roles_and_missing_passwords(app, rows):
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["user", "create", "--username", "sam", "--role", "root", "--password-stdin"],
                            input="a long user password\n")
    assert unknown.exit_code == 2 and "viewer" in unknown.output
    no_stdin = runner.invoke(args=["user", "create", "--username", "sam", "--role", "viewer"])
    assert no_stdin.exit_code == 2 and "--password-stdin" in no_stdin.output
    assert rows(User) == []


@pytest.mark.slow  # a subprocess: left out of make test-fast
def test_cli_builds_and_seeds_a_database_from_any_directory(tmp_path):
    """What a deploy runs: `flask --app app db upgrade heads` then `flask seed`, here from /."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPDB_", "FLASK_"))}
    env |= {"SHOPDB_ENV": "testing", "SHOPDB_DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite"}

    def flask(*args):
        return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], env=env, cwd="/",
                              capture_output=True, text=True, timeout=120)

    upgrade = flask("db", "upgrade", "heads")
    assert upgrade.returncode == 0, upgrade.stderr
    assert "core_0001" in upgrade.stderr
    check = flask("db", "check")
    assert check.returncode == 0, check.stderr + check.stdout
    seed = flask("seed")
    assert seed.returncode == 0 and "added" in seed.stdout
