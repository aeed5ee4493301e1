"""ansible/update.yml on the multi-host site while one app host is down (issue 6), run from this machine
against the scenario's containers with a probe sending an authenticated request through the proxy every
100 ms. app2 is stopped with `podman stop` (really unreachable), the site is updated to the next release,
then app2 is started again and the command the summary prints brings it up to date and back into rotation.
Runs after test_multihost.py (file order); the tests run in order, each from the previous one's state, and
rollback.yml ends the file: both hosts back on N, one at a time.
Measured figures are printed and written to .cache/fleet/measurements-multihost.json."""
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import testinfra

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT))
from tests.fleet import measurements  # noqa: E402
from tests.fleet.probe import Probe, wait_until  # noqa: E402
from tests.fleet.releases import good_release_for_each_python, version_of  # noqa: E402

APP1, APP2, PROXY = (testinfra.get_host(f"podman://shopdb-mh-{n}") for n in ("app1", "app2", "proxy"))
DOWN = "shopdb-mh-app2"
MEASURED = ROOT / ".cache" / "fleet" / "measurements-multihost.json"
SUMMARY = ROOT / ".cache" / "fleet" / "update-site_mh.json"
# The scenario's wheelhouse directory (molecule.yml): converge built release N there for Python 3.11 and 3.13.
WHEELHOUSE = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "wheelhouse"
BASE = version_of(ROOT)
NEW = f"{BASE}.post1"


def record(key, value):
    measurements.record(MEASURED, key, value)


def run_playbook(cmd, log):
    """Run an ansible-playbook command line from the repository root; (rc, output, seconds). The whole
    output (with the per-task times) is kept in .cache/fleet/<log>.log."""
    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(ROOT / "ansible" / "roles"), ANSIBLE_FORCE_COLOR="0")
    t0 = time.monotonic()
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    out = run.stdout + run.stderr
    (MEASURED.parent / f"{log}.log").write_text(out)
    print(out[-8000:])
    return run.returncode, out, time.monotonic() - t0


def address(host):
    return host.run("hostname -I").stdout.split()[0]


def current_release(host):
    return Path(host.check_output("readlink /opt/shopdb/current")).name


def app_ready(host):
    """The app host's own /api/ready (not through the proxy)."""
    return host.run(f"curl -s -o /dev/null -w '%{{http_code}}' http://{address(host)}:8000/api/ready").stdout


def upstream():
    """The proxy's live upstream: {address: 'down' or 'up'}."""
    conf = PROXY.file("/etc/nginx/nginx.conf").content_string
    block = conf.split("upstream shopdb_app {", 1)[1].split("}", 1)[0]
    lines = [line.split() for line in block.splitlines() if line.strip().startswith("server ")]
    return {parts[1].rsplit(":", 1)[0]: "down" if "down;" in parts else "up" for parts in lines}


def timed_out(sample):
    return sample.status is None and sample.error.startswith("TimeoutError")


def send_marked_requests(site, count=8):
    """`count` requests through the proxy, all tagged with one new marker, which it returns: an app host's
    access log then shows whether it served any of them (served_by)."""
    marker = uuid.uuid4().hex
    for _ in range(count):
        assert subprocess.run(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}",
                               f"{site['url']}/api/health?probe={marker}"],
                              capture_output=True, text=True).stdout == "200"
    return marker


def served_by(host, marker):
    return marker in host.check_output("journalctl -u shopdb --no-pager -o cat")


@pytest.fixture(scope="module")
def site():
    token = APP1.check_output(
        "/usr/local/sbin/shopdb-flask token create --username admin --name fleet-probe").split()[-1]
    return {"url": f"https://{address(PROXY)}", "auth": {"Authorization": f"Bearer {token}"},
            "app2": address(APP2)}


@pytest.fixture(scope="module")
def release():
    """Release N+1 (a copy of this tree with one more migration), its wheelhouse beside N's for each Python."""
    workdir = ROOT / ".cache" / "fleet-releases-multihost"
    yield good_release_for_each_python(WHEELHOUSE, workdir, pythons=2)
    shutil.rmtree(workdir, ignore_errors=True)


def probe(site):
    return Probe(f"{site['url']}/api/locations", headers=site["auth"], interval=0.1)


