#!/usr/bin/env bash
# Runs the Molecule scenarios of the deploy kit on local podman containers (systemd as PID 1).
#
# Usage:
#   scripts/molecule.sh                         every scenario, `molecule test` (what `make test-molecule` runs)
#   scripts/molecule.sh shopdb_db full-site     only scenarios whose id contains one of these words
#   scripts/molecule.sh --cmd converge shopdb_db/default      another molecule command, e.g. while developing:
#       converge | verify | idempotence | login --host NAME | destroy   (containers stay until `destroy`)
#   scripts/molecule.sh --list                  print the scenario ids and exit
#   MOLECULE_JOBS=1 scripts/molecule.sh         one scenario at a time, output in the terminal (default: 2 lanes,
#                                               each scenario's output in its log, the end of a failed one shown)
#
# Scenarios are discovered, nothing to register:
#   ansible/roles/<role>/molecule/<name>/molecule.yml   id <role>/<name>  (run from the role directory)
#   ansible/molecule/<name>/molecule.yml                id site/<name>    (run from ansible/)
# Each molecule.yml is deep-merged on top of ansible/molecule/shared/base.yml (podman driver, testinfra,
# offline, test sequence with idempotence); start a new one by copying ansible/molecule/shared/scenario-template/
# (its README says what to rename). Conventions: container names are globally unique (<scenario>-<release>);
# every scenario has a bookworm and a trixie platform, converged in parallel by one ansible-playbook run;
# images are localhost/shopdb-debian:{bookworm,trixie} from scripts/images.sh (built here when missing,
# with MariaDB, nginx, PyMySQL, python3-venv, rsync preinstalled); tests use `podman://<container>`.
#
# Environment: ANSIBLE_ROLES_PATH points at ansible/roles, ANSIBLE_FILTER_PLUGINS at ansible/filter_plugins;
# CONTAINERS_CONF at scripts/containers.conf (runc, rlimits this host allows); MOLECULE_NO_LOG=false shows
# secrets in logs for debugging.
# Logs: .cache/molecule/<id>.log. The summary lists each scenario's time and molecule's per-step report
# (converge = first converge, idempotence = the re-run).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
export PATH="$ROOT/.venv/bin:$PATH"
export CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT/scripts/containers.conf}
export ANSIBLE_ROLES_PATH="$ROOT/ansible/roles"
# The roles' filters (ansible.cfg names them too, but Molecule runs with an ansible.cfg of its own).
export ANSIBLE_FILTER_PLUGINS="$ROOT/ansible/filter_plugins"
export ANSIBLE_FORCE_COLOR=${ANSIBLE_FORCE_COLOR:-0} PY_COLORS=${PY_COLORS:-0}
BASE="$ROOT/ansible/molecule/shared/base.yml"
LOGS="$ROOT/.cache/molecule"

cmd=test list=0 filters=()
while [ $# -gt 0 ]; do
  case $1 in
    --cmd) cmd=$2; shift 2 ;;
    --list) list=1; shift ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) filters+=("$1"); shift ;;
  esac
done

