import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { judgeMeasurement, type VerifyPolicy } from '../../src/core/verification';
import { ConfigStore } from '../../src/live/configStore';
import type { NatsConnection } from 'nats';
import { connectNats } from '../../src/live/natsConnection';
import { closeRedis, connectRedis } from '../../src/live/redisConnection';
import { verifyRevision } from '../../src/live/verifier';
import { VerificationStore, type VerificationRecord } from '../../src/live/verificationStore';
import { rollbackFailedRevision } from '../../src/live/verifyRollback';
import { instantQuery } from '../../src/live/prometheus';
import { startExporter, startPrometheus, type PrometheusServer } from '../support/prometheus';
import { freePort, startNats, startRedis, type ServerProcess } from '../support/servers';

// A real Prometheus scraping a real exporter every 250 ms; the test moves the exporter's gauges.
let redisServer: ServerProcess & { url: string };
let natsServer: ServerProcess & { url: string };
let nats: NatsConnection;
const POLL = { pollIntervalMs: 30_000, slo: { notificationLost: { inclusive: true, ms: 30_000 } } };
let prometheus: PrometheusServer;
let exporter: Awaited<ReturnType<typeof startExporter>>;
let redis: Redis;
let keyCounter = 0;

before(async () => {
  exporter = await startExporter();
  exporter.set('cordum_scheduler_dispatch_latency_p99', 0.1);
  [redisServer, natsServer, prometheus] = await Promise.all([startRedis(), startNats(), startPrometheus([exporter.target], '250ms')]);
  redis = await connectRedis({ url: redisServer.url }, { name: 'verifier-test' });
  nats = await connectNats({ servers: [natsServer.url] }, { name: 'verifier-test' });
  await prometheus.scraped();
});

after(async () => {
  await closeRedis(redis);
  await nats.close();
  await Promise.all([redisServer.dispose(), natsServer.dispose(), prometheus.dispose(), exporter.close()]);
});

const freshKey = () => `cfg:team:verify${process.pid}-${++keyCounter}`;

function policy(overrides: Partial<VerifyPolicy> = {}, check: Partial<VerifyPolicy['checks'][0]> = {}): VerifyPolicy {
  return {
    prometheus: prometheus.url,
    initialDelayMs: 0,
    intervalMs: 300,
    count: 3,
    onFailure: 'notify',
    checks: [{ name: 'dispatch_latency_p99', query: 'max(cordum_scheduler_dispatch_latency_p99)', max: 0.5, failureLimit: 0, ...check }],
    ...overrides,
  };
}

async function publish(store: ConfigStore, key: string, pools: string, expectedRevision: number) {
  return store.write(key, { data: { pools: { topics: { [pools]: ['default'] }, pools: { default: { requires: [] } } } }, expectedRevision, meta: { published_by: 'test' } });
}

function run(key: string, revision: number, p: VerifyPolicy, extra: Partial<Parameters<typeof verifyRevision>[0]> = {}): Promise<VerificationRecord> {
  const config = new ConfigStore(redis);
  return verifyRevision({ redis: new VerificationStore(redis), config, prometheus: { url: p.prometheus, timeoutMs: 2000 }, policy: p, key, revision, publishedAtMs: Date.now(), verifier: 'test-verifier', ...extra });
}

test('a healthy revision passes after count measurements, and the verdict is stored for everyone', async () => {
  const key = freshKey();
  const config = new ConfigStore(redis);
  const published = await publish(config, key, 'a', 0);
  const record = await run(key, published.revision, policy());
  assert.equal(record.state, 'passed', record.reason);
  assert.equal(record.checks[0].measurements.length, 3);
  assert.equal(record.checks[0].baseline, 0.1, 'the baseline is the query at the publish instant');
  const stored = await new VerificationStore(redis).read(key, published.revision);
  assert.equal(stored?.state, 'passed');
  // A second verifier of the same revision reads the verdict instead of measuring again.
  const again = await run(key, published.revision, policy(), { verifier: 'someone-else' });
  assert.equal(again.verifier, 'test-verifier');
  assert.deepEqual(again.checks[0].measurements, record.checks[0].measurements);
});

