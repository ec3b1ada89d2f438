/**
 * Per-replica costs, measured against a real local redis-server and nats-server, for the capacity
 * model (README, "Capacity at 10,000 replicas"): what one replica's poll and report cost Redis
 * (commands from INFO commandstats before/after, Redis CPU from their usec, bytes from INFO
 * stats), the bytes of one status event and one change notification on NATS, and what the
 * watcher's periodic re-read costs per replica. Watcher CPU per report comes from the replica-watch
 * bench (bench/results/replicaWatch.json: DriftWatcher at 1,000 reports/s).
 *
 *   npm run bench:capacity
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { NatsConnection } from 'nats';
import { ReplicaAgent } from '../src/agent/replicaAgent';
import { connectNats } from '../src/live/natsConnection';
import { publishConfigChanged } from '../src/live/notifier';
import { closeRedis, connectRedis, type RedisClient } from '../src/live/redisConnection';
import { readReplicaReports, STATUS_SUBJECT } from '../src/live/replicaReports';
import { startNats, startRedis } from '../test/support/servers';
import { endRun, loadRun, resultsFile, ROOT, runLine, saveRun, type SavedRun } from './results';
import { loadavg, machine } from './stats';
import type { ReplicaWatchResults } from './replicaWatch.bench';

const KEY = 'cfg:system:capacity';
const SAMPLES = 200;
const READ_REPLICAS = 1000;

interface RedisCost {
  /** Commands per operation (MULTI/EXEC count as commands), by command name. */
  commands: Record<string, number>;
  /** Redis CPU per operation, µs (sum of commandstats usec). */
  usec: number;
  /** Bytes Redis received / sent per operation. */
  bytesIn: number;
  bytesOut: number;
}

export interface CapacityResults {
  poll: RedisCost;
  report: RedisCost;
  /** Status event on NATS (payload bytes) per report, and a change notification's payload. */
  statusEventBytes: number;
  notificationBytes: number;
  /** The live document's size, what every replica GETs after a notification. */
  documentBytes: number;
  /** The watcher's full re-read (ZRANGE + MGET), per replica present. */
  readPerReplica: RedisCost;
}

async function commandStats(redis: RedisClient): Promise<{ calls: Record<string, number>; usec: number; bytesIn: number; bytesOut: number }> {
  const info = String(await redis.call('INFO', 'commandstats')) + String(await redis.call('INFO', 'stats'));
  const calls: Record<string, number> = {};
  let usec = 0;
  for (const m of info.matchAll(/^cmdstat_([\w|]+):calls=(\d+),usec=(\d+)/gm)) {
    if (['info', 'config|resetstat', 'config', 'client|setname', 'client|setinfo', 'client', 'select', 'hello'].includes(m[1])) continue;
    calls[m[1]] = Number(m[2]);
    usec += Number(m[3]);
  }
  const num = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
  return { calls, usec, bytesIn: num('total_net_input_bytes'), bytesOut: num('total_net_output_bytes') };
}

/** The cost of `n` operations, per operation, from the stats before and after (the stats connection's own INFO excluded by name; its bytes are small and subtracted by a dry run). */
async function measure(stats: RedisClient, n: number, run: () => Promise<void>): Promise<RedisCost> {
  await stats.call('CONFIG', 'RESETSTAT');
  const idle0 = await commandStats(stats);
  const idle1 = await commandStats(stats); // what one INFO pair costs in bytes
  const infoIn = idle1.bytesIn - idle0.bytesIn;
  const infoOut = idle1.bytesOut - idle0.bytesOut;
  await stats.call('CONFIG', 'RESETSTAT');
  const before = await commandStats(stats);
  await run();
  const after = await commandStats(stats);
  const commands: Record<string, number> = {};
  for (const [name, calls] of Object.entries(after.calls)) {
    const d = calls - (before.calls[name] ?? 0);
    if (d > 0) commands[name] = d / n;
  }
  return { commands, usec: (after.usec - before.usec) / n, bytesIn: (after.bytesIn - before.bytesIn - infoIn) / n, bytesOut: (after.bytesOut - before.bytesOut - infoOut) / n };
}

