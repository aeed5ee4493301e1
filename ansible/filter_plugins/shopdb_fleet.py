"""The fleet playbooks' decisions (update.yml, rollback.yml, status.yml) as plain functions: which sites a
run covers and in which batches, each site's state during an update (pending, held, lost, unreachable
hosts, errors, the stop rule), its summary and failure message, and the status report's rows (the
rollback's schema plan is the app role's: roles/shopdb_app/filter_plugins/). Next to the playbooks, so
Ansible finds it for them with no setting. The playbooks pass `hostvars` (or, in the unit tests, a dict of
dicts); nothing here talks to a host, so tests/ansible/test_rollout.py covers it in seconds."""
import re
import shlex

from ansible.errors import AnsibleFilterError

SITE_GROUP = re.compile(r"^site_[a-z0-9-]+$")
LOST = "{} failed or stopped answering during the update (its error is above)"
NOT_REACHED = "unreachable: not updated, still on its old release"


def _unique(items):
    return list(dict.fromkeys(items))


def _get(hostvars, host, key, default=None):
    try:
        value = hostvars[host].get(key, default)
    except KeyError:
        return default
    return default if value is None else value


def _true(value):
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1")
    return bool(value)


# ----- Which sites, which batches -----

def fleet_sites(groups, limited):
    """The site_<name> groups that hold a host of the run (`limited`: the hosts --limit keeps), in
    inventory order."""
    limited = set(limited)
    return [g for g in groups if SITE_GROUP.match(g) and limited.intersection(groups[g])]


def fleet_site_batches(groups, limited):
    """One batch per site: how many of its hosts the run covers (rollback.yml's serial)."""
    keep = set(limited)
    return [len([h for h in _unique(groups[s]) if h in keep]) for s in fleet_sites(groups, limited)]


def app_waves(groups, limited):
    """site.yml's app play: every site's first app host, then every second one, and so on, so that a converge
    restarts one app host of a site at a time. {"hosts": the play's pattern in that order, "serial": the
    size of each wave}. An app host in no site (preflight refuses it) goes in the first wave. With no app host
    in the run the pattern is the group (a play's hosts cannot be empty), which the run's limit leaves empty."""
    keep = set(limited)
    app = [h for h in _unique(groups.get("shopdb_app", [])) if h in keep]
    position = {}
    for site in fleet_sites(groups, limited):
        for i, host in enumerate(h for h in app if h in groups[site]):
            position.setdefault(host, i)
    waves = [[h for h in app if position.get(h, 0) == i] for i in range(max(position.values(), default=0) + 1)]
    waves = [w for w in waves if w]
    return {"hosts": ":".join(h for w in waves for h in w) or "shopdb_app", "serial": [len(w) for w in waves] or [1]}


def fleet_batches(groups, limited, sites_per_batch):
    """update.yml's serial: each batch the hosts of `sites_per_batch` whole sites, in inventory order."""
    try:
        size = int(sites_per_batch)
    except (TypeError, ValueError):
        size = 0
    if size < 1:
        raise AnsibleFilterError(f"shopdb_update_sites_per_batch must be 1 or more, not {sites_per_batch!r}")
    counts = fleet_site_batches(groups, limited)
    return [sum(counts[i:i + size]) for i in range(0, len(counts), size)]


# ----- One site during an update -----

