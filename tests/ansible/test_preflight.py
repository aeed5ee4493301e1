"""Bad inventory input fails in the preflight play of ansible/site.yml, before any host changes.

Each case runs the real playbook against a real systemd container (podman) with one broken value and
asserts: the run fails, the message names the variable, no host reports a change, and the container's
filesystem (`podman diff` against its image) is exactly what it was. A control run with the good
inventory passes the same preflight, so each failure is caused by the broken value alone.
"""
import json
import os
import re
import shutil
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
from test_ranges import ROLES, out_of_range, role_files

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "localhost/shopdb-debian:bookworm"
CONTAINER = "shopdb-preflight-test"
ENV = {
    **os.environ,
    "CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF", str(ROOT / "scripts/containers.conf")),
    "ANSIBLE_CONFIG": str(ROOT / "ansible/ansible.cfg"),
    "ANSIBLE_ROLES_PATH": str(ROOT / "ansible/roles"),
    "ANSIBLE_FORCE_COLOR": "0",
    "ANSIBLE_NOCOLOR": "1",
    "PATH": f"{ROOT / '.venv/bin'}:{os.environ['PATH']}",
}
GOOD_VARS = {
    "shopdb_domain": "shopdb.preflight.example.net",
    "vault_shopdb_secret_key": "k" * 40,
    "vault_shopdb_jwt_secret_key": "j" * 40,
    "vault_shopdb_db_app_password": "a" * 24,
    "vault_shopdb_db_backup_password": "b" * 24,
    "vault_shopdb_admin_password": "p" * 16,
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("podman") is None, reason="needs podman (make setup installs it)"),
]


def podman(*args, check=True):
    return subprocess.run(["podman", *args], env=ENV, check=check, capture_output=True, text=True)


# Files the container's own running services write (MariaDB's data, logs, systemd's state) change by
# themselves; everything else of `podman diff` must stay as it was.
NOISE = ("/var/lib/mysql", "/var/log", "/var/lib/systemd", "/run", "/tmp", "/var/tmp")


def filesystem_changes(container):
    lines = podman("diff", container).stdout.splitlines()
    return [line for line in lines if not line.split(" ", 1)[-1].startswith(NOISE)]


@pytest.fixture(scope="module")
def container():
    subprocess.run(["bash", str(ROOT / "scripts/images.sh"), "bookworm"], env=ENV, check=True, capture_output=True)
    podman("rm", "-f", CONTAINER, check=False)
    podman("run", "-d", "--name", CONTAINER, "--systemd=always", IMAGE, "/sbin/init")
    deadline = time.time() + 120  # let boot finish: services write files while they start
    while podman("exec", CONTAINER, "systemctl", "is-system-running", check=False).stdout.strip() not in (
            "running", "degraded"):
        assert time.time() < deadline, "the container did not finish booting"
        time.sleep(1)
    try:
        yield CONTAINER
    finally:
        podman("rm", "-f", CONTAINER, check=False)


def write_inventory(tmp_path, site_vars, app_hosts=True):
    site = tmp_path / "group_vars" / "site_pf"
    site.mkdir(parents=True)
    (site / "vars.yml").write_text("---\n" + "".join(f"{k}: {v!r}\n" for k, v in site_vars.items()))
    inventory = tmp_path / "inventory.ini"
    inventory.write_text(textwrap.dedent(f"""\
        [site_pf_db]
        {CONTAINER}
        [site_pf_app]
        {CONTAINER if app_hosts else ''}
        [site_pf_proxy]
        {CONTAINER}
        [site_pf:children]
        site_pf_db
        site_pf_app
        site_pf_proxy
        [shopdb_db:children]
        site_pf_db
        [shopdb_app:children]
        site_pf_app
        [shopdb_proxy:children]
        site_pf_proxy
        [all:vars]
        ansible_connection=containers.podman.podman
        """))
    return inventory


def run_site(inventory, *extra, env=None):
    return subprocess.run(
        ["ansible-playbook", "-i", str(inventory), str(ROOT / "ansible/site.yml"), "--limit", "site_pf", *extra],
        env={**ENV, **(env or {})}, capture_output=True, text=True, cwd=ROOT, timeout=300,
    )


