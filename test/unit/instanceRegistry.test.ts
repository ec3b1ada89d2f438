import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { computeDriftModel, type DriftModel, type LiveSnapshot, type ReplicaObservation } from '../../src/core/convergence';
import { instanceMatchGlob, instancePatternProblem, parseInstanceKey, parseInstanceValue, registryMemberOfReport, resolveRegistry, type RegisteredInstance } from '../../src/core/instanceRegistry';
import { analyzeDocument } from '../../src/core/analysis';
import { formatDuration } from '../../src/core/duration';
import { DEFAULT_POLICY } from '../../src/core/policy';
import { ConfigStore } from '../../src/live/configStore';
import { DriftWatcher } from '../../src/live/driftWatcher';
import { InstanceRegistration, scanInstanceRegistry } from '../../src/live/instanceRegistry';
import { closeRedis, connectRedis } from '../../src/live/redisConnection';
import { publishReplicaReport, type ReplicaReport } from '../../src/live/replicaReports';
import { startRedis, type ServerProcess } from '../support/servers';

/**
 * Cordum's instance registry joined with the replica reports: the pure join with a fake clock,
 * then the SCAN and the watcher against a real redis-server (standalone; the Cluster path scans
 * every master with the same code and is covered by the cluster harness of issue 12).
 */

const PATTERN = 'cordum:instance:{service}:{id}';
const HASH = 'b'.repeat(64);
const T0 = 10_000_000;
const live: LiveSnapshot = { key: 'cfg:system:default', revision: 2, publishedAtMs: T0 - 60_000, sections: { pools: HASH }, knownHashes: new Map([[HASH, 2]]) };
const policy = DEFAULT_POLICY.slo;

function observation(service: string, id: string, reportedAtMs = T0): ReplicaObservation {
  return { service, replicaId: id, revision: 2, reportedAtMs, pollIntervalMs: 30_000, lastCheckTrigger: 'poll', sections: { pools: { hash: HASH, appliedAtMs: T0 - 120_000, trigger: 'startup', revision: 2 } }, lastError: null };
}

const instance = (id: string, extra: Partial<RegisteredInstance> = {}): RegisteredInstance => ({ service: 'scheduler', id, key: `cordum:instance:scheduler:${id}`, version: 'v0.9.1', commit: 'abc1234', startedAt: '2026-11-30T10:00:00Z', ...extra });

// ---------------------------------------------------------------- the pure part

test('the join: the report replica_id is the registry id, and cordum-scheduler reports are the scheduler instances', () => {
  assert.equal(registryMemberOfReport('scheduler', 'host-1', ['scheduler']), 'scheduler:host-1');
  assert.equal(registryMemberOfReport('cordum-scheduler', 'host-1', ['scheduler']), 'scheduler:host-1');
  assert.equal(registryMemberOfReport('api-gateway', 'gw-1', ['scheduler']), undefined, 'a service that does not apply the document is not joined');
  const model = computeDriftModel({
    live,
    replicas: [{ member: 'cordum-scheduler:host-1', report: observation('cordum-scheduler', 'host-1') }],
    policy,
    nowMs: T0,
    staleAfterMs: 15_000,
    registry: { services: ['scheduler'], instances: [instance('host-1')], complete: true, goneAfterMs: 60_000 },
  });
  assert.equal(model.replicas.length, 1, 'one replica, not a report and a registry entry');
  assert.equal(model.replicas[0].state, 'in-sync');
  assert.equal(model.replicas[0].registry?.version, 'v0.9.1');
  assert.equal(model.replicas[0].registry?.commit, 'abc1234');
});

