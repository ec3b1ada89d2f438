/**
 * Convergence benchmark: from a publish to every replica having applied it, against a real local
 * redis-server and nats-server.
 *
 * N reference `ReplicaAgent`s run in one process, as the `driftlens replicas` simulator runs them:
 * one shared Redis connection (connectRedis) and one NATS connection per 50 agents. The publisher
 * has its own Redis and NATS connections in the same process, so one clock (`performance.now()`)
 * times both ends. Per publish the bench changes one pool's name in the real example document
 * (test/fixtures/cordum pools.yaml + timeouts.yaml as the `pools` and `timeouts` sections), then:
 *   t0  just before `ConfigStore.write` (CAS write, history on, the default 50),
 *       `publishConfigChanged` (the Cordum BusPacket on sys.config.changed, flushed),
 *   and waits, event-driven, for all N agents to emit 'applied' for `pools` with the new hash.
 * "all applied" is t0 to the last agent's event; each agent's own time is kept too.
 *
 * Cases (each in a fresh child process; the servers are shared, every case has its own config key):
 *   - notifications on, reportStatus false: N = 10, 100 and 1,000;
 *   - notifications on, reportStatus true, N = 100: what the status reports cost (and when all
 *     replicas have reported the apply, which is when a drift view can know);
 *   - notifications lost: N = 20 agents with dropNotifications 1 and a 2 s poll. Agent starts are
 *     staggered evenly over one poll interval (real replicas do not start in the same millisecond)
 *     and each publish comes after a random pause, so publish times are uniform against the poll
 *     phases: each replica's convergence should be uniform in [0, interval] plus the read.
 *
 * Run: `npm run compile-tests && node out/bench/convergence.bench.js`.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { NatsConnection } from 'nats';
import { parse } from 'yaml';
import { SimulatedReplicaAgent, type SimulatedAgentEvent } from '../src/simulator/simulatedReplicaAgent';
import { analyzeDocument } from '../src/core/analysis';
import type { JsonValue } from '../src/core/canonical';
import { computeSectionHash } from '../src/core/sectionHash';
import { ConfigStore } from '../src/live/configStore';
import { connectNats } from '../src/live/natsConnection';
import { decodeEnvelope, encodeEnvelope } from '../src/live/envelope';
import { decodeBusPacket, DEFAULT_CONFIG_CHANGED_SUBJECT, encodeConfigChanged, publishConfigChanged, whyReceiversDrop } from '../src/live/notifier';
import { closeRedis, connectRedis } from '../src/live/redisConnection';
import { startNats, startRedis, type ServerProcess } from '../test/support/servers';
import { endRun, runLine, saveRun, type SavedRun } from './results';
import { announceRun, loadavg, MB, median, ms, quantile, runChildCase, stopOnSignals } from './stats';

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'cordum');
const SUBJECT = DEFAULT_CONFIG_CHANGED_SUBJECT;
/** As the simulator: one NATS connection per this many agents. */
const AGENTS_PER_NATS = 50;
/** A child that takes longer than this is killed. */
const CHILD_TIMEOUT_MS = 150_000;
/** Pause between publishes with notifications on (lets the last checks and GC settle; not timed). */
const GAP_MS = 50;

interface CaseSpec {
  id: string;
  label: string;
  agents: number;
  mode: 'on' | 'lost';
  reportStatus: boolean;
  pollIntervalMs: number;
  warmup: number;
  runs: number;
}

