"""Deploy benchmark: the real playbooks against one-host sites in podman containers running systemd, the
same image and options as the `site` Molecule scenario (its "full-site host"), timed with the wall clock.

    python bench/deploy.py [--fleet 1,2,4] [--release bookworm] [--converge-only] [--bare]

0. With --bare, first a fresh Debian server (localhost/shopdb-debian-bare from scripts/images.sh: debootstrap
   minbase with systemd and python3 only): the first converge of site.yml, which installs MariaDB, nginx, ...
   from the Debian mirror as a real first install does, and its re-run; the container is removed after.
1. One site: the first converge of ansible/site.yml, the idempotent re-run (changed=0 is asserted), the
   per-task floor (a generated playbook doing the re-run's tasks with no work in them: the re-run's shape at
   what Ansible and the connection cost alone), then ansible/update.yml to a new release N+1 built as the
   update scenario builds it (tests/fleet/releases.py: a copy of this tree with a new version and one additive
   migration, its wheelhouse beside release N's).
2. Fleet scaling: the same kind of update (a release change without migrations) pushed with update.yml to
   1, 2 and 4 one-host sites with `--forks` = number of sites and every site in one batch
   (`shopdb_update_sites_per_batch` = number of sites); the extra sites are provisioned at N+1 first.
   `--sequential` also pushes one more release to all of them one site per batch (update.yml's default).
Targets: re-run <= 25% of the first converge; 4 sites <= 1.5x one site. `--converge-only` runs only step 1's
first converge, re-run and floor (and step 0 with --bare; 3 to 5 minutes here) to measure the re-run ratio; it
writes bench/results/deploy-converge.json.

Each run also records the machine's busy CPU seconds (cpu_s, /proc/stat, every process on the machine: controller,
containers and anything else) and the load average at its start. They bound what this machine can do: an N-site
update that used cpu_s CPU-seconds cannot take less than cpu_s / CPUs on it (fleet_<N>_cpu_bound_over_1 puts that
over the 1-site update's time), and the floor bounds the re-run (rerun_floor_over_first).

The containers are named bench-deploy-<n> (and bench-deploy-bare) and removed at the end, also on failure or
Ctrl-C. The inventory and its throwaway secrets (generated here, one set per site) live in a private temporary
directory removed at the end; they are never printed (SHOPDB_NO_LOG=true). Playbook logs, with
per-task times (profile_tasks), go to .cache/bench-deploy/logs/.
"""

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
import yaml  # noqa: E402
from common import cpu_busy_seconds, write_result  # noqa: E402
from tests.fleet.releases import make_release, make_wheelhouse, version_of  # noqa: E402

CACHE = ROOT / ".cache" / "bench-deploy"
LOGS = CACHE / "logs"
PREFIX = "bench-deploy-"
BARE_HOST = f"{PREFIX}bare"
TARGET_RERUN = 0.25
TARGET_FLEET = 1.5
VENV_BIN = Path(sys.executable).parent


def env():
    """What scripts/molecule.sh sets, plus per-task times and secrets kept out of the output."""
    return dict(os.environ,
                PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}",
                CONTAINERS_CONF=os.environ.get("CONTAINERS_CONF", str(ROOT / "scripts" / "containers.conf")),
                ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
                ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1",
                ANSIBLE_CALLBACKS_ENABLED="ansible.builtin.timer,ansible.posix.profile_tasks",
                PROFILE_TASKS_TASK_OUTPUT_LIMIT="12",
                SHOPDB_NO_LOG="true")


def podman(*args, check=True):
    return subprocess.run(["podman", *args], env=env(), capture_output=True, text=True, check=check,
                          stdin=subprocess.DEVNULL)


# --- hosts ------------------------------------------------------------------------------------------

def start_containers(names, image):
    """Start systemd containers as the site scenario's platforms are created (molecule-plugins podman driver:
    hostname = name, systemd always, /sbin/init, the scenario's ulimits); wait for systemd to finish booting."""
    for name in names:
        podman("rm", "-f", "-t", "0", name, check=False)
        podman("run", "-d", "--name", name, "--hostname", name, "--systemd=always",
               "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096",
               "--label", "owner=bench-deploy", image, "/sbin/init")
    for name in names:
        deadline = time.monotonic() + 180
        while True:  # systemctl fails ("Failed to connect to bus") until systemd's D-Bus is up
            state = podman("exec", name, "systemctl", "is-system-running", "--wait", check=False).stdout.strip()
            if state in ("running", "degraded"):
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"container {name} did not boot in 180 s (systemd says {state!r}); "
                                 f"see `podman logs {name}`")
            time.sleep(1)


