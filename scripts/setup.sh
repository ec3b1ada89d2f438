#!/usr/bin/env bash
# Everything DriftLens needs on a fresh Debian machine with Node 20: system packages (apt),
# the npm dependencies (from the lockfile), the build, and the cached real-VS-Code workbench.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

# prometheus: the real server the Verify tests and the demo start on free ports (never the packaged service).
apt_packages=(chromium redis-server nats-server libkrb5-dev prometheus)
missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} (apt)"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  # On a machine without systemd, installing a daemon's package starts it through invoke-rc.d
  # (prometheus on :9090 and, recommended, a node exporter on :9100, scraping each other forever).
  # DriftLens starts its own servers on free ports, so while we install, a policy-rc.d refuses
  # service starts (only when the machine has none of its own; removed afterwards).
  policy=/usr/sbin/policy-rc.d
  own_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# written by driftlens scripts/setup.sh during apt-get install\nexit 101\n' | $sudo_cmd tee "$policy" >/dev/null
    $sudo_cmd chmod 755 "$policy"
    own_policy=1
  fi
  status=0
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null || status=$?
  [ -z "$own_policy" ] || $sudo_cmd rm -f "$policy"
  [ "$status" -eq 0 ] || exit "$status"
fi
command -v prometheus >/dev/null || { echo "setup: prometheus is not on PATH after installing Debian's prometheus package" >&2; exit 1; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi

echo "setup: build"
npm run --silent build
echo "setup: workbench (code-server, cached under ${DRIFTLENS_CACHE:-$HOME/.cache/driftlens})"
bash scripts/ensure-workbench.sh >/dev/null
