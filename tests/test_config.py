"""Production configuration: every weak setting is refused, all at once, before a server binds."""

import os
import socket
import subprocess
import sys

import pytest

from app import create_app
from app.config import ProductionConfig
from app.placeholders import PLACEHOLDER_SECRETS

GOOD = {
    "SHOPDB_ENV": "production",
    "SHOPDB_SECRET_KEY": "k7Vq2xN9pL4sR8tW1yZ3bC6dF0gH5jM2",
    "SHOPDB_JWT_SECRET_KEY": "Qe4Rt7Yu1Io9Pa3Sd6Fg8Hj2Kl5Zx0Cv",
    "SHOPDB_DATABASE_URL": "mysql+pymysql://shopdb:Xk29dLq8Rw@127.0.0.1:3306/shopdb?charset=utf8mb4",
}
ENV_KEYS = ("SHOPDB_ENV", "SHOPDB_SECRET_KEY", "SHOPDB_JWT_SECRET_KEY", "SHOPDB_DATABASE_URL",
            "SHOPDB_CORS_ORIGINS", "SHOPDB_COOKIE_SECURE", "SHOPDB_LOG_LEVEL", "FLASK_DEBUG")


@pytest.fixture
def env(monkeypatch):
    """Start from the good production environment; tests override single variables."""
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    for key, value in GOOD.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def problems():
    return ProductionConfig().validate()


def test_good_production_config_passes(env):
    assert problems() == []


@pytest.mark.parametrize("var, value, expected", [
    ("SHOPDB_SECRET_KEY", None, "SHOPDB_SECRET_KEY is not set"),
    ("SHOPDB_JWT_SECRET_KEY", None, "SHOPDB_JWT_SECRET_KEY is not set"),
    ("SHOPDB_DATABASE_URL", None, "SHOPDB_DATABASE_URL is not set"),
    ("SHOPDB_SECRET_KEY", "short-but-random-Zx81", "SHOPDB_SECRET_KEY is 21 characters long: use at least 32"),
    ("SHOPDB_JWT_SECRET_KEY", "replace-with-another-32-random-characters", "SHOPDB_JWT_SECRET_KEY is a placeholder"),
    ("SHOPDB_JWT_SECRET_KEY", GOOD["SHOPDB_SECRET_KEY"], "equals SHOPDB_SECRET_KEY"),
    ("SHOPDB_CORS_ORIGINS", "https://intranet.example.net,*", "contains '*'"),
    ("FLASK_DEBUG", "1", "FLASK_DEBUG is on"),
    ("SHOPDB_COOKIE_SECURE", "false", "SHOPDB_COOKIE_SECURE is false"),
    ("SHOPDB_DATABASE_URL", "mysql+pymysql://shopdb:@db:3306/shopdb", "empty password"),
    ("SHOPDB_DATABASE_URL", "mysql+pymysql://root@db/shopdb", "empty password"),
    ("SHOPDB_DATABASE_URL", "mysql+pymysql://shopdb:replace-with-the-database-password@db/shopdb",
     "password is a placeholder"),
    ("SHOPDB_DATABASE_URL", "sqlite:///shopdb.sqlite", "production runs on MariaDB"),
    ("SHOPDB_LOG_LEVEL", "chatty", "SHOPDB_LOG_LEVEL='CHATTY' is unknown"),
])
def test_each_weak_setting_is_named(env, var, value, expected):
    if value is None:
        env.delenv(var)
    else:
        env.setenv(var, value)
    found = problems()
    assert len(found) == 1, found
    assert expected in found[0]


def test_every_placeholder_is_refused(env):
    for value in PLACEHOLDER_SECRETS:
        env.setenv("SHOPDB_SECRET_KEY", value.upper())
        assert any("placeholder" in p for p in problems()), value


def test_env_example_values_are_refused():
    """Every secret-looking value in .env.example is on the denylist (the file may not exist yet)."""
    path = os.path.join(os.path.dirname(__file__), "..", ".env.example")
    if not os.path.exists(path):
        pytest.skip(".env.example not in this checkout")
    values = dict(line.split("=", 1) for line in open(path).read().splitlines() if "=" in line and line[0] != "#")
    for key in ("SHOPDB_SECRET_KEY", "SHOPDB_JWT_SECRET_KEY"):
        assert values[key].strip().lower() in PLACEHOLDER_SECRETS, key


def test_all_problems_are_listed_together(env, capsys):
    env.delenv("SHOPDB_SECRET_KEY")
    env.setenv("SHOPDB_JWT_SECRET_KEY", "changeme")
    env.setenv("SHOPDB_CORS_ORIGINS", "*")
    env.setenv("FLASK_DEBUG", "true")
    env.setenv("SHOPDB_COOKIE_SECURE", "0")
    env.setenv("SHOPDB_DATABASE_URL", "mysql+pymysql://shopdb@db/shopdb")
    with pytest.raises(SystemExit) as exc:
        create_app()
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "6 problem(s)" in err
    for fragment in ("SHOPDB_SECRET_KEY is not set", "SHOPDB_JWT_SECRET_KEY is a placeholder", "'*'",
                     "FLASK_DEBUG", "SHOPDB_COOKIE_SECURE", "empty password"):
        assert fragment in err


def test_unknown_environment_and_log_level_stop_any_environment(env, capsys):
    env.setenv("SHOPDB_ENV", "staging")
    with pytest.raises(SystemExit) as exc:
        create_app()
    assert "SHOPDB_ENV='staging' is unknown" in str(exc.value.code)
    env.setenv("SHOPDB_ENV", "development")
    env.setenv("SHOPDB_LOG_LEVEL", "loud")
    with pytest.raises(SystemExit) as exc:
        create_app()
    assert exc.value.code == 1 and "SHOPDB_LOG_LEVEL='LOUD' is unknown" in capsys.readouterr().err


def test_good_production_config_builds_the_app(env):
    app = create_app()
    assert app.config["ENV_NAME"] == "production"
    assert app.config["JWT_COOKIE_SECURE"] is True and app.config["JWT_COOKIE_CSRF_PROTECT"] is True


def _flask(args, environ):
    base = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], env={**base, **environ},
                          capture_output=True, text=True, timeout=60, cwd="/")


@pytest.mark.slow  # a subprocess: left out of make test-fast
def test_flask_config_check_exits_1_listing_problems():
    result = _flask(["config", "check"], {**GOOD, "SHOPDB_SECRET_KEY": "changeme", "SHOPDB_CORS_ORIGINS": "*"})
    assert result.returncode == 1
    assert "SHOPDB_SECRET_KEY is a placeholder" in result.stderr
    assert "SHOPDB_CORS_ORIGINS contains '*'" in result.stderr


@pytest.mark.slow  # a subprocess: left out of make test-fast
def test_flask_config_check_passes_good_config():
    result = _flask(["config", "check"], GOOD)
    assert result.returncode == 0, result.stderr
    assert "production configuration OK" in result.stdout


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow  # a subprocess: left out of make test-fast
def test_gunicorn_exits_before_binding_on_weak_config():
    port = _free_port()
    base = {k: v for k, v in os.environ.items() if k not in ENV_KEYS}
    proc = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "gunicorn"), "--preload", "-b", f"127.0.0.1:{port}",
         "app:create_app()"],
        env={**base, **GOOD, "SHOPDB_JWT_SECRET_KEY": GOOD["SHOPDB_SECRET_KEY"]},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/")
    try:
        _out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode != 0
    assert "equals SHOPDB_SECRET_KEY" in err
    assert "Listening at" not in err
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "something listens on the port"
