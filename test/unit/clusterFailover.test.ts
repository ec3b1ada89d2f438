import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestContext } from 'node:test';
import type { NatsConnection } from 'nats';
import type { Redis } from 'ioredis';
import { ReplicaAgent } from '../../src/agent/replicaAgent';
import type { AgentEvent } from '../../src/agent/replicaAgent';
import { canonicalJson, type JsonValue } from '../../src/core/canonical';
import { computeSectionHash } from '../../src/core/sectionHash';
import type { DriftModel } from '../../src/core/convergence';
import { DEFAULT_POLICY } from '../../src/core/policy';
import { ConfigStore, RevisionConflictError } from '../../src/live/configStore';
import { DriftWatcher } from '../../src/live/driftWatcher';
import { VerificationStore, verificationKey } from '../../src/live/verificationStore';
import type { RedisEndpoint } from '../../src/live/connections';
import { parseConfigKey } from '../../src/live/envelope';
import { connectNats } from '../../src/live/natsConnection';
import { DEFAULT_CONFIG_CHANGED_SUBJECT, publishConfigChanged } from '../../src/live/notifier';
import { closeRedis, connectRedis, RedisUnavailableError } from '../../src/live/redisConnection';
import { NatsCluster, RedisCluster, RedisSentinel, redisCommand, waitFor } from '../support/clusters';

/**
 * DriftLens beyond one server, against real processes: a 3-master Redis Cluster with a replica per
 * master, Redis Sentinel (master, replica, three sentinels) and a 3-node NATS cluster (clusters.ts).
 * Publishes run while masters fail over (a manual CLUSTER FAILOVER, a SIGKILLed master, a Sentinel
 * promotion); real replica agents count every apply per revision. Every wait is for an event or a
 * state the servers report, with a deadline naming what was awaited.
 */

let redisCluster: RedisCluster;
let sentinel: RedisSentinel;
let natsCluster: NatsCluster;
let keyCounter = 0;

before(async () => {
  [redisCluster, sentinel, natsCluster] = await Promise.all([RedisCluster.start(), RedisSentinel.start(), NatsCluster.start()]);
});

after(async () => {
  await Promise.all([redisCluster?.dispose(), sentinel?.dispose(), natsCluster?.dispose()]);
});

// ---------------------------------------------------------------- waiting

const waiters = new Set<() => void>();
function poke(): void {
  for (const waiter of [...waiters]) waiter();
}

