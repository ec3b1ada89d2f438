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
 * publishDocument confirms the NATS connection (one PING/PONG) before it writes, so `written` includes
 * that round trip; `gap` = received − written is what every replica's convergence clock pays between
 * the committed write and the notification.
 *
 * Sessions (50 KB document): what one CLI run does, a fresh Redis and NATS connection per publish,
 * in the order DriftLens uses since issue 9 (both connected before the write) and, for comparison, the
 * order before it (NATS dialled after the write), interleaved; each with its write→received gap.
 *
 * Sizes: a ~1 MB Cordum-shaped document (200 timed publishes) and a ~50 KB one (100), each with history
 * on (the default limit 50: the envelope is also LPUSHed to `driftlens:history:{key}`) and off
 * (historyLimit 0). The two variants publish to two keys, interleaved in ABBA order in one process, so
 * a shared machine's changing load weighs on both alike. Each size runs in a fresh child process
 * against a fresh redis-server (its memory figures then belong to that size); nats-server is shared.
 * Every publish is a fresh, changed data map (one topic's pool name carries the publish number) at
 * revision N+1.
 *
 * Run: `npm run compile-tests && node out/bench/publish.bench.js`.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { NatsConnection } from 'nats';
import { parse } from 'yaml';
import { analyzeDocument } from '../src/core/analysis';
import { canonicalJson, type JsonValue } from '../src/core/canonical';
import { ConfigStore, DEFAULT_HISTORY_LIMIT, historyKey, type ConfigWriteInput } from '../src/live/configStore';
import { decodeEnvelope, encodeEnvelope, type ConfigEnvelope } from '../src/live/envelope';
import { connectNats } from '../src/live/natsConnection';
import { decodeBusPacket, DEFAULT_CONFIG_CHANGED_SUBJECT, publishConfigChanged } from '../src/live/notifier';
import { publishDocument } from '../src/live/publisher';
import { closeRedis, connectRedis } from '../src/live/redisConnection';
import { startNats, startRedis, type ServerProcess } from '../test/support/servers';
import { endRun, runLine, saveRun, type SavedRun } from './results';
import { announceRun, loadavg, MB, median, ms, quantile, runChildCase, stopOnSignals } from './stats';

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'cordum');
const SUBJECT = DEFAULT_CONFIG_CHANGED_SUBJECT;
/** How long a subscriber may take to see a notification before the bench calls it lost. */
const RECEIVE_TIMEOUT_MS = 5000;
/** A child that takes longer than this is killed (a hung connection must not hang the bench). */
const CHILD_TIMEOUT_MS = 180_000;

interface SizeSpec {
  label: string;
  /** Target size of the stored envelope, bytes. */
  target: number;
  /** Publishes per variant before timing, and timed publishes per variant. */
  warmup: number;
  runs: number;
  /** Fresh-connection publishes per order (0: none), see "Sessions" above. */
  sessions: number;
}

// A 1 MB publish takes a few hundred ms on a small machine, so warm-ups are few. The history list is
// pre-filled to its cap before the warm-ups (envelopes of the same size), so every timed publish with
// history on runs in the steady state: LPUSH one envelope, LTRIM drops the oldest.
const SIZES: SizeSpec[] = [
  { label: '1 MB', target: 1 * MB, warmup: 5, runs: 200, sessions: 0 },
  { label: '50 KB', target: 50 * 1024, warmup: 10, runs: 100, sessions: 60 },
];

/** Side by side in one process, publishes interleaved: the default history (50) and history off. */
const HISTORY_LIMITS = [DEFAULT_HISTORY_LIMIT, 0];

/** write's CPU work (check, decode, encode) is re-timed, untimed, on every Nth timed publish. */
const BREAKDOWN_EVERY = 10;

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
// One size (in a child process): history on and off, interleaved

/** ConfigStore that notes when the CAS write resolved (publishDocument continues with the notification). */
class TimedStore extends ConfigStore {
  writtenAt = NaN;
  override async write(key: string, input: ConfigWriteInput): Promise<ConfigEnvelope> {
    const envelope = await super.write(key, input);
    this.writtenAt = performance.now();
    return envelope;
  }
}

