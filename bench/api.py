"""API benchmark: GET /api/assets (first, middle, last page, a filtered page) and GET /api/assets/<id>
under gunicorn, against the ceiling of the same SQL issued through PyMySQL with no HTTP.

    python bench/api.py [--assets 100000] [--requests 1000] [--concurrency 16]

Steps: a fresh MariaDB database `shopdb_bench_api_*` (dropped at the end), the schema from
`flask db upgrade heads`, reference data from `flask seed` and `flask plugin install equipment`, then
100,000 assets (with types, locations and equipment rows) generated inside MariaDB by INSERT ... SELECT from
the SEQUENCE engine (no client round trips: seconds, not minutes). gunicorn runs
with the settings the app role renders on this machine (its workers formula), in production mode.
The SQL each URL runs is captured in-process (a cursor listener, literal parameters), counted, and
replayed as the ceiling: one PyMySQL connection per process, as many processes as gunicorn workers.
"""

import argparse
import os
import http.client
import multiprocessing
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pymysql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (ROOT, app_env, bench_database, flask, machine, render_role_template, summary_ms,  # noqa: E402
                    write_result)

TARGETS = {"list": 0.5, "detail": 0.6}
PER_PAGE_SIZES = (10, 50, 100, 500)
LOCATIONS = 200
MACHINE_MAKES = (("DMG Mori", "DMU 50", "Siemens 840D"), ("Mazak", "Integrex i-200", "Mazatrol SmoothX"),
                 ("Haas", "VF-2", "Haas NGC"), ("Trumpf", "TruLaser 3030", "Siemens 840D"),
                 ("Okuma", "LB3000", "OSP-P300"), ("Hermle", "C 42", "Heidenhain TNC 640"))


# --- data -------------------------------------------------------------------------------------------

def _connect(database, **kwargs):
    return pymysql.connect(host="127.0.0.1", port=3306, user=database["user"], password=database["password"],
                           database=database["name"], charset="utf8mb4", **kwargs)


def load_data(database, assets):
    """Generate *assets* assets, LOCATIONS locations and an equipment row per machine inside MariaDB (the
    SEQUENCE engine; CRC32 of the sequence number as a repeatable random source). Returns counts."""
    with _connect(database, autocommit=True) as connection, connection.cursor() as cursor:
        # A bulk load of rows consistent by construction, as mariadb-dump's output does it.
        cursor.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
        cursor.execute("INSERT INTO locations (code, name, version, created_at, updated_at, deleted_marker)"
                       " SELECT CONCAT('hall-', seq), CONCAT('Hall ', seq), 1, NOW(), NOW(), 0"
                       f" FROM seq_1_to_{LOCATIONS - 1}")
        cursor.execute("SELECT MIN(id), COUNT(*) FROM locations")
        first_location, locations = cursor.fetchone()
        cursor.execute("SELECT code, id FROM asset_types")
        types = dict(cursor.fetchall())
        # Weights: 30% machines, 35% PCs, 15% printers, 10% network, 10% other.
        type_of = (f"CASE WHEN CRC32(CONCAT('t', seq)) % 100 < 30 THEN {types['machine']}"
                   f" WHEN CRC32(CONCAT('t', seq)) % 100 < 65 THEN {types['pc']}"
                   f" WHEN CRC32(CONCAT('t', seq)) % 100 < 80 THEN {types['printer']}"
                   f" WHEN CRC32(CONCAT('t', seq)) % 100 < 90 THEN {types['network']} ELSE {types['other']} END")
        deleted = "CRC32(CONCAT('d', seq)) % 100 = 0"  # 1% soft-deleted
        cursor.execute(
            "INSERT INTO assets (id, asset_tag, name, serial, asset_type_id, status, location_id, notes, version,"
            " created_at, updated_at, deleted_at, deleted_marker)"
            f" SELECT seq, CONCAT('A', LPAD(seq, 7, '0')), CONCAT('Asset ', seq), CONCAT('SN-', HEX(CRC32(seq))),"
            f" {type_of}, IF(CRC32(CONCAT('s', seq)) % 100 < 80, 'in_service',"
            f" ELT(1 + seq % 3, 'in_repair', 'spare', 'retired')),"
            f" IF(CRC32(CONCAT('l', seq)) % 20 = 0, NULL, {first_location} + CRC32(CONCAT('l', seq)) % {locations}),"
            " IF(seq % 3 = 0, 'Bench asset.', NULL), 1, '2026-01-01', '2026-01-01' + INTERVAL seq MINUTE,"
            f" IF({deleted}, '2026-06-01', NULL), IF({deleted}, seq, 0) FROM seq_1_to_{assets}")
        makes = ", ".join(f"'{make}'" for make, _, _ in MACHINE_MAKES)
        models = ", ".join(f"'{model}'" for _, model, _ in MACHINE_MAKES)
        controllers = ", ".join(f"'{controller}'" for _, _, controller in MACHINE_MAKES)
        n = len(MACHINE_MAKES)
        cursor.execute(
            "INSERT INTO equipment_machines (asset_id, make, model, controller, serial, install_date, version,"
            f" created_at, updated_at) SELECT id, ELT(1 + id % {n}, {makes}), ELT(1 + id % {n}, {models}),"
            f" ELT(1 + id % {n}, {controllers}), CONCAT('M', HEX(CRC32(CONCAT('m', id)))),"
            " '2010-01-01' + INTERVAL CRC32(CONCAT('i', id)) % 5000 DAY, 1, created_at, created_at"
            f" FROM assets WHERE asset_type_id = {types['machine']}")
        cursor.execute("ANALYZE TABLE assets, locations, asset_types, equipment_machines")
        cursor.fetchall()
        cursor.execute("SELECT (SELECT COUNT(*) FROM assets WHERE deleted_at IS NULL),"
                       " (SELECT COUNT(*) FROM equipment_machines)")
        live, machines = cursor.fetchone()
    return {"assets": assets, "live_assets": live, "locations": locations, "asset_types": len(types),
            "equipment_machines": machines}


