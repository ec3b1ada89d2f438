import type { JsonValue } from '../core/canonical';

/**
 * A small, documented workload model for the simulator's replicas, so that verification has
 * something real to measure: each simulated scheduler routes a steady stream of jobs with the
 * pools and timeouts it applied, and produces Cordum's four scheduler signals from that.
 * It exists to make verification demonstrable, not to pretend to be Cordum's scheduler:
 *
 * - Every tick, `jobsPerTick` jobs arrive, spread round-robin over the topics of the pools section.
 * - A topic is served by the first *active* pool of its list (a pool without `status` is active).
 *   Served by its first pool: dispatch latency 20–80 ms. Only a later pool is active (spillover):
 *   250–600 ms. Every pool of the topic is `draining`: the pool finishes its running jobs first,
 *   2–8 s. No pool is active or draining (all `inactive`, or the pool is not defined): the job
 *   waits in the backlog and is not dispatched.
 * - A dispatched job whose latency exceeds `reconciler.dispatch_timeout_seconds` (timeouts section)
 *   was given up on and replayed: an orphan replay for its topic. A tiny timeout causes them.
 * - Stale jobs: backlog jobs waiting longer than `staleAfterMs`, by state (`pending`).
 * - Job lock wait: 1–5 ms, plus 1 ms per 10 jobs in the backlog (contention grows with it).
 */

export interface WorkloadOptions {
  jobsPerTick: number;
  /** A waiting job older than this counts as stale. */
  staleAfterMs: number;
  /** [0, 1) uniform; injectable for tests. */
  random?: () => number;
}

export interface TickResult {
  /** Dispatch latency of each job dispatched this tick, seconds, by topic. */
  dispatched: { topic: string; latencySeconds: number }[];
  /** Job lock waits observed this tick, seconds. */
  lockWaits: number[];
  /** Orphan replays this tick, by topic. */
  orphanReplays: Map<string, number>;
  /** Stale jobs now, by state. */
  stale: { pending: number };
  backlog: number;
}

type Obj = { [key: string]: JsonValue };
const obj = (v: JsonValue | undefined): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {});

export type Routing = 'first' | 'spillover' | 'draining' | 'unroutable';

/** How a topic is served by a pools section. */
export function routingOf(pools: JsonValue | undefined, topic: string): Routing {
  const section = obj(pools);
  const listed = section.topics === undefined ? undefined : obj(section.topics)[topic];
  const names = typeof listed === 'string' ? [listed] : Array.isArray(listed) ? listed.filter((n): n is string => typeof n === 'string') : [];
  const definitions = obj(section.pools);
  const hasDefinitions = section.pools !== undefined;
  const status = (name: string): string | undefined => {
    if (hasDefinitions && !(name in definitions)) return undefined; // routed to a pool that does not exist
    const s = obj(definitions[name]).status;
    return typeof s === 'string' ? s : 'active';
  };
  const statuses = names.map(status);
  if (statuses[0] === 'active') return 'first';
  if (statuses.includes('active')) return 'spillover';
  if (statuses.includes('draining')) return 'draining';
  return 'unroutable';
}

export function dispatchTimeoutSeconds(timeouts: JsonValue | undefined): number | undefined {
  const t = obj(obj(timeouts).reconciler).dispatch_timeout_seconds;
  return typeof t === 'number' && Number.isFinite(t) ? t : undefined;
}

export class Workload {
  private readonly random: () => number;
  private next = 0;
  /** Arrival times of jobs waiting for a pool, by topic. */
  private readonly backlog = new Map<string, number[]>();

  constructor(private readonly options: WorkloadOptions) {
    this.random = options.random ?? Math.random;
  }

  private between(lo: number, hi: number): number {
    return lo + (hi - lo) * this.random();
  }

  /** One tick with the config the replica applied now. */
  tick(nowMs: number, pools: JsonValue | undefined, timeouts: JsonValue | undefined): TickResult {
    const topics = Object.keys(obj(obj(pools).topics)).sort();
    const timeout = dispatchTimeoutSeconds(timeouts);
    const result: TickResult = { dispatched: [], lockWaits: [], orphanReplays: new Map(), stale: { pending: 0 }, backlog: 0 };
    // Jobs waiting for a topic that is routable again are dispatched now, with the time they waited.
    for (const [topic, waiting] of this.backlog) {
      if (routingOf(pools, topic) === 'unroutable' && topics.includes(topic)) continue;
      for (const arrived of waiting) this.dispatch(result, topic, (nowMs - arrived) / 1000, timeout);
      this.backlog.delete(topic);
    }
    for (let i = 0; i < this.options.jobsPerTick && topics.length > 0; i++) {
      const topic = topics[this.next++ % topics.length];
      const routing = routingOf(pools, topic);
      if (routing === 'unroutable') {
        const waiting = this.backlog.get(topic) ?? [];
        waiting.push(nowMs);
        this.backlog.set(topic, waiting);
        continue;
      }
      const latency = routing === 'first' ? this.between(0.02, 0.08) : routing === 'spillover' ? this.between(0.25, 0.6) : this.between(2, 8);
      this.dispatch(result, topic, latency, timeout);
    }
    for (const waiting of this.backlog.values()) {
      result.backlog += waiting.length;
      result.stale.pending += waiting.filter((at) => nowMs - at > this.options.staleAfterMs).length;
    }
    for (let i = 0; i < Math.min(this.options.jobsPerTick, 10); i++) result.lockWaits.push(this.between(0.001, 0.005) + result.backlog * 0.0001);
    return result;
  }

  private dispatch(result: TickResult, topic: string, latencySeconds: number, timeout: number | undefined): void {
    result.dispatched.push({ topic, latencySeconds });
    if (timeout !== undefined && latencySeconds > timeout) result.orphanReplays.set(topic, (result.orphanReplays.get(topic) ?? 0) + 1);
  }
}
