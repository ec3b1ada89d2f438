import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { startPrometheus, type PrometheusServer } from '../support/prometheus';
import { startNats, startRedis, type ServerProcess } from '../support/servers';
import { ROOT, runCli } from './helpers';

/**
 * The simulator's /metrics scraped by a real Prometheus (Debian's package): the agents' config
 * metrics show which hash each replica applied, and the workload model turns a bad change (the
 * only pool of a topic draining) into a dispatch latency p99 a Verify check can catch.
 */

const CLI = path.join(ROOT, 'dist/cli.js');
const FIXTURE = path.join(ROOT, 'test/fixtures/config/cfg.system.default.yaml');
const P99 = 'histogram_quantile(0.99, sum by (le) (rate(cordum_scheduler_dispatch_latency_seconds_bucket[30s])))';
const BY_HASH = 'count by (hash) (driftlens_config_section_info{section="pools"})';

let redisServer: ServerProcess & { url: string };
let natsServer: ServerProcess & { url: string };
let prometheus: PrometheusServer | undefined;
let simulator: ChildProcess | undefined;

before(async () => {
  [redisServer, natsServer] = await Promise.all([startRedis(), startNats()]);
});

after(async () => {
  if (simulator && simulator.exitCode === null) {
    const exited = new Promise((resolve) => simulator?.once('exit', resolve));
    simulator.kill('SIGTERM');
    await exited;
  }
  await Promise.all([redisServer.dispose(), natsServer.dispose(), prometheus?.dispose()]);
});

const env = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH ?? '', DRIFTLENS_REDIS_URL: redisServer.url, DRIFTLENS_NATS_URL: natsServer.url });

const driftlens = (args: string[]) => runCli(args, env());

function outputLine(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 20_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; output:\n${buffer}`)), timeoutMs);
    const onData = (d: Buffer) => {
      buffer += d.toString();
      for (const line of buffer.split('\n')) {
        const match = pattern.exec(line);
        if (!match) continue;
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        return resolve(match);
      }
    };
    child.stdout?.on('data', onData);
  });
}

type Sample = { metric: Record<string, string>; value: [number, string] };

async function query(q: string): Promise<Sample[]> {
  const response = await fetch(`${prometheus?.url}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await response.json()) as { status: string; error?: string; data: { result: Sample[] } };
  assert.equal(body.status, 'success', body.error);
  return body.data.result;
}

/** Bounded poll of Prometheus: ingestion has no event to await. Returns the result that satisfied `ok`. */
async function until(q: string, ok: (r: Sample[]) => boolean, what: string, timeoutMs = 45_000): Promise<Sample[]> {
  const deadline = Date.now() + timeoutMs;
  let last: Sample[] = [];
  for (;;) {
    last = await query(q);
    if (ok(last)) return last;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last ${q} = ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const single = (r: Sample[]) => (r.length === 1 ? Number(r[0].value[1]) : NaN);

test('Prometheus sees one pools hash on 3 replicas; draining the only pool of a topic splits the hashes (a lost notification keeps the old one) and sends dispatch latency p99 above 1 s', async () => {
  const first = await driftlens(['publish', FIXTURE, '--yes', '--no-write-back', '--expect-revision', '0']);
  assert.equal(first.code, 0, first.stderr);
  // sim-3 loses every notification and polls once a minute: it keeps running the old pools.
  simulator = spawn(process.execPath, [CLI, 'replicas', '--count', '3', '--metrics-port', '0', '--poll', '60s', '--heartbeat', '500ms', '--fault', '3:drop', '--no-table'], { cwd: ROOT, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  const [, metricsPort] = await outputLine(simulator, /^metrics: http:\/\/127\.0\.0\.1:(\d+)\/metrics$/, 'the metrics URL');
  prometheus = await startPrometheus([`127.0.0.1:${metricsPort}`], '250ms');
  await prometheus.scraped();

  const agreed = await until(BY_HASH, (r) => r.length === 1 && r[0].value[1] === '3', 'one pools hash on 3 replicas');
  const oldHash = agreed[0].metric.hash;
  assert.match(oldHash, /^[0-9a-f]{64}$/);
  const applies = await query('sum(driftlens_config_applies_total{section="pools",trigger="startup"})');
  assert.equal(single(applies), 3, 'each replica applied pools once, at startup');
  // Healthy: every topic is served by its first pool (20-80 ms).
  const healthy = await until(P99, (r) => Number.isFinite(single(r)), 'a dispatch latency p99');
  assert.ok(single(healthy) < 0.1, `p99 before the change: ${single(healthy)} s`);

  const bad = path.join(mkdtempSync(path.join(tmpdir(), 'dl-simmetrics-')), 'cfg.system.default.yaml');
  const text = readFileSync(FIXTURE, 'utf8').replace('      default:\n        requires: []\n', '      default:\n        requires: []\n        status: draining\n');
  assert.notEqual(text, readFileSync(FIXTURE, 'utf8'), 'the fixture has a default pool to drain');
  writeFileSync(bad, text);
  const second = await driftlens(['publish', bad, '--yes', '--accept-risk', 'topic-without-active-pool', '--no-write-back', '--expect-revision', '1']);
  assert.equal(second.code, 0, second.stderr);

  // Two hashes: the two replicas that heard the notification, and sim-3 still on the old one.
  const split = await until(BY_HASH, (r) => r.length === 2, 'two pools hashes');
  const counts = Object.fromEntries(split.map((s) => [s.metric.hash, s.value[1]]));
  assert.equal(counts[oldHash], '1', `the drifted replica keeps the old hash series: ${JSON.stringify(counts)}`);
  assert.equal(Object.values(counts).sort().join(','), '1,2');
  const drifted = await query(`driftlens_config_section_info{section="pools",hash="${oldHash}"}`);
  assert.equal(drifted.length, 1, 'a replica exports one series per section: the old hash series of the others is gone');
  assert.equal(drifted[0].metric.replica, 'sim-3');
  assert.equal(drifted[0].metric.revision, '1');

  // job.default's only pool drains: its jobs wait 2-8 s, half of all jobs on two replicas.
  await until(P99, (r) => single(r) > 1, 'dispatch latency p99 above 1 s');
});
