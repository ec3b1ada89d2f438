/**
 * Replica watch benchmark: the drift view's load with 1,000 replicas each reporting once a second,
 * against a real local redis-server and nats-server.
 *
 * The measured process runs a `DriftWatcher` (what the VS Code drift view and `driftlens status
 * --watch` run): it subscribes to sys.config.status, re-reads the durable reports every 5 s, and
 * emits the drift model, coalesced to one recomputation per 200 ms plus a 1 s tick. A separate
 * child process plays 1,000 replicas: it publishes synthetic version-1 reports with
 * `publishReplicaReport` (durable MULTI SET + ZADD, then the live NATS event), 1,000 reports/s
 * spread evenly (replica i reports at i ms past every second). Replicas switch state every 10 s,
 * staggered (about 100 state changes a second): in sync, on the previous hash (converging, then
 * drifted once the 30 s budget has passed), on a hash of unknown origin, or rejected (apply-failed
 * for the live hash).
 *
 * Measured in the watcher's process over 30 s, after an 8 s warm-up:
 *   - CPU (process.cpuUsage, user + system) as % of one core, and event-loop utilisation;
 *   - model emits per second;
 *   - report → model latency: each report's reported_at is its send time (wall clock, ms); on each
 *     model emit, for every replica whose last report time moved, emit time − reported_at;
 *   - computeDriftModel's own time per emit (the module export is wrapped to time each call).
 * This is the watcher and the model in Node (the extension host runs the same code), not VS Code's
 * tree rendering.
 *
 * Run: `npm run compile-tests && node out/bench/replicaWatch.bench.js`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type { NatsConnection } from 'nats';
import { analyzeDocument } from '../src/core/analysis';
import type { JsonValue } from '../src/core/canonical';
import * as convergence from '../src/core/convergence';
import type { DriftModel, DriftState } from '../src/core/convergence';
import { DEFAULT_POLICY } from '../src/core/policy';
import { computeSectionHash } from '../src/core/sectionHash';
import { ConfigStore } from '../src/live/configStore';
import { DriftWatcher, observationOf } from '../src/live/driftWatcher';
import { nowRfc3339Nano } from '../src/live/envelope';
import { connectNats } from '../src/live/natsConnection';
import { DEFAULT_CONFIG_CHANGED_SUBJECT } from '../src/live/notifier';
import { closeRedis, connectRedis } from '../src/live/redisConnection';
import { decodeReplicaReport, publishReplicaReport, readReplicaReports, REPLICA_STATUS_VERSION, type ReplicaReport } from '../src/live/replicaReports';
import { startNats, startRedis, type ServerProcess } from '../test/support/servers';
import { endRun, runLine, saveRun, type SavedRun } from './results';
import { announceRun, children, loadavg, MB, median, ms, quantile, stopOnSignals } from './stats';

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'cordum');
const KEY = 'cfg:system:bench-watch';
const SERVICE = 'scheduler';
const REPLICAS = 1000;
/** Each replica reports once per this period; replica i at i * PERIOD / REPLICAS into it. */
const PERIOD_MS = 1000;
/** A replica changes state every this many of its reports (staggered across replicas). */
const STATE_EVERY = 10;
const WARMUP_MS = 8000;
const MEASURE_MS = 30_000;
const CHILD_TIMEOUT_MS = 120_000;

// ---------------------------------------------------------------------------------------------
// Shared setup: the live document, its previous revision, and the hashes replicas report

type DataMap = { [key: string]: JsonValue };

interface Hashes {
  /** pools of the live revision (2), of the previous one (1), timeouts of both. */
  live: string;
  previous: string;
  timeouts: string;
}

function documents(): [DataMap, DataMap] {
  const pools = analyzeDocument(readFileSync(path.join(FIXTURES, 'pools.yaml'), 'utf8'), 'yaml', 'pools').data as { pools: DataMap; topics: DataMap };
  const timeouts = analyzeDocument(readFileSync(path.join(FIXTURES, 'timeouts.yaml'), 'utf8'), 'yaml', 'timeouts').data as DataMap;
  const renamed = (name: string): DataMap => {
    const copy = JSON.parse(JSON.stringify(pools)) as { pools: DataMap; topics: DataMap };
    const renamedPools: DataMap = {};
    for (const [k, v] of Object.entries(copy.pools)) renamedPools[k === 'demo-mock-bank' ? name : k] = v;
    copy.pools = renamedPools;
    for (const [t, p] of Object.entries(copy.topics)) if (p === 'demo-mock-bank') copy.topics[t] = name;
    return { pools: copy as unknown as DataMap, timeouts };
  };
  return [renamed('demo-mock-bank-r1'), renamed('demo-mock-bank-r2')];
}

