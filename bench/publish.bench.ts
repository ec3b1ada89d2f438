/**
 * Publish benchmark: what one publish costs, against a real local redis-server and nats-server.
 *
 * `publishDocument(store, nats, request)` does the Cordum publish: WATCH / GET (the live envelope is
 * read and decoded) / compare revisions / canonical JSON of the new envelope / MULTI SET [LPUSH LTRIM]
 * EXEC, then the `sys.config.changed` BusPacket, published and flushed (PING/PONG). Per publish this
 * bench times, from just before the call (the caller has its data map; everything publishDocument does,
 * the canonical encoding included, is inside the clock):
 *   - written:  the CAS write committed (ConfigStore.write resolved),
 *   - notified: publishDocument resolved (the notification flushed to the server),
 *   - received: a subscriber on a separate NATS connection got the notification.
 *
 * Cases: a ~1 MB Cordum-shaped document (200 publishes) and a ~50 KB one (100 publishes), each with
 * history on (the default limit 50: the envelope is also LPUSHed to `driftlens:history:{key}`) and off
 * (historyLimit 0). Each case runs in a fresh child process against a fresh redis-server, so one
 * case's heap and Redis memory do not weigh on the next; nats-server is shared. Every publish is a
 * changed document (one topic's pool name carries the publish number) at revision N+1.
 *
 * Run: `npm run compile-tests && node out/bench/publish.bench.js`.
 */
import { execFileSync, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { NatsConnection } from 'nats';
import { parse } from 'yaml';
import { analyzeDocument } from '../src/core/analysis';
import { canonicalJson, type JsonValue } from '../src/core/canonical';
import { ConfigStore, historyKey, type ConfigWriteInput } from '../src/live/configStore';
import { decodeEnvelope, encodeEnvelope, type ConfigEnvelope } from '../src/live/envelope';
import { connectNats } from '../src/live/natsConnection';
import { decodeBusPacket, DEFAULT_CONFIG_CHANGED_SUBJECT } from '../src/live/notifier';
import { publishDocument } from '../src/live/publisher';
import { closeRedis, connectRedis } from '../src/live/redisConnection';
import { startNats, startRedis, type ServerProcess } from '../test/support/servers';

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'cordum');
const MB = 1024 * 1024;
const KEY = 'cfg:system:default';
const SUBJECT = DEFAULT_CONFIG_CHANGED_SUBJECT;
/** How long a subscriber may take to see a notification before the bench calls it lost. */
const RECEIVE_TIMEOUT_MS = 5000;
/** A case that takes longer than this is killed (a hung connection must not hang the bench). */
const CASE_TIMEOUT_MS = 90_000;

interface CaseSpec {
  label: string;
  /** Target size of the stored envelope, bytes. */
  target: number;
  historyLimit: number;
  warmup: number;
  runs: number;
}

// Warm-ups are 50 publishes, so a history-on case starts timing with the list at its cap (50):
// every timed publish LPUSHes one envelope and LTRIM drops the oldest, the steady state.
const CASES: CaseSpec[] = [
  { label: '1 MB', target: 1 * MB, historyLimit: 50, warmup: 50, runs: 200 },
  { label: '1 MB', target: 1 * MB, historyLimit: 0, warmup: 50, runs: 200 },
  { label: '50 KB', target: 50 * 1024, historyLimit: 50, warmup: 50, runs: 100 },
  { label: '50 KB', target: 50 * 1024, historyLimit: 0, warmup: 50, runs: 100 },
];

// ---------------------------------------------------------------------------------------------
// Documents

type DataMap = { [key: string]: JsonValue };

/**
 * The real Cordum pools.yaml and timeouts.yaml as the `pools` and `timeouts` sections of a data map,
 * the pools section scaled up as the authoring bench does it: `job.team-N.process: pool-N` topics and
 * `pool-N: {requires: []}` pools, until the stored envelope reaches the target size. `make(run)`
 * returns a fresh data map (as a new analysis of the edited file would) whose middle topic routes to
 * `pool-M-rRUN`: one changed value per publish.
 */
class DataFactory {
  readonly teams: number;
  private readonly template: string;
  private readonly editedTopic: string;
  private readonly editedPool: string;

