"""The fleet playbooks' decisions (ansible/filter_plugins/shopdb_fleet.py), without a host: which sites a run
covers and in which batches, each site's state through an update (pending, held, lost, unreachable hosts,
errors, the stop rule, the result), the summary and failure message, the rollback's schema plan, the plugin
compatibility gate and the status rows. The table below plays update.yml's batches the way the playbook runs
them: sites x batch size x the step a site fails at x hosts held out before x re-runs x hosts unreachable
from the start."""
import importlib.util
import itertools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fleet = _load("shopdb_fleet", ROOT / "ansible" / "filter_plugins" / "shopdb_fleet.py")
gate = _load("shopdb_app_filters", ROOT / "ansible" / "roles" / "shopdb_app" / "filter_plugins" / "shopdb_app.py")


def inventory(sites):
    """groups for `sites` ({name: number of app hosts}); a one-app-host site has one host for every role,
    a larger one a db host, N app hosts and a proxy, as the Molecule scenarios have them."""
    groups = {"all": [], "ungrouped": [], "shopdb_db": [], "shopdb_app": [], "shopdb_proxy": []}
    for site, apps in sites.items():
        if apps == 1:
            db = app = proxy = [f"{site}-host"]
        else:
            db, app, proxy = [f"{site}-db"], [f"{site}-app{i}" for i in range(1, apps + 1)], [f"{site}-proxy"]
        members = list(dict.fromkeys(db + app + proxy))
        groups.update({site: members, f"{site}_db": db, f"{site}_app": app, f"{site}_proxy": proxy})
        groups["all"] += members
        for role, hosts in (("shopdb_db", db), ("shopdb_app", app), ("shopdb_proxy", proxy)):
            groups[role] += hosts
    return groups


def facts_for(groups):
    hv = {}
    for g, hosts in groups.items():
        if fleet.SITE_GROUP.match(g):
            for i, h in enumerate(hosts):
                hv[h] = {"shopdb_site": g, "shopdb_app_bind_address": f"10.0.{len(hv)}.{i + 1}"}
    return hv


# ----- sites and batches -----

def test_sites_are_those_the_limit_touches_in_inventory_order():
    groups = inventory({"site_a": 1, "site_b": 2, "site_c": 1})
    groups["site_notasite_x"] = []  # a group that only looks like a site stays out: it holds no host
    assert fleet.fleet_sites(groups, groups["all"]) == ["site_a", "site_b", "site_c"]
    assert fleet.fleet_sites(groups, groups["site_c"] + groups["site_a"]) == ["site_a", "site_c"]
    assert fleet.fleet_sites(groups, []) == []
    # site_b_app is a child group, not a site (the pattern has no '_' in the name).
    assert "site_b_app" not in fleet.fleet_sites(groups, groups["all"])


@pytest.mark.parametrize("per_batch, expected", [(1, [1, 4, 1]), (2, [5, 1]), (3, [6]), (10, [6])])
def test_batches_hold_whole_sites(per_batch, expected):
    groups = inventory({"site_a": 1, "site_b": 2, "site_c": 1})
    assert fleet.fleet_site_batches(groups, groups["all"]) == [1, 4, 1]
    assert fleet.fleet_batches(groups, groups["all"], per_batch) == expected


@pytest.mark.parametrize("bad", [0, -1, "x", None])
def test_a_batch_size_below_one_is_refused_with_the_setting_named(bad):
    groups = inventory({"site_a": 1})
    with pytest.raises(fleet.AnsibleFilterError, match="shopdb_update_sites_per_batch"):
        fleet.fleet_batches(groups, groups["all"], bad)


# ----- a simulated rollout (the table) -----

