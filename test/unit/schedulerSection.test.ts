import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { analyzeDocument } from '../../src/core/analysis';
import { ROOT, problemsAt } from './helpers';

// Cordum's scheduler section: checked as Cordum reads it (exact "open", booleans only, other keys
// ignored), and never given a hash, because replicas re-apply it on every reload.

const POOLS = 'pools:\n  topics:\n    job.default: default\n';
const CLI = path.join(ROOT, 'dist/cli.js');

function driftlens(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function file(name: string, text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dl-scheduler-'));
  writeFileSync(path.join(dir, name), text);
  return path.join(dir, name);
}

test('scheduler: the values Cordum acts on are accepted, in the data map and in the envelope', () => {
  const data = POOLS + 'scheduler:\n  input_fail_mode: open\n  output_fail_mode: closed\n  output_policy_enabled: false\n';
  assert.deepEqual(problemsAt(data, 'cfg.yaml', 'config'), []);
  const envelope = 'scope: system\nscope_id: default\nrevision: 3\ndata:\n' + data.replace(/^/gm, '  ');
  assert.deepEqual(problemsAt(envelope, 'cfg.yaml', 'config'), []);
});

test('scheduler: a fail mode other than exactly "open" or "closed" is an error on the value, saying what replicas do', () => {
  const text = 'scheduler:\n  input_fail_mode: Open\n  output_fail_mode: ""\n';
  assert.deepEqual(problemsAt(text, 'cfg.yaml', 'config'), ['2:20-2:24 error enum', '3:21-3:23 error enum']);
  const [first] = analyzeDocument(text, 'yaml', 'config').problems;
  assert.equal(
    first.message,
    '"input_fail_mode" must be "open" or "closed" (replicas fail open only on exactly "open": any other string fails closed, a non-string is ignored), not the string "Open".',
  );
});

test('scheduler: a non-boolean output_policy_enabled (YAML 1.2 "yes", the string "true") is an error: replicas ignore it', () => {
  const text = 'scheduler:\n  output_policy_enabled: yes\n  input_fail_mode: true\n';
  assert.deepEqual(problemsAt(text, 'cfg.yaml', 'config'), ['2:26-2:29 error type', '3:20-3:24 error type']);
  const messages = analyzeDocument(text, 'yaml', 'config').problems.map((p) => p.message);
  assert.ok(messages.includes('"input_fail_mode" must be "open" or "closed" (replicas fail open only on exactly "open": any other string fails closed, a non-string is ignored), not boolean true.'));
  const first = { message: messages.find((m) => m.startsWith('"output_policy_enabled"')) ?? '' };
  assert.match(first.message, /^"output_policy_enabled" must be true or false \(replicas ignore any other value, also the string "true", and keep the setting they applied last\), not the string "yes"\.$/);
});

test('scheduler: a section that is not a mapping is an error; an unknown key is a warning on the key', () => {
  assert.deepEqual(problemsAt('scheduler: closed\n', 'cfg.yaml', 'config'), ['1:12-1:18 error type']);
  const text = 'scheduler:\n  input_fail_mode: closed\n  Output_Fail_Mode: open\n';
  const analysis = analyzeDocument(text, 'yaml', 'config');
  assert.deepEqual(problemsAt(text, 'cfg.yaml', 'config'), ['3:3-3:19 warning ignored-by-replicas']);
  assert.equal(
    analysis.problems[0].message,
    '"Output_Fail_Mode" is ignored by replicas: the scheduler section reads only input_fail_mode, output_fail_mode, output_policy_enabled (exact, lowercase names).',
  );
});

test('scheduler: listed as not hash-gated at its key, never among the hashed sections', () => {
  const text = POOLS + 'scheduler:\n  input_fail_mode: closed\n';
  const analysis = analyzeDocument(text, 'yaml', 'config');
  assert.deepEqual(analysis.sections.map((s) => s.name), ['pools']);
  assert.deepEqual(analysis.ungated, [{ name: 'scheduler', anchor: { start: text.indexOf('scheduler'), end: text.indexOf('scheduler') + 'scheduler'.length } }]);
  assert.deepEqual(analyzeDocument(POOLS, 'yaml', 'config').ungated, []);
  // A section file named pools is not a config document: no scheduler there.
  assert.deepEqual(analyzeDocument('topics:\n  a: b\n', 'yaml', 'pools').ungated, []);
});

test('CLI validate reports the scheduler problems as the editor does', () => {
  const cfg = file('cfg.system.default.yaml', POOLS + 'scheduler:\n  input_fail_mode: Open\n  input_failmode: open\n');
  const result = driftlens('validate', cfg);
  assert.equal(result.code, 1);
  assert.equal(
    result.stdout,
    `${cfg}:5:20: error: "input_fail_mode" must be "open" or "closed" (replicas fail open only on exactly "open": any other string fails closed, a non-string is ignored), not the string "Open". [enum]\n` +
      `${cfg}:6:3: warning: "input_failmode" is ignored by replicas: the scheduler section reads only input_fail_mode, output_fail_mode, output_policy_enabled (exact, lowercase names). [ignored-by-replicas]\n`,
  );
});

test('CLI hash notes scheduler as not hash-gated (stderr, --json), stdout keeps hash lines only, and refuses --section scheduler', () => {
  const cfg = file('cfg.system.default.yaml', POOLS + 'scheduler:\n  output_policy_enabled: true\n');
  const plain = driftlens('hash', cfg);
  assert.deepEqual(plain, {
    code: 0,
    stdout: 'pools da879de4d8577813cf7b478a1c9b6336cb1682ec8984db5796c125469bd0b923\n',
    stderr: `${cfg}: scheduler: not hash-gated: re-applied on every reload\n`,
  });
  const json = JSON.parse(driftlens('hash', cfg, '--json').stdout);
  assert.deepEqual(json.notHashGated, { scheduler: 're-applied on every reload' });
  assert.deepEqual(Object.keys(json.sections), ['pools']);
  assert.equal(driftlens('hash', cfg, '--explain').stderr, `${cfg}: scheduler: not hash-gated: re-applied on every reload\n`);
  // Asking for one section prints only that section's hash (what scripts pipe into sha256sum).
  assert.equal(driftlens('hash', cfg, '--section', 'pools').stdout, 'pools da879de4d8577813cf7b478a1c9b6336cb1682ec8984db5796c125469bd0b923\n');
  const refused = driftlens('hash', cfg, '--section', 'scheduler');
  assert.equal(refused.code, 2);
  assert.equal(refused.stderr, 'driftlens: the scheduler section is not hash-gated: replicas re-apply it on every reload, so it has no hash\n');
  const only = driftlens('hash', file('cfg.only.yaml', 'scheduler:\n  input_fail_mode: open\n'));
  assert.equal(only.code, 2);
  assert.match(only.stderr, /has no hash-gated section \(pools, timeouts\) \(its scheduler section is not hash-gated: replicas re-apply it on every reload\)/);
});