  constructor(target: number) {
    const pools = parse(readFileSync(path.join(FIXTURES, 'pools.yaml'), 'utf8')) as { topics: DataMap; pools: DataMap };
    const timeouts = parse(readFileSync(path.join(FIXTURES, 'timeouts.yaml'), 'utf8')) as DataMap;
    if (typeof pools.topics !== 'object' || typeof pools.pools !== 'object') throw new Error('unexpected pools.yaml layout');
    const base = envelopeBytes({ pools: { topics: pools.topics, pools: pools.pools }, timeouts });
    const perTeam = (n: number) => `"job.team-${n}.process":"pool-${n}",`.length + `"pool-${n}":{"requires":[]},`.length;
    let teams = 0;
    let size = base;
    while (size < target) size += perTeam(teams++);
    this.teams = teams;
    const topics: DataMap = { ...pools.topics };
    const scaledPools: DataMap = { ...pools.pools };
    for (let n = 0; n < teams; n++) {
      topics[`job.team-${n}.process`] = `pool-${n}`;
      scaledPools[`pool-${n}`] = { requires: [] };
    }
    const mid = teams >> 1;
    this.editedTopic = `job.team-${mid}.process`;
    this.editedPool = `pool-${mid}`;
    this.template = JSON.stringify({ pools: { topics, pools: scaledPools }, timeouts });
  }

  make(run: number): DataMap {
    const data = JSON.parse(this.template) as { pools: { topics: DataMap } };
    if (run >= 0) data.pools.topics[this.editedTopic] = `${this.editedPool}-r${run}`;
    return data as unknown as DataMap;
  }
}

/** Bytes of the envelope DriftLens would store for this data (a representative meta and time stamp). */
function envelopeBytes(data: DataMap): number {
  return Buffer.byteLength(encodeEnvelope({ scope: 'system', scopeId: 'default', data, revision: 1, updatedAt: '2026-01-01T00:00:00.123456789Z', meta: META }));
}

const META = { published_by: 'bench@driftlens', tool: 'driftlens' };

/** Both sections must be schema-valid and hashable, or the bench would publish what replicas reject. */
function assertValid(data: DataMap, label: string): void {
  const analysis = analyzeDocument(JSON.stringify(data), 'json', 'config');
  const hashed = analysis.sections.filter((s) => s.hash).map((s) => s.name);
  if (analysis.problems.length !== 0) throw new Error(`${label} document has ${analysis.problems.length} problems: ${analysis.problems.slice(0, 3).map((p) => p.message).join('; ')}`);
  if (hashed.length !== 2) throw new Error(`${label}: expected hashes for pools and timeouts, got ${hashed.join(', ')}`);
}

// ---------------------------------------------------------------------------------------------
// One case (in a child process)

/** ConfigStore that notes when the CAS write resolved (publishDocument continues with the notification). */
class TimedStore extends ConfigStore {
  writtenAt = NaN;
  override async write(key: string, input: ConfigWriteInput): Promise<ConfigEnvelope> {
    const envelope = await super.write(key, input);
    this.writtenAt = performance.now();
    return envelope;
  }
}

interface CaseResult {
  spec: CaseSpec;
  bytes: number;
  teams: number;
  /** Per timed publish, ms from the call. */
  written: number[];
  notified: number[];
  received: number[];
  /** Client CPU (user + system, all threads) per publish, ms. */
  cpu: number[];
  /** The client-side CPU work inside one write, timed separately on the same envelopes (ms per publish). */
  encode: number[];
  check: number[];
  decode: number[];
  /** Notifications that reached the subscriber before publishDocument resolved. */
  receivedBeforeNotified: number;
  redis: RedisFacts;
  clientPeakRssDelta: number;
}

interface RedisFacts {
  usedMemory: number;
  usedMemoryPeak: number;
  usedMemoryRss: number;
  /** Peak RSS of the redis-server process over the case (VmHWM), when /proc tells. */
  peakRss?: number;
  docBytes: number | null;
  historyLength: number;
  historyBytes: number | null;
}

