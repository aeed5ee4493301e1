"""The API fuzzed from its own OpenAPI document by schemathesis, against a real `flask run` server.

Every check schemathesis has, a fixed seed and a bounded number of examples per operation: any 5xx, any response
the document does not describe (status, headers, body) and any invalid input the API accepts fails the test.
The server runs on its own fresh SQLite database, migrated and seeded, with every first-party plugin enabled; it
is called with a Bearer API token (the login throttle, which counts failed logins, never locks the run out). The
admin the token belongs to, and the token, have ids the fuzzer will not pick, so a fuzzed DELETE /api/tokens/{id}
or PATCH /api/users/{id} cannot cut the run's own access off half-way.
"""

import json
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import update

from app import create_app
from app.auth import hash_password, issue_api_token
from app.extensions import db
from app.models import ApiToken, User

SEED = 20261203
MAX_EXAMPLES = int(os.environ.get("SHOPDB_FUZZ_EXAMPLES", "10"))
CONFIG = Path(__file__).with_name("schemathesis.toml")
# Far from 0, 1, the small numbers and the bounds that generators favour.
FUZZ_ADMIN_ID = 1_000_003
PLUGINS = ("computers", "equipment", "printers")


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _process_cpu(pid):
    """User and system CPU seconds a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_env(url):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHOPDB_", "FLASK_"))}
    return env | {"SHOPDB_ENV": "testing", "SHOPDB_DATABASE_URL": url, "SHOPDB_LOG_LEVEL": "WARNING"}


def _prepare_database(url):
    """Migrate and seed *url* and enable the plugins, as a deploy does (`flask setup`, from outside the repo, where
    pytest's own `tests/plugins` cannot shadow the plugins package); return an admin's API token."""
    setup = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "setup",
                            *(arg for name in PLUGINS for arg in ("--plugin", name))],
                           env=_server_env(url), cwd="/", capture_output=True, text=True, timeout=120)
    assert setup.returncode == 0, setup.stderr
    app = create_app("testing", overrides={"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        admin = User(id=FUZZ_ADMIN_ID, username="fuzz-admin", role="admin",
                     password_hash=hash_password("fuzz admin password, never used"))
        db.session.add(admin)
        db.session.flush()
        row, token = issue_api_token(admin, "schemathesis")
        db.session.flush()
        db.session.execute(update(ApiToken).where(ApiToken.id == row.id).values(id=FUZZ_ADMIN_ID))
        db.session.commit()
        db.engine.dispose()
    return token


@pytest.fixture
def server(tmp_path):
    """A `flask run` development server on a free 127.0.0.1 port; yields (base URL, admin API token, its pid)."""
    url = f"sqlite:///{tmp_path}/fuzz.sqlite"
    token = _prepare_database(url)
    port = _free_port()
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed below, after the server stops
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "run", "--host", "127.0.0.1",
                                "--port", str(port)], env=_server_env(url), cwd="/", stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/health", timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the server did not start: {(tmp_path / 'server.log').read_text()}")
                time.sleep(0.2)
        yield base, token, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.mark.slow  # a minute or two: left out of make test-fast, run by make test
def test_schemathesis_finds_no_server_error_and_no_document_violation(server, tmp_path):
    base, token, server_pid = server
    cpu_before = _children_cpu()
    report = tmp_path / "schemathesis.json"
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run",
               f"{base}/api/openapi.json", "--checks", "all", "--seed", str(SEED), "--max-examples", str(MAX_EXAMPLES),
               "--workers", "1", "--no-color", "--generation-database", "none",
               "--report", "json", "--report-json-path", str(report)]
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path,
                            env=os.environ | {"SHOPDB_FUZZ_TOKEN": token})
    elapsed = time.monotonic() - started
    cpu = _children_cpu() - cpu_before + _process_cpu(server_pid)
    output = result.stdout[-30000:] + result.stderr[-5000:]
    summary = json.loads(report.read_text())
    by_phase = {}
    for phases in summary["valid_rates"].values():
        for phase, counts in phases.items():
            by_phase[phase] = by_phase.get(phase, 0) + sum(counts.values())
    print(f"schemathesis: {summary['operations']['tested']} operations, {summary['test_cases']['generated']} cases "
          f"{by_phase}, {summary['test_cases']['unique_failures']} unique failures, {len(summary['errors'])} errors, "
          f"{elapsed:.0f} s wall, {cpu:.0f} s CPU")
    assert summary["operations"]["tested"] == summary["operations"]["total"], output
    assert summary["failures"] == [] and summary["errors"] == [], output
    assert result.returncode == 0, output
    # The budget is CPU time (the fuzzer's and the server's), which does not grow when other jobs share the machine:
    # under 3 minutes of it is under 3 minutes of wall time on an otherwise idle machine.
    assert cpu < 180, f"the fuzz run took {cpu:.0f} s of CPU; keep it under 3 minutes (fewer examples)"
