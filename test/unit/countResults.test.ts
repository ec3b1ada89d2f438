import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers';

/**
 * scripts/count-results.js decides for scripts/test-all.sh whether a layer passed. These tests feed
 * it what node's test runner really prints for tiny files that pass, fail, time out and skip.
 */

interface Counts {
  passed: number;
  failed: number;
  cancelled: number;
  skipped: number;
}
interface Verdict {
  counts: Counts;
  problems: string[];
}
const SCRIPT = path.join(ROOT, 'scripts/count-results.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { judgeLayer } = require(SCRIPT) as { judgeLayer(kind: string, text: string | undefined, exitStatus: number): Verdict };

/** Runs one fixture file under node's test runner as test-all.sh does; its output and exit status. */
function runFixture(name: string): { output: string; status: number } {
  const file = path.join(ROOT, 'test/fixtures/test-runs', name);
  // Without NODE_TEST_CONTEXT, which this runner sets: the child then reports as a top-level run does.
  const env = { ...process.env, NODE_TEST_CONTEXT: undefined };
  const run = spawnSync(process.execPath, ['--test', '--test-reporter=spec', file], { encoding: 'utf8', timeout: 60_000, env });
  assert.equal(run.error, undefined);
  return { output: run.stdout + run.stderr, status: run.status ?? 1 };
}

test('a run where every test passes is green', () => {
  const { output, status } = runFixture('passes.fixture.js');
  assert.deepEqual(judgeLayer('node', output, status), { counts: { passed: 3, failed: 0, cancelled: 0, skipped: 0 }, problems: [] });
});

test('a failed test fails the layer', () => {
  const { output, status } = runFixture('fails.fixture.js');
  const verdict = judgeLayer('node', output, status);
  assert.deepEqual(verdict.counts, { passed: 1, failed: 1, cancelled: 0, skipped: 0 });
  assert.deepEqual(verdict.problems, ['1 failed']);
});

test('a test that times out is counted as cancelled and fails the layer, although nothing "failed"', () => {
  const { output, status } = runFixture('times-out.fixture.js');
  const verdict = judgeLayer('node', output, status);
  assert.deepEqual(verdict.counts, { passed: 1, failed: 0, cancelled: 1, skipped: 0 });
  assert.deepEqual(verdict.problems, ['1 cancelled (a test that times out is cancelled)']);
});

test('skipped and todo tests are counted as skipped and do not fail the layer', () => {
  const { output, status } = runFixture('skips.fixture.js');
  assert.deepEqual(judgeLayer('node', output, status), { counts: { passed: 1, failed: 0, cancelled: 0, skipped: 2 }, problems: [] });
});

test('a layer whose process exits non-zero fails even when its counts look fine', () => {
  const { output } = runFixture('passes.fixture.js');
  assert.deepEqual(judgeLayer('node', output, 1).problems, ['its process exited with status 1 although its counts look fine']);
});

test('a layer that left no summary, or ran no test, fails', () => {
  assert.deepEqual(judgeLayer('node', undefined, 0), { counts: { passed: 0, failed: 1, cancelled: 0, skipped: 0 }, problems: ['it left no summary of its tests (did it crash or time out?)'] });
  assert.equal(judgeLayer('node', 'killed before the summary\n', 137).problems.length, 1);
  const { output } = runFixture('passes.fixture.js');
  const none = output.replace(/^ℹ pass \d+$/m, 'ℹ pass 0');
  assert.deepEqual(judgeLayer('node', none, 0).problems, ['it ran no test']);
});

test('the in-host report counts pending tests as skipped; the UI line counts skipped scenarios', () => {
  const report = '  ✔ a (3 ms)\n  ✘ b\n' + JSON.stringify({ passes: 5, failures: 1, pending: 2, tests: [] }) + '\n';
  assert.deepEqual(judgeLayer('mocha', report, 1), { counts: { passed: 5, failed: 1, cancelled: 0, skipped: 2 }, problems: ['1 failed'] });
  assert.deepEqual(judgeLayer('ui', '  ✔ x\nscreenshots: /tmp\nui: 7 passed, 0 failed, 3 skipped\n', 0), {
    counts: { passed: 7, failed: 0, cancelled: 0, skipped: 3 },
    problems: [],
  });
  assert.deepEqual(judgeLayer('ui', 'ui: 7 passed, 0 failed\n', 0).counts, { passed: 7, failed: 0, cancelled: 0, skipped: 0 });
});

test('the script prints the counts for test-all.sh and exits 1 on a cancelled test', () => {
  const { output, status } = runFixture('times-out.fixture.js');
  const log = path.join(mkdtempSync(path.join(tmpdir(), 'dl-count-')), 'unit.log');
  writeFileSync(log, output);
  const run = spawnSync(process.execPath, [SCRIPT, 'node', log, String(status)], { encoding: 'utf8' });
  assert.deepEqual({ status: run.status, stdout: run.stdout, stderr: run.stderr }, {
    status: 1,
    stdout: '1 0 1 0\n',
    stderr: '1 cancelled (a test that times out is cancelled)\n',
  });
});