function hashesOf(previous: DataMap, live: DataMap): Hashes {
  const h = (section: 'pools' | 'timeouts', data: DataMap) => {
    const hash = computeSectionHash(section, data[section]).hash;
    if (!hash) throw new Error(`${section} has no hash`);
    return hash;
  };
  return { live: h('pools', live), previous: h('pools', previous), timeouts: h('timeouts', live) };
}

// ---------------------------------------------------------------------------------------------
// The replicas (publisher child)

type SimState = 'in-sync' | 'previous' | 'unknown' | 'rejected';
/** Seven in ten slots in sync, one each of the others. */
const STATE_CYCLE: SimState[] = ['in-sync', 'in-sync', 'in-sync', 'previous', 'in-sync', 'in-sync', 'unknown', 'in-sync', 'in-sync', 'rejected'];

interface PublisherStats {
  sent: number;
  failed: number;
  /** How late sends were against their schedule, ms. */
  lagP50: number;
  lagP99: number;
  lagMax: number;
  /** Publisher process CPU as a share of one core over its sending time. */
  cpuShare: number;
  seconds: number;
}

async function publisher(redisUrl: string, natsUrl: string, hashes: Hashes): Promise<void> {
  const redis = await connectRedis({ url: redisUrl }, { name: 'driftlens-bench-replicas' });
  const nats: NatsConnection = await connectNats({ servers: [natsUrl] }, { name: 'driftlens-bench-replicas' });
  const startedAt = nowRfc3339Nano();
  const unknown = Array.from({ length: REPLICAS }, () => randomBytes(32).toString('hex'));
  const current: { state: SimState | undefined; appliedAt: string }[] = Array.from({ length: REPLICAS }, () => ({ state: undefined, appliedAt: startedAt }));
  const counts = new Array<number>(REPLICAS).fill(0);

  const report = (i: number): ReplicaReport => {
    const k = counts[i]++;
    // Replica i starts at cycle slot i % 10 and moves on every STATE_EVERY reports; the moment it moves
    // depends on i / 10 (not on i % 10), so at any time each slot holds a tenth of the replicas.
    const state = STATE_CYCLE[(i + Math.floor((k + (Math.floor(i / STATE_CYCLE.length) % STATE_EVERY)) / STATE_EVERY)) % STATE_CYCLE.length];
    const now = nowRfc3339Nano();
    const slot = current[i];
    if (slot.state !== state) {
      slot.state = state;
      slot.appliedAt = now;
    }
    const poolsHash = state === 'in-sync' ? hashes.live : state === 'unknown' ? unknown[i] : hashes.previous;
    return {
      v: REPLICA_STATUS_VERSION,
      replicaId: `sim-${String(i + 1).padStart(4, '0')}`,
      service: SERVICE,
      configKey: KEY,
      revision: state === 'in-sync' ? 2 : 1,
      reason: k === 0 ? 'startup' : state === 'rejected' ? 'error' : 'heartbeat',
      reportedAt: now,
      startedAt,
      pollIntervalMs: 30_000,
      lastCheckAt: now,
      lastCheckTrigger: 'notification',
      sections: {
        pools: { hash: poolsHash, appliedAt: slot.appliedAt, trigger: 'notification', revision: state === 'in-sync' ? 2 : 1 },
        timeouts: { hash: hashes.timeouts, appliedAt: startedAt, trigger: 'startup', revision: 1 },
      },
      lastError: state === 'rejected' ? { at: now, message: 'apply refused (bench)', kind: 'apply-failed', section: 'pools', hash: hashes.live } : null,
    };
  };

  let stopping = false;
  let sent = 0;
  let failed = 0;
  const lags: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0; // the index of the next send overall: replica next % REPLICAS, due at t0 + next * PERIOD / REPLICAS
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    if (stopping) return;
    const now = performance.now();
    while (t0 + (next * PERIOD_MS) / REPLICAS <= now) {
      lags.push(now - (t0 + (next * PERIOD_MS) / REPLICAS));
      const i = next % REPLICAS;
      next++;
      // Not awaited: the Redis connection pipelines, as many replicas' reports would arrive at once.
      publishReplicaReport(redis, nats, report(i), 15_000).then(
        () => void sent++,
        () => void failed++,
      );
    }
    timer = setTimeout(tick, Math.max(0, t0 + (next * PERIOD_MS) / REPLICAS - performance.now()));
  };
  tick();
  process.send!({ type: 'running' });

  await new Promise<void>((resolve) => process.on('message', (m: { type?: string }) => m.type === 'stop' && resolve()));
  stopping = true;
  clearTimeout(timer);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await nats.flush().catch(() => undefined);
  const stats: PublisherStats = {
    sent,
    failed,
    lagP50: median(lags),
    lagP99: quantile(lags, 0.99),
    lagMax: lags.reduce((m, v) => Math.max(m, v), -Infinity),
    cpuShare: (cpu.user + cpu.system) / 1000 / (seconds * 1000),
    seconds,
  };
  await nats.close().catch(() => undefined);
  await closeRedis(redis);
  process.send!({ type: 'stats', stats }, () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// The watcher (measured child)

interface WatchResult {
  seconds: number;
  cpuShare: number;
  elu: number;
  emits: number;
  events: number;
  refreshes: number;
  /** report → model latency samples, ms. */
  latency: number[];
  /** computeDriftModel time per call, ms: wall, and process CPU (user + system, all threads). */
  compute: number[];
  computeCpu: number[];
  computeCalls: number;
  /** The bench's own onModel bookkeeping per emit, ms (inside the measured CPU). */
  bookkeeping: number[];
  replicasInModel: number[];
  /** Replicas whose state differed from the previous model, per emit. */
  stateChanges: number[];
  lastSummary: string;
  countsSeen: Partial<Record<DriftState, number>>;
  /** Off the clock, after the window: one full readReplicaReports (Redis included) and decode + observationOf per report. */
  readAllMs: number;
  decodePerReportUs: number;
  rssEnd: number;
  heapEnd: number;
  errors: string[];
}

async function watcher(redisUrl: string, natsUrl: string): Promise<void> {
  const redis = await connectRedis({ url: redisUrl }, { name: 'driftlens-bench-watcher' });
  const nats = await connectNats({ servers: [natsUrl] }, { name: 'driftlens-bench-watcher' });

  // Time computeDriftModel where the watcher calls it: the compiled watcher reads the export at each call.
  const mod = convergence as unknown as { computeDriftModel: typeof convergence.computeDriftModel };
  const original = mod.computeDriftModel;
  let measuring = false;
  const compute: number[] = [];
  let computeCalls = 0;
  const computeCpu: number[] = [];
  mod.computeDriftModel = (input) => {
    const c = process.cpuUsage();
    const t = performance.now();
    const model = original(input);
    if (measuring) {
      compute.push(performance.now() - t);
      const used = process.cpuUsage(c);
      computeCpu.push((used.user + used.system) / 1000);
      computeCalls++;
    }
    return model;
  };

  const lastSeen = new Map<string, number>();
  const lastState = new Map<string, DriftState>();
  const latency: number[] = [];
  const bookkeeping: number[] = [];
  const replicasInModel: number[] = [];
  const stateChanges: number[] = [];
  const countsSeen: Partial<Record<DriftState, number>> = {};
  const errors: string[] = [];
  let lastSummary = '';
  let firstModel: (() => void) | undefined;
  const onModel = (model: DriftModel) => {
    const emitted = Date.now(); // wall clock: reported_at comes from the other process
    const t = performance.now();
    let changes = 0;
    for (const r of model.replicas) {
      if (r.lastReportMs !== undefined) {
        const before = lastSeen.get(r.member);
        if (before === undefined || r.lastReportMs > before) {
          if (measuring && before !== undefined) latency.push(emitted - r.lastReportMs);
          lastSeen.set(r.member, r.lastReportMs);
        }
      }
      if (lastState.get(r.member) !== r.state) {
        changes++;
        lastState.set(r.member, r.state);
      }
    }
    if (measuring) {
      replicasInModel.push(model.replicas.length);
      stateChanges.push(changes);
      for (const [state, n] of Object.entries(model.counts) as [DriftState, number][]) if (n > 0) countsSeen[state] = Math.max(countsSeen[state] ?? 0, n);
      lastSummary = model.summary;
      bookkeeping.push(performance.now() - t);
    }
    firstModel?.();
  };

  const w = new DriftWatcher({
    redis,
    nats,
    configKey: KEY,
    sections: DEFAULT_POLICY.sections,
    policy: DEFAULT_POLICY.slo,
    subject: DEFAULT_CONFIG_CHANGED_SUBJECT,
    onModel,
    onError: (e) => errors.push(e.message),
  });
  await new Promise<void>((resolve, reject) => {
    firstModel = () => {
      firstModel = undefined;
      resolve();
    };
    w.start().catch(reject);
  });
  process.send!({ type: 'ready' });
  await new Promise<void>((resolve) => process.on('message', (m: { type?: string }) => m.type === 'measure' && resolve()));

  await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
  const s0 = { ...w.stats };
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  measuring = true;
  await new Promise((resolve) => setTimeout(resolve, MEASURE_MS));
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0).utilization;
  const s1 = { ...w.stats };
  w.stop();
  const mem = process.memoryUsage();

  // Off the clock: what one 5 s refresh and one live event cost, for the interpretation.
  const r0 = performance.now();
  const read = await readReplicaReports(redis, KEY);
  const readAllMs = performance.now() - r0;
  const raw = (await redis.mget(...read.reports.slice(0, 200).map((r) => `driftlens:replica:{${KEY}}:${r.service}:${r.replicaId}`))).filter((x): x is string => x !== null);
  let sink = 0;
  const d0 = performance.now();
  const loops = 25;
  for (let l = 0; l < loops; l++) for (const text of raw) sink += observationOf(decodeReplicaReport(text)).reportedAtMs & 1;
  const decodePerReportUs = ((performance.now() - d0) * 1000) / (loops * raw.length);
  if (sink < 0) console.log(sink);

  const result: WatchResult = {
    seconds,
    cpuShare: (cpu.user + cpu.system) / 1000 / (seconds * 1000),
    elu,
    emits: s1.emits - s0.emits,
    events: s1.events - s0.events,
    refreshes: s1.refreshes - s0.refreshes,
    latency,
    compute,
    computeCpu,
    computeCalls,
    bookkeeping,
    replicasInModel,
    stateChanges,
    lastSummary,
    countsSeen,
    readAllMs,
    decodePerReportUs,
    rssEnd: mem.rss,
    heapEnd: mem.heapUsed,
    errors,
  };
  await nats.close().catch(() => undefined);
  await closeRedis(redis);
  process.send!({ type: 'result', result }, () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// Statistics and report

const maxOf = (values: number[]) => values.reduce((m, v) => (v > m ? v : m), -Infinity);
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`;
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;



function spawnChild(role: 'watcher' | 'publisher', args: string[]): ChildProcess {
  const child = fork(__filename, [`--${role}`, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** The next message of `type` from a child; rejects when it exits first or after timeoutMs. */
function nextMessage<T>(child: ChildProcess, type: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`no "${type}" from the child within ${timeoutMs / 1000} s`)), timeoutMs);
    const onMessage = (m: { type?: string }) => m.type === type && finish(undefined, m as T);
    const onExit = (code: number | null) => finish(new Error(`the child exited (${code}) before "${type}"`));
    const finish = (error?: Error, value?: T) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(value as T);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  const { machineLine, servers, loadBefore } = announceRun();
  const running = new Set<ServerProcess>();
  const stopAll = stopOnSignals(running);

  let result: WatchResult;
  let pubStats: PublisherStats;
  let hashes: Hashes;
  try {
    const nats = await startNats();
    running.add(nats);
    const redis = await startRedis();
    running.add(redis);

    // The live document: revision 1 (the previous pools hash) then revision 2 (live), both in history.
    const [previous, live] = documents();
    hashes = hashesOf(previous, live);
    const seed = await connectRedis({ url: redis.url }, { name: 'driftlens-bench-seed' });
    try {
      const store = new ConfigStore(seed);
      await store.write(KEY, { data: previous, expectedRevision: 0, meta: { published_by: 'bench@driftlens' } });
      await store.write(KEY, { data: live, expectedRevision: 1, meta: { published_by: 'bench@driftlens' } });
    } finally {
      await closeRedis(seed);
    }

    const w = spawnChild('watcher', [redis.url, nats.url]);
    const watcherDone = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    await nextMessage(w, 'ready', 20_000);
    const p = spawnChild('publisher', [redis.url, nats.url, JSON.stringify(hashes)]);
    await nextMessage(p, 'running', 20_000);
    console.log(`  ${REPLICAS} replicas reporting; warm-up ${WARMUP_MS / 1000} s, then ${MEASURE_MS / 1000} s measured (load ${loadavg()})`);
    const resultMessage = nextMessage<{ result: WatchResult }>(w, 'result', CHILD_TIMEOUT_MS);
    w.send({ type: 'measure' });
    result = (await resultMessage).result;
    const statsMessage = nextMessage<{ stats: PublisherStats }>(p, 'stats', 20_000);
    p.send({ type: 'stop' });
    pubStats = (await statsMessage).stats;
    await watcherDone;
  } finally {
    await stopAll();
  }
  const run = endRun<ReplicaWatchResults>('replicaWatch', 'npm run bench:replica-watch', { machineLine, servers, loadBefore }, started, { watch: result, publisher: pubStats, hashes });
  for (const [id, text] of Object.entries(renderReplicaWatch(saveRun(run)))) console.log(`\n<!-- ${id} -->\n${text}`);
}

export interface ReplicaWatchResults {
  watch: WatchResult;
  publisher: PublisherStats;
  hashes: Hashes;
}

/** The sections of BENCHMARKS.md generated from a saved run (see bench/report.ts). */
export function renderReplicaWatch(run: SavedRun<ReplicaWatchResults>): Record<string, string> {
  const { watch: r, publisher: pubStats, hashes } = run.results;
  const lines: string[] = [runLine(run), ''];
  lines.push(`DriftWatcher in one process, ${REPLICAS} replicas reporting every ${PERIOD_MS / 1000} s from another; ${ms(r.seconds * 1000)} measured after a ${WARMUP_MS / 1000} s warm-up.`);
  lines.push('');
  lines.push('| measure | value |');
  lines.push('|---|---|');
  lines.push(`| live status events received | ${(r.events / r.seconds).toFixed(0)}/s (${r.events}) |`);
  lines.push(`| watcher process CPU (user + system, % of one core) | ${pct(r.cpuShare)} |`);
  lines.push(`| event-loop utilisation | ${pct(r.elu)} |`);
  lines.push(`| model emits | ${(r.emits / r.seconds).toFixed(2)}/s (${r.emits}; ${r.refreshes} full re-reads) |`);
  lines.push(`| report → model latency p50 / p90 / p99 / max (n=${r.latency.length}) | ${ms(median(r.latency))} / ${ms(quantile(r.latency, 0.9))} / ${ms(quantile(r.latency, 0.99))} / ${ms(maxOf(r.latency))} |`);
  lines.push(`| computeDriftModel per emit, ${median(r.replicasInModel)} replicas, wall: p50 / p90 / p99 / max | ${ms(median(r.compute))} / ${ms(quantile(r.compute, 0.9))} / ${ms(quantile(r.compute, 0.99))} / ${ms(maxOf(r.compute))} (${r.computeCalls} calls) |`);
  lines.push(`| computeDriftModel per emit, process CPU: p50 / p90 / p99 / max | ${ms(median(r.computeCpu))} / ${ms(quantile(r.computeCpu, 0.9))} / ${ms(quantile(r.computeCpu, 0.99))} / ${ms(maxOf(r.computeCpu))} |`);
  lines.push(`| computeDriftModel share of one core (sum of its process CPU / wall) | ${pct((mean(r.computeCpu) * r.computeCpu.length) / (r.seconds * 1000))} |`);
  lines.push(`| bench bookkeeping per emit (in the CPU above), p50 | ${ms(median(r.bookkeeping))} |`);
  lines.push(`| replicas changing state per emit, mean | ${mean(r.stateChanges).toFixed(1)} |`);
  lines.push(`| off the clock: one full re-read (ZRANGE + MGET of ${REPLICAS} + decode) / decode + observationOf per report | ${ms(r.readAllMs)} / ${(r.decodePerReportUs).toFixed(1)} µs |`);
  lines.push(`| watcher RSS / heap used at the end | ${mb(r.rssEnd)} / ${mb(r.heapEnd)} |`);
  lines.push(`| replica process: reports sent / failed, rate, schedule lag p50 / p99 / max, CPU | ${pubStats.sent} / ${pubStats.failed}, ${(pubStats.sent / pubStats.seconds).toFixed(0)}/s, ${ms(pubStats.lagP50)} / ${ms(pubStats.lagP99)} / ${ms(pubStats.lagMax)}, ${pct(pubStats.cpuShare)} of a core |`);
  lines.push('');
  lines.push(`Last model: ${r.lastSummary}. Most replicas seen per state: ${Object.entries(r.countsSeen).map(([s, n]) => `${s} ${n}`).join(', ')}.`);
  if (r.errors.length) lines.push(`Watcher errors: ${r.errors.length} (first: ${r.errors[0]}).`);
  lines.push(`Live pools hash ${hashes.live.slice(0, 12)}…, previous ${hashes.previous.slice(0, 12)}…; latency uses the wall clock of both processes (reported_at has ms precision in the model).`);
  return { 'replica-watch-table': lines.join('\n') };
}

const [role, ...args] = process.argv.slice(2);
// A child whose parent is gone (killed, Ctrl-C) stops too.
if (role === '--publisher' || role === '--watcher') process.once('disconnect', () => process.exit(1));
if (role === '--publisher') {
  publisher(args[0], args[1], JSON.parse(args[2]) as Hashes).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else if (role === '--watcher') {
  watcher(args[0], args[1]).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
