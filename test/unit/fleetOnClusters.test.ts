import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { NatsCluster, RedisCluster } from '../support/clusters';
import { ROOT, runCli } from './helpers';

/**
 * Issue 12, "beyond one server", for the simulator: `driftlens replicas --count 60 --shards 3`
 * against a 3-master Redis Cluster with replicas and a 3-node NATS cluster (real processes,
 * clusters.ts). A publish sent to one NATS node reaches every simulated replica in every shard,
 * whichever node its shard is on, by notification (the replicas poll every 10 minutes), and the
 * simulator's own watcher and `driftlens status` count all of them in sync.
 */

const CLI = path.join(ROOT, 'dist/cli.js');
const KEY = 'cfg:system:fleet';
const COUNT = 60;
const SHARDS = 3;

let redisCluster: RedisCluster;
let natsCluster: NatsCluster;
let simulator: ChildProcess | undefined;

before(async () => {
  [redisCluster, natsCluster] = await Promise.all([RedisCluster.start(), NatsCluster.start()]);
});

after(async () => {
  if (simulator && simulator.exitCode === null && simulator.signalCode === null) {
    const exited = new Promise((resolve) => simulator!.once('exit', resolve));
    simulator.kill('SIGTERM');
    // Bounded: a simulator that does not stop on SIGTERM must not hold the run (CI once waited 10 minutes here or above).
    const killed = setTimeout(() => simulator?.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(killed);
  }
  await Promise.all([redisCluster?.dispose(), natsCluster?.dispose()]);
});

/** The endpoints as a user sets them: the cluster's seed nodes and NATS servers (`nats` narrows them, as for the publisher). */
function env(nats: string[] = natsCluster.urls): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', DRIFTLENS_REDIS_CLUSTER: redisCluster.seeds.join(','), DRIFTLENS_NATS_URL: nats.join(','), DRIFTLENS_CONFIG_KEY: KEY };
}

/** Resolves with the first output (stdout or stderr) of `child` matching `pattern`; rejects when it exits first or after timeoutMs. */
function outputMatch(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp, what: string, timeoutMs = 45_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const done = (error?: Error, match?: RegExpExecArray) => {
      clearTimeout(timer);
      child[stream]?.off('data', onData);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(match!);
    };
    const onData = (d: Buffer) => {
      buffer += d.toString();
      const match = pattern.exec(buffer);
      if (match) done(undefined, match);
    };
    const onExit = (code: number | null) => done(new Error(`the simulator exited (${code}) before ${what}; ${stream}:\n${buffer}`));
    const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${stream}:\n${buffer}`)), timeoutMs);
    child[stream]?.on('data', onData);
    child.once('exit', onExit);
  });
}

type StatusJson = {
  revision: number;
  summary: string;
  counts: Record<string, number>;
  live: Record<string, string>;
  registry?: { registered: number; complete: boolean };
  replicas: { member: string; state: string; registry?: unknown; reporting_only?: boolean; sections: Record<string, { state: string; hash: string; trigger?: string }> }[];
};

// Every wait is bounded, so that a hang fails here with what it was waiting for, not as the file's 10-minute limit.
test('issue 12: 60 simulated replicas in 3 shards spread over a 3-node NATS cluster, on a Redis Cluster: a publish reaches them all by notification and status counts them all in sync', { timeout: 300_000 }, async () => {
  const fixture = path.join(ROOT, 'test/fixtures/config/cfg.system.default.yaml');
  const first = await runCli(['publish', fixture, '--yes', '--no-write-back', '--expect-revision', '0'], env(), { timeoutMs: 60_000 });
  assert.equal(first.code, 0, first.stderr);

  // Polls every 10 minutes: within this test a replica converges by notification or not at all.
  simulator = spawn(process.execPath, [CLI, 'replicas', '--count', String(COUNT), '--shards', String(SHARDS), '--poll', '10m', '--heartbeat', '2s', '--no-table'], { cwd: ROOT, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  await outputMatch(simulator, 'stderr', new RegExp(`${COUNT} simulated replicas of scheduler following ${KEY} in ${SHARDS} shards \\(pid \\d+: 20, pid \\d+: 20, pid \\d+: 20; 3 Redis clients and 3 NATS connections`), 'the shards to start');
  await outputMatch(simulator, 'stdout', new RegExp(`revision 1 {2}${COUNT}/${COUNT} in sync\\n`), `all ${COUNT} replicas in sync on revision 1`);

  // Each shard is a host of the fleet on its own NATS node: shard i dials server i first.
  const clients = await Promise.all(natsCluster.nodes.map((node) => natsCluster.clients(node)));
  for (let i = 0; i < SHARDS; i++) {
    assert.ok(clients[i].includes(`driftlens-replicas-shard-${i + 1}`), `NATS node ${i} serves shard ${i + 1}: its clients are ${clients[i].join(', ') || 'none'}`);
  }

  // The publisher talks to node 0 only: shards on nodes 1 and 2 hear it through the cluster's routes.
  const changed = path.join(mkdtempSync(path.join(tmpdir(), 'dl-fleet-')), 'cfg.system.default.yaml');
  writeFileSync(changed, readFileSync(fixture, 'utf8').replace('job.default: default', 'job.default: fraud-detection'));
  const converged = outputMatch(simulator, 'stdout', new RegExp(`revision 2 {2}${COUNT}/${COUNT} in sync\\n`), `all ${COUNT} replicas in sync on revision 2`);
  const second = await runCli(['publish', changed, '--yes', '--accept-risk', 'many-topics', '--no-write-back', '--expect-revision', '1'], env([natsCluster.urls[0]]), { timeoutMs: 60_000 });
  assert.equal(second.code, 0, second.stderr);
  await converged;

  const status = await runCli(['status', '--json'], env(), { timeoutMs: 60_000 });
  const model = JSON.parse(status.stdout) as StatusJson;
  assert.equal(status.code, 0, `status exits 0 when every replica is in sync: ${model.summary}`);
  assert.equal(model.revision, 2);
  assert.equal(model.summary, `${COUNT}/${COUNT} in sync`);
  assert.equal(model.replicas.length, COUNT);
  assert.deepEqual(model.registry && { registered: model.registry.registered, complete: model.registry.complete }, { registered: COUNT, complete: true }, 'every simulated replica is registered, read from all three masters');
  const late = model.replicas.filter((r) => r.state !== 'in-sync' || r.sections.pools.hash !== model.live.pools || r.sections.pools.trigger !== 'notification' || r.reporting_only);
  assert.deepEqual(late.map((r) => `${r.member} ${r.state} ${r.sections.pools.trigger}`), [], 'every replica runs the new pools hash, applied on the notification, and is registered');
});
