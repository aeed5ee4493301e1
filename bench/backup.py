"""Backup benchmark: the backup role's dump script against a bare `mariadb-dump --single-transaction | gzip`
of the same database in the same run, the verification's cost, restore times, and the longest write stall
while a backup runs.

    python bench/backup.py [--assets 600000] [--rounds 2] [--before GIT_REF]

The database (`shopdb_bench_backup_*`, dropped at the end) gets the real schema from `flask db upgrade heads`
and over 1,000,000 rows generated inside MariaDB (assets, equipment rows, audit entries with JSON).
The role's scripts (ansible/roles/shopdb_backup/files) run unchanged except for their two fixed paths
(/etc/shopdb-backup/backup.env and /usr/local/sbin), which point at a temporary copy; backup.env and
client.cnf are rendered from the role's templates; the backup user has the privileges shopdb_db grants it.
--before measures the role as it was at GIT_REF too (from `git archive`), in the same run on the same data.
"""

import argparse
import io
import os
import secrets
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import pymysql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (ROOT, SOCKET, app_env, bench_database, flask, machine, render_role_template, root_sql,  # noqa: E402
                    summary_ms, write_result)

ROLE = ROOT / "ansible" / "roles" / "shopdb_backup"
TARGET_RATIO = 0.9


def fill(database, assets):
    """Generate the rows server-side (the SEQUENCE engine): fast and no client in the way. Returns row counts."""
    db = database["name"]
    machines, audit = assets // 3, assets // 2
    with pymysql.connect(unix_socket=SOCKET, user="root", database=db, autocommit=True) as connection:
        cursor = connection.cursor()
        cursor.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
        cursor.execute("INSERT INTO locations (code, name, version, created_at, updated_at, deleted_marker) "
                       "SELECT CONCAT('hall-', seq), CONCAT('Hall ', seq), 1, NOW(), NOW(), 0 FROM seq_1_to_199")
        cursor.execute("SELECT MIN(id), COUNT(*) FROM asset_types")
        first_type, types = cursor.fetchone()
        cursor.execute("SELECT MIN(id), COUNT(*) FROM locations")
        first_location, locations = cursor.fetchone()
        cursor.execute(
            "INSERT INTO assets (id, asset_tag, name, serial, asset_type_id, status, location_id, notes, version,"
            " created_at, updated_at, deleted_at, deleted_marker)"
            f" SELECT seq, CONCAT('A', LPAD(seq, 7, '0')), CONCAT('Asset ', seq), CONCAT('SN-', HEX(CRC32(seq))),"
            f" {first_type} + seq % {types}, IF(seq % 10 = 0, 'in_repair', 'in_service'),"
            f" IF(seq % 20 = 0, NULL, {first_location} + seq % {locations}), IF(seq % 3 = 0, 'Bench asset.', NULL), 1,"
            f" NOW() - INTERVAL seq MINUTE, NOW(), NULL, 0 FROM seq_1_to_{assets}")
        cursor.execute(
            "INSERT INTO equipment_machines (asset_id, make, model, controller, serial, install_date, version,"
            " created_at, updated_at) SELECT seq * 3, ELT(1 + seq % 3, 'DMG Mori', 'Mazak', 'Haas'),"
            " CONCAT('Model ', seq % 40), 'Siemens 840D', CONCAT('M', HEX(CRC32(seq))),"
            f" '2010-01-01' + INTERVAL seq % 5000 DAY, 1, NOW(), NOW() FROM seq_1_to_{machines}")
        cursor.execute(
            "INSERT INTO audit_log (created_at, actor_id, actor, action, entity, entity_id, `before`, `after`,"
            " request_id) SELECT NOW() - INTERVAL seq SECOND, 1, 'admin', 'update', 'assets', seq % 100000 + 1,"
            " JSON_OBJECT('status', 'in_service', 'notes', NULL),"
            " JSON_OBJECT('status', 'in_repair', 'notes', 'Bench.'),"
            f" MD5(seq) FROM seq_1_to_{audit}")
        cursor.execute("ANALYZE TABLE assets, equipment_machines, audit_log")
        cursor.fetchall()
        cursor.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (db,))
        counts = {}
        for (table,) in cursor.fetchall():
            cursor.execute(f"SELECT COUNT(*) FROM `{table}`")
            counts[table] = cursor.fetchone()[0]
    return counts


