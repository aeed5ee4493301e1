"""The proxy's ACME certificate source against a real ACME server: pebble inside the container (prepare.yml)
issued the certificate nginx serves, through HTTP-01 on the role's webroot location, starting from the
self-signed placeholder; renewal works against pebble and its deploy hook tests then reloads nginx.
The tests run in file order: the added name and the forced renewal come after the count of certificates."""

import json
import os
import socket
import ssl
import subprocess
import time

import pytest

testinfra_hosts = ["podman://shopdb-proxy-acme-trixie"]
DOMAIN = "shop.acme.test"
SERVER = "https://127.0.0.1:14000/dir"  # pebble's directory (molecule.yml)
LIVE = f"/etc/letsencrypt/live/{DOMAIN}"
PLACEHOLDER = f"/etc/nginx/tls/{DOMAIN}.crt"
HOOK = "/etc/letsencrypt/renewal-hooks/deploy/reload-nginx"
# certbot sleeps up to 8 minutes before a renewal it runs without a terminal; the timer's unit skips it too.
RENEW = "certbot renew --non-interactive --no-random-sleep-on-renew"


@pytest.fixture(scope="module")
def pebble_root(host, tmp_path_factory):
    """pebble's root, from its management endpoint (made anew at each pebble start, so never stored)."""
    path = tmp_path_factory.mktemp("pebble") / "root.pem"
    # curl trusts pebble's listener through the system store prepare.yml added its CA to.
    path.write_text(host.check_output("curl -sSf https://127.0.0.1:15000/roots/0"))
    return str(path)


def served_certificate(host, cafile, name=DOMAIN):
    """The certificate nginx serves on 443 for a name of the site, verified with that name against cafile."""
    ctx = ssl.create_default_context(cafile=cafile)
    address = host.check_output("hostname -I").split()[0]
    with socket.create_connection((address, 443), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname=name) as tls:
        return tls.getpeercert(), tls.getpeercert(binary_form=True)


def live_certificate_der(host):
    return ssl.PEM_cert_to_DER_cert(host.check_output(f"cat {LIVE}/cert.pem"))


def test_served_certificate_was_issued_by_pebble(host, pebble_root):
    # Verification against pebble's root succeeds only with the intermediate nginx sends (fullchain.pem).
    cert, der = served_certificate(host, pebble_root)
    issuer = dict(field[0] for field in cert["issuer"])
    assert issuer["commonName"].startswith("Pebble Intermediate CA")
    assert ("DNS", DOMAIN) in cert["subjectAltName"]
    assert der == live_certificate_der(host)


def test_served_certificate_is_refused_without_pebbles_root(host):
    # The system store (which trusts pebble's listener CA, not its issuing root) must not vouch for it.
    with pytest.raises(ssl.SSLCertVerificationError):
        served_certificate(host, "/etc/ssl/certs/ca-certificates.crt")


def test_proxy_serves_the_upstream_with_the_acme_certificate(host):
    # The site's name resolves to the container itself (molecule.yml); curl checks the chain and the name.
    body = host.check_output("curl -sSf -o /root/pebble-root.pem https://127.0.0.1:15000/roots/0 && "
                             f"curl -sSf --cacert /root/pebble-root.pem https://{DOMAIN}/")
    assert "stand-in upstream" in body


def test_http01_was_answered_from_the_roles_webroot(host):
    # pebble's validation requests reached nginx's port 80 and were answered from the webroot location.
    log = host.file("/var/log/nginx/access.log").content_string
    validations = [line for line in log.splitlines() if "Pebble-VA" in line and "/.well-known/acme-challenge/" in line]
    assert validations and all('" 200 ' in line for line in validations)
    renewal = host.file(f"/etc/letsencrypt/renewal/{DOMAIN}.conf").content_string
    assert "authenticator = webroot" in renewal
    assert f"{DOMAIN} = /var/www/acme" in renewal
    assert f"server = {SERVER}" in renewal  # what the timer's renewals use
    # The location itself: a file in the webroot is served over HTTP, anything else is redirected.
    host.check_output("mkdir -p /var/www/acme/.well-known/acme-challenge && "
                      "echo probe-token > /var/www/acme/.well-known/acme-challenge/probe")
    try:
        assert host.check_output(f"curl -sSf http://{DOMAIN}/.well-known/acme-challenge/probe") == "probe-token"
        assert host.check_output(f"curl -s -o /dev/null -w '%{{http_code}}' http://{DOMAIN}/api/health") == "301"
    finally:
        host.run("rm -f /var/www/acme/.well-known/acme-challenge/probe")