class Run:
    """update.yml's update play over `groups`: the batches of `per_batch` sites, each site's hosts setting
    the facts its tasks set, a failure injected at `fail` {site: step} (migration, switch:N, lost:N)."""

    def __init__(self, groups, hostvars, per_batch, pct, release="2.0"):
        self.groups, self.hv, self.pct, self.release = groups, hostvars, pct, release
        self.sites = fleet.fleet_sites(groups, groups["all"])
        self.batches = fleet.fleet_batches(groups, groups["all"], per_batch)
        self.play_all = [h for s in self.sites for h in groups[s]]
        self.alive = [h for h in self.play_all if not self.hv[h].get("shopdb_update_unreachable")]
        self.summaries, self.failures = {}, {}

    def state(self, site, batch):
        return fleet.rollout(self.hv, site, self.groups, self.play_all, self.alive, batch, self.release, self.pct)

    def run(self, fail):
        start = 0
        for size in self.batches:
            batch = self.play_all[start:start + size]
            start += size
            # The batch's first task, on all its sites at once: the stop rule over the earlier batches.
            sites = fleet.fleet_sites(self.groups, batch)
            stops = {site: self.state(site, batch)["stop"] for site in sites}
            for site in sites:
                if stops[site]:
                    self.hv[self.groups[f"{site}_db"][0]]["shopdb_update_failure"] = self.failures[site] = stops[site]
                else:
                    self.site(site, batch, fail.get(site))

    def site(self, site, batch, fail):
        hv = self.hv
        st = self.state(site, batch)
        for h in st["app_hosts"]:
            hv[h]["shopdb_update_previous"] = hv[h].get("release", "1.0")
        st = self.state(site, batch)
        if not st["pending"]:
            for h in st["app_hosts"]:
                hv[h]["shopdb_update_result"] = f"already on {self.release}: unchanged"
        else:
            hv[st["db_host"]]["shopdb_backup_made"] = {"path": f"/backups/{site}.sql.gz"}
            hv[st["db_host"]]["shopdb_update_schema_before"] = "schema-1"
            if fail == "migration":
                hv[st["primary"]]["shopdb_update_error"] = f"migrations of {self.release} failed on {st['primary']}: boom"
            if fail == "migration-unchanged":
                hv[st["primary"]]["shopdb_update_error"] = f"migrations of {self.release} failed on {st['primary']}: drift"
            for i, h in enumerate(st["app_hosts"]):
                st = self.state(site, batch)
                if st["errors"]:
                    break
                # The proxy holds out the host while it switches only when another one serves.
                down = fleet.rollout_rotation(st, h)
                assert set(st["held"]) <= set(down)
                if fail == f"lost:{i}":
                    self.alive.remove(h)
                    continue
                if fail == f"switch:{i}":
                    hv[h]["shopdb_update_error"] = f"{h}: release {self.release} failed on this host: not ready"
                    continue
                hv[h].update(shopdb_update_switched=True, release=self.release,
                             shopdb_update_result=f"updated {hv[h]['shopdb_update_previous']} -> {self.release}")
            st = self.state(site, batch)
            if st["errors"]:
                db = st["db_host"]
                hv[db]["shopdb_update_schema_after"] = "schema-1" if fail == "migration-unchanged" else "schema-2"
                st = self.state(site, batch)
                hv[db]["shopdb_update_restore_db"] = st["restore_db"]
                for h in st["app_hosts"]:
                    if h in self.alive:
                        hv[h]["release"] = hv[h]["shopdb_update_previous"]
                        hv[h]["shopdb_update_result"] = f"rolled back to {hv[h]['shopdb_update_previous']}"
        st = self.state(site, batch)
        rerun = fleet.rerun_command(["inv.ini"], "/k/ansible/update.yml", site, {"shopdb_release": self.release})
        summary = fleet.rollout_summary(st, hv, self.groups[f"{site}_app"], rerun)
        self.summaries[site] = summary
        failure = fleet.rollout_failure(summary, st)
        if failure:
            hv[st["db_host"]]["shopdb_update_failure"] = failure
            self.failures[site] = failure


SITES = {"one site": {"site_a": 1}, "three one-host sites": {"site_a": 1, "site_b": 1, "site_c": 1},
         "mixed": {"site_a": 2, "site_b": 1, "site_c": 3}}
FAILS = [None, "migration", "migration-unchanged", "switch:0", "switch:1", "lost:0"]
CASES = [
    pytest.param(sites, per_batch, pct, fail_site, fail, held, rerun, down,
                 id=f"{name}-batch{per_batch}-pct{pct}-{fail_site}:{fail}-held{held}-rerun{rerun}-down{down}")
    for (name, sites), per_batch, pct, (fail_site, fail), held, rerun, down in itertools.product(
        SITES.items(), [1, 2], [0, 50, 100], [("site_a", f) for f in FAILS] + [("site_b", "migration")],
        [False, True], [False, True], [False, True])
    if not (fail and fail.endswith(":1") and sites.get(fail_site, 0) < 2)
    if not ((held or down) and max(sites.values()) < 2)
    if fail_site in sites
]