/** Resolves when `predicate` holds, re-checked on every agent event and every 100 ms; rejects after timeoutMs saying what was awaited. */
function waitUntil(predicate: () => boolean, what: string, detail?: () => string, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const evaluate = () => {
      if (!predicate()) return;
      finish();
      resolve();
    };
    const finish = () => {
      waiters.delete(evaluate);
      clearInterval(ticker);
      clearTimeout(deadline);
    };
    const ticker = setInterval(evaluate, 100);
    const deadline = setTimeout(() => {
      finish();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail ? ` (${detail()})` : ''}`));
    }, timeoutMs);
    waiters.add(evaluate);
    evaluate();
  });
}

// ---------------------------------------------------------------- fleet

interface Replica {
  agent: ReplicaAgent;
  events: AgentEvent[];
  /** Setter calls: what a service would actually do. */
  applies: { revision: number; hash: string; trigger: string }[];
  nats?: NatsConnection;
  natsStatus: string[];
}

function freshKey(): string {
  return `cfg:team:cluster-${process.pid}-${++keyCounter}`;
}

function pools(n: number): { [k: string]: JsonValue } {
  return { pools: { topics: { 'job.default': `pool-${n}` }, pools: { [`pool-${n}`]: {} } } };
}

/**
 * The same data whatever its key order: a stored document comes back with its keys sorted, so
 * comparing JSON.stringify of both never matched, and an uncertain commit that did land was taken
 * for a lost one (CI: "stored r4=4 r5=4").
 */
function sameData(a: JsonValue, b: JsonValue): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function poolsHash(n: number): string {
  return computeSectionHash('pools', pools(n).pools).hash!;
}

interface ReplicaOptions {
  /** Poll interval per replica; by default long enough that no poll fires during a test: convergence must come from what is asserted. */
  pollMs?: (i: number) => number;
  readTimeoutMs?: number;
  reportStatus?: boolean;
}

async function startReplicas(t: TestContext, count: number, key: string, redis: Redis | RedisEndpoint, natsServers?: (i: number) => string[], options: ReplicaOptions = {}): Promise<Replica[]> {
  const replicas = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const r: Replica = { agent: undefined as unknown as ReplicaAgent, events: [], applies: [], natsStatus: [] };
      if (natsServers) {
        r.nats = await connectNats({ servers: natsServers(i) }, { name: `replica-${i}`, onStatus: (s) => (r.natsStatus.push(s.type), poke()) });
        t.after(() => r.nats!.close());
      }
      r.agent = new ReplicaAgent({
        service: 'scheduler',
        replicaId: `r${i}`,
        configKey: key,
        redis,
        nats: r.nats,
        sections: ['pools'],
        pollIntervalMs: options.pollMs?.(i) ?? 120_000,
        ...(options.readTimeoutMs ? { readTimeoutMs: options.readTimeoutMs } : {}),
        env: {},
        reportStatus: options.reportStatus ?? false,
        apply: (_section, _value, context) => void r.applies.push({ revision: context.revision, hash: context.hash, trigger: context.trigger }),
        onEvent: (event) => {
          r.events.push(event);
          poke();
        },
      });
      t.after(() => r.agent.stop());
      await r.agent.start();
      return r;
    }),
  );
  return replicas;
}

/** Every replica applied `hash`, and none applied any revision or hash twice. */
function assertExactlyOnce(replicas: Replica[]): void {
  for (const r of replicas) {
    const revisions = r.applies.map((a) => a.revision);
    assert.equal(new Set(revisions).size, revisions.length, `${r.agent.replicaId} applied a revision twice: ${revisions.join(',')}`);
    const hashes = r.applies.map((a) => a.hash);
    assert.equal(new Set(hashes).size, hashes.length, `${r.agent.replicaId} applied a hash twice`);
    assert.deepEqual(revisions, [...revisions].sort((a, b) => a - b), `${r.agent.replicaId} applied an older revision after a newer one`);
  }
}

function lagging(replicas: Replica[], hash: string): () => string {
  return () =>
    replicas
      .filter((r) => r.agent.appliedHash('pools') !== hash)
      .map((r) => `${r.agent.replicaId} at revision ${r.agent.status().revision} (${r.agent.status().lastError?.message ?? 'no error'})`)
      .join('; ');
}

// ---------------------------------------------------------------- publishing

interface Publisher {
  store: ConfigStore;
  nats: NatsConnection;
  /** Revisions this publisher was told were written, with the n of their data. */
  written: Map<number, number>;
  /** Attempts that failed without writing (the failover window), and those that may or may not have written. */
  retries: number;
  uncertain: number;
  /** The n of each attempt told "may or may not have been written" that the read-back did not find. */
  uncertainData: Set<number>;
  /** The errors the publisher saw, for the failure message. */
  errors: string[];
}

/**
 * Publishes revision after revision as a person with `driftlens publish` would: read, CAS write from the
 * revision read, notify. "Nothing was written" is retried; "may or may not have been written" is
 * resolved by reading back, as the message asks.
 */
async function publishNext(p: Publisher, key: string, n: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    let expected: number;
    try {
      expected = (await p.store.read(key))?.envelope.revision ?? 0;
    } catch (err) {
      if (!(err instanceof RedisUnavailableError)) throw err;
      p.retries++;
      await new Promise((resolve) => setTimeout(resolve, 100)); // the cluster is electing a master: try again shortly
      continue;
    }
    try {
      const envelope = await p.store.write(key, { data: pools(n), expectedRevision: expected });
      p.written.set(envelope.revision, n);
      await notify(p.nats, key);
      return envelope.revision;
    } catch (err) {
      if (!(err instanceof RedisUnavailableError)) throw err;
      p.errors.push(err.message.replace(/^.*?\(/, '('));
      if (/may or may not/.test(err.message)) {
        p.uncertain++;
        const live = await waitFor('the document to be readable after an uncertain commit', async () => (await p.store.read(key).catch(() => undefined)) ?? undefined, 30_000);
        if (live.envelope.revision === expected + 1 && sameData(live.envelope.data, pools(n))) {
          p.written.set(live.envelope.revision, n);
          await notify(p.nats, key);
          return live.envelope.revision;
        }
        // Not there yet; it may still land (a commit the failing master had queued): then the retry
        // below stacks the same data on it, which the message warned of and which loses nothing.
        p.uncertainData.add(n);
      } else {
        p.retries++;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }
  throw new Error(`could not publish ${key} after 200 attempts`);
}

/** A promise and whether it has settled yet (to keep publishing until a failover is over). */
function settled<T>(promise: Promise<T>): { promise: Promise<T>; done: boolean } {
  const s = { promise, done: false };
  promise.then(() => (s.done = true), () => (s.done = true));
  return s;
}

async function notify(nats: NatsConnection, key: string): Promise<void> {
  const { scope, scopeId } = parseConfigKey(key);
  await publishConfigChanged(nats, DEFAULT_CONFIG_CHANGED_SUBJECT, { scope, scopeId, senderId: 'cluster-test' });
}

/** Every revision a publisher was told it wrote is in the DriftLens history with its data, revisions have no gap and none repeats. */
async function assertNoLostUpdate(store: ConfigStore, key: string, publishers: Publisher[]): Promise<void> {
  const history = (await store.history(key)).reverse();
  const revisions = history.map((e) => e.revision);
  assert.deepEqual(revisions, revisions.map((_, i) => i + 1), `history revisions must be 1..n without gap or repeat: ${revisions.join(',')}`);
  for (const p of publishers) {
    for (const [revision, n] of p.written) {
      const entry = history.find((e) => e.revision === revision);
      assert.deepEqual(entry?.data, pools(n), `revision ${revision} acknowledged to a publisher holds other data: an update was lost`);
    }
  }
  const acknowledged = new Map<number, number>();
  for (const p of publishers) for (const [revision] of p.written) acknowledged.set(revision, (acknowledged.get(revision) ?? 0) + 1);
  const told = publishers.map((p) => `${[...p.written].map(([r, n]) => `r${r}=${n}`).join(' ')} (${p.uncertain} uncertain${p.uncertainData.size ? `, unresolved: ${[...p.uncertainData].join(',')}` : ''}, errors: ${p.errors.join(' | ')})`).join('; ');
  const stored = history.map((e) => `r${e.revision}=${JSON.stringify(e.data).match(/pool-(\d+)/)?.[1]}`).join(' ');
  // Every stored revision was acknowledged to exactly one publisher, or is an attempt its publisher
  // was told "may or may not have been written" about and could not find when it read back.
  for (const entry of history) {
    const count = acknowledged.get(entry.revision) ?? 0;
    const unresolved = publishers.some((p) => [...p.uncertainData].some((n) => sameData(entry.data, pools(n))));
    assert.ok(count === 1 || (count === 0 && unresolved), `revision ${entry.revision} was acknowledged to ${count} publishers${count === 0 ? ' and is no uncertain attempt' : ''}: stored ${stored}, told ${told}`);
  }
}

// ---------------------------------------------------------------- Redis Cluster

test('Redis Cluster: publishing through a manual CLUSTER FAILOVER and a SIGKILLed master loses no update and applies each revision once', async (t) => {
  const key = freshKey();
  const agentsRedis = await connectRedis(redisCluster.endpoint, { name: 'agents' });
  const publisherRedis = await connectRedis(redisCluster.endpoint, { name: 'publisher' });
  const publisherNats = await connectNats(natsCluster.endpoint, { name: 'publisher' });
  t.after(() => Promise.all([closeRedis(agentsRedis), closeRedis(publisherRedis), publisherNats.close()]));
  const replicas = await startReplicas(t, 6, key, agentsRedis, (i) => [natsCluster.urls[i % 3]]);
  const p: Publisher = { store: new ConfigStore(publisherRedis), nats: publisherNats, written: new Map(), retries: 0, uncertain: 0, uncertainData: new Set(), errors: [] };

  let n = 0;
  let last = await publishNext(p, key, ++n);
  await waitUntil(() => replicas.every((r) => r.agent.appliedHash('pools') === poolsHash(n)), 'the fleet to apply revision 1', lagging(replicas, poolsHash(n)));

  // A manual failover while a publish is in flight.
  const owner = await redisCluster.ownerOf(key);
  const inFlight = publishNext(p, key, ++n);
  await redisCluster.manualFailover(owner.replicas[0]);
  last = await inFlight;
  last = await publishNext(p, key, ++n);
  assert.notEqual((await redisCluster.ownerOf(key)).master, owner.master, 'the replica took the slot over');

  // A SIGKILLed master: publishes keep going through the election.
  const victim = (await redisCluster.ownerOf(key)).master;
  const killing = settled(redisCluster.kill(victim));
  t.after(() => redisCluster.restart(victim));
  while (!killing.done) last = await publishNext(p, key, ++n);
  await killing.promise;
  last = await publishNext(p, key, ++n);
  await waitUntil(() => replicas.every((r) => r.agent.appliedHash('pools') === poolsHash(n)), `the fleet to apply revision ${last}`, lagging(replicas, poolsHash(n)));

  await assertNoLostUpdate(p.store, key, [p]);
  assertExactlyOnce(replicas);
  t.diagnostic(`${n} publishes, ${p.retries} retried while no master served the slot, ${p.uncertain} uncertain commits`);
});

test('Redis Cluster: two writers from the same revision during a manual failover: exactly one wins, the other gets the conflict', async (t) => {
  const key = freshKey();
  const a = await connectRedis(redisCluster.endpoint, { name: 'writer-a' });
  const b = await connectRedis(redisCluster.endpoint, { name: 'writer-b' });
  t.after(() => Promise.all([closeRedis(a), closeRedis(b)]));
  const storeA = new ConfigStore(a);
  const storeB = new ConfigStore(b);
  await storeA.write(key, { data: pools(0), expectedRevision: 0 });

  for (let round = 1; round <= 3; round++) {
    const from = (await storeA.read(key))!.envelope.revision;
    const owner = await redisCluster.ownerOf(key);
    // TAKEOVER below promotes the replica without syncing it: it must already hold revision `from`
    // (the first write, or the last round's winner), or the failover itself loses it (seen in CI:
    // the document was gone after the failover).
    await redisCluster.waitReplicated(owner.master, owner.replicas[0]);
    // Hold writes on the master so both transactions are queued there when the slot moves: exactly
    // the window in which a client that follows MOVED could send the MULTI/EXEC on without its WATCH.
    await redisCommand(owner.master.port, 'CLIENT', 'PAUSE', 20_000, 'WRITE');
    const outcomes = Promise.allSettled([
      storeA.write(key, { data: pools(round * 10 + 1), expectedRevision: from }),
      storeB.write(key, { data: pools(round * 10 + 2), expectedRevision: from }),
    ]);
    await waitFor('both transactions to be queued on the paused master', async () => {
      const clients = String(await redisCommand(owner.master.port, 'CLIENT', 'LIST'));
      // flags x (in MULTI) and b (blocked): the SET of each transaction waits for the pause to end.
      return clients.split('\n').filter((l) => /flags=[a-zA-Z]*x/.test(l) && /flags=[a-zA-Z]*b/.test(l)).length >= 2 ? true : undefined;
    });
    await redisCommand(owner.replicas[0].port, 'CLUSTER', 'FAILOVER', 'TAKEOVER');
    await waitFor('the replica to take the slot over', async () => ((await redisCluster.ownerOf(key)).master === owner.replicas[0] ? true : undefined));
    await redisCommand(owner.master.port, 'CLIENT', 'UNPAUSE');
    const results = await outcomes;
    await redisCluster.waitHealthy();

    const read = await storeA.read(key);
    assert.ok(read, `round ${round}: the document is still in Redis after the failover`);
    const live = read.envelope;
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as Error);
    assert.ok(won.length <= 1, `round ${round}: both writers from revision ${from} were told they won (live revision ${live.revision}): one update was lost`);
    for (const err of lost) assert.ok(err instanceof RevisionConflictError || (err instanceof RedisUnavailableError && /nothing was written/.test(err.message)), `round ${round}: ${err.name}: ${err.message}`);
    assert.equal(live.revision, from + won.length, `round ${round}: the live revision counts exactly the winners`);
    if (won.length === 1) assert.deepEqual(live.data, (won[0] as PromiseFulfilledResult<{ data: unknown }>).value.data, `round ${round}: the live data is the winner's`);
    assert.equal(lost.filter((e) => e instanceof RevisionConflictError).length, won.length === 1 ? 1 : 0, `round ${round}: the loser is told of the conflict`);
  }
});