# id|project directory|scenario name
scenarios=()
for f in ansible/roles/*/molecule/*/molecule.yml; do
  [ -e "$f" ] || continue
  role=${f#ansible/roles/}; role=${role%%/*}; name=$(basename "$(dirname "$f")")
  scenarios+=("$role/$name|ansible/roles/$role|$name")
done
for f in ansible/molecule/*/molecule.yml; do
  [ -e "$f" ] || continue
  name=$(basename "$(dirname "$f")")
  [ "$name" = shared ] && continue
  scenarios+=("site/$name|ansible|$name")
done

selected=()
for s in "${scenarios[@]}"; do
  id=${s%%|*}
  if [ ${#filters[@]} -eq 0 ]; then selected+=("$s"); continue; fi
  for w in "${filters[@]}"; do [[ $id == *"$w"* ]] && { selected+=("$s"); break; }; done
done
if [ $list = 1 ]; then printf '%s\n' "${selected[@]%%|*}"; exit 0; fi
[ ${#selected[@]} -gt 0 ] || { echo "molecule: no scenario matches: ${filters[*]} (see --list)" >&2; exit 2; }

bash scripts/images.sh || { echo "molecule: building the images failed" >&2; exit 1; }
mkdir -p "$LOGS"
# Per-step seconds from a molecule log: each playbook's "Playbook run took" (timer callback), pytest's
# "in N.NNs" for verify. converge = the first converge, idempotence = the re-run.
step_times() {
  python3 - "$1" <<'PY'
import re, sys
step, out = None, []
for line in open(sys.argv[1], errors="replace"):
    m = re.search(r"> (\w+)\] Executing", line)
    if m:
        step = m.group(1)
    m = re.search(r"Playbook run took \d+ days, (\d+) hours, (\d+) minutes, (\d+) seconds", line)
    if m and step:
        h, mi, se = map(int, m.groups())
        out.append(f"{step}={h * 3600 + mi * 60 + se}s")
    m = re.search(r"(?:passed|failed|error).* in ([\d.]+)s", line)
    if m and step == "verify" and "=" in line:
        out.append(f"verify={float(m.group(1)):.0f}s")
print(" ".join(out))
PY
}

# Site scenarios (several roles, the longest) first, so parallel lanes finish close together.
ordered=()
for s in "${selected[@]}"; do [[ $s == site/* ]] && ordered+=("$s"); done
for s in "${selected[@]}"; do [[ $s == site/* ]] || ordered+=("$s"); done

# One scenario: its output goes to its log (and to the terminal when scenarios run one at a time),
# its id, status, seconds and step times to a result line.
run_one() {
  local id=$1 dir=$2 name=$3 log="$LOGS/${1//\//_}.log" t0 rc dt status
  t0=$(date +%s)
  if [ "$jobs" -eq 1 ]; then
    echo "=== molecule $cmd: $id (log: ${log#"$ROOT"/})"
    # shellcheck disable=SC2086  # --cmd may carry its own arguments (login --host NAME)
    (cd "$dir" && molecule -c "$BASE" $cmd -s "$name") 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
  else
    echo "=== molecule $cmd: $id started (log: ${log#"$ROOT"/})"
    # shellcheck disable=SC2086
    (cd "$dir" && molecule -c "$BASE" $cmd -s "$name") >"$log" 2>&1
    rc=$?
  fi
  dt=$(( $(date +%s) - t0 ))
  status=passed; [ "$rc" -eq 0 ] || status="FAILED (rc $rc)"
  if [ "$jobs" -gt 1 ]; then
    echo "=== molecule $cmd: $id $status in ${dt}s"
    # The log of a failed scenario is what CI readers need; show its end.
    [ "$rc" -eq 0 ] || { echo "--- last 200 lines of ${log#"$ROOT"/}"; tail -n 200 "$log"; echo "---"; }
  fi
  printf '%-28s %-16s %4ds  %s\n' "$id" "$status" "$dt" "$(step_times "$log")" >"$LOGS/${id//\//_}.result"
  return "$rc"
}

# Scenarios use distinct containers and molecule state, so they can run side by side: MOLECULE_JOBS
# lanes (default 2; other commands than `test` run one at a time, in the terminal).
jobs=${MOLECULE_JOBS:-2}
[ "$cmd" = test ] || jobs=1
t_all=$(date +%s) failed=0 running=0
for s in "${ordered[@]}"; do
  IFS='|' read -r id dir name <<<"$s"
  rm -f "$LOGS/${id//\//_}.result"
  if [ "$jobs" -eq 1 ]; then
    run_one "$id" "$dir" "$name" || failed=1
    continue
  fi
  if [ "$running" -ge "$jobs" ]; then wait -n || failed=1; running=$((running - 1)); fi
  run_one "$id" "$dir" "$name" &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do wait -n || failed=1; running=$((running - 1)); done

echo
echo "=== molecule $cmd summary (total $(( $(date +%s) - t_all ))s, $jobs at a time)"
for s in "${ordered[@]}"; do
  id=${s%%|*}
  cat "$LOGS/${id//\//_}.result" 2>/dev/null || printf '%-28s %s\n' "$id" "no result"
done
exit $failed
