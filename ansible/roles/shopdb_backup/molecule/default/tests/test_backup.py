"""Backups as an operator relies on them: made on schedule, checksummed, verified, pruned, copied off
the host, restored by ansible/restore.yml with the app stopped, and all of it back after a reboot.
For each container the tests run in file order and build on each other (seed, back up, prune,
restore, restart)."""

import os
import shlex
import subprocess
import time

import pytest


def secret(name):
    """A throwaway secret of this scenario run (molecule.yml generates it into the ephemeral directory)."""
    with open(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "secrets", name)) as f:
        return f.read().split()[0]


testinfra_hosts = ["podman://shopdb-backup-bookworm", "podman://shopdb-backup-trixie"]
SITE = {"shopdb-backup-bookworm": "site_bkw", "shopdb-backup-trixie": "site_trx"}
BACKUP_PW = secret("db-backup-password")
APP_PW = secret("db-app-password")
DIR = "/var/backups/shopdb"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 6))

# Tables, rows with awkward text, a view, a trigger, a routine and an event: what a dump must carry.
SEED = r"""
DROP DATABASE IF EXISTS shopdb; CREATE DATABASE shopdb CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci; USE shopdb;
CREATE TABLE assets (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(64) NOT NULL, note TEXT);
CREATE TABLE audit (id INT PRIMARY KEY AUTO_INCREMENT, asset_id INT NOT NULL);
CREATE TABLE empty_table (id INT PRIMARY KEY);
CREATE TRIGGER assets_audit AFTER INSERT ON assets FOR EACH ROW INSERT INTO audit (asset_id) VALUES (NEW.id);
INSERT INTO assets (name, note) VALUES ('Drehmaschine Ü1', 'line one\nline two'),
  ('Presse ✓', 'quote '' and ),( inside, a backslash \\ before \' and an end );');
INSERT INTO assets (name) SELECT CONCAT('asset-', seq) FROM seq_1_to_200;
CREATE VIEW asset_names AS SELECT name FROM assets;
CREATE PROCEDURE asset_count() SELECT COUNT(*) FROM assets;
CREATE EVENT purge_audit ON SCHEDULE EVERY 1 DAY DO DELETE FROM audit WHERE id < 0;
"""
FINGERPRINT = ("SELECT (SELECT COUNT(*) FROM shopdb.assets), (SELECT COUNT(*) FROM shopdb.audit), "
               "(SELECT GROUP_CONCAT(name, note ORDER BY id) FROM shopdb.assets)")


def name(host):
    return host.backend.name


def sql(host, query):
    r = host.run("mariadb -N -B -e %s", query)
    assert r.rc == 0, r.stderr
    return r.stdout.strip()


def dumps(host, sub="daily"):
    return sorted(host.run(f"ls {DIR}/{sub} | grep '\\.sql\\.gz$'").stdout.split())


def backup(host):
    """Run the backup service as the timer would, then wait for the verification it triggers."""
    before = host.run(f"cat {DIR}/last-verify").stdout
    r = host.run("systemctl start shopdb-backup.service")
    assert r.rc == 0, host.run("journalctl -u shopdb-backup --no-pager -n 30").stdout
    for _ in range(120):
        state = host.run("systemctl show -P ActiveState shopdb-backup-verify").stdout.strip()
        after = host.run(f"cat {DIR}/last-verify").stdout
        if after != before and state != "activating":
            return after
        time.sleep(0.5)
    pytest.fail("the verification did not run after the backup")