async function main(): Promise<void> {
  const started = performance.now();
  const machineLine = machine();
  const loadBefore = loadavg();
  const [redisServer, natsServer] = await Promise.all([startRedis(), startNats()]);
  const env = { ...process.env, DRIFTLENS_REDIS_URL: redisServer.url, DRIFTLENS_NATS_URL: natsServer.url };
  const cwd = mkdtempSync(path.join(tmpdir(), 'dl-capacity-'));
  const document = path.join(ROOT, 'test/fixtures/config/cfg.system.default.yaml');
  execFileSync(process.execPath, [path.join(ROOT, 'dist/cli.js'), 'publish', document, '--yes', '--no-write-back', '--expect-revision', '0', '--key', KEY], { env, cwd, stdio: 'ignore' });
  const stats = await connectRedis({ url: redisServer.url }, { name: 'driftlens-capacity-stats' });
  const redis = await connectRedis({ url: redisServer.url }, { name: 'driftlens-capacity' });
  const nats: NatsConnection = await connectNats({ servers: [natsServer.url] }, { name: 'driftlens-capacity' });
  const documentBytes = Buffer.byteLength(String(await redis.get(KEY)));
  try {
    // Status events: their payload bytes, as a watcher receives them.
    let statusBytes = 0;
    let statusEvents = 0;
    const sub = nats.subscribe(STATUS_SUBJECT, { callback: (_e, m) => ((statusBytes += m.data.length), statusEvents++) });

    // One agent; its polls and heartbeats driven by its own timers, counted by its events.
    let checks = 0;
    let reports = 0;
    const agentFor = (pollIntervalMs: number, heartbeatMs: number) =>
      new ReplicaAgent({ configKey: KEY, service: 'scheduler', replicaId: 'capacity-1', pollIntervalMs, envOverride: false, heartbeatMs, redis, nats, apply: () => undefined, onEvent: (e) => (e.type === 'check' && e.trigger === 'poll' ? checks++ : e.type === 'report' ? reports++ : undefined) });
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    // Polls: a 20 ms poll, heartbeats out of the way.
    let agent = agentFor(20, 3_600_000);
    await agent.start();
    const poll = await measure(stats, SAMPLES, async () => {
      const target = checks + SAMPLES;
      await until(() => checks >= target);
    });
    await agent.stop();
    // Reports: a 20 ms heartbeat, polls out of the way.
    agent = agentFor(3_600_000, 20);
    await agent.start();
    await nats.flush();
    statusBytes = 0;
    statusEvents = 0;
    const report = await measure(stats, SAMPLES, async () => {
      const target = reports + SAMPLES;
      await until(() => reports >= target);
    });
    await nats.flush();
    await agent.stop({ deregister: true });
    const statusEventBytes = statusBytes / Math.max(1, statusEvents);
    sub.unsubscribe();

    // A change notification's payload.
    let notificationBytes = NaN;
    const notified = new Promise<void>((resolve) => nats.subscribe('sys.config.changed', { max: 1, callback: (_e, m) => ((notificationBytes = m.data.length), resolve()) }));
    await publishConfigChanged(nats, 'sys.config.changed', { scope: 'system', scopeId: 'capacity', senderId: 'capacity-bench' });
    await notified;

    // The watcher's re-read with READ_REPLICAS reports present.
    const many = Array.from({ length: READ_REPLICAS }, (_, i) => new ReplicaAgent({ configKey: KEY, service: 'scheduler', replicaId: `r-${i}`, pollIntervalMs: 3_600_000, envOverride: false, heartbeatMs: 3_600_000, redis, nats: undefined, apply: () => undefined }));
    for (const a of many) await a.start();
    const read = await measure(stats, 1, async () => void (await readReplicaReports(redis, KEY)));
    const readPerReplica: RedisCost = { commands: Object.fromEntries(Object.entries(read.commands).map(([k, v]) => [k, v / READ_REPLICAS])), usec: read.usec / READ_REPLICAS, bytesIn: read.bytesIn / READ_REPLICAS, bytesOut: read.bytesOut / READ_REPLICAS };
    await Promise.all(many.map((a) => a.stop({ deregister: true })));

    const results: CapacityResults = { poll, report, statusEventBytes, notificationBytes, documentBytes, readPerReplica };
    const saved = saveRun(endRun<CapacityResults>('capacity', 'npm run bench:capacity', { machineLine, loadBefore, servers: `redis-server, nats-server` }, started, results));
    for (const [id, text] of Object.entries(renderCapacity(saved))) console.log(`\n<!-- ${id} -->\n${text}`);
  } finally {
    await nats.close().catch(() => undefined);
    await closeRedis(redis);
    await closeRedis(stats);
    await Promise.all([redisServer.dispose(), natsServer.dispose()]);
  }
}

