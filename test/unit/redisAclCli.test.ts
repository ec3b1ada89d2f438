import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { cannotReadMessage, publishFailedMessage } from '../../src/core/publishFlow';
import { computeSectionHash } from '../../src/core/sectionHash';
import { ConfigStore, historyKey } from '../../src/live/configStore';
import { closeRedis, connectRedis } from '../../src/live/redisConnection';
import { ReplicaAgent, type AgentEvent } from '../../src/agent/replicaAgent';
import { publishReplicaReport, replicaReportKey, ReportWriteError, type ReplicaReport } from '../../src/live/replicaReports';
import { verificationKey, VerificationStore, type VerificationRecord } from '../../src/live/verificationStore';
import { startNats, startRedis, type ServerProcess } from '../support/servers';
import { cliAsAclUser, runCli } from './helpers';

/**
 * The CLI and the stores as Redis ACL users that each lack one permission: a refused command is
 * never a half write or a success, and the message names the command, its key and what the user
 * needs. Real redis-server and nats-server.
 */

const KEY = 'cfg:system:default';
const HISTORY = historyKey(KEY);
const POOLS = { topics: { 'job.default': 'default' }, pools: { default: {} } };

let redisServer: ServerProcess & { url: string };
let natsServer: ServerProcess & { url: string };
let control: Redis;
let work: string;

before(async () => {
  [redisServer, natsServer] = await Promise.all([startRedis(), startNats()]);
  control = await connectRedis({ url: redisServer.url });
  work = mkdtempSync(path.join(tmpdir(), 'dl-acl-'));
});

after(async () => {
  await closeRedis(control);
  await Promise.all([redisServer.dispose(), natsServer.dispose()]);
});

const asAclUser = (t: { after(fn: () => unknown): void }, user: string, ...rules: string[]) => cliAsAclUser(t, { control, redisUrl: redisServer.url, natsUrl: natsServer.url }, user, ...rules);

/** A fresh Redis with revisions 1 and 2 of the document, both in DriftLens's history. */
async function published(): Promise<void> {
  await control.flushall();
  const store = new ConfigStore(control);
  await store.write(KEY, { data: { pools: POOLS }, expectedRevision: 0 });
  await store.write(KEY, { data: { pools: { ...POOLS, topics: { 'job.default': ['default'] } } }, expectedRevision: 1 });
}

/** What a writer may have left behind: the document's revision and the history's revisions, newest first. */
async function stored(): Promise<{ revision: number | undefined; history: number[] }> {
  const raw = await control.get(KEY);
  const history = (await control.lrange(HISTORY, 0, -1)).map((item) => (JSON.parse(item) as { revision: number }).revision);
  return { revision: raw === null ? undefined : (JSON.parse(raw) as { revision: number }).revision, history };
}

/** A data map to publish on the live revision, different from both stored revisions. */
function dataFile(): string {
  const file = path.join(work, 'cfg.system.default.json');
  writeFileSync(file, JSON.stringify({ pools: { ...POOLS, pools: { default: { description: 'the only pool' } } } }));
  return file;
}

test('publish and rollback as a Redis user without MULTI write nothing (its SET ran outside the transaction, without the WATCH, and the CLI said it failed)', async (t) => {
  const env = await asAclUser(t, 'acl-no-multi', '+@all', '-multi', '~*');
  const file = dataFile();
  for (const args of [['publish', file, '--yes'], ['rollback', '1', '--yes']]) {
    await published();
    const run = await runCli(args, env, { cwd: work, timeoutMs: 30_000 });
    assert.equal(run.code, 4, `${args[0]}: exits as unavailable: ${run.stderr}`);
    assert.doesNotMatch(run.stdout, /^published/m, `${args[0]}: no success reported`);
    assert.deepEqual(await stored(), { revision: 2, history: [2, 1] }, `${args[0]}: neither the document nor its history moved`);
  }
});

