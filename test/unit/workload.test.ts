import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonValue } from '../../src/core/canonical';
import { routingOf, Workload } from '../../src/simulator/workload';
import { SchedulerMetrics } from '../../src/simulator/schedulerMetrics';

const pools = (status: Record<string, string | undefined>, topics: Record<string, string | string[]>): JsonValue => ({
  topics,
  pools: Object.fromEntries(Object.entries(status).map(([name, s]): [string, JsonValue] => [name, s ? { requires: [], status: s } : { requires: [] }])),
});

test('routing follows the pools a replica applied: first active pool, spillover, draining, unroutable', () => {
  const p = pools({ a: undefined, b: 'draining', c: 'inactive' }, { t1: 'a', t2: ['b', 'a'], t3: 'b', t4: 'c', t5: 'missing' });
  assert.deepEqual(['t1', 't2', 't3', 't4', 't5'].map((t) => routingOf(p, t)), ['first', 'spillover', 'draining', 'unroutable', 'unroutable']);
});

test('draining the only pool of a topic makes dispatch latency climb; an inactive one grows stale jobs; a tiny timeout replays', () => {
  const run = (config: JsonValue, timeouts: JsonValue | undefined, ticks = 5) => {
    const w = new Workload({ jobsPerTick: 10, staleAfterMs: 1500, random: () => 0.5 });
    let last;
    const latencies: number[] = [];
    let replays = 0;
    for (let i = 0; i < ticks; i++) {
      last = w.tick(i * 1000, config, timeouts);
      latencies.push(...last.dispatched.map((d) => d.latencySeconds));
      for (const n of last.orphanReplays.values()) replays += n;
    }
    return { max: Math.max(...latencies), stale: last!.stale.pending, replays };
  };
  const healthy = run(pools({ a: undefined }, { t: 'a' }), { reconciler: { dispatch_timeout_seconds: 300 } });
  assert.ok(healthy.max < 0.1, `healthy: ${healthy.max}`);
  assert.equal(healthy.stale, 0);
  const draining = run(pools({ a: 'draining' }, { t: 'a' }), { reconciler: { dispatch_timeout_seconds: 300 } });
  assert.ok(draining.max >= 2, `draining: ${draining.max}`);
  assert.equal(draining.replays, 0);
  const inactive = run(pools({ a: 'inactive' }, { t: 'a' }), undefined);
  assert.equal(inactive.stale, 30, 'jobs of ticks 0-2 have waited longer than 1.5 s at tick 4');
  const tiny = run(pools({ a: 'draining' }, { t: 'a' }), { reconciler: { dispatch_timeout_seconds: 1 } });
  assert.equal(tiny.replays, 50, 'every job waits longer than a 1 s dispatch timeout');
});

test('the simulator exposes Cordum\'s four scheduler metrics in Prometheus\' text format', async () => {
  const metrics = new SchedulerMetrics();
  const w = new Workload({ jobsPerTick: 4, staleAfterMs: 0, random: () => 0.5 });
  metrics.record('sim-1', w.tick(0, pools({ a: 'inactive', b: undefined }, { t1: 'a', t2: 'b' }), { reconciler: { dispatch_timeout_seconds: 0 } }));
  const served = await metrics.serve();
  try {
    const text = await (await fetch(`http://127.0.0.1:${served.port}/metrics`)).text();
    assert.match(text, /^cordum_scheduler_dispatch_latency_seconds_bucket\{le="0\.05",replica="sim-1"\} 2$/m);
    assert.match(text, /^cordum_scheduler_job_lock_wait_seconds_count\{replica="sim-1"\} 4$/m);
    assert.match(text, /^cordum_scheduler_stale_jobs\{replica="sim-1",state="pending"\} 0$/m);
    assert.match(text, /^cordum_scheduler_orphan_replayed_total\{replica="sim-1",topic="t2"\} 2$/m);
  } finally {
    await served.close();
  }
});