def remove_containers():
    names = podman("ps", "-a", "--filter", f"name=^{PREFIX}", "--format", "{{.Names}}", check=False).stdout.split()
    for name in names:
        podman("rm", "-f", "-t", "0", name, check=False)
    if names:
        print(f"deploy: removed containers {', '.join(names)}", flush=True)


def write_inventory(directory, count, bare=False):
    """An inventory of `count` one-host sites site_bench<n> (db, app and proxy on bench-deploy-<n>), and with
    *bare* site_bare on bench-deploy-bare, connected through nsenter as the site scenario is, with a throwaway
    set of secrets per site (mode 0600). site_bare builds its own wheelhouse, as a first install does."""
    lines = []
    sites = [(f"site_bench{n}", f"{PREFIX}{n}") for n in range(1, count + 1)] + [("site_bare", BARE_HOST)] * bare
    for site, host in sites:
        lines += [f"[{site}_{part}]\n{host}" for part in ("db", "app", "proxy")]
        lines.append(f"[{site}:children]\n{site}_db\n{site}_app\n{site}_proxy")
        secrets_file = directory / "group_vars" / site / "vault.yml"
        secrets_file.parent.mkdir(parents=True)
        secrets_file.touch(mode=0o600)
        secrets_file.write_text("".join(f"{key}: {secrets.token_urlsafe(size)}\n" for key, size in (
            ("vault_shopdb_secret_key", 36), ("vault_shopdb_jwt_secret_key", 36), ("vault_shopdb_db_app_password", 18),
            ("vault_shopdb_db_backup_password", 18), ("vault_shopdb_admin_password", 15))))
    for part in ("db", "app", "proxy"):
        lines.append(f"[shopdb_{part}:children]\n" + "\n".join(f"{site}_{part}" for site, _ in sites))
    if bare:
        (directory / "group_vars" / "site_bare" / "wheelhouse.yml").write_text(
            f"shopdb_app_wheelhouse_dir: {json.dumps(str(directory / 'wheelhouse-bare'))}\n")
    (directory / "inventory.ini").write_text("\n".join(lines) + "\n")
    (directory / "group_vars" / "all.yml").write_text(f"""---
ansible_connection: community.docker.nsenter
ansible_nsenter_pid: >-
  {{{{ (lookup('ansible.builtin.pipe', 'podman inspect ' ~ inventory_hostname) | from_json)[0].State.Pid }}}}
shopdb_domain: "shopdb.{{{{ shopdb_site | replace('site_', '') }}}}.test"
shopdb_app_plugins: [equipment]
shopdb_app_wheelhouse_dir: {json.dumps(str(directory / "wheelhouse"))}
""")
    return directory / "inventory.ini"


# --- playbook runs ----------------------------------------------------------------------------------

RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")
PROFILE = re.compile(r"^(.+?) -{2,} (\d+\.\d+)s$")  # long task names get only "--"


def playbook(inventory, label, playbook_name, *args, forks=None):
    """Run an ansible/ playbook (or the one at an absolute path); returns its wall-clock seconds, the machine's
    busy CPU seconds meanwhile, the load average at its start, its recap and slowest tasks. Raises on failure."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{label}.log"
    cmd = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(ROOT / "ansible" / playbook_name), *args]
    if forks:
        cmd += ["--forks", str(forks)]
    print(f"deploy: {label}: ansible-playbook {playbook_name} {' '.join(args)}"
          f"{f' --forks {forks}' if forks else ''} (log {log.relative_to(ROOT)})", flush=True)
    load = [round(x, 2) for x in os.getloadavg()]
    cpu_started, started = cpu_busy_seconds(), time.monotonic()
    with log.open("w") as out:
        code = subprocess.call(cmd, cwd=ROOT, env=env(), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    seconds = round(time.monotonic() - started, 1)
    cpu_s = round(cpu_busy_seconds() - cpu_started, 1)
    text = log.read_text(errors="replace")
    if code != 0:
        raise SystemExit(f"deploy: {label} failed (exit {code}) after {seconds} s; the end of {log}:\n{text[-4000:]}")
    recap = {m[1]: {"ok": int(m[2]), "changed": int(m[3])} for m in map(RECAP.match, text.splitlines()) if m}
    slowest = [{"task": m[1].strip(), "s": float(m[2])} for m in map(PROFILE.match, text.splitlines()) if m]
    print(f"deploy: {label}: {seconds} s, {cpu_s} CPU-s (load {load[0]} at the start), changed "
          + ", ".join(f"{h}={r['changed']}" for h, r in recap.items()), flush=True)
    return {"seconds": seconds, "cpu_s": cpu_s, "loadavg_at_start": load, "recap": recap, "slowest_tasks": slowest,
            "changed_tasks": changed_tasks(text), "executed": executed_tasks(text)}


def changed_tasks(text):
    """The tasks that reported a change, from the playbook's output."""
    found, task = [], None
    for line in text.splitlines():
        if line.startswith(("TASK [", "RUNNING HANDLER [")):
            task = line[line.index("[") + 1:line.rindex("]")]
        elif line.startswith("changed: [") and task and task not in found:
            found.append(task)
    return found


