#!/usr/bin/env bash
# Installs every Debian package hubgate's build, tests and quickstart need (chromium: the
# evidence report's HTML is checked in a real browser, headless, by tests/lib/browser.mjs).
# Idempotent: on a machine that already has everything it only checks (a few seconds).
# Usage: deploy/install-deps.sh            (needs root or sudo for apt)
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libmicrohttpd-dev libgnutls28-dev libcurl4-openssl-dev libjwt-dev libjansson-dev libssl-dev libpq-dev
  libcmocka-dev
  postgresql-15 postgresql-client-15
  git git-lfs curl ca-certificates openssl procps iproute2
  nginx-light wrk haproxy
  systemd podman runc
  chromium
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# Node.js 20 is part of this machine kind (it ships npm); install Debian's only if absent,
# because Debian's npm package conflicts with a nodesource nodejs.
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs npm); fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

# Installing postgresql-15 must not create or start a system cluster: hubgate's scripts run
# their own PostgreSQL in a folder of their own.
if [ ! -e /etc/postgresql-common/createcluster.conf ] || \
   ! grep -q '^create_main_cluster *= *false' /etc/postgresql-common/createcluster.conf; then
  $sudo mkdir -p /etc/postgresql-common
  echo 'create_main_cluster = false' | $sudo tee -a /etc/postgresql-common/createcluster.conf >/dev/null
fi
# nginx and the like are for the benchmarks only: never start their services on install.
policy_rc=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy_rc" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy_rc" >/dev/null
  $sudo chmod +x "$policy_rc"
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then $sudo rm -f "$policy_rc"; fi; }
trap cleanup EXIT

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