def rollout(hostvars, site, groups, play_hosts_all, play_hosts, play_batch, release, max_fail_percentage=0):
    """The state of `site` at this point of update.yml (or rollback.yml), from the facts its tasks set:
    shopdb_update_unreachable (preflight), shopdb_update_rotation_held (the proxies' rotation before the
    run), shopdb_update_previous, shopdb_update_switched, shopdb_update_error, shopdb_update_rollback_error,
    shopdb_update_failure. `play_hosts` are the hosts still in the play; the others were dropped by
    Ansible, either unreachable from the start (reported apart) or lost during the run (a failure)."""
    app = list(groups.get(f"{site}_app", []))
    db = list(groups.get(f"{site}_db", []))
    proxies = list(groups.get(f"{site}_proxy", []))
    members = list(groups.get(site, []))
    alive = set(play_hosts)

    unreachable_all = {h for h in play_hosts_all if _true(_get(hostvars, h, "shopdb_update_unreachable", False))}
    dropped = [h for h in play_hosts_all if h not in alive and h not in unreachable_all]

    # Sites of the earlier batches: those started, those failed (a failure recorded, or a host lost).
    first = play_hosts_all.index(play_batch[0]) if play_batch and play_batch[0] in play_hosts_all else 0
    started = _unique(_get(hostvars, h, "shopdb_site") for h in play_hosts_all[:first])
    failed = _unique(_get(hostvars, h, "shopdb_site") for h in
                     dropped + [h for h in play_hosts_all if _get(hostvars, h, "shopdb_update_failure") is not None])
    pct = int(max_fail_percentage)
    stopped = bool(failed) and len(failed) * 100 > len(started) * pct

    unreachable = [h for h in app if h in unreachable_all]
    app_hosts = [h for h in app if h not in unreachable_all]
    lost = _unique(h for h in members if h in dropped)
    errors = [_get(hostvars, h, "shopdb_update_error") for h in members
              if _get(hostvars, h, "shopdb_update_error") is not None] + [LOST.format(h) for h in lost]
    held_before = _unique(h for p in proxies for h in _get(hostvars, p, "shopdb_update_rotation_held", []))
    switched = {h for h in app if _get(hostvars, h, "shopdb_update_switched") is not None}
    # Kept out of rotation now: the hosts this run does not reach, and those an earlier run held out that
    # this one has not switched yet.
    held = _unique(unreachable + [h for h in held_before if h not in switched])
    # Still to switch: the hosts not yet on the release, and the held ones. None: nothing to do at all.
    pending = _unique([h for h in app_hosts if _get(hostvars, h, "shopdb_update_previous") != release] + held)
    if errors:
        # After a rollback: the rotation from before the run, and the hosts that did not come back.
        out_of_rotation = _unique(held_before
                                  + [h for h in app_hosts if _get(hostvars, h, "shopdb_update_rollback_error") is not None]
                                  + [h for h in lost if h in app])
        result = "rolled back"
    else:
        out_of_rotation = held
        # "unchanged" only when nothing was switched (a held host already on the release is switched back in).
        result = "incomplete" if unreachable else "unchanged" if not pending and not switched else "ok"
    db_host = db[0] if db else None
    return {
        "site": site, "release": release, "db_host": db_host, "app_hosts": app_hosts,
        "primary": app_hosts[0] if app_hosts else None, "proxies": proxies, "unreachable": unreachable,
        "lost": lost, "errors": errors, "held_before": held_before, "held": held, "pending": pending,
        "out_of_rotation": out_of_rotation, "result": result,
        "sites_started": started, "sites_failed": failed,
        "stop": (f"{site}: NOT UPDATED, the rollout stopped: {', '.join(failed)} failed ({len(failed)} of "
                 f"{len(started)} sites, more than shopdb_update_max_fail_percentage={pct}). Fix them, then run "
                 "update.yml again: the sites already on the release are left unchanged.") if stopped else "",
        # The schema differs from before the run: a failed update must restore the pre-update dump.
        "restore_db": bool(errors) and _get(hostvars, db_host, "shopdb_update_schema_after", "")
        != _get(hostvars, db_host, "shopdb_update_schema_before", ""),
    }


def rollout_rotation(state, moving=None):
    """The app hosts the proxies must hold out of rotation while `moving` (an app host being switched) is
    out, or after the site's steps when None. A host is only taken out when another would serve meanwhile:
    otherwise its socket holds the requests across the restart."""
    down = list(state["held"])
    if moving is None:
        return state["out_of_rotation"] if state["errors"] else down
    serving = [h for h in state["app_hosts"] + state["unreachable"] if h not in down + [moving]]
    return _unique(down + [moving]) if serving else down


def rerun_command(inventory_sources, playbook, site, extra_vars):
    """The command that brings `site` up to date once its unreachable hosts answer again."""
    words = ["ansible-playbook"]
    for source in inventory_sources:
        words += ["-i", source]
    words.append(playbook)
    for name, value in extra_vars.items():
        if value not in (None, ""):
            words += ["-e", f"{name}={value}"]
    words += ["--limit", site]
    return " ".join(shlex.quote(str(w)) for w in words)


def rollout_summary(state, hostvars, app_hosts_all, rerun):
    """The site's summary (printed, and written to .cache/fleet/update-<site>.json)."""
    db = state["db_host"]
    backup = _get(hostvars, db, "shopdb_backup_made", {}) or {}
    return {
        "site": state["site"],
        "release": state["release"],
        "result": state["result"],
        "backup": backup.get("path", "none"),
        "database_restored": _true(_get(hostvars, db, "shopdb_update_restore_db", False)),
        "hosts": {h: _get(hostvars, h, "shopdb_update_result", NOT_REACHED) for h in app_hosts_all},
        "out_of_rotation": state["out_of_rotation"],
        "errors": state["errors"],
        "rerun": rerun if state["unreachable"] and not state["errors"] else "",
    }