# Modules Ansible runs on the controller whatever the play's connection (action plugins that never reach the host).
CONTROLLER_ACTIONS = {"assert", "fail", "set_fact", "debug", "include_vars", "include_tasks", "import_tasks",
                      "include_role", "import_role", "meta", "validate_argument_spec", "add_host", "group_by",
                      "set_stats", "pause"}
TASK_HEADER = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(?:([a-z0-9_]+) : )?(.*)\] \*+$")


def controller_tasks():
    """(role or None, task name) of the kit's tasks whose module runs on the controller: the actions above, or
    delegated to localhost. Every module is named by its FQCN (the kit's style), so the action is the dotted key."""
    found = set()

    def walk(tasks, role):
        for task in tasks if isinstance(tasks, list) else []:
            if not isinstance(task, dict):
                continue
            for key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
                walk(task.get(key), role)
            action = next((key for key in task if "." in key), "")
            if "name" in task and (action.rsplit(".", 1)[-1] in CONTROLLER_ACTIONS
                                   or task.get("delegate_to") == "localhost"):
                found.add((role, task["name"]))

    kit = ROOT / "ansible"
    for path in [*kit.glob("*.yml"), *kit.glob("tasks/*.yml"), *kit.glob("roles/*/tasks/*.yml"),
                 *kit.glob("roles/*/handlers/*.yml")]:
        walk(yaml.safe_load(path.read_text()), path.parts[-3] if "roles" in path.parts else None)
    return found


def executed_tasks(text):
    """The tasks that ran (not skipped), in order: [task, results, where]: results counts loop items, where is
    'host' or 'controller' (controller_tasks())."""
    local, runs, current = controller_tasks(), [], None
    for line in text.splitlines():
        header = TASK_HEADER.match(line)
        if header:
            implicit_check = header[2].startswith("Validating arguments against arg spec")  # meta/argument_specs
            current = [header[2], 0, "controller" if (header[1], header[2]) in local or implicit_check else "host"]
        elif line.startswith(("ok: [", "changed: [")) and current:
            if current[1] == 0:
                runs.append(current)
            current[1] += 1
    return runs


def floor_playbook(path, host, executed):
    """A playbook doing the *executed* tasks with no work in them: each host task becomes `stat /` (become, as the
    roles' plays), each controller task a true assert, with as many loop items as it had."""
    tasks = []
    for n, (_, results, where) in enumerate(executed, start=1):
        task = ({"name": f"{n}: stat", "ansible.builtin.stat": {"path": "/"}, "become": True} if where == "host"
                else {"name": f"{n}: assert", "ansible.builtin.assert": {"that": True, "quiet": True}})
        if results > 1:
            task["loop"] = list(range(results))
        tasks.append(task)
    path.write_text(yaml.safe_dump([{"name": "The re-run's tasks with no work in them", "hosts": host,
                                     "gather_facts": False, "tasks": tasks}], sort_keys=False))
    return path


def sites_up_to(count):
    return ",".join(f"site_bench{n}" for n in range(1, count + 1))


def current_release(host):
    return Path(podman("exec", host, "readlink", "/opt/shopdb/current").stdout.strip()).name


def machine():
    versions = subprocess.run([str(VENV_BIN / "ansible-playbook"), "--version"], capture_output=True, text=True).stdout
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release(),
            "ansible_core": re.search(r"core ([\d.]+)", versions)[1],
            "podman": podman("version", "--format", "{{.Client.Version}}").stdout.strip(),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]}


# --- the benchmark ----------------------------------------------------------------------------------

