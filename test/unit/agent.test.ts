import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import type { NatsConnection } from 'nats';
import type { Redis } from 'ioredis';
import { ReplicaAgent } from '../../src/agent/replicaAgent';
import type { AgentEvent, ReplicaAgentOptions } from '../../src/agent/replicaAgent';
import { SimulatedReplicaAgent } from '../../src/simulator/simulatedReplicaAgent';
import type { SimulatedAgentEvent, SimulatedReplicaAgentOptions } from '../../src/simulator/simulatedReplicaAgent';
import { decodeReplicaReport, readReplicaReports, replicaIndexKey, replicaReportKey, STATUS_SUBJECT } from '../../src/live/replicaReports';
import type { ReplicaReport } from '../../src/live/replicaReports';
import type { JsonValue } from '../../src/core/canonical';
import { computeSectionHash } from '../../src/core/sectionHash';
import type { SectionName } from '../../src/core/sectionHash';
import { ConfigStore } from '../../src/live/configStore';
import { parseConfigKey } from '../../src/live/envelope';
import { connectNats } from '../../src/live/natsConnection';
import { DEFAULT_CONFIG_CHANGED_SUBJECT, encodeConfigChanged, publishConfigChanged } from '../../src/live/notifier';
import { closeRedis, connectRedis } from '../../src/live/redisConnection';
import { startNats, startRedis } from '../support/servers';
import type { ServerProcess } from '../support/servers';

/**
 * The reference replica agent against real redis-server and nats-server processes: fleets converge
 * by notification, by poll when notifications are lost, hold their last good config through invalid
 * documents and outages, and report what they applied. Every wait is for an event or a state with a
 * deadline that names what was awaited; nothing sleeps a fixed time.
 */

type Server = ServerProcess & { url: string };

let redisServer: Server;
let natsServer: Server;
/** One Redis connection for every agent of the shared server, as a service would share its pool. */
let redis: Redis;
/** The publisher's own connections, like a separate gateway process. */
let publisherRedis: Redis;
let publisherNats: NatsConnection;
let keyCounter = 0;

before(async () => {
  [redisServer, natsServer] = await Promise.all([startRedis(), startNats()]);
  [redis, publisherRedis, publisherNats] = await Promise.all([
    connectRedis({ url: redisServer.url }, { name: 'agents' }),
    connectRedis({ url: redisServer.url }, { name: 'publisher' }),
    connectNats({ servers: [natsServer.url] }, { name: 'publisher' }),
  ]);
});

after(async () => {
  await Promise.all([closeRedis(redis), closeRedis(publisherRedis), publisherNats.close()]);
  await Promise.all([redisServer.dispose(), natsServer.dispose()]);
});

// ---------------------------------------------------------------- waiting

/** Re-evaluates every pending waitUntil; called on each agent event. */
const waiters = new Set<() => void>();
function poke(): void {
  for (const waiter of [...waiters]) waiter();
}

/**
 * Resolves when `predicate` holds. It is re-evaluated on every agent event, and every 100 ms for
 * state no agent event announces (a Redis key expiring, a connection coming back). Rejects after
 * timeoutMs with what was awaited and, if given, the state at that moment.
 */
