"""ansible/site.yml on a site that serves, with a value that passes preflight but is wrong for the site (issue
17, §2): the role whose service it breaks puts the previous configuration back, the site keeps serving
through it (a read probe through the proxy the whole time), and the run fails naming the change. The roles'
own scenarios hold the other cases (db: a port the server cannot take; proxy: an upstream port nothing
listens on); this one runs the whole playbook. Runs first (file order) and leaves the site as it found it."""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT))
from tests.fleet.playbook import run as playbook  # noqa: E402
from tests.fleet.probe import Probe  # noqa: E402

testinfra_hosts = ["podman://shopdb-site-bookworm"]
FILES = ("/etc/shopdb/shopdb.env", "/etc/shopdb/gunicorn.conf.py", "/etc/nginx/nginx.conf",
         "/etc/mysql/mariadb.conf.d/60-shopdb.cnf")


def site_yml(*args):
    rc, out, _ = playbook("site.yml", "--limit", "site_bookworm", *args)
    return rc, out


def test_a_database_password_the_database_refuses_is_undone_and_the_site_keeps_serving(host):
    token = host.check_output("/usr/local/sbin/shopdb-flask token create --username admin --name guard-probe").split()[-1]
    address = host.run("hostname -I").stdout.split()[0]
    before = host.check_output(f"sha256sum {' '.join(FILES)}")
    master = host.check_output("systemctl show -p MainPID --value shopdb")
    with Probe(f"https://{address}/api/locations", headers={"Authorization": f"Bearer {token}"}) as p:
        rc, out = site_yml("-e", json.dumps({"shopdb_app_db_password": "a-valid-but-wrong-password-4x9"}))
    assert rc != 0, out[-4000:]
    assert "The change to /etc/shopdb/shopdb.env on shopdb-site-bookworm was undone" in out, out[-4000:]
    assert "Access denied" in out and "the app is ready again" in out, out[-4000:]
    assert host.check_output(f"sha256sum {' '.join(FILES)}") == before
    assert host.run("ls /etc/shopdb | grep '~$'").stdout == ""
    print(f"guard (wrong db password): {len(p.samples)} requests through the proxy, {len(p.failures)} failed; "
          f"app master {master} -> {host.check_output('systemctl show -p MainPID --value shopdb')}")
    assert p.samples and p.failures == [], p.failure_kinds()