def run(args, workdir):
    fleet = sorted({int(n) for n in args.fleet.split(",") if n.strip()})
    if fleet and (fleet[0] < 1 or fleet[-1] > 8):
        raise SystemExit("--fleet takes site counts from 1 to 8, e.g. --fleet 1,2,4 (or '' to skip the fleet step)")
    most = max(fleet + [1])
    image = f"localhost/shopdb-debian:{args.release}"
    subprocess.run(["bash", str(ROOT / "scripts" / "images.sh"), args.release], env=env(), check=True)
    result = {"machine": machine(), "image": image, "fleet": fleet, "runs": {}}
    runs = result["runs"]
    figures = result["figures"] = {}
    inventory = write_inventory(workdir, most, bare=args.bare)
    base = version_of(ROOT)
    releases_dir = CACHE / "releases"

    # 0. A fresh Debian server: what a real site's first install costs (the Molecule image preinstalls the packages).
    if args.bare:
        result["bare_image"] = f"localhost/shopdb-debian-bare:{args.release}"
        subprocess.run(["bash", str(ROOT / "scripts" / "images.sh"), args.release],
                       env=dict(env(), SHOPDB_IMAGES_BARE="1"), check=True)
        start_containers([BARE_HOST], result["bare_image"])
        try:
            runs["bare_first_converge"] = playbook(inventory, "bare-first-converge", "site.yml", "--limit", "site_bare")
            runs["bare_rerun"] = playbook(inventory, "bare-rerun", "site.yml", "--limit", "site_bare")
        except SystemExit as failure:  # a real defect of the roles: reported at the end, the other steps still run
            figures["bare_failed"] = str(failure)[-4000:]
            print(failure, flush=True)
        else:
            figures.update(bare_first_converge_s=runs["bare_first_converge"]["seconds"],
                           bare_rerun_s=runs["bare_rerun"]["seconds"],
                           bare_rerun_over_first=round(runs["bare_rerun"]["seconds"]
                                                       / runs["bare_first_converge"]["seconds"], 2),
                           bare_rerun_changed_tasks=runs["bare_rerun"]["changed_tasks"])
        podman("rm", "-f", "-t", "0", BARE_HOST, check=False)  # its services would compete with the steps below

    # 1. One site, the full-site host.
    start_containers([f"{PREFIX}1"], image)
    runs["first_converge"] = playbook(inventory, "first-converge", "site.yml", "--limit", "site_bench1")
    runs["rerun"] = playbook(inventory, "rerun", "site.yml", "--limit", "site_bench1")
    not_idempotent = runs["rerun"]["changed_tasks"]
    figures.update(first_converge_s=runs["first_converge"]["seconds"], rerun_s=runs["rerun"]["seconds"],
                   rerun_over_first=round(runs["rerun"]["seconds"] / runs["first_converge"]["seconds"], 2),
                   rerun_target=TARGET_RERUN, rerun_changed_tasks=not_idempotent)
    # The floor: the re-run's executed tasks (ok or changed, loop items included) with no work in them.
    executed = runs["rerun"]["executed"]
    runs["task_floor"] = playbook(inventory, "task-floor",
                                  floor_playbook(workdir / "floor.yml", f"{PREFIX}1", executed))
    floor = runs["task_floor"]["seconds"]
    figures.update(
        rerun_tasks=len(executed),
        rerun_module_runs={where: sum(n for _, n, w in executed if w == where) for where in ("host", "controller")},
        task_floor_s=floor, task_floor_per_task_s=round(floor / len(executed), 3),
        rerun_over_floor=round(runs["rerun"]["seconds"] / floor, 2),
        rerun_floor_over_first=round(floor / runs["first_converge"]["seconds"], 2))
    if args.converge_only:
        result["fleet"] = []
        return result

    # Release N+1 as the update scenario builds it: this tree, a new version, one additive migration.
    wheelhouses = sorted((workdir / "wheelhouse").glob(f"shopdb-{base}-cp*"))
    assert wheelhouses, "the first converge built no wheelhouse"
    next_release = f"{base}.post1"
    next_src = make_release(releases_dir, ROOT, next_release, "good")
    for wheelhouse in wheelhouses:
        make_wheelhouse(wheelhouse, next_src, next_release)
    runs["update"] = playbook(inventory, "update", "update.yml", "--limit", "site_bench1",
                              "-e", f"shopdb_release={next_release}", "-e", f"shopdb_app_source_dir={next_src}")
    assert current_release(f"{PREFIX}1") == next_release, "update.yml finished but the site runs another release"

    # 2. Fleet scaling: every site at N+1, then one code-only release per step, pushed to the first n sites.
    if most > 1:
        start_containers([f"{PREFIX}{n}" for n in range(2, most + 1)], image)
        runs["fleet_provision"] = playbook(
            inventory, "fleet-provision", "site.yml", "--limit", ",".join(f"site_bench{n}" for n in range(2, most + 1)),
            "-e", f"shopdb_release={next_release}", "-e", f"shopdb_app_source_dir={next_src}", forks=most - 1)
    for step, sites in enumerate(fleet, start=1):
        version = f"{base}.post1{step}"  # .post11, .post12, ...: no migration, the same work for every site
        src = make_release(releases_dir, next_src, version, "same")
        for wheelhouse in wheelhouses:
            make_wheelhouse(wheelhouse, src, version)
        runs[f"fleet_{sites}"] = playbook(
            inventory, f"fleet-{sites}", "update.yml", "--limit", sites_up_to(sites),
            "-e", f"shopdb_release={version}", "-e", f"shopdb_app_source_dir={src}",
            "-e", f"shopdb_update_sites_per_batch={sites}", forks=sites)
        wrong = [n for n in range(1, sites + 1) if current_release(f"{PREFIX}{n}") != version]
        assert not wrong, f"update.yml to {version} finished but site(s) {wrong} run another release"
    if args.sequential and most > 1:
        # The default rollout, one site per batch, for comparison.
        version = f"{base}.post19"
        src = make_release(releases_dir, next_src, version, "same")
        for wheelhouse in wheelhouses:
            make_wheelhouse(wheelhouse, src, version)
        runs[f"fleet_{most}_sequential"] = playbook(
            inventory, f"fleet-{most}-sequential", "update.yml", "--limit", sites_up_to(most),
            "-e", f"shopdb_release={version}", "-e", f"shopdb_app_source_dir={src}", forks=most)
        wrong = [n for n in range(1, most + 1) if current_release(f"{PREFIX}{n}") != version]
        assert not wrong, f"update.yml to {version} one site at a time finished but site(s) {wrong} run another release"

    figures["update_s"] = runs["update"]["seconds"]
    for sites in fleet:
        figures[f"fleet_{sites}_sites_s"] = runs[f"fleet_{sites}"]["seconds"]
        figures[f"fleet_{sites}_cpu_s"] = runs[f"fleet_{sites}"]["cpu_s"]
        if 1 in fleet:  # the least this run could take on this machine's CPUs, over the 1-site run's time
            figures[f"fleet_{sites}_cpu_bound_over_1"] = round(
                runs[f"fleet_{sites}"]["cpu_s"] / os.cpu_count() / runs["fleet_1"]["seconds"], 2)
    if 1 in fleet and len(fleet) > 1:
        figures[f"fleet_{most}_over_1"] = round(runs[f"fleet_{most}"]["seconds"] / runs["fleet_1"]["seconds"], 2)
        figures["fleet_target"] = TARGET_FLEET
    if f"fleet_{most}_sequential" in runs:
        figures[f"fleet_{most}_sequential_s"] = runs[f"fleet_{most}_sequential"]["seconds"]
        if 1 in fleet:
            figures[f"fleet_{most}_sequential_over_1"] = round(runs[f"fleet_{most}_sequential"]["seconds"]
                                                               / runs["fleet_1"]["seconds"], 2)
    return result


