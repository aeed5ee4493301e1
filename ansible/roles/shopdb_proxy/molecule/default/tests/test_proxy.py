"""The proxy role's own behaviour with real nginx: TLS profile, redirect, headers, forwarding, the upstream
of every app host with passive health checks, the certificate sources and config safety. Requests go from
this machine to each container's address on podman's bridge; the upstreams are stand-ins (prepare.yml)
that answer with the request they received."""

import datetime
import functools
import hashlib
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import time
import warnings

import pytest

testinfra_hosts = ["podman://shopdb-proxy-bookworm", "podman://shopdb-proxy-trixie"]
DOMAIN = "shopdb.proxy.test"
PKI = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "pki")
FILES_HOST = "shopdb-proxy-trixie"  # shopdb_proxy_tls_mode: files (molecule.yml); bookworm: self_signed
# Mozilla intermediate v5.7, TLS 1.2. The ECDSA suites need an ECDSA certificate; both hosts serve RSA ones.
MOZILLA_RSA = ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305",
               "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-CHACHA20-POLY1305"]
# Suites outside the profile: CBC modes, SHA-1 MACs, no forward secrecy.
NOT_MOZILLA = ["ECDHE-RSA-AES128-SHA256", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA", "AES128-GCM-SHA256",
               "AES256-SHA", "DHE-RSA-AES128-SHA", "DHE-RSA-AES256-SHA256"]


def name(host):
    return host.backend.name