interface VariantResult {
  historyLimit: number;
  key: string;
  /** Per timed publish, ms from the call. */
  written: number[];
  notified: number[];
  received: number[];
  /** Client CPU (user + system, all threads of the process) per publish, ms. */
  cpu: number[];
  /** write's client-side CPU work, re-done untimed in write's order on every BREAKDOWN_EVERY-th publish (ms). */
  check: number[];
  decode: number[];
  encode: number[];
  /** Notifications that reached the subscriber before publishDocument resolved. */
  receivedBeforeNotified: number;
  /** MEMORY USAGE of the document key and of its history list (null: no such key). */
  docBytes: number | null;
  historyLength: number;
  historyBytes: number | null;
}

/** Write committed → notification received, ms, per fresh-connection publish, by connection order. */
interface SessionGaps {
  connectFirst: number[];
  connectAfterWrite: number[];
}

interface SizeResult {
  spec: SizeSpec;
  sessions?: SessionGaps;
  bytes: number;
  teams: number;
  variants: VariantResult[];
  redis: { usedMemory: number; usedMemoryPeak: number; usedMemoryRss: number; peakRss?: number };
  clientPeakRssDelta: number;
}

function infoField(info: string, field: string): number {
  const match = new RegExp(`^${field}:(\\d+)`, 'm').exec(info);
  return match ? Number(match[1]) : NaN;
}

