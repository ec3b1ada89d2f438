/**
 * The Replicas view at 1,000 replicas, in the real workbench (code-server + Chromium, the UI test
 * setup) against a real local redis-server and nats-server.
 *
 * The fleet: 990 reference agents from the sharded simulator (`driftlens replicas --count 990
 * --heartbeat 1s`, default shards: 4 processes), each reporting once a second, plus 10 probe
 * replicas this process plays, also reporting once a second: 1,000 replicas × 1 report/s. Every
 * FLIP_MS one probe changes state (in sync → drifted: it reports the previous revision's pools
 * hash; drifted → in sync), with a report whose reported_at is the moment of the change.
 *
 * Measured in the page: a MutationObserver on the Replicas view records when each probe's row
 * shows its new state (a drifted row appears in the problems group at the top) or leaves the
 * problems group (back in sync: the in-sync group is collapsed, as it is at 1,000). Latency =
 * that moment − the report's reported_at (same machine clock). The rows measured are the ones a
 * person sees: the tree is virtualised, and problems are drawn first.
 * Extension-host CPU: the host process's CPU time (/proc/<pid>/stat, all threads) over the window.
 *
 *   npm run bench:fleet    (the real workbench: take /tmp/driftlens-vscode.lock on a shared machine)
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { NatsConnection } from 'nats';
import { computeSectionHash } from '../src/core/sectionHash';
import { ConfigStore } from '../src/live/configStore';
import { nowRfc3339Nano } from '../src/live/envelope';
import { connectNats } from '../src/live/natsConnection';
import { closeRedis, connectRedis } from '../src/live/redisConnection';
import { publishReplicaReport, REPLICA_STATUS_VERSION, type ReplicaReport } from '../src/live/replicaReports';
import { startNats, startRedis } from '../test/support/servers';
import { codeServerVersion } from './activation.bench';
import { endRun, ROOT, runLine, saveRun, type SavedRun } from './results';
import { loadavg, machine, median, ms, quantile } from './stats';

const KEY = 'cfg:system:default';
const AGENTS = 990;
const PROBES = 10;
const FLIP_MS = 250;
const WARMUP_MS = Number(process.env.DRIFTLENS_BENCH_FLEET_WARMUP_MS) || 15_000;
const MEASURE_MS = Number(process.env.DRIFTLENS_BENCH_FLEET_MEASURE_MS) || 60_000;
const P99_TARGET_MS = 500;
const CPU_TARGET = 0.2;

export interface FleetResults {
  vscode: string;
  replicas: number;
  agents: number;
  probes: number;
  shards: number;
  /** Reports per second the whole fleet sent over the run (shard summaries + probes). */
  reportsPerSecond: number;
  flipEveryMs: number;
  measureMs: number;
  /** Report → row shows drifted (appears in the problems group), ms, one per flip. */
  appearMs: number[];
  /** Report → row leaves the problems group (back in sync), ms. */
  leaveMs: number[];
  /** Flips whose row never showed the new state within the window. */
  missed: number;
  /** Extension host CPU time over the window, ms, and the window, ms. */
  hostCpuMs: number;
  hostWindowMs: number;
  /** The simulator's shards: CPU time over their life, s, and their life, s. */
  simulatorCpuSeconds: number;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const launcher = () => require(path.join(ROOT, 'test/vscode/launcher/workbench.js')) as { startWorkbench(o: object): Promise<Workbench> };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ui = () => require(path.join(ROOT, 'test/vscode/launcher/ui.js')) as { clickActivityBarItem(page: Page, label: string, o?: object): Promise<void>; waitForText(page: Page, sel: string, text: string, o?: object): Promise<void> };
type Page = { evaluate<T>(f: string | ((arg: never) => T), arg?: unknown): Promise<T>; screenshot(o: object): Promise<unknown> };
type Workbench = { page: Page; runDir: string; close(): Promise<void>; screenshot(name: string): Promise<string> };

const CLI = path.join(ROOT, 'dist/cli.js');

/** The extension host of the workbench whose run dir is `runDir` (its TMPDIR), by /proc. */
function extensionHostPid(runDir: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!cmdline.includes('extensionHost')) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').includes(`=${runDir}/`)) return Number(entry);
    } catch {
      // a process that ended meanwhile, or not ours
    }
  }
  return undefined;
}

/** utime + stime of a process (all its threads), ms. */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
}

