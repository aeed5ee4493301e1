"""ansible/restore.yml on a provisioned one-host site: refused unless the confirmation names the site (nothing
stopped), and otherwise the site's newest dump put back with the app stopped meanwhile, the content from
before saved to pre-restore/, and the app ready again. Runs before test_update_batch.py (file order) and
leaves the site serving."""
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT))
from tests.fleet.playbook import run as playbook  # noqa: E402

testinfra_hosts = ["podman://shopdb-site-bookworm"]
CLI = "/usr/local/sbin/shopdb-flask"


def restore(*args):
    rc, out, _ = playbook("restore.yml", "--limit", "site_bookworm", *args)
    return rc, out


def tokens(host):
    return host.check_output("mariadb -N -B shopdb -e 'SELECT name FROM api_tokens ORDER BY id'").split()


def pre_restore_dumps(host):
    return host.run("ls /var/backups/shopdb/pre-restore/*.sql.gz").stdout.split()


def test_a_restore_confirmed_for_another_site_is_refused_and_stops_nothing(host):
    before = pre_restore_dumps(host)
    rc, out = restore("-e", "shopdb_restore_confirm=site_trixie")
    assert rc != 0
    assert "Restoring replaces the database of site_bookworm" in out and "shopdb_restore_confirm=site_bookworm" in out
    assert host.service("shopdb").is_running and host.socket("tcp://127.0.0.1:8000").is_listening
    assert pre_restore_dumps(host) == before


def test_a_bad_dump_name_is_refused_before_anything_stops(host):
    rc, out = restore("-e", "shopdb_restore_confirm=site_bookworm", "-e", "shopdb_restore_dump=../etc/passwd")
    assert rc != 0 and "shopdb_restore_dump='../etc/passwd' is not valid" in out, out[-3000:]
    assert host.service("shopdb").is_running


def test_the_newest_dump_is_restored_with_the_app_stopped_meanwhile(host):
    host.check_output("systemctl start shopdb-backup.service")  # a fresh dump: the newest
    before = tokens(host)
    host.check_output(f"{CLI} token create --username admin --name written-after-the-dump")
    assert "written-after-the-dump" in tokens(host)
    dumps_before = pre_restore_dumps(host)
    rc, out = restore("-e", "shopdb_restore_confirm=site_bookworm")
    if rc != 0:  # a failed restore leaves the app stopped, by design: start it for the tests that follow
        host.run("systemctl start shopdb.socket shopdb")
    assert rc == 0, out[-4000:]
    assert "Stop the app's socket and service" in out and "tables restored with the dump's row counts" in out
    assert tokens(host) == before  # the row written after the dump is gone
    [saved] = [d for d in pre_restore_dumps(host) if d not in dumps_before]
    assert "written-after-the-dump" in host.check_output(f"zcat {saved}")  # ... and kept in pre-restore/
    deadline = time.time() + 60
    while host.run("curl -sf -o /dev/null http://127.0.0.1:8000/api/ready").rc != 0:
        assert time.time() < deadline, "the app is not ready after the restore"
        time.sleep(2)