@functools.cache
def _address(container):
    return subprocess.run(["podman", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", container],
                          capture_output=True, text=True, check=True).stdout.strip()


def address(host):
    return _address(name(host))


def client_context(version=None, ciphers=None, cafile=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile:
        ctx.load_verify_locations(cafile)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if ciphers:
        ctx.set_ciphers(ciphers)
    if version:
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


def handshake(host, ctx):
    """(protocol, cipher) the server agreed to, or None when it refused the handshake."""
    try:
        with socket.create_connection((address(host), 443), timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname=DOMAIN) as tls:
            return tls.version(), tls.cipher()[0]
    except (ssl.SSLError, ConnectionResetError):
        return None


def get(host, path="/", headers=None, conn=None):
    """GET over HTTPS; returns (status, list of header pairs, JSON body or None)."""
    c = conn or http.client.HTTPSConnection(address(host), 443, context=client_context(), timeout=10)
    c.request("GET", path, headers={"Host": DOMAIN, **(headers or {})})
    r = c.getresponse()
    body = r.read()
    if conn is None:
        c.close()
    ctype = r.getheader("Content-Type") or ""
    return r.status, r.getheaders(), json.loads(body) if ctype.startswith("application/json") else None


def playbook(host, *args):
    """The scenario's converge.yml against one container, with Molecule's inventory and settings."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "ansible.cfg"))
    return subprocess.run(
        ["ansible-playbook", "-i", os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"]), "-l", name(host),
         *args, os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "converge.yml")],
        env=env, capture_output=True, text=True, check=False, timeout=300)


def nginx_master(host):
    return host.check_output("cat /run/nginx.pid")


@pytest.mark.parametrize("version", ["TLSv1", "TLSv1_1", "TLSv1_2", "TLSv1_3"])
def test_only_tls_1_2_and_1_3_are_accepted(host, version):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        tls = getattr(ssl.TLSVersion, version)
    # SECLEVEL=0 lets this client offer the old protocols, so refusing them is the server's doing.
    got = handshake(host, client_context(tls, "ALL:@SECLEVEL=0"))
    if version in ("TLSv1_2", "TLSv1_3"):
        assert got and got[0] == version.replace("_", "."), got
    else:
        assert got is None, f"nginx accepted {got}"


def test_tls_1_2_accepts_the_mozilla_intermediate_ciphers(host):
    for cipher in MOZILLA_RSA:
        assert handshake(host, client_context(ssl.TLSVersion.TLSv1_2, cipher)) == ("TLSv1.2", cipher), cipher


def test_tls_1_2_refuses_ciphers_outside_the_profile(host):
    for cipher in NOT_MOZILLA:
        got = handshake(host, client_context(ssl.TLSVersion.TLSv1_2, cipher + ":@SECLEVEL=0"))
        assert got is None, f"nginx accepted {cipher}: {got}"


def test_tls_1_3_uses_an_aead_suite(host):
    got = handshake(host, client_context(ssl.TLSVersion.TLSv1_3))
    assert got[1] in ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"), got


def test_plain_http_redirects_to_https(host):
    with socket.create_connection((address(host), 80), timeout=5) as s:
        s.sendall(f"GET /api/assets?page=2 HTTP/1.1\r\nHost: {DOMAIN}\r\nConnection: close\r\n\r\n".encode())
        reply = s.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 301"), reply
    assert f"Location: https://{DOMAIN}/api/assets?page=2\r\n" in reply, reply


def test_security_headers_are_set_once_by_the_proxy(host):
    status, headers, _ = get(host, "/api/health")
    assert status == 200
    seen = {}
    for key, value in headers:
        seen.setdefault(key.lower(), []).append(value)
    # The stand-in sends its own X-Frame-Options and HSTS (as the app does): the proxy's copy wins, once.
    assert seen["strict-transport-security"] == ["max-age=63072000"]
    assert seen["x-frame-options"] == ["DENY"]
    assert seen["x-content-type-options"] == ["nosniff"]
    assert seen["referrer-policy"] == ["no-referrer"]
    assert seen["content-security-policy"] == ["default-src 'none'; frame-ancestors 'none'"]
    assert seen["permissions-policy"] == ["camera=(), geolocation=(), microphone=()"]
    assert seen["server"] == ["nginx"]  # server_tokens off: no version


def test_forwarded_headers_reach_the_app(host):
    with socket.create_connection((address(host), 443)) as s:
        me = s.getsockname()[0]  # this machine's address as the container sees it
    _, _, body = get(host, "/echo", {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "http"})
    seen = {k.lower(): v for k, v in body["headers"]}
    assert body["path"] == "/echo"
    # nginx appends the client it saw to what the client claimed; the app trusts only the proxy's part.
    assert seen["x-forwarded-for"] == f"203.0.113.7, {me}"
    assert seen["x-real-ip"] == me
    assert seen["x-forwarded-proto"] == "https"  # whatever the client claimed
    assert seen["x-forwarded-host"] == DOMAIN
    assert seen["host"] == DOMAIN


def test_the_upstream_lists_every_app_host_with_passive_health_checks(host):
    config = host.check_output("nginx -T 2>/dev/null")
    for upstream in ("127.0.0.1", "127.0.0.2"):
        assert f"server {upstream}:8000 max_fails=3 fail_timeout=4s;" in config
    answered = {get(host)[2]["upstream"] for _ in range(6)}
    assert answered == {"127.0.0.1", "127.0.0.2"}


def test_a_failing_app_host_is_skipped_after_max_fails_and_used_again_later(host):
    log = "/var/log/nginx/error.log"
    start = int(host.check_output(f"stat -c %s {log}"))
    host.check_output("systemctl stop shopdb-standin@127.0.0.2")
    try:
        # Separate connections, so nginx's workers share the count (the upstream's zone).
        answers = [get(host) for _ in range(12)]
        assert [a[0] for a in answers] == [200] * 12  # proxy_next_upstream: no error reaches the client
        assert {a[2]["upstream"] for a in answers} == {"127.0.0.1"}
        errors = host.check_output(f"tail -c +{start + 1} {log}")
        # max_fails=3: after three failures nginx stops trying the host for fail_timeout.
        refused = [line for line in errors.splitlines() if "refused" in line and 'upstream: "http://127.0.0.2' in line]
        assert len(refused) == 3, errors
    finally:
        host.check_output("systemctl start shopdb-standin@127.0.0.2")
    time.sleep(4.5)  # fail_timeout
    answered = {get(host)[2]["upstream"] for _ in range(6)}
    assert answered == {"127.0.0.1", "127.0.0.2"}


def test_the_served_certificate_verifies(host):
    if name(host) == FILES_HOST:
        # Only the site's root CA is trusted: the chain verifies only if nginx sends the intermediate too.
        ctx = client_context(cafile=os.path.join(PKI, "root.pem"))
        key = host.file(f"/etc/nginx/tls/{DOMAIN}.key")
        with open(os.path.join(PKI, "server.key"), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == key.sha256sum
    else:
        # The default: a self-signed certificate made on the host for the domain and the extra names.
        pem = ssl.get_server_certificate((address(host), 443))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cadata=pem)
        key = host.file(f"/etc/nginx/tls/{DOMAIN}.key")
    assert (key.user, key.mode) == ("root", 0o600)
    assert host.file("/etc/nginx/tls").mode == 0o700
    for server_name in (DOMAIN, f"www.{DOMAIN}"):
        with socket.create_connection((address(host), 443), timeout=5) as raw, \
                ctx.wrap_socket(raw, server_hostname=server_name) as tls:
            subject = dict(pair[0] for pair in tls.getpeercert()["subject"])
            assert subject["commonName"] == DOMAIN


def test_a_config_nginx_rejects_leaves_the_running_one_serving(host):
    """A value `nginx -t` refuses fails the play at the validated template; nginx keeps serving as before."""
    if name(host) != "shopdb-proxy-bookworm":
        pytest.skip("one host is enough for this converge")
    conf = "/etc/nginx/nginx.conf"
    before, master = host.file(conf).sha256sum, nginx_master(host)
    # A size in the form preflight accepts (meta/ranges.yml) that nginx cannot hold.
    r = playbook(host, "-e", "shopdb_proxy_client_max_body_size=99999999999999999999g")
    assert r.returncode != 0
    assert '"client_max_body_size" directive invalid value' in r.stdout + r.stderr, r.stdout[-3000:] + r.stderr
    assert host.file(conf).sha256sum == before
    assert nginx_master(host) == master and host.service("nginx").is_running
    status, headers, _ = get(host)
    assert status == 200 and ("Strict-Transport-Security", "max-age=63072000") in headers


def test_a_key_that_does_not_match_the_certificate_is_refused_before_any_change(host):
    if name(host) != FILES_HOST:
        pytest.skip("the operator's files are served by the trixie host")
    files = [f"/etc/nginx/tls/{DOMAIN}.{ext}" for ext in ("crt", "key")] + ["/etc/nginx/nginx.conf"]
    before = [host.file(f).sha256sum for f in files]
    r = playbook(host, "-e", f"shopdb_proxy_tls_key_file={PKI}/stray.key")
    assert r.returncode != 0
    assert "is not the private key of the first certificate" in r.stdout + r.stderr, r.stdout[-3000:] + r.stderr
    assert "TASK [shopdb_proxy : Install nginx.]" not in r.stdout  # the preflight stopped the play
    assert [host.file(f).sha256sum for f in files] == before


def test_a_host_an_update_held_out_stays_out_until_put_back(host):
    """update.yml leaves a host it could not switch marked `down`; a plain converge of the site keeps it out
    (it would serve its old release), and says how to put it back."""
    if name(host) != "shopdb-proxy-bookworm":
        pytest.skip("one host is enough for these converges")
    held = "server 127.0.0.2:8000 max_fails=3 fail_timeout=4s down;"
    try:
        r = playbook(host, "-e", '{"shopdb_proxy_upstreams_down": ["127.0.0.2"]}')  # as update.yml renders it
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr
        assert held in host.check_output("nginx -T 2>/dev/null")

        r = playbook(host)  # a converge with the inventory's values, as site.yml runs the role
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr
        assert held in host.check_output("nginx -T 2>/dev/null")
        assert "127.0.0.2 stay(s) out of rotation" in r.stdout
        assert {get(host)[2]["upstream"] for _ in range(6)} == {"127.0.0.1"}
    finally:
        r = playbook(host, "-e", "shopdb_proxy_keep_live_down=false")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    config = host.check_output("nginx -T 2>/dev/null")
    assert "down;" not in config and "server 127.0.0.2:8000 max_fails=3 fail_timeout=4s;" in config
    assert {get(host)[2]["upstream"] for _ in range(6)} == {"127.0.0.1", "127.0.0.2"}


# Mozilla intermediate: these three groups only (the scan found secp521r1 and X448 accepted too).
# TLS 1.2 is asked with an ECDHE suite only, so a refused group cannot fall back to DHE.
@pytest.mark.parametrize("version", ["-tls1_3", "-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256"])
@pytest.mark.parametrize("group,accepted", [
    ("X25519", True), ("prime256v1", True), ("secp384r1", True), ("secp521r1", False), ("X448", False)])
def test_only_the_mozilla_key_exchange_groups_are_accepted(host, version, group, accepted):
    r = host.run(f"openssl s_client -connect 127.0.0.1:443 -servername {DOMAIN} {version} -groups {group} </dev/null")
    if accepted:
        # OpenSSL 3.0 (bookworm) says "Server Temp Key: X25519, 253 bits", 3.5 (trixie) "Peer Temp Key: ...".
        assert r.rc == 0 and re.search(rf"(Server|Peer) Temp Key: (ECDH, )?{group},", r.stdout), (
            r.stdout[-2000:] + r.stderr)
    else:
        assert r.rc != 0, f"nginx agreed to {group}:\n{r.stdout[-2000:]}"


CRT, KEY = f"/etc/nginx/tls/{DOMAIN}.crt", f"/etc/nginx/tls/{DOMAIN}.key"


def _openssl_date(text):
    return datetime.datetime.strptime(text.strip(), "%b %d %H:%M:%S %Y %Z").replace(tzinfo=datetime.timezone.utc)


def served_certificate(host):
    """notBefore, notAfter and serial of the certificate nginx serves (asked over TLS, on the host)."""
    out = host.check_output(f"openssl s_client -connect 127.0.0.1:443 -servername {DOMAIN} </dev/null 2>/dev/null"
                            " | openssl x509 -noout -startdate -enddate -serial")
    fields = dict(line.split("=", 1) for line in out.splitlines())
    return _openssl_date(fields["notBefore"]), _openssl_date(fields["notAfter"]), fields["serial"]


def resign(host, days, serial):
    """The host's certificate signed again for `days` (a stand-in for time passing), served by nginx."""
    host.check_output(f"openssl x509 -in {CRT} -signkey {KEY} -days {days} -set_serial {serial} -out {CRT}.new"
                      f" && mv {CRT}.new {CRT} && nginx -t -q && systemctl reload nginx")
    shown = f"{serial:X}"
    wait_served(host, lambda cert: cert[2] == shown.zfill(len(shown) + len(shown) % 2))  # as openssl shows it


def wait_served(host, predicate):
    deadline = time.time() + 20  # a reload hands over to new workers
    while not predicate(cert := served_certificate(host)):
        assert time.time() < deadline, f"nginx still serves {cert}"
        time.sleep(0.5)
    return cert


def test_the_self_signed_certificate_lives_at_most_366_days(host):
    if name(host) == FILES_HOST:
        pytest.skip("serves the operator's certificate")
    not_before, not_after, _ = served_certificate(host)
    assert datetime.timedelta(days=365) <= not_after - not_before <= datetime.timedelta(days=366, minutes=5)


def test_a_converge_shortens_a_self_signed_certificate_made_for_825_days(host):
    """A site made with the former default (825 days) gets a certificate within the profile on its next converge."""
    if name(host) == FILES_HOST:
        pytest.skip("serves the operator's certificate")
    resign(host, 825, 0x0825)
    r = playbook(host)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    not_before, not_after, serial = wait_served(host, lambda cert: cert[2] != "0825")
    assert not_after - not_before <= datetime.timedelta(days=366, minutes=5)


def test_the_renewal_timer_renews_a_self_signed_certificate_close_to_expiry(host):
    if name(host) == FILES_HOST:
        assert not host.file("/etc/systemd/system/shopdb-proxy-self-signed-renew.timer").exists
        pytest.skip("serves the operator's certificate: no renewal timer")
    timer = host.service("shopdb-proxy-self-signed-renew.timer")
    assert timer.is_enabled and timer.is_running
    names_before = host.check_output(f"openssl x509 -in {CRT} -noout -ext subjectAltName")
    resign(host, 10, 0x10)  # 10 days left: inside the 30-day renewal window
    host.check_output("systemctl start shopdb-proxy-self-signed-renew.service")  # what the timer runs, daily
    not_before, not_after, serial = wait_served(host, lambda cert: cert[2] != "10")
    now = datetime.datetime.now(datetime.timezone.utc)
    assert not_after - now > datetime.timedelta(days=365)
    assert not_after - not_before <= datetime.timedelta(days=366, minutes=5)
    assert host.check_output(f"openssl x509 -in {CRT} -noout -ext subjectAltName") == names_before
    assert "renewed" in host.check_output("journalctl -u shopdb-proxy-self-signed-renew.service --no-pager -n 20")
    # A certificate far from expiry is left alone.
    host.check_output("systemctl start shopdb-proxy-self-signed-renew.service")
    assert served_certificate(host)[2] == serial


def test_an_upstream_port_nothing_listens_on_is_undone_and_the_proxy_keeps_serving(host):
    """Valid in form, wrong for the site: nginx takes the configuration, then /api/ready through it fails.
    The role puts the previous nginx.conf back and reloads it, and the run fails naming the change (issue 17)."""
    if name(host) != "shopdb-proxy-bookworm":
        pytest.skip("one host is enough for this converge")
    conf = "/etc/nginx/nginx.conf"
    before = host.file(conf).sha256sum
    r = playbook(host, "-e", "shopdb_proxy_upstream_port=9")
    out = r.stdout + r.stderr
    assert r.returncode != 0, out[-3000:]
    assert "The change to /etc/nginx/nginx.conf" in out and "was undone" in out, out[-3000:]
    assert "answered 502" in out and "the site answers through the proxy again" in out, out[-3000:]
    assert host.file(conf).sha256sum == before
    assert host.run("ls /etc/nginx/ /etc/ansible/facts.d/ | grep '~$'").stdout == ""  # no copies left behind
    assert get(host, "/api/ready")[0] == 200
