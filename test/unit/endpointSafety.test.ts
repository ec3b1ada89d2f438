import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import Redis from 'ioredis';
import { ReplicaAgent } from '../../src/agent/replicaAgent';
import { connectRedis, RedisConnectError } from '../../src/live/redisConnection';
import { freePort, ServerProcess, startNats, startRedis } from '../support/servers';
import { ROOT } from './helpers';

/**
 * The CLI never writes to a place the user did not ask for, and never sends a secret from the
 * environment to a server a file in the working tree chose (issue 9, items 1 and 3).
 */

const CLI = path.join(ROOT, 'dist/cli.js');
const KEY = 'cfg:system:default';
const PASSWORD = 'ci-secret-4711';
const POLICY = readFileSync(path.join(ROOT, 'test/fixtures/policy/drift-policy.yaml'), 'utf8');

let redisServer: ServerProcess & { url: string };
// A real NATS: DriftLens connects to it before it writes, so a publish that should land needs one.
let natsServer: ServerProcess & { url: string };
let guarded: ServerProcess & { url: string };
let redis: Redis;
let work: string;

before(async () => {
  [redisServer, natsServer] = await Promise.all([startRedis(), startNats()]);
  const port = await freePort();
  guarded = Object.assign(new ServerProcess('redis-auth', port, 'redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--requirepass', PASSWORD]), {
    url: `redis://127.0.0.1:${port}`,
  });
  await guarded.start();
  redis = new Redis(redisServer.url);
  work = mkdtempSync(path.join(tmpdir(), 'dl-endpoints-'));
  copyFileSync(path.join(ROOT, 'test/fixtures/config/cfg.system.default.yaml'), path.join(work, 'doc.yaml'));
});

after(async () => {
  redis.disconnect();
  await Promise.all([redisServer.dispose(), natsServer.dispose(), guarded.dispose()]);
});

/** Runs the CLI in `cwd` with only the given environment (no terminal, as in CI). */
function driftlens(args: string[], env: Record<string, string> = {}, cwd = work): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Every key of every database the server has: proof that nothing was written anywhere. */
async function allKeys(client: Redis): Promise<string[]> {
  const databases = Number(((await client.config('GET', 'databases')) as string[])[1]);
  const keys: string[] = [];
  const probe = client.duplicate();
  try {
    for (let db = 0; db < databases; db++) {
      await probe.select(db);
      keys.push(...(await probe.keys('*')).map((k) => `${db}:${k}`));
    }
  } finally {
    probe.disconnect();
  }
  return keys;
}

