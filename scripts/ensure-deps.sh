#!/usr/bin/env bash
# Installs what piv's demo and tests need from Debian's packages when it can
# (root), or stops with the exact command to run. Idempotent and quick when
# everything is there. Usage: scripts/ensure-deps.sh [--docker]
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || [ -x "${PIV_BROWSER:-/nonexistent}" ] || need+=(chromium)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v certutil >/dev/null 2>&1 || need+=(libnss3-tools)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v xmllint >/dev/null 2>&1 || need+=(libxml2-utils)  # junit.xml schema tests (pkg/report)
if [ "${1:-}" = "--docker" ]; then
  # What make test needs beyond the demo: the Ansible reference roll
  # (examples/ansible), the piv image's Debian base (images/piv), and the
  # shells whose completion scripts are checked (cli).
  command -v ansible-playbook >/dev/null 2>&1 || need+=(ansible)
  command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
  command -v zsh >/dev/null 2>&1 || need+=(zsh)
  command -v fish >/dev/null 2>&1 || need+=(fish)
fi

if [ ${#need[@]} -gt 0 ]; then
  cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${need[*]}"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "piv: installing missing Debian packages: ${need[*]}" >&2
    bash -c "$cmd" >&2
  else
    echo "piv: missing packages: ${need[*]}. Run as root:" >&2
    echo "  $cmd" >&2
    exit 2
  fi
fi

if [ "${1:-}" = "--docker" ]; then
  if ! docker info >/dev/null 2>&1; then
    # Try to start the engine where we may (CI machines run as root).
    if [ "$(id -u)" = 0 ]; then
      (command -v service >/dev/null && service docker start >/dev/null 2>&1) || \
        (command -v dockerd >/dev/null && (nohup dockerd >/tmp/dockerd.log 2>&1 &) ) || true
      for _ in $(seq 1 30); do docker info >/dev/null 2>&1 && break; sleep 1; done
    fi
    if ! docker info >/dev/null 2>&1; then
      echo "piv: the Docker engine does not answer (DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock})." >&2
      echo "  start it: sudo service docker start   (or: sudo dockerd &)" >&2
      exit 2
    fi
  fi
fi