def test_an_update_with_an_app_host_down_updates_the_others_and_holds_it_out(site, release):
    assert current_release(APP1) == current_release(APP2) == BASE
    subprocess.run(["podman", "stop", "--time", "10", DOWN], check=True, capture_output=True)
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(ROOT / "ansible" / "update.yml"),
           "-e", f"shopdb_release={NEW}", "-e", f"shopdb_app_source_dir={release}",
           "-e", f"shopdb_app_wheelhouse_dir={WHEELHOUSE}"]
    with probe(site) as p:
        time.sleep(1)
        rc, out, seconds = run_playbook(cmd, "multihost-update-app2-down")
        time.sleep(1)
    record("update_with_app2_down", {
        "from": BASE, "to": NEW, "playbook_s": round(seconds, 1), "rc": rc, "requests": len(p.samples),
        "failed_requests": len(p.failures), "timed_out": sum(map(timed_out, p.failures)),
        "failures": p.failure_kinds(), "max_gap_s": round(p.max_gap(), 3),
        "slowest_s": round(max(s.seconds for s in p.samples), 2), "starts_later_than_200ms": p.late_starts(0.2)})

    # The run ends non-zero with the site's result "incomplete", naming the host.
    assert rc != 0, out[-3000:]
    assert f"update to {NEW} INCOMPLETE: {DOWN} did not answer" in out, out[-3000:]
    summary = json.loads(SUMMARY.read_text())
    assert summary["result"] == "incomplete" and summary["errors"] == [], summary
    assert summary["hosts"] == {"shopdb-mh-app1": f"updated {BASE} -> {NEW}",
                                DOWN: "unreachable: not updated, still on its old release"}, summary
    assert summary["out_of_rotation"] == [DOWN], summary
    assert "--limit site_mh" in summary["rerun"] and f"shopdb_release={NEW}" in summary["rerun"], summary
    # No request got an error answer or a refused connection: that is what a held-out host, or the host
    # restarting, left in rotation would give. With app2 down, app1 is the only host serving, so it is not
    # taken out of rotation for its restart: its socket holds requests until the new release answers. On
    # this shared 2-core machine under heavy load (load average 25-30) that took minutes, longer than the
    # probe's 30 s timeout: such timeouts are counted exactly in the record above, not asserted away.
    assert [s for s in p.failures if not timed_out(s)] == [], p.report()
    if not any(timed_out(s) for s in p.failures):  # hung requests fill the probe's pool and delay its starts
        assert p.late_starts(0.2) <= len(p.samples) // 100, p.report()
    # The reachable host runs the new release, ready, on the migrated schema.
    assert current_release(APP1) == NEW
    assert app_ready(APP1) == "200"
    # The proxy holds the down host out (nginx `down`), with a configuration nginx accepts.
    assert upstream() == {address(APP1): "up", site["app2"]: "down"}
    assert PROXY.run("nginx -t").rc == 0


def test_the_host_back_is_held_out_until_the_printed_rerun_updates_it(site):
    rerun = json.loads(SUMMARY.read_text())["rerun"]
    t0 = time.monotonic()
    subprocess.run(["podman", "start", DOWN], check=True, capture_output=True)
    booted = wait_until(lambda: APP2.run("systemctl is-system-running").stdout.strip() == "running", 120, step=0.5)
    assert booted is not None, APP2.run("systemctl --failed --no-pager").stdout
    # Back, on its old release, which does not know the new schema: the proxy must not send it requests.
    assert current_release(APP2) == BASE
    assert wait_until(lambda: app_ready(APP2) not in ("", "000"), 60, step=0.5) is not None
    old_code_ready = app_ready(APP2)
    marker = send_marked_requests(site)
    assert not served_by(APP2, marker), "the proxy sent requests to the host it holds out of rotation"

    with probe(site) as p:
        rc, out, seconds = run_playbook(shlex.split(rerun), "multihost-update-rerun")
    back_s = time.monotonic() - t0
    record("host_back_rerun", {
        "old_code_ready_status": old_code_ready, "boot_s": round(booted, 1), "rerun_playbook_s": round(seconds, 1),
        "fully_back_after_start_s": round(back_s, 1), "requests": len(p.samples), "failed_requests": len(p.failures),
        "failures": p.failure_kinds()})
    assert old_code_ready == "503"  # its /api/ready refuses the newer schema: why it is held out
    assert rc == 0, out[-3000:]
    summary = json.loads(SUMMARY.read_text())
    assert summary["result"] == "ok" and summary["out_of_rotation"] == [] and summary["rerun"] == "", summary
    assert summary["hosts"] == {"shopdb-mh-app1": f"already on {NEW}, ready", DOWN: f"updated {BASE} -> {NEW}"}
    assert p.failures == [], p.report()
    # app2 (Debian 13, Python 3.13) runs the release from its own wheelhouse, ready, back in rotation.
    assert current_release(APP2) == NEW and app_ready(APP2) == "200"
    assert APP2.check_output("/opt/shopdb/current/venv/bin/python -V").startswith("Python 3.13")
    assert APP1.check_output("/opt/shopdb/current/venv/bin/python -V").startswith("Python 3.11")
    assert set(upstream().values()) == {"up"}
    marker = send_marked_requests(site)
    assert served_by(APP1, marker) and served_by(APP2, marker), "both app hosts must serve again"


def test_rollback_takes_the_app_hosts_back_one_at_a_time(site):
    """rollback.yml on the multi-host site (both hosts on N+1 now): the schema goes back with N+1's own
    downgrade, then each app host in turn leaves the rotation, returns to N and comes back; none fails."""
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(ROOT / "ansible" / "rollback.yml")]
    with probe(site) as p:
        rc, out, seconds = run_playbook(cmd, "multihost-rollback")
    record("rollback", {"from": NEW, "to": BASE, "playbook_s": round(seconds, 1), "requests": len(p.samples),
                        "failed_requests": len(p.failures), "failures": p.failure_kinds()})
    assert rc == 0, out[-3000:]
    assert current_release(APP1) == current_release(APP2) == BASE
    assert app_ready(APP1) == app_ready(APP2) == "200"
    db = testinfra.get_host("podman://shopdb-mh-db")
    assert "fleet_marker" not in db.check_output("mariadb -N -e 'SHOW TABLES FROM shopdb'").split()
    assert p.failures == [], p.report()
    assert set(upstream().values()) == {"up"}
    marker = send_marked_requests(site)
    assert served_by(APP1, marker) and served_by(APP2, marker), "both app hosts must serve after the rollback"
