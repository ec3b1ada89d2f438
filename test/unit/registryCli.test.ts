import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { computeSectionHash } from '../../src/core/sectionHash';
import { ConfigStore } from '../../src/live/configStore';
import { closeRedis, connectRedis } from '../../src/live/redisConnection';
import { publishReplicaReport, type ReplicaReport } from '../../src/live/replicaReports';
import { startNats, startRedis, type ServerProcess } from '../support/servers';
import { cliAsAclUser, ROOT, runCli } from './helpers';

/**
 * `driftlens status` and `driftlens replicas` with Cordum's instance registry, as an operator
 * meets them: registered instances without the agent are "not reporting" (exit 1), every replica
 * shows its registered version and commit, the simulator registers like Cordum does. Real
 * redis-server and nats-server; waits are for output, never fixed sleeps.
 */

const CLI = path.join(ROOT, 'dist/cli.js');
const KEY = 'cfg:system:default';
const POOLS = { topics: { 'job.default': 'default' }, pools: { default: {} } };

let redisServer: ServerProcess & { url: string };
let natsServer: ServerProcess & { url: string };
let control: Redis;

before(async () => {
  [redisServer, natsServer] = await Promise.all([startRedis(), startNats()]);
  control = await connectRedis({ url: redisServer.url });
});

after(async () => {
  await closeRedis(control);
  await Promise.all([redisServer.dispose(), natsServer.dispose()]);
});

