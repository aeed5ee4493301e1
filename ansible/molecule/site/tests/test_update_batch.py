"""ansible/update.yml with the scenario's two one-host sites in one batch (shopdb_update_sites_per_batch=2),
one of them failing: site_trixie's database has drifted (a table the release's migration creates already
exists there), so its migration fails at its first statement. Both sites update side by side; site_trixie is
rolled back (its schema unchanged, so nothing to restore) and keeps its data, site_bookworm ends on the
release, and the run ends non-zero naming the failed site and the database's own error. Runs after
test_site.py (file order)."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import testinfra

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT))
from tests.fleet.releases import good_release_for_each_python, version_of  # noqa: E402

BOOKWORM, TRIXIE = (testinfra.get_host(f"podman://shopdb-site-{n}") for n in ("bookworm", "trixie"))
# The scenario's wheelhouse directory (molecule.yml): converge built release N there for Python 3.11 and 3.13.
WHEELHOUSE = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "wheelhouse"
REPORTS = ROOT / ".cache" / "fleet"
BASE = version_of(ROOT)
NEW = f"{BASE}.post1"
DRIFT = "CREATE TABLE fleet_marker (id INT PRIMARY KEY, note VARCHAR(40) NOT NULL); " \
        "INSERT INTO fleet_marker VALUES (7, 'made by hand on this site')"


@pytest.fixture(scope="module")
def release():
    """Release N+1 (a copy of this tree with one more migration), its wheelhouse beside N's for each Python."""
    workdir = ROOT / ".cache" / "fleet-releases-site"
    yield good_release_for_each_python(WHEELHOUSE, workdir, pythons=2)
    shutil.rmtree(workdir, ignore_errors=True)


def sql(host, statement):
    return host.check_output(f"mariadb -N -B shopdb -e \"{statement}\"")


def current_release(host):
    return Path(host.check_output("readlink /opt/shopdb/current")).name


def ready(host):
    address = host.run("hostname -I").stdout.split()[0]
    return subprocess.run(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", f"https://{address}/api/ready"],
                          capture_output=True, text=True).stdout == "200"


def test_a_site_failing_in_a_batch_is_rolled_back_and_the_others_finish(release):
    sql(TRIXIE, DRIFT)
    revision_before = sql(TRIXIE, "SELECT version_num FROM alembic_version ORDER BY 1")
    for site in ("site_bookworm", "site_trixie"):
        (REPORTS / f"update-{site}.json").unlink(missing_ok=True)

    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(ROOT / "ansible" / "roles"), ANSIBLE_FORCE_COLOR="0")
    t0 = time.monotonic()
    run = subprocess.run(["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"],
                          str(ROOT / "ansible" / "update.yml"), "-e", f"shopdb_release={NEW}",
                          "-e", f"shopdb_app_source_dir={release}", "-e", "shopdb_update_sites_per_batch=2"],
                         cwd=ROOT, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    out = run.stdout + run.stderr
    print(out[-8000:])
    print(f"FIGURE two sites in one batch, one failing: {time.monotonic() - t0:.1f} s")

    # The run fails, and says which site and why; the other site is not reported as failed.
    assert run.returncode != 0
    assert (f"site_trixie: update to {NEW} FAILED and was rolled back (database unchanged): migrations of {NEW} "
            "failed on shopdb-site-trixie: sqlalchemy.exc.OperationalError: (pymysql.err.OperationalError) "
            "(1050, \"Table 'fleet_marker' already exists\")") in out
    assert "site_bookworm: update to" not in out
    summaries = {s: json.loads((REPORTS / f"update-{s}.json").read_text()) for s in ("site_bookworm", "site_trixie")}
    assert summaries["site_bookworm"]["result"] == "ok", summaries
    assert summaries["site_trixie"]["result"] == "rolled back", summaries
    assert not summaries["site_trixie"]["database_restored"], summaries

    # site_bookworm runs the release with its migration; site_trixie is back on N with its data as it was.
    assert current_release(BOOKWORM) == NEW
    assert sql(BOOKWORM, "SELECT id, note FROM fleet_marker") == "1\tadded by fleet_0001"
    assert current_release(TRIXIE) == BASE
    assert sql(TRIXIE, "SELECT version_num FROM alembic_version ORDER BY 1") == revision_before
    assert sql(TRIXIE, "SELECT id, note FROM fleet_marker") == "7\tmade by hand on this site"
    assert ready(BOOKWORM) and ready(TRIXIE)
