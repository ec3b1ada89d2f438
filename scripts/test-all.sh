#!/usr/bin/env bash
# Runs every layer of tests and prints one combined "N passed, N failed" line last:
#   1. unit and property tests of the core and the CLI (node's test runner)
#   2. the in-host suite inside a real VS Code (code-server + Chromium)
#   3. UI scenarios driven in that workbench, with screenshots
# A layer that ran zero tests fails the run. Expects scripts/setup.sh to have run.
# DRIFTLENS_LAYERS="in-host ui" runs a subset (npm run test:vscode does).
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
results="$root/test-results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$results"
trap 'jobs -p | xargs -r kill 2>/dev/null' EXIT

total_pass=0
total_fail=0
status=0
record() { # layer passes failures
  echo "== $1: $2 passed, $3 failed"
  total_pass=$((total_pass + $2))
  total_fail=$((total_fail + $3))
  if [ "$2" -eq 0 ]; then echo "== $1 ran no test: failing the run"; status=1; fi
  if [ "$3" -ne 0 ]; then status=1; fi
}

echo "== typecheck"
npx tsc -p . --noEmit || status=1
# A clean out/: tsc leaves the output of renamed or deleted tests behind, and they would still run.
rm -rf out
npx tsc -p tsconfig.test.json || { echo "== test compilation failed"; exit 1; }

layers=" ${DRIFTLENS_LAYERS:-unit in-host ui} "
wants() { [[ "$layers" == *" $1 "* ]]; }

if wants unit; then
  echo "== unit and property tests"
  node --test --test-reporter=spec out/test/unit/ 2>&1 | tee "$results/unit.log"
  unit_pass=$(grep -aE '^ℹ pass [0-9]+' "$results/unit.log" | awk '{print $3}' | tail -1)
  unit_fail=$(grep -aE '^ℹ fail [0-9]+' "$results/unit.log" | awk '{print $3}' | tail -1)
  record unit "${unit_pass:-0}" "${unit_fail:-1}"
fi

# Real servers for the in-host suite and the UI scenarios (the unit layer starts its own).
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
redis_port=$(free_port)
nats_port=$(free_port)
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no >"$results/redis.log" 2>&1 &
nats-server -a 127.0.0.1 -p "$nats_port" >"$results/nats.log" 2>&1 &
node -e 'const {waitForPort}=require("./out/test/support/servers");Promise.all(process.argv.slice(1).map((p)=>waitForPort(Number(p)))).catch((e)=>{console.error(e.message);process.exit(1)})' "$redis_port" "$nats_port" \
  || { echo "== redis-server or nats-server did not start (see $results/*.log)"; exit 1; }
export DRIFTLENS_TEST_REDIS_URL="redis://127.0.0.1:$redis_port" DRIFTLENS_TEST_NATS_URL="nats://127.0.0.1:$nats_port"

if wants in-host; then
  echo "== in-host suite (real VS Code)"
  # A scratch copy of the workspace: publishing restamps files, and the repository must stay as it is.
  workspace=$(mktemp -d /tmp/dl-ws-XXXX)
  cp -r "$root/test/vscode/workspace/." "$workspace/"
  node test/vscode/launcher/runInHostTests.js --extension "$root" --tests "$root/out/test/vscode/suite/index.js" \
    --workspace "$workspace" --artifacts "$results/in-host" \
    --env "DRIFTLENS_TEST_REDIS_URL=$DRIFTLENS_TEST_REDIS_URL" --env "DRIFTLENS_TEST_NATS_URL=$DRIFTLENS_TEST_NATS_URL" 2>&1 | tee "$results/in-host.log"
  host_pass=$(node -e 'try{const t=require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n").pop();process.stdout.write(String(JSON.parse(t).passes))}catch{process.stdout.write("0")}' "$results/in-host/report.json")
  host_fail=$(node -e 'try{const t=require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n").pop();process.stdout.write(String(JSON.parse(t).failures))}catch{process.stdout.write("1")}' "$results/in-host/report.json")
  record in-host "$host_pass" "$host_fail"
  rm -rf "$workspace"
fi

if wants ui; then
  echo "== UI scenarios (screenshots in $results/ui)"
  node test/vscode/ui/scenarios.js --artifacts "$results/ui" 2>&1 | tee "$results/ui.log"
  ui_line=$(grep -aE '^ui: [0-9]+ passed, [0-9]+ failed' "$results/ui.log" | tail -1)
  ui_pass=$(echo "$ui_line" | awk '{print $2}')
  ui_fail=$(echo "$ui_line" | awk '{print $4}')
  record ui "${ui_pass:-0}" "${ui_fail:-1}"
fi

echo "results: $results"
echo "$total_pass passed, $total_fail failed"
exit $status
