#!/usr/bin/env bash
# Installs everything `make demo` and `make test` need on a fresh Debian machine: OS packages,
# a running MariaDB, and a virtualenv with shopdb and its test and deploy tooling. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
APT_PACKAGES=(mariadb-server mariadb-client podman runc debootstrap git make curl openssl rsync wrk shellcheck)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing OS packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The test suite talks to a real MariaDB; apt's policy-rc.d may have kept it from starting.
if ! mariadb-admin ping >/dev/null 2>&1; then
  echo "setup: starting MariaDB"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO service mariadb start >/dev/null
fi

stamp=.setup-stamp
want=$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: creating $VENV with shopdb[test,deploy]"
  python3 -m venv "$VENV"
  # pip's site configuration on these machines names local mirrors that may be absent: hide that noise only.
  { "$VENV/bin/pip" install -q --upgrade pip && "$VENV/bin/pip" install -q -e ".[test,deploy]"; } 2>&1 \
    | grep -v "^WARNING: Location 'file:" || true
  "$VENV/bin/python" -c "import flask, copier, molecule" 2>/dev/null || { echo "setup: pip install failed" >&2; exit 1; }
  echo "$want" > "$stamp"
fi
echo "setup: ready"
