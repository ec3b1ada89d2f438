import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import Redis from 'ioredis';
import { publishReplicaReport, type ReplicaReport } from '../../src/live/replicaReports';
import { startNats, startRedis, type ServerProcess } from '../support/servers';
import { ROOT } from './helpers';

const CLI = path.join(ROOT, 'dist/cli.js');
const KEY = 'cfg:system:default';

let work: string;
let redisServer: ServerProcess & { url: string };
let natsServer: ServerProcess & { url: string };

before(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'dl-hostile-'));
  [redisServer, natsServer] = await Promise.all([startRedis(), startNats()]);
});

after(async () => {
  await Promise.all([redisServer.dispose(), natsServer.dispose()]);
});

function env(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', DRIFTLENS_REDIS_URL: redisServer.url, DRIFTLENS_NATS_URL: natsServer.url };
}

/** The bundled CLI from the scratch folder; `nodeOptions` go to node itself (a heap cap). */
function driftlens(args: string[], nodeOptions: string[] = []): { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string } {
  // The timeout only turns a hang (reading a FIFO used to block forever) into a failure.
  const result = spawnSync(process.execPath, [...nodeOptions, CLI, ...args], { cwd: work, env: env(), encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  return { code: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

function file(name: string, content: string | Buffer): string {
  writeFileSync(path.join(work, name), content);
  return name;
}

function deepBlockMaps(levels: number): string {
  let text = '';
  for (let i = 0; i < levels; i++) text += ' '.repeat(i) + 'k:\n';
  return text;
}

test('validate and hash of YAML nested 3,000 deep: one diagnostic where 256 levels are passed, exit 1, no stack trace', () => {
  const blocks = file('cfg.deep.yaml', deepBlockMaps(3000));
  const flow = file('cfg.flow.yaml', 'pools: ' + '['.repeat(3000) + ']'.repeat(3000) + '\n');
  const line = (name: string, at: string) => `${name}:${at}: error: Objects and arrays nest deeper than 256 levels here; DriftLens reads documents nested up to 256 levels and stops at this point. [nesting-too-deep]\n`;
  assert.deepEqual(driftlens(['validate', blocks, flow]), { code: 1, signal: null, stdout: line(blocks, '257:257') + line(flow, '1:263'), stderr: '2 files checked: 2 errors, 0 warnings\n' });
  const hash = driftlens(['hash', flow]);
  assert.equal(hash.code, 1);
  assert.equal(hash.stderr, line(flow, '1:263') + `driftlens: ${flow}: cannot compute hashes until the errors above are fixed (the data is not what replicas would read)\n`);
});

test('a FIFO or a device is refused at once with a clear message (exit 2); a FIFO no longer blocks forever', () => {
  const fifo = path.join(work, 'cfg.fifo.yaml');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const piped = driftlens(['validate', 'cfg.fifo.yaml']);
  assert.equal(piped.signal, null, 'the CLI waited for a writer on the FIFO');
  assert.equal(piped.code, 2);
  assert.equal(piped.stderr, 'driftlens: cfg.fifo.yaml: is a named pipe (FIFO), not a regular file; DriftLens reads documents from regular files only\n0 files checked, 1 could not be read: 0 errors, 0 warnings\n');
  const zero = driftlens(['hash', '/dev/zero']);
  assert.equal(zero.code, 2);
  assert.equal(zero.stderr, 'driftlens: /dev/zero: is a device, not a regular file; DriftLens reads documents from regular files only\n');
});

test('a 400 MB file is refused by its size, without reading it (fits in a 48 MB heap)', () => {
  const huge = path.join(work, 'cfg.huge.yaml');
  writeFileSync(huge, 'a: 1\n');
  truncateSync(huge, 400 * 1024 * 1024); // sparse: no disk used
  const result = driftlens(['validate', 'cfg.huge.yaml'], ['--max-old-space-size=48']);
  assert.equal(result.stderr, '1 file checked: 1 error, 0 warnings\n');
  assert.equal(result.stdout, 'cfg.huge.yaml:1:1: error: This document is 400.0 MB; DriftLens reads documents up to 8 MB. Split it, or move bulky data out of the runtime config. [document-too-large]\n');
  assert.equal(result.code, 1);
});

test('validate a missing b: b is still checked, then exit 2', () => {
  const broken = file('cfg.dup.yaml', 'x: 1\nx: 2\n');
  const result = driftlens(['validate', 'missing.yaml', broken]);
  assert.equal(result.stdout, 'cfg.dup.yaml:2:1: error: Duplicate key "x": it is already defined above, and JSON readers disagree on which one wins. [duplicate-key]\n');
  assert.equal(result.stderr, 'driftlens: missing.yaml: no such file\n1 file checked, 1 could not be read: 1 error, 0 warnings\n');
  assert.equal(result.code, 2);
});

test('thousands of problems: 1,000 lines per file, the last one counts the rest; hash lists the same', () => {
  const dups = file('cfg.dups.yaml', 'a: 1\n'.repeat(5000));
  const result = driftlens(['validate', dups]);
  const lines = result.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 1000);
  assert.match(lines[998], /^cfg\.dups\.yaml:1000:1: error: Duplicate key "a"/);
  assert.equal(lines[999], 'cfg.dups.yaml: … and 4,000 more problems not shown (4,000 errors); DriftLens shows up to 1,000 per file, errors first.');
  assert.equal(result.stderr, '1 file checked: 4,999 errors, 0 warnings\n', 'counted as the last line counts');
  const hash = driftlens(['hash', dups]);
  assert.equal(hash.stderr.trimEnd().split('\n').length, 1001); // 1,000 lines, then the refusal
});

test('bytes that are not UTF-8 are reported with their byte offset; hashes are withheld', () => {
  // The pool job.a names is defined (as U+FFFD, what the byte reads as): the byte is the only problem.
  const latin1 = file('pools.yaml', Buffer.concat([Buffer.from('topics:\n  job.a: "caf'), Buffer.from([0xe9]), Buffer.from('"\npools: {"caf\\ufffd": {}}\n')]));
  const expected = 'pools.yaml:2:14: error: Byte 0xE9 at byte offset 21 is not valid UTF-8; DriftLens reads it as U+FFFD (�), so the data would not be what the file says. Save the file as UTF-8. [invalid-utf8]\n';
  assert.deepEqual(driftlens(['validate', latin1]), { code: 1, signal: null, stdout: expected, stderr: '1 file checked: 1 error, 0 warnings\n' });
  const hash = driftlens(['hash', latin1]);
  assert.equal(hash.code, 1);
  assert.equal(hash.stdout, '');
  assert.ok(hash.stderr.startsWith(expected));
});

test('a JSON file with a byte-order mark reads as without it', () => {
  const json = file('pools.json', '\ufeff{"topics": {"job.default": "default"}}');
  const result = driftlens(['hash', json, '--section', 'pools']);
  assert.equal(result.stderr, '');
  assert.equal(result.stdout, 'pools da879de4d8577813cf7b478a1c9b6336cb1682ec8984db5796c125469bd0b923\n');
});

test('a file whose lines end in a carriage return alone is read line by line, positions included', () => {
  const cr = file('pools.yaml', 'topics:\r  job.a: a\r  job.a: b\rpools:\r  a:\r    requires: [1]\r');
  const result = driftlens(['validate', cr]);
  assert.equal(
    result.stdout,
    'pools.yaml:3:3: error: Duplicate key "job.a": it is already defined above, and JSON readers disagree on which one wins. [duplicate-key]\n' +
      'pools.yaml:6:16: error: Item 0 of "requires" must be a string, not the integer 1. [type]\n',
  );
  assert.equal(result.code, 1);
});

test('a file with several YAML documents: our words, at the second document marker', () => {
  const multi = file('cfg.multi.yaml', 'topics: {}\n---\npools: {}\n---\nx: 1\n');
  assert.deepEqual(driftlens(['validate', multi]), {
    code: 1,
    signal: null,
    stdout: 'cfg.multi.yaml:2:1: error: This file has 3 YAML documents; DriftLens reads exactly one (one config document, section file or drift policy per file). [yaml-multiple-documents]\n',
    stderr: '1 file checked: 1 error, 0 warnings\n',
  });
});

test('pull of a live document nested 3,000 deep: a clear error (exit 4), no stack overflow', async () => {
  const redis = new Redis(redisServer.url);
  try {
    await redis.set(KEY, '{"scope":"system","scope_id":"default","revision":3,"updated_at":"2026-11-30T00:00:00Z","data":{"pools":' + '['.repeat(3000) + ']'.repeat(3000) + '}}');
    const result = driftlens(['pull']);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /^driftlens: The live value at cfg:system:default is not a Cordum config envelope: it nests deeper than 256 levels of objects and arrays\. DriftLens will not overwrite it/);
    assert.doesNotMatch(result.stderr, /call stack|internal error|\n {4}at /);
    assert.equal(result.code, 4);
  } finally {
    await redis.del(KEY);
    redis.disconnect();
  }
});

/**
 * Runs the CLI as `driftlens ... | head -n 1` in bash: a real pipe (node's own child pipes are
 * socket pairs with larger buffers) whose reader exits after the first line.
 */
function firstLineThenClose(args: string[]): { code: number; firstLine: string; stderr: string } {
  const script = '"$0" "$@" | head -n 1; echo "exit ${PIPESTATUS[0]}"';
  const result = spawnSync('bash', ['-c', script, process.execPath, CLI, ...args], { cwd: work, env: env(), encoding: 'utf8', timeout: 60_000 });
  const [firstLine, status] = result.stdout.split('\n');
  return { code: Number(/^exit (\d+)$/.exec(status)?.[1]), firstLine, stderr: result.stderr };
}

function assertStoppedQuietly(result: { code: number | null; stderr: string }, what: string): void {
  assert.doesNotMatch(result.stderr, /EPIPE|internal error|Error|\n {4}at /, `${what}: ${result.stderr}`);
  assert.equal(result.code, 141, `${what} ends as a tool killed by SIGPIPE`);
}

test('output piped into a reader that stops after one line (| head -1): validate, hash --explain and status stop quietly', async () => {
  const dups = file('cfg.many.yaml', 'a: 1\n'.repeat(5000));
  const validate = firstLineThenClose(['validate', dups]);
  assert.match(validate.firstLine, /^cfg\.many\.yaml:2:1: error: Duplicate key "a"/);
  assertStoppedQuietly(validate, 'validate');

  const topics = Array.from({ length: 5000 }, (_, i) => `  job.team-${i}.process: pool-${i}`).join('\n');
  const pools = file('pools.big.yaml', `topics:\n${topics}\npools:\n  pool-0:\n    requires: []\n`);
  const explain = firstLineThenClose(['hash', pools, '--kind', 'pools', '--explain']);
  assert.match(explain.firstLine, /^# pools [0-9a-f]{64}$/);
  assertStoppedQuietly(explain, 'hash --explain');

  // status of a fleet large enough that its table outgrows the pipe's buffer.
  const redis = new Redis(redisServer.url);
  try {
    const now = new Date().toISOString();
    for (let i = 0; i < 2000; i++) {
      const report: ReplicaReport = {
        v: 1,
        replicaId: `replica-with-a-rather-long-name-${i}`,
        service: 'scheduler',
        configKey: KEY,
        revision: null,
        reason: 'heartbeat',
        reportedAt: now,
        startedAt: now,
        pollIntervalMs: 30_000,
        lastCheckAt: null,
        lastCheckTrigger: null,
        sections: {},
        lastError: null,
      };
      await publishReplicaReport(redis, undefined, report, 600_000);
    }
    const whole = driftlens(['status']);
    assert.ok(whole.stdout.length > 128 * 1024, `the table (${whole.stdout.length} bytes) outgrows the pipe`);
    const status = firstLineThenClose(['status']);
    assert.equal(status.firstLine, whole.stdout.split('\n')[0]);
    assertStoppedQuietly(status, 'status');
  } finally {
    redis.disconnect();
  }
});
