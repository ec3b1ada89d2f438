import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { connect, type NatsConnection, type Subscription } from 'nats';
import Redis from 'ioredis';
import { decodeBusPacket } from '../../src/live/notifier';
import { startNats, startRedis, type ServerProcess } from '../support/servers';
import { ROOT, runCli } from './helpers';

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
  return runCli(args, { PATH: process.env.PATH ?? '', DRIFTLENS_REDIS_URL: redisServer.url, DRIFTLENS_NATS_URL: natsServer.url, ...env }, { cwd: work });
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
  assert.equal(same.stdout, 'nothing to publish: cfg:system:default revision 1 already holds this data\n');

  // Someone else publishes revision 2 from another copy.
  const other = fixtureCopy('cfg.system.default.yaml', 'cfg.other.yaml');
  writeFileSync(other, readFileSync(file, 'utf8').replace('job.default: default', 'job.default: fraud-detection'));
  // The fixture has two topics: rerouting one is many-topics (more than a quarter), accepted by name.
  assert.equal((await driftlens(['publish', other, '--yes', '--accept-risk', 'many-topics', '--key', KEY])).code, 0);
  const before = await redis.get(KEY);

  writeFileSync(file, readFileSync(file, 'utf8').replace('max_retries: 2', 'max_retries: 3'));
  const conflict = await driftlens(['publish', file, '--yes']);
  assert.equal(conflict.code, 3);
  assert.match(conflict.stderr, /revision conflict: cfg:system:default is at revision 2 \(published at .* by .*\), this publish was based on revision 1\. Nothing was written\./);
  assert.match(conflict.stderr, /driftlens diff .*cfg\.system\.default\.yaml/);
  assert.equal(await redis.get(KEY), before);

  const diff = await driftlens(['diff', file, '--format', 'patch']);
  assert.equal(diff.code, 1);
  assert.match(diff.stdout, /^-\s+job\.default: fraud-detection$/m);
  assert.match(diff.stdout, /^\+\s+job\.default: default$/m);
  assert.match(diff.stdout, /^\+\s+max_retries: 3$/m);

  const rebased = await driftlens(['publish', file, '--yes', '--accept-risk', 'many-topics', '--expect-revision', '2']);
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

test('NATS down: refused before the write (exit 4), nothing written; with NATS back the same publish goes through', async () => {
  const key = 'cfg:team:natsdown';
  await redis.del(key);
  const file = fixtureCopy('cfg.system.default.yaml', 'cfg.natsdown.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^revision: \d+$/m, 'revision: 0'));
  const result = await driftlens(['publish', file, '--yes', '--key', key], { DRIFTLENS_NATS_URL: 'nats://127.0.0.1:1' });
  assert.equal(result.code, 4, result.stderr);
  assert.match(result.stderr, /^driftlens: Cannot connect to NATS at nats:\/\/127\.0\.0\.1:1: .* Nothing was written: DriftLens connects to NATS before it writes/);
  assert.equal(result.stdout, '', 'no preview, no "published" line');
  assert.equal(await redis.exists(key), 0);
  assert.match(readFileSync(file, 'utf8'), /^revision: 0$/m, 'the file is not restamped');
  const retried = await driftlens(['publish', file, '--yes', '--key', key]);
  assert.equal(retried.code, 0, retried.stderr);
  assert.match(retried.stdout, /published cfg:team:natsdown revision 1/);
});

test('a NATS password NATS refuses is found before the write: exit 4, nothing written, the password never shown', async () => {
  const key = 'cfg:team:natsauth';
  await redis.del(key);
  const guarded = await startNats(undefined, ['--user', 'driftlens', '--pass', 'right-password']);
  try {
    const file = fixtureCopy('cfg.system.default.yaml', 'cfg.natsauth.yaml');
    const result = await driftlens(['publish', file, '--yes', '--key', key, '--expect-revision', '0'], { DRIFTLENS_NATS_URL: guarded.url, DRIFTLENS_NATS_USER: 'driftlens', DRIFTLENS_NATS_PASSWORD: 'wrong-password' });
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /Nothing was written/);
    assert.doesNotMatch(result.stdout + result.stderr, /wrong-password|right-password/);
    assert.equal(await redis.exists(key), 0);
  } finally {
    await guarded.dispose();
  }
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
  assert.match(result.stderr, /the live value at cfg:team:broken is not a Cordum config envelope: it is not valid JSON .*DriftLens will not overwrite it; inspect it with redis-cli GET cfg:team:broken/i);
  assert.equal(await redis.get('cfg:team:broken'), 'not json {');
});

