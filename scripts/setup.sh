#!/usr/bin/env bash
# Everything DriftLens needs on a fresh Debian machine with Node 20: system packages (apt),
# the npm dependencies (from the lockfile), the build, and the cached real-VS-Code workbench.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(chromium redis-server nats-server prometheus libkrb5-dev)
missing=()
for p in "${apt_packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} (apt)"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi

echo "setup: build"
npm run --silent build
echo "setup: workbench (code-server, cached under ${DRIFTLENS_CACHE:-$HOME/.cache/driftlens})"
bash scripts/ensure-workbench.sh >/dev/null
