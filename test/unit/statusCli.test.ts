import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { formatRfc3339Nano } from '../../src/live/envelope';
import { closeRedis, connectRedis } from '../../src/live/redisConnection';
import { publishReplicaReport, type ReplicaReport } from '../../src/live/replicaReports';
import { freePort, startNats, startRedis, type ServerProcess } from '../support/servers';
import { ROOT } from './helpers';

/**
 * `driftlens status` and `driftlens replicas` as an operator meets them: during outages, against
 * hostile text in Redis, with clocks that disagree, with simulated replicas beside real ones.
 * Real redis-server and nats-server; every wait is for output, never a fixed sleep.
 */

const CLI = path.join(ROOT, 'dist/cli.js');
const FIXTURE = path.join(ROOT, 'test/fixtures/config/cfg.system.default.yaml');

let redisServer: ServerProcess & { url: string };
let natsServer: ServerProcess & { url: string };
const children = new Set<ChildProcess>();

before(async () => {
  [redisServer, natsServer] = await Promise.all([startRedis(), startNats()]);
});

after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all([redisServer.dispose(), natsServer.dispose()]);
});

type Env = Partial<Record<'DRIFTLENS_REDIS_URL' | 'DRIFTLENS_NATS_URL' | 'DRIFTLENS_CONFIG_KEY', string>>;

function env(extra: Env = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', DRIFTLENS_REDIS_URL: redisServer.url, DRIFTLENS_NATS_URL: natsServer.url, ...extra };
}

function driftlens(args: string[], extra: Env = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: env(extra), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A long-running command whose output is collected; `until` waits for a condition on it. */
function background(args: string[], extra: Env = {}) {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: env(extra), stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const out = { stdout: '', stderr: '' };
  const listeners = new Set<() => void>();
  child.stdout.on('data', (d: Buffer) => ((out.stdout += d.toString()), listeners.forEach((l) => l())));
  child.stderr.on('data', (d: Buffer) => ((out.stderr += d.toString()), listeners.forEach((l) => l())));
  const until = (predicate: () => boolean, what: string, timeoutMs = 30_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        listeners.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stdout:\n${out.stdout.slice(-3000)}\nstderr:\n${out.stderr.slice(-2000)}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('close', () => resolve());
      child.kill('SIGINT');
    }).finally(() => children.delete(child));
  return { child, out, until, stop };
}

/** A port nothing listens on. */
async function deadUrl(scheme: 'redis' | 'nats'): Promise<string> {
  return `${scheme}://127.0.0.1:${await freePort()}`;
}

// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

function report(overrides: Partial<ReplicaReport> & { replicaId: string; configKey: string }): ReplicaReport {
  const now = new Date().toISOString();
  return { v: 1, service: 'scheduler', revision: 1, reason: 'heartbeat', reportedAt: now, startedAt: now, pollIntervalMs: 30_000, lastCheckAt: now, lastCheckTrigger: 'poll', sections: {}, lastError: null, ...overrides };
}

async function withRedis<T>(url: string, work: (redis: Awaited<ReturnType<typeof connectRedis>>) => Promise<T>): Promise<T> {
  const redis = await connectRedis({ url });
  try {
    return await work(redis);
  } finally {
    await closeRedis(redis);
  }
}

test('status reads Redis alone: with NATS down it still prints the replicas (not exit 4); --watch goes on without live events', async () => {
  const key = 'cfg:team:nats-down';
  await withRedis(redisServer.url, (redis) => publishReplicaReport(redis, undefined, report({ replicaId: 'r1', configKey: key }), 60_000));
  const natsDown = await deadUrl('nats');

  const once = await driftlens(['status', '--key', key], { DRIFTLENS_NATS_URL: natsDown });
  assert.equal(once.code, 1, `exit 1 (a replica not in sync), not 4: ${once.stderr}`);
  assert.match(once.stdout, /^no live document\n0\/1 in sync, 1 not checked\n/);
  assert.match(once.stdout, /scheduler:r1 +not checked/);

  const watch = background(['status', '--watch', '--key', key], { DRIFTLENS_NATS_URL: natsDown });
  await watch.until(() => /scheduler:r1 +not checked/.test(watch.out.stdout), 'the first table of status --watch');
  assert.match(watch.out.stderr, /watching without live events: the replica reports are re-read from Redis every 5s/);
  await watch.stop();
});

