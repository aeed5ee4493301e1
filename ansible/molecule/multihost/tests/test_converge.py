"""ansible/site.yml on the serving two-app-host site (issue 17, §2): the app hosts converge one at a time, so a
good change restarts them one after the other with every request served, and a change that breaks the first
is undone there and never reaches the second. Runs first (file order); the good change keeps the app's behaviour."""
import json
import os
import sys
from pathlib import Path

import testinfra

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT))
from tests.fleet import measurements  # noqa: E402
from tests.fleet.playbook import run as playbook  # noqa: E402
from tests.fleet.probe import Probe  # noqa: E402

DB, APP1, APP2, PROXY = (testinfra.get_host(f"podman://shopdb-mh-{n}") for n in ("db", "app1", "app2", "proxy"))
ENV_FILE = "/etc/shopdb/shopdb.env"
MEASURED = ROOT / ".cache" / "fleet" / "measurements-multihost.json"


def show(host, prop):
    # Monotonic microseconds: the containers share this machine's kernel, so the hosts' clocks compare.
    return int(host.check_output(f"systemctl show -p {prop} --value shopdb.service"))


def probes():
    token = APP1.check_output("/usr/local/sbin/shopdb-flask token create --username admin --name converge-probe")
    address = PROXY.run("hostname -I").stdout.split()[0]
    auth = {"Authorization": f"Bearer {token.split()[-1]}"}
    run = os.urandom(4).hex()
    reads = Probe(f"https://{address}/api/locations", headers=auth, interval=0.1)
    writes = Probe(f"https://{address}/api/locations", headers=auth, interval=0.25, expect=201,
                   body=lambda n: {"code": f"converge-{run}-{n}", "name": "written during a converge"})
    return reads, writes, run


def site_yml(extra):
    rc, out, seconds = playbook("site.yml", "-e", json.dumps(extra))
    return rc, out, seconds


def test_a_good_change_restarts_the_app_hosts_one_at_a_time_and_fails_no_request():
    masters = [show(app, "MainPID") for app in (APP1, APP2)]
    reads, writes, run = probes()
    with reads as r, writes as w:
        # A real change of the environment file (so a restart) that keeps the app's behaviour: its default, spelt out.
        rc, out, seconds = site_yml({"shopdb_app_extra_env": {"SHOPDB_REQUIRE_IF_MATCH": "false"}})
    assert rc == 0, out[-4000:]
    for app in (APP1, APP2):
        assert "SHOPDB_REQUIRE_IF_MATCH='false'" in app.file(ENV_FILE).content_string
    assert all(show(app, "MainPID") != old for app, old in zip((APP1, APP2), masters)), "each app host restarts"
    # app2 began its restart only once app1 was back (systemd's notify: gunicorn ready).
    assert show(APP2, "ActiveExitTimestampMonotonic") > show(APP1, "ActiveEnterTimestampMonotonic")
    stored = int(DB.check_output(
        f"mariadb -N -e \"SELECT COUNT(*) FROM shopdb.locations WHERE code LIKE 'converge-{run}-%'\""))
    gap = (show(APP2, "ActiveExitTimestampMonotonic") - show(APP1, "ActiveEnterTimestampMonotonic")) / 1e6
    measurements.record(MEASURED, "converge_good_change", {
        "seconds": round(seconds, 1), "reads": len(r.samples), "failed_reads": len(r.failures),
        "writes": len(w.samples), "failed_writes": len(w.failures), "writes_stored": stored,
        "app2_restart_after_app1_ready_s": round(gap, 1)})
    assert r.samples and r.failures == [], r.report()
    assert w.samples and w.failures == [], w.report()
    assert stored == len(w.samples)


def test_a_change_that_breaks_the_first_app_host_is_undone_there_and_never_reaches_the_second():
    before = [app.check_output(f"sha256sum {ENV_FILE}") for app in (APP1, APP2)]
    masters = [show(app, "MainPID") for app in (APP1, APP2)]
    reads, _, _ = probes()
    with reads as r:
        rc, out, seconds = site_yml({"shopdb_app_db_password": "a-valid-but-wrong-password-4x9"})
    assert rc != 0, out[-4000:]
    assert f"The change to {ENV_FILE} on shopdb-mh-app1 was undone" in out, out[-4000:]
    assert "on shopdb-mh-app2 was undone" not in out, out[-4000:]
    assert [app.check_output(f"sha256sum {ENV_FILE}") for app in (APP1, APP2)] == before
    assert [show(app, "MainPID") for app in (APP1, APP2)] == masters
    measurements.record(MEASURED, "converge_wrong_db_password", {
        "seconds": round(seconds, 1), "reads": len(r.samples), "failed_reads": len(r.failures)})
    assert r.samples and r.failures == [], r.report()
