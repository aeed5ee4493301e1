"""Production configuration: every weak setting is refused, all at once, before a server binds."""

import os
import secrets
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from app import create_app
from app.config import ProductionConfig
from app.placeholders import entries, is_placeholder, normalise

ROOT = Path(__file__).resolve().parents[1]
DB_PASSWORD = secrets.token_urlsafe(24)
# Fresh random values each run: a secret written in this file would be a committed one (on the denylist).
GOOD = {
    "SHOPDB_ENV": "production",
    "SHOPDB_SECRET_KEY": secrets.token_urlsafe(32),
    "SHOPDB_JWT_SECRET_KEY": secrets.token_urlsafe(32),
    "SHOPDB_DATABASE_URL": f"mysql+pymysql://shopdb:{DB_PASSWORD}@127.0.0.1:3306/shopdb?charset=utf8mb4",
}
ENV_KEYS = ("SHOPDB_ENV", "SHOPDB_SECRET_KEY", "SHOPDB_JWT_SECRET_KEY", "SHOPDB_DATABASE_URL",
            "SHOPDB_CORS_ORIGINS", "SHOPDB_COOKIE_SECURE", "SHOPDB_LOG_LEVEL", "FLASK_DEBUG",
            "SHOPDB_PLUGINS_STRICT", "SHOPDB_REQUIRE_IF_MATCH")


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
    ("SHOPDB_SECRET_KEY", "x" * 32, "SHOPDB_SECRET_KEY has only 1 distinct characters"),
    ("SHOPDB_SECRET_KEY", "Tr0ub4dor&3" * 3, "SHOPDB_SECRET_KEY repeats 'Tr0u' 3 times"),
    ("SHOPDB_SECRET_KEY", "q9-Zx4!abcdefgh" * 3, "SHOPDB_SECRET_KEY repeats"),
    ("SHOPDB_JWT_SECRET_KEY", "mW3q-abcdefghijklmnop-7Rt!Vx2Lk9s", "SHOPDB_JWT_SECRET_KEY contains the run 'abcdef'"),
    ("SHOPDB_SECRET_KEY", '"CHANGE-ME"', "SHOPDB_SECRET_KEY is a placeholder"),
    ("SHOPDB_SECRET_KEY", "CHANGE-ME-1", "SHOPDB_SECRET_KEY is a placeholder"),
    ("SHOPDB_JWT_SECRET_KEY", "'testing-jwt-secret-key-not-for-production-use-02'", "SHOPDB_JWT_SECRET_KEY is a placeholder"),
    ("SHOPDB_JWT_SECRET_KEY", "replace-with-another-32-random-characters", "SHOPDB_JWT_SECRET_KEY is a placeholder"),
    ("SHOPDB_JWT_SECRET_KEY", GOOD["SHOPDB_SECRET_KEY"], "equals SHOPDB_SECRET_KEY"),
    ("SHOPDB_CORS_ORIGINS", "https://intranet.example.net,*", "entry '*' is not an exact origin"),
    ("SHOPDB_CORS_ORIGINS", ".*", "SHOPDB_CORS_ORIGINS entry '.*' is not an exact origin: list origins as https://host"),
    ("SHOPDB_CORS_ORIGINS", "null", "entry 'null' is not an exact origin"),
    ("SHOPDB_CORS_ORIGINS", "https://.*\\.example\\.net", "is not an exact origin"),
    ("SHOPDB_CORS_ORIGINS", "http://intranet.example.net", "entry 'http://intranet.example.net' is not an exact"),
    ("SHOPDB_CORS_ORIGINS", "https://intranet.example.net/", "is not an exact origin"),
    ("SHOPDB_CORS_ORIGINS", "https://intranet.example.net:99999", "is not an exact origin"),
    ("SHOPDB_REQUIRE_IF_MATCH", "sometimes", "SHOPDB_REQUIRE_IF_MATCH='sometimes' is not a boolean: use true or false"),
    ("SHOPDB_COOKIE_SECURE", "ture", "SHOPDB_COOKIE_SECURE='ture' is not a boolean"),
    ("FLASK_DEBUG", "1", "FLASK_DEBUG is on"),
    ("SHOPDB_COOKIE_SECURE", "false", "SHOPDB_COOKIE_SECURE is false"),
    ("SHOPDB_DATABASE_URL", "mysql+pymysql://shopdb:@db:3306/shopdb", "empty password"),
    ("SHOPDB_DATABASE_URL", "mysql+pymysql://root@db/shopdb", "empty password"),
    ("SHOPDB_DATABASE_URL", "mysql+pymysql://shopdb:replace-with-the-database-password@db/shopdb",
     "password is a placeholder"),
    ("SHOPDB_DATABASE_URL", "sqlite:///shopdb.sqlite", "production runs on MariaDB"),
    ("SHOPDB_DATABASE_URL", f"mysql://shopdb:{DB_PASSWORD}@db/shopdb", "uses mysql: production runs on MariaDB through "
     "PyMySQL"),
    ("SHOPDB_DATABASE_URL", f"mysql+pymysql://shopdb:{DB_PASSWORD}@/shopdb", "SHOPDB_DATABASE_URL names no host"),
    ("SHOPDB_DATABASE_URL", f"mysql+pymysql://shopdb:{DB_PASSWORD}@db:3306/", "SHOPDB_DATABASE_URL names no database"),
    ("SHOPDB_DATABASE_URL", "mysql+pymysql://shopdb:choose-a-long-password@db/shopdb", "password is a placeholder"),
    ("SHOPDB_DATABASE_URL", "mysql+pymysql://shopdb:Xk29dLq8Rw@db/shopdb", "password is a placeholder"),
    ("SHOPDB_DATABASE_URL", f"mysql+pymysql://shopdb:{GOOD['SHOPDB_JWT_SECRET_KEY']}@db/shopdb",
     "password equals a signing key"),
    ("SHOPDB_DATABASE_URL", "mysql+pymysql://shopdb:k9Qw-2xLp@db/shopdb", "password is 9 characters long: use at least 16"),
    ("SHOPDB_DATABASE_URL", "mysql+pymysql://shopdb:aaaaaaaaaaaaaaaaaaaa@db/shopdb", "password has only 1 distinct"),
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