test('without --yes and without a terminal, publish shows the preview and writes nothing (exit 6)', async () => {
  const before = await redis.get(KEY);
  const liveRevision = JSON.parse(before ?? '{}').revision as number;
  const file = fixtureCopy('cfg.system.default.yaml', 'cfg.unconfirmed.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^revision: \d+$/m, `revision: ${liveRevision}`).replace('max_retries: 2', 'max_retries: 5'));
  const result = await driftlens(['publish', file]);
  assert.equal(result.code, 6);
  assert.match(result.stdout, new RegExp(`-> revision ${liveRevision + 1}\n`));
  assert.match(result.stderr, /not confirmed: pass --yes/);
  assert.equal(await redis.get(KEY), before);
});

/** Nothing reached the subject: a sentinel published now is the first message the subscription sees. */
async function assertNothingNotified(sub: Subscription): Promise<void> {
  nats.publish('sys.config.changed', new TextEncoder().encode('sentinel'));
  assert.equal(new TextDecoder().decode(await nextMessage(sub)), 'sentinel');
}

test('a --subject NATS cannot publish on is refused before anything is written or connected (exit 2)', async () => {
  const file = fixtureCopy('cfg.system.default.yaml', 'cfg.subject.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^revision: \d+$/m, 'revision: 0'));
  for (const [subject, reason] of [
    ['a b', /"a b" is not a NATS subject: it contains whitespace/],
    ['', /a NATS subject cannot be empty/],
    ['sys..changed', /"sys\.\.changed" is not a NATS subject: it has an empty token/],
    ['sys.config.*', /"sys\.config\.\*" cannot be published on: "\*" and ">" are NATS wildcards/],
  ] as const) {
    await redis.del('cfg:team:subject');
    const sub = nats.subscribe('>', { max: 1 });
    await nats.flush();
    const result = await driftlens(['publish', file, '--yes', '--key', 'cfg:team:subject', '--subject', subject]);
    assert.equal(result.code, 2, `${subject}: ${result.stderr}`);
    assert.match(result.stderr, reason);
    assert.match(result.stderr, /nothing was written/);
    assert.equal(await redis.exists('cfg:team:subject'), 0, `--subject ${JSON.stringify(subject)} wrote Redis`);
    nats.publish('sentinel.subject', new TextEncoder().encode('sentinel'));
    assert.equal(new TextDecoder().decode(await nextMessage(sub)), 'sentinel', `--subject ${JSON.stringify(subject)} published something`);
  }
  // The same rule for the environment variable.
  const fromEnv = await driftlens(['publish', file, '--yes', '--key', 'cfg:team:subject'], { DRIFTLENS_SUBJECT: 'a b' });
  assert.equal(fromEnv.code, 2, fromEnv.stderr);
  assert.equal(await redis.exists('cfg:team:subject'), 0);
});

test('a bad --key or an --expect-revision beyond 2^53 is a usage error (exit 2) found before connecting', async () => {
  const file = fixtureCopy('cfg.system.default.yaml', 'cfg.flags.yaml');
  // Unreachable servers: a usage error must not even try them (it would be exit 4).
  const down = { DRIFTLENS_REDIS_URL: 'redis://127.0.0.1:1', DRIFTLENS_NATS_URL: 'nats://127.0.0.1:1' };
  for (const [args, reason] of [
    [['--key', 'bogus'], /"bogus" is not a config key: expected cfg:<scope>:<id>/],
    [['--key', 'cfg:planet:x'], /"cfg:planet:x" has unknown scope "planet"/],
    [['--key', 'cfg:team:a b'], /"cfg:team:a b" is not a config key: its id contains whitespace/],
    [['--expect-revision', '100000000000000000000'], /--expect-revision must be a whole number from 0 to 9007199254740991, not "100000000000000000000"/],
    [['--expect-revision', '9007199254740992'], /--expect-revision must be a whole number from 0 to 9007199254740991/],
    [['--expect-revision', '1e20'], /--expect-revision must be a whole number/],
  ] as const) {
    const result = await driftlens(['publish', file, '--yes', ...args], down);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, reason);
  }
  for (const command of [['diff', file], ['pull'], ['history']]) {
    const result = await driftlens([...command, '--key', 'bogus'], down);
    assert.equal(result.code, 2, `${command[0]}: ${result.stderr}`);
  }
  const rollback = await driftlens(['rollback', '9007199254740993', '--yes'], down);
  assert.equal(rollback.code, 2, rollback.stderr);
  assert.match(rollback.stderr, /the revision must be a whole number from 0 to 9007199254740991, not "9007199254740993"/);
});

test('a live revision DriftLens cannot use (negative, beyond 2^53) is named exactly and never overwritten', async () => {
  const file = fixtureCopy('cfg.system.default.yaml', 'cfg.rev.yaml');
  for (const stored of ['-5', '9007199254740993', '1.5']) {
    const value = `{"scope":"team","scope_id":"rev","data":{},"revision":${stored},"updated_at":"2026-11-27T21:40:05Z"}`;
    await redis.set('cfg:team:rev', value);
    for (const args of [['publish', file, '--yes', '--key', 'cfg:team:rev', '--expect-revision', '0'], ['pull', '--key', 'cfg:team:rev']]) {
      const result = await driftlens(args);
      assert.equal(result.code, 4, result.stderr);
      assert.equal(
        result.stderr,
        `driftlens: The live document at cfg:team:rev has revision ${stored}, not a whole number DriftLens can use (0 to 9007199254740991). DriftLens will not overwrite it; inspect it with redis-cli GET cfg:team:rev\n`,
      );
    }
    assert.equal(await redis.get('cfg:team:rev'), value);
  }
});

test('the first publish of an envelope file to an empty key: the refusal says exactly why, and --expect-revision 0 creates it', async () => {
  await redis.del('cfg:team:first');
  const file = fixtureCopy('cfg.system.default.yaml', 'cfg.first.yaml'); // says revision: 7
  const sub = nats.subscribe('sys.config.changed', { max: 1 });
  const refused = await driftlens(['publish', file, '--yes', '--key', 'cfg:team:first']);
  assert.equal(refused.code, 3, refused.stderr);
  assert.equal(refused.stdout, '', 'no preview promising a revision the write cannot create');
  assert.equal(
    refused.stderr,
    `driftlens: revision conflict: cfg:team:first does not exist in Redis (deleted, or never published to this key and database), this publish was based on revision 7. Nothing was written.\n` +
      `  Create it from this file: driftlens publish ${file} --expect-revision 0\n`,
  );
  assert.equal(await redis.exists('cfg:team:first'), 0);
  await assertNothingNotified(sub);

  const created = await driftlens(['publish', file, '--yes', '--key', 'cfg:team:first', '--expect-revision', '0']);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /^cfg:team:first: no document yet -> revision 1\n/);
  assert.match(created.stdout, /published cfg:team:first revision 1 /);
  assert.equal(JSON.parse((await redis.get('cfg:team:first')) ?? '{}').revision, 1);
  assert.match(readFileSync(file, 'utf8'), /^revision: 1$/m);
});