def playbook(path, *args):
    """ansible-playbook against this scenario's containers, with Molecule's inventory and settings."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "ansible.cfg"))
    return subprocess.run(
        ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], path, *args],
        env=env, capture_output=True, text=True, check=False, cwd=ROOT)


RESTORE = os.path.join(ROOT, "ansible", "restore.yml")


def restore(host, *extra):
    return playbook(RESTORE, "-l", name(host), *extra)


def test_check_mode_on_a_provisioned_host_changes_nothing(host):
    """The backup role in --check --diff on a converged container: no task fails or would change anything.
    Only this role's tasks: shopdb_db in check mode is covered by the site scenario's check of site.yml."""
    if name(host) != "shopdb-backup-bookworm":
        pytest.skip("one release is enough for this converge")
    r = playbook(os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "converge.yml"), "--check", "--diff",
                 "--tags", "shopdb_backup", "-l", name(host))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    recap = r.stdout[r.stdout.index("PLAY RECAP"):]
    assert "changed=0" in recap and "failed=0" in recap, recap
    assert "shopdb_backup : Pin the off-host target's host key." in r.stdout, r.stdout[-3000:]


def test_timer_is_scheduled(host):
    assert host.run("systemctl is-enabled shopdb-backup.timer").stdout.strip() == "enabled"
    assert host.run("systemctl is-active shopdb-backup.timer").stdout.strip() == "active"
    assert host.run("systemctl show -P NextElapseUSecRealtime shopdb-backup.timer").stdout.strip()


def test_units_are_sandboxed(host):
    for unit in ("shopdb-backup.service", "shopdb-backup-verify.service"):
        props = dict(line.split("=", 1) for line in host.run(
            f"systemctl show {unit} -p ProtectSystem -p NoNewPrivileges -p CapabilityBoundingSet "
            "-p ProtectHome -p PrivateTmp -p ReadWritePaths").stdout.splitlines())
        assert props["ProtectSystem"] == "strict"
        assert props["NoNewPrivileges"] == "yes"
        assert props["CapabilityBoundingSet"] == ""
        assert props["ReadWritePaths"] == DIR


def test_credentials_only_in_the_option_file(host):
    cnf = host.file("/etc/shopdb-backup/client.cnf")
    assert (cnf.user, cnf.mode) == ("root", 0o600)
    assert BACKUP_PW in cnf.content_string
    r = host.run(f"grep -rl -- {BACKUP_PW} /etc/systemd/system /usr/local/sbin /etc/shopdb-backup/backup.env")
    assert r.stdout == ""
    assert host.file(DIR).mode == 0o700


def test_backup_is_made_checksummed_and_verified(host):
    # Start from empty backup directories, so the test also holds when re-run on the same containers.
    host.run(f"rm -rf {DIR}/daily/* {DIR}/weekly/* {DIR}/pre-restore/* {DIR}/last-verify /home/offsite/backups")
    sql(host, SEED)
    result = backup(host)
    (dump,) = dumps(host)
    assert result.startswith("ok ") and dump in result and "tables=3 rows=404" in result, result
    assert host.run(f"cd {DIR}/daily && sha256sum -c {dump}.sha256").rc == 0
    content = host.run(f"zcat {DIR}/daily/{dump}").stdout
    for piece in ("CREATE TABLE `assets`", "TRIGGER", "PROCEDURE `asset_count`", "EVENT `purge_audit`",
                  "VIEW `asset_names`", "Drehmaschine Ü1", "-- Dump completed"):
        assert piece in content, piece
    # Extended INSERTs (one statement per table here), which restore several times faster than a row each.
    assert content.count("INSERT INTO `assets`") == 1 and content.count("INSERT INTO `audit`") == 1
    # The first dump is also the weekly one, and the scratch database is gone again.
    assert dumps(host, "weekly") == [dump]
    assert "shopdb_verify" not in sql(host, "SHOW DATABASES").split()


def test_verification_on_demand_rejects_a_damaged_dump(host):
    assert host.run("systemctl start shopdb-backup-verify.service").rc == 0
    (dump,) = dumps(host)
    host.run(f"cp {DIR}/daily/{dump} /root/keep.gz && echo junk >> {DIR}/daily/{dump}")
    r = host.run("shopdb-backup-verify")
    host.run(f"mv /root/keep.gz {DIR}/daily/{dump}")
    assert r.rc != 0 and "checksum mismatch" in r.stderr


def test_rows_are_counted_in_the_dump_itself(host):
    """The expected counts come from the dump (its own snapshot), whatever rows the site holds now."""
    (dump,) = dumps(host)
    sql(host, "USE shopdb; INSERT INTO audit (asset_id) SELECT seq FROM seq_1_to_50")  # the site moves on
    r = host.run(f"shopdb-backup-rows {DIR}/daily/{dump}")
    assert r.rc == 0 and r.stdout.split("\n") == ["assets 202", "audit 202", "empty_table 0", ""], r.stdout + r.stderr
    sql(host, "DELETE FROM shopdb.audit WHERE id > 202")


def handmade_dump(host, path, sql_text):
    """A dump file with its checksum beside it, as shopdb-backup writes them."""
    host.run(f"mkdir -p {os.path.dirname(path)}")
    assert host.run(f"printf '%s' {shlex.quote(sql_text)} | gzip > {path} && cd {os.path.dirname(path)} && "
                    f"sha256sum {os.path.basename(path)} > {os.path.basename(path)}.sha256").rc == 0


def test_verification_fails_when_the_restore_differs_from_the_dump(host):
    # Rows that the load itself loses: the restored table holds 1 of the 2 rows the dump holds.
    handmade_dump(host, "/root/odd/lossy.sql.gz", "CREATE TABLE `t` (id INT PRIMARY KEY);\n"
                  "INSERT INTO `t` VALUES (1),(2);\nDELETE FROM `t` WHERE id = 2;\n-- Dump completed on 2026-11-26\n")
    r = host.run("shopdb-backup-verify /root/odd/lossy.sql.gz")
    assert r.rc == 1 and "row counts differ" in r.stderr and "< t 2" in r.stderr and "> t 1" in r.stderr, r.stderr
    assert host.run(f"cat {DIR}/last-verify").stdout.startswith("failed ")
    # A dump that stopped part-way (no trailer) is rejected even though what it holds restores.
    handmade_dump(host, "/root/odd/cut.sql.gz", "CREATE TABLE `t` (id INT PRIMARY KEY);\nINSERT INTO `t` VALUES (1);\n")
    r = host.run("shopdb-backup-verify /root/odd/cut.sql.gz")
    assert r.rc == 1 and "incomplete" in r.stderr, r.stderr
    assert "shopdb_verify" not in sql(host, "SHOW DATABASES").split()


def test_dumps_of_the_previous_format_still_verify_and_restore(host):
    """Dumps made before extended INSERTs (one INSERT per row) are counted the same way and restore as before."""
    legacy = "/root/legacy/shopdb-20261101T023000Z.sql.gz"
    host.run(f"mkdir -p /root/legacy && mariadb-dump --single-transaction --routines --triggers --events "
             f"--no-tablespaces --skip-extended-insert --no-autocommit shopdb | gzip > {legacy} && "
             f"cd /root/legacy && sha256sum {os.path.basename(legacy)} > {os.path.basename(legacy)}.sha256")
    assert host.run(f"zcat {legacy} | grep -c '^INSERT INTO `assets`'").stdout.strip() == "202"
    r = host.run(f"shopdb-backup-verify {legacy}")
    assert r.rc == 0 and "(3 tables, 404 rows)" in r.stdout, r.stdout + r.stderr


def test_retention_keeps_the_newest_by_count(host):
    first = dumps(host)
    backup(host)
    backup(host)
    daily = dumps(host)
    assert len(daily) == 2 and first[0] not in daily  # shopdb_backup_keep_daily: 2
    assert dumps(host, "weekly") == first  # a weekly dump is kept for 7 days
    assert int(host.run(f"ls {DIR}/daily | grep -c sha256").stdout) == 2


def test_dumps_are_copied_off_the_host(host):
    remote = sorted(host.run("ls /home/offsite/backups/daily | grep '\\.sql\\.gz$'").stdout.split())
    assert remote == dumps(host)
    assert host.run(f"cd /home/offsite/backups/daily && sha256sum -c {remote[-1]}.sha256").rc == 0


def test_restore_refuses_without_confirmation(host):
    sql(host, "DELETE FROM shopdb.assets WHERE id > 100; DROP VIEW shopdb.asset_names")
    damaged = sql(host, FINGERPRINT)
    r = restore(host)
    assert r.returncode != 0
    # Molecule's ansible.cfg sends failures to stderr (display_failed_stderr).
    assert f"-e shopdb_restore_confirm={SITE[name(host)]}" in r.stderr, r.stdout[-2000:] + r.stderr
    assert sql(host, FINGERPRINT) == damaged
    assert host.service("shopdb").is_running


def test_restore_brings_back_the_latest_dump_with_the_app_stopped(host):
    since = host.run("date +%s").stdout.strip()
    r = restore(host, "-e", f"shopdb_restore_confirm={SITE[name(host)]}")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    assert sql(host, "SELECT COUNT(*) FROM shopdb.assets") == "202"
    assert sql(host, "SELECT COUNT(*) FROM shopdb.asset_names") == "202"
    assert sql(host, "CALL shopdb.asset_count()") == "202"
    # The app was stopped for the restore and started after it.
    journal = host.run(f"journalctl -u shopdb --since @{since} --no-pager -o cat").stdout
    assert "Stopped" in journal and journal.rindex("Started") > journal.index("Stopped"), journal
    assert host.service("shopdb").is_running
    assert host.run("systemctl is-active shopdb.socket").stdout.strip() == "active"
    # The app user's grants survive the schema being recreated.
    r = host.run(f"mariadb -N -h 127.0.0.1 -u shopdb -p{APP_PW} shopdb -e 'SELECT COUNT(*) FROM assets'")
    assert r.stdout.strip() == "202", r.stderr
    # What the restore replaced was saved first.
    (saved,) = dumps(host, "pre-restore")
    assert host.run(f"cd {DIR}/pre-restore && sha256sum -c {saved}.sha256").rc == 0
    assert "CREATE TABLE `assets`" in host.run(f"zcat {DIR}/pre-restore/{saved}").stdout


def test_services_come_back_after_a_restart(host):
    subprocess.run(["podman", "restart", name(host)], check=True, capture_output=True)
    state = ""
    for _ in range(60):  # podman exec works again once the container runs; then systemd boots
        state = host.run("systemctl is-system-running --wait").stdout.strip()
        if state in ("running", "degraded"):
            break
        time.sleep(1)
    assert state == "running", host.run("systemctl --failed --no-legend").stdout
    for unit in ("mariadb", "shopdb", "shopdb.socket", "shopdb-backup.timer"):
        assert host.run(f"systemctl is-active {unit}").stdout.strip() == "active", unit
    assert sql(host, "SELECT COUNT(*) FROM shopdb.assets") == "202"