// Notifications-on cases poll every 30 s (Cordum's default), so a poll rarely lands inside a run;
// the trigger of every apply is counted to show it. Runs: 100 or 200 timed publishes where they are
// cheap (p99 is then the 2nd or 3rd slowest, not the slowest), 30 at N = 1,000 (p99 = the slowest).
const CASES: CaseSpec[] = [
  { id: 'on-10', label: 'N=10', agents: 10, mode: 'on', reportStatus: false, pollIntervalMs: 30_000, warmup: 5, runs: 100 },
  { id: 'on-100', label: 'N=100', agents: 100, mode: 'on', reportStatus: false, pollIntervalMs: 30_000, warmup: 5, runs: 200 },
  { id: 'on-1000', label: 'N=1,000', agents: 1000, mode: 'on', reportStatus: false, pollIntervalMs: 30_000, warmup: 3, runs: 30 },
  { id: 'on-100-reports', label: 'N=100, reportStatus on', agents: 100, mode: 'on', reportStatus: true, pollIntervalMs: 30_000, warmup: 5, runs: 50 },
  { id: 'lost-20', label: 'N=20, notifications lost', agents: 20, mode: 'lost', reportStatus: false, pollIntervalMs: 2000, warmup: 1, runs: 10 },
];

// ---------------------------------------------------------------------------------------------
// The document

type DataMap = { [key: string]: JsonValue };

/** The pool renamed by every publish, with the topics that route to it. */
const RENAMED_POOL = 'demo-mock-bank';

class DocumentFactory {
  private readonly template: string;

  constructor() {
    const pools = analyzeDocument(readFileSync(path.join(FIXTURES, 'pools.yaml'), 'utf8'), 'yaml', 'pools');
    const timeouts = analyzeDocument(readFileSync(path.join(FIXTURES, 'timeouts.yaml'), 'utf8'), 'yaml', 'timeouts');
    for (const a of [pools, timeouts]) if (a.problems.length) throw new Error(`fixture problems: ${a.problems.map((p) => p.message).join('; ')}`);
    const data = { pools: pools.data, timeouts: timeouts.data } as DataMap;
    // Cross-check with the yaml package: the two readers must agree on the fixtures.
    const viaYaml = { pools: parse(readFileSync(path.join(FIXTURES, 'pools.yaml'), 'utf8')), timeouts: parse(readFileSync(path.join(FIXTURES, 'timeouts.yaml'), 'utf8')) };
    if (JSON.stringify(viaYaml) !== JSON.stringify(data)) throw new Error('analyzeDocument and yaml disagree on the fixtures');
    const p = data.pools as { pools: DataMap; topics: DataMap };
    if (!p.pools[RENAMED_POOL]) throw new Error(`pools.yaml has no pool ${RENAMED_POOL}`);
    this.template = JSON.stringify(data);
  }

  /** A fresh data map in which pool `demo-mock-bank` (and the topics routed to it) is named `demo-mock-bank-r<run>`. */
  make(run: number): DataMap {
    const data = JSON.parse(this.template) as DataMap;
    const p = data.pools as { pools: DataMap; topics: DataMap };
    const name = `${RENAMED_POOL}-r${run}`;
    const pools: DataMap = {};
    for (const [k, v] of Object.entries(p.pools)) pools[k === RENAMED_POOL ? name : k] = v;
    p.pools = pools;
    for (const [topic, pool] of Object.entries(p.topics)) if (pool === RENAMED_POOL) p.topics[topic] = name;
    return data;
  }
}

function assertValid(data: DataMap): void {
  const analysis = analyzeDocument(JSON.stringify(data), 'json', 'config');
  if (analysis.problems.length) throw new Error(`the document has problems: ${analysis.problems.slice(0, 3).map((p) => p.message).join('; ')}`);
  if (analysis.sections.filter((s) => s.hash).length !== 2) throw new Error('expected hashes for pools and timeouts');
}

// ---------------------------------------------------------------------------------------------
// One case (in a child process)

interface PublishSample {
  /** ms from t0 (just before ConfigStore.write). */
  written: number;
  notified: number;
  /** Each agent's 'applied' for pools with the new hash, ms from t0 (NaN: not within the timeout). */
  agents: number[];
  /** Each agent's durable 'apply' report written, ms from t0 (reportStatus only). */
  reported: number[];
  /** Process CPU (user + system) from t0 to the last applied event, ms. */
  cpu: number;
  timedOut: boolean;
}