test('Redis Cluster: concurrent conflicting writers stay exact under load', async (t) => {
  const key = freshKey();
  const conns = await Promise.all([0, 1, 2, 3].map((i) => connectRedis(redisCluster.endpoint, { name: `writer-${i}` })));
  t.after(() => Promise.all(conns.map(closeRedis)));
  const stores = conns.map((c) => new ConfigStore(c));
  const wins = new Map<number, number>();
  let conflicts = 0;
  for (let round = 0; round < 20; round++) {
    const from = (await stores[0].read(key))?.envelope.revision ?? 0;
    const results = await Promise.allSettled(stores.map((s, i) => s.write(key, { data: pools(round * 10 + i), expectedRevision: from })));
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1, `round ${round}: exactly one of four writers from revision ${from} wins`);
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof RevisionConflictError, String(r.reason));
    conflicts += results.length - 1;
    wins.set(from + 1, round);
  }
  const history = (await stores[0].history(key)).reverse();
  assert.deepEqual(history.map((e) => e.revision), [...wins.keys()]);
  assert.equal(conflicts, 60);
});

test('Redis Cluster: a verification lease survives a manual failover of its master and stays exclusive', async (t) => {
  const key = freshKey();
  const a = await connectRedis(redisCluster.endpoint, { name: 'verifier-a' });
  const b = await connectRedis(redisCluster.endpoint, { name: 'verifier-b' });
  t.after(() => Promise.all([closeRedis(a), closeRedis(b)]));
  const [storeA, storeB] = [new VerificationStore(a), new VerificationStore(b)];
  assert.equal(await storeA.claim(key, 1, 'alice', 30_000), true);
  assert.equal(await storeB.claim(key, 1, 'bob', 30_000), false, 'the lease is taken');
  const owner = await redisCluster.ownerOf(`${verificationKey(key, 1)}:lease`);
  await redisCluster.manualFailover(owner.replicas[0]);
  // Both clients still map the slot to the old master: the renew meets MOVED there and starts over on the new one.
  assert.equal(await storeA.renew(key, 1, 'alice', 30_000), true, 'the holder renews on the new master');
  assert.equal(await storeB.renew(key, 1, 'bob', 30_000), false, 'the other verifier still cannot');
  await storeA.release(key, 1, 'alice');
  assert.equal(await storeB.holder(key, 1), null);
});