def test_first_run_served_the_placeholder_before_the_acme_certificate_existed(host):
    # No deadlock: nginx cannot start without a certificate, so it ran on the self-signed placeholder
    # (tls.yml) when pebble validated, and the ACME certificate was written only after that.
    subject = host.check_output(f"openssl x509 -in {PLACEHOLDER} -noout -subject -nameopt RFC2253")
    issuer = host.check_output(f"openssl x509 -in {PLACEHOLDER} -noout -issuer -nameopt RFC2253")
    assert subject == f"subject=CN={DOMAIN}" and issuer == f"issuer=CN={DOMAIN}"
    first_validation = host.check_output(
        "grep -m1 Pebble-VA /var/log/nginx/access.log | sed 's/.*\\[\\(.*\\)\\].*/\\1/; s/:/ /'")
    validated = int(host.check_output(f"date -d '{first_validation.replace('/', ' ')}' +%s"))
    placeholder_written = int(host.check_output(f"stat -c %Y {PLACEHOLDER}"))
    issued = int(host.check_output(f"stat -c %Y /etc/letsencrypt/archive/{DOMAIN}/cert1.pem"))
    assert placeholder_written <= validated <= issued


def test_reconverge_did_not_request_another_certificate(host):
    # Converge and the idempotence run together: one account, one certificate.
    assert host.check_output(f"ls /etc/letsencrypt/archive/{DOMAIN}").split() == [
        "cert1.pem", "chain1.pem", "fullchain1.pem", "privkey1.pem"]
    assert len(host.check_output("ls /etc/letsencrypt/accounts/127.0.0.1:14000/dir").split()) == 1


def test_a_name_added_later_gets_a_new_certificate(host, pebble_root):
    # The role re-requests when the site's names differ from the certificate's, and nginx reloads.
    extra = {"shopdb_proxy_extra_names": [f"www.{DOMAIN}"]}
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "ansible.cfg"))
    run = subprocess.run(
        ["ansible-playbook", "-i", os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"]), "-e", json.dumps(extra),
         os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "converge.yml")],
        env=env, capture_output=True, text=True, check=False, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:]
    cert, der = served_certificate(host, pebble_root, name=f"www.{DOMAIN}")
    assert sorted(cert["subjectAltName"]) == [("DNS", DOMAIN), ("DNS", f"www.{DOMAIN}")]
    assert der == live_certificate_der(host)


def test_renewal_timer_is_enabled_and_runs_certbot_renew(host):
    timer = host.service("certbot.timer")
    assert timer.is_enabled and timer.is_running
    assert "certbot -q renew" in host.check_output("systemctl show -p ExecStart --value certbot.service")


def test_renewal_dry_run_succeeds_against_pebble(host):
    # certbot's --dry-run goes to Let's Encrypt's staging server unless --server names the CA.
    result = host.run(f"{RENEW} --dry-run --server {SERVER}")
    assert result.rc == 0, result.stderr
    assert "all simulated renewals succeeded" in result.stdout + result.stderr


def test_deploy_hook_refuses_to_reload_a_config_nginx_rejects(host):
    reloads = host.check_output("journalctl -q -u nginx --no-pager | grep -c Reloading || true")
    host.check_output("cp -p /etc/nginx/nginx.conf /root/nginx.conf.good && echo 'broken;' >> /etc/nginx/nginx.conf")
    try:
        result = host.run(HOOK)
    finally:
        host.check_output("mv /root/nginx.conf.good /etc/nginx/nginx.conf")
    assert result.rc != 0 and "emerg" in result.stderr
    assert host.check_output("journalctl -q -u nginx --no-pager | grep -c Reloading || true") == reloads
    assert host.service("nginx").is_running


def test_renewal_runs_the_deploy_hook_and_nginx_serves_the_new_certificate(host, pebble_root):
    _, before = served_certificate(host, pebble_root)
    master = host.check_output("cat /run/nginx.pid")
    version = host.check_output(f"readlink {LIVE}/cert.pem")
    result = host.run(f"{RENEW} --force-renewal")
    assert result.rc == 0, result.stderr
    assert host.check_output(f"readlink {LIVE}/cert.pem") != version
    # The hook reloaded (same master process) and the workers serve the renewed certificate.
    for _ in range(20):
        _, after = served_certificate(host, pebble_root)
        if after != before:
            break
        time.sleep(0.25)
    assert after == live_certificate_der(host) != before
    assert host.check_output("cat /run/nginx.pid") == master


def test_systemd_is_running(host):
    # "degraded" would mean a unit failed (pebble, the stand-in, nginx, certbot's service).
    assert host.run("systemctl is-system-running --wait").stdout.strip() == "running"