def report(result):
    f, runs, cpus = result["figures"], result["runs"], result["machine"]["cpus"]
    met = lambda ok: "met" if ok else "NOT met"  # noqa: E731

    def line(label, run, extra=""):
        print(f"{label:<48}{run['seconds']:7.1f} s  {run['cpu_s']:6.1f} CPU-s  load {run['loadavg_at_start'][0]:5.2f}"
              + (f"   {extra}" if extra else ""))

    print(f"\n== deploy figures (wall clock; CPU-s = the machine's busy CPU seconds meanwhile, of {cpus} CPUs; "
          "load = 1-minute load average at the start)")
    if "bare_failed" in f:
        print("fresh Debian server (bare image): FAILED, see above")
    elif "bare_first_converge_s" in f:
        print("-- a fresh Debian server (bare image: the roles install every package from the mirror)")
        line("first converge (site.yml, 1 site)", runs["bare_first_converge"])
        line(f"idempotent re-run (changed=0: {'yes' if not f['bare_rerun_changed_tasks'] else 'NO'})",
             runs["bare_rerun"], f"re-run/first {f['bare_rerun_over_first']:.2f} (target <= {TARGET_RERUN}) "
             f"{met(f['bare_rerun_over_first'] <= TARGET_RERUN)}")
    print("-- the Molecule full-site host (the image preinstalls the roles' packages; the issue's figures)")
    line("first converge (site.yml, 1 site)", runs["first_converge"])
    line(f"idempotent re-run (changed=0: {'yes' if not f['rerun_changed_tasks'] else 'NO'})", runs["rerun"],
         f"re-run/first {f['rerun_over_first']:.2f} (target <= {TARGET_RERUN}) "
         f"{met(f['rerun_over_first'] <= TARGET_RERUN)}")
    line(f"task floor: the re-run's {f['rerun_tasks']} tasks, no work", runs["task_floor"],
         f"{f['task_floor_per_task_s']:.3f} s/task; re-run/floor {f['rerun_over_floor']:.2f}")
    runs_on = f["rerun_module_runs"]
    print(f"   ({runs_on['host']} module runs on the host, {runs_on['controller']} on the "
          f"controller, loop items included.) floor/first converge {f['rerun_floor_over_first']:.2f}: "
          + (f"above {TARGET_RERUN}: the re-run target cannot be met here without fewer tasks"
             if f["rerun_floor_over_first"] > TARGET_RERUN else f"within {TARGET_RERUN}: the tasks alone do not rule "
             "the target out"))
    if "update_s" in f:
        line("update.yml N -> N+1 (with a migration)", runs["update"])
    for sites in result["fleet"]:
        line(f"update.yml to {sites} site(s) in one batch, forks={sites}", runs[f"fleet_{sites}"])
    most = max(result["fleet"] + [1])
    if f"fleet_{most}_over_1" in f:
        print(f"fleet {most} sites / 1 site: {f[f'fleet_{most}_over_1']:.2f} (target <= {TARGET_FLEET}) "
              f"{met(f[f'fleet_{most}_over_1'] <= TARGET_FLEET)}; CPU bound on {cpus} CPUs: "
              f"{f[f'fleet_{most}_cpu_bound_over_1']:.2f} (the {most}-site run used {f[f'fleet_{most}_cpu_s']} CPU-s, "
              f"the 1-site run took {f['fleet_1_sites_s']} s)")
    if f"fleet_{most}_sequential_s" in f:
        ratio = f.get(f"fleet_{most}_sequential_over_1")
        print(f"{most} sites one at a time (the default)   {f[f'fleet_{most}_sequential_s']:7.1f} s"
              + (f"   / 1 site: {ratio:.2f}" if ratio else ""))
    if f["rerun_changed_tasks"]:
        print("re-run NOT idempotent, tasks that changed: " + "; ".join(f["rerun_changed_tasks"]))
    if f.get("bare_rerun_changed_tasks"):
        print("bare re-run NOT idempotent, tasks that changed: " + "; ".join(f["bare_rerun_changed_tasks"]))


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fleet", default="1,2,4", help="site counts for the fleet-scaling step ('' to skip it)")
    parser.add_argument("--sequential", action="store_true",
                        help="also push one more release to all the fleet's sites one site per batch (update.yml's "
                             "default), for comparison")
    parser.add_argument("--converge-only", action="store_true",
                        help="only the first converge, the idempotent re-run of site.yml and the floor (no update, "
                             "no fleet)")
    parser.add_argument("--bare", action="store_true",
                        help="first converge and re-run a fresh Debian server too (packages installed from the "
                             "mirror, as a real first install)")
    parser.add_argument("--release", default="bookworm", choices=("bookworm", "trixie"), help="the hosts' Debian")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("deploy: run as root (rootful podman, as scripts/molecule.sh)")
    # Ctrl-C and a kill from the caller end in the `finally` below, which removes the containers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    CACHE.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=CACHE))  # mode 0700: it holds the throwaway secrets
    try:
        result = run(args, workdir)
    finally:
        remove_containers()
        shutil.rmtree(workdir, ignore_errors=True)
    write_result("deploy-converge" if args.converge_only else "deploy", result)
    report(result)
    figures = result["figures"]
    if "bare_failed" in figures:
        raise SystemExit("deploy: site.yml failed on the fresh Debian server (see its log above)")
    if figures["rerun_changed_tasks"] or figures.get("bare_rerun_changed_tasks"):
        raise SystemExit("deploy: the re-run of site.yml changed something (see above): site.yml is not idempotent")


if __name__ == "__main__":
    main(sys.argv[1:])
