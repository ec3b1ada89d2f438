import { fork, type ChildProcess } from 'node:child_process';

/**
 * `driftlens replicas --shards K`: the replicas run in K child processes (shards), each a copy of
 * this CLI with `--shard i/K` and every other option passed through unchanged (endpoints,
 * cluster seeds, policy, faults), so each shard opens its own Redis connection and its own NATS
 * connections, as K hosts of a fleet would. The parent runs the live table and owns the shards'
 * lives: Ctrl-C, SIGTERM or `--for` stop them cleanly (deregistered), and a shard whose parent
 * died (its IPC channel closed) stops itself, so no orphan keeps reporting.
 */

/** What a shard tells its parent over IPC. */
export type ShardMessage =
  | { type: 'ready'; shard: number; pid: number; replicas: number; first: number; redisConnections: number; natsConnections: number; startMs: number }
  | { type: 'stopped'; shard: number; summary: ShardSummary }
  | { type: 'failed'; shard: number; message: string };

export interface ShardSummary {
  shard: number;
  pid: number;
  replicas: number;
  /** 1-based numbers of its first and last replica. */
  first: number;
  last: number;
  redisConnections: number;
  natsConnections: number;
  checks: number;
  applies: number;
  reports: number;
  errors: number;
  /** The shard's process CPU time (user + system) over its life, ms, and its life, ms. */
  cpuMs: number;
  wallMs: number;
  rssMb: number;
}

/** The replicas of shard `index` of `shards`: contiguous ranges, sizes differing by at most one. */
export function shardRange(count: number, shards: number, index: number): { from: number; to: number } {
  const base = Math.floor(count / shards);
  const extra = count % shards;
  const from = index * base + Math.min(index, extra);
  return { from, to: from + base + (index < extra ? 1 : 0) };
}

/** Default shards: one process up to 200 replicas, then one per 250 (1,000 → 4), at most 16. */
export function defaultShards(count: number): number {
  return count <= 200 ? 1 : Math.min(16, Math.ceil(count / 250));
}

/** `3/4` → { index: 3, of: 4 } */
export function parseShardSpec(spec: string): { index: number; of: number } | undefined {
  const m = /^(\d+)\/(\d+)$/.exec(spec);
  if (!m) return undefined;
  const index = Number(m[1]);
  const of = Number(m[2]);
  return index < of && of >= 1 ? { index, of } : undefined;
}

export interface RunningShards {
  /** Resolves when every shard reported ready (rejects when one failed or exited first). */
  ready: Promise<Extract<ShardMessage, { type: 'ready' }>[]>;
  /** Asks every shard to stop and waits for their summaries (a shard that does not stop in time is killed). */
  stop(timeoutMs?: number): Promise<ShardSummary[]>;
}

/** Starts `shards` copies of this CLI (`cli` = its script) with `args` + `--shard i/K`. */
export function startShards(cli: string, args: string[], shards: number): RunningShards {
  const children: ChildProcess[] = [];
  const summaries = new Map<number, ShardSummary>();
  const readies: Promise<Extract<ShardMessage, { type: 'ready' }>>[] = [];
  for (let i = 0; i < shards; i++) {
    // stderr passes through (a shard's error reaches the person); stdout is the parent's table.
    const child = fork(cli, [...args, '--shard', `${i}/${shards}`], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    children.push(child);
    child.on('message', (m: ShardMessage) => {
      if (m.type === 'stopped') summaries.set(m.shard, m.summary);
    });
    readies.push(
      new Promise((resolve, reject) => {
        child.on('message', (m: ShardMessage) => {
          if (m.type === 'ready') resolve(m);
          if (m.type === 'failed') reject(new Error(`shard ${i + 1} of ${shards}: ${m.message}`));
        });
        child.once('exit', (code, signal) => reject(new Error(`shard ${i + 1} of ${shards} exited before its replicas started (${signal ?? `exit ${code}`})`)));
      }),
    );
  }
  const exited = children.map((c) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => c.once('exit', () => resolve()))));
  return {
    ready: Promise.all(readies),
    async stop(timeoutMs = 15_000) {
      // With a callback, a shard that is disconnecting just now (one that failed to start) makes
      // send() fail quietly instead of emitting an unhandled EPIPE 'error' that kills the parent.
      for (const c of children) if (c.connected) c.send({ type: 'stop' }, () => undefined);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(exited), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await Promise.all(exited);
      return [...summaries.values()].sort((a, b) => a.shard - b.shard);
    },
  };
}

/** In a shard: resolves when the parent asks to stop, dies (IPC closed), or a signal arrives. */
export function untilParentStops(): Promise<void> {
  return new Promise((resolve) => {
    process.on('message', (m: { type?: string }) => m?.type === 'stop' && resolve());
    process.once('disconnect', () => resolve());
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

export function sendToParent(message: ShardMessage): void {
  if (process.send && process.connected) process.send(message);
}

/** The summary of the shards, one line each plus a total, for stderr at the end of a run. */
export function renderShardSummary(summaries: ShardSummary[]): string {
  const lines = summaries.map(
    (s) =>
      `  shard ${s.shard + 1} (pid ${s.pid}): replicas ${s.first}-${s.last} (${s.replicas}), ${s.redisConnections} Redis client + ${s.natsConnections} NATS connections, ` +
      `${s.checks} checks, ${s.applies} applies, ${s.reports} reports, ${s.errors} errors, CPU ${(s.cpuMs / 1000).toFixed(1)} s over ${(s.wallMs / 1000).toFixed(0)} s (${((100 * s.cpuMs) / Math.max(1, s.wallMs)).toFixed(1)}% of a core), ${s.rssMb.toFixed(0)} MB`,
  );
  const sum = (f: (s: ShardSummary) => number) => summaries.reduce((n, s) => n + f(s), 0);
  lines.push(`  total: ${sum((s) => s.replicas)} replicas in ${summaries.length} shards, ${sum((s) => s.checks)} checks, ${sum((s) => s.applies)} applies, ${sum((s) => s.reports)} reports, ${sum((s) => s.errors)} errors, CPU ${(sum((s) => s.cpuMs) / 1000).toFixed(1)} s`);
  return lines.join('\n') + '\n';
}