function infoField(info: string, field: string): number {
  const match = new RegExp(`^${field}:(\\d+)`, 'm').exec(info);
  return match ? Number(match[1]) : NaN;
}

async function runCase(spec: CaseSpec, redisUrl: string, natsUrl: string): Promise<CaseResult> {
  const factory = new DataFactory(spec.target);
  const first = factory.make(0);
  assertValid(first, spec.label);
  assertValid(factory.make(spec.warmup + spec.runs - 1), spec.label);
  const bytes = envelopeBytes(first);

  const redis = await connectRedis({ url: redisUrl }, { name: 'driftlens-bench' });
  const store = new TimedStore(redis, { historyLimit: spec.historyLimit });
  let publisher: NatsConnection | undefined;
  let subscriber: NatsConnection | undefined;
  try {
    publisher = await connectNats({ servers: [natsUrl] }, { name: 'driftlens-bench-publisher' });
    subscriber = await connectNats({ servers: [natsUrl] }, { name: 'driftlens-bench-replica' });
    const pub = publisher;
    // Receipt time first, decoding after; a waiter per trace id (the message may beat the flush's PONG).
    const arrivals = new Map<string, number>();
    const waiters = new Map<string, (at: number) => void>();
    subscriber.subscribe(SUBJECT, {
      callback: (err, msg) => {
        const at = performance.now();
        if (err) return;
        const traceId = decodeBusPacket(msg.data).traceId;
        const waiter = waiters.get(traceId);
        if (waiter) waiter(at);
        else arrivals.set(traceId, at);
      },
    });
    await subscriber.flush(); // the server knows the subscription before the first publish
    const receipt = (traceId: string): Promise<number> => {
      const at = arrivals.get(traceId);
      if (at !== undefined) return Promise.resolve(at);
      return new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`notification ${traceId} not received within ${RECEIVE_TIMEOUT_MS} ms`)), RECEIVE_TIMEOUT_MS);
        waiters.set(traceId, (t) => {
          clearTimeout(timer);
          waiters.delete(traceId);
          resolve(t);
        });
      });
    };

    const result: CaseResult = {
      spec,
      bytes,
      teams: factory.teams,
      written: [],
      notified: [],
      received: [],
      cpu: [],
      encode: [],
      check: [],
      decode: [],
      receivedBeforeNotified: 0,
      redis: undefined as unknown as RedisFacts,
      clientPeakRssDelta: 0,
    };
    const rssBefore = process.memoryUsage().rss;
    const total = spec.warmup + spec.runs;
    for (let i = 0; i < total; i++) {
      const data = i === 0 ? first : factory.make(i); // built before the clock starts
      store.writtenAt = NaN;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const outcome = await publishDocument(store, async () => pub, { key: KEY, data, expectedRevision: i, meta: META, subject: SUBJECT, senderId: 'driftlens-bench' });
      const tNotified = performance.now();
      const cpu = process.cpuUsage(cpu0);
      if (!outcome.notified) throw new Error(`publish ${i}: the notification failed: ${outcome.notifyError}`);
      if (outcome.envelope.revision !== i + 1) throw new Error(`publish ${i}: wrote revision ${outcome.envelope.revision}, expected ${i + 1}`);
      const tReceived = await receipt(outcome.traceId);

      // Untimed: the CPU work write does, on this very envelope, one piece at a time.
      const e0 = performance.now();
      const text = encodeEnvelope(outcome.envelope); // the SET (and LPUSH) payload
      const e1 = performance.now();
      canonicalJson(outcome.envelope.data); // write's up-front check that the data can be written
      const e2 = performance.now();
      decodeEnvelope(text); // write decodes the live envelope it GETs (the previous revision, same size)
      const e3 = performance.now();
      if (Buffer.byteLength(text) < bytes * 0.99) throw new Error(`publish ${i}: envelope is ${text.length} bytes, expected about ${bytes}`);

      if (i >= spec.warmup) {
        result.written.push(store.writtenAt - t0);
        result.notified.push(tNotified - t0);
        result.received.push(tReceived - t0);
        result.cpu.push((cpu.user + cpu.system) / 1000);
        result.encode.push(e1 - e0);
        result.check.push(e2 - e1);
        result.decode.push(e3 - e2);
        if (tReceived < tNotified) result.receivedBeforeNotified++;
      }
    }
    result.clientPeakRssDelta = process.resourceUsage().maxRSS * 1024 - rssBefore;

    // What the case left in Redis.
    const stored = await redis.get(KEY);
    if (stored === null || decodeEnvelope(stored).revision !== total) throw new Error(`the live document is not at revision ${total}`);
    const list = historyKey(KEY);
    const historyLength = await redis.llen(list);
    const expectedLength = Math.min(spec.historyLimit, total);
    if (historyLength !== expectedLength) throw new Error(`history holds ${historyLength} entries, expected ${expectedLength}`);
    const memoryUsage = async (key: string) => ((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) as number | null) ?? null;
    const info = (await redis.info('memory')) + (await redis.info('server'));
    const pid = infoField(info, 'process_id');
    let peakRss: number | undefined;
    try {
      const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (kb) peakRss = Number(kb[1]) * 1024;
    } catch {
      // not Linux, or not allowed: left out
    }
    result.redis = {
      usedMemory: infoField(info, 'used_memory'),
      usedMemoryPeak: infoField(info, 'used_memory_peak'),
      usedMemoryRss: infoField(info, 'used_memory_rss'),
      peakRss,
      docBytes: await memoryUsage(KEY),
      historyLength,
      historyBytes: historyLength ? await memoryUsage(list) : null,
    };
    return result;
  } finally {
    await subscriber?.close().catch(() => undefined);
    await publisher?.close().catch(() => undefined);
    await closeRedis(redis);
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics and report

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  // Nearest rank: the smallest value with at least q of the runs at or below it.
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  if (n === 0) return NaN;
  return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
};

