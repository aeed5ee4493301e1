#!/usr/bin/env bash
# Builds the Molecule base images from Debian's own packages (no registry is reachable here):
#   localhost/shopdb-debian:bookworm   Debian 12
#   localhost/shopdb-debian:trixie     Debian 13
#   localhost/shopdb-debian-bare:<release>   with SHOPDB_IMAGES_BARE=1: BASE_PACKAGES only, a fresh server
#                                            for bench/deploy.py --bare (the roles install everything)
# Each is a debootstrap minbase rootfs with systemd as /sbin/init, imported into rootful podman.
#
# Speed-up, stated plainly: the images also preinstall the Debian packages the roles install
# (MariaDB, nginx, PyMySQL, python3-venv, rsync, ssh, ...), so a scenario's converge finds them present
# and spends its time on configuration. The roles still declare and install every package they need;
# the package installation itself is exercised when the image is built, from the same Debian mirror.
#
# An image is rebuilt only when it is missing or its recipe changed (package lists and RECIPE, hashed
# into an image label). Downloaded packages are kept in .cache/images/ so a rebuild is mostly local.
# Usage: scripts/images.sh [bookworm|trixie ...]      (default: both)
# Env:   SHOPDB_DEBIAN_MIRROR (default http://deb.debian.org/debian), SHOPDB_IMAGES_FORCE=1 to rebuild,
#        SHOPDB_IMAGES_BARE=1 for the bare images instead, SHOPDB_IMAGES_NAME=NAME to build localhost/NAME:<release>
#        instead (tests/container/test_images_recipe.py builds a scratch image each run: the cold-machine path).
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/scripts/containers.conf}
MIRROR=${SHOPDB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
RELEASES=("$@"); [ ${#RELEASES[@]} -gt 0 ] || RELEASES=(bookworm trixie)
BASE_PACKAGES=systemd,systemd-sysv,python3,dbus,iproute2,sudo
# Packages the roles install, preinstalled so converges are fast (see above).
EXTRA_PACKAGES=(
  mariadb-server mariadb-client python3-pymysql        # shopdb_db
  rsync openssh-client openssh-server                  # shopdb_backup (off-host copy, tested over ssh)
  nginx openssl ssl-cert certbot                       # shopdb_proxy (certbot for tls_mode acme)
  pebble                                               # a local ACME server, to test the acme mode offline
  python3-venv                                         # shopdb_app
  python3-apt acl python3-cryptography                 # Ansible's apt module, become_user, community.crypto
  ca-certificates curl procps                          # tests and health checks
)
# Bump when the build steps below change in a way that changes the image.
RECIPE=2
HASH=$(printf '%s\n' "$RECIPE" "$BASE_PACKAGES" "${EXTRA_PACKAGES[@]}" | sha256sum | cut -c1-16)
BARE=${SHOPDB_IMAGES_BARE:-0}
NAME=${SHOPDB_IMAGES_NAME:-shopdb-debian}
if [ "$BARE" = 1 ]; then
  NAME=${SHOPDB_IMAGES_NAME:-shopdb-debian-bare}
  HASH=$(printf '%s\n' "$RECIPE" "$BASE_PACKAGES" bare | sha256sum | cut -c1-16)
fi
CACHE=$PWD/.cache/images

[ "$(id -u)" -eq 0 ] || { echo "images: run as root (rootful podman and debootstrap need it)" >&2; exit 1; }
for tool in podman debootstrap; do
  command -v "$tool" >/dev/null || { echo "images: $tool is missing; run: make setup" >&2; exit 1; }
done

# One build at a time, whoever calls (several scenarios or engineers may start at once).
exec 9>/run/lock/shopdb-images.lock
flock 9

# A subshell function: its EXIT trap cleans up when it ends and is gone afterwards (a RETURN trap set in a
# function stays set and fires again whenever a later function returns).
build() (
  release=$1 image=localhost/$NAME:$1
  if [ "${SHOPDB_IMAGES_FORCE:-0}" != 1 ] &&
     [ "$(podman image inspect --format '{{ index .Labels "shopdb.images.hash" }}' "$image" 2>/dev/null)" = "$HASH" ]; then
    echo "images: $image is up to date"
    exit 0
  fi
  rootfs=$(mktemp -d "${TMPDIR:-/var/tmp}/shopdb-rootfs-$release.XXXXXX")
  chmod 755 "$rootfs"   # it becomes the image's /, which every user must be able to traverse
  # Unmount and remove the rootfs whatever happens (umount first so rm never walks into /proc).
  trap 'umount -l "$rootfs/var/cache/apt/archives" "$rootfs/proc" 2>/dev/null || true; rm -rf --one-file-system "$rootfs"' EXIT
  echo "images: debootstrap $release (about a minute)"
  mkdir -p "$CACHE/$release"
  debootstrap --variant=minbase --include="$BASE_PACKAGES" --cache-dir="$CACHE/$release" \
    "$release" "$rootfs" "$MIRROR" >/dev/null
  if [ "$BARE" != 1 ]; then
    echo "images: installing role packages into $release"
    # No service starts inside the chroot; mariadb's postinst still initialises its data directory.
    printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"; chmod 755 "$rootfs/usr/sbin/policy-rc.d"
    mount -t proc proc "$rootfs/proc"
    mount --bind "$CACHE/$release" "$rootfs/var/cache/apt/archives"
    chroot "$rootfs" apt-get -o APT::Sandbox::User=root update -qq
    DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get -o APT::Sandbox::User=root install -y -qq \
      --no-install-recommends "${EXTRA_PACKAGES[@]}" >"$rootfs/var/log/shopdb-images-apt.log" 2>&1 ||
      { tail -30 "$rootfs/var/log/shopdb-images-apt.log" >&2; exit 1; }
    umount "$rootfs/var/cache/apt/archives"
    [ -d "$rootfs/var/lib/mysql/mysql" ] || { echo "images: mariadb-server did not initialise its data directory" >&2; exit 1; }
    # sshd is there for the backup role's off-host copy test only: off at boot, keys made per container.
    chroot "$rootfs" systemctl disable --quiet ssh.service
    umount "$rootfs/proc"
    rm -f "$rootfs"/etc/ssh/ssh_host_*
    rm -f "$rootfs/usr/sbin/policy-rc.d"
  fi
  # systemd assigns a fresh machine-id at boot when the file is empty (systemd CONTAINER_INTERFACE).
  : > "$rootfs/etc/machine-id"
  echo "images: importing $image"
  tar -C "$rootfs" -c . | podman import \
    --change 'CMD ["/sbin/init"]' --change "LABEL shopdb.images.hash=$HASH" - "$image" >/dev/null 2>&1
  echo "images: built $image"
)

for r in "${RELEASES[@]}"; do
  case $r in bookworm|trixie) build "$r" ;; *) echo "images: unknown release '$r' (use bookworm or trixie)" >&2; exit 2 ;; esac
done
