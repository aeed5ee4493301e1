#!/usr/bin/env bash
# Lints the deploy kit: yamllint over the YAML, then ansible-lint (production profile, offline) over ansible/.
# Both read their settings from the repository root (.yamllint, .ansible-lint).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_ROLES_PATH="$PWD/ansible/roles"
echo "lint: yamllint"
yamllint --strict ansible/ .yamllint .ansible-lint collections/ inventories/ execution-environment.yml
echo "lint: ansible-lint (production profile)"
ansible-lint --offline ansible/
echo "lint: clean"
