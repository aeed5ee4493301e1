"""The database as the site sees it: who may connect from where, and what they may touch."""

import os
import subprocess

import pytest


def secret(name):
    """A throwaway secret of this scenario run (molecule.yml generates it into the ephemeral directory)."""
    with open(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "secrets", name)) as f:
        return f.read().split()[0]


testinfra_hosts = ["podman://shopdb-db-bookworm", "podman://shopdb-db-trixie"]
# Each container is the other one's app host (see molecule.yml).
PEER = {"shopdb-db-bookworm": "shopdb-db-trixie", "shopdb-db-trixie": "shopdb-db-bookworm"}
APP_PW = secret("db-app-password")
# MariaDB 11.8's client insists on TLS, which 10.11's server does not offer; these tests are about who
# may log in, so TCP clients go without TLS.
TCP = "--skip-ssl"
BACKUP_PW = secret("db-backup-password")


def name(host):
    return host.backend.name


def address(host):
    return host.run("hostname -I").stdout.split()[0]


@pytest.fixture
def peer(host):
    import testinfra

    return testinfra.get_host(f"podman://{PEER[name(host)]}")


def sql(host, query, *args):
    return host.run("mariadb -N -B " + " ".join(args) + " -e %s", query)


def test_server_listens_on_the_private_address_only(host):
    listeners = host.run("ss -Hltn 'sport = :3306'").stdout.split("\n")
    local = {line.split()[3] for line in listeners if line.strip()}
    assert local == {f"{address(host)}:3306"}


def test_root_logs_in_by_socket(host):
    assert sql(host, "SELECT CURRENT_USER()").stdout.strip() == "root@localhost"


def test_root_cannot_log_in_over_tcp(host, peer):
    for client in (host, peer):
        for password in ("", "-proot"):
            r = client.run(f"mariadb {TCP} -h {address(host)} -u root {password} -e 'SELECT 1'")
            assert r.rc != 0
            assert "denied" in r.stderr or "not allowed" in r.stderr, r.stderr


def test_no_anonymous_users_no_test_database(host):
    assert sql(host, "SELECT COUNT(*) FROM mysql.user WHERE User = ''").stdout.strip() == "0"
    assert "test" not in sql(host, "SHOW DATABASES").stdout.split()
    assert sql(host, "SELECT COUNT(*) FROM mysql.db WHERE Db LIKE 'test%'").stdout.strip() == "0"


def test_app_schema_is_utf8mb4(host):
    r = sql(host, "SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'shopdb'")
    assert r.stdout.strip() == "utf8mb4"
    assert sql(host, "SELECT @@character_set_server").stdout.strip() == "utf8mb4"


def test_app_user_exists_only_for_the_app_host(host, peer):
    hosts = sql(host, "SELECT Host FROM mysql.user WHERE User = 'shopdb'").stdout.split()
    assert hosts == [address(peer)]


def test_app_user_from_the_app_host_sees_its_own_schema_only(host, peer):
    login = f"mariadb {TCP} -N -B -h {address(host)} -u shopdb -p{APP_PW}"
    r = peer.run(f"{login} shopdb -e 'CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY); SHOW DATABASES'")
    assert r.rc == 0, r.stderr
    assert set(r.stdout.split()) == {"information_schema", "shopdb"}
    for query in ("SELECT * FROM mysql.user", "SELECT * FROM mysql.global_priv", "USE mysql", "CREATE DATABASE other"):
        r = peer.run(f"{login} -e '{query}'")
        assert r.rc != 0 and "denied" in r.stderr, (query, r.stdout, r.stderr)


def test_app_user_cannot_connect_from_another_host(host):
    # This container is not an app host of its own site: the same password is refused from here.
    r = host.run(f"mariadb {TCP} -h {address(host)} -u shopdb -p{APP_PW} shopdb -e 'SELECT 1'")
    assert r.rc != 0, r.stdout
    assert "not allowed" in r.stderr or "denied" in r.stderr, r.stderr


