"""API benchmark: GET /api/assets (first, middle, last page, a filtered page) and GET /api/assets/<id>
under gunicorn, against the ceiling of the same SQL issued through PyMySQL with no HTTP.

    python bench/api.py [--assets 100000] [--seconds 15] [--rounds 2] [--only detail] [--baseline FILE]
                        [--gunicorn worker_class="'gthread'" --gunicorn threads=1 ...]

Steps: a fresh MariaDB database `shopdb_bench_api_*` (dropped at the end), the schema from
`flask db upgrade heads`, reference data from `flask seed` and `flask plugin install equipment`, then
100,000 assets (with types, locations and equipment rows) generated inside MariaDB by INSERT ... SELECT from
the SEQUENCE engine (no client round trips: seconds, not minutes). gunicorn runs
with the settings the app role renders on this machine (its workers formula), in production mode;
`--gunicorn NAME=VALUE` adds settings on top, to measure one before it goes into the role.
The SQL each URL runs is captured in-process (a cursor listener, literal parameters), counted with the
client/server round trips it costs, and replayed as the ceiling: one PyMySQL connection per process, as many
processes as gunicorn workers. The HTTP load comes from wrk (C, epoll): a Python load generator would
take CPU from gunicorn on a small machine and penalise the API side only.
The detail scenario also measures the server floor: the same gunicorn settings serving a WSGI callable that
returns the detail response's bytes and does nothing else. Its ratio to the ceiling is the highest an app of
zero cost could reach on this server and machine, so it tells a target the app cannot meet from one it does not.
"""

import argparse
import ast
import http.client
import json
import multiprocessing
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pymysql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (ROOT, app_env, bench_database, flask, machine, render_role_template, root_connect,  # noqa: E402
                    summary_ms, write_result)

TARGETS = {"list": 0.5, "detail": 0.6}
# A list page against the page alone (its rows by the same index walk, no count): issue 20's target; and the
# deep (last) page's cost within this factor of the first page's.
PAGE_ALONE_TARGET = 0.5
DEEP_PAGE_MAX_COST = 2.0
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
    """Run each URL in-process (same config as gunicorn). Returns {url: [literal SQL statements]} and
    {url: client/server round trips}: every command PyMySQL sends (queries, and also the pool's pings and
    the ROLLBACKs that end each request's transaction), counted on the second run of each URL."""
    from pymysql.connections import Connection
    from sqlalchemy import event

    from app import create_app
    from app.extensions import db

    app = create_app()
    captured, round_trips = {}, {}
    with app.app_context():
        engine = db.engine
    current, commands = [], []

    def listener(_conn, cursor, statement, parameters, _context, _executemany):
        current.append(cursor.mogrify(statement, parameters))

    send = Connection._execute_command

    def counting(connection, command, sql):
        commands.append(command)
        return send(connection, command, sql)

    event.listen(engine, "before_cursor_execute", listener)
    Connection._execute_command = counting
    client = app.test_client()
    try:
        for url in urls:
            for _ in range(2):  # the first request of a URL may connect; count the second, steady one
                current.clear()
                commands.clear()
                response = client.get(url, headers={"Authorization": f"Bearer {token}"})
                if response.status_code != 200:
                    raise SystemExit(f"GET {url} answered {response.status_code}: "
                                     f"{response.get_data(as_text=True)[:500]}")
            captured[url], round_trips[url] = list(current), len(commands)
    finally:
        Connection._execute_command = send
        event.remove(engine, "before_cursor_execute", listener)
        engine.dispose()
    return captured, round_trips


def explain(database, statements):
    """EXPLAIN of each SELECT: the access paths, to spot full scans and filesorts."""
    plans = []
    with _connect(database) as connection, connection.cursor(pymysql.cursors.DictCursor) as cursor:
        for sql in statements:
            cursor.execute("EXPLAIN " + sql)
            plans.append([{k: row[k] for k in ("table", "type", "key", "rows", "Extra")} for row in cursor.fetchall()])
    return plans


# --- load: HTTP through gunicorn (wrk), and the ceiling through PyMySQL ----------------------------------