/** Installed in the page: records, per probe, every change of what its row shows (a state, or gone). */
const OBSERVER = `(() => {
  const events = [];
  const shown = new Map();
  const states = ['in sync', 'converging', 'drifted', 'not checked', 'stale', 'rejected', 'unknown origin', 'not reporting'];
  const scan = () => {
    const now = Date.now();
    const seen = new Map();
    for (const row of document.querySelectorAll('.monaco-list-row')) {
      const text = row.textContent || '';
      const m = /(probe-\\d+)/.exec(text);
      if (!m) continue;
      const state = states.find((s) => text.includes(s)) || 'other';
      seen.set(m[1], state);
    }
    for (const [id, state] of seen) if (shown.get(id) !== state) { shown.set(id, state); events.push([id, state, now]); }
    for (const id of [...shown.keys()]) if (!seen.has(id) && shown.get(id) !== 'gone') { shown.set(id, 'gone'); events.push([id, 'gone', now]); }
  };
  new MutationObserver(scan).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['aria-label', 'class'] });
  window.__fleetEvents = events;
})()`;

async function main(): Promise<void> {
  const started = performance.now();
  const machineLine = machine();
  const loadBefore = loadavg();
  console.log(`Machine: ${machineLine}\nLoad average at start (1/5/15 min): ${loadBefore}`);
  const [redisServer, natsServer] = await Promise.all([startRedis(), startNats()]);
  const env = { ...process.env, DRIFTLENS_REDIS_URL: redisServer.url, DRIFTLENS_NATS_URL: natsServer.url };
  const workspace = mkdtempSync(path.join(tmpdir(), 'dl-fleet-ws-'));
  cpSync(path.join(ROOT, 'test/vscode/workspace'), workspace, { recursive: true });
  // Short budgets, so that a replica on the previous revision is drifted at once.
  const policy = path.join(workspace, 'drift-policy.yaml');
  writeFileSync(policy, readFileSync(policy, 'utf8').replace('"<= 5s"', '"<= 1s"').replace('"<= 30s"', '"<= 2s"'));
  const artifacts = path.join(ROOT, 'test-results', 'bench-fleet', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(artifacts, { recursive: true });

  const document = path.join(ROOT, 'test/fixtures/config/cfg.system.default.yaml');
  const changed = path.join(workspace, 'cfg.changed.yaml');
  writeFileSync(changed, readFileSync(document, 'utf8').replace('job.default: default', 'job.default: fraud-detection'));
  const cli = (args: string[]) => execFileSync(process.execPath, [CLI, ...args], { env, cwd: workspace, stdio: ['ignore', 'pipe', 'pipe'] });
  cli(['publish', document, '--yes', '--no-write-back', '--expect-revision', '0', '--key', KEY]);
  const redis = await connectRedis({ url: redisServer.url }, { name: 'driftlens-bench-probes' });
  const store = new ConfigStore(redis);
  const previous = (await store.read(KEY))!.envelope.data;
  cli(['publish', changed, '--yes', '--accept-risk', 'many-topics', '--no-write-back', '--expect-revision', '1', '--key', KEY]);
  const live = (await store.read(KEY))!.envelope.data;
  const hash = (section: 'pools' | 'timeouts', data: typeof live) => computeSectionHash(section, data[section]).hash!;
  const hashes = { live: hash('pools', live), previous: hash('pools', previous), timeouts: hash('timeouts', live) };

  const simulator = spawn(process.execPath, [CLI, 'replicas', '--count', String(AGENTS), '--heartbeat', '1s', '--poll', '30s', '--ramp', '5s', '--no-table', '--key', KEY], { env, cwd: workspace, stdio: ['ignore', 'ignore', 'pipe'] });
  let simulatorErr = '';
  simulator.stderr.on('data', (d: Buffer) => (simulatorErr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const check = () => (/simulated replicas .* in (\d+) shards/.test(simulatorErr) ? resolve() : undefined);
    simulator.stderr.on('data', check);
    simulator.once('exit', (code) => reject(new Error(`the simulator exited (${code}): ${simulatorErr}`)));
  });
  const shards = Number(/in (\d+) shards/.exec(simulatorErr)![1]);
  console.log(simulatorErr.trim());

  // The probes: one report a second each, and a state change every FLIP_MS, round robin.
  const nats: NatsConnection = await connectNats({ servers: [natsServer.url] }, { name: 'driftlens-bench-probes' });
  const startedAt = nowRfc3339Nano();
  const probes = Array.from({ length: PROBES }, (_, i) => ({ id: `probe-${String(i + 1).padStart(2, '0')}`, drifted: false, appliedAt: startedAt, reports: 0 }));
  const report = (p: (typeof probes)[number]): ReplicaReport => {
    const now = nowRfc3339Nano();
    return {
      v: REPLICA_STATUS_VERSION,
      replicaId: p.id,
      service: 'scheduler',
      configKey: KEY,
      revision: p.drifted ? 1 : 2,
      reason: p.reports++ === 0 ? 'startup' : 'heartbeat',
      reportedAt: now,
      startedAt,
      pollIntervalMs: 30_000,
      lastCheckAt: now,
      lastCheckTrigger: 'poll',
      sections: {
        pools: { hash: p.drifted ? hashes.previous : hashes.live, appliedAt: p.appliedAt, trigger: 'poll', revision: p.drifted ? 1 : 2 },
        timeouts: { hash: hashes.timeouts, appliedAt: startedAt, trigger: 'startup', revision: 2 },
      },
      lastError: null,
      simulated: true,
    };
  };
  let probeReports = 0;
  const send = (p: (typeof probes)[number]) => {
    probeReports++;
    return publishReplicaReport(redis, nats, report(p), 15_000).catch(() => undefined);
  };
  const heartbeats = probes.map((p, i) => {
    let interval: NodeJS.Timeout | undefined;
    const first = setTimeout(() => {
      void send(p);
      interval = setInterval(() => void send(p), 1000);
    }, (i * 1000) / PROBES);
    return () => (clearTimeout(first), clearInterval(interval));
  });

  const flips: { id: string; state: 'drifted' | 'gone'; t0: number }[] = [];
  let measuring = false;
  let flipTimer: NodeJS.Timeout | undefined;
  let next = 0;
  const flip = () => {
    const p = probes[next++ % PROBES];
    p.drifted = !p.drifted;
    p.appliedAt = nowRfc3339Nano();
    const t0 = Date.now();
    void send(p);
    if (measuring) flips.push({ id: p.id, state: p.drifted ? 'drifted' : 'gone', t0 });
  };

  const wb = await launcher().startWorkbench({
    workspaceFolder: workspace,
    extensionDevelopmentPath: ROOT,
    artifactsDir: artifacts,
    userSettings: { 'driftlens.redis.url': redisServer.url, 'driftlens.nats.servers': [natsServer.url], 'driftlens.policyFile': 'drift-policy.yaml' },
    startTimeoutMs: 120_000,
  });
  let results: FleetResults | undefined;
  try {
    const { page } = wb;
    // Probes in sync sit in the collapsed in-sync group: the flips put them in view.
    flipTimer = setInterval(flip, FLIP_MS);
    await ui().clickActivityBarItem(page, 'DriftLens', { timeoutMs: 60e3 });
    await ui().waitForText(page, '.monaco-list-row', 'probe-', { timeoutMs: 60e3, what: 'the probe replicas in the tree' });
    await page.evaluate(OBSERVER);
    await new Promise((resolve) => setTimeout(resolve, WARMUP_MS)); // warm-up: a fixed span of the run, not a wait for an event
    const host = extensionHostPid(wb.runDir);
    if (!host) throw new Error('cannot find the extension host process');
    const cpu0 = cpuMsOf(host);
    const w0 = performance.now();
    measuring = true;
    await new Promise((resolve) => setTimeout(resolve, MEASURE_MS));
    measuring = false;
    const hostCpuMs = cpuMsOf(host) - cpu0;
    const hostWindowMs = performance.now() - w0;
    clearInterval(flipTimer);
    // Rows still catching up with the last flips get 3 s more.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await wb.screenshot('fleet-bench');
    const events = await page.evaluate<[string, string, number][]>('window.__fleetEvents');
    const appearMs: number[] = [];
    const leaveMs: number[] = [];
    let missed = 0;
    for (const f of flips) {
      const seen = events.find(([id, state, t]) => id === f.id && t >= f.t0 && (f.state === 'gone' ? state === 'gone' : state === f.state));
      if (!seen) missed++;
      else (f.state === 'gone' ? leaveMs : appearMs).push(seen[2] - f.t0);
    }
    results = {
      vscode: '',
      replicas: AGENTS + PROBES,
      agents: AGENTS,
      probes: PROBES,
      shards,
      reportsPerSecond: 0,
      flipEveryMs: FLIP_MS,
      measureMs: MEASURE_MS,
      appearMs,
      leaveMs,
      missed,
      hostCpuMs,
      hostWindowMs,
      simulatorCpuSeconds: 0,
    };
  } finally {
    clearInterval(flipTimer);
    for (const stop of heartbeats) stop();
    await wb.close();
    const exited = new Promise((resolve) => simulator.once('exit', resolve));
    simulator.kill('SIGTERM');
    await exited;
    await nats.close().catch(() => undefined);
    await closeRedis(redis);
    await Promise.all([redisServer.dispose(), natsServer.dispose()]);
    rmSync(workspace, { recursive: true, force: true });
  }
  // The shards' summary: their reports and CPU over their life.
  const total = /total: (\d+) replicas in \d+ shards, \d+ checks, \d+ applies, (\d+) reports, \d+ errors, CPU ([\d.]+) s/.exec(simulatorErr);
  const life = [...simulatorErr.matchAll(/over (\d+) s \(/g)].map((m) => Number(m[1]));
  const lifeSeconds = life.length ? Math.max(...life) : NaN;
  results.reportsPerSecond = total ? Number(total[2]) / lifeSeconds + PROBES : NaN;
  results.simulatorCpuSeconds = total ? Number(total[3]) : NaN;
  results.vscode = codeServerVersion();
  void probeReports;
  const saved = saveRun(endRun<FleetResults>('fleet', 'npm run bench:fleet', { machineLine, loadBefore, servers: `redis-server ${serverVersion('redis-server')}, nats-server ${serverVersion('nats-server')}` }, started, results));
  for (const [id, text] of Object.entries(renderFleet(saved))) console.log(`\n<!-- ${id} -->\n${text}`);
}

function serverVersion(bin: string): string {
  try {
    const out = execFileSync(bin, ['--version'], { encoding: 'utf8' });
    return /v=([\d.]+)|v?(\d+\.\d+\.\d+)/.exec(out)?.slice(1).find(Boolean) ?? '?';
  } catch {
    return '?';
  }
}

/** The sections of BENCHMARKS.md generated from a saved run (see bench/report.ts). */
export function renderFleet(run: SavedRun<FleetResults>): Record<string, string> {
  const r = run.results;
  const all = [...r.appearMs, ...r.leaveMs];
  const row = (what: string, xs: number[]) => `| ${what} | ${xs.length} | ${ms(median(xs))} | ${ms(quantile(xs, 0.95))} | ${ms(quantile(xs, 0.99))} | ${ms(Math.max(...xs))} |`;
  const cpuShare = r.hostCpuMs / r.hostWindowMs;
  const p99 = quantile(all, 0.99);
  const lines = [
    runLine(run),
    `Workbench: ${r.vscode}. Fleet: ${r.agents} reference agents from \`driftlens replicas\` in ${r.shards} shards plus ${r.probes} probe replicas, ${r.replicas} replicas sending ${r.reportsPerSecond.toFixed(0)} reports/s; one probe changes state every ${r.flipEveryMs} ms; ${(r.measureMs / 1000).toFixed(0)} s measured.`,
    '',
    '| report → row in the DOM | changes | median | p95 | p99 | max |',
    '|---|---|---|---|---|---|',
    row('row appears as drifted (problems group)', r.appearMs),
    row('row leaves the problems group (in sync again)', r.leaveMs),
    row('all', all),
    '',
    `Extension host CPU over the ${(r.hostWindowMs / 1000).toFixed(0)} s window: ${(r.hostCpuMs / 1000).toFixed(1)} s, ${(100 * cpuShare).toFixed(1)}% of a core. The simulator's shards used ${r.simulatorCpuSeconds.toFixed(1)} s of CPU over their life.${r.missed ? ` ${r.missed} changes never showed within the window.` : ''}`,
  ];
  const targets = [
    `- **Report → row p99 under ${P99_TARGET_MS} ms at ${r.replicas} replicas × 1 report/s: ${p99 < P99_TARGET_MS && r.missed === 0 ? 'met' : 'not met'}.** p99 ${ms(p99)} over ${all.length} state changes (median ${ms(median(all))})${r.missed ? `, ${r.missed} missed` : ''}.`,
    `- **Extension host CPU under ${CPU_TARGET * 100}% of a core: ${cpuShare < CPU_TARGET ? 'met' : 'not met'}.** ${(100 * cpuShare).toFixed(1)}% (all the host did in the window, so an upper bound on DriftLens's share).`,
  ];
  return { 'fleet-table': lines.join('\n'), 'fleet-targets': targets.join('\n') };
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