def rollout_failure(summary, state):
    """Why the site did not end on the release (the run fails at its end), or '' when it did."""
    site, release = summary["site"], summary["release"]
    if state["errors"]:
        restored = f"database restored from {summary['backup']}" if summary["database_restored"] else "database unchanged"
        return f"{site}: update to {release} FAILED and was rolled back ({restored}): {'; '.join(state['errors'])}"
    if state["unreachable"]:
        return (f"{site}: update to {release} INCOMPLETE: {', '.join(state['unreachable'])} did not answer and kept its "
                "old release; held out of the proxy's rotation (nginx `down`) so it cannot serve the old code against "
                f"the new schema. {', '.join(state['app_hosts'])} run {release} and serve. When the host answers again, "
                f"run: {summary['rerun']}")
    return ""


RAISED = re.compile(r"(?m)^[A-Za-z_][\w.]*(?:Error|Exception): .*$")


def failure_reason(result):
    """The exception a failed command's traceback ends with (SQLAlchemy follows it with the SQL and a link),
    else the last lines of its output."""
    result = result or {}
    output = result.get("stderr") or result.get("msg") or "unknown error"
    raised = RAISED.findall(output)
    return raised[-1] if raised else " / ".join(output.splitlines()[-3:])


# ----- The proxy's rotation (addresses) -----

def rotation_addresses(app_hosts, hostvars, unreachable, live):
    """The upstream address of each app host, in order: a host that answers gives its own; one that does not
    (no facts this run) the address at its place in the proxy's rotation state (`live`)."""
    return [(live[i] if i < len(live) else "") if h in unreachable else _get(hostvars, h, "shopdb_app_bind_address", "")
            for i, h in enumerate(app_hosts)]


def rotation_held(app_hosts, addresses, down):
    """The inventory names of the app hosts whose address the rotation state marks down."""
    return [h for h, a in zip(app_hosts, addresses) if a in down]


def rotation_down(app_hosts, addresses, hosts_down):
    """The addresses to mark down for the inventory names `hosts_down`."""
    return [a for h, a in zip(app_hosts, addresses) if h in hosts_down]


# ----- status.yml -----

def status_plugins(plugins):
    """The installed plugins as "name version (state)"."""
    return [f"{p['name']} {p.get('version') or '-'} ({p.get('state') or '?'})"
            for p in plugins or [] if p.get("state", "") != "not-installed"]


def status_row(site, groups, hostvars, backup_max_age_hours, cert_warn_days):
    """One row of the fleet report from the site's hosts' shopdb_status_host facts (status-host.yml)."""
    app = list(groups.get(f"{site}_app", []))
    db = list(groups.get(f"{site}_db", []))[:1]
    proxies = list(groups.get(f"{site}_proxy", []))
    host = {h: _get(hostvars, h, "shopdb_status_host") or {"reachable": False} for h in groups.get(site, [])}
    backup = host[db[0]].get("backup") if db else None
    cert = next((host[p]["certificate"] for p in proxies if host[p].get("certificate")), None)
    first_ready = next((host[h] for h in app if host[h].get("schema")), {})
    proxy_ready = [host[p].get("proxy_ready") for p in proxies]
    return {
        "site": site,
        "releases": {h: host[h].get("release") for h in app},
        "app_ready": {h: host[h].get("ready") for h in app},
        "unreachable": [h for h, v in host.items() if not _true(v.get("reachable"))],
        "schema_heads": first_ready.get("schema", {}).get("current", []),
        "schema_expected": first_ready.get("schema", {}).get("expected", []),
        "plugins": first_ready.get("plugins", []),
        "problems": _unique(p for h in app for p in host[h].get("ready_problems", [])),
        "backup": backup,
        "backup_ok": isinstance(backup, dict) and _true(backup.get("verified"))
        and float(backup.get("age_hours", 0)) <= float(backup_max_age_hours),
        "certificate": cert,
        "certificate_ok": isinstance(cert, dict) and int(cert.get("days_left", 0)) >= int(cert_warn_days),
        "proxy_ready": proxy_ready,
        "ready": len([s for s in proxy_ready if s == 200]) == len(proxies),
    }


class FilterModule:
    def filters(self):
        return {
            "shopdb_fleet_sites": fleet_sites,
            "shopdb_fleet_site_batches": fleet_site_batches,
            "shopdb_fleet_batches": fleet_batches,
            "shopdb_app_waves": app_waves,
            "shopdb_rollout": rollout,
            "shopdb_rollout_rotation": rollout_rotation,
            "shopdb_rollout_summary": rollout_summary,
            "shopdb_rollout_failure": rollout_failure,
            "shopdb_rerun_command": rerun_command,
            "shopdb_failure_reason": failure_reason,
            "shopdb_rotation_addresses": rotation_addresses,
            "shopdb_rotation_held": rotation_held,
            "shopdb_rotation_down": rotation_down,
            "shopdb_status_plugins": status_plugins,
            "shopdb_status_row": status_row,
        }