test('a verification record is not saved by a Redis user without MULTI (its SET ran outside the lease check)', async (t) => {
  await control.flushall();
  await control.call('ACL', 'SETUSER', 'acl-verify-no-multi', 'reset', 'on', '>sim-pass', '+@all', '-multi', '~*');
  t.after(() => control.call('ACL', 'DELUSER', 'acl-verify-no-multi'));
  const redis = await connectRedis({ url: redisServer.url, username: 'acl-verify-no-multi', password: 'sim-pass' });
  t.after(() => closeRedis(redis));
  const store = new VerificationStore(redis);
  assert.equal(await store.claim(KEY, 5, 'alice@host (cli)', 60_000), true, 'the lease is a plain SET NX');
  const record: VerificationRecord = {
    v: 1, key: KEY, revision: 5, state: 'running', reason: 'measuring', verifier: 'alice@host (cli)', heartbeatAt: new Date().toISOString(),
    publishedAt: new Date().toISOString(), count: 1, intervalMs: 1000, initialDelayMs: 0, onFailure: 'notify', prometheus: 'http://127.0.0.1:9', checks: [],
  };
  await assert.rejects(store.save(record, 'alice@host (cli)', 60_000), /MULTI/);
  assert.equal(await control.get(verificationKey(KEY, 5)), null, 'no record written outside the transaction');
});

test('a Redis user that may not GET: publish, diff, pull and rollback name GET, the key and +get; history names the verification record it could not read', async (t) => {
  const env = await asAclUser(t, 'acl-no-get', '+@all', '-get', '~*');
  await published();
  const file = dataFile();
  for (const args of [['publish', file, '--yes'], ['diff', file], ['pull'], ['rollback', '1', '--yes']]) {
    const run = await runCli(args, env, { cwd: work, timeoutMs: 30_000 });
    assert.equal(run.code, 4, `${args[0]}: ${run.stderr}`);
    // Before: "driftlens: NOPERM this user has no permissions to run the 'get' command", nothing about which read or what to do.
    assert.match(run.stderr, /^driftlens: cannot read cfg:system:default: Redis at redis:\/\/127\.0\.0\.1:\d+ \(user acl-no-get\) refused GET cfg:system:default \(NOPERM [^)]*'get' command\): the Redis user needs the GET command \(ACL SETUSER <user> \+get\)\n$/, args[0]);
  }
  const history = await runCli(['history'], env, { cwd: work, timeoutMs: 30_000 });
  assert.equal(history.code, 4, history.stderr);
  assert.match(history.stderr, /refused GET driftlens:verify:\{cfg:system:default\}:2 \(NOPERM [^)]*\): the Redis user needs the GET command/);
  assert.deepEqual(await stored(), { revision: 2, history: [2, 1] });
});

test('a Redis user that may write the document but not DriftLens\'s history: publish names LPUSH and the history key, writes nothing, and --no-history is the way out', async (t) => {
  const env = await asAclUser(t, 'acl-cfg-only', '+@all', '%R~*', '%W~cfg:*');
  await published();
  const file = dataFile();
  const refused = await runCli(['publish', file, '--yes'], env, { cwd: work, timeoutMs: 30_000 });
  assert.equal(refused.code, 4, refused.stderr);
  // Before: "driftlens: EXECABORT Transaction discarded because of previous errors."
  assert.match(refused.stderr, /refused LPUSH driftlens:history:\{cfg:system:default\} \(NOPERM [^)]*keys[^)]*\): the Redis user needs write access to the key driftlens:history:\{cfg:system:default\} \(a key pattern such as %RW~driftlens:history:\{cfg:system:default\}\); nothing was written\. To write without DriftLens's history, pass --no-history\n$/);
  assert.deepEqual(await stored(), { revision: 2, history: [2, 1] }, 'nothing written');
  const without = await runCli(['publish', file, '--yes', '--no-history'], env, { cwd: work, timeoutMs: 30_000 });
  assert.equal(without.code, 0, without.stderr);
  assert.deepEqual(await stored(), { revision: 3, history: [2, 1] }, 'the document moved, the history was left alone');
});

