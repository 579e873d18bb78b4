#!/usr/bin/env bash
# Builds the piv base image from Debian's own packages, with no registry:
#
#   images/piv/base.sh            -> piv-base:<inputs-hash>, tagged piv-base:bookworm
#
# debootstrap (apt-get install -y debootstrap) lays a minimal Debian root file
# system with Chromium, CA certificates, certutil and fonts into a folder; a
# non-root user "piv" (uid 10001) is added; the folder is imported with
# `docker import`. Nothing is pulled.
#
# Cache: the image is labelled with the hash of its inputs (this script,
# packages.txt, the suite and the mirror). When an image with that hash
# exists, nothing is rebuilt (a second `make image` spends no time here). A
# cold build is dominated by downloading and unpacking ~150 packages
# (measured in the README). FORCE=1 rebuilds anyway.
#
# Environment: SUITE (bookworm), MIRROR (http://deb.debian.org/debian),
# BASE_REPO (piv-base), DOCKER (docker), FORCE.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
suite=${SUITE:-bookworm}
mirror=${MIRROR:-http://deb.debian.org/debian}
repo=${BASE_REPO:-piv-base}
docker=${DOCKER:-docker}

packages=$(grep -v '^\s*#' "$here/packages.txt" | grep -v '^\s*$' | sort | paste -sd, -)
hash=$( { cat "$here/base.sh"; echo "$packages|$suite|$mirror|$(dpkg --print-architecture)"; } | sha256sum | cut -c1-16)
ref="$repo:$hash"

if [ -z "${FORCE:-}" ] && "$docker" image inspect "$ref" >/dev/null 2>&1; then
	"$docker" tag "$ref" "$repo:$suite"
	echo "$ref: up to date (inputs unchanged)"
	exit 0
fi

command -v debootstrap >/dev/null || { echo "base.sh: debootstrap is missing: apt-get install -y debootstrap" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "base.sh: debootstrap needs root" >&2; exit 2; }

start=$(date +%s)
rootfs=$(mktemp -d /var/tmp/piv-base.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "base.sh: debootstrap $suite (minbase) into $rootfs, then apt-get install $packages"
log=/var/tmp/piv-base.log
# Stage 1: a minimal Debian. Stage 2: the packages with apt inside it, so
# maintainer scripts run in the order and environment apt gives them
# (debootstrap --include=chromium fails configuring dconf-service).
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$log" 2>&1 || {
	tail -30 "$log" >&2; cat "$rootfs/debootstrap/debootstrap.log" >>"$log" 2>/dev/null; echo "base.sh: debootstrap failed: $log" >&2; exit 1; }
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d" # no daemon starts in the chroot
chmod +x "$rootfs/usr/sbin/policy-rc.d"
# shellcheck disable=SC2086
chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get install -y --no-install-recommends ${packages//,/ } >>"$log" 2>&1 || {
	tail -30 "$log" >&2; echo "base.sh: apt-get install in the root file system failed: $log" >&2; exit 1; }
chroot "$rootfs" apt-get clean >>"$log" 2>&1
rm -f "$rootfs/usr/sbin/policy-rc.d"
: >"$rootfs/etc/resolv.conf" # Docker provides its own at run time
rm -f "$log"

# The gate never runs as root: a fixed uid so bind-mounted report folders
# can be made writable for it (chown 10001 or a group).
echo 'piv:x:10001:10001:piv gate:/home/piv:/usr/sbin/nologin' >>"$rootfs/etc/passwd"
echo 'piv:x:10001:' >>"$rootfs/etc/group"
echo 'piv:!:19000::::::' >>"$rootfs/etc/shadow"
mkdir -p "$rootfs/home/piv" "$rootfs/work"
chown 10001:10001 "$rootfs/home/piv" "$rootfs/work"
chmod 1777 "$rootfs/tmp"

# Smaller and reproducible: no package caches, no docs, no apt lists.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
	"$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
	"$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old
# Only en and the C locale's translations are kept.
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'en*' -exec rm -rf {} + 2>/dev/null || true

tar --numeric-owner -C "$rootfs" -c . | "$docker" import \
	-c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/home/piv PIV_BROWSER=/usr/bin/chromium' \
	-c 'USER piv' -c 'WORKDIR /work' \
	-c "LABEL piv.base.inputs=$hash org.opencontainers.image.title=piv-base org.opencontainers.image.base.name=debian:$suite" \
	-m "debootstrap $suite: $packages" - "$ref" >/dev/null
"$docker" tag "$ref" "$repo:$suite"
echo "$ref: built in $(( $(date +%s) - start ))s (tagged $repo:$suite)"
