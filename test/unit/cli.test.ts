import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ROOT } from './helpers';

const CLI = path.join(ROOT, 'dist/cli.js');

/** Runs the bundled CLI as a user would (from the repository root, relative paths). */
function driftlens(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('hash prints the public Cordum vectors', () => {
  assert.deepEqual(driftlens('hash', 'test/fixtures/vectors/pools-1.json', '--section', 'pools'), {
    code: 0,
    stdout: 'pools da879de4d8577813cf7b478a1c9b6336cb1682ec8984db5796c125469bd0b923\n',
    stderr: '',
  });
  assert.equal(driftlens('hash', 'test/fixtures/vectors/pools-2.json', '--section', 'pools').stdout, 'pools 2961fe6906f829d9c23bbe90eb6f585dbd3a8f3d70f458a45980c2e2be312435\n');
  assert.equal(driftlens('hash', 'test/fixtures/vectors/timeouts-1.json', '--section', 'timeouts').stdout, 'timeouts 5e102673f6609b6d6f16962652cd082132e06c4ed95d48b761d341cd1d78ec12\n');
});

test('hash of an envelope prints one line per gated section; --json carries the same', () => {
  const plain = driftlens('hash', 'test/fixtures/config/cfg.system.default.yaml');
  assert.equal(plain.code, 0);
  const lines = plain.stdout.trim().split('\n');
  assert.deepEqual(lines.map((l) => l.split(' ')[0]), ['pools', 'timeouts']);
  assert.ok(lines.every((l) => /^\w+ [0-9a-f]{64}$/.test(l)));
  const json = JSON.parse(driftlens('hash', 'test/fixtures/config/cfg.system.default.json', '--json').stdout);
  assert.equal(json.sections.pools.hash, lines[0].split(' ')[1]);
  assert.equal(json.sections.timeouts.hash, lines[1].split(' ')[1]);
});

test('hash --explain --section prints exactly the hashed bytes', () => {
  const hash = driftlens('hash', 'test/fixtures/config/cfg.system.default.yaml', '--section', 'pools').stdout.split(' ')[1].trim();
  const bytes = driftlens('hash', 'test/fixtures/config/cfg.system.default.yaml', '--section', 'pools', '--explain').stdout;
  assert.equal(createHash('sha256').update(bytes, 'utf8').digest('hex'), hash);
  assert.ok(bytes.startsWith('{"pools":{'));
});

test('a bare section file is recognised by its shape even under another name', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dl-cli-'));
  const file = path.join(dir, 'routing.json');
  writeFileSync(file, '{"topics":{"job.default":"default"}}');
  const result = spawnSync(process.execPath, [CLI, 'hash', file], { encoding: 'utf8' });
  assert.equal(result.stdout, 'pools da879de4d8577813cf7b478a1c9b6336cb1682ec8984db5796c125469bd0b923\n');
});

test('hash of an invalid section: no hash, the reason on stderr, exit 1', () => {
  const result = driftlens('hash', 'test/fixtures/config/cfg.broken.yaml');
  assert.equal(result.code, 1);
  assert.equal(result.stdout, '');
  assert.match(result.stderr, /pools: no hash: 3 schema errors: replicas reject this pools section/);
});

test('hash withholds hashes while the text has data errors, lists them in order, exit 1', () => {
  const result = driftlens('hash', 'test/fixtures/config/cfg.syntax.yaml');
  assert.equal(result.code, 1);
  assert.equal(result.stdout, '');
  const lines = result.stderr.trim().split('\n');
  assert.deepEqual(lines.slice(0, 3).map((l) => l.replace(/^(\S+:\d+:\d+): error: .* \[(.+)\]$/, '$1 $2')), [
    'test/fixtures/config/cfg.syntax.yaml:5:7 duplicate-key',
    'test/fixtures/config/cfg.syntax.yaml:6:7 json-non-string-key',
    'test/fixtures/config/cfg.syntax.yaml:8:1 yaml-syntax',
  ]);
  assert.match(lines[3], /^driftlens: test\/fixtures\/config\/cfg\.syntax\.yaml: cannot compute hashes until the errors above are fixed/);
});

test('validate prints file:line:col: severity: message [keyword] and exits 1 on errors', () => {
  const result = driftlens('validate', 'test/fixtures/policy/bad-duration.drift-policy.yaml');
  assert.equal(result.code, 1);
  assert.equal(
    result.stdout,
    'test/fixtures/policy/bad-duration.drift-policy.yaml:8:15: error: "interval" must be a Go duration such as 30s, 1m30s or 250ms (units ns, us, ms, s, m, h), not the string "30 seconds". [pattern]\n' +
      'test/fixtures/policy/bad-duration.drift-policy.yaml:15:22: error: "notification_ok" must be a bound such as "<= 5s" (<= or <, then a Go duration), not the string "5s". [pattern]\n',
  );
  assert.equal(result.stderr, '1 file checked: 2 errors, 0 warnings\n');
});

test('validate passes the seed policy and the real Cordum files (exit 0)', () => {
  const result = driftlens('validate', 'test/fixtures/policy/drift-policy.yaml', 'test/fixtures/cordum/pools.yaml', 'test/fixtures/cordum/timeouts.yaml', 'test/fixtures/config/cfg.system.default.yaml');
  // The real Cordum pools file defines five pools no topic routes to: notes, which never fail.
  assert.equal(result.stdout.split('\n').filter(Boolean).length, 5);
  assert.match(result.stdout, /^test\/fixtures\/cordum\/pools\.yaml:56:3: note: No topic routes to pool "megacorp-banking"\. \[unused-pool\]\n/);
  assert.equal(result.stderr, '4 files checked: 0 errors, 0 warnings, 5 notes\n');
  assert.equal(result.code, 0);
});

test('validate reports syntax errors with their position, warnings do not fail', () => {
  const syntax = driftlens('validate', 'test/fixtures/config/cfg.broken.json');
  assert.equal(syntax.code, 1);
  assert.equal(syntax.stdout, 'test/fixtures/config/cfg.broken.json:4:45: error: Trailing comma before "}" is not allowed in JSON. [json-syntax]\n');
});

test('unreadable files and bad options exit 2 with one clear line', () => {
  const missing = driftlens('validate', 'nope.yaml');
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr, 'driftlens: nope.yaml: no such file\n0 files checked, 1 could not be read: 0 errors, 0 warnings\n');
  const badSection = driftlens('hash', 'test/fixtures/config/cfg.system.default.yaml', '--section', 'routing');
  assert.equal(badSection.code, 2);
  assert.equal(badSection.stderr, 'driftlens: --section must be one of pools, timeouts, not "routing"\n');
});

test('every command has --help', () => {
  for (const args of [['--help'], ['validate', '--help'], ['hash', '--help']]) {
    const result = driftlens(...args);
    assert.equal(result.code, 0, args.join(' '));
    assert.match(result.stdout, /^Usage: driftlens/);
  }
});