test('a Redis user without EXEC: publish names EXEC and writes nothing; status without ZRANGE names ZRANGE and the replica index', async (t) => {
  await published();
  const noExec = await asAclUser(t, 'acl-no-exec', '+@all', '-exec', '~*');
  const publish = await runCli(['publish', dataFile(), '--yes'], noExec, { cwd: work, timeoutMs: 30_000 });
  assert.equal(publish.code, 4, publish.stderr);
  assert.match(publish.stderr, /cannot publish cfg:system:default: Redis at \S+ \(user acl-no-exec\) refused EXEC \(EXECABORT [^)]*'exec' command\): the Redis user needs the EXEC command \(ACL SETUSER <user> \+exec\); nothing was written\n$/);
  assert.deepEqual(await stored(), { revision: 2, history: [2, 1] });
  const noZrange = await asAclUser(t, 'acl-no-zrange', '+@all', '-zrange', '~*');
  for (const args of [['status'], ['status', '--json']]) {
    const status = await runCli(args, noZrange, { cwd: work, timeoutMs: 30_000 });
    assert.equal(status.code, 4, status.stderr);
    assert.match(status.stderr, /^driftlens: cannot read the replicas of cfg:system:default: Redis at \S+ \(user acl-no-zrange\) refused ZRANGE driftlens:replicas:\{cfg:system:default\} \(NOPERM [^)]*\): the Redis user needs the ZRANGE command \(ACL SETUSER <user> \+zrange\)\n$/, args.join(' '));
  }
});

test('what the editor says when Redis refuses: the store\'s own words once, and whether anything was written as the store knows it', async (t) => {
  await published();
  await asAclUser(t, 'ed-no-get', '+@all', '-get', '~*');
  await asAclUser(t, 'ed-no-history', '+@all', '%R~*', '%W~cfg:*');
  const readerRedis = await connectRedis({ url: redisServer.url, username: 'ed-no-get', password: 'sim-pass' });
  const writerRedis = await connectRedis({ url: redisServer.url, username: 'ed-no-history', password: 'sim-pass' });
  t.after(() => Promise.all([closeRedis(readerRedis), closeRedis(writerRedis)]));
  const reader = new ConfigStore(readerRedis);
  const writer = new ConfigStore(writerRedis);
  const readError = await reader.read(KEY).then(() => undefined, (e: unknown) => e);
  const read = cannotReadMessage(KEY, readError);
  assert.match(read, /^Cannot read cfg:system:default: Redis at .* refused GET cfg:system:default \(NOPERM/);
  assert.equal(read.split(KEY).length - 1, 2, `the key is named where it belongs, not in a doubled prefix: ${read}`);
  const writeError = await writer.write(KEY, { data: { pools: POOLS }, expectedRevision: 2 }).then(() => undefined, (e: unknown) => e);
  const publish = publishFailedMessage(writeError);
  assert.match(publish, /^Publish failed: cannot publish cfg:system:default: .*nothing was written/);
  assert.equal(publish.match(/nothing was written/g)?.length, 1);
  assert.deepEqual(await stored(), { revision: 2, history: [2, 1] });
  // Anything that does not say whether it wrote failed before the write.
  assert.equal(publishFailedMessage(new Error('boom')), 'Publish failed, nothing was written: boom');
  // A JavaScript error that happens to begin like the store's keeps the key it is about.
  assert.equal(cannotReadMessage(KEY, new TypeError("Cannot read properties of undefined (reading 'x')")), "Cannot read cfg:system:default: Cannot read properties of undefined (reading 'x')");
});

/** An in-sync report of the live revision 2 by replica r1, as the agent writes it. */
function inSyncReport(): ReplicaReport {
  const now = new Date().toISOString();
  const pools = { ...POOLS, topics: { 'job.default': ['default'] } };
  return { v: 1, service: 'scheduler', replicaId: 'r1', configKey: KEY, revision: 2, reason: 'heartbeat', reportedAt: now, startedAt: now, pollIntervalMs: 30_000, lastCheckAt: now, lastCheckTrigger: 'startup', sections: { pools: { hash: computeSectionHash('pools', pools).hash!, appliedAt: now, trigger: 'startup', revision: 2 } }, lastError: null };
}

test('status as a Redis user with Cordum\'s keys and the replicas\' only (no DriftLens history): it watches without the history, and says so once', async (t) => {
  await published();
  await publishReplicaReport(control, undefined, inSyncReport(), 60_000);
  const env = await asAclUser(t, 'acl-no-history', '+@all', '~cfg:*', '~driftlens:replica*', '~cordum:*');
  const status = await runCli(['status'], env, { cwd: work, timeoutMs: 30_000 });
  assert.equal(status.code, 0, `all in sync: ${status.stderr}`);
  assert.match(status.stdout, /1\/1 in sync/);
  assert.match(status.stderr, /refused LRANGE driftlens:history:\{cfg:system:default\} .*replicas are watched without it/);
  assert.equal(status.stderr.match(/refused LRANGE/g)?.length, 1, 'said once');
});

test('a replica report as a Redis user without MULTI is refused whole: no report stored outside a transaction', async (t) => {
  await published();
  await asAclUser(t, 'acl-report-no-multi', '+@all', '-multi', '~*');
  const redis = await connectRedis({ url: redisServer.url, username: 'acl-report-no-multi', password: 'sim-pass' });
  t.after(() => closeRedis(redis));
  const error = await publishReplicaReport(redis, undefined, inSyncReport(), 60_000).then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof ReportWriteError, String(error));
  assert.deepEqual(await control.keys('driftlens:replica*'), [], 'neither the report nor the index entry was written');
});

