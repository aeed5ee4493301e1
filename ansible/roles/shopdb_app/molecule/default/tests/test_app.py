"""The app role's own contract on a one-host site (database from the shopdb_db role): the unprivileged
user, the release layout and pruning, the environment file, the hardened unit as it runs, gunicorn's
workers, the site's plugin, readiness, the first admin created once, and check mode."""

import json
import os
import re
import subprocess
import tempfile

import pytest


def secret(name):
    """A throwaway secret of this scenario run (molecule.yml generates it into the ephemeral directory)."""
    with open(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "secrets", name)) as f:
        return f.read().split()[0]


testinfra_hosts = ["podman://shopdb-app-bookworm", "podman://shopdb-app-trixie"]
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 6))
BASE = "/opt/shopdb"
CLI = "/usr/local/sbin/shopdb-flask"
ADMIN_PW = secret("admin-password")
CONVERGE_HOST = "shopdb-app-bookworm"  # runs another converge after the admin changed its password
CHECK_HOST = "shopdb-app-trixie"  # runs --check --diff


def name(host):
    return host.backend.name


def release():
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        return re.search(r'(?m)^version\s*=\s*"([^"]+)"', f.read()).group(1)


def main_pid(host):
    pid = host.check_output("systemctl show -P MainPID shopdb")
    assert pid not in ("", "0"), "shopdb is not running"
    return pid


def in_service_namespace(host, script):
    """Run *script* (as root, from this machine) in the mount namespace of the running gunicorn master."""
    pid = main_pid(host)
    rows = subprocess.run(["podman", "top", name(host), "pid", "hpid"], capture_output=True, text=True,
                          check=True).stdout.splitlines()[1:]
    host_pid = next(row.split()[1] for row in rows if row.split()[:1] == [pid])
    return subprocess.run(["nsenter", "-t", host_pid, "-m", "--", "sh", "-c", script],
                          capture_output=True, text=True, check=False)


def api(host, method, path, body=None, token=None):
    """A request to gunicorn on the host's loopback; returns (status, JSON body)."""
    cmd = f"curl -s -o /tmp/api.json -w '%{{http_code}}' -X {method} http://127.0.0.1:8000{path}"
    if token:
        cmd += f" -H 'Authorization: Bearer {token}'"
    if body is not None:
        cmd += f" -H 'Content-Type: application/json' -d '{json.dumps(body)}'"
    status = int(host.check_output(cmd))
    return status, json.loads(host.file("/tmp/api.json").content_string or "null")


