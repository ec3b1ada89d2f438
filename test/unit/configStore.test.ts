import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';
import type { Redis } from 'ioredis';
import type { JsonValue } from '../../src/core/canonical';
import { ConfigHistoryError, ConfigStore, historyKey, RevisionConflictError } from '../../src/live/configStore';
import type { ConfigEnvelope } from '../../src/live/envelope';
import {
  ConfigKeyError,
  configKey,
  decodeEnvelope,
  encodeEnvelope,
  formatRfc3339Nano,
  LiveDocumentError,
  nowRfc3339Nano,
  parseConfigKey,
} from '../../src/live/envelope';
import type { RedisEndpoint } from '../../src/live/connections';
import { closeRedis, connectRedis, RedisConnectError, RedisUnavailableError } from '../../src/live/redisConnection';
import { freePort, ServerProcess, startRedis } from '../support/servers';

/** Go's RFC3339Nano in UTC: no trailing zeros in the fraction, no fraction on a whole second. */
const GO_UTC_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{0,8}[1-9])?Z$/;

const clients: Redis[] = [];
const servers: ServerProcess[] = [];
let sharedServer: Promise<ServerProcess & { url: string }> | undefined;
let keyCounter = 0;

after(async () => {
  await Promise.all(clients.map((c) => closeRedis(c)));
  await Promise.all(servers.map((s) => s.dispose()));
});

function shared(): Promise<ServerProcess & { url: string }> {
  return (sharedServer ??= startRedis().then((s) => (servers.push(s), s)));
}

async function started(server: Promise<ServerProcess & { url: string }>): Promise<ServerProcess & { url: string }> {
  const s = await server;
  servers.push(s);
  return s;
}

async function connect(endpoint: RedisEndpoint | string): Promise<Redis> {
  const client = await connectRedis(typeof endpoint === 'string' ? { url: endpoint } : endpoint, { name: 'driftlens-test', connectTimeoutMs: 3000 });
  clients.push(client);
  return client;
}

function freshKey(): string {
  return `cfg:team:t${process.pid}-${++keyCounter}`;
}

