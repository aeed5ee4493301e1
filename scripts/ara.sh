#!/usr/bin/env bash
# Runs an Ansible command with ARA recording it (opt-in: plain ansible-playbook records nothing):
#   scripts/ara.sh ansible-playbook -i inventory.ini ansible/update.yml --limit site_lyon
#   ARA_API_CLIENT=offline ARA_DATABASE_NAME=.cache/ara/ansible.sqlite ara playbook list
# Each playbook is labelled release:<shopdb release> (SHOPDB_RELEASE, else pyproject.toml's version)
# and site:<name> for every site_<name> group in --limit/-l; ARA adds subset:, check: and tags: itself.
# Records go to ARA_DATABASE_NAME (default .cache/ara/ansible.sqlite in the checkout), through ARA's
# offline client: no ARA server is needed. Extra vars are not recorded (ARA's ignored_arguments default).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ $# -gt 0 ] || { echo "usage: scripts/ara.sh ansible-playbook ARGS... (or any ansible command)" >&2; exit 2; }

python="${VIRTUAL_ENV:-$root/.venv}/bin/python"
callbacks="$("$python" -m ara.setup.callback_plugins)" || {
  echo "scripts/ara.sh: the ara package is not installed in ${python%/bin/python}: pip install -e '.[deploy]'" >&2
  exit 1
}
release="${SHOPDB_RELEASE:-$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' "$root/pyproject.toml" | head -1)}"

labels="release:$release"
limit=""
args=("$@")
for i in "${!args[@]}"; do
  case "${args[$i]}" in
    -l|--limit) limit="${args[$((i + 1))]:-}" ;;
    --limit=*) limit="${args[$i]#--limit=}" ;;
    -l?*) limit="${args[$i]#-l}" ;;
  esac
done
IFS=',:' read -r -a patterns <<<"$limit"
for p in "${patterns[@]}"; do
  [[ "$p" =~ ^site_([a-z0-9-]+)$ ]] && labels="$labels,site:${BASH_REMATCH[1]}"
done

export ANSIBLE_CALLBACK_PLUGINS="$callbacks${ANSIBLE_CALLBACK_PLUGINS:+:$ANSIBLE_CALLBACK_PLUGINS}"
export ARA_API_CLIENT="${ARA_API_CLIENT:-offline}"
export ARA_DATABASE_NAME="${ARA_DATABASE_NAME:-$root/.cache/ara/ansible.sqlite}"
export ARA_DEFAULT_LABELS="${ARA_DEFAULT_LABELS:+$ARA_DEFAULT_LABELS,}$labels"
mkdir -p "$(dirname "$ARA_DATABASE_NAME")"
exec "$@"