function driftlens(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', DRIFTLENS_REDIS_URL: redisServer.url, DRIFTLENS_NATS_URL: natsServer.url }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A fresh Redis with the live document and one in-sync report per id. */
async function fleet(reporting: string[]): Promise<void> {
  await control.flushall();
  await new ConfigStore(control).write(KEY, { data: { pools: POOLS }, expectedRevision: 0 });
  const hash = computeSectionHash('pools', POOLS).hash!;
  for (const id of reporting) {
    const now = new Date().toISOString();
    const report: ReplicaReport = { v: 1, service: 'scheduler', replicaId: id, configKey: KEY, revision: 1, reason: 'heartbeat', reportedAt: now, startedAt: now, pollIntervalMs: 30_000, lastCheckAt: now, lastCheckTrigger: 'startup', sections: { pools: { hash, appliedAt: now, trigger: 'startup', revision: 1 } }, lastError: null };
    await publishReplicaReport(control, undefined, report, 60_000);
  }
}

/** The CLI as a Redis ACL user with these rules, for one test. */
const asAclUser = (t: { after(fn: () => unknown): void }, user: string, ...rules: string[]) => cliAsAclUser(t, { control, redisUrl: redisServer.url, natsUrl: natsServer.url }, user, ...rules);

async function register(id: string, value?: object | string): Promise<void> {
  const text = typeof value === 'string' ? value : JSON.stringify(value ?? { id, service: 'scheduler', version: 'v0.9.1', commit: 'abc1234def', started_at: '2026-11-30T10:00:00Z' });
  await control.set(`cordum:instance:scheduler:${id}`, text, 'PX', 60_000);
}

interface StatusJson {
  summary: string;
  counts: Record<string, number>;
  registry?: { services: string[]; registered: number; complete: boolean };
  replicas: { member: string; state: string; registry?: { version: string | null; commit: string | null; problem?: string }; reporting_only?: boolean; sections: Record<string, { state: string; why: string }> }[];
}

test('status: a registered instance without a report is not reporting (exit 1), with its version and commit in the text and the JSON', async () => {
  await fleet(['a']);
  await register('a');
  const allInSync = await driftlens(['status']);
  assert.equal(allInSync.code, 0, `every registered replica reports and is in sync: ${allInSync.stdout}${allInSync.stderr}`);
  assert.match(allInSync.stdout, /scheduler:a +in sync .* v0\.9\.1 abc1234def/);

  await register('b', { id: 'b', service: 'scheduler', version: 'v0.8.0', commit: 'fff0000' });
  const text = await driftlens(['status']);
  assert.equal(text.code, 1, 'a not-reporting replica is never in sync');
  assert.match(text.stdout, /^cfg:system:default .*\n1\/2 in sync, 1 not reporting\n/);
  assert.match(text.stdout, /REGISTRY/);
  assert.match(text.stdout, /scheduler:b +not reporting +-------- not reporting +never +v0\.8\.0 fff0000/);

  const json = await driftlens(['status', '--json']);
  assert.equal(json.code, 1);
  const model = JSON.parse(json.stdout) as StatusJson;
  assert.deepEqual(model.registry, { services: ['scheduler'], registered: 2, complete: true });
  assert.equal(model.counts['not-reporting'], 1);
  const b = model.replicas.find((r) => r.member === 'scheduler:b');
  assert.equal(b?.state, 'not-reporting');
  assert.deepEqual([b?.registry?.version, b?.registry?.commit], ['v0.8.0', 'fff0000']);
  assert.match(b?.sections.pools.why ?? '', /install the agent/);
  const a = model.replicas.find((r) => r.member === 'scheduler:a');
  assert.deepEqual([a?.state, a?.registry?.version], ['in-sync', 'v0.9.1'], 'a reporting replica shows its registry version too');
});

test('status: a reporting replica that is not registered is "reporting only", not an error', async () => {
  await fleet(['a', 'unlisted']);
  await register('a');
  const text = await driftlens(['status']);
  assert.equal(text.code, 0, `reporting only is in sync: ${text.stdout}`);
  assert.match(text.stdout, /scheduler:unlisted +in sync .* reporting only/);
  const model = JSON.parse((await driftlens(['status', '--json'])).stdout) as StatusJson;
  assert.equal(model.replicas.find((r) => r.member === 'scheduler:unlisted')?.reporting_only, true);
});

test('status: hostile and malformed registry values are shown escaped, and the instance still counts', async () => {
  await fleet([]);
  await register('evil', { id: 'evil', service: 'scheduler', version: 'v1\u001b[2J\u202e', commit: 'c' });
  await register('broken', '{not json');
  const text = await driftlens(['status']);
  assert.equal(text.code, 1);
  assert.doesNotMatch(text.stdout, /\u001b|\u202e/);
  assert.match(text.stdout, /scheduler:evil +not reporting .* v1\\x1b\[2J\\u202e c/);
  assert.match(text.stdout, /scheduler:broken +not reporting .* no version no commit \(odd value\)/);
  const model = JSON.parse((await driftlens(['status', '--json'])).stdout) as StatusJson;
  assert.equal(model.replicas.find((r) => r.member === 'scheduler:broken')?.registry?.problem, 'its registry value is not JSON');
});

test('status: --registry-services and --registry-pattern choose whose instances count; bad values are refused before reading', async () => {
  await fleet(['a']);
  await register('a');
  await register('silent');
  await control.set('cordum:instance:api-gateway:gw-1', JSON.stringify({ id: 'gw-1', service: 'api-gateway', version: 'v1', commit: 'c' }), 'PX', 60_000);
  const off = await driftlens(['status', '--registry-services', '']);
  assert.equal(off.code, 0, `the registry off: only reports count: ${off.stdout}`);
  assert.doesNotMatch(off.stdout, /REGISTRY|silent/);
  const gateway = JSON.parse((await driftlens(['status', '--json', '--registry-services', 'scheduler,api-gateway'])).stdout) as StatusJson;
  assert.deepEqual(gateway.replicas.map((r) => `${r.member} ${r.state}`).sort(), ['api-gateway:gw-1 not-reporting', 'scheduler:a in-sync', 'scheduler:silent not-reporting']);
  await control.set('acme/scheduler/x', JSON.stringify({ id: 'x', version: 'v2', commit: 'd' }), 'PX', 60_000);
  const custom = JSON.parse((await driftlens(['status', '--json', '--registry-pattern', 'acme/{service}/{id}'])).stdout) as StatusJson;
  assert.deepEqual(custom.replicas.map((r) => `${r.member} ${r.state}${r.reporting_only ? ' reporting-only' : ''}`).sort(), ['scheduler:a in-sync reporting-only', 'scheduler:x not-reporting']);
  const bad = await driftlens(['status', '--registry-pattern', 'acme/{service}']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /the instance key pattern "acme\/\{service\}" must contain \{id\} exactly once/);
});

/**
 * Runs `driftlens replicas <args> --heartbeat 500ms --no-table` until its one-line log matches
 * `until`, then `body` with that line; stops it with Ctrl-C (a clean stop deregisters) whatever happens.
 */
async function withSimulator(args: string[], until: RegExp, body: (line: string) => Promise<void>): Promise<void> {
  const sim = spawn(process.execPath, [CLI, 'replicas', ...args, '--heartbeat', '500ms', '--no-table'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', DRIFTLENS_REDIS_URL: redisServer.url, DRIFTLENS_NATS_URL: natsServer.url }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  sim.stdout.on('data', (d: Buffer) => (out += d.toString()));
  sim.stderr.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for the simulator: ${out}`)), 30_000);
      const check = () => {
        const match = out.split('\n').find((l) => until.test(l));
        if (match !== undefined) {
          clearTimeout(timer);
          resolve(match);
        }
      };
      sim.stdout.on('data', check);
      check();
    });
    await body(line);
  } finally {
    // A simulator that already exited (a refused option) has nothing left to stop.
    if (sim.exitCode === null && sim.signalCode === null) {
      await new Promise<void>((resolve) => {
        sim.once('close', () => resolve());
        sim.kill('SIGINT');
      });
    }
  }
}

test('replicas registers its instances like Cordum (PX 15000) and --not-reporting adds instances without an agent', async () => {
  await fleet([]);
  await withSimulator(['--count', '2', '--not-reporting', '1'], /2\/3 in sync, 1 not reporting$/, async () => {
    const keys = (await control.keys('cordum:instance:*')).sort();
    assert.deepEqual(keys, ['cordum:instance:scheduler:silent-1', 'cordum:instance:scheduler:sim-1', 'cordum:instance:scheduler:sim-2']);
    const ttl = await control.pttl('cordum:instance:scheduler:sim-1');
    assert.ok(ttl > 0 && ttl <= 15_000, `TTL ${ttl} ms, as Cordum's`);
    const value = JSON.parse((await control.get('cordum:instance:scheduler:silent-1'))!);
    assert.equal(value.service, 'scheduler');
    assert.match(value.version, /^driftlens-sim-/);
    const status = await driftlens(['status']);
    assert.equal(status.code, 1);
    assert.match(status.stdout, /scheduler:silent-1 +not reporting .*driftlens-sim-\S+ simulated/);
    assert.match(status.stdout, /scheduler:sim-1 \(simulated\) +in sync .*driftlens-sim-\S+ simulated/);
  });
  assert.deepEqual(await control.keys('cordum:instance:*'), [], 'a clean stop deregisters, as Cordum does');
});

test('replicas --service cordum-scheduler (the status protocol\'s name) registers as Cordum does, under scheduler: registered, and its silent instances not reporting', async () => {
  await fleet([]);
  // Both simulated replicas report; the summary then says whether the registry joined them.
  await withSimulator(['--count', '2', '--not-reporting', '1', '--service', 'cordum-scheduler'], /revision 1 {2}2\/\d in sync/, async (line) => {
    assert.match(line, /2\/3 in sync, 1 not reporting$/, 'the silent instance is found and the reporting replicas are registered');
    assert.deepEqual((await control.keys('cordum:instance:*')).sort(), ['cordum:instance:scheduler:silent-1', 'cordum:instance:scheduler:sim-1', 'cordum:instance:scheduler:sim-2']);
    const model = JSON.parse((await driftlens(['status', '--json'])).stdout) as StatusJson;
    assert.deepEqual(model.replicas.filter((r) => r.reporting_only).map((r) => r.member), [], 'no replica is "reporting only"');
  });
});

test('replicas whose start fails (an ACL forbids writing the registry) stops the replicas that did start: it exits with the reason and leaves no report behind, in one process and in shards', async (t) => {
  // Writes only to DriftLens's keys: the agents start and report, their registration is refused.
  const env = await asAclUser(t, 'sim-no-registry', '+@all', '%R~*', '%W~driftlens:*');
  for (const args of [['--count', '3'], ['--count', '4', '--shards', '2']]) {
    await fleet([]);
    // Before the fix the one-process run never ended (its agents kept running): bounded here.
    const run = await runCli(['replicas', ...args, '--heartbeat', '500ms', '--no-table', '--for', '60s'], env, { timeoutMs: 30_000 });
    assert.equal(run.code, 4, `${args.join(' ')}: exits as unavailable (${run.code === null ? 'still running after 30 s' : `exit ${run.code}`}): ${run.stderr}`);
    assert.match(run.stderr, /cannot register sim-\d in Cordum's instance registry \(SET cordum:instance:scheduler:sim-\d\): NOPERM .*; --no-register runs the replicas without registering/, args.join(' '));
    assert.deepEqual(await control.keys('driftlens:replica*'), [], `${args.join(' ')}: the replicas that started were stopped and their reports deleted`);
  }
});

test('replicas whose Redis user may not read (no GET) exits with the reply, stops the replicas it started, and does not hang', async (t) => {
  const env = await asAclUser(t, 'sim-no-get', '+@all', '-get', '~*');
  await fleet([]);
  // Before the fix: "internal error: ReplyError" with a stack, and the process never ended.
  const run = await runCli(['replicas', '--count', '2', '--heartbeat', '500ms', '--no-table', '--for', '60s'], env, { timeoutMs: 30_000 });
  assert.equal(run.code, 4, `exits as unavailable (${run.code === null ? 'still running after 30 s' : `exit ${run.code}`}): ${run.stderr}`);
  assert.match(run.stderr, /driftlens: cannot read what the replicas report: Redis at \S+ \(user sim-no-get\) refused GET cfg:system:default \(NOPERM .*'get' command\): the Redis user needs the GET command/);
  assert.doesNotMatch(run.stderr, /internal error|ReplyError|    at /, 'no stack trace');
  assert.deepEqual(await control.keys('driftlens:replica:*'), [], 'the replicas that started were stopped and their reports deleted');
});

test('replicas whose reports Redis refuses (an ACL without the report keys) say so once, with the reply, and keep running', async (t) => {
  // Reads everything, writes Cordum's keys only: registering works, every report is refused.
  const env = await asAclUser(t, 'sim-no-reports', '+@all', '%R~*', '%W~cordum:*');
  await fleet([]);
  const run = await runCli(['replicas', '--count', '3', '--heartbeat', '200ms', '--no-table', '--for', '2s'], env, { timeoutMs: 30_000 });
  assert.equal(run.code, 0, run.stderr);
  const refusals = run.stderr.split('\n').filter((line) => line.startsWith('driftlens: Redis refused a replica report'));
  assert.equal(refusals.length, 1, `one line for one distinct reply, whatever the replicas and heartbeats: ${run.stderr}`);
  assert.match(refusals[0], /NOPERM .*no watcher reads their reports/);
});

test('status whose Redis user may not SCAN the registry does not pass for all in sync: the table is shown, the refusal is named, exit 4; --registry-services "" reads the reports alone', async (t) => {
  const env = await asAclUser(t, 'sim-no-scan', '+@all', '-scan', '~*');
  await fleet(['a', 'b']);
  await register('ghost'); // registered, no agent: "not reporting" to anyone who can read the registry
  for (const args of [['status'], ['status', '--json']]) {
    // Before: "2/2 in sync", exit 0, and only a warning that the registry could not be read.
    const run = await runCli(args, env, { timeoutMs: 30_000 });
    assert.equal(run.code, 4, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, /cannot read the instance registry: Redis at \S+ \(user sim-no-scan\) refused SCAN \(NOPERM [^)]*'scan' command\): the Redis user needs the SCAN command \(ACL SETUSER <user> \+scan\)\n/);
    assert.match(run.stderr, /cannot say all replicas are in sync; --registry-services "" reads the reports alone\n$/);
    if (args.includes('--json')) assert.equal((JSON.parse(run.stdout) as { summary: string }).summary, '2/2 in sync', 'the model is still printed');
  }
  const reportsOnly = await runCli(['status', '--registry-services', ''], env, { timeoutMs: 30_000 });
  assert.equal(reportsOnly.code, 0, reportsOnly.stderr);
});

test('replicas in shards whose Redis user may not read (no GET) exits 4 with the reply and stops its shards, as in one process', async (t) => {
  const env = await asAclUser(t, 'sim-shards-no-get', '+@all', '-get', '~*');
  await fleet([]);
  // Before: "cannot show the table", the shards ran on unseen for --for and the run exited 0.
  const run = await runCli(['replicas', '--count', '4', '--shards', '2', '--heartbeat', '500ms', '--no-table', '--for', '60s'], env, { timeoutMs: 30_000 });
  assert.equal(run.code, 4, `exits as unavailable (${run.code === null ? 'still running after 30 s' : `exit ${run.code}`}): ${run.stderr}`);
  assert.match(run.stderr, /driftlens: cannot read what the replicas report: Redis at \S+ \(user sim-shards-no-get\) refused GET cfg:system:default \(NOPERM .*'get' command\): the Redis user needs the GET command/);
  assert.match(run.stderr, /total: 4 replicas in 2 shards/, 'the shards were stopped and summarised');
  assert.deepEqual(await control.keys('driftlens:replica:*'), [], 'the replicas were stopped and their reports deleted');
});
