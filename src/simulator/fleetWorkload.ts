import type { JsonValue } from '../core/canonical';
import type { SectionName } from '../core/sectionHash';
import { SchedulerMetrics } from './schedulerMetrics';
import { Workload, type WorkloadOptions } from './workload';

/**
 * The simulator's replicas as schedulers: each replica runs a Workload with the pools and timeouts
 * it has APPLIED (what its setter received), never the live document, so a replica that lost a
 * notification or refused an apply keeps producing the old behaviour, as a real one would. All
 * replicas record into one SchedulerMetrics registry, served on one /metrics endpoint.
 */
export class FleetWorkload {
  readonly metrics = new SchedulerMetrics();
  private readonly replicas = new Map<string, { workload: Workload; applied: Partial<Record<SectionName, JsonValue>>; running: boolean }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: WorkloadOptions = { jobsPerTick: 20, staleAfterMs: 5000 }) {}

  /** The setter of a replica's agent: records what it applied. */
  apply(replica: string, section: SectionName, value: JsonValue): void {
    this.state(replica).applied[section] = value;
  }

  /** A crashed replica schedules nothing until it is restarted (and applies its config again). */
  setRunning(replica: string, running: boolean): void {
    const state = this.state(replica);
    state.running = running;
    if (!running) state.applied = {};
  }

  /** One tick of every running replica that applied a pools section. */
  tick(nowMs = Date.now()): void {
    for (const [replica, state] of this.replicas) {
      if (!state.running || state.applied.pools === undefined) continue;
      this.metrics.record(replica, state.workload.tick(nowMs, state.applied.pools, state.applied.timeouts));
    }
  }

  start(tickMs = 1000): void {
    this.timer ??= setInterval(() => this.tick(), tickMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private state(replica: string) {
    let state = this.replicas.get(replica);
    if (!state) {
      state = { workload: new Workload(this.options), applied: {}, running: true };
      this.replicas.set(replica, state);
    }
    return state;
  }
}
