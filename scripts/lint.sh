#!/usr/bin/env bash
# Lints the deploy kit: shellcheck over every shell script (scripts/, the files the roles and playbooks ship,
# and the role templates that render a shell script, rendered with the role's defaults and a site's domain), yamllint over the
# YAML, then ansible-lint (production profile, offline) over ansible/. yamllint and ansible-lint read their
# settings from the repository root (.yamllint, .ansible-lint).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_ROLES_PATH="$PWD/ansible/roles"
is_shell() { head -n1 "$1" | grep -Eq '^#!.*(/|env )(ba|da)?sh\b'; }
echo "lint: shellcheck"
command -v shellcheck >/dev/null || { echo "lint: shellcheck is missing; run: make setup" >&2; exit 1; }
scripts=(scripts/*.sh)
for f in ansible/roles/*/files/*; do is_shell "$f" && scripts+=("$f"); done
shellcheck "${scripts[@]}"
rendered=$(mktemp -d); trap 'rm -rf "$rendered"' EXIT
for t in ansible/roles/*/templates/*.j2; do
  is_shell "$t" || continue
  role=${t#ansible/roles/}; role=${role%%/*}
  out="$rendered/$role-$(basename "$t" .j2)"
  ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0 ansible localhost -c local \
    -m ansible.builtin.template -a "src=$PWD/$t dest=$out mode=0600" \
    -e "@ansible/roles/$role/defaults/main.yml" -e "@ansible/roles/$role/vars/main.yml" \
    -e shopdb_domain=shopdb.example.org >/dev/null \
    || { echo "lint: $t does not render with the role's defaults (run the command above without >/dev/null)" >&2; exit 1; }
  scripts+=("$t")
  # SC1091: a rendered script sources files that exist only on the host (the env file).
  shellcheck -e SC1091 "$out" || { echo "lint: shellcheck found the above in $t (as rendered)" >&2; exit 1; }
done
echo "lint: shellcheck checked ${#scripts[@]} scripts"
echo "lint: yamllint"
yamllint --strict ansible/ .yamllint .ansible-lint collections/ inventories/ execution-environment.yml
echo "lint: ansible-lint (production profile)"
ansible-lint --offline ansible/
echo "lint: clean"