# wrk's script: cycle through the URLs (one per line in $BENCH_URLS), send the token, and print the figures
# as JSON when done. Latencies are wrk's, per request from send to last byte (so they include queueing).
WRK_SCRIPT = """
local urls, n = {}, 0
for line in io.lines(os.getenv("BENCH_URLS")) do urls[#urls + 1] = line end
local headers = {["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN"), ["Accept"] = "application/json"}
request = function()
  n = n + 1
  return wrk.format("GET", urls[(n % #urls) + 1], headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\\n', summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99),
    latency.max, latency.mean))
end
"""


def _cpu_seconds(pids):
    """User + system CPU seconds used so far by *pids* (from /proc; a pid that is gone counts 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def _mariadb_pid():
    """The host's MariaDB server (from its pid file: test containers run their own mariadbd beside it)."""
    with root_connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT @@pid_file")
        return [int(Path(cursor.fetchone()[0]).read_text())]


def http_load(port, urls, seconds, concurrency, token, workdir, worker_pids):
    """GETs cycling through *urls* for *seconds* from *concurrency* connections (wrk, 2 threads). Returns
    figures, with the CPU the gunicorn workers, wrk and MariaDB (all its clients) used per request."""
    (workdir / "urls.txt").write_text("\n".join(urls) + "\n")
    (workdir / "bench.lua").write_text(WRK_SCRIPT)
    env = dict(os.environ, BENCH_URLS=str(workdir / "urls.txt"), BENCH_TOKEN=token)
    mariadb = _mariadb_pid()
    workers0, mariadb0 = _cpu_seconds(worker_pids), _cpu_seconds(mariadb)
    before = os.times()
    result = subprocess.run(["wrk", "-t2", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "60s",
                             "-s", str(workdir / "bench.lua"), f"http://127.0.0.1:{port}"],
                            env=env, capture_output=True, text=True)
    workers_s, mariadb_s = _cpu_seconds(worker_pids) - workers0, _cpu_seconds(mariadb) - mariadb0
    after = os.times()  # wrk has been waited for, so its CPU is in the children's times
    wrk_s = after.children_user + after.children_system - before.children_user - before.children_system
    line = next((x for x in result.stdout.splitlines() if x.startswith("BENCH ")), None)
    if result.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    figures = json.loads(line[len("BENCH "):])
    total, elapsed = figures["requests"], figures["duration_us"] / 1e6
    return {"requests": total, "errors": figures["status_errors"] + figures["socket_errors"],
            "seconds": round(elapsed, 2), "req_per_s": round(total / elapsed, 1),
            "p50_ms": round(figures["p50_us"] / 1000, 2), "p99_ms": round(figures["p99_us"] / 1000, 2),
            "max_ms": round(figures["max_us"] / 1000, 2), "mean_ms": round(figures["mean_us"] / 1000, 2),
            "cpu_ms_per_request": {"gunicorn_workers": round(1000 * workers_s / total, 3),
                                   "wrk": round(1000 * wrk_s / total, 3),
                                   "mariadb_all_clients": round(1000 * mariadb_s / total, 3)}}


def _ceiling_worker(database, plan, seconds, barrier, queue):
    connection = _connect(database, autocommit=True)
    cursor = connection.cursor()
    latencies, n = [], 0
    barrier.wait()
    started, cpu0 = time.perf_counter(), time.process_time()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        for sql in plan[n % len(plan)]:
            cursor.execute(sql)
            cursor.fetchall()
        latencies.append(time.perf_counter() - t0)
        n += 1
    queue.put((started, time.perf_counter(), latencies, time.process_time() - cpu0))
    connection.close()