@pytest.mark.parametrize("sites, per_batch, pct, fail_site, fail, held, rerun, down", CASES)
def test_rollout(sites, per_batch, pct, fail_site, fail, held, rerun, down):
    groups = inventory(sites)
    hv = facts_for(groups)
    multi = [s for s in sites if sites[s] > 1]
    held_host = groups[f"{multi[0]}_app"][-1] if held else None
    down_host = groups[f"{multi[-1]}_app"][0] if down else None
    for s in sites:
        for h in groups[s]:
            hv[h]["release"] = "1.0"
    if held_host:
        # An earlier run left this host out of rotation (the proxy's rotation state, read by preflight).
        for p in groups[f"{hv[held_host]['shopdb_site']}_proxy"]:
            hv[p]["shopdb_update_rotation_held"] = [held_host]
    if down_host:
        hv[down_host]["shopdb_update_unreachable"] = True
    if rerun:
        # Every site already ran the release once (a retried rollout): nothing left to do but the held host.
        for h in groups["all"]:
            hv[h]["release"] = "2.0"

    before = {h: hv[h]["release"] for h in groups["all"]}
    run = Run(groups, hv, per_batch, pct)
    run.run({fail_site: fail} if fail else {})

    order = fleet.fleet_sites(groups, groups["all"])
    failed_so_far, started = [], []
    batches = [order[i:i + per_batch] for i in range(0, len(order), per_batch)]
    for batch in batches:
        stopped = bool(failed_so_far) and len(failed_so_far) * 100 > len(started) * pct
        for site in batch:
            summary, failure = run.summaries.get(site), run.failures.get(site, "")
            if stopped:
                assert summary is None and failure.startswith(f"{site}: NOT UPDATED, the rollout stopped: ")
                assert f"more than shopdb_update_max_fail_percentage={pct}" in failure
                continue
            apps = groups[f"{site}_app"]
            site_held = [h for h in (held_host,) if h in apps]
            site_down = [h for h in (down_host,) if h in apps]
            nothing_to_do = rerun and not site_held and not site_down
            failing = fail and site == fail_site and not nothing_to_do
            if failing:
                assert summary["result"] == "rolled back", summary
                restored = fail != "migration-unchanged"
                assert summary["database_restored"] is restored
                assert (f"FAILED and was rolled back (database {'restored from /backups/' + site + '.sql.gz' if restored else 'unchanged'})"
                        in failure)
                for h in apps:
                    assert hv[h]["release"] == before[h] or h in site_down or h not in run.alive
                if fail.startswith("lost"):
                    assert f"{apps[0]} failed or stopped answering during the update" in failure
                    assert apps[0] in summary["out_of_rotation"]
                assert summary["rerun"] == ""
            elif site_down:
                assert summary["result"] == "incomplete" and summary["errors"] == []
                assert summary["out_of_rotation"] == site_down + [h for h in site_held if h != site_down[0] and
                                                                     not hv[h].get("shopdb_update_switched")]
                assert summary["hosts"][site_down[0]] == fleet.NOT_REACHED
                assert f"{site}: update to 2.0 INCOMPLETE: {site_down[0]} did not answer" in failure
                assert summary["rerun"] == f"ansible-playbook -i inv.ini /k/ansible/update.yml -e shopdb_release=2.0 --limit {site}"
            elif nothing_to_do:
                assert summary["result"] == "unchanged" and summary["backup"] == "none", summary
                assert set(summary["hosts"].values()) == {"already on 2.0: unchanged"}
                assert failure == ""
            else:
                assert summary["result"] == "ok" and summary["out_of_rotation"] == [] and failure == "", summary
                assert all(hv[h]["release"] == "2.0" for h in apps)
                # A host held out before is switched by this run and back in rotation.
                for h in site_held:
                    assert hv[h].get("shopdb_update_switched")
            if failure:
                failed_so_far.append(site)
            started.append(site)


def test_the_table_is_large_and_quick():
    assert len(CASES) >= 300


# ----- single decisions -----

def test_a_host_is_only_taken_out_of_rotation_when_another_serves():
    groups = inventory({"site_a": 2, "site_b": 1})
    hv = facts_for(groups)
    st = fleet.rollout(hv, "site_a", groups, groups["all"], groups["all"], groups["site_a"], "2.0")
    assert fleet.rollout_rotation(st, "site_a-app1") == ["site_a-app1"]
    assert fleet.rollout_rotation(st) == []
    hv["site_a-app2"]["shopdb_update_unreachable"] = True
    st = fleet.rollout(hv, "site_a", groups, groups["all"], [h for h in groups["all"] if h != "site_a-app2"],
                       groups["site_a"], "2.0")
    # app2 does not answer: app1 is the only one serving, so its socket holds requests instead.
    assert fleet.rollout_rotation(st, "site_a-app1") == ["site_a-app2"]
    one = fleet.rollout(hv, "site_b", groups, groups["all"], groups["all"], groups["site_b"], "2.0")
    assert fleet.rollout_rotation(one, "site_b-host") == []


