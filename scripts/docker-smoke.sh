#!/usr/bin/env bash
# Builds the shopdb container image from local parts only (no registry can be reached here):
#   base   - a slim, non-systemd Debian base with python3 + venv, from Debian's own packages (debootstrap)
#   wheels - a wheelhouse for the base image's Python, built on this host (shopdb + every dependency) by the app
#            role's recipe, ansible/roles/shopdb_app/files/wheelhouse.py
#   build  - base + wheels, then `podman build` of the root Dockerfile
# Each step is cached: the base image is built once; the wheelhouse is reused while shopdb's code is unchanged.
# SHOPDB_BASE_FORCE=1 rebuilds the base even when cached (the container test does, under a scratch tag, so the
# cold-machine path runs on every run).
# Used by tests/container/ (make test); operators use the same commands (docs/DEPLOY.md, "Container image").
set -euo pipefail
cd "$(dirname "$0")/.."

SUITE=${SHOPDB_BASE_SUITE:-bookworm}
BASE_IMAGE=${BASE_IMAGE:-localhost/shopdb-debian-slim:$SUITE}
IMAGE=${IMAGE:-localhost/shopdb:latest}
WHEELHOUSE=${WHEELHOUSE:-.cache/container-wheels}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PYTHON=${PYTHON:-python3}   # only runs pip on this host; the wheels target the base image's Python
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/scripts/containers.conf}

# A subshell function: its EXIT trap removes the rootfs when it ends and is gone afterwards (a RETURN trap
# set in a function stays set and fired again, with $rootfs unbound, when later functions returned).
base() (
  if [ "${SHOPDB_BASE_FORCE:-0}" != 1 ] && podman image exists "$BASE_IMAGE"; then
    echo "docker-smoke: base image $BASE_IMAGE is cached"
    exit 0
  fi
  echo "docker-smoke: building $BASE_IMAGE with debootstrap ($SUITE, about a minute)"
  rootfs=$(mktemp -d /var/tmp/shopdb-base.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$SUITE" "$rootfs" "$MIRROR" >/dev/null
  # Trim what a runtime image never uses: apt lists, docs, man pages.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
         "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
  tar -C "$rootfs" -c . | podman import -q --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
  echo "docker-smoke: built $BASE_IMAGE"
)

wheels() {
  # The app role's wheelhouse recipe (one script): shopdb's own wheel, then binary wheels of every dependency
  # for the base image's Python and glibc (so a trixie base works from this bookworm host too); reused while
  # shopdb's code is unchanged.
  local py glibc
  read -r py glibc < <(podman run --rm --network none "$BASE_IMAGE" python3 -c \
    'import platform, sys; print("%d.%d" % sys.version_info[:2], platform.libc_ver()[1].split(".")[1])')
  "$PYTHON" ansible/roles/shopdb_app/files/wheelhouse.py build --dest "$WHEELHOUSE" --src . \
    --python "$py" --arch "$(uname -m)" --glibc-minor "$glibc" 2> >(grep -v 'is neither a file nor a directory' >&2)
}

build() {
  base
  wheels
  local old
  old=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
  # --format docker: the OCI image format has no HEALTHCHECK and podman would drop it.
  # --layers=false: no intermediate images pile up across rebuilds (a build takes seconds anyway).
  podman build -q --layers=false --format docker --build-arg BASE_IMAGE="$BASE_IMAGE" \
    --build-arg WHEELHOUSE="$WHEELHOUSE" -t "$IMAGE" . >/dev/null
  # Rebuilding a tag leaves the previous image dangling: remove it (only it) so repeated runs use no disk.
  if [ -n "$old" ] && [ "$old" != "$(podman image inspect --format '{{.Id}}' "$IMAGE")" ]; then
    podman rmi "$old" >/dev/null 2>&1 || true
  fi
  echo "docker-smoke: built $IMAGE from $BASE_IMAGE"
}

case "${1:-build}" in
  base) base ;;
  wheels) wheels ;;
  build) build ;;
  *) echo "usage: $0 [base|wheels|build]" >&2; exit 2 ;;
esac
