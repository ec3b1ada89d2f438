/**
 * The Verify stage against a real Prometheus (Debian's package), on this machine:
 *
 * 1. Time to verdict: a revision is published with its degradation already in the metrics (the
 *    exporter's gauge moves at the publish instant); the verifier measures it with initial_delay,
 *    interval, failure_limit and Prometheus' scrape interval as below. The bound is
 *    initial_delay + interval × (failure_limit + 1) + one scrape interval; each run's time from the
 *    degradation to the stored `failed` verdict is compared with it.
 * 2. Query round trip: Prometheus holding the series of 1,000 simulated replicas (Cordum's four
 *    scheduler metrics from the simulator's workload model, ~28 series per replica), the four
 *    checks of examples/verify.drift-policy.yaml timed through DriftLens' own client.
 *
 *   npm run bench:verify
 */
import { performance } from 'node:perf_hooks';
import { ConfigStore } from '../src/live/configStore';
import { instantQuery } from '../src/live/prometheus';
import { closeRedis, connectRedis } from '../src/live/redisConnection';
import { verifyRevision } from '../src/live/verifier';
import { VerificationStore } from '../src/live/verificationStore';
import type { VerifyPolicy } from '../src/core/verification';
import { SchedulerMetrics } from '../src/simulator/schedulerMetrics';
import { Workload } from '../src/simulator/workload';
import { startExporter, startPrometheus } from '../test/support/prometheus';
import { startRedis } from '../test/support/servers';
import { endRun, runLine, saveRun, type SavedRun } from './results';
import { announceRun, median, ms, quantile, stopOnSignals, version } from './stats';

const RUNS = 7;
const SCRAPE_MS = 1000;
const POLICY = { initialDelayMs: 2000, intervalMs: 1000, count: 10, failureLimit: 1 };
const REPLICAS = 1000;
const QUERIES_PER_CHECK = 100;
const SEED_QUERIES: Record<string, string> = {
  dispatch_latency_p99: 'histogram_quantile(0.99, sum by (le) (rate(cordum_scheduler_dispatch_latency_seconds_bucket[30s])))',
  job_lock_wait_p99: 'histogram_quantile(0.99, sum by (le) (rate(cordum_scheduler_job_lock_wait_seconds_bucket[30s])))',
  stale_jobs: 'sum(cordum_scheduler_stale_jobs)',
  orphan_replays: 'sum(rate(cordum_scheduler_orphan_replayed_total[30s])) or vector(0)',
};

export interface VerifyBenchResults {
  scrapeMs: number;
  policy: typeof POLICY;
  budgetMs: number;
  /** Degradation (= publish instant) to the stored failed verdict, per run. */
  toVerdictMs: number[];
  /** Measurements each failing run took. */
  measurements: number[];
  replicas: number;
  headSeries: number;
  scrapeBytes: number;
  /** Round trip per query of the four checks, ms. */
  roundTrip: Record<string, number[]>;
  prometheus: string;
}

async function timeToVerdict(redisUrl: string, results: VerifyBenchResults): Promise<void> {
  const exporter = await startExporter();
  exporter.set('cordum_scheduler_dispatch_latency_p99', 0.1);
  const prometheus = await startPrometheus([exporter.target], `${SCRAPE_MS}ms`);
  const redis = await connectRedis({ url: redisUrl }, { name: 'bench-verify' });
  try {
    await prometheus.scraped();
    const store = new ConfigStore(redis, { historyLimit: 0 });
    const policy: VerifyPolicy = {
      prometheus: prometheus.url,
      initialDelayMs: POLICY.initialDelayMs,
      intervalMs: POLICY.intervalMs,
      count: POLICY.count,
      onFailure: 'notify',
      checks: [{ name: 'dispatch_latency_p99', query: 'max(cordum_scheduler_dispatch_latency_p99)', max: 0.5, failureLimit: POLICY.failureLimit }],
    };
    for (let run = 0; run < RUNS; run++) {
      const key = `cfg:team:bench-verify-${process.pid}-${run}`;
      exporter.set('cordum_scheduler_dispatch_latency_p99', 0.1);
      await prometheus.answers('max(cordum_scheduler_dispatch_latency_p99)', '0.1');
      // The bad change and its effect arrive together: the clock starts at the publish.
      const envelope = await store.write(key, { data: { pools: { topics: { t: 'p' } } }, expectedRevision: 0 });
      const degradedAt = performance.now();
      exporter.set('cordum_scheduler_dispatch_latency_p99', 2);
      const record = await verifyRevision({ redis: new VerificationStore(redis), config: store, prometheus: { url: prometheus.url }, policy, key, revision: envelope.revision, publishedAtMs: Date.now(), verifier: 'bench' });
      if (record.state !== 'failed') throw new Error(`run ${run}: expected a failed verdict, got ${record.state} (${record.reason})`);
      results.toVerdictMs.push(performance.now() - degradedAt);
      results.measurements.push(record.checks[0].measurements.length);
      console.log(`  run ${run + 1}/${RUNS}: failed after ${ms(results.toVerdictMs[run])} (${results.measurements[run]} measurements; budget ${ms(results.budgetMs)})`);
    }
  } finally {
    await closeRedis(redis);
    await Promise.all([prometheus.dispose(), exporter.close()]);
  }
}