def test_a_lost_host_fails_its_site_but_one_unreachable_from_the_start_does_not():
    groups = inventory({"site_a": 2})
    hv = facts_for(groups)
    hv["site_a-app2"]["shopdb_update_unreachable"] = True
    alive = ["site_a-db", "site_a-proxy"]  # app1 dropped during the run, app2 never answered
    st = fleet.rollout(hv, "site_a", groups, groups["all"], alive, groups["site_a"], "2.0")
    assert st["lost"] == ["site_a-app1"] and st["unreachable"] == ["site_a-app2"]
    assert st["errors"] == [fleet.LOST.format("site_a-app1")] and st["result"] == "rolled back"
    assert st["out_of_rotation"] == ["site_a-app1"]


def test_the_rerun_command_quotes_what_the_shell_would_split():
    cmd = fleet.rerun_command(["a b.ini"], "/k/update.yml", "site_a",
                              {"shopdb_release": "2.0", "shopdb_app_source_dir": None, "shopdb_app_wheelhouse_dir": "/w"})
    assert cmd == "ansible-playbook -i 'a b.ini' /k/update.yml -e shopdb_release=2.0 -e shopdb_app_wheelhouse_dir=/w --limit site_a"


@pytest.mark.parametrize("result, reason", [
    ({"stderr": "Traceback...\nsqlalchemy.exc.OperationalError: (1050, \"Table 'x' already exists\")\n[SQL: CREATE]"},
     "sqlalchemy.exc.OperationalError: (1050, \"Table 'x' already exists\")"),
    ({"stderr": "a\nb\nc\nd"}, "b / c / d"),
    ({"stderr": "", "msg": "non-zero return code"}, "non-zero return code"),
    ({}, "unknown error"),
])
def test_the_failure_reason_is_the_raised_exception(result, reason):
    assert fleet.failure_reason(result) == reason


def test_rotation_addresses_keep_an_unreachable_hosts_place():
    hv = {"a1": {"shopdb_app_bind_address": "10.0.0.1"}, "a2": {}}
    addresses = fleet.rotation_addresses(["a1", "a2"], hv, ["a2"], ["10.0.0.9", "10.0.0.2"])
    assert addresses == ["10.0.0.1", "10.0.0.2"]
    assert fleet.rotation_held(["a1", "a2"], addresses, ["10.0.0.2"]) == ["a2"]
    assert fleet.rotation_down(["a1", "a2"], addresses, ["a1"]) == ["10.0.0.1"]
    assert fleet.rotation_addresses(["a1", "a2"], hv, ["a2"], []) == ["10.0.0.1", ""]


@pytest.mark.parametrize("now, then, plan", [
    (["core_0003 (core) (head)"], ["core_0002 (core) (head)"], {"downgrades": ["core_0002"], "unknown": ["core_0003"], "safe": True}),
    (["core_0002 (core) (head)", "printers_0001 (printers) (head)"], ["core_0002 (core) (head)"],
     {"downgrades": [], "unknown": ["printers_0001"], "safe": False}),
    (["core_0002 (core) (head)"], ["core_0002 (core) (head)"], {"downgrades": [], "unknown": [], "safe": True}),
    (["Rev: x", ""], [], {"downgrades": [], "unknown": [], "safe": True}),
])
def test_the_rollback_plan(now, then, plan):
    assert gate.rollback_plan(now, then) == plan


@pytest.mark.parametrize("installed, core_version, release, expected", [
    ("enabled", ">=0.1,<1", "1.0.0", ["site_a: plugin equipment 1.2.0 runs on shopdb >=0.1,<1, not on the release 1.0.0"]),
    ("disabled", ">=0.1,<1", "1.0.0", ["site_a: plugin equipment 1.2.0 runs on shopdb >=0.1,<1, not on the release 1.0.0"]),
    ("enabled", ">=0.1,<1", "0.9.1.post1", []),
    ("not-installed", "<0.1", "1.0.0", []),
    ("enabled", "nonsense", "1.0.0", ["site_a: plugin equipment 1.2.0 declares core_version 'nonsense', which is not a version range"]),
])
def test_the_plugin_gate_names_site_plugin_and_both_versions(installed, core_version, release, expected):
    manifests = {"equipment": {"version": "1.2.0", "core_version": core_version}}
    assert gate.plugin_conflicts([{"name": "equipment", "state": installed}], manifests, release, "site_a") == expected
    # A plugin the release does not bring is not this gate's to judge.
    assert gate.plugin_conflicts([{"name": "other", "state": "enabled"}], manifests, release, "site_a") == []