/** Fails the test instead of hanging when `promise` takes longer than `ms`. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function once(client: Redis, event: string): Promise<void> {
  return new Promise((resolve) => client.once(event, () => resolve()));
}

// ---------------------------------------------------------------- envelope bytes

test('encodeEnvelope writes the bytes Go json.Marshal writes for a configsvc.Document', () => {
  const env: ConfigEnvelope = {
    scope: 'system',
    scopeId: 'default',
    data: { timeouts: { reconciler: { scan_interval_seconds: 30 } }, pools: { topics: { 'job.default': 'default' } }, note: '<a & b>', é: 1, z: [1, 2.5, -0] },
    revision: 42,
    updatedAt: formatRfc3339Nano(1795815605123456700n),
    meta: { who: 'alice', a: 'x' },
  };
  assert.equal(
    encodeEnvelope(env),
    '{"scope":"system","scope_id":"default","data":{"note":"\\u003ca \\u0026 b\\u003e","pools":{"topics":{"job.default":"default"}},"timeouts":{"reconciler":{"scan_interval_seconds":30}},"z":[1,2.5,-0],"é":1},' +
      '"revision":42,"updated_at":"2026-11-27T21:40:05.1234567Z","meta":{"a":"x","who":"alice"}}',
  );
  assert.equal(encodeEnvelope({ ...env, data: {}, meta: {} }), '{"scope":"system","scope_id":"default","data":{},"revision":42,"updated_at":"2026-11-27T21:40:05.1234567Z"}');
  assert.deepEqual(decodeEnvelope(encodeEnvelope(env)), env); // -0 included: JSON.parse keeps it, as Go does
});

test('formatRfc3339Nano is Go RFC3339Nano in UTC', () => {
  assert.equal(formatRfc3339Nano(0n), '1970-01-01T00:00:00Z');
  assert.equal(formatRfc3339Nano(1795815605000000000n), '2026-11-27T21:40:05Z');
  assert.equal(formatRfc3339Nano(1795815605100000000n), '2026-11-27T21:40:05.1Z');
  assert.equal(formatRfc3339Nano(1795815605000000001n), '2026-11-27T21:40:05.000000001Z');
  assert.equal(formatRfc3339Nano(-1n), '1969-12-31T23:59:59.999999999Z');
  assert.throws(() => formatRfc3339Nano(253402300800n * 1_000_000_000n), RangeError); // year 10000
  const now = nowRfc3339Nano();
  assert.match(now, GO_UTC_TIME);
  assert.ok(Math.abs(Date.parse(now) - Date.now()) < 1000);
});

test('config keys: cfg:<scope>:<id>, system defaults to "default", scopes checked', () => {
  assert.equal(configKey('system', ''), 'cfg:system:default');
  assert.equal(configKey('workflow', 'deploy'), 'cfg:workflow:deploy');
  assert.deepEqual(parseConfigKey('cfg:system:default'), { scope: 'system', scopeId: 'default' });
  assert.deepEqual(parseConfigKey('cfg:step:wf:1'), { scope: 'step', scopeId: 'wf:1' });
  assert.throws(() => parseConfigKey('cfg:planet:x'), (e: Error) => e instanceof ConfigKeyError && /unknown scope "planet"/.test(e.message));
  assert.throws(() => parseConfigKey('config:system:default'), ConfigKeyError);
  assert.throws(() => parseConfigKey('cfg:team:'), ConfigKeyError);
  assert.throws(() => configKey('team', ''), ConfigKeyError);
  assert.equal(historyKey('cfg:system:default'), 'driftlens:history:{cfg:system:default}');
  assert.equal(historyKey('cfg:team:{eu}a'), 'driftlens:history:{eu}:cfg:team:{eu}a');
});

test('decodeEnvelope says what is wrong with a value that is not an envelope', () => {
  const cases: [string, RegExp][] = [
    ['not json{', /not valid JSON/],
    ['[1,2]', /JSON an array, not an object/],
    ['{"scope":"system","revision":3}', /no "data" object/],
    ['{"scope":"system","data":[],"revision":3}', /"data" is an array/],
    ['{"scope":"system","data":{},"revision":"3"}', /"revision" is the string "3", not an integer/],
    ['{"scope":"system","data":{},"revision":1.5}', /has revision 1\.5, not a whole number DriftLens can use \(0 to 9007199254740991\)/],
    // The stored digits, not JSON.parse's rounding (2^53 + 1 reads as 2^53).
    ['{"scope":"system","data":{"revision":1},"revision":9007199254740993}', /has revision 9007199254740993, not a whole number/],
    ['{"scope":"system","revision" : -5,"data":{}}', /has revision -5, not a whole number/],
    ['{"scope":"system","data":{}}', /no "revision"/],
    ['{"scope":"galaxy","data":{},"revision":1}', /"scope" is the string "galaxy"/],
    ['{"scope":"system","data":{},"revision":1,"updated_at":"yesterday"}', /"updated_at" .* not an RFC 3339 time/],
    ['{"scope":"system","data":{},"revision":1,"meta":{"who":7}}', /"meta"."who" is the number 7/],
    ['{"scope":"system","data":{"x":[1e400]},"revision":1}', /data.x\[0\] is a number outside the float64 range/],
  ];
  for (const [text, reason] of cases) {
    assert.throws(() => decodeEnvelope(text), (e: Error) => e instanceof LiveDocumentError && reason.test(e.message), text);
  }
  // What Go's decoder accepts: missing scope_id/updated_at/meta, unknown fields.
  assert.deepEqual(decodeEnvelope('{"scope":"org","data":{},"revision":0,"extra":true,"meta":null}'), {
    scope: 'org',
    scopeId: '',
    data: {},
    revision: 0,
    updatedAt: '0001-01-01T00:00:00Z',
  });
});

// ---------------------------------------------------------------- against redis-server

test('write then read: the stored string is the Go encoding, revision 1, updated_at Go-shaped UTC', async () => {
  const redis = await connect((await shared()).url);
  const store = new ConfigStore(redis);
  const key = freshKey();
  const data = { pools: { topics: { 'job.default': 'default' } }, timeouts: { workflows: {}, topics: {}, reconciler: { dispatch_timeout_seconds: 300, running_timeout_seconds: 900, scan_interval_seconds: 30 } }, html: '<b>&' };
  const before = Date.now();
  const written = await store.write(key, { data, meta: { published_by: 'test' }, expectedRevision: 0 });

  assert.equal(written.revision, 1);
  assert.deepEqual([written.scope, written.scopeId], ['team', key.slice('cfg:team:'.length)]);
  assert.match(written.updatedAt, GO_UTC_TIME);
  assert.ok(Date.parse(written.updatedAt) >= before - 1 && Date.parse(written.updatedAt) <= Date.now() + 1);

  const raw = await redis.get(key);
  assert.equal(raw, encodeEnvelope(written));
  assert.deepEqual(Object.keys(JSON.parse(raw as string)), ['scope', 'scope_id', 'data', 'revision', 'updated_at', 'meta']);
  assert.ok((raw as string).includes('"html":"\\u003cb\\u003e\\u0026"'));
  assert.equal(await redis.ttl(key), -1);
  assert.equal(await redis.type(key), 'string');

  assert.deepEqual(await store.read(key), { envelope: written, raw });
  assert.equal(await store.read(freshKey()), undefined);
});

test('a stale expectedRevision is a revision conflict carrying the live envelope; nothing is overwritten', async () => {
  const redis = await connect((await shared()).url);
  const store = new ConfigStore(redis);
  const key = freshKey();
  await store.write(key, { data: { v: 1 }, expectedRevision: 0 });
  const second = await store.write(key, { data: { v: 2 }, meta: { published_by: 'bob' }, expectedRevision: 1 });
  const rawBefore = await redis.get(key);

  await assert.rejects(store.write(key, { data: { v: 'stale' }, expectedRevision: 1 }), (e: Error) => {
    assert.ok(e instanceof RevisionConflictError);
    assert.equal(e.expectedRevision, 1);
    assert.deepEqual(e.current, second);
    assert.match(e.message, /^config revision conflict: document was modified by another writer \(cfg:team:\S+ is at revision 2, updated \S+Z, meta published_by=bob; this write started from revision 1\)/);
    return true;
  });
  await assert.rejects(store.write(key, { data: { v: 'create' }, expectedRevision: 0 }), RevisionConflictError);
  assert.equal(await redis.get(key), rawBefore);
  assert.equal((await store.history(key)).length, 2);

  // Expecting a revision of a document that is gone: somebody deleted it since the edit began.
  const gone = freshKey();
  await assert.rejects(store.write(gone, { data: {}, expectedRevision: 3 }), (e: Error) => e instanceof RevisionConflictError && e.current === undefined && /no longer exists/.test(e.message));
  assert.equal(await redis.exists(gone), 0);
});

test('20 concurrent publishers on 20 connections: exactly one wins each revision, no lost update', async () => {
  const url = (await shared()).url;
  const publishers = await Promise.all(Array.from({ length: 20 }, async () => new ConfigStore(await connect(url), { historyLimit: 50 })));
  const key = freshKey();
  const rounds = 10;
  const winners: number[] = [];

  for (let round = 0; round < rounds; round++) {
    const outcomes = await Promise.allSettled(publishers.map((p, i) => p.write(key, { data: { round, writer: i }, expectedRevision: round })));
    const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
    assert.equal(won.length, 1, `round ${round}: ${won.length} winners`);
    for (const o of outcomes) {
      if (o.status === 'rejected') assert.ok(o.reason instanceof RevisionConflictError, `round ${round}: ${o.reason}`);
    }
    const live = await publishers[0].read(key);
    assert.deepEqual(live?.envelope.data, { round, writer: won[0] });
    assert.equal(live?.envelope.revision, round + 1);
    winners.push(won[0]);
  }

  const history = await publishers[0].history(key);
  assert.deepEqual(history.map((h) => h.revision), Array.from({ length: rounds }, (_, i) => rounds - i));
  assert.deepEqual(history.map((h) => h.data), winners.map((writer, round) => ({ round, writer })).reverse());

  // Read-modify-write with retry: every increment lands exactly once.
  const counterKey = freshKey();
  await publishers[0].write(counterKey, { data: { counter: 0 }, expectedRevision: 0 });
  let successes = 0;
  await Promise.all(
    publishers.map(async (p) => {
      for (let done = 0; done < 5; ) {
        const live = (await p.read(counterKey))!.envelope;
        try {
          await p.write(counterKey, { data: { counter: (live.data.counter as number) + 1 }, expectedRevision: live.revision });
          done++;
          successes++;
        } catch (e) {
          if (!(e instanceof RevisionConflictError)) throw e;
        }
      }
    }),
  );
  const final = (await publishers[0].read(counterKey))!.envelope;
  assert.equal(successes, 100);
  assert.equal(final.data.counter, 100);
  assert.equal(final.revision, 101);
});

test('20 stores sharing ONE connection still get exactly one winner (WATCH is per connection)', async () => {
  const redis = await connect((await shared()).url);
  const key = freshKey();
  const stores = Array.from({ length: 20 }, () => new ConfigStore(redis));
  await stores[0].write(key, { data: { n: -1 }, expectedRevision: 0 });
  const outcomes = await Promise.allSettled(stores.map((s, n) => s.write(key, { data: { n }, expectedRevision: 1 })));
  assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1);
  assert.ok(outcomes.every((o) => o.status === 'fulfilled' || o.reason instanceof RevisionConflictError));
  assert.equal((await stores[0].read(key))?.envelope.revision, 2);
  // No WATCH left behind by the losers: after another client touches the key, a plain transaction on this connection still commits.
  await (await connect((await shared()).url)).set(key, 'touched');
  assert.notEqual(await redis.multi().set(`${key}:probe`, '1').exec(), null);
});

test('history is newest first, capped by historyLimit, and absent when historyLimit is 0', async () => {
  const redis = await connect((await shared()).url);
  const capped = new ConfigStore(redis, { historyLimit: 3 });
  const key = freshKey();
  const written: ConfigEnvelope[] = [];
  for (let v = 0; v < 5; v++) written.push(await capped.write(key, { data: { v }, expectedRevision: v }));
  const history = await capped.history(key);
  assert.deepEqual(history, written.slice(2).reverse());
  assert.deepEqual(await redis.lrange(historyKey(key), 0, -1), written.slice(2).reverse().map(encodeEnvelope));

  const off = new ConfigStore(redis, { historyLimit: 0 });
  const quiet = freshKey();
  await off.write(quiet, { data: { v: 1 }, expectedRevision: 0 });
  await off.write(quiet, { data: { v: 2 }, expectedRevision: 1 });
  assert.equal(await redis.exists(historyKey(quiet)), 0);
  assert.deepEqual(await off.history(quiet), []);
  assert.deepEqual(await redis.keys(`*${quiet}*`), [quiet]);
});

test('rollback publishes the old data as a new revision; unknown revisions and stale bases write nothing', async () => {
  const redis = await connect((await shared()).url);
  const store = new ConfigStore(redis);
  const key = freshKey();
  const first = await store.write(key, { data: { pools: { topics: { a: 'p1' } } }, expectedRevision: 0 });
  await store.write(key, { data: { pools: { topics: { a: 'p2' } } }, expectedRevision: 1 });

  const rolled = await store.rollback(key, 1, 2, { rollback_of: '1' });
  assert.equal(rolled.revision, 3);
  assert.deepEqual(rolled.data, first.data);
  assert.deepEqual(rolled.meta, { rollback_of: '1' });
  assert.deepEqual((await store.history(key)).map((h) => h.revision), [3, 2, 1]);

  await assert.rejects(store.rollback(key, 99, 3), (e: Error) => e instanceof ConfigHistoryError && /revision 99 of cfg:team:\S+ is not in the DriftLens history/.test(e.message));
  await assert.rejects(store.rollback(key, 2, 1), RevisionConflictError);
  assert.equal((await store.read(key))?.envelope.revision, 3);
});

test('a live value that is not an envelope: read throws LiveDocumentError, write refuses to overwrite it', async () => {
  const redis = await connect((await shared()).url);
  const store = new ConfigStore(redis);
  for (const [value, reason] of [
    ['scheduler config v1 (hand-edited)', /not valid JSON/],
    ['{"scope":"team","revision":4}', /no "data" object/],
    ['{"scope":"team","data":{},"revision":"4"}', /"revision" is the string "4"/],
  ] as const) {
    const key = freshKey();
    await redis.set(key, value);
    await assert.rejects(store.read(key), (e: Error) => e instanceof LiveDocumentError && e.key === key && reason.test(e.message));
    for (const expectedRevision of [0, 4]) {
      await assert.rejects(store.write(key, { data: { mine: true }, expectedRevision }), (e: Error) => {
        assert.ok(e instanceof LiveDocumentError, String(e));
        assert.match(e.message, reason);
        assert.match(e.message, /nothing was written/);
        return true;
      });
    }
    assert.equal(await redis.get(key), value);
    assert.equal(await redis.exists(historyKey(key)), 0);
  }
});

test('Redis down: a write fails fast with a clear error, and nothing is written after the restart', async () => {
  const server = await started(startRedis());
  const redis = await connect(server.url);
  const store = new ConfigStore(redis);
  const key = freshKey();
  await store.write(key, { data: { v: 1 }, expectedRevision: 0 });

  const closed = once(redis, 'close');
  await server.stop();
  await closed;
  const t0 = Date.now();
  await within(2000, 'a write against a stopped server', assert.rejects(store.write(key, { data: { v: 2 }, expectedRevision: 1 }), (e: Error) => {
    assert.ok(e instanceof RedisUnavailableError, String(e));
    assert.match(e.message, new RegExp(`^cannot publish ${key}: Redis at redis://127\\.0\\.0\\.1:${server.port} is not available \\(.+\\); nothing was written$`));
    return true;
  }));
  assert.ok(Date.now() - t0 < 1000);
  await within(2000, 'a read against a stopped server', assert.rejects(store.read(key), RedisUnavailableError));

  const ready = once(redis, 'ready');
  await server.start();
  await within(10_000, 'reconnecting', ready);
  // The server kept nothing (no persistence); the failed write must not have been replayed either.
  assert.equal(await redis.get(key), null);
  assert.equal((await store.write(key, { data: { v: 3 }, expectedRevision: 0 })).revision, 1);
});

test('connecting to a closed port fails fast with RedisConnectError naming the redacted URL', async () => {
  const port = await freePort();
  const t0 = Date.now();
  await within(3000, 'connecting to a closed port', assert.rejects(connectRedis({ url: `redis://:hunter2-pw@127.0.0.1:${port}/0` }), (e: Error) => {
    assert.ok(e instanceof RedisConnectError, String(e));
    assert.equal(e.message, `cannot reach Redis at redis://:***@127.0.0.1:${port}/0: connection refused — is redis-server running and listening on that host and port?`);
    assert.equal(e.code, 'ECONNREFUSED');
    return true;
  }));
  assert.ok(Date.now() - t0 < 1000);
  await assert.rejects(connectRedis({ url: 'http://127.0.0.1:6379' }), /scheme must be redis:\/\/ or rediss:\/\//);
  // Cluster and Sentinel too, although ioredis only reports "Connection is closed." for them.
  await within(3000, 'a cluster on a closed port', assert.rejects(connectRedis({ url: 'redis://127.0.0.1', cluster: [`127.0.0.1:${port}`] }), {
    message: `cannot reach Redis at redis://127.0.0.1:${port} (cluster): connection refused — is redis-server running and listening on that host and port?`,
  }));
  await within(3000, 'a sentinel on a closed port', assert.rejects(connectRedis({ url: 'redis://127.0.0.1', sentinel: { name: 'mymaster', sentinels: [`127.0.0.1:${port}`] } }), {
    message: `cannot reach Redis at sentinel master "mymaster" via 127.0.0.1:${port}: connection refused — are the sentinels running at those addresses?`,
  }));
});

test('an ACL user connects with username and password; a wrong password fails without echoing it', async () => {
  const server = await shared();
  const admin = await connect(server.url);
  await admin.call('ACL', 'SETUSER', 'alice', 'on', '>s3cret-pw', '~cfg:*', '~driftlens:*', '+@all');
  await admin.call('ACL', 'SETUSER', 'carol', 'on', '>c4rol-pw', '~cfg:*', '+@all');

  const alice = await connect({ url: server.url, username: 'alice', password: 's3cret-pw' });
  assert.equal(await alice.call('ACL', 'WHOAMI'), 'alice');
  const key = freshKey();
  const written = await new ConfigStore(alice).write(key, { data: { by: 'alice' }, expectedRevision: 0 });
  assert.deepEqual((await new ConfigStore(admin).read(key))?.envelope, written);

  for (const endpoint of [
    { url: server.url, username: 'alice', password: 'wr0ng-pw' },
    { url: `redis://alice:wr0ng-pw@127.0.0.1:${server.port}` },
  ]) {
    await within(3000, 'a wrong password', assert.rejects(connectRedis(endpoint), (e: Error) => {
      assert.ok(e instanceof RedisConnectError, String(e));
      assert.match(e.message, /^cannot connect to Redis at redis:\/\/.*127\.0\.0\.1:\d+.*: authentication failed \(WRONGPASS .*\) — check the username and password$/);
      assert.ok(!e.message.includes('wr0ng-pw') && !e.message.includes('s3cret-pw'), e.message);
      return true;
    }));
  }

  // A user limited to Cordum's keys cannot keep DriftLens history: the whole transaction is refused,
  // and with history off the same user publishes fine.
  const carol = await connect({ url: server.url, username: 'carol', password: 'c4rol-pw' });
  const carolKey = freshKey();
  await assert.rejects(new ConfigStore(carol).write(carolKey, { data: {}, expectedRevision: 0 }), /NOPERM/);
  assert.equal(await admin.exists(carolKey), 0);
  assert.equal((await new ConfigStore(carol, { historyLimit: 0 }).write(carolKey, { data: {}, expectedRevision: 0 })).revision, 1);
});

test('rediss:// with a CA file; an untrusted certificate fails with a TLS hint', async (t) => {
  const dir = (await shared()).dir;
  const openssl = (...args: string[]) => spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  const made = openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'tls-key.pem', '-out', 'tls-cert.pem', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  if (made.status !== 0) return t.skip(`openssl unavailable: ${made.stderr}`);
  const port = await freePort();
  const tlsServer = new ServerProcess('redis-tls', port, 'redis-server', [
    '--bind', '127.0.0.1', '--port', '0', '--tls-port', String(port), '--save', '', '--appendonly', 'no',
    '--tls-cert-file', path.join(dir, 'tls-cert.pem'), '--tls-key-file', path.join(dir, 'tls-key.pem'), '--tls-auth-clients', 'no',
  ]);
  servers.push(tlsServer);
  await tlsServer.start();
  const url = `rediss://localhost:${port}`;

  const secure = await connect({ url, tls: { caFile: path.join(dir, 'tls-cert.pem') } });
  assert.equal((await new ConfigStore(secure).write(freshKey(), { data: { tls: true }, expectedRevision: 0 })).revision, 1);

  await within(3000, 'an untrusted certificate', assert.rejects(connectRedis({ url }), (e: Error) => e instanceof RedisConnectError && /TLS handshake failed \(DEPTH_ZERO_SELF_SIGNED_CERT: .*\) — check the CA file/.test(e.message)));
  await within(3000, 'a missing CA file', assert.rejects(connectRedis({ url, tls: { caFile: path.join(dir, 'nope.pem') } }), /cannot read the TLS CA file .*nope\.pem \(ENOENT\)/));
  const plainToTls = await within(8000, 'redis:// against a TLS port', connectRedis({ url: `redis://localhost:${port}` }, { connectTimeoutMs: 2000 }).then(
    () => assert.fail('a plaintext connection to a TLS port succeeded'),
    (e: Error) => e,
  ));
  assert.ok(plainToTls instanceof RedisConnectError, String(plainToTls));
});

test('Redis Cluster: the history list shares the document slot, so the CAS transaction works', async () => {
  const port = await freePort();
  const node = new ServerProcess('redis-cluster', port, 'redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-announce-ip', '127.0.0.1']);
  servers.push(node);
  await node.start();
  const admin = await connect(`redis://127.0.0.1:${port}`);
  await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
  for (const deadline = Date.now() + 10_000; !String(await admin.call('CLUSTER', 'INFO')).includes('cluster_state:ok'); ) {
    // No event announces the cluster state: poll it, bounded.
    if (Date.now() > deadline) assert.fail('the one-node cluster never reached cluster_state:ok');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  const cluster = await connect({ url: 'redis://127.0.0.1', cluster: [`127.0.0.1:${port}`] });
  assert.equal((cluster as unknown as { isCluster: boolean }).isCluster, true);
  const store = new ConfigStore(cluster);
  const key = 'cfg:system:default';
  await store.write(key, { data: { v: 1 }, expectedRevision: 0 });
  await store.write(key, { data: { v: 2 }, expectedRevision: 1 });
  await assert.rejects(store.write(key, { data: { v: 'stale' }, expectedRevision: 1 }), RevisionConflictError);
  assert.deepEqual((await store.history(key)).map((h) => h.data), [{ v: 2 }, { v: 1 }]);
  assert.equal(await admin.call('CLUSTER', 'KEYSLOT', historyKey(key)), await admin.call('CLUSTER', 'KEYSLOT', key));
});

test('Sentinel: connects to the master a sentinel names; an unknown master name fails fast', async () => {
  const master = await started(startRedis());
  const port = await freePort();
  const sentinel = new ServerProcess('redis-sentinel', port, 'redis-server', ['sentinel.conf', '--sentinel']);
  servers.push(sentinel);
  writeFileSync(path.join(sentinel.dir, 'sentinel.conf'), `port ${port}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 ${master.port} 1\n`);
  await sentinel.start();

  const redis = await connect({ url: 'redis://127.0.0.1', sentinel: { name: 'mymaster', sentinels: [`127.0.0.1:${port}`] } });
  const key = freshKey();
  await new ConfigStore(redis).write(key, { data: { via: 'sentinel' }, expectedRevision: 0 });
  const direct = await connect(master.url);
  assert.equal(JSON.parse((await direct.get(key)) as string).data.via, 'sentinel');

  await within(4000, 'an unknown master name', assert.rejects(connectRedis({ url: 'redis://127.0.0.1', sentinel: { name: 'nosuch', sentinels: [`127.0.0.1:${port}`] } }, { connectTimeoutMs: 3000 }), (e: Error) => {
    assert.ok(e instanceof RedisConnectError, String(e));
    assert.match(e.message, /^cannot connect to Redis at sentinel master "nosuch" via 127\.0\.0\.1:\d+: no sentinel knows a master named "nosuch" — check the master name/);
    return true;
  }));
});

test('write validates its input before touching Redis', async () => {
  const redis = await connect((await shared()).url);
  const store = new ConfigStore(redis);
  const key = freshKey();
  await assert.rejects(store.write(key, { data: { bad: Number.NaN } as { [k: string]: JsonValue }, expectedRevision: 0 }), /NaN cannot be written as JSON/);
  await assert.rejects(store.write(key, { data: {}, expectedRevision: -1 }), RangeError);
  await assert.rejects(store.write(key, { data: {}, meta: { who: 7 } as unknown as Record<string, string>, expectedRevision: 0 }), /meta.who must be a string/);
  await assert.rejects(store.write('cfg:nowhere:x', { data: {}, expectedRevision: 0 }), ConfigKeyError);
  assert.equal(await redis.exists(key), 0);
});

test('a commit that times out while the master holds writes can never land later: "reload before publishing again" tells the truth (review of issue 12)', async () => {
  const server = await started(startRedis());
  const key = freshKey();
  const publisherClient = await connectRedis({ url: server.url }, { name: 'driftlens-test', connectTimeoutMs: 3000, commandTimeoutMs: 500 });
  clients.push(publisherClient);
  const reader = await connect(server.url);
  const publisher = new ConfigStore(publisherClient);
  await publisher.write(key, { data: { pools: { topics: { a: 'p' } } }, expectedRevision: 0 });
  // A master that holds writes (a manual failover pauses them up to 10 s): the EXEC waits on the server.
  await reader.call('CLIENT', 'PAUSE', '30000', 'WRITE');
  try {
    await assert.rejects(publisher.write(key, { data: { pools: { topics: { a: 'q' } } }, expectedRevision: 1 }), (err: Error) => err instanceof RedisUnavailableError && /may or may not have been written/.test(err.message));
    assert.equal((await new ConfigStore(reader).read(key))?.envelope.revision, 1, 'the reload the message asks for');
  } finally {
    await reader.call('CLIENT', 'UNPAUSE');
  }
  // Once writes resume, the timed-out transaction must not run (its connection was closed with it).
  await reader.ping();
  assert.equal((await new ConfigStore(reader).read(key))?.envelope.revision, 1, 'the write the publisher was told may have failed landed after the reload');
  // The publisher's client reconnects by itself: publishing from the reloaded revision works.
  if (publisherClient.status !== 'ready') await once(publisherClient, 'ready');
  const envelope = await publisher.write(key, { data: { pools: { topics: { a: 'q' } } }, expectedRevision: 1 });
  assert.equal(envelope.revision, 2);
});