// ---------------------------------------------------------------- NATS cluster

test('NATS cluster: replicas spread over the three nodes all hear the notification', async (t) => {
  const key = freshKey();
  const redis = await connectRedis(redisCluster.endpoint, { name: 'spread' });
  const publisherNats = await connectNats({ servers: [natsCluster.urls[0]] }, { name: 'publisher' });
  t.after(() => Promise.all([closeRedis(redis), publisherNats.close()]));
  // These replicas report (durable reports in the document's slot, live events on NATS) and a watcher reads them from the cluster.
  const replicas = await startReplicas(t, 6, key, redis, (i) => [natsCluster.urls[i % 3]], { reportStatus: true });
  let model: DriftModel | undefined;
  const watcher = new DriftWatcher({ redis, nats: publisherNats, configKey: key, sections: ['pools'], policy: DEFAULT_POLICY.slo, subject: DEFAULT_CONFIG_CHANGED_SUBJECT, pollMs: 120_000, onModel: (m) => ((model = m), poke()) });
  t.after(() => watcher.stop());
  for (const [i, node] of natsCluster.nodes.entries()) {
    const names = await natsCluster.clients(node);
    assert.ok(names.includes(`replica-${i}`) && names.includes(`replica-${i + 3}`), `node ${i} serves replicas ${i} and ${i + 3}: ${names.join(',')}`);
  }
  const store = new ConfigStore(redis);
  const p: Publisher = { store, nats: publisherNats, written: new Map(), retries: 0, uncertain: 0, uncertainData: new Set(), errors: [] };
  await publishNext(p, key, 1);
  await publishNext(p, key, 2);
  await waitUntil(() => replicas.every((r) => r.agent.appliedHash('pools') === poolsHash(2)), 'every replica to apply revision 2', lagging(replicas, poolsHash(2)));
  for (const r of replicas) {
    assert.equal(r.applies.at(-1)?.trigger, 'notification', `${r.agent.replicaId} heard the notification through its own node`);
  }
  await watcher.start();
  await waitUntil(() => model?.live?.revision === 2 && model.counts['in-sync'] === 6, 'the watcher to show all six replicas in sync at revision 2', () => model?.summary ?? 'no model');
  assertExactlyOnce(replicas);
});