# --- the SQL each URL runs ----------------------------------------------------------------------------

def capture_sql(urls, token):
    """Run each URL in-process (same config as gunicorn) and return {url: [literal SQL statements]}."""
    from sqlalchemy import event

    from app import create_app
    from app.extensions import db

    app = create_app()
    captured = {}
    with app.app_context():
        engine = db.engine
    current = []

    def listener(_conn, cursor, statement, parameters, _context, _executemany):
        current.append(cursor.mogrify(statement, parameters))

    event.listen(engine, "before_cursor_execute", listener)
    client = app.test_client()
    for url in urls:
        current.clear()
        response = client.get(url, headers={"Authorization": f"Bearer {token}"})
        if response.status_code != 200:
            raise SystemExit(f"GET {url} answered {response.status_code}: {response.get_data(as_text=True)[:500]}")
        captured[url] = list(current)
    event.remove(engine, "before_cursor_execute", listener)
    engine.dispose()
    return captured


def explain(database, statements):
    """EXPLAIN of each SELECT: the access paths, to spot full scans and filesorts."""
    plans = []
    with _connect(database) as connection, connection.cursor(pymysql.cursors.DictCursor) as cursor:
        for sql in statements:
            cursor.execute("EXPLAIN " + sql)
            plans.append([{k: row[k] for k in ("table", "type", "key", "rows", "Extra")} for row in cursor.fetchall()])
    return plans


# --- load: HTTP through gunicorn, and the ceiling through PyMySQL --------------------------------------

def http_load(port, urls, total, concurrency, token):
    """*total* GETs cycling through *urls* from *concurrency* keep-alive clients. Returns figures."""
    latencies, errors, lock = [], [], threading.Lock()
    barrier = threading.Barrier(concurrency + 1)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def client(index):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        barrier.wait()
        for n in range(index, total, concurrency):
            started = time.perf_counter()
            connection.request("GET", urls[n % len(urls)], headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                with lock:
                    errors.append(response.status)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"requests": total, "errors": len(errors), "seconds": round(elapsed, 2),
            "req_per_s": round(total / elapsed, 1), **summary_ms(latencies)}


def _ceiling_worker(database, plan, indexes, barrier, queue):
    connection = _connect(database, autocommit=True)
    cursor = connection.cursor()
    latencies = []
    barrier.wait()
    started = time.perf_counter()
    for n in indexes:
        t0 = time.perf_counter()
        for sql in plan[n % len(plan)]:
            cursor.execute(sql)
            cursor.fetchall()
        latencies.append(time.perf_counter() - t0)
    queue.put((started, time.perf_counter(), latencies))
    connection.close()


def ceiling_load(database, plan, total, processes):
    """The same statements per request, from *processes* processes with one connection each, no HTTP."""
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(processes), ctx.Queue()
    workers = [ctx.Process(target=_ceiling_worker, args=(database, plan, range(i, total, processes), barrier, queue))
               for i in range(processes)]
    for worker in workers:
        worker.start()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    elapsed = max(r[1] for r in results) - min(r[0] for r in results)
    latencies = [x for r in results for x in r[2]]
    return {"requests": total, "seconds": round(elapsed, 2), "req_per_s": round(total / elapsed, 1),
            **summary_ms(latencies)}