def test_the_release_plugins_are_read_from_its_wheels_or_its_source(tmp_path):
    import zipfile
    source = tmp_path / "src"
    (source / "plugins" / "gadgets").mkdir(parents=True)
    (source / "plugins" / "gadgets" / "plugin.toml").write_text('name = "gadgets"\nversion = "1.0"\ncore_version = "<2"\n')
    wheelhouse = tmp_path / "wh"
    wheelhouse.mkdir()
    assert gate.release_plugins(wheelhouse, source) == {"gadgets": {"version": "1.0", "core_version": "<2"}}
    with zipfile.ZipFile(wheelhouse / "shopdb-2.0-py3-none-any.whl", "w") as whl:
        whl.writestr("plugins/gadgets/plugin.toml", 'name = "gadgets"\nversion = "2.0"\ncore_version = ">=2"\n')
    (wheelhouse / ".complete").touch()
    assert gate.release_plugins(wheelhouse, source) == {"gadgets": {"version": "2.0", "core_version": ">=2"}}
    # This repository's own plugins run on its own version.
    assert gate.plugin_conflicts([{"name": n, "state": "enabled"} for n in ("equipment", "printers", "computers")],
                                  gate.release_plugins(tmp_path / "none", ROOT), "0.1.0", "site_a") == []


def test_status_rows():
    groups = inventory({"site_a": 2})
    hv = {h: {} for h in groups["all"]}
    hv["site_a-app1"]["shopdb_status_host"] = {
        "reachable": True, "release": "2.0", "ready": 200, "ready_problems": [],
        "schema": {"current": ["core_0002"], "expected": ["core_0002"]}, "plugins": ["equipment 1.0 (enabled)"]}
    hv["site_a-db"]["shopdb_status_host"] = {"reachable": True, "backup": {"verified": True, "age_hours": 3.0}}
    hv["site_a-proxy"]["shopdb_status_host"] = {"reachable": True, "certificate": {"days_left": 40}, "proxy_ready": 200}
    row = fleet.status_row("site_a", groups, hv, 26, 21)
    assert row["releases"] == {"site_a-app1": "2.0", "site_a-app2": None}
    assert row["unreachable"] == ["site_a-app2"] and row["ready"] is True
    assert row["backup_ok"] and row["certificate_ok"] and row["schema_heads"] == ["core_0002"]
    assert fleet.status_plugins([{"name": "a", "version": None, "state": "enabled"}, {"name": "b", "state": "not-installed"}]) \
        == ["a - (enabled)"]


@pytest.mark.parametrize("sites, limit, hosts, serial", [
    ({"site_a": 1}, None, ["site_a-host"], [1]),
    ({"site_a": 2}, None, ["site_a-app1", "site_a-app2"], [1, 1]),
    ({"site_a": 2, "site_b": 1, "site_c": 3}, None,
     ["site_a-app1", "site_b-host", "site_c-app1", "site_a-app2", "site_c-app2", "site_c-app3"], [3, 2, 1]),
    ({"site_a": 2, "site_b": 3}, ["site_b"], ["site_b-app1", "site_b-app2", "site_b-app3"], [1, 1, 1]),
    # --limit to a site's proxy and db only: no app host; the group as the pattern, which the limit empties.
    ({"site_a": 2}, ["site_a-db", "site_a-proxy"], ["shopdb_app"], [1]),
])
def test_app_waves_restart_one_app_host_of_each_site_at_a_time(sites, limit, hosts, serial):
    groups = inventory(sites)
    limited = [h for g in limit for h in groups.get(g, [g])] if limit else groups["all"]
    waves = fleet.app_waves(groups, limited)
    assert waves == {"hosts": ":".join(hosts), "serial": serial}
    # Each wave holds at most one app host of each site.
    names = waves["hosts"].split(":")
    start = 0
    for size in waves["serial"]:
        wave = names[start:start + size]
        start += size
        assert len({h.split("-")[0] for h in wave}) == len(wave)


def test_an_app_host_in_no_site_goes_in_the_first_wave():
    groups = inventory({"site_a": 2})
    groups["shopdb_app"].append("stray")
    groups["all"].append("stray")
    assert fleet.app_waves(groups, groups["all"]) == {"hosts": "site_a-app1:stray:site_a-app2", "serial": [2, 1]}
