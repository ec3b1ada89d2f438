import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { connect, type NatsConnection, type Subscription } from 'nats';
import Redis from 'ioredis';
import { decodeBusPacket } from '../../src/live/notifier';
import { startNats, startRedis, type ServerProcess } from '../support/servers';
import { ROOT } from './helpers';

const CLI = path.join(ROOT, 'dist/cli.js');
const KEY = 'cfg:system:default';

let redisServer: ServerProcess & { url: string };
let natsServer: ServerProcess & { url: string };
let redis: Redis;
let nats: NatsConnection;
let work: string;

before(async () => {
  [redisServer, natsServer] = await Promise.all([startRedis(), startNats()]);
  redis = new Redis(redisServer.url);
  nats = await connect({ servers: natsServer.url });
  work = mkdtempSync(path.join(tmpdir(), 'dl-publish-'));
});

after(async () => {
  redis.disconnect();
  await nats.close();
  await Promise.all([redisServer.dispose(), natsServer.dispose()]);
});

/** Runs the CLI as CI would: connection through environment variables, no terminal. */
function driftlens(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: work,
      env: { PATH: process.env.PATH ?? '', DRIFTLENS_REDIS_URL: redisServer.url, DRIFTLENS_NATS_URL: natsServer.url, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The next message on the subject; a sentinel published afterwards proves that nothing came before it. */
async function nextMessage(sub: Subscription): Promise<Uint8Array> {
  for await (const message of sub) return message.data;
  throw new Error('subscription closed');
}

function fixtureCopy(name: string, as = name): string {
  const file = path.join(work, as);
  copyFileSync(path.join(ROOT, 'test/fixtures/config', name), file);
  return file;
}

test('publish writes the envelope with revision+1, notifies, and restamps the envelope file', async () => {
  await redis.del(KEY);
  const file = fixtureCopy('cfg.system.default.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace('revision: 7', 'revision: 0'));
  const sub = nats.subscribe('sys.config.changed', { max: 1 });
  const result = await driftlens(['publish', file, '--yes']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^cfg:system:default: no document yet -> revision 1\n {2}pools {5}\(none\) -> [0-9a-f]{12}/);
  assert.match(result.stdout, /published cfg:system:default revision 1 at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\n/);
  const packet = decodeBusPacket(await nextMessage(sub));
  assert.equal(packet.alert?.message, 'config changed');
  assert.equal(packet.alert?.details.scope, 'system');
  assert.equal(packet.alert?.details.scope_id, 'default');
  const stored = JSON.parse((await redis.get(KEY)) ?? '{}');
  assert.deepEqual(Object.keys(stored), ['scope', 'scope_id', 'data', 'revision', 'updated_at', 'meta']);
  assert.equal(stored.revision, 1);
  assert.match(readFileSync(file, 'utf8'), /^revision: 1$/m);
  // The hashes replicas compute from the live document are the ones the file shows.
  const local = await driftlens(['hash', file]);
  writeFileSync(path.join(work, 'live.json'), JSON.stringify(stored));
  assert.equal((await driftlens(['hash', path.join(work, 'live.json')])).stdout, local.stdout);
});

test('publishing the same data again is a no-op; a stale file is a conflict that writes nothing', async () => {
  const file = path.join(work, 'cfg.system.default.yaml');
  const same = await driftlens(['publish', file, '--yes']);
  assert.equal(same.code, 0);
  assert.match(same.stdout, /nothing to publish: revision 1 already holds this data/);

  // Someone else publishes revision 2 from another copy.
  const other = fixtureCopy('cfg.system.default.yaml', 'cfg.other.yaml');
  writeFileSync(other, readFileSync(file, 'utf8').replace('job.default: default', 'job.default: fraud-detection'));
  assert.equal((await driftlens(['publish', other, '--yes', '--key', KEY])).code, 0);
  const before = await redis.get(KEY);

  writeFileSync(file, readFileSync(file, 'utf8').replace('max_retries: 2', 'max_retries: 3'));
  const conflict = await driftlens(['publish', file, '--yes']);
  assert.equal(conflict.code, 3);
  assert.match(conflict.stderr, /revision conflict: cfg:system:default is at revision 2 \(published at .* by .*\), this publish was based on revision 1\. Nothing was written\./);
  assert.match(conflict.stderr, /driftlens diff .*cfg\.system\.default\.yaml/);
  assert.equal(await redis.get(KEY), before);

  const diff = await driftlens(['diff', file]);
  assert.equal(diff.code, 1);
  assert.match(diff.stdout, /^-\s+job\.default: fraud-detection$/m);
  assert.match(diff.stdout, /^\+\s+job\.default: default$/m);
  assert.match(diff.stdout, /^\+\s+max_retries: 3$/m);

  const rebased = await driftlens(['publish', file, '--yes', '--expect-revision', '2']);
  assert.equal(rebased.code, 0, rebased.stderr);
  assert.match(rebased.stdout, /published cfg:system:default revision 3/);
});

test('diff ignores formatting: the pulled file matches live', async () => {
  const pulled = path.join(work, 'cfg.pulled.yaml');
  const pull = await driftlens(['pull', '--out', pulled]);
  assert.equal(pull.code, 0, pull.stderr);
  assert.match(readFileSync(pulled, 'utf8'), /^# Pulled from cfg:system:default \(revision 3\)/);
  const json = path.join(work, 'cfg.as-json.json');
  writeFileSync(json, JSON.stringify(JSON.parse((await redis.get(KEY)) ?? '{}'), null, 7));
  for (const file of [pulled, json]) {
    const diff = await driftlens(['diff', file]);
    assert.equal(diff.code, 0, diff.stdout);
    assert.match(diff.stdout, /matches cfg:system:default revision 3/);
  }
  assert.equal((await driftlens(['pull', '--out', pulled])).code, 2, 'an existing file is not overwritten without --force');
});

test('history lists what DriftLens published; rollback republishes old data as a new revision', async () => {
  const history = await driftlens(['history']);
  assert.equal(history.code, 0);
  assert.deepEqual(history.stdout.trim().split('\n').map((l) => l.split(' ')[0]), ['r3', 'r2', 'r1']);
  const sub = nats.subscribe('sys.config.changed', { max: 1 });
  const rollback = await driftlens(['rollback', '1', '--yes']);
  assert.equal(rollback.code, 0, rollback.stderr);
  assert.match(rollback.stdout, /published cfg:system:default revision 4/);
  await nextMessage(sub);
  const live = JSON.parse((await redis.get(KEY)) ?? '{}');
  const first = JSON.parse((await redis.lindex(`driftlens:history:{${KEY}}`, 3)) ?? '{}');
  assert.equal(live.revision, 4);
  assert.deepEqual(live.data, first.data);
  assert.equal(live.meta.rollback_of, '1');
});

test('an invalid file is refused with its diagnostics; nothing is written or notified', async () => {
  const before = await redis.get(KEY);
  const file = fixtureCopy('cfg.broken.yaml');
  const sub = nats.subscribe('sys.config.changed', { max: 1 });
  const result = await driftlens(['publish', file, '--yes']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /cfg\.broken\.yaml:9:17: error: "status" must be one of/);
  assert.match(result.stderr, /has 6 errors; nothing was published/);
  assert.equal(await redis.get(KEY), before);
  nats.publish('sys.config.changed', new TextEncoder().encode('sentinel'));
  assert.equal(new TextDecoder().decode(await nextMessage(sub)), 'sentinel');
});

test('NATS down: the write stands, a warning names the poll bound, exit 5', async () => {
  const file = path.join(work, 'cfg.system.default.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^revision: \d+$/m, 'revision: 4').replace('max_retries: 3', 'max_retries: 4'));
  const result = await driftlens(['publish', file, '--yes'], { DRIFTLENS_NATS_URL: 'nats://127.0.0.1:1' });
  assert.equal(result.code, 5, result.stderr);
  assert.match(result.stdout, /published cfg:system:default revision 5/);
  assert.match(result.stderr, /warning: the change notification on sys\.config\.changed failed: .*127\.0\.0\.1:1/);
  assert.match(result.stderr, /The write stands\. Replicas pick it up on their next poll, within 30s \(policy: notification_lost <= 30s\)\./);
  assert.equal(JSON.parse((await redis.get(KEY)) ?? '{}').revision, 5);
});

test('Redis down: a clear error, nothing written, nothing notified, no password echoed', async () => {
  const file = path.join(work, 'cfg.system.default.yaml');
  const sub = nats.subscribe('sys.config.changed', { max: 1 });
  const result = await driftlens(['publish', file, '--yes'], { DRIFTLENS_REDIS_URL: 'redis://127.0.0.1:1', DRIFTLENS_REDIS_PASSWORD: 'hunter2-secret' });
  assert.equal(result.code, 4);
  assert.match(result.stderr, /^driftlens: .*redis:\/\/127\.0\.0\.1:1/);
  assert.doesNotMatch(result.stderr + result.stdout, /hunter2-secret/);
  nats.publish('sys.config.changed', new TextEncoder().encode('sentinel'));
  assert.equal(new TextDecoder().decode(await nextMessage(sub)), 'sentinel');
});

test('a live value that is not an envelope is reported and never overwritten', async () => {
  await redis.set('cfg:team:broken', 'not json {');
  const file = fixtureCopy('cfg.system.default.yaml', 'cfg.team.yaml');
  const result = await driftlens(['publish', file, '--yes', '--key', 'cfg:team:broken']);
  assert.equal(result.code, 4);
  assert.match(result.stderr, /the live document at cfg:team:broken is unreadable: .*DriftLens will not overwrite it/);
  assert.equal(await redis.get('cfg:team:broken'), 'not json {');
});

test('without --yes and without a terminal, publish shows the preview and writes nothing (exit 6)', async () => {
  const before = await redis.get(KEY);
  const file = path.join(work, 'cfg.system.default.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace('max_retries: 4', 'max_retries: 5'));
  const result = await driftlens(['publish', file]);
  assert.equal(result.code, 6);
  assert.match(result.stdout, /-> revision 6/);
  assert.match(result.stderr, /not confirmed: pass --yes/);
  assert.equal(await redis.get(KEY), before);
});