test('a degradation fails the check once failure_limit is exceeded, and the rollback restores the last passed revision', async () => {
  const key = freshKey();
  const config = new ConfigStore(redis);
  const verifications = new VerificationStore(redis);
  const good = await publish(config, key, 'good', 0);
  assert.equal((await run(key, good.revision, policy())).state, 'passed');
  const bad = await publish(config, key, 'bad', good.revision);
  exporter.set('cordum_scheduler_dispatch_latency_p99', 2);
  try {
    await prometheus.answers('max(cordum_scheduler_dispatch_latency_p99)', '2');
    const p = policy({ onFailure: 'rollback', count: 5 }, { failureLimit: 1 });
    const notifications = nats.subscribe('sys.config.changed', { max: 1 });
    const record = await run(key, bad.revision, p, {
      rollback: () => rollbackFailedRevision({ config, verifications, key, failedRevision: bad.revision, identity: { publishedBy: 'verifier@test', senderId: 'verifier-test' }, nats, subject: 'sys.config.changed', policy: POLL }),
    });
    assert.equal(record.state, 'failed');
    assert.equal(record.checks[0].measurements.length, 2, 'failure_limit 1: the second failed measurement fails the check, without waiting for the other three');
    assert.match(record.reason, /dispatch_latency_p99 failed 2 of 2 measurements \(2 > max 0\.5\)/);
    assert.equal(record.rollback?.outcome, 'done', record.rollback?.message);
    const live = (await config.read(key))?.envelope;
    assert.equal(live?.revision, bad.revision + 1);
    assert.deepEqual(live?.data, good.data, 'the data of the last passed revision is live again');
    assert.equal(live?.meta?.rollback_of, String(good.revision));
    for await (const _ of notifications) break; // the rollback notifies replicas like any publish
    assert.equal(notifications.getProcessed(), 1);
    assert.equal((await verifications.read(key, bad.revision))?.rollback?.newRevision, bad.revision + 1);
  } finally {
    exporter.set('cordum_scheduler_dispatch_latency_p99', 0.1);
    await prometheus.answers('max(cordum_scheduler_dispatch_latency_p99)', '0.1');
  }
});

test('a rollback never overwrites a revision published after the failed one', async () => {
  const key = freshKey();
  const config = new ConfigStore(redis);
  const verifications = new VerificationStore(redis);
  const first = await publish(config, key, 'one', 0);
  const failed = await publish(config, key, 'two', first.revision);
  const newer = await store(config, key, failed.revision);
  const outcome = await rollbackFailedRevision({ config, verifications, key, failedRevision: failed.revision, identity: { publishedBy: 'v', senderId: 'v' }, nats, subject: 'sys.config.changed', policy: POLL });
  assert.equal(outcome.outcome, 'skipped');
  assert.match(outcome.message, new RegExp(`is at revision ${newer.revision} \\(published at .* by bob@ops\\).*A rollback never overwrites a newer revision`));
  assert.equal((await config.read(key))?.envelope.revision, newer.revision, 'the newer revision stays live');

  function store(c: ConfigStore, k: string, rev: number) {
    return c.write(k, { data: { pools: { topics: {}, pools: {} } }, expectedRevision: rev, meta: { published_by: 'bob@ops' } });
  }
});

test('a query with no data is inconclusive, never a pass', async () => {
  const key = freshKey();
  const published = await publish(new ConfigStore(redis), key, 'a', 0);
  const record = await run(key, published.revision, policy({}, { query: 'max(cordum_scheduler_no_such_metric)' }));
  assert.equal(record.state, 'inconclusive');
  assert.match(record.checks[0].measurements[0].reason, /no series/);
});

test('Prometheus down: every measurement is an error naming Prometheus, the run is inconclusive, nothing hangs', async () => {
  const key = freshKey();
  const published = await publish(new ConfigStore(redis), key, 'a', 0);
  const down = `http://127.0.0.1:${await freePort()}`;
  const record = await run(key, published.revision, policy({ prometheus: down }));
  assert.equal(record.state, 'inconclusive');
  assert.deepEqual(new Set(record.checks[0].measurements.map((m) => m.outcome)), new Set(['error']));
  assert.match(record.checks[0].measurements[0].reason, new RegExp(`Prometheus at ${down} is unreachable: ECONNREFUSED`));
});