def role_scripts(role, database, backup_user, password, workdir):
    """*role*'s scripts and rendered settings under *workdir*; returns (bin dir, client.cnf, env)."""
    conf, bin_dir = workdir / "conf", workdir / "bin"
    conf.mkdir(parents=True)
    bin_dir.mkdir()
    overrides = {"shopdb_backup_db_name": database["name"], "shopdb_backup_db_user": backup_user,
                 "shopdb_backup_db_password": password, "shopdb_backup_dir": str(workdir / "backups"),
                 "__shopdb_backup_conf_dir": str(conf), "shopdb_backup_remote_target": ""}
    for template, target in (("backup.env.j2", conf / "backup.env"), ("client.cnf.j2", conf / "client.cnf")):
        text, _ = render_role_template(template, overrides, role=role, vars_files=["mariadb.yml"])
        target.write_text(text)
        target.chmod(0o600)
    for script in (role / "files").iterdir():
        body = script.read_text().replace("/etc/shopdb-backup/backup.env", str(conf / "backup.env"))
        body = body.replace("/usr/local/sbin/", f"{bin_dir}/")
        (bin_dir / script.name).write_text(body)
        (bin_dir / script.name).chmod(0o700)
    return bin_dir, conf / "client.cnf", dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")


def role_at(ref, workdir):
    """The backup role as it was at git *ref*, extracted under *workdir*; returns its directory."""
    path = "ansible/roles/shopdb_backup"
    archive = subprocess.run(["git", "archive", "--format=tar", ref, path], cwd=ROOT, capture_output=True, check=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(workdir, filter="data")
    return workdir / path


def timed(command, **kwargs):
    """Run a shell command; return (seconds, stdout). Fails loudly."""
    started = time.perf_counter()
    result = subprocess.run(command, shell=True, capture_output=True, text=True, executable="/bin/bash", **kwargs)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"`{command}` failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return round(elapsed, 2), result.stdout


class Writer(threading.Thread):
    """Inserts audit rows in a loop (autocommit), recording each insert's latency and when it finished."""

    def __init__(self, database):
        super().__init__(daemon=True)
        self.database, self.samples, self.stop = database, [], threading.Event()

    def run(self):
        connection = pymysql.connect(host="127.0.0.1", user=self.database["user"], password=self.database["password"],
                                     database=self.database["name"], autocommit=True)
        cursor = connection.cursor()
        while not self.stop.is_set():
            started = time.perf_counter()
            cursor.execute("INSERT INTO audit_log (created_at, actor, action, entity, entity_id) "
                           "VALUES (NOW(), 'bench', 'create', 'assets', '1')")
            self.samples.append((time.perf_counter(), time.perf_counter() - started))
            time.sleep(0.005)
        connection.close()

    def window(self, start, end):
        return [latency for finished, latency in self.samples if start <= finished <= end]


def newest_dump(variant):
    return sorted((variant["dir"] / "backups" / "daily").glob("*.sql.gz"))[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=600_000, help="assets; equipment rows = 1/3, audit rows = 1/2")
    parser.add_argument("--rounds", type=int, default=2, help="dumps of each kind, alternating; the best counts")
    parser.add_argument("--before", metavar="GIT_REF", help="also measure the backup role as it was at this ref")
    args = parser.parse_args()

    report = {"machine": machine(), "args": vars(args)}
    backup_user, backup_password = f"bkp_{secrets.token_hex(3)}", secrets.token_urlsafe(24)
    with bench_database("backup") as database, tempfile.TemporaryDirectory(prefix="shopdb-bench-") as tmp:
        workdir = Path(tmp)
        scratch = f"{database['name']}_restore"
        root_sql(f"CREATE USER '{backup_user}'@'localhost' IDENTIFIED BY '{backup_password}'",
                 f"GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON {database['name']}.* TO '{backup_user}'@'localhost'",
                 f"GRANT SELECT ON mysql.proc TO '{backup_user}'@'localhost'")
        try:
            flask(app_env(database), "db", "upgrade", "heads")
            flask(app_env(database), "seed")
            started = time.perf_counter()
            counts = fill(database, args.assets)
            report["data"] = {"rows": sum(counts.values()), "tables": counts,
                              "fill_seconds": round(time.perf_counter() - started, 1)}
            print(f"backup: {report['data']['rows']} rows generated in {report['data']['fill_seconds']} s")
            roles = {"role": ROLE}
            if args.before:
                roles["role_before"] = role_at(args.before, workdir / "before-src")
            variants = {}
            for key, role in roles.items():
                bin_dir, client_cnf, env = role_scripts(role, database, backup_user, backup_password, workdir / key)
                variants[key] = {"dir": workdir / key, "bin": bin_dir, "env": env, "times": []}
            bare_file = workdir / "bare.sql.gz"
            bare_cmd = (f"mariadb-dump --defaults-extra-file={client_cnf} --single-transaction {database['name']}"
                        f" | gzip > {bare_file}")

            # Dumps: bare and each variant of the role, alternating; the best of each counts.
            bare_times = []
            for _ in range(args.rounds):
                bare_times.append(timed(bare_cmd)[0])
                for variant in variants.values():
                    for old in (variant["dir"] / "backups" / "daily").glob("*.sql.gz*"):  # keep only the newest
                        old.unlink()
                    variant["times"].append(timed(f"{variant['bin']}/shopdb-backup", env=variant["env"])[0])
            bare_s = min(bare_times)
            report["dump"] = {"bare_seconds": bare_times, "bare_bytes": bare_file.stat().st_size,
                              "target": TARGET_RATIO}
            for key, variant in variants.items():
                best = min(variant["times"])
                report["dump"][key] = {"seconds": variant["times"], "bytes": newest_dump(variant).stat().st_size,
                                       "ratio_bare_over_role": round(bare_s / best, 2),
                                       "meets_target": bare_s / best >= TARGET_RATIO}
                print(f"backup: dump: {key} {best} s ({newest_dump(variant).stat().st_size >> 20} MiB) vs bare "
                      f"{bare_s} s ({bare_file.stat().st_size >> 20} MiB): ratio "
                      f"{report['dump'][key]['ratio_bare_over_role']} (target >= {TARGET_RATIO})")

            # Restores: the bare dump as an operator would load it, each role dump with its restore script,
            # then each role's verification (restore into a scratch database + row counts).
            root_sql(f"CREATE DATABASE {scratch} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            bare_restore_s, _ = timed(f"zcat {bare_file} | mariadb --default-character-set=utf8mb4 {scratch}")
            root_sql(f"DROP DATABASE {scratch}")
            report["restore"] = {"bare_seconds": bare_restore_s}
            for key, variant in variants.items():
                dump, env = newest_dump(variant), variant["env"]
                restore_s, _ = timed(f"{variant['bin']}/shopdb-backup-restore --into {scratch} {dump}", env=env)
                root_sql(f"DROP DATABASE {scratch}")
                verify_s, out = timed(f"{variant['bin']}/shopdb-backup-verify {dump}", env=env)
                best = min(variant["times"])
                report["restore"][key] = {
                    "seconds": restore_s, "ratio_over_bare": round(restore_s / bare_restore_s, 2),
                    "verify_seconds": verify_s, "verify_over_dump": round(verify_s / best, 2),
                    "verify_output": out.strip().splitlines()[-1]}
                if (variant["bin"] / "shopdb-backup-rows").exists():  # the row count alone (it runs beside the load)
                    report["restore"][key]["count_seconds"] = timed(f"{variant['bin']}/shopdb-backup-rows {dump}")[0]
                print(f"backup: {key}: restore {restore_s} s against the bare dump's {bare_restore_s} s "
                      f"({report['restore'][key]['ratio_over_bare']}x); verify {verify_s} s "
                      f"({report['restore'][key]['verify_over_dump']}x the dump): {out.strip().splitlines()[-1]}")

            # Writes during a backup: a writer inserts rows throughout; 10 s alone, then each variant's backup.
            writer = Writer(database)
            writer.start()
            time.sleep(10)
            windows = {"baseline": (time.perf_counter() - 10, time.perf_counter())}
            for key, variant in variants.items():
                start = time.perf_counter()
                timed(f"{variant['bin']}/shopdb-backup", env=variant["env"])
                windows[key] = (start, time.perf_counter())
                time.sleep(2)
            writer.stop.set()
            writer.join()
            report["write_stall"] = {}
            for key, (start, end) in windows.items():
                samples = writer.window(start, end)
                report["write_stall"][key] = {"inserts": len(samples), "seconds": round(end - start, 1),
                                              **summary_ms(samples)}
                print(f"backup: writes during {key}: {len(samples)} inserts in {end - start:.1f} s, longest "
                      f"{report['write_stall'][key]['max_ms']} ms")
        finally:
            root_sql(f"DROP DATABASE IF EXISTS {scratch}", f"DROP DATABASE IF EXISTS {database['name']}_verify",
                     f"DROP USER IF EXISTS '{backup_user}'@'localhost'")
    write_result("backup", report)


if __name__ == "__main__":
    main()