def test_backup_user_can_dump_but_not_write(host):
    host.run(f"printf '[client]\\nuser=shopdb_backup\\npassword={BACKUP_PW}\\n' > /root/.bk.cnf && chmod 600 /root/.bk.cnf")
    sql(host, "CREATE TABLE IF NOT EXISTS shopdb.dumped (id INT PRIMARY KEY); INSERT IGNORE INTO shopdb.dumped VALUES (1)")
    r = host.run("mariadb-dump --defaults-extra-file=/root/.bk.cnf --single-transaction --routines --triggers "
                 "--events --no-tablespaces shopdb")
    assert r.rc == 0, r.stderr
    assert "INSERT INTO `dumped`" in r.stdout
    r = host.run("mariadb --defaults-extra-file=/root/.bk.cnf shopdb -e 'INSERT INTO dumped VALUES (2)'")
    assert r.rc != 0 and "denied" in r.stderr
    host.run("rm -f /root/.bk.cnf")


def test_buffer_pool_is_sized_from_memory(host):
    mem_mb = int(host.file("/proc/meminfo").content_string.split()[1]) // 1024
    want = max(128, int(mem_mb * 0.25))
    got = int(sql(host, "SELECT @@innodb_buffer_pool_size").stdout) // (1024 * 1024)
    # The server rounds the size up to whole chunks (128 MB by default).
    assert want <= got < want + 1024


CONF = "/etc/mysql/mariadb.conf.d/60-shopdb.cnf"


def converge(host, extra):
    """The scenario's converge.yml against one container with extra variables (JSON)."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "ansible.cfg"))
    return subprocess.run(
        ["ansible-playbook", "-i", os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"]), "-l", name(host),
         "-e", extra, os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "converge.yml")],
        env=env, capture_output=True, text=True, check=False, timeout=600)


def test_a_bad_setting_is_refused_before_the_server_sees_it(host):
    """Converge with an unknown option: the play fails at the validated template, the server keeps running."""
    if name(host) != "shopdb-db-bookworm":
        pytest.skip("one host is enough for this converge")
    conf = CONF
    before = host.file(conf).content_string
    r = converge(host, '{"shopdb_db_extra_settings": {"no_such_option": 1}}')
    assert r.returncode != 0
    # Molecule's ansible.cfg sends failures to stderr (display_failed_stderr).
    assert "unknown variable 'no_such_option" in r.stdout + r.stderr, r.stderr[-3000:]
    assert host.file(conf).content_string == before
    assert host.service("mariadb").is_running


def test_a_buffer_pool_larger_than_the_host_is_refused_before_any_change(host):
    if name(host) != "shopdb-db-bookworm":
        pytest.skip("one host is enough for this converge")
    before = host.file(CONF).content_string
    r = converge(host, '{"shopdb_db_innodb_buffer_pool_mb": 4000000}')
    out = r.stdout + r.stderr
    assert r.returncode != 0 and "The InnoDB buffer pool would be 4000000 MB" in out, out[-3000:]
    assert "Install the database server" not in out  # preflight stopped the play
    assert host.file(CONF).content_string == before


def test_a_port_the_server_cannot_take_is_undone_and_the_server_keeps_answering(host):
    """Valid in form, wrong for the host: another process holds the port, so the restarted server cannot bind.
    The role puts the previous settings back, the server answers on them, the run fails naming the change."""
    if name(host) != "shopdb-db-bookworm":
        pytest.skip("one host is enough for this converge")
    before = host.file(CONF).content_string
    host.check_output("systemd-run --unit squatter python3 -m http.server --bind 0.0.0.0 3399")
    try:
        r = converge(host, '{"shopdb_db_port": 3399}')
    finally:
        host.run("systemctl stop squatter")
    out = r.stdout + r.stderr
    assert r.returncode != 0, out[-3000:]
    assert f"The change to {CONF}" in out and "was undone" in out, out[-3000:]
    assert "The previous settings are back and the server answers again" in out
    assert host.file(CONF).content_string == before
    assert host.service("mariadb").is_running
    assert sql(host, "SELECT @@port").stdout.strip() == "3306"
    assert host.run("ls /etc/mysql/mariadb.conf.d/ | grep '~$'").stdout == ""  # no copy left behind