interface CaseResult {
  spec: CaseSpec;
  bytes: number;
  startMs: number;
  rssAfterStart: number;
  heapAfterStart: number;
  samples: PublishSample[];
  triggers: Record<string, number>;
  droppedNotifications: number;
  reports: number;
  /** Event-loop delay over the timed publishes (gaps included), ms. */
  loopDelay: { p50: number; p99: number; max: number };
  /** Process CPU over the whole timed part / its wall time. */
  cpuShare: number;
  peakRss: number;
}

interface Waiter {
  run: number;
  hash: string;
  t0: number;
  applied: Float64Array;
  reported: Float64Array;
  appliedLeft: number;
  reportedLeft: number;
  lastApplied: number;
  done: () => void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function runCase(spec: CaseSpec, redisUrl: string, natsUrl: string): Promise<CaseResult> {
  const key = `cfg:system:bench-${spec.id}`;
  const factory = new DocumentFactory();
  const total = spec.warmup + spec.runs;
  assertValid(factory.make(0));
  assertValid(factory.make(total));
  const bytes = Buffer.byteLength(JSON.stringify(factory.make(0)));

  const agents: SimulatedReplicaAgent[] = [];
  const natsConns: NatsConnection[] = [];
  let redis: Awaited<ReturnType<typeof connectRedis>> | undefined;
  let pubRedis: Awaited<ReturnType<typeof connectRedis>> | undefined;
  let pubNats: NatsConnection | undefined;
  const triggers: Record<string, number> = {};
  let waiter: Waiter | undefined;

  const onEvent = (i: number, event: SimulatedAgentEvent) => {
    const w = waiter;
    if (event.type === 'applied') {
      if (!w || event.section !== 'pools' || event.hash !== w.hash || !Number.isNaN(w.applied[i])) return;
      const at = performance.now();
      w.applied[i] = at - w.t0;
      w.lastApplied = at;
      triggers[event.trigger] = (triggers[event.trigger] ?? 0) + 1;
      if (--w.appliedLeft === 0 && w.reportedLeft === 0) w.done();
    } else if (event.type === 'report') {
      // The 'apply' report that follows this publish's apply (reports go out in order per agent).
      if (!w || event.reason !== 'apply' || !event.durable || Number.isNaN(w.applied[i]) || !Number.isNaN(w.reported[i])) return;
      w.reported[i] = performance.now() - w.t0;
      if (--w.reportedLeft === 0 && w.appliedLeft === 0) w.done();
    }
  };

  try {
    redis = await connectRedis({ url: redisUrl }, { name: 'driftlens-bench-agents' });
    pubRedis = await connectRedis({ url: redisUrl }, { name: 'driftlens-bench-publisher' });
    pubNats = await connectNats({ servers: [natsUrl] }, { name: 'driftlens-bench-publisher' });
    const store = new ConfigStore(pubRedis);
    const { scope, scopeId } = { scope: 'system', scopeId: `bench-${spec.id}` };
    await pubRedis.del(key, `driftlens:history:{${key}}`);
    // Revision 1 exists before the agents start: their startup check applies it.
    await store.write(key, { data: factory.make(0), expectedRevision: 0, meta: { published_by: 'bench@driftlens' } });

    for (let c = 0; c < Math.ceil(spec.agents / AGENTS_PER_NATS); c++) natsConns.push(await connectNats({ servers: [natsUrl] }, { name: `driftlens-bench-agents-${c}` }));
    for (let i = 0; i < spec.agents; i++) {
      agents.push(
        new SimulatedReplicaAgent({
          configKey: key,
          service: 'bench',
          replicaId: `r-${String(i + 1).padStart(4, '0')}`,
          subject: SUBJECT,
          pollIntervalMs: spec.pollIntervalMs,
          envOverride: false,
          heartbeatMs: 5000,
          redis,
          nats: natsConns[Math.floor(i / AGENTS_PER_NATS)],
          reportStatus: spec.reportStatus,
          faults: spec.mode === 'lost' ? { dropNotifications: 1 } : {},
          // The starts below are staggered evenly over the interval; the first poll one interval after each start keeps that spread.
          pollPhaseMs: spec.pollIntervalMs,
          apply: () => undefined,
          onEvent: (e) => onEvent(i, e),
        }),
      );
    }

    // Start: in batches of one NATS connection's agents; with notifications lost, one agent every
    // interval/N ms so that the poll tickers' phases are spread evenly over the interval.
    const startT0 = performance.now();
    if (spec.mode === 'lost') {
      const starts: Promise<void>[] = [];
      for (let i = 0; i < agents.length; i++) {
        const due = startT0 + (i * spec.pollIntervalMs) / agents.length;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        starts.push(agents[i].start());
      }
      await Promise.all(starts);
    } else {
      for (let b = 0; b < agents.length; b += AGENTS_PER_NATS) await Promise.all(agents.slice(b, b + AGENTS_PER_NATS).map((a) => a.start()));
    }
    const startMs = performance.now() - startT0;
    for (const a of agents) if (!a.appliedHash('pools')) throw new Error(`${a.replicaId} did not apply revision 1 at startup`);
    if (global.gc) global.gc();
    const mem = process.memoryUsage();

    const timeoutMs = spec.mode === 'lost' ? 3 * spec.pollIntervalMs + 5000 : 30_000;
    const samples: PublishSample[] = [];
    const loop = monitorEventLoopDelay({ resolution: 5 });
    let timedCpu0: NodeJS.CpuUsage | undefined;
    let timedWall0 = 0;
    const reportsBefore = () => agents.reduce((n, a) => n + a.counters.reports, 0);
    let reports0 = 0;

    for (let run = 1; run <= total; run++) {
      if (run === spec.warmup + 1) {
        loop.enable();
        timedCpu0 = process.cpuUsage();
        timedWall0 = performance.now();
        reports0 = reportsBefore();
        for (const k of Object.keys(triggers)) delete triggers[k];
      }
      if (spec.mode === 'lost') await sleep(Math.random() * spec.pollIntervalMs); // a publish at a random poll phase
      else await sleep(GAP_MS);

      const data = factory.make(run); // built before the clock starts, as an edited file's analysis would be
      const hash = computeSectionHash('pools', data.pools).hash;
      if (!hash) throw new Error(`run ${run}: the pools section has no hash`);
      let done!: () => void;
      const allDone = new Promise<void>((resolve) => (done = resolve));
      const w: Waiter = {
        run,
        hash,
        t0: 0,
        applied: new Float64Array(agents.length).fill(NaN),
        reported: new Float64Array(agents.length).fill(NaN),
        appliedLeft: agents.length,
        reportedLeft: spec.reportStatus ? agents.length : 0,
        lastApplied: NaN,
        done,
      };
      waiter = w;
      const cpu0 = process.cpuUsage();
      w.t0 = performance.now();
      await store.write(key, { data, expectedRevision: run, meta: { published_by: 'bench@driftlens' } });
      const written = performance.now() - w.t0;
      await publishConfigChanged(pubNats, SUBJECT, { scope, scopeId, senderId: 'driftlens-bench' });
      const notified = performance.now() - w.t0;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([allDone.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutMs)))]);
      clearTimeout(timer);
      const cpu = process.cpuUsage(cpu0);
      waiter = undefined;
      if (timedOut) console.error(`  ${spec.label}: publish ${run}: ${w.appliedLeft} of ${agents.length} agents had not applied within ${timeoutMs} ms`);
      await Promise.all(agents.map((a) => a.idle()));
      if (run > spec.warmup) {
        samples.push({ written, notified, agents: [...w.applied], reported: [...w.reported], cpu: (cpu.user + cpu.system) / 1000, timedOut });
      }
    }
    const timedCpu = process.cpuUsage(timedCpu0);
    const cpuShare = (timedCpu.user + timedCpu.system) / 1000 / (performance.now() - timedWall0);
    loop.disable();
    return {
      spec,
      bytes,
      startMs,
      rssAfterStart: mem.rss,
      heapAfterStart: mem.heapUsed,
      samples,
      triggers: { ...triggers },
      droppedNotifications: agents.reduce((n, a) => n + a.simulatedCounters.droppedNotifications, 0),
      reports: reportsBefore() - reports0,
      loopDelay: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      cpuShare,
      peakRss: process.resourceUsage().maxRSS * 1024,
    };
  } finally {
    await Promise.allSettled(agents.map((a) => a.stop({ deregister: true })));
    await Promise.allSettled(natsConns.map((n) => n.close()));
    await pubNats?.close().catch(() => undefined);
    if (redis) await closeRedis(redis);
    if (pubRedis) await closeRedis(pubRedis);
  }
}

