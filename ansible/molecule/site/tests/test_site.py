"""The whole site on one host: HTTPS through nginx reaches a ready app, TLS 1.2/1.3 only, and every
service comes back after the container restarts. Requests go from this machine to the container's
address on podman's bridge; commands run in the container through testinfra's podman:// backend."""
import json
import os
import re
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import warnings

import pytest

testinfra_hosts = ["podman://shopdb-site-bookworm", "podman://shopdb-site-trixie"]


def address(host):
    return host.run("hostname -I").stdout.split()[0]


def https(host, path, timeout=10):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # self-signed: the default certificate of a first run
    try:
        with urllib.request.urlopen(f"https://{address(host)}{path}", context=ctx, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def wait_ready(host, seconds=90):
    deadline = time.time() + seconds
    while True:
        try:
            status, headers, body = https(host, "/api/ready")
            if status == 200:
                return headers, json.loads(body)
        except OSError:
            status, body = None, b""
        if time.time() > deadline:
            pytest.fail(f"/api/ready through nginx answered {status}: {body[:300]!r}")
        time.sleep(2)


def handshake(host, version):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_ciphers("ALL:@SECLEVEL=0")  # let this client offer old protocols so the server must refuse them
    ctx.minimum_version = ctx.maximum_version = version
    try:
        with socket.create_connection((address(host), 443), timeout=5) as raw, ctx.wrap_socket(raw) as tls:
            return tls.version()
    except (ssl.SSLError, ConnectionResetError):
        return None


def test_https_request_through_the_proxy_reaches_a_ready_app(host):
    headers, body = wait_ready(host)
    assert body["status"] == "ready"
    assert body["database"] == "ok"
    # One copy of each security header, set by the proxy.
    assert headers["Strict-Transport-Security"] == "max-age=63072000"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"


def test_the_site_plugin_is_installed_and_the_admin_exists(host):
    plugins = host.check_output("/usr/local/sbin/shopdb-flask plugin list")
    assert any(line.split()[:1] == ["equipment"] and "enabled" in line for line in plugins.splitlines())
    assert "exists" in host.run("echo unused-password | /usr/local/sbin/shopdb-flask user create-admin "
                                "--username admin --password-stdin").stdout


def test_plain_http_redirects_to_https(host):
    with socket.create_connection((address(host), 80), timeout=5) as s:
        s.sendall(b"GET /api/ready HTTP/1.1\r\nHost: shopdb.example.test\r\nConnection: close\r\n\r\n")
        reply = s.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 301")
    assert "Location: https://shopdb.example.test/api/ready" in reply


@pytest.mark.parametrize("name", ["TLSv1", "TLSv1_1", "TLSv1_2", "TLSv1_3"])
def test_only_tls_1_2_and_1_3_are_offered(host, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        version = getattr(ssl.TLSVersion, name)
    got = handshake(host, version)
    if name in ("TLSv1_2", "TLSv1_3"):
        assert got == name.replace("_", ".")
    else:
        assert got is None, f"nginx accepted {got}"


def test_the_app_runs_unprivileged_from_its_release(host):
    env = host.file("/etc/shopdb/shopdb.env")
    assert (env.user, env.group, env.mode) == ("root", "shopdb", 0o600)
    assert host.user("shopdb").shell == "/usr/sbin/nologin"
    unit = host.check_output("systemctl show shopdb -p User -p WorkingDirectory -p NoNewPrivileges")
    release = host.file("/opt/shopdb/current").linked_to
    assert "User=shopdb" in unit and "NoNewPrivileges=yes" in unit
    assert f"WorkingDirectory={release}" in unit  # the resolved release, not the symlink
    assert host.file(f"{release}/venv").user == "root"  # the app cannot change its own code


def test_check_mode_on_the_provisioned_site_changes_nothing(host):
    """`ansible-playbook --check --diff` on a provisioned site runs clean and predicts no change."""
    if host.backend.name != "shopdb-site-bookworm":
        pytest.skip("one host shows it; the playbook is the same on both")
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    site_yml = os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "..", "..", "site.yml")
    run = subprocess.run(["ansible-playbook", "-i", inventory, "--check", "--diff", "--limit", host.backend.name,
                          site_yml], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-4000:]
    recap = re.search(r"^shopdb-site-bookworm\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", run.stdout, re.M)
    assert recap and recap.group(1) == "0", run.stdout[-4000:]


def test_services_come_back_after_a_container_restart(host):
    name = host.backend.name
    subprocess.run(["podman", "restart", "--time", "20", name], check=True, capture_output=True)
    units = ("mariadb", "shopdb.socket", "shopdb", "nginx")
    deadline = time.time() + 120
    while host.run(f"systemctl is-active {' '.join(units)}").rc != 0:  # nothing may fail or stay down
        assert time.time() < deadline, host.run(f"systemctl is-active {' '.join(units)}").stdout
        time.sleep(2)
    assert wait_ready(host)[1]["status"] == "ready"
