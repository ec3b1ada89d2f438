import { ReplicaAgent, type AgentEvent, type ReplicaAgentOptions } from '../agent/replicaAgent';
import type { CheckTrigger, ReplicaReport, ReportReason } from '../live/replicaReports';

/**
 * A replica that only pretends to be a service: the reference agent plus fault injection, for
 * `driftlens replicas`, the tests and the benchmarks. It lives outside src/agent so that none of it
 * ships in the public agent bundle (dist/agent.js, `driftlens/agent`): a production service must not
 * carry a switch that drops notifications or refuses applies.
 *
 * Its reports say `simulated: true` (replica status protocol), so that every view marks it even
 * when it reports into the same Redis as a real fleet.
 */

/** Transport faults to simulate, read on every notification and check; mutate `agent.faults` at run time. */
export interface AgentFaults {
  /** Fraction 0..1 of valid notifications silently dropped (still counted). */
  dropNotifications?: number;
  /** Delay before a notification triggers its check. */
  delayNotificationsMs?: number;
  /** While true every trigger (notification, poll) is ignored, as in a hung reload loop; heartbeats continue. */
  stalled?: boolean;
  /** While true the setter is not called and the apply fails, as if the service refused the section. */
  rejectApply?: boolean;
}

export type SimulatedAgentEvent = AgentEvent | { type: 'notification'; outcome: 'dropped' | 'ignored'; reason?: string };

export interface SimulatedReplicaAgentOptions extends Omit<ReplicaAgentOptions, 'onEvent'> {
  faults?: AgentFaults;
  /**
   * When the first poll fires after start, in ms; then every poll interval. Default: uniform in
   * [0, poll interval). Replicas of one simulator start within milliseconds of each other, and
   * without a phase of their own all their polls would fire together, which no real fleet does.
   */
  pollPhaseMs?: number;
  onEvent?: (event: SimulatedAgentEvent) => void;
}

export interface SimulatedCounters {
  /** Valid notifications discarded by the dropNotifications fault. */
  droppedNotifications: number;
  /** Triggers (notifications, polls) ignored while stalled. */
  ignoredTriggers: number;
}

export class SimulatedReplicaAgent extends ReplicaAgent {
  faults: AgentFaults;
  /** When the first poll fires after start (see the option). */
  readonly pollPhaseMs: number;
  readonly simulatedCounters: SimulatedCounters = { droppedNotifications: 0, ignoredTriggers: 0 };
  private readonly onSimulatedEvent: ((event: SimulatedAgentEvent) => void) | undefined;
  private readonly delayTimers = new Set<NodeJS.Timeout>();

  constructor(options: SimulatedReplicaAgentOptions) {
    // The setter wrapper reads the faults at apply time (after start), when `self` is set.
    let self: SimulatedReplicaAgent | undefined;
    super({
      ...options,
      apply: (section, value, context) => {
        if (self?.faults.rejectApply) throw new Error('apply refused (simulated reject fault)');
        return options.apply(section, value, context);
      },
    });
    self = this;
    this.faults = { ...(options.faults ?? {}) };
    this.onSimulatedEvent = options.onEvent;
    const phase = options.pollPhaseMs ?? Math.random() * this.pollIntervalMs;
    if (!(Number.isFinite(phase) && phase >= 0)) throw new RangeError(`pollPhaseMs must be a number of milliseconds >= 0, not ${phase}`);
    this.pollPhaseMs = phase;
  }

  override stop(options?: { deregister?: boolean }): Promise<void> {
    for (const timer of this.delayTimers) clearTimeout(timer);
    this.delayTimers.clear();
    return super.stop(options);
  }

  protected override onValidNotification(): void {
    const drop = this.faults.dropNotifications ?? 0;
    if (drop > 0 && Math.random() < drop) {
      this.simulatedCounters.droppedNotifications++;
      this.emitSimulated({ type: 'notification', outcome: 'dropped' });
      return;
    }
    if (this.faults.stalled) {
      this.simulatedCounters.ignoredTriggers++;
      this.emitSimulated({ type: 'notification', outcome: 'ignored', reason: 'stalled' });
      return;
    }
    const delay = this.faults.delayNotificationsMs ?? 0;
    if (delay <= 0) return super.onValidNotification();
    const timer = setTimeout(() => {
      this.delayTimers.delete(timer);
      if (!this.isStopped()) super.onValidNotification();
    }, delay);
    this.delayTimers.add(timer);
  }

  protected override requestCheck(trigger: CheckTrigger): Promise<void> {
    if (this.faults.stalled && trigger !== 'startup' && !this.isStopped()) {
      this.simulatedCounters.ignoredTriggers++;
      return Promise.resolve();
    }
    return super.requestCheck(trigger);
  }

  protected override startPollTicker(tick: () => void): () => void {
    let interval: NodeJS.Timeout | undefined;
    const first = setTimeout(() => {
      tick();
      interval = setInterval(tick, this.pollIntervalMs);
    }, this.pollPhaseMs);
    return () => {
      clearTimeout(first);
      clearInterval(interval);
    };
  }

  protected override snapshot(reason: ReportReason, seq?: number): ReplicaReport {
    return { ...super.snapshot(reason, seq), simulated: true };
  }

  protected override emit(event: AgentEvent): void {
    this.emitSimulated(event);
  }

  private emitSimulated(event: SimulatedAgentEvent): void {
    try {
      this.onSimulatedEvent?.(event);
    } catch {
      // an observer's bug must not break the reload loop
    }
  }
}