function waitUntil(predicate: () => boolean | Promise<boolean>, options: { what: string; timeoutMs?: number; detail?: () => string }): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  return new Promise((resolve, reject) => {
    let done = false;
    let running = false;
    let again = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      waiters.delete(evaluate);
      clearInterval(ticker);
      clearTimeout(deadline);
      if (err) reject(err);
      else resolve();
    };
    const evaluate = () => {
      if (done) return;
      if (running) {
        again = true;
        return;
      }
      running = true;
      void (async () => {
        try {
          do {
            again = false;
            if (await predicate()) return finish();
          } while (again && !done);
        } catch (err) {
          finish(err as Error);
        } finally {
          running = false;
        }
      })();
    };
    waiters.add(evaluate);
    const ticker = setInterval(evaluate, 100);
    const deadline = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${options.what}${options.detail ? ` (${options.detail()})` : ''}`)), timeoutMs);
    evaluate();
  });
}

// ---------------------------------------------------------------- fleets

interface Replica<A extends ReplicaAgent = ReplicaAgent> {
  agent: A;
  events: SimulatedAgentEvent[];
  /** Setter calls per section, and each call's context. */
  calls: { section: SectionName; hash: string; trigger: string; revision: number; at: number }[];
}

const count = (r: Replica, section: SectionName) => r.calls.filter((c) => c.section === section).length;

function replica(t: TestContext, options: Partial<Omit<ReplicaAgentOptions, 'onEvent'>> & { replicaId: string; configKey: string }): Replica {
  return fleetMember(t, (o) => new ReplicaAgent(o), options);
}

/** A replica with fault injection: the simulator's agent, never the public one. */
function simulatedReplica(t: TestContext, options: Partial<SimulatedReplicaAgentOptions> & { replicaId: string; configKey: string }): Replica<SimulatedReplicaAgent> {
  return fleetMember(t, (o) => new SimulatedReplicaAgent(o), options);
}

function fleetMember<A extends ReplicaAgent>(t: TestContext, create: (options: SimulatedReplicaAgentOptions) => A, options: Partial<SimulatedReplicaAgentOptions> & { replicaId: string; configKey: string }): Replica<A> {
  const r: Replica<A> = { agent: undefined as unknown as A, events: [], calls: [] };
  r.agent = create({
    service: 'scheduler',
    redis,
    pollIntervalMs: 60_000,
    env: {},
    apply: (section, _value, context) => {
      r.calls.push({ section, hash: context.hash, trigger: context.trigger, revision: context.revision, at: Date.now() });
    },
    onEvent: (event: SimulatedAgentEvent) => {
      r.events.push(event);
      poke();
    },
    ...options,
  });
  t.after(() => r.agent.stop());
  return r;
}

async function natsConnections(t: TestContext, n: number, server: Server = natsServer, onStatus?: (i: number, type: string) => void): Promise<NatsConnection[]> {
  const conns = await Promise.all(Array.from({ length: n }, (_, i) => connectNats({ servers: [server.url] }, { name: `agents-${i}`, onStatus: (s) => (onStatus?.(i, s.type), poke()) })));
  t.after(() => Promise.all(conns.map((c) => c.close())));
  return conns;
}

function freshKey(): string {
  return `cfg:team:agent-${process.pid}-${++keyCounter}`;
}

function pools(n: number): JsonValue {
  return { topics: { 'job.default': `pool-${n}` }, pools: { [`pool-${n}`]: {} } };
}

function timeouts(n: number): JsonValue {
  return { workflows: {}, topics: {}, reconciler: { dispatch_timeout_seconds: 300 + n, running_timeout_seconds: 900, scan_interval_seconds: 30 } };
}

function hashOf(section: SectionName, value: JsonValue): string {
  const hash = computeSectionHash(section, value).hash;
  assert.ok(hash, `test data for ${section} must be valid`);
  return hash;
}

/** Writes the next revision as a real publisher does (CAS write), then notifies. */
async function publish(key: string, data: { [k: string]: JsonValue }, via: { redis?: Redis; nats?: NatsConnection } = {}): Promise<number> {
  const store = new ConfigStore(via.redis ?? publisherRedis, { historyLimit: 0 });
  const current = await store.read(key);
  const written = await store.write(key, { data, expectedRevision: current?.envelope.revision ?? 0 });
  await notify(key, via.nats);
  return written.revision;
}

async function notify(key: string, nats: NatsConnection = publisherNats): Promise<void> {
  const { scope, scopeId } = parseConfigKey(key);
  await publishConfigChanged(nats, DEFAULT_CONFIG_CHANGED_SUBJECT, { scope, scopeId, senderId: 'test-publisher' });
}

function converged(replicas: Replica[], expected: Partial<Record<SectionName, string>>): () => boolean {
  return () => replicas.every((r) => Object.entries(expected).every(([s, h]) => r.agent.appliedHash(s as SectionName) === h));
}

function lagging(replicas: Replica[], expected: Partial<Record<SectionName, string>>): () => string {
  return () => {
    const behind = replicas.filter((r) => !converged([r], expected)());
    return `${behind.length}/${replicas.length} behind: ${behind
      .slice(0, 3)
      .map((r) => `${r.agent.replicaId} ${JSON.stringify(r.agent.status().sections)} last_error=${JSON.stringify(r.agent.status().lastError)}`)
      .join(' | ')}`;
  };
}

function checks(r: Replica): Extract<AgentEvent, { type: 'check' }>[] {
  return r.events.filter((e): e is Extract<AgentEvent, { type: 'check' }> => e.type === 'check');
}

// ---------------------------------------------------------------- tests

test('20 replicas converge on a publish by notification, each section applied exactly once per change', async (t) => {
  const key = freshKey();
  await publish(key, { pools: pools(1), timeouts: timeouts(1) });
  const conns = await natsConnections(t, 4);
  const fleet = Array.from({ length: 20 }, (_, i) => replica(t, { configKey: key, replicaId: `r${i}`, nats: conns[i % conns.length] }));
  await Promise.all(fleet.map((r) => r.agent.start()));

  const v1 = { pools: hashOf('pools', pools(1)), timeouts: hashOf('timeouts', timeouts(1)) };
  for (const r of fleet) {
    assert.deepEqual(r.calls.map((c) => `${c.section} ${c.trigger} ${c.revision}`), ['pools startup 1', 'timeouts startup 1']);
    assert.equal(r.agent.appliedHash('pools'), v1.pools);
  }

  const t0 = Date.now();
  await publish(key, { pools: pools(2), timeouts: timeouts(2) });
  const v2 = { pools: hashOf('pools', pools(2)), timeouts: hashOf('timeouts', timeouts(2)) };
  await waitUntil(converged(fleet, v2), { what: '20 replicas applying revision 2', detail: lagging(fleet, v2) });
  const lag = Math.max(...fleet.flatMap((r) => r.calls.slice(2).map((c) => c.at - t0)));
  t.diagnostic(`20 replicas converged ${lag} ms after the publish`);
  for (const r of fleet) {
    assert.deepEqual(r.calls.slice(2).map((c) => `${c.section} ${c.trigger} ${c.revision}`), ['pools notification 2', 'timeouts notification 2'], r.agent.replicaId);
  }

  // A notification with nothing changed: every replica checks, none re-applies.
  const before = fleet.map((r) => checks(r).length);
  await notify(key);
  await waitUntil(() => fleet.every((r, i) => checks(r).length > before[i] && !r.agent.status().lastError), { what: 'every replica checking after an empty notification' });
  for (const r of fleet) assert.equal(r.calls.length, 4, `${r.agent.replicaId} re-applied an unchanged section`);

  // A packet Cordum's receivers drop (no sender_id) is counted and triggers nothing.
  const checksBefore = fleet.map((r) => r.agent.counters.checks);
  publisherNats.publish(DEFAULT_CONFIG_CHANGED_SUBJECT, encodeConfigChanged({ scope: 'team', scopeId: 'x', senderId: '' }));
  publisherNats.publish(DEFAULT_CONFIG_CHANGED_SUBJECT, new Uint8Array([0xff, 0xff, 0xff]));
  await waitUntil(() => fleet.every((r) => r.agent.counters.invalidNotifications === 2), { what: 'every replica counting two invalid packets' });
  await Promise.all(fleet.map((r) => r.agent.idle()));
  assert.deepEqual(fleet.map((r) => r.agent.counters.checks), checksBefore);
});

test('notification bursts coalesce into one pending check behind the running one', async (t) => {
  const key = freshKey();
  await publish(key, { pools: pools(1) });
  const [conn] = await natsConnections(t, 1);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const calls: string[] = [];
  const agent = new ReplicaAgent({
    service: 'scheduler',
    replicaId: 'slow',
    configKey: key,
    redis,
    nats: conn,
    env: {},
    pollIntervalMs: 60_000,
    sections: ['pools'],
    onEvent: () => poke(),
    // The setter blocks on the second apply until released, holding the check open.
    apply: async (_s, _v, context) => {
      calls.push(context.trigger);
      if (calls.length === 2) await gate;
    },
  });
  t.after(() => agent.stop());
  await agent.start();
  await publish(key, { pools: pools(2) });
  await waitUntil(() => calls.length === 2, { what: 'the second apply to start' });
  for (let i = 0; i < 10; i++) await notify(key);
  await waitUntil(() => agent.counters.notifications === 11, { what: '11 notifications received', detail: () => JSON.stringify(agent.counters) });
  release();
  await agent.idle();
  // startup + the publish's check + ONE pending check for the ten notifications.
  assert.equal(agent.counters.checks, 3);
  assert.equal(agent.counters.coalescedTriggers, 9);
  assert.deepEqual(calls, ['startup', 'notification']);
});

test('replicas that lose every notification converge by poll within one poll interval; the others by notification', async (t) => {
  const key = freshKey();
  await publish(key, { pools: pools(1), timeouts: timeouts(1) });
  const conns = await natsConnections(t, 2);
  const pollIntervalMs = 300;
  // Only the lossy replicas poll fast: a fast poll elsewhere could win the race against the notification.
  const lossy = Array.from({ length: 5 }, (_, i) => simulatedReplica(t, { configKey: key, replicaId: `lossy${i}`, nats: conns[i % 2], pollIntervalMs, faults: { dropNotifications: 1 } }));
  const healthy = Array.from({ length: 5 }, (_, i) => replica(t, { configKey: key, replicaId: `ok${i}`, nats: conns[i % 2] }));
  const all = [...lossy, ...healthy];
  await Promise.all(all.map((r) => r.agent.start()));

  const t0 = Date.now();
  await publish(key, { pools: pools(2), timeouts: timeouts(2) });
  const v2 = { pools: hashOf('pools', pools(2)), timeouts: hashOf('timeouts', timeouts(2)) };
  await waitUntil(converged(all, v2), { what: 'all 10 replicas applying revision 2', detail: lagging(all, v2) });

  for (const r of lossy) {
    assert.deepEqual(r.calls.slice(2).map((c) => c.trigger), ['poll', 'poll'], r.agent.replicaId);
    assert.ok(r.agent.simulatedCounters.droppedNotifications >= 1, 'the dropped notification is counted');
  }
  for (const r of healthy) assert.deepEqual(r.calls.slice(2).map((c) => c.trigger), ['notification', 'notification'], r.agent.replicaId);
  const pollLag = Math.max(...lossy.flatMap((r) => r.calls.slice(2).map((c) => c.at - t0)));
  const notifyLag = Math.max(...healthy.flatMap((r) => r.calls.slice(2).map((c) => c.at - t0)));
  t.diagnostic(`by poll within ${pollLag} ms (interval ${pollIntervalMs} ms), by notification within ${notifyLag} ms`);
  // One poll interval, plus what a loaded machine adds to timers and the check itself.
  assert.ok(pollLag <= pollIntervalMs + 1500, `poll convergence took ${pollLag} ms`);
});

test('an invalid document written out of band: every replica keeps its last good hash, reports invalid, applies nothing', async (t) => {
  const key = freshKey();
  await publish(key, { pools: pools(1), timeouts: timeouts(1) });
  const conns = await natsConnections(t, 1);
  const fleet = Array.from({ length: 5 }, (_, i) => replica(t, { configKey: key, replicaId: `r${i}`, nats: conns[0] }));
  await Promise.all(fleet.map((r) => r.agent.start()));
  const v1 = { pools: hashOf('pools', pools(1)), timeouts: hashOf('timeouts', timeouts(1)) };

  // Out of band: a direct CAS write with an empty topics map (the schema needs at least one), then the usual notification.
  const revision = await publish(key, { pools: { topics: {} }, timeouts: timeouts(1) });
  await waitUntil(() => fleet.every((r) => r.agent.status().lastError?.kind === 'invalid' && r.agent.status().revision === revision), {
    what: 'every replica reporting the invalid pools section',
    detail: () => fleet.map((r) => r.agent.status().lastError?.kind ?? 'none').join(','),
  });
  for (const r of fleet) {
    const status = r.agent.status();
    assert.equal(status.lastError?.section, 'pools');
    assert.equal(status.lastError?.hash, undefined, 'an invalid section has no hash');
    assert.match(status.lastError?.message ?? '', /pools at revision 2 is invalid \(\/topics must NOT have fewer than 1 properties\); keeping hash [0-9a-f]{12}/);
    assert.equal(status.sections.pools.hash, v1.pools);
    assert.equal(status.sections.timeouts.hash, v1.timeouts);
    assert.equal(r.calls.length, 2, 'nothing applied after startup');
  }
  // The durable reports say the same (reason error).
  await waitUntil(
    async () => {
      const { reports } = await readReplicaReports(redis, key);
      return reports.length === 5 && reports.every((rep) => rep.lastError?.kind === 'invalid' && rep.sections.pools.hash === v1.pools);
    },
    { what: 'five durable reports with last_error invalid' },
  );

  // A valid revision clears the error and applies the pools only.
  await publish(key, { pools: pools(3), timeouts: timeouts(1) });
  const v3 = { pools: hashOf('pools', pools(3)), timeouts: v1.timeouts };
  await waitUntil(() => converged(fleet, v3)() && fleet.every((r) => r.agent.status().lastError === null), { what: 'recovery on revision 3', detail: lagging(fleet, v3) });
  for (const r of fleet) assert.deepEqual(r.calls.map((c) => c.section), ['pools', 'timeouts', 'pools']);

  // Not an envelope at all: live-unreadable, and still the last good config.
  await publisherRedis.set(key, 'not json');
  await notify(key);
  await waitUntil(() => fleet.every((r) => r.agent.status().lastError?.kind === 'live-unreadable'), { what: 'every replica reporting live-unreadable' });
  for (const r of fleet) {
    assert.ok(converged([r], v3)(), 'the last good config stays');
    assert.equal(r.calls.length, 3);
  }
});

test('unchanged sections are never re-applied: a timeouts-only change leaves pools at one apply', async (t) => {
  const key = freshKey();
  await publish(key, { pools: pools(1), timeouts: timeouts(1), scheduler: { output_policy_enabled: true } });
  const conns = await natsConnections(t, 1);
  const fleet = Array.from({ length: 5 }, (_, i) => replica(t, { configKey: key, replicaId: `r${i}`, nats: conns[0] }));
  await Promise.all(fleet.map((r) => r.agent.start()));
  // Also reorder the pools keys and touch an unrelated section: the canonical hash does not change.
  await publish(key, { timeouts: timeouts(2), pools: { pools: { 'pool-1': {} }, topics: { 'job.default': 'pool-1' } }, scheduler: { output_policy_enabled: false } });
  const expected = { pools: hashOf('pools', pools(1)), timeouts: hashOf('timeouts', timeouts(2)) };
  await waitUntil(converged(fleet, expected), { what: 'the timeouts change on every replica', detail: lagging(fleet, expected) });
  for (const r of fleet) {
    assert.equal(count(r, 'pools'), 1, `${r.agent.replicaId} pools applies`);
    assert.equal(count(r, 'timeouts'), 2, `${r.agent.replicaId} timeouts applies`);
    assert.equal(r.calls[2].trigger, 'notification');
  }
});

test('a failing setter keeps the previous hash and is retried; a stalled replica ignores triggers until it recovers', async (t) => {
  const key = freshKey();
  await publish(key, { pools: pools(1) });
  const [conn] = await natsConnections(t, 1);
  const refusing = simulatedReplica(t, { configKey: key, replicaId: 'refusing', nats: conn, pollIntervalMs: 300, sections: ['pools'] });
  const stalled = simulatedReplica(t, { configKey: key, replicaId: 'stalled', nats: conn, pollIntervalMs: 300, sections: ['pools'] });
  await Promise.all([refusing.agent.start(), stalled.agent.start()]);
  const v1 = hashOf('pools', pools(1));
  refusing.agent.faults.rejectApply = true;
  stalled.agent.faults.stalled = true;

  await publish(key, { pools: pools(2) });
  const v2 = hashOf('pools', pools(2));
  // Wait for the notification's own check, so that only a poll can bring the recovery below.
  await waitUntil(() => checks(refusing).some((c) => c.trigger === 'notification' && c.errors.some((e) => e.kind === 'apply-failed')), { what: 'the refused apply of the notification check' });
  const error = refusing.agent.status().lastError;
  assert.equal(error?.section, 'pools');
  assert.equal(error?.hash, v2, 'the rejected live hash');
  assert.equal(refusing.agent.appliedHash('pools'), v1);
  await waitUntil(() => stalled.events.some((e) => e.type === 'notification' && e.outcome === 'ignored'), { what: 'the stalled replica ignoring the notification' });
  assert.equal(stalled.agent.appliedHash('pools'), v1);

  refusing.agent.faults.rejectApply = false;
  stalled.agent.faults.stalled = false;
  await waitUntil(converged([refusing, stalled], { pools: v2 }), { what: 'both replicas recovering by poll', detail: lagging([refusing, stalled], { pools: v2 }) });
  assert.equal(refusing.calls.at(-1)?.trigger, 'poll');
  assert.equal(stalled.calls.at(-1)?.trigger, 'poll');
  await waitUntil(() => refusing.agent.status().lastError === null, { what: 'the apply-failed error to clear' });
});

test('Redis stopped and restarted: replicas keep their config, report redis-unavailable, then converge on a new revision', async (t) => {
  const server = await startRedis();
  t.after(() => server.dispose());
  const [shared, writer] = await Promise.all([connectRedis({ url: server.url }, { name: 'agents' }), connectRedis({ url: server.url }, { name: 'publisher' })]);
  t.after(() => Promise.all([closeRedis(shared), closeRedis(writer)]));
  const [conn] = await natsConnections(t, 1);
  const live: ReplicaReport[] = [];
  const statusSub = publisherNats.subscribe(STATUS_SUBJECT, { callback: (_e, m) => (live.push(decodeReplicaReport(m.data)), poke()) });
  t.after(() => statusSub.unsubscribe());

  const key = freshKey();
  await publish(key, { pools: pools(1), timeouts: timeouts(1) }, { redis: writer });
  const fleet = Array.from({ length: 5 }, (_, i) => replica(t, { configKey: key, replicaId: `r${i}`, redis: shared, nats: conn, pollIntervalMs: 300 }));
  await Promise.all(fleet.map((r) => r.agent.start()));
  const v1 = { pools: hashOf('pools', pools(1)), timeouts: hashOf('timeouts', timeouts(1)) };

  await server.stop();
  await waitUntil(() => fleet.every((r) => r.agent.status().lastError?.kind === 'redis-unavailable'), {
    what: 'every replica reporting redis-unavailable',
    detail: () => fleet.map((r) => r.agent.status().lastError?.kind ?? 'none').join(','),
  });
  for (const r of fleet) {
    assert.ok(converged([r], v1)(), 'the last good config stays');
    assert.equal(r.calls.length, 2);
  }
  // Redis being down, only the live event can tell; it does.
  await waitUntil(() => fleet.every((r) => live.some((rep) => rep.replicaId === r.agent.replicaId && rep.configKey === key && rep.lastError?.kind === 'redis-unavailable')), {
    what: 'live error reports on sys.config.status',
  });

  await server.start();
  await waitUntil(() => shared.status === 'ready' && writer.status === 'ready', { what: 'both Redis connections reconnecting', detail: () => `${shared.status}/${writer.status}` });
  // The restarted server kept nothing (no persistence): the publisher starts again from revision 0.
  await publish(key, { pools: pools(2), timeouts: timeouts(2) }, { redis: writer });
  const v2 = { pools: hashOf('pools', pools(2)), timeouts: hashOf('timeouts', timeouts(2)) };
  await waitUntil(() => converged(fleet, v2)() && fleet.every((r) => r.agent.status().lastError === null), { what: 'convergence after the restart', detail: lagging(fleet, v2) });
  for (const r of fleet) assert.equal(r.calls.length, 4);
});

test('NATS restarted: after the reconnect a new publish still reaches every replica by notification (re-subscribed)', async (t) => {
  const server = await startNats();
  t.after(() => server.dispose());
  const reconnected = new Set<number>();
  const conns = await natsConnections(t, 3, server, (i, type) => type === 'reconnect' && reconnected.add(i));
  const [publisher] = conns;
  const key = freshKey();
  await publish(key, { pools: pools(1), timeouts: timeouts(1) }, { nats: publisher });
  const fleet = Array.from({ length: 6 }, (_, i) => replica(t, { configKey: key, replicaId: `r${i}`, nats: conns[1 + (i % 2)] }));
  await Promise.all(fleet.map((r) => r.agent.start()));

  await server.restart();
  await waitUntil(() => reconnected.size === 3, { what: 'all three NATS connections reconnecting', timeoutMs: 30_000, detail: () => `reconnected: ${[...reconnected]}` });
  // A PING round trip on each agent connection proves the server has processed its re-sent SUBs.
  await Promise.all(conns.map((c) => c.flush()));

  await publish(key, { pools: pools(2), timeouts: timeouts(2) }, { nats: publisher });
  const v2 = { pools: hashOf('pools', pools(2)), timeouts: hashOf('timeouts', timeouts(2)) };
  await waitUntil(converged(fleet, v2), { what: 'convergence after the NATS restart', detail: lagging(fleet, v2) });
  for (const r of fleet) assert.deepEqual(r.calls.slice(2).map((c) => c.trigger), ['notification', 'notification'], r.agent.replicaId);
});

test('the durable report and the live event decode and carry the hashes; an expired report is stale', async (t) => {
  const key = freshKey();
  await publish(key, { pools: pools(1), timeouts: timeouts(1) });
  const [conn] = await natsConnections(t, 1);
  const live: ReplicaReport[] = [];
  const statusSub = conn.subscribe(STATUS_SUBJECT, { callback: (_e, m) => (live.push(decodeReplicaReport(m.data)), poke()) });
  t.after(() => statusSub.unsubscribe());
  await conn.flush();

  // `brief` reports once with a tiny TTL and no heartbeat in sight; `steady` heartbeats.
  const brief = replica(t, { configKey: key, replicaId: 'brief', nats: conn, reportTtlMs: 300, heartbeatMs: 60_000 });
  const steady = replica(t, { configKey: key, replicaId: 'steady', nats: conn, heartbeatMs: 200 });
  await Promise.all([brief.agent.start(), steady.agent.start()]);
  const v1 = { pools: hashOf('pools', pools(1)), timeouts: hashOf('timeouts', timeouts(1)) };

  await waitUntil(() => live.some((rep) => rep.replicaId === 'brief' && rep.configKey === key), { what: 'the startup event of brief on sys.config.status' });
  const event = live.find((rep) => rep.replicaId === 'brief' && rep.configKey === key)!;
  assert.equal(event.reason, 'startup');
  assert.equal(event.service, 'scheduler');
  assert.equal(event.revision, 1);
  assert.equal(event.lastCheckTrigger, 'startup');
  assert.equal(event.sections.pools.hash, v1.pools);
  assert.equal(event.sections.timeouts.hash, v1.timeouts);
  assert.equal(event.sections.pools.trigger, 'startup');
  assert.equal(event.pollIntervalMs, 60_000);

  const stored = await redis.get(replicaReportKey(key, 'scheduler', 'steady'));
  assert.ok(stored, 'the durable report of steady exists');
  const durable = decodeReplicaReport(stored);
  assert.equal(durable.sections.pools.hash, v1.pools);
  assert.equal(durable.sections.timeouts.hash, v1.timeouts);
  const ttl = await redis.pttl(replicaReportKey(key, 'scheduler', 'steady'));
  assert.ok(ttl > 0 && ttl <= 600, `TTL is 3 x heartbeat, got ${ttl} ms`);
  await waitUntil(() => live.some((rep) => rep.replicaId === 'steady' && rep.reason === 'heartbeat'), { what: 'a heartbeat event from steady' });

  await waitUntil(
    async () => {
      const listing = await readReplicaReports(redis, key);
      return listing.stale.some((s) => s.replicaId === 'brief') && listing.reports.some((rep) => rep.replicaId === 'steady');
    },
    { what: 'brief listed as stale and steady as live' },
  );
  const listing = await readReplicaReports(redis, key);
  const stale = listing.stale.find((s) => s.replicaId === 'brief')!;
  assert.equal(stale.member, 'scheduler:brief');
  assert.ok(Math.abs(stale.lastSeenMs - Date.parse(event.reportedAt)) < 5, 'the index score is reported_at');
  assert.deepEqual(listing.invalid, []);

  // A graceful scale-down leaves nothing behind; old index entries are trimmed by the next read.
  await steady.agent.stop({ deregister: true });
  assert.equal(await redis.exists(replicaReportKey(key, 'scheduler', 'steady')), 0);
  assert.deepEqual((await readReplicaReports(redis, key)).stale.map((s) => s.member), ['scheduler:brief']);
  await readReplicaReports(redis, key, { now: Date.now() + 2 * 3_600_000 });
  assert.equal(await redis.zcard(replicaIndexKey(key)), 0);
});

test('SCHEDULER_CONFIG_RELOAD_INTERVAL=250ms sets the poll interval; banana is reported and ignored; owned connections close on stop', async (t) => {
  const key = freshKey();
  await publish(key, { pools: pools(1) });
  const fast = replica(t, {
    configKey: key,
    replicaId: 'env-fast',
    redis: { url: redisServer.url },
    nats: { servers: [natsServer.url] },
    env: { SCHEDULER_CONFIG_RELOAD_INTERVAL: '250ms' },
  });
  const banana = replica(t, { configKey: key, replicaId: 'env-banana', env: { SCHEDULER_CONFIG_RELOAD_INTERVAL: 'banana' }, pollIntervalMs: 20_000 });
  await Promise.all([fast.agent.start(), banana.agent.start()]);

  assert.equal(fast.agent.pollIntervalMs, 250);
  assert.equal(fast.agent.status().pollIntervalMs, 250);
  await waitUntil(() => checks(fast).some((c) => c.trigger === 'poll'), { what: 'a poll-triggered check on the 250 ms interval' });

  assert.equal(banana.agent.pollIntervalMs, 20_000);
  assert.deepEqual(banana.agent.warnings, ['SCHEDULER_CONFIG_RELOAD_INTERVAL="banana" must be a Go duration such as 30s, 1m30s or 250ms; ignored, polling every 20000 ms']);
  assert.ok(banana.events.some((e) => e.type === 'warning' && e.message.includes('banana')), 'the warning is emitted as an event');

  const clientNames = async (): Promise<string[]> => String(await redis.client('LIST')).match(/name=\S*/g) ?? [];
  assert.ok((await clientNames()).includes('name=driftlens-agent:scheduler:env-fast'), 'the agent names its own connection');
  await fast.agent.stop();
  await fast.agent.stop(); // idempotent
  await waitUntil(async () => !(await clientNames()).includes('name=driftlens-agent:scheduler:env-fast'), { what: 'the owned Redis connection to close' });
  assert.equal(redis.status, 'ready', 'a shared connection is left open');
});