test('a replica that may not DEL its report on stopping says so (it was dropped silently): watchers list it as stale until the report expires', async (t) => {
  await published();
  await asAclUser(t, 'acl-agent-no-del', '+@all', '-del', '~*');
  const events: AgentEvent[] = [];
  const agent = new ReplicaAgent({ service: 'scheduler', replicaId: 'r1', configKey: KEY, redis: { url: redisServer.url, username: 'acl-agent-no-del', password: 'sim-pass' }, env: {}, sections: ['pools'], apply: () => undefined, onEvent: (e) => events.push(e) });
  await agent.start();
  await agent.stop({ deregister: true });
  const said = events.filter((e) => e.type === 'error' && e.kind === 'deregister');
  assert.equal(said.length, 1, JSON.stringify(events));
  assert.match((said[0] as { message: string }).message, /^cannot delete the report driftlens:replica:\{cfg:system:default\}:scheduler:r1 on stopping: Redis at redis:\/\/127\.0\.0\.1:\d+ \(user acl-agent-no-del\) refused DEL driftlens:replica:\{cfg:system:default\}:scheduler:r1 \(NOPERM [^)]*'del'[^)]*\): the Redis user needs the DEL command/);
  assert.notEqual(await control.get(replicaReportKey(KEY, 'scheduler', 'r1')), null, 'the report it could not delete is still there');
});

test('replicas as a Redis user without DEL: the refused deletion is said once with its fix, then how many more replicas it hit', async (t) => {
  await published();
  const env = await asAclUser(t, 'acl-replicas-no-del', '+@all', '-del', '~*', '&*');
  const run = await runCli(['replicas', '--count', '3', '--for', '1s', '--no-register', '--no-table'], env, { cwd: work, timeoutMs: 30_000 });
  const said = run.stderr.split('\n').filter((line) => line.includes('cannot delete the report'));
  assert.equal(said.length, 1, run.stderr);
  assert.match(said[0], /^driftlens: cannot delete the report driftlens:replica:\{cfg:system:default\}:scheduler:sim-\d on stopping: .*refused DEL .*: the Redis user needs the DEL command \(ACL SETUSER <user> \+del\); watchers list the replica as stale until the report expires\.$/);
  assert.match(run.stderr, /^driftlens: 2 more replicas could not delete their reports on stopping either \(the first one's refusal above\)\.$/m);
});