test('two verifiers of one revision: one measures, the other follows the same record', async () => {
  const key = freshKey();
  const published = await publish(new ConfigStore(redis), key, 'a', 0);
  const [a, b] = await Promise.all([run(key, published.revision, policy(), { verifier: 'alice' }), run(key, published.revision, policy(), { verifier: 'bob' })]);
  assert.equal(a.verifier, b.verifier, 'both report the one verifier that measured');
  assert.equal(a.checks[0].measurements.length, 3, 'measured once, not twice');
  assert.deepEqual(a.checks[0].measurements, b.checks[0].measurements);
});

test('a verifier that goes away mid-run leaves its measurements; the next one resumes from them', async () => {
  const key = freshKey();
  const published = await publish(new ConfigStore(redis), key, 'a', 0);
  const closing = new AbortController();
  const first = await run(key, published.revision, policy({ count: 4 }), {
    verifier: 'editor-1',
    signal: closing.signal,
    onUpdate: (r) => {
      if (r.checks[0].measurements.length === 2) closing.abort();
    },
  });
  assert.equal(first.state, 'running');
  const stored = await new VerificationStore(redis).read(key, published.revision);
  assert.equal(stored?.verifier, 'editor-1', 'the stored state says who was verifying');
  assert.equal(stored?.checks[0].measurements.length, 2);
  const resumed = await run(key, published.revision, policy({ count: 4 }), { verifier: 'editor-2' });
  assert.equal(resumed.state, 'passed');
  assert.deepEqual(resumed.checks[0].measurements.map((m) => m.index), [1, 2, 3, 4]);
  assert.deepEqual(resumed.checks[0].measurements.slice(0, 2), stored?.checks[0].measurements.slice(0, 2), 'the first two are the stored ones, not measured again');
});

test('a publish during a running verification ends it as superseded', async () => {
  const key = freshKey();
  const config = new ConfigStore(redis);
  const published = await publish(config, key, 'a', 0);
  const record = await run(key, published.revision, policy({ count: 20 }), {
    onUpdate: (r) => {
      if (r.checks[0].measurements.length === 1 && r.state === 'running') void publish(config, key, 'b', published.revision).catch(() => undefined);
    },
  });
  assert.equal(record.state, 'superseded');
  assert.match(record.reason, new RegExp(`revision ${published.revision + 1} was published by test`));
  assert.ok(record.checks[0].measurements.length < 20);
});

test('a Prometheus that never answers is an error after the query timeout, never a hang', async () => {
  const { createServer } = await import('node:net');
  const sockets: import('node:net').Socket[] = [];
  const silent = createServer((socket) => void sockets.push(socket)); // accepts, reads, never answers
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(silent.address() as import('node:net').AddressInfo).port}`;
  try {
    const started = Date.now();
    const answer = await instantQuery({ url, timeoutMs: 500 }, 'up');
    assert.deepEqual(answer, { ok: false, error: `Prometheus at ${url} did not answer within 500 ms` });
    assert.ok(Date.now() - started < 5000, 'bounded by the timeout');
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
  }
});

test('thousands of series are inconclusive, and an answer over the size limit is an error, from a real Prometheus', async () => {
  for (let i = 0; i < 3000; i++) exporter.set('driftlens_test_wide', i, { shard: String(i) });
  await prometheus.answers('count(driftlens_test_wide)', '3000');
  const wide = { name: 'wide', query: 'driftlens_test_wide', max: 1e9, failureLimit: 0 };
  const answer = await instantQuery({ url: prometheus.url }, wide.query);
  assert.equal(judgeMeasurement(wide, answer, undefined, 1, Date.now()).reason, '3000 series: the query must reduce to exactly one (wrap it in sum, max or histogram_quantile)');
  const capped = await instantQuery({ url: prometheus.url, maxBytes: 64 * 1024 }, wide.query);
  assert.deepEqual(capped, { ok: false, error: `Prometheus at ${prometheus.url} answered more than 64 KiB: a check's query must reduce to one series` });
});
