#!/usr/bin/env node
'use strict';
// Reads what one test layer left behind and decides whether the layer passed. scripts/test-all.sh
// calls it once per layer, so the rules live in one place and have their own unit test
// (test/unit/countResults.test.ts):
//
//   node scripts/count-results.js <node|mocha|ui> <log or report file> <the layer's exit status>
//
// Prints "PASSED FAILED CANCELLED SKIPPED" on stdout and, on stderr, why the layer fails; exits 1
// when it fails. A layer fails when a test failed or was cancelled (node cancels a test that times
// out, and every test still pending when its file is killed), when it ran no test, when its
// summary is missing, or when its process exited non-zero even though the counts look fine.

const fs = require('fs');

/** The last `ℹ <name> N` line of node's spec reporter (a test's own output may print earlier ones). */
function lastInfo(text, name) {
  const matches = [...text.matchAll(new RegExp(`^ℹ ${name} (\\d+)\\s*$`, 'gm'))];
  return matches.length ? Number(matches[matches.length - 1][1]) : undefined;
}

/** node --test --test-reporter=spec output. Todo tests count as skipped: neither proves anything. */
function countNode(text) {
  const passed = lastInfo(text, 'pass');
  const failed = lastInfo(text, 'fail');
  if (passed === undefined || failed === undefined) return undefined;
  return {
    passed,
    failed,
    cancelled: lastInfo(text, 'cancelled') ?? 0,
    skipped: (lastInfo(text, 'skipped') ?? 0) + (lastInfo(text, 'todo') ?? 0),
  };
}

/** The in-host suite's report: spec lines, then one JSON summary line {passes, failures, pending}. */
function countMocha(text) {
  const lines = text.trim().split('\n').reverse();
  for (const line of lines) {
    if (!line.trim().startsWith('{')) continue;
    try {
      const summary = JSON.parse(line);
      if (typeof summary.passes !== 'number' || typeof summary.failures !== 'number') continue;
      return { passed: summary.passes, failed: summary.failures, cancelled: 0, skipped: summary.pending ?? 0 };
    } catch {
      // not the summary: keep looking
    }
  }
  return undefined;
}

/** The UI scenarios' closing line: "ui: N passed, N failed[, N skipped]". */
function countUi(text) {
  const matches = [...text.matchAll(/^ui: (\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/gm)];
  if (!matches.length) return undefined;
  const m = matches[matches.length - 1];
  return { passed: Number(m[1]), failed: Number(m[2]), cancelled: 0, skipped: Number(m[3] ?? 0) };
}

const counters = { node: countNode, mocha: countMocha, ui: countUi };

/**
 * The verdict on one layer: its counts (zeros, one failure, when the summary is missing) and the
 * reasons it fails the run (empty when it passes).
 */
function judgeLayer(kind, text, exitStatus) {
  const count = counters[kind];
  if (!count) throw new Error(`unknown layer kind ${kind} (node, mocha or ui)`);
  const counts = text === undefined ? undefined : count(text);
  const problems = [];
  if (!counts) {
    problems.push('it left no summary of its tests (did it crash or time out?)');
    return { counts: { passed: 0, failed: 1, cancelled: 0, skipped: 0 }, problems };
  }
  if (counts.failed > 0) problems.push(`${counts.failed} failed`);
  if (counts.cancelled > 0) problems.push(`${counts.cancelled} cancelled (a test that times out is cancelled)`);
  if (counts.passed === 0) problems.push('it ran no test');
  if (exitStatus !== 0 && problems.length === 0) problems.push(`its process exited with status ${exitStatus} although its counts look fine`);
  return { counts, problems };
}

function main(argv) {
  const [kind, file, status] = argv;
  if (!kind || !file || status === undefined || !/^\d+$/.test(status)) {
    console.error('usage: count-results.js <node|mocha|ui> <file> <exit status>');
    return 2;
  }
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    text = undefined;
  }
  const { counts, problems } = judgeLayer(kind, text, Number(status));
  console.log(`${counts.passed} ${counts.failed} ${counts.cancelled} ${counts.skipped}`);
  for (const p of problems) console.error(p);
  return problems.length ? 1 : 0;
}

module.exports = { countNode, countMocha, countUi, judgeLayer };

if (require.main === module) process.exitCode = main(process.argv.slice(2));
