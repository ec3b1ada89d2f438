#!/usr/bin/env bash
# The demo: sets up, shows the CLI on the real Cordum files, then opens DriftLens in a real
# VS Code (code-server) on a sample workspace for you to use in a browser. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node scripts/demo.js "$@"