async function roundTrip(results: VerifyBenchResults): Promise<void> {
  const metrics = new SchedulerMetrics();
  const workloads = Array.from({ length: REPLICAS }, () => new Workload({ jobsPerTick: 5, staleAfterMs: 5000 }));
  const pools = { topics: { 'job.a': 'a', 'job.b': ['b', 'a'], 'job.c': 'c' }, pools: { a: { requires: [] }, b: { requires: [], status: 'draining' }, c: { requires: [] } } };
  const timeouts = { reconciler: { dispatch_timeout_seconds: 1 } };
  const tick = () => workloads.forEach((w, i) => metrics.record(`sim-${i + 1}`, w.tick(Date.now(), pools, timeouts)));
  tick();
  const ticker = setInterval(tick, 1000);
  const served = await metrics.serve();
  const prometheus = await startPrometheus([`127.0.0.1:${served.port}`], '2s');
  try {
    results.scrapeBytes = Buffer.byteLength(await metrics.registry.metrics());
    await prometheus.scraped();
    // Rates over [30s] need two samples of every series: wait for a few scrapes to land.
    // Prometheus' own count of the series in its head block (the TSDB status API).
    const series = async () => ((await (await fetch(`${prometheus.url}/api/v1/status/tsdb`)).json()) as { data: { headStats: { numSeries: number } } }).data.headStats.numSeries;
    const scrapes = async () => Number(((await instantQuery({ url: prometheus.url }, 'count_over_time(up{job="driftlens-test"}[1m])')) as { values: number[] }).values[0]);
    while ((await scrapes()) < 4) await new Promise((r) => setTimeout(r, 500)); // Prometheus ingest has no event
    results.headSeries = await series();
    for (const [name, query] of Object.entries(SEED_QUERIES)) {
      const times: number[] = [];
      for (let i = 0; i < QUERIES_PER_CHECK; i++) {
        const t0 = performance.now();
        const answer = await instantQuery({ url: prometheus.url }, query);
        times.push(performance.now() - t0);
        if (!answer.ok || answer.values.length !== 1) throw new Error(`${name}: ${JSON.stringify(answer)}`);
      }
      results.roundTrip[name] = times;
      console.log(`  ${name}: p50 ${ms(median(times))}, p99 ${ms(quantile(times, 0.99))} over ${results.headSeries} series`);
    }
  } finally {
    clearInterval(ticker);
    await Promise.all([prometheus.dispose(), served.close()]);
  }
}

async function main(): Promise<void> {
  const { machineLine, servers, loadBefore } = announceRun();
  const started = performance.now();
  const running = new Set<{ dispose(): Promise<void> }>();
  const stopAll = stopOnSignals(running);
  const results: VerifyBenchResults = {
    scrapeMs: SCRAPE_MS,
    policy: POLICY,
    budgetMs: POLICY.initialDelayMs + POLICY.intervalMs * (POLICY.failureLimit + 1) + SCRAPE_MS,
    toVerdictMs: [],
    measurements: [],
    replicas: REPLICAS,
    headSeries: NaN,
    scrapeBytes: NaN,
    roundTrip: {},
    prometheus: version('prometheus').split('\n')[0].replace(/\s*\(branch:.*$/, ''),
  };
  try {
    const redis = await startRedis();
    running.add(redis);
    console.log(`time to verdict (${RUNS} runs):`);
    await timeToVerdict(redis.url, results);
    console.log(`query round trip, ${REPLICAS} replicas' series:`);
    await roundTrip(results);
  } finally {
    await stopAll();
  }
  const run = endRun<VerifyBenchResults>('verify', 'npm run bench:verify', { machineLine, servers: `${servers}; ${results.prometheus}`, loadBefore }, started, results);
  for (const [id, text] of Object.entries(renderVerify(saveRun(run)))) console.log(`\n<!-- ${id} -->\n${text}`);
}

/** The sections of BENCHMARKS.md generated from a saved run (see bench/report.ts). */
export function renderVerify(run: SavedRun<VerifyBenchResults>): Record<string, string> {
  const r = run.results;
  const within = r.toVerdictMs.filter((t) => t <= r.budgetMs).length;
  const lines = [runLine(run), ''];
  lines.push(
    `Time from the degradation to the \`failed\` verdict: initial_delay ${ms(r.policy.initialDelayMs)}, interval ${ms(r.policy.intervalMs)}, failure_limit ${r.policy.failureLimit}, scrape interval ${ms(r.scrapeMs)}; bound initial_delay + interval × (failure_limit + 1) + scrape = ${ms(r.budgetMs)}.`,
  );
  lines.push('');
  lines.push('| runs | p50 | max | within the bound | measurements taken (of count ' + r.policy.count + ') |');
  lines.push('|---|---|---|---|---|');
  lines.push(`| ${r.toVerdictMs.length} | ${ms(median(r.toVerdictMs))} | ${ms(Math.max(...r.toVerdictMs))} | ${within}/${r.toVerdictMs.length} ${within === r.toVerdictMs.length ? '✓' : '✗'} | ${[...new Set(r.measurements)].join(', ')} |`);
  lines.push('');
  lines.push(`Query round trip through DriftLens' client, Prometheus holding ${r.replicas} simulated replicas' series (${r.headSeries} head series; one scrape of the simulator is ${(r.scrapeBytes / 1024 / 1024).toFixed(1)} MiB), ${QUERIES_PER_CHECK} queries per check in a row:`);
  lines.push('');
  lines.push('| check (examples/verify.drift-policy.yaml, [30s] windows) | p50 | p99 | max |');
  lines.push('|---|---|---|---|');
  for (const [name, times] of Object.entries(r.roundTrip)) lines.push(`| ${name} | ${ms(median(times))} | ${ms(quantile(times, 0.99))} | ${ms(Math.max(...times))} |`);
  return { 'verify-table': lines.join('\n') };
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