function ms(value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}
const mb = (bytes: number | null | undefined) => (bytes === null || bytes === undefined || !Number.isFinite(bytes) ? 'n/a' : `${(bytes / MB).toFixed(1)} MB`);
const sizeLabel = (bytes: number) => (bytes < MB ? `${(bytes / 1024).toFixed(0)} KB` : `${(bytes / MB).toFixed(2)} MB`);
const historyLabel = (spec: CaseSpec) => (spec.historyLimit > 0 ? `on (${spec.historyLimit})` : 'off (0)');
const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

function version(command: string): string {
  try {
    return execFileSync(command, ['--version'], { encoding: 'utf8', timeout: 5000 }).trim();
  } catch (e) {
    return `unknown (${(e as Error).message})`;
  }
}

const children = new Set<import('node:child_process').ChildProcess>();

function runChild(index: number, redisUrl: string, natsUrl: string): Promise<CaseResult> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--child', String(index), redisUrl, natsUrl], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.add(child);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`case ${index} did not finish within ${CASE_TIMEOUT_MS / 1000} s`));
    }, CASE_TIMEOUT_MS);
    let answer: CaseResult | undefined;
    child.on('message', (m) => (answer = m as CaseResult));
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      children.delete(child);
      if (answer && code === 0) resolve(answer);
      else reject(new Error(`case ${index} (${CASES[index].label}, history ${historyLabel(CASES[index])}) exited with ${code}`));
    });
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  const cpus = os.cpus();
  const machine = `${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${Math.round(os.totalmem() / 1024 ** 3)} GB RAM, Node ${process.version}, ${os.platform()} ${os.arch()}`;
  const servers = `${version('redis-server')}; ${version('nats-server')}`;
  console.log(`Machine: ${machine}`);
  console.log(`Servers: ${servers}`);
  const loadBefore = loadavg();
  console.log(`Load average at start (1/5/15 min): ${loadBefore}`);

  const running = new Set<ServerProcess>();
  const stopAll = async () => {
    for (const child of children) child.kill('SIGKILL');
    await Promise.all([...running].map((s) => s.dispose().catch(() => undefined)));
    running.clear();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    void stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const results: CaseResult[] = [];
  try {
    const nats = await startNats();
    running.add(nats);
    for (let index = 0; index < CASES.length; index++) {
      // A fresh redis-server per case: its memory figures then belong to that case alone.
      const redis = await startRedis();
      running.add(redis);
      try {
        const r = await runChild(index, redis.url, nats.url);
        results.push(r);
        console.log(
          `  ${sizeLabel(r.bytes).padEnd(7)} history ${historyLabel(r.spec).padEnd(7)} n=${r.written.length}: ` +
            `written ${ms(median(r.written))} (p99 ${ms(quantile(r.written, 0.99))}), notified ${ms(median(r.notified))} (p99 ${ms(quantile(r.notified, 0.99))}), ` +
            `received ${ms(median(r.received))} (p99 ${ms(quantile(r.received, 0.99))}); load ${loadavg()}`,
        );
      } finally {
        await redis.dispose();
        running.delete(redis);
      }
    }
  } finally {
    await stopAll();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const lines: string[] = [];
  lines.push('| document | history | stage | p50 | p90 | p99 | max |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const r of results) {
    const stages: [string, number[]][] = [
      ['written', r.written],
      ['notified', r.notified],
      ['received', r.received],
    ];
    for (const [stage, values] of stages) {
      lines.push(`| ${sizeLabel(r.bytes)} (n=${values.length}) | ${historyLabel(r.spec)} | ${stage} | ${ms(median(values))} | ${ms(quantile(values, 0.9))} | ${ms(quantile(values, 0.99))} | ${ms(Math.max(...values))} |`);
    }
  }
  lines.push('');
  lines.push('Where the time goes (medians per publish; encode, check and decode timed separately on the same envelopes):');
  lines.push('');
  lines.push('| document | history | written | client CPU in publish | encode envelope | canonical check of data | decode live envelope | written − (encode + check + decode) | notify (notified − written) | received − notified |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const cpuWork = r.encode.map((e, i) => e + r.check[i] + r.decode[i]);
    const rest = r.written.map((w, i) => w - cpuWork[i]);
    const notify = r.notified.map((n, i) => n - r.written[i]);
    const after = r.received.map((x, i) => x - r.notified[i]);
    lines.push(
      `| ${sizeLabel(r.bytes)} | ${historyLabel(r.spec)} | ${ms(median(r.written))} | ${ms(median(r.cpu))} | ${ms(median(r.encode))} | ${ms(median(r.check))} | ${ms(median(r.decode))} | ${ms(median(rest))} | ${ms(median(notify))} | ${ms(median(after))} (${r.receivedBeforeNotified}/${r.received.length} before) |`,
    );
  }
  lines.push('');
  lines.push('Redis after each case (fresh redis-server per case):');
  lines.push('');
  lines.push('| document | history | publishes | history entries | MEMORY USAGE doc | MEMORY USAGE history | used_memory | used_memory_peak | redis RSS (peak) | client peak RSS growth |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const m = r.redis;
    lines.push(
      `| ${sizeLabel(r.bytes)} | ${historyLabel(r.spec)} | ${r.spec.warmup + r.spec.runs} | ${m.historyLength} | ${mb(m.docBytes)} | ${m.historyBytes === null ? '—' : mb(m.historyBytes)} | ${mb(m.usedMemory)} | ${mb(m.usedMemoryPeak)} | ${mb(m.usedMemoryRss)} (${mb(m.peakRss)}) | +${mb(r.clientPeakRssDelta)} |`,
    );
  }
  lines.push('');
  lines.push(`Documents: ${results.filter((r) => r.spec.historyLimit > 0).map((r) => `${sizeLabel(r.bytes)} envelope (${r.bytes} bytes, ${r.teams} scaled teams)`).join(', ')}; ${CASES[0].warmup} warm-up publishes per case before timing.`);
  lines.push(`Machine: ${machine}; ${servers}; load average (1/5/15 min) ${loadBefore} at start, ${loadavg()} at end.`);
  lines.push(`Bench wall time: ${((performance.now() - started) / 1000).toFixed(0)} s.`);
  console.log('\n' + lines.join('\n'));
}

async function child(index: number, redisUrl: string, natsUrl: string): Promise<void> {
  const result = await runCase(CASES[index], redisUrl, natsUrl);
  process.send!(result, () => process.exit(0));
}

if (process.argv[2] === '--child') {
  child(Number(process.argv[3]), process.argv[4], process.argv[5]).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