test('NATS cluster: a replica whose node dies converges by poll meanwhile, reconnects to another node, catches up by reading, then hears notifications', async (t) => {
  const key = freshKey();
  const redis = await connectRedis(redisCluster.endpoint, { name: 'nats-kill' });
  // The publisher sits on node 0, bystanders on node 1, victims on node 2. Victim r0 polls every second.
  const publisherNats = await connectNats({ servers: [natsCluster.urls[0]] }, { name: 'publisher' });
  t.after(() => Promise.all([closeRedis(redis), publisherNats.close()]));
  const replicas = await startReplicas(t, 5, key, redis, (i) => [natsCluster.urls[i % 2 === 0 ? 2 : 1]], { pollMs: (i) => (i === 0 ? 1000 : 120_000) });
  const victims = replicas.filter((_, i) => i % 2 === 0);
  const [poller, ...waiting] = victims;
  // A DriftLens watcher on the same node, polling too rarely to matter here.
  const watcherStatus: string[] = [];
  const watcherNats = await connectNats({ servers: [natsCluster.urls[2]] }, { name: 'watcher', onStatus: (s) => (watcherStatus.push(s.type), poke()) });
  let model: DriftModel | undefined;
  const watcher = new DriftWatcher({ redis, nats: watcherNats, configKey: key, sections: ['pools'], policy: DEFAULT_POLICY.slo, subject: DEFAULT_CONFIG_CHANGED_SUBJECT, pollMs: 120_000, onModel: (m) => ((model = m), poke()) });
  t.after(() => (watcher.stop(), watcherNats.close()));
  const store = new ConfigStore(redis);
  const p: Publisher = { store, nats: publisherNats, written: new Map(), retries: 0, uncertain: 0, uncertainData: new Set(), errors: [] };
  await publishNext(p, key, 1);
  await waitUntil(() => replicas.every((r) => r.agent.appliedHash('pools') === poolsHash(1)), 'revision 1 everywhere', lagging(replicas, poolsHash(1)));
  await watcher.start();
  await waitUntil(() => model?.live?.revision === 1, 'the watcher to see revision 1');

  // Node 2 hangs: its clients stay connected, and the notification routed to it never comes out.
  const node = natsCluster.nodes[2];
  natsCluster.freeze(node);
  t.after(() => natsCluster.restart(node));
  await publishNext(p, key, 2);
  await waitUntil(() => poller.agent.appliedHash('pools') === poolsHash(2), 'the polling victim to converge by poll while its node hangs', lagging([poller], poolsHash(2)));
  assert.equal(poller.applies.at(-1)?.trigger, 'poll', `the polling victim applied revision 2 by ${poller.applies.at(-1)?.trigger}; its last events: ${JSON.stringify(poller.events.slice(-6))}; NATS status ${poller.natsStatus.join(',')}`);
  for (const r of waiting) assert.equal(r.agent.appliedHash('pools'), poolsHash(1), `${r.agent.replicaId} heard nothing: its node hangs`);

  // The node dies: the victims reconnect to another node and read what they missed.
  await natsCluster.kill(node);
  await waitUntil(() => victims.every((r) => r.natsStatus.includes('reconnect')), 'the victims to reconnect to another node');
  for (const r of victims) assert.notEqual(r.nats!.getServer(), `127.0.0.1:${node.port}`);
  await waitUntil(() => replicas.every((r) => r.agent.appliedHash('pools') === poolsHash(2)), 'every replica to converge on the revision notified while the node hung', lagging(replicas, poolsHash(2)));
  for (const r of waiting) {
    assert.equal(r.applies.at(-1)?.trigger, 'poll', `${r.agent.replicaId} caught up by reading, not by the lost notification; its last events: ${JSON.stringify(r.events.slice(-6))}`);
    const reconnectedAt = r.events.findIndex((e) => e.type === 'reconnected');
    const appliedAt = r.events.findIndex((e) => e.type === 'applied' && e.revision === 2);
    assert.ok(reconnectedAt >= 0 && appliedAt > reconnectedAt, `${r.agent.replicaId} read revision 2 after it reconnected`);
  }
  await waitUntil(() => watcherStatus.includes('reconnect') && model?.live?.revision === 2, 'the watcher to reconnect and read the revision published during the gap', () => `watcher at ${model?.live?.revision}`);

  // The subscriptions are back: the next change arrives by notification everywhere.
  await publishNext(p, key, 3);
  await waitUntil(() => replicas.every((r) => r.agent.appliedHash('pools') === poolsHash(3)), 'every replica to apply revision 3', lagging(replicas, poolsHash(3)));
  for (const r of replicas.filter((x) => x !== poller)) assert.equal(r.applies.at(-1)?.trigger, 'notification', `${r.agent.replicaId} heard revision 3`);
  assertExactlyOnce(replicas);
});