const n0 = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 0 });
const n1 = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 1 });
const kbps = (bytesPerSecond: number) => (bytesPerSecond >= 1e6 ? `${n1(bytesPerSecond / 1e6)} MB/s` : `${n1(bytesPerSecond / 1e3)} KB/s`);
const commandList = (c: RedisCost) => Object.entries(c.commands).sort().map(([k, v]) => `${n1(v)} ${k.toUpperCase()}`).join(' + ');
const total = (c: RedisCost) => Object.values(c.commands).reduce((a, b) => a + b, 0);

/** The model's inputs beside the watcher's measured CPU per report (replica-watch bench). */
function watcherCpuPerReportUs(root: string): number {
  if (!existsSync(resultsFile('replicaWatch', root))) return NaN;
  const w = loadRun<ReplicaWatchResults>('replicaWatch', root).results.watch;
  return (w.cpuShare * w.seconds * 1e6) / w.events;
}

/** The sections of BENCHMARKS.md and README.md generated from a saved run (see bench/report.ts). */
export function renderCapacity(run: SavedRun<CapacityResults>, root = ROOT): Record<string, string> {
  const r = run.results;
  const watcherUs = watcherCpuPerReportUs(root);
  const replicas = 10_000;
  const pollS = 30;
  const heartbeatS = 5;
  const polls = replicas / pollS;
  const reports = replicas / heartbeatS;
  const redisCommands = polls * total(r.poll) + reports * total(r.report);
  const redisCpu = (polls * r.poll.usec + reports * r.report.usec) / 1e6;
  const redisIn = polls * r.poll.bytesIn + reports * r.report.bytesIn;
  const redisOut = polls * r.poll.bytesOut + reports * r.report.bytesOut;
  const readEvery = 5;
  const readBytes = replicas * r.readPerReplica.bytesOut;
  const watcherCpu = (reports * watcherUs) / 1e6;
  const natsIn = reports * r.statusEventBytes;
  const burst = replicas * r.documentBytes;
  const costs = [
    '| cost, measured | per operation |',
    '|---|---|',
    `| a poll (GET the document; the replica compares hashes) | ${commandList(r.poll)} = ${n1(total(r.poll))} commands, ${n1(r.poll.usec)} µs Redis CPU, ${n0(r.poll.bytesIn)} B in / ${n0(r.poll.bytesOut)} B out |`,
    `| a report (durable SET + index ZADD in MULTI, then the live event) | ${commandList(r.report)} = ${n1(total(r.report))} commands, ${n1(r.report.usec)} µs Redis CPU, ${n0(r.report.bytesIn)} B in / ${n0(r.report.bytesOut)} B out |`,
    `| a status event on NATS (payload) | ${n0(r.statusEventBytes)} B |`,
    `| a change notification on NATS (payload) | ${n0(r.notificationBytes)} B |`,
    `| the live document every replica GETs after a notification | ${n0(r.documentBytes)} B |`,
    `| the watcher's re-read (ZRANGE + MGET), per replica present | ${n1(r.readPerReplica.usec)} µs Redis CPU, ${n0(r.readPerReplica.bytesOut)} B out |`,
    `| the watcher's CPU per status event (replica-watch bench, DriftWatcher at 1,000 reports/s) | ${n0(watcherUs)} µs |`,
  ];
  const model = [
    `| ${n0(replicas)} replicas, poll ${pollS} s, heartbeat ${heartbeatS} s | load | share of what it has |`,
    '|---|---|---|',
    `| Redis commands | ${n0(polls)} polls/s + ${n0(reports)} reports/s = ${n0(redisCommands)} commands/s | Redis CPU ${n1(100 * redisCpu)}% of its one core |`,
    `| Redis network, steady | ${kbps(redisIn)} in, ${kbps(redisOut)} out | |`,
    `| Redis, each watcher's re-read every ${readEvery} s | ${kbps(readBytes / readEvery)} out per open window or \`status --watch\` | ${n1((100 * replicas * r.readPerReplica.usec) / 1e6 / readEvery)}% of Redis's core per watcher |`,
    `| a publish: every replica GETs the document at once | ${n1(burst / 1e6)} MB out of Redis within the notification's fan-out | ${n1((replicas * r.poll.usec) / 1e3)} ms of Redis CPU |`,
    `| NATS status events | ${n0(reports)} msgs/s, ${kbps(natsIn)} in, the same out to each watcher | |`,
    `| NATS change notification | ${n0(replicas)} deliveries of ${n0(r.notificationBytes)} B per publish (${n1((replicas * r.notificationBytes) / 1e6)} MB) | |`,
    `| the watcher (extension host or \`status --watch\`) | ${n0(reports)} status events/s × ${n0(watcherUs)} µs | **${n1(100 * watcherCpu)}% of a core** |`,
  ];
  const shares: [string, number][] = [
    ['the watcher in the extension host (the 20%-of-a-core budget of the 1,000-replica bench)', watcherCpu / 0.2],
    ["Redis's single core", redisCpu],
  ];
  const [first] = [...shares].sort((a, b) => b[1] - a[1]);
  const heartbeatFor = (watcherUs * replicas) / 1e6 / 0.2;
  const limit = [
    `**First limit: ${first[0]}** — at ${n1(100 * first[1])}% of it, where Redis uses ${n1(100 * redisCpu)}% of its core and NATS carries ${n0(reports)} small messages/s (nats-server handles millions).`,
    `Every watcher handles every replica's status event: ${n0(reports)}/s at a ${heartbeatS} s heartbeat. Within the 20% budget, one watcher follows ${n0((0.2 * 1e6 * heartbeatS) / watcherUs)} replicas at a ${heartbeatS} s heartbeat; ${n0(replicas)} replicas need a heartbeat of ${n1(heartbeatFor)} s or more (the poll, 30 s, does not enter: a poll that finds nothing new reports nothing). Past that, the watcher should stop listening to the live events and re-read Redis only (${kbps(readBytes / readEvery)} per watcher every ${readEvery} s).`,
  ];
  return {
    'capacity-costs': [runLine(run), '', ...costs].join('\n'),
    'capacity-model': [...model, '', ...limit].join('\n'),
    'readme-capacity': [`From the per-replica costs measured by \`npm run bench:capacity\` (BENCHMARKS.md, "Capacity"): a poll is ${n1(total(r.poll))} Redis command (${n0(r.poll.bytesOut)} B out), a report ${n1(total(r.report))} commands plus a ${n0(r.statusEventBytes)} B status event, a watcher spends ${n0(watcherUs)} µs of CPU per status event.`, '', ...model, '', ...limit].join('\n'),
  };
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
