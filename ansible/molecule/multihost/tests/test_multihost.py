"""One site over four hosts: HTTPS through the proxy reaches both app hosts, the proxy routes around a
stopped app host, and the app's database user works from the app hosts only. Requests go from this
machine to the proxy's address on podman's bridge; commands run through testinfra's podman:// backend."""
import json
import ssl
import time
import urllib.error
import urllib.request
import uuid

import pytest
import testinfra

DB, APP1, APP2, PROXY = (testinfra.get_host(f"podman://shopdb-mh-{n}") for n in ("db", "app1", "app2", "proxy"))
APPS = (APP1, APP2)


def address(host):
    return host.run("hostname -I").stdout.split()[0]


def get(path):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the site's self-signed certificate
    try:
        with urllib.request.urlopen(f"https://{address(PROXY)}{path}", context=ctx, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_ready(seconds=60):
    deadline = time.time() + seconds
    while True:
        status, body = get("/api/ready")
        if status == 200:
            return json.loads(body)
        if time.time() > deadline:
            pytest.fail(f"/api/ready through the proxy answered {status}: {body[:300]!r}")
        time.sleep(2)


def db_login(client):
    """Log in to the site's database from `client` as the app user, with the app's own URL."""
    url = APP1.check_output("sed -n \"s/^SHOPDB_DATABASE_URL='\\(.*\\)'$/\\1/p\" /etc/shopdb/shopdb.env")
    user, rest = url.split("://", 1)[1].split(":", 1)
    password, rest = rest.rsplit("@", 1)
    host = rest.split(":", 1)[0]
    # --skip-ssl: the site's MariaDB speaks no TLS (private network), and Debian 13's client (MariaDB 11.8)
    # demands it by default; the app's driver (PyMySQL) does not.
    return client.run(f"MYSQL_PWD='{password}' mariadb --skip-ssl -h {host} -u {user} shopdb -N -e 'SELECT 1'")


def test_https_through_the_proxy_reaches_a_ready_app():
    assert wait_ready()["status"] == "ready"


def test_both_app_hosts_serve_requests():
    probe = uuid.uuid4().hex
    for _ in range(8):
        assert get(f"/api/health?probe={probe}")[0] == 200
    for app in APPS:
        log = app.check_output("journalctl -u shopdb --no-pager -o cat")
        assert probe in log, f"{app.backend.name} served none of the requests"


def test_the_proxy_routes_around_a_dead_app_host():
    # The socket too: systemd holds it across restarts and would start the service on the next request.
    APP1.check_output("systemctl stop shopdb.socket shopdb.service")
    try:
        assert [get("/api/health")[0] for _ in range(6)] == [200] * 6
    finally:
        APP1.check_output("systemctl start shopdb.socket shopdb.service")
    assert wait_ready()["status"] == "ready"


def test_gunicorn_listens_on_the_private_address_only():
    for app in APPS:
        assert app.socket(f"tcp://{address(app)}:8000").is_listening
        assert not app.socket("tcp://0.0.0.0:8000").is_listening


def test_the_app_database_user_works_from_the_app_hosts_only():
    for app in APPS:
        result = db_login(app)
        assert result.rc == 0 and result.stdout.strip() == "1", result.stderr
    refused = db_login(PROXY)
    assert refused.rc != 0
    assert "not allowed to connect" in refused.stderr or "Access denied" in refused.stderr, refused.stderr
