#!/usr/bin/env bash
# make image: the piv gate image, with no registry.
#
#   images/piv/build.sh     -> $IMAGE (default piv:latest) FROM piv-base:bookworm
#
# 1. base.sh: the Debian base from debootstrap + docker import, rebuilt only
#    when its inputs change (cold: about 3 minutes here, mostly downloading
#    and unpacking Chromium and its ~150 dependencies; warm: well under 1 s).
# 2. piv, static (CGO_ENABLED=0), version stamped from git describe.
# 3. the image from Dockerfile with the classic builder, skipped when the
#    image already carries this binary's sha256.
#
# A team's own gate (its suites compiled in: DESIGN.md "Suites in the app's
# own repository") is built the same way: see images/piv/README.md.
#
# Environment: IMAGE (piv:latest), BASE (piv-base:bookworm), DOCKER (docker),
# PIV_PKG (./cmd/piv: the main package to put in the image).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$root/images/piv"
image=${IMAGE:-piv:latest}
base=${BASE:-piv-base:bookworm}
docker=${DOCKER:-docker}
pkg=${PIV_PKG:-./cmd/piv}
cd "$root"

start=$(date +%s.%N)
if [ "$base" = piv-base:bookworm ]; then
	"$here/base.sh"
fi
"$docker" image inspect "$base" >/dev/null 2>&1 || { echo "build.sh: base image $base is missing" >&2; exit 1; }

# Stamped as make build does (VERSION file, commit): piv version and gate.json say what ran.
version=$(cat VERSION 2>/dev/null || echo dev)
commit=$(git rev-parse HEAD 2>/dev/null || true)$(git diff --quiet HEAD 2>/dev/null || echo -dirty)
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
t0=$(date +%s.%N)
CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X github.com/piv-gate/piv/cli.version=$version -X github.com/piv-gate/piv/cli.commit=$commit" -o "$ctx/piv" "$pkg"
sum=$(sha256sum "$ctx/piv" | cut -d' ' -f1)
gotook=$(echo "$(date +%s.%N) - $t0" | bc)
baseid=$("$docker" image inspect -f '{{.Id}}' "$base")

have=$("$docker" image inspect -f '{{index .Config.Labels "piv.binary.sha256"}}|{{index .Config.Labels "piv.base.id"}}' "$image" 2>/dev/null || true)
if [ "$have" = "$sum|$baseid" ]; then
	echo "$image: up to date (same binary, same base)"
	exit 0
fi
cp "$here/Dockerfile" "$ctx/Dockerfile"
DOCKER_BUILDKIT=0 "$docker" build -q --build-arg BASE="$base" --build-arg PIV_VERSION="$version" --build-arg PIV_SHA256="$sum" \
	--label piv.base.id="$baseid" -t "$image" "$ctx" >/dev/null
echo "$image: built ($version $commit, base $base) in $(printf '%.1f' "$(echo "$(date +%s.%N) - $start" | bc)")s (go build $(printf '%.1f' "$gotook")s)"
