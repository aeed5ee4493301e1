"""Helpers the benchmarks share: a throw-away MariaDB database and user, the role's gunicorn settings,
percentiles, the machine's busy CPU time, and writing bench/results/<name>.json."""

import json
import os
import platform
import secrets
import shlex
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pymysql
import yaml

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SOCKET = "/run/mysqld/mysqld.sock"
APP_ROLE = ROOT / "ansible" / "roles" / "shopdb_app"


def root_connect(**kwargs):
    """root over the unix socket (how the host's MariaDB is administered)."""
    return pymysql.connect(unix_socket=SOCKET, user="root", autocommit=True, **kwargs)


def root_sql(*statements):
    with root_connect() as connection, connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


@contextmanager
def bench_database(purpose):
    """A fresh `shopdb_bench_<purpose>_<hex>` database and a user with a random password allowed only on it
    (over TCP on 127.0.0.1, as the app role connects). Yields dict(name, user, password); both are dropped after."""
    suffix = secrets.token_hex(3)
    name, user, password = f"shopdb_bench_{purpose}_{suffix}", f"bench_{suffix}", secrets.token_urlsafe(24)
    root_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
             f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}'",
             f"GRANT ALL PRIVILEGES ON {name}.* TO '{user}'@'127.0.0.1'")
    try:
        yield {"name": name, "user": user, "password": password}
    finally:
        root_sql(f"DROP DATABASE IF EXISTS {name}", f"DROP USER IF EXISTS '{user}'@'127.0.0.1'")


def app_env(database):
    """The environment the app role renders (production, random secrets), pointing at *database*."""
    env = dict(os.environ)
    env.update({
        "SHOPDB_ENV": "production",
        "SHOPDB_SECRET_KEY": secrets.token_urlsafe(48),
        "SHOPDB_JWT_SECRET_KEY": secrets.token_urlsafe(48),
        "SHOPDB_DATABASE_URL": (f"mysql+pymysql://{database['user']}:{database['password']}@127.0.0.1:3306/"
                                f"{database['name']}?charset=utf8mb4"),
        "SHOPDB_LOG_LEVEL": "INFO",
        "SHOPDB_PLUGINS_STRICT": "true",
    })
    return env


def flask(env, *args, stdin=None):
    """Run `flask --app app ...` like the app role's shopdb-flask wrapper; returns stdout."""
    result = subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "app", *args], env=env, cwd=ROOT,
                            input=stdin, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout


# --- the app role's gunicorn settings ---------------------------------------------------------------

def render_role_template(template, overrides=None, role=APP_ROLE, vars_files=()):
    """Render one of *role*'s templates with the role's defaults and vars/main.yml (plus *vars_files* from
    its vars/), as Ansible would on this machine.

    Facts are this host's (processor_vcpus = CPUs here), so `workers` follows the role's own formula.
    *overrides* win over both (like -e), e.g. the port. Returns (text, resolved variables).
    """
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             extensions=["jinja2.ext.do"])
    env.filters["comment"] = lambda text: "\n".join("# " + line for line in str(text).splitlines())
    env.filters["quote"] = lambda v: shlex.quote(str(v))
    env.filters["bool"] = lambda v: str(v).lower() in ("1", "true", "yes", "on") if isinstance(v, str) else bool(v)
    raw = {}
    for path in [role / "defaults" / "main.yml", role / "vars" / "main.yml", *(role / "vars" / f for f in vars_files)]:
        if path.exists():
            raw.update(yaml.safe_load(path.read_text()) or {})
    raw.update(overrides or {})
    context = {"ansible_facts": {"processor_vcpus": os.cpu_count()}, "ansible_managed": "Ansible managed",
               "shopdb_release": "bench"}
    pending = dict(raw)
    for _ in range(5):  # defaults may refer to each other: resolve what can be resolved
        for key, value in list(pending.items()):
            if isinstance(value, str) and "{{" in value:
                try:
                    value = yaml.safe_load(env.from_string(value).render(context)) if value.strip() else value
                except jinja2.TemplateError:  # needs an Ansible-only filter or fact: not used here
                    continue
            context[key] = value
            del pending[key]
    text = env.from_string((role / "templates" / template).read_text()).render(context)
    return text, context


# --- figures ----------------------------------------------------------------------------------------

def percentile(values, pct):
    """The *pct* percentile (nearest rank) of *values*, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary_ms(latencies_s):
    """p50/p99/max in milliseconds of latencies given in seconds."""
    return {"p50_ms": round(percentile(latencies_s, 50) * 1000, 2),
            "p99_ms": round(percentile(latencies_s, 99) * 1000, 2),
            "max_ms": round(max(latencies_s) * 1000, 2),
            "mean_ms": round(statistics.fmean(latencies_s) * 1000, 2)}


def machine():
    """What the figures were measured on (they are only comparable within one run)."""
    with root_connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT VERSION(), @@innodb_buffer_pool_size")
        version, pool = cursor.fetchone()
    load = os.getloadavg()
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "mariadb": version,
            "innodb_buffer_pool_mb": int(pool) // 2**20, "kernel": platform.release(),
            "loadavg_at_start": [round(x, 2) for x in load]}


def cpu_busy_seconds():
    """Busy CPU seconds of the whole machine so far, summed over its CPUs: /proc/stat's user, nice, system, irq,
    softirq and steal (everything but idle and iowait; guest time is inside user already)."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def write_result(name, data):
    """Write bench/results/<name>.json and print where."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"benchmark": name, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **data}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"{name}: results written to {path.relative_to(ROOT)}")
    return path