/** A TCP server standing in for a host named by a hostile policy: it only counts who calls. */
async function listener(): Promise<{ url: string; connections: () => number; close: () => Promise<void> }> {
  let count = 0;
  const server = net.createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { url: `redis://127.0.0.1:${port}`, connections: () => count, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function policyWithRedis(dir: string, url: string): void {
  writeFileSync(path.join(dir, 'drift-policy.yaml'), `${POLICY}  connections:\n    redis:\n      url: ${url}\n`);
}

test('a database the server refuses stops publish before anything is written (exit 4), in no database at all', async () => {
  await redis.flushall();
  const result = await driftlens(['publish', 'doc.yaml', '--yes', '--expect-revision', '0', '--redis-url', `${redisServer.url}/99`, '--nats-url', natsServer.url]);
  assert.equal(result.code, 4, result.stderr);
  assert.equal(result.stderr, `driftlens: cannot use database 99 on Redis at ${redisServer.url}/99: the server refused it (ERR DB index is out of range) — check the database number in the URL (the server's "databases" setting limits it)\n`);
  assert.deepEqual(await allKeys(redis), []);
});

test('the agent (and the editor, through the same connect) refuses to start on a database the server refuses', async () => {
  await redis.flushall();
  await assert.rejects(connectRedis({ url: `${redisServer.url}/16` }), (e: unknown) => e instanceof RedisConnectError && e.code === 'EDATABASE' && /cannot use database 16/.test(e.message));
  const agent = new ReplicaAgent({ service: 'scheduler', replicaId: 'db-check', redis: { url: `${redisServer.url}/99` }, env: {}, apply: () => undefined });
  await assert.rejects(agent.start(), /cannot use database 99 on Redis/);
  // A running agent would have registered itself and written its report by now: nothing anywhere.
  assert.deepEqual(await allKeys(redis), []);
});

test('a database the server has is used: the document lands there and not in database 0', async () => {
  await redis.flushall();
  const result = await driftlens(['publish', 'doc.yaml', '--yes', '--expect-revision', '0', '--no-history', '--redis-url', `${redisServer.url}/5`, '--nats-url', natsServer.url]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(await allKeys(redis), [`5:${KEY}`]);
});

test('an invalid Redis URL is a usage error (exit 2) that names the problem, and nothing is written', async () => {
  await redis.flushall();
  const port = new URL(redisServer.url).port;
  const cases: [string, string][] = [
    [`${redisServer.url}/abc`, `"${redisServer.url}/abc" is not a valid Redis URL: the path must be a database number such as /0, not /abc`],
    [`${redisServer.url}/-1`, `"${redisServer.url}/-1" is not a valid Redis URL: the path must be a database number such as /0, not /-1`],
    ['not a url', '"not a url" is not a valid Redis URL: expected redis://host:port/db or rediss://host:port/db'],
    [`http://127.0.0.1:${port}`, `"http://127.0.0.1:${port}" is not a valid Redis URL: the scheme must be redis:// or rediss:// (TLS), not http://`],
    // (the query may carry a password: the message never repeats it)
    [`${redisServer.url}/0?password=x`, `"${redisServer.url}/0?***" is not a valid Redis URL: options after ? or # are not supported; use the DriftLens settings or flags`],
  ];
  for (const [url, message] of cases) {
    const result = await driftlens(['publish', 'doc.yaml', '--yes', '--expect-revision', '0', '--redis-url', url, '--nats-url', 'nats://127.0.0.1:1']);
    assert.equal(result.code, 2, `${url}: ${result.stderr}`);
    assert.equal(result.stderr, `driftlens: ${message}\n`);
  }
  // The other endpoint settings are checked the same way, before anything is contacted.
  const others: [string[], string][] = [
    [['--redis-cluster', 'node-a'], `invalid Redis endpoint redis://node-a (cluster): "node-a" is not host:port`],
    [['--redis-cluster', `127.0.0.1:${port}`, '--redis-url', 'redis://x/3'], `invalid Redis endpoint redis://127.0.0.1:${port} (cluster): a Redis Cluster has only database 0, not 3`],
    [['--nats-url', 'ws://127.0.0.1:1'], 'Unsupported NATS server scheme in ws://127.0.0.1:1: use nats:// or tls:// (websockets are not supported here).'],
  ];
  for (const [flags, message] of others) {
    const result = await driftlens(['publish', 'doc.yaml', '--yes', '--expect-revision', '0', '--redis-url', redisServer.url, ...flags]);
    assert.equal(result.code, 2, `${flags.join(' ')}: ${result.stderr}`);
    assert.equal(result.stderr, `driftlens: ${message}\n`);
  }
  // A password in a bad URL is not repeated.
  const secret = await driftlens(['pull', '--redis-url', `redis://ops:${PASSWORD}@127.0.0.1:${port}/x`]);
  assert.equal(secret.code, 2);
  assert.doesNotMatch(secret.stderr, new RegExp(PASSWORD));
  assert.deepEqual(await allKeys(redis), []);
});

test('a password from the environment is not sent to a Redis server named by ./drift-policy.yaml (exit 2, no connection)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dl-trust-'));
  copyFileSync(path.join(work, 'doc.yaml'), path.join(dir, 'doc.yaml'));
  const hostile = await listener();
  try {
    policyWithRedis(dir, hostile.url);
    const result = await driftlens(['publish', 'doc.yaml', '--yes', '--expect-revision', '0', '--nats-url', 'nats://127.0.0.1:1'], { DRIFTLENS_REDIS_PASSWORD: PASSWORD }, dir);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /^driftlens: DRIFTLENS_REDIS_PASSWORD would go to the Redis server named by drift-policy\.yaml \(connections\.redis: url\)\. .* pass --trust-policy-endpoints if you trust this policy file\.\n$/);
    assert.doesNotMatch(result.stderr, new RegExp(PASSWORD));
    assert.equal(hostile.connections(), 0, 'the policy\'s server was contacted');
  } finally {
    await hostile.close();
  }
});

test('the password goes to a server given by flag or environment, or to the policy\'s with --trust-policy-endpoints', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dl-trust-'));
  copyFileSync(path.join(work, 'doc.yaml'), path.join(dir, 'doc.yaml'));
  const admin = new Redis(guarded.url, { password: PASSWORD });
  try {
    // The policy names the password-protected server: refused without the flag, used with it.
    policyWithRedis(dir, guarded.url);
    const env = { DRIFTLENS_REDIS_PASSWORD: PASSWORD };
    const args = ['publish', 'doc.yaml', '--yes', '--expect-revision', '0', '--no-history', '--nats-url', natsServer.url];
    assert.equal((await driftlens(args, env, dir)).code, 2);
    assert.equal(await admin.exists(KEY), 0);
    const trusted = await driftlens([...args, '--trust-policy-endpoints'], env, dir);
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.equal(await admin.exists(KEY), 1);
    // The environment names the server (the policy's is overridden): no flag needed.
    await admin.del(KEY);
    const explicit = await driftlens(args, { ...env, DRIFTLENS_REDIS_URL: guarded.url }, dir);
    assert.equal(explicit.code, 0, explicit.stderr);
    assert.equal(await admin.exists(KEY), 1);
  } finally {
    admin.disconnect();
  }
});

test('NATS credentials from the environment are not sent to NATS servers named by the policy', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dl-trust-'));
  writeFileSync(path.join(dir, 'drift-policy.yaml'), `${POLICY}  connections:\n    nats:\n      servers: [nats://127.0.0.1:1]\n`);
  const result = await driftlens(['history', '--redis-url', redisServer.url], { DRIFTLENS_NATS_TOKEN: PASSWORD }, dir);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /DRIFTLENS_NATS_TOKEN would go to the NATS servers named by drift-policy\.yaml \(connections\.nats: servers\)/);
});