test('a bare section file (Cordum\'s config/pools.yaml) publishes as that section of the live document', async () => {
  const key = 'cfg:team:sections';
  const dir = path.join(work, 'config');
  mkdirSync(dir, { recursive: true });
  const pools = path.join(dir, 'pools.yaml');
  copyFileSync(path.join(ROOT, 'test/fixtures/cordum/pools.yaml'), pools);

  // No live document: a section alone is not a document.
  await redis.del(key);
  const missing = await driftlens(['publish', pools, '--yes', '--key', key]);
  assert.equal(missing.code, 4, missing.stderr);
  assert.equal(missing.stderr, `driftlens: ${key} does not exist in Redis: a pools section alone is not a document. Publish a whole config document to ${key} first, then its sections.\n`);
  assert.equal(await redis.exists(key), 0);

  // A live document with other sections and keys: only pools is replaced, on the live revision.
  const doc = fixtureCopy('cfg.system.default.yaml', 'cfg.sections.yaml');
  assert.equal((await driftlens(['publish', doc, '--yes', '--key', key, '--expect-revision', '0'])).code, 0);
  const before = JSON.parse((await redis.get(key)) ?? '{}');
  writeFileSync(pools, readFileSync(pools, 'utf8').replace(/^(\s+job\.default:).*$/m, '$1 fraud-detection'));
  const sub = nats.subscribe('sys.config.changed', { max: 1 });
  // Cordum's pools file routes the fixture's topics elsewhere: a risk that CI accepts by name.
  const result = await driftlens(['publish', pools, '--yes', '--accept-risk', 'many-topics', '--key', key]);
  assert.equal(result.code, 0, result.stderr);
  const preview = result.stdout.split('\n');
  assert.match(preview[0], new RegExp(`^${key}: revision 1 \\(.*\\) -> revision 2 \\(its pools section from a section file; the rest stays as it is\\)$`));
  assert.match(preview[1], /^ {2}pools {5}[0-9a-f]{12} -> [0-9a-f]{12} replicas apply it$/);
  assert.match(preview[2], /^ {2}timeouts {2}unchanged/);
  assert.doesNotMatch(result.stdout, /Other keys changed/);
  assert.match(result.stdout, new RegExp(`published ${key} revision 2 `));
  await nextMessage(sub);
  const after = JSON.parse((await redis.get(key)) ?? '{}');
  assert.equal(after.revision, 2);
  assert.deepEqual(Object.keys(after.data), Object.keys(before.data), 'every key kept, in its place');
  for (const k of Object.keys(before.data)) if (k !== 'pools') assert.deepEqual(after.data[k], before.data[k], k);
  assert.equal(after.data.pools.topics['job.default'], 'fraud-detection');
  assert.doesNotMatch(readFileSync(pools, 'utf8'), /revision/, 'a section file is not restamped');

  // The same file again: nothing to publish. diff compares the section only.
  const again = await driftlens(['publish', pools, '--yes', '--key', key]);
  assert.equal(again.stdout, `nothing to publish: ${key} revision 2 already holds this pools section\n`);
  const diff = await driftlens(['diff', pools, '--key', key]);
  assert.equal(diff.code, 0, diff.stdout);
  assert.equal(diff.stdout, `${pools} matches ${key} pools revision 2\n`);
});

test('a notification that fails after the write: the write stands, exit 5, the warning names the poll bound', async () => {
  // A real nats-server whose max_payload is smaller than the BusPacket: connecting works, the publish cannot.
  const config = path.join(work, 'small-payload.conf');
  writeFileSync(config, 'max_payload: 16\n');
  const small = await startNats(undefined, ['-c', config]);
  try {
    await redis.del('cfg:team:notify');
    const file = fixtureCopy('cfg.system.default.yaml', 'cfg.notify.yaml');
    const result = await driftlens(['publish', file, '--yes', '--key', 'cfg:team:notify', '--expect-revision', '0'], { DRIFTLENS_NATS_URL: small.url });
    assert.equal(result.code, 5, result.stderr);
    assert.match(result.stdout, /published cfg:team:notify revision 1/);
    assert.match(result.stderr, /^warning: the change notification on sys\.config\.changed failed \(.+\)\. The write stands: replicas pick it up on their next poll, within 30s \(policy: notification_lost <= 30s\)\.\n$/);
    assert.equal(JSON.parse((await redis.get('cfg:team:notify')) ?? '{}').revision, 1);
  } finally {
    await small.dispose();
  }
});