def assert_refused_unchanged(result, before, container, names):
    """The run failed naming each of `names`, reached no play past preflight, changed nothing."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    # The failure (from the first failed task on) names the variable.
    failure = output[min(i for i in (output.find("fatal:"), output.find("failed:"), len(output)) if i >= 0):]
    for name in names:
        assert name in failure, f"{name!r} not in the failure:\n{failure[:3000]}"
    # Nothing ran past the preflight play, nothing reported a change, and the disk is as it was.
    assert "PLAY [Provision the database]" not in output
    recap = re.findall(r"^\S+\s*:\s*ok=\d+\s+changed=(\d+)", output, re.M)
    assert recap and set(recap) == {"0"}, output[-2000:]
    assert filesystem_changes(container) == before, "the host's filesystem changed"


CASES = {
    "missing required variable": (
        {"vault_shopdb_secret_key": None}, True, ["shopdb_app_secret_key", "vault_shopdb_secret_key"]),
    "empty secret": ({"vault_shopdb_jwt_secret_key": ""}, True, ["shopdb_app_jwt_secret_key"]),
    "too short secret": ({"vault_shopdb_secret_key": "short-secret"}, True, ["shopdb_app_secret_key", "32"]),
    "malformed domain": ({"shopdb_domain": "shop_db..example"}, True, ["shopdb_domain"]),
    "empty app host list": ({}, False, ["shopdb_site_app_hosts", "site_pf_app"]),
    "unknown database flavour": ({"shopdb_db_flavour": "oracle"}, True, ["shopdb_db_flavour"]),
    "backup retention of zero": ({"shopdb_backup_keep_daily": 0}, True, ["shopdb_backup_keep_daily"]),
    "missing certificate path": (
        {"shopdb_proxy_tls_mode": "files", "shopdb_proxy_tls_cert_file": "/nonexistent/site.crt",
         "shopdb_proxy_tls_key_file": "/nonexistent/site.key"}, True, ["shopdb_proxy_tls_cert_file"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_fails_before_any_host_changes(container, tmp_path, case):
    changes, app_hosts, names = CASES[case]
    site_vars = {k: v for k, v in {**GOOD_VARS, **changes}.items() if v is not None}
    before = filesystem_changes(container)

    result = run_site(write_inventory(tmp_path, site_vars, app_hosts))

    assert_refused_unchanged(result, before, container, names)


# The finding of issue 17: a port MariaDB clamps silently took the site down; it never gets past preflight.
def test_an_out_of_range_database_port_is_refused_before_any_change(container, tmp_path):
    before = filesystem_changes(container)
    result = run_site(write_inventory(tmp_path, GOOD_VARS), "-e", json.dumps({"shopdb_db_port": 70000}))
    assert_refused_unchanged(result, before, container, ["shopdb_db_port=70000 is out of range: use 1 to 65535"])


# The fleet settings (ansible/vars/fleet.yml) of update.yml, checked in its preflight play like the roles'.
def test_out_of_range_fleet_settings_are_refused_before_any_change(container, tmp_path):
    before = filesystem_changes(container)
    bad = {"shopdb_update_max_fail_percentage": 150, "shopdb_update_sites_per_batch": 0}
    result = subprocess.run(
        ["ansible-playbook", "-i", str(write_inventory(tmp_path, GOOD_VARS)), str(ROOT / "ansible/update.yml"),
         "--limit", "site_pf", "-e", json.dumps(bad)], env=ENV, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert_refused_unchanged(result, before, container, [
        "shopdb_update_max_fail_percentage=150 is out of range: use 0 to 100",
        "shopdb_update_sites_per_batch=0 is out of range: use 1 to 1000"])


# Every rule of every role (meta/ranges.yml; test_ranges.py holds that every option has one): one run per
# role with all of that role's variables out of range at once (-e, so they beat group_vars); the role's
# preflight names each of them. The roles' preflights run one after another, so the other roles keep
# their good values and the run reaches the role under test.
@pytest.mark.parametrize("role", ROLES)
def test_every_ranged_variable_is_refused_before_any_change(container, tmp_path, role):
    _, ranges = role_files(role)
    bad = {name: out_of_range(rule) for name, rule in ranges.items()}
    extra = tmp_path / "bad.json"
    extra.write_text(json.dumps(bad))
    before = filesystem_changes(container)
    # JSON results: the message is one string, not wrapped across lines.
    result = run_site(write_inventory(tmp_path, GOOD_VARS), "-e", f"@{extra}",
                      env={"ANSIBLE_CALLBACK_RESULT_FORMAT": "json"})
    output = result.stdout + result.stderr
    messages = " ".join(re.findall(r'"msg": "((?:[^"\\]|\\.)*)"', output))
    assert f"{role}_" in messages, output[-3000:]
    unnamed = [name for name in bad if not re.search(rf"\b{re.escape(name)}(\[0\]| key)?=", messages)]
    assert unnamed == [], f"{role}: the preflight did not name {unnamed}:\n{messages[:3000]}"
    assert_refused_unchanged(result, before, container, [f"{role}_"])


# Last: this run gathers facts, which leaves ansible's temporary directory in the container.
def test_the_good_inventory_passes_the_preflight(container, tmp_path):
    result = run_site(write_inventory(tmp_path, GOOD_VARS), "--tags", "preflight")
    assert result.returncode == 0, result.stdout[-3000:]