// ---------------------------------------------------------------- Sentinel

test('Sentinel: publishing through a killed master and the promotion loses no update and applies each revision once', async (t) => {
  const key = freshKey();
  const agentsRedis = await connectRedis(sentinel.endpoint, { name: 'agents' });
  const publisherRedis = await connectRedis(sentinel.endpoint, { name: 'publisher' });
  const publisherNats = await connectNats(natsCluster.endpoint, { name: 'publisher' });
  t.after(() => Promise.all([closeRedis(agentsRedis), closeRedis(publisherRedis), publisherNats.close()]));
  const replicas = await startReplicas(t, 4, key, agentsRedis, (i) => [natsCluster.urls[i % 3]]);
  const p: Publisher = { store: new ConfigStore(publisherRedis), nats: publisherNats, written: new Map(), retries: 0, uncertain: 0, uncertainData: new Set(), errors: [] };

  let n = 0;
  await publishNext(p, key, ++n);
  await publishNext(p, key, ++n);
  const failing = settled(sentinel.killMaster());
  while (!failing.done) await publishNext(p, key, ++n);
  const { promoted } = await failing.promise;
  const last = await publishNext(p, key, ++n);
  assert.equal(String(await redisCommand(promoted.port, 'GET', key)).includes(`"revision":${last}`), true, 'the promoted replica holds the last revision');
  await waitUntil(() => replicas.every((r) => r.agent.appliedHash('pools') === poolsHash(n)), `the fleet to apply revision ${last}`, lagging(replicas, poolsHash(n)));
  await assertNoLostUpdate(p.store, key, [p]);
  assertExactlyOnce(replicas);
  t.diagnostic(`${n} publishes, ${p.retries} retried during the promotion, ${p.uncertain} uncertain commits`);
});