// ---------------------------------------------------------------------------------------------
// What one agent's check costs in CPU (no I/O), to read the N = 1,000 figures against

interface CheckCost {
  decodeNotification: number;
  decodeEnvelope: number;
  hashPools: number;
  hashTimeouts: number;
}

/** Median µs per call of each CPU step of a notification-triggered check, on this document (after a warm-up). */
function checkCost(): CheckCost {
  const factory = new DocumentFactory();
  const data = factory.make(1);
  const packet = encodeConfigChanged({ scope: 'system', scopeId: 'bench', senderId: 'driftlens-bench' });
  const raw = encodeEnvelope({ scope: 'system', scopeId: 'bench', data, revision: 2, updatedAt: '2026-01-01T00:00:00.123456789Z', meta: { published_by: 'bench@driftlens' } });
  const steps: Record<keyof CheckCost, () => unknown> = {
    decodeNotification: () => whyReceiversDrop(decodeBusPacket(packet)),
    decodeEnvelope: () => decodeEnvelope(raw),
    hashPools: () => computeSectionHash('pools', decodeEnvelope(raw).data.pools),
    hashTimeouts: () => computeSectionHash('timeouts', data.timeouts),
  };
  const out = {} as CheckCost;
  for (const [name, step] of Object.entries(steps) as [keyof CheckCost, () => unknown][]) {
    for (let i = 0; i < 500; i++) step();
    const rounds: number[] = [];
    for (let r = 0; r < 15; r++) {
      const t = performance.now();
      for (let i = 0; i < 200; i++) step();
      rounds.push(((performance.now() - t) * 1000) / 200);
    }
    out[name] = median(rounds);
  }
  // hashPools ran on a freshly decoded section (as the agent does): take the decode out again.
  out.hashPools -= out.decodeEnvelope;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Statistics and report

/** Agents that did not apply within the timeout are NaN: left out of the statistics (and counted as timed out). */
const valid = (values: number[]) => values.filter((v) => !Number.isNaN(v));
const maxOf = (values: number[]) => values.reduce((m, v) => (v > m ? v : m), -Infinity);
const minOf = (values: number[]) => values.reduce((m, v) => (v < m ? v : m), Infinity);

const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`;
const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const triggerText = (t: Record<string, number>) => Object.entries(t).map(([k, v]) => `${k} ${v}`).join(', ') || '—';



function runChild(index: number, redisUrl: string, natsUrl: string): Promise<CaseResult> {
  return runChildCase<CaseResult>(__filename, [String(index), redisUrl, natsUrl], CASES[index].label, CHILD_TIMEOUT_MS, ['--expose-gc']);
}

async function main(): Promise<void> {
  const started = performance.now();
  const { machineLine, servers, loadBefore } = announceRun();
  const running = new Set<ServerProcess>();
  const stopAll = stopOnSignals(running);

  const results: CaseResult[] = [];
  const failures: string[] = [];
  try {
    const nats = await startNats();
    running.add(nats);
    const redis = await startRedis();
    running.add(redis);
    for (let index = 0; index < CASES.length; index++) {
      const spec = CASES[index];
      const t = performance.now();
      try {
        const r = await runChild(index, redis.url, nats.url);
        results.push(r);
        const all = r.samples.map((s) => maxOf(s.agents));
        console.log(
          `  ${spec.label.padEnd(26)} started in ${ms(r.startMs)}, ${r.samples.length} publishes: all applied p50 ${ms(median(all))}, p99 ${ms(quantile(all, 0.99))}, max ${ms(maxOf(all))} ` +
            `(${((performance.now() - t) / 1000).toFixed(0)} s; load ${loadavg()})`,
        );
      } catch (e) {
        failures.push(`${spec.label}: ${(e as Error).message}`);
        console.error(`  ${spec.label}: ${(e as Error).message}`);
      }
    }
  } finally {
    await stopAll();
  }
  const run = endRun<ConvergenceResults>('convergence', 'npm run bench:convergence', { machineLine, servers, loadBefore }, started, { cases: results, failures, cost: checkCost() });
  for (const [id, text] of Object.entries(renderConvergence(saveRun(run)))) console.log(`\n<!-- ${id} -->\n${text}`);
  if (failures.length) process.exitCode = 1;
}

export interface ConvergenceResults {
  cases: CaseResult[];
  failures: string[];
  cost: ReturnType<typeof checkCost>;
}

/** The sections of BENCHMARKS.md generated from a saved run (see bench/report.ts). */
export function renderConvergence(run: SavedRun<ConvergenceResults>): Record<string, string> {
  const { cases: results, failures, cost } = run.results;
  const lines: string[] = [runLine(run), ''];
  const on = results.filter((r) => r.spec.mode === 'on');
  lines.push('Notifications on: t0 just before ConfigStore.write → the last agent\'s \'applied\' (pools, new hash).');
  lines.push('');
  lines.push('| agents | timed publishes | all applied p50 | p90 | p99 | max | median replica (median of per-publish medians) | per-replica p99 (all samples) | write done (p50) | notification flushed (p50) | process CPU per publish (p50) | slowest publish: wall / process CPU | event-loop delay p99 / max | applied by |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of on) {
    const all = r.samples.map((s) => maxOf(s.agents));
    const perPublishMedian = r.samples.map((s) => median(valid(s.agents)));
    const pooled = valid(r.samples.flatMap((s) => s.agents));
    const timeouts = r.samples.filter((s) => s.timedOut).length;
    const slowest = r.samples.reduce((a, b) => (maxOf(b.agents) > maxOf(a.agents) ? b : a));
    lines.push(
      `| ${r.spec.label} | ${r.samples.length}${timeouts ? ` (${timeouts} timed out)` : ''} | ${ms(median(all))} | ${ms(quantile(all, 0.9))} | ${ms(quantile(all, 0.99))} | ${ms(maxOf(all))} | ${ms(median(perPublishMedian))} | ${ms(quantile(pooled, 0.99))} | ` +
        `${ms(median(r.samples.map((s) => s.written)))} | ${ms(median(r.samples.map((s) => s.notified)))} | ${ms(median(r.samples.map((s) => s.cpu)))} | ${ms(maxOf(slowest.agents))} / ${ms(slowest.cpu)} | ${ms(r.loopDelay.p99)} / ${ms(r.loopDelay.max)} | ${triggerText(r.triggers)} |`,
    );
  }
  const withReports = on.filter((r) => r.spec.reportStatus);
  if (withReports.length) {
    lines.push('');
    lines.push('With reportStatus on, when every replica\'s \'apply\' report was written to Redis (what a drift view reads):');
    lines.push('');
    lines.push('| agents | all reported p50 | p90 | p99 | max | reports written during the timed publishes |');
    lines.push('|---|---|---|---|---|---|');
    for (const r of withReports) {
      const all = valid(r.samples.map((s) => maxOf(s.reported)));
      lines.push(`| ${r.spec.label} | ${ms(median(all))} | ${ms(quantile(all, 0.9))} | ${ms(quantile(all, 0.99))} | ${ms(maxOf(all))} | ${r.reports} |`);
    }
  }
  lines.push('');
  lines.push('Agents in one process (after their startup check):');
  lines.push('');
  lines.push('| agents | start all (startup check included) | RSS after start | heap used after start (after GC) | peak RSS | process CPU / wall over the timed publishes (1 core = 100%) |');
  lines.push('|---|---|---|---|---|---|');
  for (const r of results) lines.push(`| ${r.spec.label} | ${ms(r.startMs)} | ${mb(r.rssAfterStart)} | ${mb(r.heapAfterStart)} | ${mb(r.peakRss)} | ${pct(r.cpuShare)} |`);

  for (const r of results.filter((x) => x.spec.mode === 'lost')) {
    const interval = r.spec.pollIntervalMs;
    const pooled = valid(r.samples.flatMap((s) => s.agents));
    const all = r.samples.map((s) => maxOf(s.agents));
    const within = pooled.filter((v) => v <= interval).length / pooled.length;
    lines.push('');
    lines.push(`Notifications lost: ${r.spec.agents} agents, dropNotifications 1, poll every ${ms(interval)} (starts staggered over one interval; each publish after a random pause):`);
    lines.push('');
    lines.push('| samples | per-replica convergence min | p50 | p90 | max | within one interval | all converged (per publish) p50 | max | expected for uniform [0, interval] | applied by | notifications dropped |');
    lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
    lines.push(
      `| ${pooled.length} (${r.samples.length} publishes × ${r.spec.agents}) | ${ms(minOf(pooled))} | ${ms(median(pooled))} | ${ms(quantile(pooled, 0.9))} | ${ms(maxOf(pooled))} | ${pct(within)} | ${ms(median(all))} | ${ms(maxOf(all))} | ` +
        `p50 ${ms(interval / 2)}, p90 ${ms(0.9 * interval)}, max ${ms(interval)} | ${triggerText(r.triggers)} | ${r.droppedNotifications} |`,
    );
  }
  const perCheck = cost.decodeNotification + cost.decodeEnvelope + cost.hashPools + cost.hashTimeouts;
  lines.push('');
  lines.push('CPU of one notification-triggered check, no I/O (median µs per call, measured in the parent after the cases):');
  lines.push('');
  lines.push('| decode + judge the BusPacket | decodeEnvelope (GET result) | computeSectionHash pools | computeSectionHash timeouts | sum per check | × 100 | × 1,000 |');
  lines.push('|---|---|---|---|---|---|---|');
  lines.push(
    `| ${cost.decodeNotification.toFixed(0)} µs | ${cost.decodeEnvelope.toFixed(0)} µs | ${cost.hashPools.toFixed(0)} µs | ${cost.hashTimeouts.toFixed(0)} µs | ${perCheck.toFixed(0)} µs | ${ms((perCheck * 100) / 1000)} | ${ms(perCheck)} |`,
  );
  lines.push('');
  lines.push(
    `Document: the real pools.yaml + timeouts.yaml as the pools and timeouts sections (${results[0]?.bytes ?? '?'} bytes of JSON data); every publish renames pool ${RENAMED_POOL} (and its topic). ` +
      `One shared Redis connection for the agents, one NATS connection per ${AGENTS_PER_NATS} agents; the publisher on its own connections in the same process. Percentiles are nearest rank.`,
  );
  for (const f of failures) lines.push(`FAILED: ${f}`);
  return { 'convergence-table': lines.join('\n') };
}

async function child(index: number, redisUrl: string, natsUrl: string): Promise<void> {
  const result = await runCase(CASES[index], redisUrl, natsUrl);
  process.send!(result, () => process.exit(0));
}

if (process.argv[2] === '--child') {
  process.once('disconnect', () => process.exit(1)); // the parent is gone (killed, Ctrl-C)
  child(Number(process.argv[3]), process.argv[4], process.argv[5]).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