def test_no_host_and_no_database_both_named(env):
    env.setenv("SHOPDB_DATABASE_URL", "mysql+pymysql://shopdb:pw@/")
    found = " ".join(problems())
    assert "names no host" in found and "names no database" in found


@pytest.mark.parametrize("url", [
    f"mysql+pymysql://shopdb:{DB_PASSWORD}@localhost/shopdb?unix_socket=/run/mysqld/mysqld.sock&charset=utf8mb4",
    f"mysql+pymysql://shopdb:{DB_PASSWORD}@/shopdb?unix_socket=/run/mysqld/mysqld.sock",
    # What the app role's env template writes (roles/shopdb_app/vars/main.yml), a URL-encoded password included.
    "mysql+pymysql://shopdb:" + "Zq8%2Fw3%2BLm0-Rt5_uYp9x" + "@10.0.0.5:3306/shopdb?charset=utf8mb4",
])
def test_deployable_database_urls_pass(env, url):
    env.setenv("SHOPDB_DATABASE_URL", url)
    assert problems() == []


def test_exact_origins_pass_and_no_other_origin_is_reflected(env):
    """With an accepted list, flask-cors answers only the listed origin (a regex entry would reflect any)."""
    env.setenv("SHOPDB_CORS_ORIGINS", "https://intranet.example.net, https://Ops.example.net:8443")
    assert problems() == []
    client = create_app().test_client()
    good = client.get("/api/health", headers={"Origin": "https://intranet.example.net"})
    assert good.headers.get("Access-Control-Allow-Origin") == "https://intranet.example.net"
    for origin in ("https://evil.example", "null", "https://intranet.example.net.evil.example"):
        answer = client.get("/api/health", headers={"Origin": origin})
        assert "Access-Control-Allow-Origin" not in answer.headers, origin