# --- gunicorn ---------------------------------------------------------------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(env, workdir):
    """gunicorn with the role's rendered gunicorn.conf.py (only the port changed). Returns (process, port, settings)."""
    port = _free_port()
    text, _ = render_role_template("gunicorn.conf.py.j2", {"shopdb_app_port": port,
                                                                 "shopdb_app_bind_address": "127.0.0.1"})
    conf = workdir / "gunicorn.conf.py"
    conf.write_text(text)
    log = open(workdir / "gunicorn.log", "w")
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    process = subprocess.Popen([gunicorn, "--config", str(conf), "app:create_app()"],
                               env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = (workdir / "gunicorn.log").read_text()[-3000:]
            raise SystemExit(f"gunicorn exited with {process.returncode}:\n{tail}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/api/ready")
            if connection.getresponse().status == 200:
                break
        except OSError:
            pass
        time.sleep(0.3)
    else:
        process.terminate()
        raise SystemExit("gunicorn did not become ready within 60 s")
    rendered = {}
    exec(text, rendered)  # the settings exactly as gunicorn reads them
    return process, port, {k: v for k, v in rendered.items() if not k.startswith("__") and k != "bind"}


# --- the benchmark ----------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=1000, help="requests per scenario (API and ceiling each)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--only", nargs="+", metavar="SCENARIO", help="run only these scenarios (e.g. detail)")
    args = parser.parse_args()

    report = {"machine": machine(), "concurrency": args.concurrency, "requests_per_scenario": args.requests}
    with bench_database("api") as database, tempfile.TemporaryDirectory(prefix="shopdb-bench-") as tmp:
        workdir = Path(tmp)
        env = app_env(database)
        t0 = time.perf_counter()
        flask(env, "db", "upgrade", "heads")
        flask(env, "seed")
        flask(env, "plugin", "install", "equipment")
        password = "bench-" + database["password"]
        flask(env, "user", "create-admin", "--username", "bench", "--password-stdin", stdin=password + "\n")
        token = flask(env, "token", "create", "--username", "bench", "--name", "bench").strip()
        schema_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        report["data"] = load_data(database, args.assets)
        report["data"].update(schema_seconds=round(schema_s, 1), insert_seconds=round(time.perf_counter() - t0, 1))
        print(f"api: schema in {schema_s:.1f} s; {args.assets} assets inserted in {report['data']['insert_seconds']} s")

        live = report["data"]["live_assets"]
        last_page = -(-live // 50)
        rng = random.Random(16)
        with _connect(database) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT id FROM assets WHERE deleted_at IS NULL")
            detail_ids = rng.sample([row[0] for row in cursor.fetchall()], 50)
            cursor.execute("SELECT location_id FROM assets WHERE location_id IS NOT NULL GROUP BY location_id "
                           "ORDER BY COUNT(*) DESC LIMIT 1")
            busy_location = cursor.fetchone()[0]
        scenarios = {
            "list_first_page": ("list", ["/api/assets?page=1"]),
            "list_middle_page": ("list", [f"/api/assets?page={last_page // 2}"]),
            "list_last_page": ("list", [f"/api/assets?page={last_page}"]),
            "list_filtered": ("list", [f"/api/assets?location_id={busy_location}&status=in_service&page=1"]),
            "detail": ("detail", [f"/api/assets/{i}" for i in detail_ids]),
        }
        unknown = set(args.only or ()) - set(scenarios)
        if unknown:
            raise SystemExit(f"unknown scenario(s) {', '.join(sorted(unknown))}: choose from {', '.join(scenarios)}")
        scenarios = {name: value for name, value in scenarios.items() if not args.only or name in args.only}
        os.environ.update({k: v for k, v in env.items() if k.startswith("SHOPDB_")})
        per_page_urls = [f"/api/assets?page=2&per_page={n}" for n in PER_PAGE_SIZES]
        sql = capture_sql([u for _, urls in scenarios.values() for u in urls] + per_page_urls, token)
        report["queries_per_list_request"] = {str(n): len(sql[u]) for n, u in zip(PER_PAGE_SIZES, per_page_urls)}
        report["queries_constant"] = len(set(report["queries_per_list_request"].values())) == 1
        print(f"api: queries per list request by per_page: {report['queries_per_list_request']}")

        process, port, settings = start_gunicorn(env, workdir)
        workers = int(settings["workers"])
        report["gunicorn"] = settings
        report["scenarios"] = {}
        try:
            for name, (kind, urls) in scenarios.items():
                plan = [sql[u] for u in urls]
                warm = max(50, args.requests // 10)
                http_load(port, urls, warm, args.concurrency, token)
                api = http_load(port, urls, args.requests, args.concurrency, token)
                ceiling_load(database, plan, warm, workers)
                ceiling = ceiling_load(database, plan, args.requests, workers)
                ratio = round(api["req_per_s"] / ceiling["req_per_s"], 2)
                report["scenarios"][name] = {
                    "kind": kind, "url": urls[0] if len(urls) == 1 else f"{len(urls)} URLs like {urls[0]}",
                    "queries_per_request": len(plan[0]), "sql": plan[0], "explain": explain(database, plan[0]),
                    "api": api, "ceiling": ceiling, "ratio": ratio, "target": TARGETS[kind],
                    "meets_target": ratio >= TARGETS[kind] and api["errors"] == 0}
                print(f"api: {name:17} API {api['req_per_s']:7.1f} req/s p50 {api['p50_ms']:7.1f} ms "
                      f"p99 {api['p99_ms']:7.1f} ms | ceiling {ceiling['req_per_s']:7.1f} req/s "
                      f"p50 {ceiling['p50_ms']:6.1f} ms p99 {ceiling['p99_ms']:6.1f} ms | ratio {ratio:.2f} "
                      f"(target {TARGETS[kind]}) queries {len(plan[0])} errors {api['errors']}")
        finally:
            process.terminate()
            process.wait(timeout=30)
    write_result("api", report)


if __name__ == "__main__":
    main()