def ceiling_load(database, plan, seconds, processes):
    """The same statements per request for *seconds*, from *processes* processes with one connection each,
    no HTTP. Returns figures, with the CPU the processes and MariaDB (all its clients) used per request."""
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(processes), ctx.Queue()
    mariadb = _mariadb_pid()
    mariadb0 = _cpu_seconds(mariadb)
    workers = [ctx.Process(target=_ceiling_worker, args=(database, plan, seconds, barrier, queue))
               for _ in range(processes)]
    for worker in workers:
        worker.start()
    results = [queue.get() for _ in workers]
    for worker in workers:
        worker.join()
    mariadb_s = _cpu_seconds(mariadb) - mariadb0
    elapsed = max(r[1] for r in results) - min(r[0] for r in results)
    latencies = [x for r in results for x in r[2]]
    total = len(latencies)
    return {"requests": total, "seconds": round(elapsed, 2), "req_per_s": round(total / elapsed, 1),
            **summary_ms(latencies),
            "cpu_ms_per_request": {"pymysql_processes": round(1000 * sum(r[3] for r in results) / total, 3),
                                   "mariadb_all_clients": round(1000 * mariadb_s / total, 3)}}


# --- gunicorn ---------------------------------------------------------------------------------------

def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(env, workdir, extra_settings=()):
    """gunicorn with the role's rendered gunicorn.conf.py (only the port changed, plus *extra_settings*: lines
    such as `worker_class = "gthread"` appended to compare settings the role does not have yet).
    Returns (process, port, settings)."""
    port = _free_port()
    text, _ = render_role_template("gunicorn.conf.py.j2", {"shopdb_app_port": port,
                                                                 "shopdb_app_bind_address": "127.0.0.1"})
    if extra_settings:
        text += "\n# bench/api.py --gunicorn\n" + "".join(f"{line}\n" for line in extra_settings)
    conf = workdir / "gunicorn.conf.py"
    conf.write_text(text)
    log = open(workdir / "gunicorn.log", "w")
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    process = subprocess.Popen([gunicorn, "--config", str(conf), "app:create_app()"],
                               env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    _wait_ready(process, port, workdir / "gunicorn.log", "/api/ready")
    rendered = {}
    exec(text, rendered)  # the settings exactly as gunicorn reads them (hooks and imports left out)
    settings = {k: v for k, v in rendered.items()
                if not k.startswith("__") and k != "bind" and isinstance(v, (bool, int, float, str, list))}
    return process, port, settings


FLOOR_APP = """
import os

BODY = open(os.environ["BENCH_FLOOR_BODY"], "rb").read()
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
"""


def start_floor(env, workdir, settings, body):
    """gunicorn with the app's *settings* (hooks left out: there is no app to fork from) serving FLOOR_APP,
    which answers every request with *body*. Returns (process, port)."""
    floor = workdir / "floor"
    floor.mkdir()
    (floor / "floor_app.py").write_text(FLOOR_APP)
    (floor / "body.json").write_bytes(body)
    port = _free_port()
    conf = {**settings, "bind": f"127.0.0.1:{port}"}
    (floor / "gunicorn.conf.py").write_text("".join(f"{k} = {v!r}\n" for k, v in conf.items()))
    log = open(floor / "gunicorn.log", "w")
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    process = subprocess.Popen([gunicorn, "--config", str(floor / "gunicorn.conf.py"), "--chdir", str(floor),
                                "floor_app:application"], env=dict(env, BENCH_FLOOR_BODY=str(floor / "body.json")),
                               stdout=log, stderr=subprocess.STDOUT)
    _wait_ready(process, port, floor / "gunicorn.log", "/")
    return process, port


def _wait_ready(process, port, log, path):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise SystemExit("gunicorn did not become ready within 60 s")


def _get(port, url, token):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    return connection.getresponse().read()


def _gunicorn_setting(text):
    """`name=value` (value a Python literal) as a line of gunicorn.conf.py; argparse's type check."""
    name, sep, value = text.partition("=")
    try:
        if not (sep and name.isidentifier()):
            raise ValueError
        ast.literal_eval(value)
    except (ValueError, SyntaxError):
        raise argparse.ArgumentTypeError(f"{text!r}: use NAME=VALUE with a Python literal, e.g. threads=2 or "
                                         "worker_class='gthread'") from None
    return f"{name} = {value}"


def worker_pids(master):
    """The gunicorn workers of *master* (its child processes)."""
    result = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
    return [int(pid) for pid in result.stdout.split()]


def best_of(rounds):
    """The round with the highest throughput, with every round's req/s beside it (the host is shared)."""
    best = dict(max(rounds, key=lambda r: r["req_per_s"]))
    best["req_per_s_each_round"] = [r["req_per_s"] for r in rounds]
    return best


def compare(report, baseline):
    """Put *baseline*'s figures (an earlier bench/results/api.json) beside this run's, as `before`."""
    for name, now in report["scenarios"].items():
        then = baseline.get("scenarios", {}).get(name)
        if then:
            now["before"] = {"finished_at": baseline.get("finished_at"), "ratio": then["ratio"],
                             "queries_per_request": then["queries_per_request"],
                             "round_trips_per_request": then.get("round_trips_per_request"),
                             **{side: {k: then[side][k] for k in ("req_per_s", "p50_ms", "p99_ms")}
                                for side in ("api", "ceiling")}}
            print(f"api: {name:17} before -> after: API {then['api']['req_per_s']} -> {now['api']['req_per_s']} "
                  f"req/s, p50 {then['api']['p50_ms']} -> {now['api']['p50_ms']} ms, p99 {then['api']['p99_ms']} "
                  f"-> {now['api']['p99_ms']} ms, ratio {then['ratio']} -> {now['ratio']}, round trips "
                  f"{then.get('round_trips_per_request', '?')} -> {now['round_trips_per_request']}")


# --- the benchmark ----------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=15, help="seconds of load per scenario, API and ceiling each")
    parser.add_argument("--rounds", type=int, default=2,
                        help="API and ceiling alternate this many times per scenario; the best of each counts")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--only", nargs="+", metavar="SCENARIO", help="run only these scenarios (e.g. detail)")
    parser.add_argument("--gunicorn", action="append", default=[], metavar="NAME=VALUE", type=_gunicorn_setting,
                        help="a gunicorn setting on top of the role's (Python literal), e.g. worker_class='gthread'; "
                             "repeat for more")
    parser.add_argument("--baseline", type=Path, metavar="FILE",
                        help="an earlier bench/results/api.json to show before -> after (copy it aside first)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `apt-get install wrk` (scripts/setup.sh installs it).")
    baseline = json.loads(args.baseline.read_text()) if args.baseline else None

    report = {"machine": machine(), "concurrency": args.concurrency, "seconds_per_run": args.seconds,
              "rounds": args.rounds, "load_generator": "wrk -t2"}
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
        sql, round_trips = capture_sql([u for _, urls in scenarios.values() for u in urls] + per_page_urls, token)
        report["queries_per_list_request"] = {str(n): len(sql[u]) for n, u in zip(PER_PAGE_SIZES, per_page_urls)}
        report["queries_constant"] = len(set(report["queries_per_list_request"].values())) == 1
        print(f"api: queries per list request by per_page: {report['queries_per_list_request']}")

        process, port, settings = start_gunicorn(env, workdir, args.gunicorn)
        workers, pids = int(settings["workers"]), worker_pids(process.pid)
        report["gunicorn"] = settings
        report["scenarios"] = {}
        try:
            for name, (kind, urls) in scenarios.items():
                plan = [sql[u] for u in urls]
                http_load(port, urls, 3, args.concurrency, token, workdir, pids)  # warm-up
                ceiling_load(database, plan, 3, workers)
                apis, ceilings, floors = [], [], []
                floor = start_floor(env, workdir, settings, _get(port, urls[0], token)) if kind == "detail" else None
                try:
                    for _ in range(args.rounds):
                        apis.append(http_load(port, urls, args.seconds, args.concurrency, token, workdir, pids))
                        ceilings.append(ceiling_load(database, plan, args.seconds, workers))
                        if floor:
                            floors.append(http_load(floor[1], urls, args.seconds, args.concurrency, token, workdir,
                                                    worker_pids(floor[0].pid)))
                finally:
                    if floor:
                        floor[0].terminate()
                        floor[0].wait(timeout=30)
                api, ceiling = best_of(apis), best_of(ceilings)
                ratio = round(api["req_per_s"] / ceiling["req_per_s"], 2)
                page_alone = None
                if kind == "list":
                    # The limit a list can reach: the same statements without the count (docs/adr/0008).
                    alone_plan = [[q for q in statements if "count(" not in q.lower()] for statements in plan]
                    page_alone = best_of([ceiling_load(database, alone_plan, args.seconds, workers)
                                          for _ in range(args.rounds)])
                report["scenarios"][name] = {
                    "kind": kind, "url": urls[0] if len(urls) == 1 else f"{len(urls)} URLs like {urls[0]}",
                    "queries_per_request": len(plan[0]), "round_trips_per_request": round_trips[urls[0]],
                    "sql": plan[0], "explain": explain(database, plan[0]),
                    "api": api, "ceiling": ceiling, "ratio": ratio, "target": TARGETS[kind],
                    "meets_target": ratio >= TARGETS[kind] and api["errors"] == 0}
                if page_alone:
                    alone_ratio = round(api["req_per_s"] / page_alone["req_per_s"], 2)
                    report["scenarios"][name].update(
                        page_alone=page_alone, page_alone_ratio=alone_ratio, page_alone_target=PAGE_ALONE_TARGET,
                        meets_page_alone_target=alone_ratio >= PAGE_ALONE_TARGET and api["errors"] == 0)
                    print(f"api: {name:17} page alone (no count) {page_alone['req_per_s']:7.1f} req/s | "
                          f"ratio {alone_ratio:.2f} (target {PAGE_ALONE_TARGET})")
                print(f"api: {name:17} API {api['req_per_s']:7.1f} req/s p50 {api['p50_ms']:7.1f} ms "
                      f"p99 {api['p99_ms']:7.1f} ms | ceiling {ceiling['req_per_s']:7.1f} req/s "
                      f"p50 {ceiling['p50_ms']:6.1f} ms p99 {ceiling['p99_ms']:6.1f} ms | ratio {ratio:.2f} "
                      f"(target {TARGETS[kind]}) queries {len(plan[0])} round trips {round_trips[urls[0]]} "
                      f"errors {api['errors']}")
                print(f"api: {name:17} CPU ms per request: API {api['cpu_ms_per_request']} | "
                      f"ceiling {ceiling['cpu_ms_per_request']}")
                if floors:
                    server_floor = best_of(floors)
                    # An app that cost nothing but its SQL would still pay the server's and the load
                    # generator's CPU (the floor's) and the SQL's (the ceiling's) on the same cores.
                    floor_cpu, sql_cpu = server_floor["cpu_ms_per_request"], ceiling["cpu_ms_per_request"]
                    per_request_ms = (floor_cpu["gunicorn_workers"] + floor_cpu["wrk"]
                                      + sql_cpu["pymysql_processes"] + sql_cpu["mariadb_all_clients"])
                    bound = round(1000 * os.cpu_count() / per_request_ms / ceiling["req_per_s"], 2)
                    report["scenarios"][name].update(
                        server_floor=server_floor,
                        server_floor_ratio=round(server_floor["req_per_s"] / ceiling["req_per_s"], 2),
                        zero_cost_app_cpu_ms_per_request=round(per_request_ms, 3),
                        zero_cost_app_ratio_bound=bound)
                    print(f"api: {name:17} server floor (same gunicorn, a WSGI callable returning the same bytes) "
                          f"{server_floor['req_per_s']:7.1f} req/s, ratio "
                          f"{report['scenarios'][name]['server_floor_ratio']:.2f}; CPU ms per request "
                          f"{floor_cpu}")
                    print(f"api: {name:17} an app costing only its SQL would need {per_request_ms:.3f} ms of CPU per "
                          f"request (floor + ceiling) on {os.cpu_count()} CPUs: ratio at most {bound:.2f}")
        finally:
            process.terminate()
            process.wait(timeout=30)
    first, deep = (report["scenarios"].get(k) for k in ("list_first_page", "list_last_page"))
    if first and deep:
        cost = round(first["api"]["req_per_s"] / deep["api"]["req_per_s"], 2)
        report["deep_page_cost"] = {"times_first_page": cost, "target_at_most": DEEP_PAGE_MAX_COST,
                                    "meets_target": cost <= DEEP_PAGE_MAX_COST}
        print(f"api: the last page costs {cost:.2f}x the first (target at most {DEEP_PAGE_MAX_COST})")
    if baseline:
        compare(report, baseline)
    write_result("api", report)


if __name__ == "__main__":
    main()