test('a registered instance without a report is not reporting: never in sync, below the problems, with its version and why', () => {
  const model = computeDriftModel({
    live,
    replicas: [{ member: 'scheduler:a', report: observation('scheduler', 'a') }],
    policy,
    nowMs: T0,
    staleAfterMs: 15_000,
    registry: { services: ['scheduler'], instances: [instance('a'), instance('b', { version: 'v0.9.0', commit: 'def5678' })], complete: true, goneAfterMs: 60_000 },
  });
  const silent = model.replicas.find((r) => r.replicaId === 'b');
  assert.equal(silent?.state, 'not-reporting');
  assert.equal(silent?.registry?.version, 'v0.9.0');
  assert.match(silent?.sections[0].why ?? '', /alive per Cordum's instance registry \(version v0\.9\.0, commit def5678\).*no DriftLens report.*install the agent/);
  assert.equal(model.counts['in-sync'], 1);
  assert.equal(model.counts['not-reporting'], 1);
  assert.equal(model.summary, '1/2 in sync, 1 not reporting');
  // Below stale, above converging.
  const order = computeDriftModel({
    live,
    replicas: [{ member: 'scheduler:old', lastSeenMs: T0 - 20_000 }, { member: 'scheduler:a', report: observation('scheduler', 'a') }],
    policy,
    nowMs: T0,
    staleAfterMs: 15_000,
    registry: { services: ['scheduler'], instances: [instance('a'), instance('old'), instance('z')], complete: true, goneAfterMs: 60_000 },
  });
  assert.deepEqual(order.replicas.map((r) => `${r.replicaId} ${r.state}`), ['old stale', 'z not-reporting', 'a in-sync']);
});

test('a reporting replica that is not registered is reporting only; with an incomplete scan nobody is', () => {
  const input = { live, replicas: [{ member: 'scheduler:x', report: observation('scheduler', 'x') }], policy, nowMs: T0, staleAfterMs: 15_000 };
  const complete = computeDriftModel({ ...input, registry: { services: ['scheduler'], instances: [], complete: true, goneAfterMs: 60_000 } });
  assert.equal(complete.replicas[0].reportingOnly, true);
  assert.equal(complete.replicas[0].state, 'in-sync', 'reporting only is not an error');
  const partial = computeDriftModel({ ...input, registry: { services: ['scheduler'], instances: [], complete: false, goneAfterMs: 60_000 } });
  assert.equal(partial.replicas[0].reportingOnly, undefined);
  const otherService = computeDriftModel({ ...input, replicas: [{ member: 'billing:x', report: observation('billing', 'x') }], registry: { services: ['scheduler'], instances: [], complete: true, goneAfterMs: 60_000 } });
  assert.equal(otherService.replicas[0].reportingOnly, undefined, 'a service whose registry we did not read is not called unregistered');
});

test('a replica out of the registry and without a report stays stale for the grace period, then leaves', () => {
  const lastRegisteredMs = new Map([['scheduler:gone', T0 - 10_000], ['scheduler:silent', T0 - 10_000]]);
  const at = (nowMs: number) =>
    computeDriftModel({
      live,
      replicas: [{ member: 'scheduler:gone', lastSeenMs: T0 - 30_000 }],
      policy,
      nowMs,
      staleAfterMs: 15_000,
      registry: { services: ['scheduler'], instances: [], complete: true, lastRegisteredMs, goneAfterMs: 60_000 },
    });
  const during = at(T0);
  assert.deepEqual(during.replicas.map((r) => `${r.replicaId} ${r.state}`), ['gone stale', 'silent stale']);
  assert.match(during.replicas[1].sections[0].why, /left the instance registry 10s ago and never sent a report/);
  assert.equal(during.replicas[0].leftRegistryMs, T0 - 10_000);
  assert.deepEqual(during.left, []);
  const later = at(T0 + 50_001);
  assert.deepEqual(later.replicas, []);
  assert.deepEqual(later.left, ['scheduler:gone', 'scheduler:silent']);
  // With an incomplete scan nobody leaves.
  const partial = computeDriftModel({ live, replicas: [{ member: 'scheduler:gone', lastSeenMs: T0 - 30_000 }], policy, nowMs: T0 + 50_001, staleAfterMs: 15_000, registry: { services: ['scheduler'], instances: [], complete: false, lastRegisteredMs, goneAfterMs: 60_000 } });
  assert.deepEqual(partial.replicas.map((r) => r.replicaId), ['gone']);
});

test('key patterns: Cordum\'s default, a custom one, and the ones refused in our words', () => {
  assert.equal(instancePatternProblem(PATTERN), undefined);
  assert.deepEqual(parseInstanceKey(PATTERN, 'cordum:instance:scheduler:host:with:colons'), { service: 'scheduler', id: 'host:with:colons' });
  assert.equal(parseInstanceKey(PATTERN, 'cordum:other:scheduler:x'), undefined);
  assert.deepEqual(parseInstanceKey('reg/{id}@{service}', 'reg/a.b@sched'), { service: 'sched', id: 'a.b' });
  assert.equal(instanceMatchGlob(PATTERN, ['scheduler']), 'cordum:instance:scheduler:*');
  assert.equal(instanceMatchGlob(PATTERN, ['scheduler', 'workflow-engine']), 'cordum:instance:*:*');
  assert.equal(instanceMatchGlob('a[1]:{service}:{id}', ['s']), 'a\\[1\\]:s:*', 'glob characters in the pattern are literal');
  assert.match(instancePatternProblem('cordum:instance:{service}') ?? '', /must contain \{id\} exactly once/);
  assert.match(instancePatternProblem('x:{service}{id}') ?? '', /needs a separator/);
  assert.match(instancePatternProblem('x:{service}:{id}:{host}') ?? '', /only the placeholders/);
  assert.deepEqual(resolveRegistry(DEFAULT_POLICY), { pattern: PATTERN, services: ['scheduler'] });
  assert.deepEqual(resolveRegistry({ registry: { keyPattern: 'r:{service}:{id}', services: ['a'] } }), { pattern: 'r:{service}:{id}', services: ['a'] });
  assert.deepEqual(resolveRegistry({ registry: { services: ['a'] } }, { services: [] }), { pattern: PATTERN, services: [] }, 'an explicit empty list turns it off');
});

test('the drift policy takes registry.key_pattern and registry.services, and refuses a pattern without {id} at its range', () => {
  const base = 'drift_control:\n  source_of_truth: redis\n  config_key: cfg:system:default\n  notifications: { subject: sys.config.changed }\n  polling: { interval: 30s }\n  hash_gate: { sections: [pools] }\n  convergence_slo: { notification_ok: "<= 5s", notification_lost: "<= 30s" }\n';
  const good = analyzeDocument(`${base}  registry:\n    key_pattern: "reg:{service}:{id}"\n    services: [scheduler, workflow-engine]\n`, 'yaml', 'policy');
  assert.deepEqual(good.problems.filter((p) => p.severity === 'error'), []);
  assert.deepEqual(good.policy?.registry, { keyPattern: 'reg:{service}:{id}', services: ['scheduler', 'workflow-engine'] });
  const text = `${base}  registry:\n    key_pattern: "reg:{service}"\n`;
  const bad = analyzeDocument(text, 'yaml', 'policy');
  const problem = bad.problems.find((p) => p.severity === 'error');
  assert.match(problem?.message ?? '', /must contain \{service\} and \{id\}/);
  assert.equal(text.slice(problem?.span.start, problem?.span.end), '"reg:{service}"');
});

test('registry values are parsed defensively: not JSON, not an object, wrong types, mismatched ids, too large', () => {
  assert.equal(parseInstanceValue('k', 'scheduler', 'a', '{"id":"a","service":"scheduler","version":"v1","commit":"c","started_at":"t"}').problem, undefined);
  assert.equal(parseInstanceValue('k', 'scheduler', 'a', 'not json').problem, 'its registry value is not JSON');
  assert.equal(parseInstanceValue('k', 'scheduler', 'a', '[1]').problem, 'its registry value is not a JSON object');
  const odd = parseInstanceValue('k', 'scheduler', 'a', '{"id":"b","version":7,"commit":"\\u001b[31mred"}');
  assert.match(odd.problem ?? '', /"version" is not a string; the value names id "b", the key "a"/);
  assert.equal(odd.commit, '\u001b[31mred', 'kept as is: views show it through displayText');
  assert.match(parseInstanceValue('k', 'scheduler', 'a', `{"version":"${'x'.repeat(20_000)}"}`).problem ?? '', /more than the 16384 read/);
  assert.equal(parseInstanceValue('k', 'scheduler', 'a', `{"version":"${'x'.repeat(500)}"}`).version?.length, 120);
});

// ---------------------------------------------------------------- against a real redis-server

let server: ServerProcess & { url: string };
let redis: Redis;
let control: Redis;

before(async () => {
  server = await startRedis();
  [redis, control] = await Promise.all([connectRedis({ url: server.url }, { name: 'watcher' }), connectRedis({ url: server.url }, { name: 'control' })]);
});

after(async () => {
  await Promise.all([closeRedis(redis), closeRedis(control)]);
  await server.dispose();
});

async function register(service: string, id: string, value?: string, pattern = PATTERN): Promise<void> {
  const key = pattern.replace('{service}', service).replace('{id}', id);
  await control.set(key, value ?? JSON.stringify({ id, service, version: 'v0.9.1', commit: 'abc1234', started_at: '2026-11-30T10:00:00Z' }), 'PX', 15_000);
}

test('the scan finds the instances of the services asked for, reads their values, and skips other services and other keys', async () => {
  await control.flushall();
  await register('scheduler', 'a');
  await register('scheduler', 'b', 'garbage');
  await register('api-gateway', 'gw-1');
  await control.set('cordum:instance:scheduler', 'not an instance');
  for (let i = 0; i < 300; i++) await control.set(`noise:${i}`, 'x');
  const scan = await scanInstanceRegistry(redis, { pattern: PATTERN, services: ['scheduler'] });
  assert.equal(scan.complete, true);
  assert.deepEqual(scan.instances.map((i) => `${i.service}:${i.id} ${i.version ?? '-'} ${i.problem ?? 'ok'}`), ['scheduler:a v0.9.1 ok', 'scheduler:b - its registry value is not JSON']);
  const both = await scanInstanceRegistry(redis, { pattern: PATTERN, services: ['scheduler', 'api-gateway'] });
  assert.deepEqual(both.instances.map((i) => i.key), ['cordum:instance:api-gateway:gw-1', 'cordum:instance:scheduler:a', 'cordum:instance:scheduler:b']);
  assert.deepEqual((await scanInstanceRegistry(redis, { pattern: PATTERN, services: [] })).instances, [], 'no services: no scan');
});

test('the scan is bounded: past maxKeys or maxCalls it stops and says the result is incomplete', async () => {
  await control.flushall();
  for (let i = 0; i < 50; i++) await register('scheduler', `r${i}`);
  for (let i = 0; i < 2000; i++) await control.set(`noise:${i}`, 'x');
  const byKeys = await scanInstanceRegistry(redis, { pattern: PATTERN, services: ['scheduler'], maxKeys: 20 });
  assert.equal(byKeys.complete, false);
  assert.equal(byKeys.instances.length, 20);
  assert.match(byKeys.warning ?? '', /stopped at 20 instances: some instances may be missing/);
  const byCalls = await scanInstanceRegistry(redis, { pattern: PATTERN, services: ['scheduler'], count: 10, maxCalls: 3 });
  assert.equal(byCalls.complete, false);
  assert.equal(byCalls.calls, 3);
  assert.match(byCalls.warning ?? '', /stopped after 3 SCAN calls on one node/);
  const whole = await scanInstanceRegistry(redis, { pattern: PATTERN, services: ['scheduler'], count: 10_000 });
  assert.equal(whole.complete, true);
  assert.equal(whole.instances.length, 50);
});

test('InstanceRegistration writes what Cordum writes: SET PX 15000, renewed, deleted on a clean stop', async () => {
  await control.flushall();
  const registration = new InstanceRegistration(redis, { pattern: PATTERN, service: 'scheduler', id: 'sim-1', version: 'v1', commit: 'c1', renewMs: 50 });
  await registration.start();
  const ttl = await control.pttl('cordum:instance:scheduler:sim-1');
  assert.ok(ttl > 14_000 && ttl <= 15_000, `ttl ${ttl}`);
  const value = JSON.parse((await control.get('cordum:instance:scheduler:sim-1')) ?? '{}');
  assert.deepEqual(Object.keys(value), ['id', 'service', 'version', 'commit', 'started_at']);
  assert.match(value.started_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  // Renewal: shorten the TTL, wait for it to be set back.
  await control.pexpire('cordum:instance:scheduler:sim-1', 1_000_000);
  for (let i = 0; i < 200 && (await control.pttl('cordum:instance:scheduler:sim-1')) > 15_000; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok((await control.pttl('cordum:instance:scheduler:sim-1')) <= 15_000, 'renewed with PX 15000');
  await registration.stop({ deregister: true });
  assert.equal(await control.exists('cordum:instance:scheduler:sim-1'), 0);
});

// ---------------------------------------------------------------- the watcher

function report(id: string, configKey: string, service = 'scheduler'): ReplicaReport {
  const now = new Date().toISOString();
  return { v: 1, service, replicaId: id, configKey, revision: 1, reason: 'heartbeat', reportedAt: now, startedAt: now, pollIntervalMs: 30_000, lastCheckAt: now, lastCheckTrigger: 'poll', sections: {}, lastError: null };
}

/** A watcher with a clock the test moves; `next` waits for a model after a full read. */
function watcherFor(configKey: string, registry: { pattern?: string; services?: string[]; goneAfterMs?: number; maxKeys?: number } = {}) {
  let clock = Date.now();
  const models: DriftModel[] = [];
  const left: string[] = [];
  const warnings: string[] = [];
  let waiting: ((m: DriftModel) => void) | undefined;
  const watcher = new DriftWatcher({
    redis,
    configKey,
    sections: ['pools'],
    policy,
    subject: 'sys.config.changed',
    pollMs: 3_600_000,
    now: () => clock,
    registry: { pattern: registry.pattern ?? PATTERN, services: registry.services ?? ['scheduler'], goneAfterMs: registry.goneAfterMs ?? 60_000, maxKeys: registry.maxKeys },
    onModel: (m) => {
      models.push(m);
      waiting?.(m);
    },
    onLeft: (_member, message) => left.push(message),
    onWarning: (message) => warnings.push(message),
  });
  const next = async (): Promise<DriftModel> => {
    const model = new Promise<DriftModel>((resolve) => (waiting = resolve));
    await watcher.refresh(false);
    return model;
  };
  return { watcher, models, left, warnings, next, advance: (ms: number) => (clock += ms) };
}

const rows = (m: DriftModel) => m.replicas.map((r) => `${r.member} ${r.state}${r.registry ? ` ${r.registry.version}/${r.registry.commit}` : ''}${r.reportingOnly ? ' reporting-only' : ''}`).sort();

test('the watcher joins the registry with the reports: registered and reporting, not reporting, reporting only', async () => {
  await control.flushall();
  const key = 'cfg:system:default';
  await new ConfigStore(control).write(key, { data: { pools: { topics: { 'job.default': 'default' } } }, expectedRevision: 0 });
  await register('scheduler', 'both');
  await register('scheduler', 'silent', JSON.stringify({ id: 'silent', service: 'scheduler', version: 'v0.8.0', commit: 'fff0000' }));
  await publishReplicaReport(control, undefined, report('both', key));
  await publishReplicaReport(control, undefined, report('unlisted', key));
  const w = watcherFor(key);
  await w.watcher.start();
  try {
    const model = await w.next();
    assert.deepEqual(rows(model), ['scheduler:both not-checked v0.9.1/abc1234', 'scheduler:silent not-reporting v0.8.0/fff0000', 'scheduler:unlisted not-checked reporting-only']);
    assert.deepEqual(model.registry, { services: ['scheduler'], registered: 2, complete: true });
  } finally {
    w.watcher.stop();
  }
});

test('the watcher: a replica that left the registry and stopped reporting leaves the view after the grace period, with one log line', async () => {
  await control.flushall();
  const key = 'cfg:team:gone';
  await register('scheduler', 'quiet');
  await register('scheduler', 'talker');
  await publishReplicaReport(control, undefined, report('talker', key), 200);
  const w = watcherFor(key, { goneAfterMs: 60_000 });
  await w.watcher.start();
  try {
    assert.deepEqual(rows(await w.next()), ['scheduler:quiet not-reporting v0.9.1/abc1234', 'scheduler:talker not-checked v0.9.1/abc1234']);
    // Both leave the registry; the talker's report expires (200 ms TTL).
    await control.del('cordum:instance:scheduler:quiet', 'cordum:instance:scheduler:talker');
    while ((await control.exists(`driftlens:replica:{${key}}:scheduler:talker`)) === 1) await new Promise((r) => setTimeout(r, 50));
    w.advance(20_000);
    const during = await w.next();
    assert.deepEqual(rows(during), ['scheduler:quiet stale', 'scheduler:talker stale']);
    assert.deepEqual(w.left, []);
    w.advance(45_000);
    const after = await w.next();
    assert.deepEqual(rows(after), []);
    assert.deepEqual([...w.left].sort(), [`scheduler:quiet left the view: it is not in the instance registry and has sent no report for more than ${formatDuration(60_000)}`, `scheduler:talker left the view: it is not in the instance registry and has sent no report for more than ${formatDuration(60_000)}`]);
    await w.next();
    assert.equal(w.left.length, 2, 'one line per departure, not one per read');
  } finally {
    w.watcher.stop();
  }
});

test('the watcher: the log line of a departure shows a hostile registry id escaped, on one line (a key with a newline forged log lines)', async () => {
  await control.flushall();
  const key = 'cfg:team:forged';
  const id = 'x\n[publish] published revision 99\x1b[2J';
  await register('scheduler', id);
  const w = watcherFor(key, { goneAfterMs: 60_000 });
  await w.watcher.start();
  try {
    assert.equal((await w.next()).replicas.length, 1);
    await control.del(`cordum:instance:scheduler:${id}`);
    w.advance(61_000);
    // A model may come from the read before the DEL: read again until the view is empty (each read is an event).
    for (let reads = 0; rows(await w.next()).length > 0; reads++) assert.ok(reads < 20, 'the departed instance left the view');
    assert.deepEqual(w.left, [`scheduler:x\\n[publish] published revision 99\\x1b[2J left the view: it is not in the instance registry and has sent no report for more than ${formatDuration(60_000)}`]);
  } finally {
    w.watcher.stop();
  }
});

test('the watcher reads the registry under the configured pattern and services only, and warns once when the scan is bounded', async () => {
  await control.flushall();
  const key = 'cfg:team:custom';
  await register('scheduler', 'cordum-default');
  await register('engine', 'e1', undefined, 'acme/{service}/{id}');
  await register('engine', 'e2', undefined, 'acme/{service}/{id}');
  await register('other', 'o1', undefined, 'acme/{service}/{id}');
  const w = watcherFor(key, { pattern: 'acme/{service}/{id}', services: ['engine'], maxKeys: 1 });
  await w.watcher.start();
  try {
    const model = await w.next();
    assert.equal(model.replicas.length, 1, 'bounded at one key');
    assert.equal(model.registry?.complete, false);
    await w.next();
    assert.deepEqual(w.warnings, ['the instance registry scan stopped at 1 instances: some instances may be missing'], 'one warning, not one per read');
  } finally {
    w.watcher.stop();
  }
  const all = watcherFor(key, { pattern: 'acme/{service}/{id}', services: ['engine'] });
  await all.watcher.start();
  try {
    assert.deepEqual(rows(await all.next()), ['engine:e1 not-reporting v0.9.1/abc1234', 'engine:e2 not-reporting v0.9.1/abc1234']);
  } finally {
    all.watcher.stop();
  }
});
