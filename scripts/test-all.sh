#!/usr/bin/env bash
# Builds what it tests (npm run build), runs every layer of tests and prints one combined line last:
#   N passed, N failed, N cancelled, N skipped
# (CI reads its leading "N passed, N failed"). The layers:
#   1. unit and property tests of the core and the CLI (node's test runner)
#   2. the in-host suite inside a real VS Code (code-server + Chromium)
#   3. UI scenarios driven in that workbench, with screenshots
# A layer fails the run when a test failed or was cancelled (a test that times out is cancelled),
# when it ran no test, or when its process exited non-zero (scripts/count-results.js decides).
# Expects scripts/setup.sh to have run. DRIFTLENS_LAYERS="in-host ui" runs a subset.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
results="$root/test-results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$results"
trap 'jobs -p | xargs -r kill 2>/dev/null' EXIT

total_pass=0
total_fail=0
total_cancelled=0
total_skipped=0
status=0
# record <layer> <node|mocha|ui> <log or report> <exit status of the layer's process>
record() {
  local counts verdict=0 passed failed cancelled skipped
  counts=$(node scripts/count-results.js "$2" "$3" "$4" 2>"$results/$1.verdict") || verdict=1
  read -r passed failed cancelled skipped <<<"$counts"
  echo "== $1: $passed passed, $failed failed, $cancelled cancelled, $skipped skipped"
  total_pass=$((total_pass + passed))
  total_fail=$((total_fail + failed))
  total_cancelled=$((total_cancelled + cancelled))
  total_skipped=$((total_skipped + skipped))
  if [ "$verdict" -ne 0 ]; then
    sed "s/^/== $1 fails the run: /" "$results/$1.verdict"
    status=1
  fi
}

# The closing line, also when a step before the tests stops the run (CI reads it).
finish() {
  echo "results: $results"
  echo "$total_pass passed, $total_fail failed, $total_cancelled cancelled, $total_skipped skipped"
  exit "$status"
}
stop() { echo "== $1"; total_fail=$((total_fail + 1)); status=1; finish; }

echo "== typecheck"
npx tsc -p . --noEmit || { echo "== typecheck failed"; total_fail=$((total_fail + 1)); status=1; }
# The CLI tests and both VS Code layers run the bundles in dist/: build them from this src/.
echo "== build"
npm run --silent build || stop "build failed"
# A clean out/: tsc leaves the output of renamed or deleted tests behind, and they would still run.
rm -rf out
npx tsc -p tsconfig.test.json || stop "test compilation failed"

layers=" ${DRIFTLENS_LAYERS:-unit in-host ui} "
wants() { [[ "$layers" == *" $1 "* ]]; }

if wants unit; then
  echo "== unit and property tests"
  # tee would hide the runner's exit status: PIPESTATUS keeps it. A test file that hangs (a server
  # left frozen by an earlier failure, say) fails after 10 minutes and is counted, instead of holding
  # the whole run until CI's limit (on Node 20 the limit applies to each file as a whole: the slowest,
  # the cluster failovers, take under a minute here); a file whose tests are done exits even if a
  # handle leaked.
  node --test --test-timeout=600000 --test-force-exit --test-reporter=spec out/test/unit/ 2>&1 | tee "$results/unit.log"
  record unit node "$results/unit.log" "${PIPESTATUS[0]}"
fi

if wants in-host || wants ui; then
  # Real servers for the in-host suite and the UI scenarios (the unit layer starts its own).
  free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
  redis_port=$(free_port)
  nats_port=$(free_port)
  redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no >"$results/redis.log" 2>&1 &
  nats-server -a 127.0.0.1 -p "$nats_port" >"$results/nats.log" 2>&1 &
  node -e 'const {waitForPort}=require("./out/test/support/servers");Promise.all(process.argv.slice(1).map((p)=>waitForPort(Number(p)))).catch((e)=>{console.error(e.message);process.exit(1)})' "$redis_port" "$nats_port" \
    || stop "redis-server or nats-server did not start (see $results/*.log)"
  export DRIFTLENS_TEST_REDIS_URL="redis://127.0.0.1:$redis_port" DRIFTLENS_TEST_NATS_URL="nats://127.0.0.1:$nats_port"
fi

if wants in-host; then
  echo "== in-host suite (real VS Code)"
  # A scratch copy of the workspace: publishing restamps files, and the repository must stay as it is.
  workspace=$(mktemp -d /tmp/dl-ws-XXXX)
  cp -r "$root/test/vscode/workspace/." "$workspace/"
  # The whole suite's limit (each test has its own): ten minutes, as a shared 2-core machine under load
  # runs the suite's ~4 minutes two or three times slower, and a timeout here loses every result.
  node test/vscode/launcher/runInHostTests.js --extension "$root" --tests "$root/out/test/vscode/suite/index.js" --timeout-ms 600000 \
    --workspace "$workspace" --artifacts "$results/in-host" \
    --env "DRIFTLENS_TEST_REDIS_URL=$DRIFTLENS_TEST_REDIS_URL" --env "DRIFTLENS_TEST_NATS_URL=$DRIFTLENS_TEST_NATS_URL" 2>&1 | tee "$results/in-host.log"
  record in-host mocha "$results/in-host/report.json" "${PIPESTATUS[0]}"
  rm -rf "$workspace"
fi

if wants ui; then
  echo "== UI scenarios (screenshots in $results/ui)"
  node test/vscode/ui/scenarios.js --artifacts "$results/ui" 2>&1 | tee "$results/ui.log"
  record ui ui "$results/ui.log" "${PIPESTATUS[0]}"
fi

finish