def test_require_if_match_is_read_from_the_environment(env):
    assert create_app().config["REQUIRE_IF_MATCH"] is False
    env.setenv("SHOPDB_REQUIRE_IF_MATCH", "true")
    assert create_app().config["REQUIRE_IF_MATCH"] is True


def test_every_placeholder_is_refused(env):
    assert len(entries()) > 30
    for value in entries():
        for variant in (value.upper(), f'"{value}"', f" '{value}' ", f"{value}-1", f"{value}_2024"):
            env.setenv("SHOPDB_SECRET_KEY", variant)
            assert any("SHOPDB_SECRET_KEY is a placeholder" in p for p in problems()), variant


def test_normalise_is_the_one_comparison():
    assert normalise(' "Change-Me-12" ') == normalise("CHANGE-ME") == "change-me"
    assert is_placeholder("`changeme`") and is_placeholder("ChangeMe123")
    assert not is_placeholder(secrets.token_urlsafe(32))
    assert not is_placeholder("1234567890")   # all digits normalise to nothing, which is no entry


@pytest.mark.slow  # builds a wheel: left out of make test-fast
def test_the_denylist_is_a_data_file_in_the_wheel(tmp_path):
    """The deploy kit reads the same file: it ships in the wheel beside app/placeholders.py."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("shopdb-*.whl")
    with zipfile.ZipFile(wheel) as whl:
        assert whl.read("app/placeholders.txt").decode() == (ROOT / "app" / "placeholders.txt").read_text()


def _literal_secrets(node, key=""):
    """(key, value) of every literal secret-looking setting in a parsed YAML document."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _literal_secrets(v, str(k))
    elif isinstance(node, list):
        for v in node:
            yield from _literal_secrets(v, key)
    elif isinstance(node, str) and "{{" not in node and any(w in key for w in ("secret", "password")):
        yield key, node


def test_secrets_committed_in_the_repository_are_refused():
    """Any literal secret in the Molecule scenarios, the example vaults and the test suite is on the denylist."""
    found = []
    for path in [*ROOT.glob("ansible/**/molecule.yml"), *ROOT.glob("ansible/**/vault.yml.example")]:
        found += [(str(path), k, v) for k, v in _literal_secrets(yaml.safe_load(path.read_text()))]
    assert found, "no committed secret found: the scan is broken"
    for path, key, value in found:
        assert is_placeholder(value), f"{path}: {key} = {value!r} is committed but not in app/placeholders.txt"


def test_env_example_values_are_refused():
    """Every secret-looking value in .env.example is on the denylist (the file may not exist yet)."""
    path = os.path.join(os.path.dirname(__file__), "..", ".env.example")
    if not os.path.exists(path):
        pytest.skip(".env.example not in this checkout")
    values = dict(line.split("=", 1) for line in open(path).read().splitlines() if "=" in line and line[0] != "#")
    for key in ("SHOPDB_SECRET_KEY", "SHOPDB_JWT_SECRET_KEY"):
        assert is_placeholder(values[key]), key


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
    for fragment in ("SHOPDB_SECRET_KEY is not set", "SHOPDB_JWT_SECRET_KEY is a placeholder", "'*' is not an exact",
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
    assert "SHOPDB_CORS_ORIGINS entry '*' is not an exact origin" in result.stderr


@pytest.mark.slow  # a subprocess: left out of make test-fast
def test_flask_config_check_reads_an_env_file(tmp_path):
    """`flask --app app -e FILE config check` (python-dotenv loads FILE), as the runbook checks a rendered file."""
    good, weak = tmp_path / "good.env", tmp_path / "weak.env"
    good.write_text("".join(f"{k}='{v}'\n" for k, v in GOOD.items()))
    weak.write_text("".join(f"{k}='{v}'\n" for k, v in {**GOOD, "SHOPDB_CORS_ORIGINS": ".*"}.items()))
    result = _flask(["-e", str(good), "config", "check"], {})
    assert result.returncode == 0 and "production configuration OK" in result.stdout, result.stderr
    result = _flask(["-e", str(weak), "config", "check"], {})
    assert result.returncode == 1 and "SHOPDB_CORS_ORIGINS entry '.*'" in result.stderr, result.stderr


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
