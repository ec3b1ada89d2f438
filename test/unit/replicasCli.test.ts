import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { connectRedis } from '../../src/live/redisConnection';
import { replicaIndexKey } from '../../src/live/replicaReports';
import { startNats, startRedis, type ServerProcess } from '../support/servers';
import { ROOT, runCli } from './helpers';

const CLI = path.join(ROOT, 'dist/cli.js');

let redisServer: ServerProcess & { url: string };
let natsServer: ServerProcess & { url: string };
let simulator: ChildProcess | undefined;

before(async () => {
  [redisServer, natsServer] = await Promise.all([startRedis(), startNats()]);
});

after(async () => {
  simulator?.kill('SIGTERM');
  await Promise.all([redisServer.dispose(), natsServer.dispose()]);
});

function env(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', DRIFTLENS_REDIS_URL: redisServer.url, DRIFTLENS_NATS_URL: natsServer.url };
}

const driftlens = (args: string[]) => runCli(args, env());

/** Resolves with the simulator's first output line that matches (its one-line-per-change log). */
function simulatorLine(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; output:\n${buffer}`)), timeoutMs);
    const onData = (d: Buffer) => {
      buffer += d.toString();
      const line = buffer.split('\n').find((l) => pattern.test(l));
      if (line) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(line);
      }
    };
    child.stdout?.on('data', onData);
  });
}

type StatusJson = { revision: number; summary: string; replicas: { member: string; state: string; sections: Record<string, { state: string; trigger?: string; within_budget?: boolean }> }[] };

test('the simulator converges: by notification, by poll where notifications are lost, and status shows it', async () => {
  const first = await driftlens(['publish', 'test/fixtures/config/cfg.system.default.yaml', '--yes', '--no-write-back', '--expect-revision', '0']);
  assert.equal(first.code, 0, first.stderr);
  // The healthy replicas poll hourly, the one losing notifications every second. With a short poll
  // for all, a poll falling between the publish's write and its notification converged a healthy
  // replica by poll (a true label, and a test failing about once in a hundred runs).
  simulator = spawn(
    process.execPath,
    [CLI, 'replicas', '--count', '4', '--poll', '1h', '--heartbeat', '500ms', '--fault', '4:drop', '--fault', '4:poll=1s', '--no-table'],
    { cwd: ROOT, env: env(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await simulatorLine(simulator, /revision 1 {2}4\/4 in sync$/, 'all four replicas in sync on revision 1');

  const changed = path.join(mkdtempSync(path.join(tmpdir(), 'dl-sim-')), 'cfg.system.default.yaml');
  writeFileSync(changed, readFileSync(path.join(ROOT, 'test/fixtures/config/cfg.system.default.yaml'), 'utf8').replace('job.default: default', 'job.default: fraud-detection'));
  // Listen before publishing: the replicas may all converge before the publish command has exited.
  const inSync = simulatorLine(simulator, /revision 2 {2}4\/4 in sync$/, 'all four replicas in sync on revision 2');
  // One of the fixture's two topics rerouted: many-topics, accepted by name.
  const second = await driftlens(['publish', changed, '--yes', '--accept-risk', 'many-topics', '--no-write-back', '--expect-revision', '1']);
  assert.equal(second.code, 0, second.stderr);
  await inSync;

  const status = await driftlens(['status', '--json']);
  assert.equal(status.code, 0, status.stdout);
  const model = JSON.parse(status.stdout) as StatusJson;
  assert.equal(model.summary, '4/4 in sync');
  const triggers = Object.fromEntries(model.replicas.map((r) => [r.member, r.sections.pools.trigger]));
  assert.equal(triggers['scheduler:sim-4'], 'poll', 'the replica losing notifications converged by poll');
  for (const id of ['sim-1', 'sim-2', 'sim-3']) assert.equal(triggers[`scheduler:${id}`], 'notification');

  const table = await driftlens(['status']);
  assert.match(table.stdout, /^cfg:system:default {2}revision 2 {2}published .* ago by /);
  assert.match(table.stdout, /scheduler:sim-4 \(simulated\) +in sync +[0-9a-f]{8} ✓ \S+ poll/);

  // Stopped here, not when the file ends: its replicas register as scheduler:sim-1..4 in Cordum's
  // instance registry, the keys the shard test's replicas use too. Left running, it registered them
  // again after the shards deregistered, and the shard test saw 4 "not reporting" replicas.
  const exited = new Promise((resolve) => simulator!.once('exit', resolve));
  simulator.kill('SIGTERM');
  await exited;
  simulator = undefined;
});

test('bad fault specs are refused with the accepted forms', async () => {
  const result = await driftlens(['replicas', '--count', '2', '--fault', '3:drop']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /--fault "3:drop": replica 3 is not between 1 and 2/);
  const shape = await driftlens(['replicas', '--fault', 'x']);
  assert.match(shape.stderr, /expected <replicas>:<fault>, e\.g\. 2:drop/);
  const poll = await driftlens(['replicas', '--count', '2', '--fault', '2:poll=10ms']);
  assert.equal(poll.code, 2);
  assert.match(poll.stderr, /--fault "2:poll=10ms" poll .*100ms/);
});

/** Resolves with stderr so far once it matches. */
function stderrMatch(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stderr:\n${buffer}`)), timeoutMs);
    const onData = (d: Buffer) => {
      buffer += d.toString();
      if (pattern.test(buffer)) {
        clearTimeout(timer);
        child.stderr?.off('data', onData);
        resolve(buffer);
      }
    };
    child.stderr?.on('data', onData);
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Waits until none of `pids` runs (they are not our children: no exit event to await). */
async function allExited(pids: number[], what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(alive)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: still running ${pids.filter(alive).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('issue 12: replicas in shards, each shard with its own connections; SIGTERM stops them all with a summary, a dead parent stops them too', async () => {
  const key = 'cfg:system:shards';
  const published = await driftlens(['publish', 'test/fixtures/config/cfg.system.default.yaml', '--key', key, '--yes', '--no-write-back', '--expect-revision', '0']);
  assert.equal(published.code, 0, published.stderr);
  const start = () => spawn(process.execPath, [CLI, 'replicas', '--key', key, '--count', '9', '--shards', '3', '--ramp', '1s', '--poll', '5s', '--heartbeat', '500ms', '--no-table'], { cwd: ROOT, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  const shardPids = (stderr: string) => [...(/in 3 shards \(([^)]*)\)/.exec(stderr)?.[1] ?? '').matchAll(/pid (\d+): 3/g)].map((m) => Number(m[1]));

  const first = start();
  const banner = await stderrMatch(first, /9 simulated replicas of scheduler following cfg:system:shards in 3 shards \(pid \d+: 3, pid \d+: 3, pid \d+: 3; 3 Redis clients and 3 NATS connections/, 'the shards to start');
  const pids = shardPids(banner);
  assert.equal(new Set(pids).size, 3, `three shard processes: ${banner}`);
  const status = await driftlens(['status', '--json', '--key', key]);
  assert.equal((JSON.parse(status.stdout) as StatusJson).summary, '9/9 in sync', status.stdout);
  const clients = await runRedis(['CLIENT', 'LIST']);
  for (const n of [1, 2, 3]) assert.match(clients, new RegExp(`name=driftlens-replicas-shard-${n} `), `shard ${n} has its own Redis connection`);

  const exited = new Promise<number | null>((resolve) => first.once('exit', resolve));
  const summary = stderrMatch(first, /total: 9 replicas in 3 shards/, 'the summary of the shards');
  first.kill('SIGTERM');
  const text = await summary;
  assert.equal(await exited, 0);
  for (const [n, range] of [[1, '1-3'], [2, '4-6'], [3, '7-9']]) assert.match(text, new RegExp(`shard ${n} \\(pid \\d+\\): replicas ${range} \\(3\\), 1 Redis client \\+ 1 NATS connections, \\d+ checks`));
  await allExited(pids, 'the shards to stop after SIGTERM');
  const after = JSON.parse((await driftlens(['status', '--json', '--key', key])).stdout) as StatusJson;
  if (after.replicas.length > 0) {
    // Which ones stayed, and as what (a report, a stale index entry, a registration): seen once in CI
    // (4 of 9 stayed) and not reproduced here since, under load included.
    const [index, keys] = await Promise.all([runRedis(['ZRANGE', replicaIndexKey(key), '0', '-1']), runRedis(['KEYS', '*sim-*'])]);
    assert.fail(`stopped replicas deregister; left: ${after.replicas.map((r) => `${r.member} ${r.state}`).join(', ')}; index: ${index}; keys: ${keys}; shard output:\n${text}`);
  }

  // The parent killed outright (no chance to stop them): the shards notice and stop themselves.
  const second = start();
  const orphans = shardPids(await stderrMatch(second, /in 3 shards/, 'the second set of shards'));
  second.kill('SIGKILL');
  await allExited(orphans, 'the shards of a killed parent to stop');
});

async function runRedis(args: string[]): Promise<string> {
  const redis = await connectRedis({ url: redisServer.url });
  try {
    return String(await redis.call(args[0], ...args.slice(1)));
  } finally {
    redis.disconnect();
  }
}