test('status --watch says Redis is down in our words, and recovers when it is back; a one-shot status exits 4', async () => {
  const server = await startRedis();
  try {
    const watch = background(['status', '--watch', '--key', 'cfg:team:outage'], { DRIFTLENS_REDIS_URL: server.url });
    await watch.until(() => watch.out.stdout.includes('no replica reports'), 'the first table');
    await server.stop();
    await watch.until(() => /Redis at redis:\/\/127\.0\.0\.1:\d+ is not reachable since \S+Z; reconnecting\. The replicas below are as last read\./.test(watch.out.stdout), 'the outage banner');
    const once = await driftlens(['status', '--key', 'cfg:team:outage'], { DRIFTLENS_REDIS_URL: server.url });
    assert.equal(once.code, 4, once.stderr);
    assert.match(once.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+: connection refused/);

    await server.start();
    const mark = watch.out.stdout.length;
    // A frame without the banner: the table's first line right after the frame separator.
    await watch.until(() => watch.out.stdout.slice(mark).includes('\n\nno live document\n'), 'a table without the banner after Redis came back');
    await watch.stop();
    for (const text of [watch.out.stdout, watch.out.stderr, once.stderr]) {
      assert.doesNotMatch(text, /Stream isn't writeable|enableOfflineQueue|Connection is closed/, 'no raw ioredis text');
    }
  } finally {
    await server.dispose();
  }
});

test('text from Redis is printed escaped: replica ids, error messages and published_by cannot drive the terminal', async () => {
  const key = 'cfg:system:default';
  const evilId = 'evil\x1b]0;pwned\x07\u202egnirts';
  const evilMessage = 'boom \x1b[2J\x1b[31mRED\u009b31m';
  await withRedis(redisServer.url, async (redis) => {
    await publishReplicaReport(redis, undefined, report({ replicaId: evilId, configKey: key, reason: 'error', lastError: { at: new Date().toISOString(), message: evilMessage, kind: 'redis-unavailable' } }), 60_000);
    const envelope = { scope: 'system', scope_id: 'default', data: {}, revision: 3, updated_at: new Date().toISOString(), meta: { published_by: 'mallory\x1b[8m\u202e' } };
    await redis.set(key, JSON.stringify(envelope));
  });

  const table = await driftlens(['status', '--key', key]);
  assert.equal(table.code, 1, table.stderr);
  assert.doesNotMatch(table.stdout, RAW_CONTROL, 'no raw control character on the terminal');
  assert.ok(table.stdout.includes('by mallory\\x1b[8m\\u202e'), table.stdout);
  assert.ok(table.stdout.includes('scheduler:evil\\x1b]0;pwned\\x07\\u202egnirts'), table.stdout);
  assert.ok(table.stdout.includes('redis-unavailable: boom \\x1b[2J\\x1b[31mRED\\x9b31m'), table.stdout);

  const json = await driftlens(['status', '--key', key, '--json']);
  assert.doesNotMatch(json.stdout, RAW_CONTROL, 'JSON escapes what JSON.stringify writes raw (C1, bidi)');
  const parsed = JSON.parse(json.stdout) as { replicas: { member: string; last_error: { message: string } }[] };
  assert.equal(parsed.replicas[0].member, `scheduler:${evilId}`, 'scripts still get the exact value');
  assert.equal(parsed.replicas[0].last_error.message, evilMessage);

  // The publish preview and `history` name the last publisher.
  const publish = await driftlens(['publish', FIXTURE, '--yes', '--no-write-back', '--expect-revision', '3']);
  assert.doesNotMatch(publish.stdout + publish.stderr, RAW_CONTROL);
  assert.ok(publish.stdout.includes('by mallory\\x1b[8m\\u202e'), publish.stdout + publish.stderr);
});

test('sub-millisecond timers are refused: --poll 1ns, --heartbeat 1us, a policy interval of 1ns', async () => {
  // --for: a simulator that accepted the value must still end.
  const poll = await driftlens(['replicas', '--count', '1', '--for', '2s', '--poll', '1ns']);
  assert.equal(poll.code, 2);
  assert.match(poll.stderr, /--poll must be at least 100ms, not "1ns"/);
  const heartbeat = await driftlens(['replicas', '--count', '1', '--for', '2s', '--heartbeat', '1us']);
  assert.equal(heartbeat.code, 2);
  assert.match(heartbeat.stderr, /--heartbeat must be at least 100ms, not "1us"/);
  const crash = await driftlens(['replicas', '--count', '1', '--for', '2s', '--fault', '1:crash=1ms']);
  assert.equal(crash.code, 2);
  assert.match(crash.stderr, /crash must be at least 1s/);

  const dir = mkdtempSync(path.join(tmpdir(), 'dl-policy-'));
  const policy = path.join(dir, 'drift-policy.yaml');
  writeFileSync(policy, readFileSync(path.join(ROOT, 'test/fixtures/policy/drift-policy.yaml'), 'utf8').replace(/interval: \S+/, 'interval: 1ns'));
  const text = readFileSync(policy, 'utf8');
  const line = text.split('\n').findIndex((l) => l.includes('interval: 1ns')) + 1;
  const column = text.split('\n')[line - 1].indexOf('1ns') + 1;
  const validate = await driftlens(['validate', policy]);
  assert.equal(validate.code, 1);
  assert.ok(validate.stdout.includes(`${policy}:${line}:${column}: error: A poll interval of 1ns would make every replica re-read the document nonstop; use at least 100ms`), validate.stdout);
  const status = await driftlens(['status', '--policy', policy]);
  assert.equal(status.code, 2, 'a policy with errors is refused');
});

test('a report and a publish dated in the future show as clock skew, never as a negative age', async () => {
  const key = 'cfg:team:skew';
  const future = Date.now() + 160_000;
  const stamp = formatRfc3339Nano(BigInt(future) * 1_000_000n);
  await withRedis(redisServer.url, async (redis) => {
    await redis.set(key, JSON.stringify({ scope: 'team', scope_id: 'skew', data: {}, revision: 1, updated_at: stamp }));
    await publishReplicaReport(redis, undefined, report({ replicaId: 'ahead', configKey: key, reportedAt: stamp }), 60_000);
  });
  const table = await driftlens(['status', '--key', key]);
  assert.match(table.stdout, /published 2m\d\ds in the future \(clock skew\?\)/);
  assert.match(table.stdout, /scheduler:ahead .* 2m\d\ds in the future \(clock skew\?\)/);
  assert.doesNotMatch(table.stdout, /-\d+m?s/, 'no negative duration');
});

type PhaseJson = { summary: string; simulated: number; replicas: { member: string; simulated?: boolean; sections: Record<string, { trigger?: string; applied_at_ms?: number }> }[] };

test('simulated replicas are marked, and each polls on its own phase: with every notification lost, their polls are spread over the interval', async (t) => {
  const server = await startRedis();
  try {
    const target = { DRIFTLENS_REDIS_URL: server.url };
    const first = await driftlens(['publish', FIXTURE, '--yes', '--no-write-back', '--expect-revision', '0'], target);
    assert.equal(first.code, 0, first.stderr);
    const pollMs = 2000;
    const sim = background(['replicas', '--count', '8', '--poll', '2s', '--heartbeat', '500ms', '--fault', '1-8:drop', '--no-table'], target);
    await sim.until(() => /revision 1 {2}8\/8 in sync$/m.test(sim.out.stdout), 'eight replicas in sync on revision 1');

    const changed = path.join(mkdtempSync(path.join(tmpdir(), 'dl-phase-')), 'cfg.system.default.yaml');
    writeFileSync(changed, readFileSync(FIXTURE, 'utf8').replace('job.default: default', 'job.default: fraud-detection'));
    // One of the fixture's two topics rerouted: many-topics, accepted by name.
    const second = await driftlens(['publish', changed, '--yes', '--accept-risk', 'many-topics', '--no-write-back', '--expect-revision', '1'], target);
    assert.equal(second.code, 0, second.stderr);
    await sim.until(() => /revision 2 {2}8\/8 in sync$/m.test(sim.out.stdout), 'eight replicas in sync on revision 2, all by poll', 20_000);

    const status = await driftlens(['status', '--json'], target);
    const model = JSON.parse(status.stdout) as PhaseJson;
    assert.equal(model.simulated, 8);
    assert.ok(model.replicas.every((r) => r.simulated === true), 'every simulated replica is marked');
    const applied = model.replicas.map((r) => {
      assert.equal(r.sections.pools.trigger, 'poll', `${r.member} converged by poll`);
      return r.sections.pools.applied_at_ms!;
    });
    const spread = Math.max(...applied) - Math.min(...applied);
    t.diagnostic(`applied by poll at +${applied.map((a) => a - Math.min(...applied)).sort((a, b) => a - b).join(', ')} ms`);
    // Eight uniform phases in a 2 s interval spread over less than 500 ms with probability < 0.04%;
    // tickers started together (the old simulator) fire within a few ms of each other.
    assert.ok(spread >= pollMs / 4, `polls spread over ${spread} ms of a ${pollMs} ms interval: ${applied.map((a) => a - Math.min(...applied)).join(', ')}`);

    const table = await driftlens(['status'], target);
    assert.match(table.stdout, /8\/8 in sync {2}· {2}8 simulated \(not real services\)/);
    assert.match(table.stdout, /scheduler:sim-1 \(simulated\) +in sync/);
    await sim.stop();
  } finally {
    await server.dispose();
  }
});