test('Sentinel: a notification that arrives while the master does not answer is not lost: the failed read is retried soon, not at the next poll', async (t) => {
  const key = freshKey();
  const agentsRedis = await connectRedis(sentinel.endpoint, { name: 'agents' });
  const publisherRedis = await connectRedis(sentinel.endpoint, { name: 'publisher' });
  const publisherNats = await connectNats(natsCluster.endpoint, { name: 'publisher' });
  t.after(() => Promise.all([closeRedis(agentsRedis), closeRedis(publisherRedis), publisherNats.close()]));
  const replicas = await startReplicas(t, 3, key, agentsRedis, (i) => [natsCluster.urls[i % 3]], { readTimeoutMs: 500 });
  const store = new ConfigStore(publisherRedis);
  await store.write(key, { data: pools(1), expectedRevision: 0 });
  await notify(publisherNats, key);
  await waitUntil(() => replicas.every((r) => r.agent.appliedHash('pools') === poolsHash(1)), 'revision 1 everywhere', lagging(replicas, poolsHash(1)));

  await store.write(key, { data: pools(2), expectedRevision: 1 });
  // The master stops answering for two seconds (as during a failover, or a master busy with a long command).
  const master = (await sentinel.master())!;
  await redisCommand(master.port, 'CLIENT', 'PAUSE', 2000, 'ALL');
  await notify(publisherNats, key);
  await waitUntil(() => replicas.every((r) => r.events.some((e) => e.type === 'error' && e.kind === 'redis-unavailable')), 'every replica to fail its notified read');
  await waitUntil(() => replicas.every((r) => r.agent.appliedHash('pools') === poolsHash(2)), 'every replica to read again once the master answers', lagging(replicas, poolsHash(2)));
  for (const r of replicas) assert.equal(r.applies.at(-1)?.trigger, 'notification', `${r.agent.replicaId} applied revision 2 for the notification that could not be served at first`);
  assertExactlyOnce(replicas);
});