async function runSize(spec: SizeSpec, redisUrl: string, natsUrl: string): Promise<SizeResult> {
  const factory = new DataFactory(spec.target);
  const total = spec.warmup + spec.runs;
  assertValid(factory.make(0), spec.label);
  assertValid(factory.make(total - 1), spec.label);
  const bytes = envelopeBytes(factory.make(0));

  const connections: Awaited<ReturnType<typeof connectRedis>>[] = [];
  let publisher: NatsConnection | undefined;
  let subscriber: NatsConnection | undefined;
  try {
    // One Redis connection per variant, as two separate publishers would have.
    const variants = [];
    for (const historyLimit of HISTORY_LIMITS) {
      const redis = await connectRedis({ url: redisUrl }, { name: `driftlens-bench-history-${historyLimit}` });
      connections.push(redis);
      const result: VariantResult = {
        historyLimit,
        key: `cfg:system:bench-history-${historyLimit}`,
        written: [],
        notified: [],
        received: [],
        cpu: [],
        check: [],
        decode: [],
        encode: [],
        receivedBeforeNotified: 0,
        docBytes: null,
        historyLength: 0,
        historyBytes: null,
      };
      variants.push({ redis, store: new TimedStore(redis, { historyLimit }), result });
    }
    publisher = await connectNats({ servers: [natsUrl] }, { name: 'driftlens-bench-publisher' });
    subscriber = await connectNats({ servers: [natsUrl] }, { name: 'driftlens-bench-replica' });
    const pub = publisher;

    // The time of receipt is taken first, the packet decoded after; the message may beat the flush's PONG.
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
      if (at !== undefined) {
        arrivals.delete(traceId);
        return Promise.resolve(at);
      }
      return new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`notification ${traceId} not received within ${RECEIVE_TIMEOUT_MS} ms`)), RECEIVE_TIMEOUT_MS);
        waiters.set(traceId, (t) => {
          clearTimeout(timer);
          waiters.delete(traceId);
          resolve(t);
        });
      });
    };

    for (const { redis, store, result } of variants) {
      if (store.historyLimit === 0) continue;
      // Steady state from the first publish: the list at its cap, each entry the size of the document.
      const filler = encodeEnvelope({ scope: 'system', scopeId: 'filler', data: factory.make(-1), revision: 0, updatedAt: '2026-01-01T00:00:00Z', meta: META });
      for (let i = 0; i < store.historyLimit; i++) await redis.lpush(historyKey(result.key), filler);
    }

    const rssBefore = process.memoryUsage().rss;
    for (let i = 0; i < total; i++) {
      // ABBA order: neither variant always runs right after the other's garbage.
      const order = i % 2 === 0 ? variants : [...variants].reverse();
      for (const { redis, store, result } of order) {
        const data = factory.make(i); // a fresh data map, built before the clock starts
        store.writtenAt = NaN;
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        const outcome = await publishDocument(store, pub, { key: result.key, data, expectedRevision: i, meta: META, subject: SUBJECT, senderId: 'driftlens-bench' });
        const tNotified = performance.now();
        const cpu = process.cpuUsage(cpu0);
        if (!outcome.notified) throw new Error(`publish ${i} of ${result.key}: the notification failed: ${outcome.notifyError}`);
        if (outcome.envelope.revision !== i + 1) throw new Error(`publish ${i} of ${result.key}: wrote revision ${outcome.envelope.revision}, expected ${i + 1}`);
        const tReceived = await receipt(outcome.traceId);
        if (i < spec.warmup) continue;
        result.written.push(store.writtenAt - t0);
        result.notified.push(tNotified - t0);
        result.received.push(tReceived - t0);
        result.cpu.push((cpu.user + cpu.system) / 1000);
        if (tReceived < tNotified) result.receivedBeforeNotified++;

        if ((i - spec.warmup) % BREAKDOWN_EVERY === 0) {
          // Untimed: write's client-side CPU work again, in write's order, on this publish's data.
          const live = await redis.get(result.key); // what the next write's GET returns
          if (live === null) throw new Error(`${result.key} vanished`);
          const c0 = performance.now();
          canonicalJson(data); // write's up-front check that the data can be written as JSON
          const c1 = performance.now();
          decodeEnvelope(live); // the live envelope write GETs and decodes to compare revisions
          const c2 = performance.now();
          const text = encodeEnvelope(outcome.envelope); // the SET (and LPUSH) payload
          const size = Buffer.byteLength(text); // ioredis measures (and flattens) it to send it
          const c3 = performance.now();
          if (size !== Buffer.byteLength(live)) throw new Error(`${result.key}: the envelope re-encoded is ${size} bytes, the stored one ${Buffer.byteLength(live)}`);
          result.check.push(c1 - c0);
          result.decode.push(c2 - c1);
          result.encode.push(c3 - c2);
        }
      }
    }
    const clientPeakRssDelta = process.resourceUsage().maxRSS * 1024 - rssBefore;

    // One CLI run per publish: fresh connections, in the issue 9 order and in the order before it.
    let sessions: SessionGaps | undefined;
    if (spec.sessions > 0) {
      sessions = { connectFirst: [], connectAfterWrite: [] };
      const key = 'cfg:system:bench-session';
      for (let i = 0; i < 2 * spec.sessions; i++) {
        const data = factory.make(i);
        const meta = META;
        const connectFirst = i % 2 === 0;
        const [redis, nats] = connectFirst
          ? await Promise.all([connectRedis({ url: redisUrl }, { name: 'driftlens-bench-session' }), connectNats({ servers: [natsUrl] }, { name: 'driftlens-bench-session', maxReconnectAttempts: 0 })])
          : [await connectRedis({ url: redisUrl }, { name: 'driftlens-bench-session' }), undefined];
        try {
          const store = new TimedStore(redis, { historyLimit: 0 });
          let traceId: string;
          if (nats) {
            const outcome = await publishDocument(store, nats, { key, data, expectedRevision: i, meta, subject: SUBJECT, senderId: 'driftlens-bench' });
            if (!outcome.notified) throw new Error(`session publish ${i}: ${outcome.notifyError}`);
            traceId = outcome.traceId;
          } else {
            await store.write(key, { data, meta, expectedRevision: i });
            const late = await connectNats({ servers: [natsUrl] }, { name: 'driftlens-bench-session', maxReconnectAttempts: 0 });
            try {
              traceId = (await publishConfigChanged(late, SUBJECT, { scope: 'system', scopeId: 'bench-session', senderId: 'driftlens-bench' })).traceId;
            } finally {
              await late.close();
            }
          }
          const gap = (await receipt(traceId)) - store.writtenAt;
          (connectFirst ? sessions.connectFirst : sessions.connectAfterWrite).push(gap);
        } finally {
          await nats?.close();
          await closeRedis(redis);
        }
      }
    }

    // What the publishes left in Redis.
    const redis = variants[0].redis;
    const memoryUsage = async (key: string) => ((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) as number | null) ?? null;
    for (const { result } of variants) {
      const stored = await redis.get(result.key);
      if (stored === null || decodeEnvelope(stored).revision !== total) throw new Error(`${result.key} is not at revision ${total}`);
      result.historyLength = await redis.llen(historyKey(result.key));
      if (result.historyLength !== result.historyLimit) throw new Error(`${historyKey(result.key)} holds ${result.historyLength} entries, expected ${result.historyLimit}`);
      result.docBytes = await memoryUsage(result.key);
      result.historyBytes = result.historyLength ? await memoryUsage(historyKey(result.key)) : null;
    }
    const info = (await redis.info('memory')) + (await redis.info('server'));
    let peakRss: number | undefined;
    try {
      const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${infoField(info, 'process_id')}/status`, 'utf8'));
      if (kb) peakRss = Number(kb[1]) * 1024;
    } catch {
      // not Linux, or not allowed: left out
    }
    return {
      spec,
      bytes,
      teams: factory.teams,
      variants: variants.map((v) => v.result),
      sessions,
      redis: { usedMemory: infoField(info, 'used_memory'), usedMemoryPeak: infoField(info, 'used_memory_peak'), usedMemoryRss: infoField(info, 'used_memory_rss'), peakRss },
      clientPeakRssDelta,
    };
  } finally {
    await subscriber?.close().catch(() => undefined);
    await publisher?.close().catch(() => undefined);
    for (const redis of connections) await closeRedis(redis);
  }
}

// ---------------------------------------------------------------------------------------------
// Statistics and report

const mb = (bytes: number | null | undefined) => (bytes === null || bytes === undefined || !Number.isFinite(bytes) ? 'n/a' : `${(bytes / MB).toFixed(1)} MB`);
const sizeLabel = (bytes: number) => (bytes < MB ? `${(bytes / 1024).toFixed(0)} KB` : `${(bytes / MB).toFixed(2)} MB`);
/** Per publish: from the committed write to the subscriber's receipt (what a replica waits). */
const gaps = (v: VariantResult) => v.received.map((x, i) => x - v.written[i]);
const historyLabel = (limit: number) => (limit > 0 ? `on (${limit})` : 'off (0)');



function runChild(index: number, redisUrl: string, natsUrl: string): Promise<SizeResult> {
  return runChildCase<SizeResult>(__filename, [String(index), redisUrl, natsUrl], SIZES[index].label, CHILD_TIMEOUT_MS, []);
}

async function main(): Promise<void> {
  const started = performance.now();
  const { machineLine, servers, loadBefore } = announceRun();
  // Everything started here is stopped on the way out, also on an error or Ctrl-C.
  const running = new Set<ServerProcess>();
  const stopAll = stopOnSignals(running);

  const results: SizeResult[] = [];
  try {
    const nats = await startNats();
    running.add(nats);
    for (let index = 0; index < SIZES.length; index++) {
      // A fresh redis-server per size: its memory figures then belong to that size alone.
      const redis = await startRedis();
      running.add(redis);
      try {
        const r = await runChild(index, redis.url, nats.url);
        results.push(r);
        for (const v of r.variants) {
          console.log(
            `  ${sizeLabel(r.bytes).padEnd(7)} history ${historyLabel(v.historyLimit).padEnd(7)} n=${v.written.length}: ` +
              `written ${ms(median(v.written))} (p99 ${ms(quantile(v.written, 0.99))}), notified ${ms(median(v.notified))} (p99 ${ms(quantile(v.notified, 0.99))}), ` +
              `received ${ms(median(v.received))} (p99 ${ms(quantile(v.received, 0.99))}), ` +
              `gap write→received ${ms(median(gaps(v)))} (p99 ${ms(quantile(gaps(v), 0.99))})`,
          );
        }
        if (r.sessions) {
          for (const [order, values] of [['connect first', r.sessions.connectFirst], ['NATS after write (before issue 9)', r.sessions.connectAfterWrite]] as const) {
            console.log(`  ${sizeLabel(r.bytes).padEnd(7)} one session per publish, ${order}, n=${values.length}: gap write→received ${ms(median(values))} (p90 ${ms(quantile(values, 0.9))}, p99 ${ms(quantile(values, 0.99))}, max ${ms(Math.max(...values))})`);
          }
        }
        console.log(`  load average ${loadavg()}`);
      } finally {
        await redis.dispose();
        running.delete(redis);
      }
    }
  } finally {
    await stopAll();
  }
  const run = endRun<SizeResult[]>('publish', 'npm run bench:publish', { machineLine, servers, loadBefore }, started, results);
  for (const [id, text] of Object.entries(renderPublish(saveRun(run)))) console.log(`\n<!-- ${id} -->\n${text}`);
}

/** The sections of BENCHMARKS.md generated from a saved run (see bench/report.ts). */
export function renderPublish(run: SavedRun<SizeResult[]>): Record<string, string> {
  const results = run.results;
  const lines: string[] = [runLine(run), ''];
  lines.push('| document | history | stage | p50 | p90 | p99 | max |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const r of results) {
    for (const v of r.variants) {
      const stages: [string, number[]][] = [
        ['written', v.written],
        ['notified', v.notified],
        ['received', v.received],
        ['gap: received − written', gaps(v)],
      ];
      for (const [stage, values] of stages) {
        lines.push(`| ${sizeLabel(r.bytes)} (n=${values.length}) | ${historyLabel(v.historyLimit)} | ${stage} | ${ms(median(values))} | ${ms(quantile(values, 0.9))} | ${ms(quantile(values, 0.99))} | ${ms(Math.max(...values))} |`);
      }
    }
  }
  lines.push('');
  lines.push(`Where the time goes (medians; check, decode and encode re-done untimed, in write's order, on every ${BREAKDOWN_EVERY}th publish):`);
  lines.push('');
  lines.push('| document | history | written | client CPU per publish | check: canonical JSON of data | decode live envelope | encode new envelope | written − (check + decode + encode) | notify (notified − written) | received − notified |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    for (const v of r.variants) {
      const cpuWork = median(v.check) + median(v.decode) + median(v.encode);
      const notify = v.notified.map((n, i) => n - v.written[i]);
      const after = v.received.map((x, i) => x - v.notified[i]);
      lines.push(
        `| ${sizeLabel(r.bytes)} | ${historyLabel(v.historyLimit)} | ${ms(median(v.written))} | ${ms(median(v.cpu))} | ${ms(median(v.check))} | ${ms(median(v.decode))} | ${ms(median(v.encode))} | ${ms(median(v.written) - cpuWork)} | ${ms(median(notify))} | ${ms(median(after))} (received first: ${v.receivedBeforeNotified}/${v.received.length}) |`,
      );
    }
  }
  lines.push('');
  lines.push('The write→notification gap of one CLI run per publish (fresh Redis and NATS connections each time; history off), by connection order:');
  lines.push('');
  lines.push('| document | order | n | gap p50 | p90 | p99 | max |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const r of results) {
    if (!r.sessions) continue;
    for (const [order, values] of [['both connected before the write (since issue 9)', r.sessions.connectFirst], ['NATS dialled after the write (before issue 9)', r.sessions.connectAfterWrite]] as const) {
      lines.push(`| ${sizeLabel(r.bytes)} | ${order} | ${values.length} | ${ms(median(values))} | ${ms(quantile(values, 0.9))} | ${ms(quantile(values, 0.99))} | ${ms(Math.max(...values))} |`);
    }
  }
  lines.push('');
  lines.push('Redis after the run (a fresh redis-server per size, both variants in it):');
  lines.push('');
  lines.push('| document | publishes per variant | MEMORY USAGE document | MEMORY USAGE history list (entries) | used_memory | used_memory_peak | redis RSS (peak) | client peak RSS growth |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const on = r.variants.find((v) => v.historyLimit > 0);
    const doc = r.variants.map((v) => mb(v.docBytes)).join(' / ');
    lines.push(
      `| ${sizeLabel(r.bytes)} | ${r.spec.warmup + r.spec.runs} | ${doc} | ${on ? `${mb(on.historyBytes)} (${on.historyLength})` : '—'} | ${mb(r.redis.usedMemory)} | ${mb(r.redis.usedMemoryPeak)} | ${mb(r.redis.usedMemoryRss)} (${mb(r.redis.peakRss)}) | +${mb(r.clientPeakRssDelta)} |`,
    );
  }
  lines.push('');
  lines.push(
    `Documents: ${results.map((r) => `${sizeLabel(r.bytes)} envelope (${r.bytes} bytes, ${r.teams} scaled teams, ${r.spec.warmup} warm-ups)`).join(', ')}; ` +
      'history and no-history publishes interleaved (ABBA) in one process; the history list pre-filled to its cap before timing.',
  );
  return { 'publish-table': lines.join('\n') };
}

async function child(index: number, redisUrl: string, natsUrl: string): Promise<void> {
  const result = await runSize(SIZES[index], redisUrl, natsUrl);
  process.send!(result, () => process.exit(0));
}

if (process.argv[2] === '--child') {
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