def start_playbook(container, *args):
    """Start the scenario's converge.yml against one container, with Molecule's inventory and settings."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "ansible.cfg"))
    log = tempfile.TemporaryFile("w+")  # not a pipe: a full pipe would stall the run until it is read
    run = subprocess.Popen(
        ["ansible-playbook", "-i", os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"]), "-l", container, *args,
         os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "converge.yml")],
        env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    run.log = log
    return run


def changes(container, run):
    """Wait for a started playbook; it must succeed. Returns (changed count, output)."""
    run.wait(timeout=600)
    run.log.seek(0)
    out = run.log.read()
    assert run.returncode == 0, out[-4000:]
    recap = re.search(rf"^{container}\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", out, re.M)
    assert recap, out[-4000:]
    return int(recap.group(1)), out


@pytest.fixture(scope="module", autouse=True)
def check_mode_run():
    """`--check --diff` on the converged trixie host, started with the first test and run alongside the others
    (it changes nothing, so it may overlap them): the suite waits for it once, in its own test."""
    run = start_playbook(CHECK_HOST, "--check", "--diff")
    yield run
    if run.poll() is None:
        run.kill()
        run.wait()
    run.log.close()


def test_the_app_user_is_a_system_user_without_a_login_shell(host):
    user = host.user("shopdb")
    assert user.shell == "/usr/sbin/nologin"
    assert user.uid < 1000 and user.group == "shopdb"
    assert user.home == BASE
    # It owns nothing: code and configuration belong to root.
    assert host.check_output(f"find {BASE} /etc/shopdb /usr/local/sbin -user shopdb") == ""


def test_the_release_is_installed_and_older_ones_are_pruned(host):
    version = release()
    current = host.file(f"{BASE}/current")
    assert current.is_symlink and current.linked_to == f"{BASE}/releases/{version}"
    # prepare.yml left 0.0.1 to 0.0.3; shopdb_app_keep_releases: 2 keeps the newest of them and the new one.
    assert sorted(host.file(f"{BASE}/releases").listdir()) == ["0.0.3", version]
    venv = host.file(f"{BASE}/releases/{version}/venv")
    assert (venv.user, venv.group) == ("root", "root")
    assert host.run(f"runuser -u shopdb -- touch {BASE}/releases/{version}/venv/x").rc != 0
    assert host.file(f"{BASE}/releases/{version}/.installed").content_string.strip() == version


def test_the_environment_file_is_readable_by_root_only(host):
    env = host.file("/etc/shopdb/shopdb.env")
    assert (env.user, env.group, env.mode) == ("root", "shopdb", 0o600)
    assert "SHOPDB_ENV='production'" in env.content_string
    assert host.run("runuser -u shopdb -- cat /etc/shopdb/shopdb.env").rc != 0
    # The CLI still runs as the app user with the service's environment (it reads the file as root).
    assert host.run(f"{CLI} config check").rc == 0


def test_the_unit_runs_gunicorn_hardened(host):
    props = dict(line.split("=", 1) for line in host.check_output(
        "systemctl show shopdb -p User -p Group -p UMask -p NoNewPrivileges -p ProtectSystem -p ProtectHome "
        "-p PrivateTmp -p PrivateDevices -p ProtectKernelTunables -p ProtectKernelModules -p ProtectKernelLogs "
        "-p ProtectControlGroups -p ProtectClock -p ProtectHostname -p RestrictNamespaces -p RestrictRealtime "
        "-p RestrictSUIDSGID -p LockPersonality -p CapabilityBoundingSet -p AmbientCapabilities "
        "-p RestrictAddressFamilies -p SystemCallArchitectures -p WorkingDirectory").splitlines())
    assert props.pop("User") == props.pop("Group") == "shopdb"
    assert props.pop("UMask") == "0027"
    assert props.pop("ProtectSystem") == "strict"
    assert props.pop("ProtectHome") == "yes"
    assert props.pop("RestrictNamespaces") == "yes"
    assert props.pop("CapabilityBoundingSet") == "" and props.pop("AmbientCapabilities") == ""
    assert props.pop("RestrictAddressFamilies").split() == ["AF_INET", "AF_INET6", "AF_UNIX"]
    assert props.pop("SystemCallArchitectures") == "native"
    assert props.pop("WorkingDirectory") == f"{BASE}/releases/{release()}"  # resolved, not `current`
    assert props == dict.fromkeys(props, "yes"), props
    # ... and in effect on the running master.
    pid = main_pid(host)
    status = dict(line.split(":\t", 1) for line in host.file(f"/proc/{pid}/status").content_string.splitlines())
    assert status["NoNewPrivs"] == "1"
    assert status["Seccomp"] == "2"  # a system call filter is loaded
    assert int(status["CapBnd"], 16) == 0 and int(status["CapEff"], 16) == 0
    assert host.check_output(f"stat -c %U /proc/{pid}") == "shopdb"
    # Its view of the file system, from its own mount namespace: code and configuration read-only,
    # its own /tmp, no home directories.
    host.check_output("touch /tmp/host-tmp-marker /root/host-home-marker")
    try:
        inside = in_service_namespace(host, f"touch {BASE}/x; touch /etc/shopdb/x; ls -A /tmp /root")
    finally:
        host.run(f"rm -f /tmp/host-tmp-marker /root/host-home-marker {BASE}/x /etc/shopdb/x")
    assert inside.stderr.count("Read-only file system") == 2, inside.stderr
    assert "host-tmp-marker" not in inside.stdout and "host-home-marker" not in inside.stdout, inside.stdout


def test_gunicorn_runs_a_worker_per_cpu_pair_plus_one(host):
    cpus = int(host.check_output("grep -c ^processor /proc/cpuinfo"))
    want = min(2 * cpus + 1, 8)
    assert f"workers = {want}\n" in host.file("/etc/shopdb/gunicorn.conf.py").content_string
    assert int(host.check_output(f"pgrep -c -P {main_pid(host)}")) == want


def test_the_site_plugin_is_installed_and_enabled(host):
    listing = host.check_output(f"{CLI} plugin list")
    assert any(line.split()[:1] == ["equipment"] and "enabled" in line for line in listing.splitlines()), listing


def test_the_app_is_ready(host):
    status, body = api(host, "GET", "/api/ready")
    assert status == 200, body
    assert body["status"] == "ready" and body["database"] == "ok"


def test_another_converge_keeps_a_changed_admin_password(host):
    """The first admin is created once: after the admin changed its password, a converge leaves it alone."""
    if name(host) != CONVERGE_HOST:
        pytest.skip("one host is enough for this converge")
    token = host.check_output(f"{CLI} token create --username admin --name molecule")
    status, me = api(host, "GET", "/api/auth/me", token=token)
    assert status == 200, me
    new_pw = "changed-by-the-admin-7Qx!"
    status, body = api(host, "PATCH", f"/api/users/{me['id']}", {"password": new_pw}, token=token)
    assert status == 200, body
    changed, out = changes(CONVERGE_HOST, start_playbook(CONVERGE_HOST))
    assert changed == 0, out[-4000:]
    assert api(host, "POST", "/api/auth/login", {"username": "admin", "password": new_pw})[0] == 200
    assert api(host, "POST", "/api/auth/login", {"username": "admin", "password": ADMIN_PW})[0] == 401


def test_check_mode_on_the_converged_host_predicts_no_change(host, check_mode_run):
    if name(host) != CHECK_HOST:
        pytest.skip("one host is enough for this run")
    changed, out = changes(CHECK_HOST, check_mode_run)
    assert changed == 0, out[-4000:]


def finished(run):
    """Wait for a started playbook that may fail; (return code, output)."""
    run.wait(timeout=600)
    run.log.seek(0)
    return run.returncode, run.log.read()


def guarded_state(host):
    """What a failed converge must leave as it found: the files the role renders, `current`, the master."""
    files = ("/etc/shopdb/shopdb.env", "/etc/shopdb/gunicorn.conf.py", "/etc/systemd/system/shopdb.service",
             "/etc/systemd/system/shopdb.socket")
    return {"sums": host.check_output(f"sha256sum {' '.join(files)}"),
            "current": host.check_output("readlink /opt/shopdb/current"),
            "backups": host.run("ls /etc/shopdb /etc/systemd/system | grep '~$'").stdout}


@pytest.mark.parametrize("case,extra,needle", [
    # Valid in form, wrong for the site: the database refuses the app (flask setup fails before a restart).
    ("db password", {"shopdb_app_db_password": "a-valid-but-wrong-password-4x9"}, "Access denied"),
    # Nothing listens there: the new environment cannot reach the database.
    ("db port", {"shopdb_app_db_port": 3399}, "Can't connect"),
])
def test_a_wrong_but_valid_value_on_a_serving_host_is_undone_and_the_app_keeps_serving(host, case, extra, needle):
    """A converge with a value that passes preflight but breaks the app: the role puts the previous files back,
    the app is ready on them again, and the run fails naming the change (issue 17, §2)."""
    if name(host) != CONVERGE_HOST:
        pytest.skip("one host is enough for these converges")
    before = guarded_state(host)
    rc, out = finished(start_playbook(CONVERGE_HOST, "-e", json.dumps(extra)))
    assert rc != 0, out[-4000:]
    assert "was undone" in out and needle in out, out[-4000:]
    assert "The previous configuration is back and the app is ready again" in out
    assert api(host, "GET", "/api/ready")[0] == 200
    assert guarded_state(host) == before  # same files, same release, no backup copies left behind
