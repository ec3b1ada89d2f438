/**
 * The reference replica agent for Node services: Cordum's reload model (the seed's Go loop), plus the
 * DriftLens replica status reports (src/live/replicaReports.ts) that say what the replica actually applied.
 *
 * - Detect: a `sys.config.changed` notification (broadcast, no queue group) or the fallback poll
 *   ticker triggers a check. A notification is only a hint — its body is never read for config.
 *   Bursts coalesce into one pending check, and checks are single-flight: a trigger arriving during a
 *   check leaves exactly one pending check behind it (the Go `select { case ch <- x: default: }`).
 * - Validate: every check reads the document from Redis, the source of truth, and computes each
 *   section's hash exactly as Cordum does (computeSectionHash).
 * - Apply: a section is handed to the service's setter only when its hash is non-empty and differs
 *   from the last applied one. An invalid section, a failing setter, Redis being down or an unreadable
 *   document never touch the running config: the last good one stays and the next check retries.
 * - Verify: after a check that applied or failed, and on every heartbeat, the agent publishes its
 *   report (durable in Redis with a TTL, live on `sys.config.status`).
 */

import type { NatsConnection, Subscription } from 'nats';
import type { JsonValue } from '../core/canonical';
import { MIN_POLL_INTERVAL_MS, parseTimerDuration } from '../core/duration';
import { DEFAULT_POLICY } from '../core/policy';
import { computeSectionHash, HASH_GATED_SECTIONS } from '../core/sectionHash';
import type { SectionName } from '../core/sectionHash';
import { ConfigStore } from '../live/configStore';
import { AgentMetrics, type AgentMetricsOptions } from './agentMetrics';
import type { LiveConfig } from '../live/configStore';
import type { NatsEndpoint, RedisEndpoint } from '../live/connections';
import { formatRfc3339Nano, nowRfc3339Nano, parseConfigKey } from '../live/envelope';
import { connectNats, onReconnect } from '../live/natsConnection';
import { decodeBusPacket, whyReceiversDrop } from '../live/notifier';
import { closeRedis, connectRedis, endpointLabel, isConnectionError, redisErrorText, RedisUnavailableError } from '../live/redisConnection';
import type { RedisClient } from '../live/redisConnection';
import { DEFAULT_HEARTBEAT_MS, publishReplicaReport, ReportWriteError, replicaIndexKey, replicaMember, replicaReportKey, REPLICA_STATUS_VERSION } from '../live/replicaReports';
import type { AppliedSection, CheckTrigger, ReplicaError, ReplicaErrorKind, ReplicaReport, ReportReason } from '../live/replicaReports';

export interface ApplyContext {
  /** The section hash of `value`, which becomes the replica's applied hash when the setter returns. */
  hash: string;
  /** The document revision the section was read from. */
  revision: number;
  trigger: CheckTrigger;
  /** The hash applied before, or undefined on the first apply. */
  previousHash: string | undefined;
}

/**
 * The service's idempotent per-section setter. `value` is the normalised section, exactly what the
 * hash covers (capitalised and legacy field names already renamed, unknown keys dropped). Throwing
 * (or rejecting) refuses the section: the previous config stays and the next check tries again.
 */
export type ApplySection = (section: SectionName, value: JsonValue, context: ApplyContext) => void | Promise<void>;

export type AgentEvent =
  | { type: 'check'; trigger: CheckTrigger; revision: number | null; applied: SectionName[]; errors: ReplicaError[]; durationMs: number }
  | { type: 'applied'; section: SectionName; hash: string; previousHash: string | undefined; revision: number; trigger: CheckTrigger }
  | { type: 'rejected'; section: SectionName; kind: 'invalid' | 'apply-failed'; hash: string | undefined; message: string; trigger: CheckTrigger }
  | { type: 'error'; kind: 'redis-unavailable' | 'live-unreadable' | 'subscription' | 'deregister'; message: string; trigger?: CheckTrigger }
  | { type: 'notification'; outcome: 'accepted' | 'invalid'; reason?: string }
  /**
   * `refused`: Redis answered the report's write with an error (an ACL's NOPERM, OOM, READONLY),
   * which, unlike an outage, does not pass by itself: nobody reads this replica's reports until
   * someone fixes it. Absent when the write failed because Redis was unreachable.
   */
  | { type: 'report'; reason: ReportReason; durable: boolean; live: boolean; error?: string; refused?: string }
  | { type: 'reconnected'; transport: 'nats'; server: string }
  | { type: 'warning'; message: string };

export interface ReplicaAgentOptions {
  configKey?: string;
  service: string;
  replicaId: string;
  /** Hash-gated sections to apply, in apply order. Default pools, timeouts. */
  sections?: readonly SectionName[];
  /** Notification subject. Default sys.config.changed. */
  subject?: string;
  /** Fallback poll interval. Default 30 s; the `envOverride` variable, when set and valid, wins. */
  pollIntervalMs?: number;
  /** Environment variable with a Go duration overriding the poll interval; false disables. Default SCHEDULER_CONFIG_RELOAD_INTERVAL. */
  envOverride?: string | false;
  /** Where `envOverride` is looked up. Default process.env. */
  env?: Record<string, string | undefined>;
  /** Report period. Default 5 s. */
  heartbeatMs?: number;
  /** TTL of the durable report. Default 3 x heartbeatMs. */
  reportTtlMs?: number;
  /** A check whose Redis read has not answered within this time fails as redis-unavailable. Default 10 s. */
  readTimeoutMs?: number;
  /**
   * A connection (shared, never closed by the agent) or an endpoint (the agent connects and owns it).
   * A shared connection should come from connectRedis: with ioredis's offline queue on, a check
   * would wait for a reconnect instead of failing fast.
   */
  redis: RedisClient | RedisEndpoint;
  /** Likewise for NATS; undefined means poll only. */
  nats?: NatsConnection | NatsEndpoint;
  apply: ApplySection;
  /** Publish replica status reports. Default true. */
  reportStatus?: boolean;
  /** Wall clock (epoch ms) for timestamps. Default Date.now with nanosecond-style stamps. */
  clock?: { now(): number };
  onEvent?: (event: AgentEvent) => void;
  /**
   * Export what this replica applied into the service's prom-client Registry:
   * `driftlens_config_section_info{service,replica,section,hash,revision} 1` (one series per applied
   * section) and `driftlens_config_applies_total{service,replica,section,trigger}`. Many agents may share one registry.
   */
  metrics?: AgentMetricsOptions;
}

export interface AgentCounters {
  /** Messages received on the subject (valid or not). */
  notifications: number;
  /** Packets Cordum's receivers would drop (undecodable, or missing trace_id / sender_id / payload). */
  invalidNotifications: number;
  /** Triggers folded into an already pending check. */
  coalescedTriggers: number;
  checks: number;
  applies: number;
  applyFailures: number;
  reports: number;
  reportFailures: number;
}

const DEFAULT_READ_TIMEOUT_MS = 10_000;
/** Retries of a check that could not reach Redis: up to 250 ms doubling to 5 s (never beyond the poll interval), half of each random. */
const RETRY_BASE_MS = 250;
const RETRY_MAX_MS = 5000;
const FLUSH_TIMEOUT_MS = 5000;

export class ReplicaAgent {
  readonly configKey: string;
  readonly service: string;
  readonly replicaId: string;
  readonly sections: readonly SectionName[];
  readonly subject: string;
  /** The effective poll interval (after the environment override). */
  readonly pollIntervalMs: number;
  readonly heartbeatMs: number;
  readonly reportTtlMs: number;
  readonly reportStatus: boolean;
  /** Problems with the options that were reported and worked around (e.g. an invalid env override). */
  readonly warnings: string[] = [];
  readonly counters: AgentCounters = {
    notifications: 0,
    invalidNotifications: 0,
    coalescedTriggers: 0,
    checks: 0,
    applies: 0,
    applyFailures: 0,
    reports: 0,
    reportFailures: 0,
  };

  private readonly options: ReplicaAgentOptions;
  private readonly metrics: AgentMetrics | undefined;
  private readonly readTimeoutMs: number;
  private redis: RedisClient | undefined;
  private ownsRedis = false;
  private nats: NatsConnection | undefined;
  private ownsNats = false;
  private store: ConfigStore | undefined;
  private subscription: Subscription | undefined;
  private stopReconnectWatch: (() => void) | undefined;
  private stopPolls: (() => void) | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAttempt = 0;
  private reportsPending = 0;
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  private stopping: Promise<void> | undefined;

  private readonly applied = new Map<SectionName, AppliedSection>();
  private revision: number | null = null;
  private lastError: ReplicaError | null = null;
  private startedAt: string;
  private lastCheckAt: string | null = null;
  private lastCheckTrigger: CheckTrigger | null = null;
  private lastReason: ReportReason = 'startup';
  /** Reports sent by this process (the protocol's `seq`): lets watchers drop a replayed older one. */
  private reportSeq = 0;

  /** The running check, if any; at most one more (pendingTrigger) waits behind it. */
  private inFlight: Promise<void> | undefined;
  private pendingTrigger: CheckTrigger | undefined;
  /** Reports go out one at a time so an older one never overwrites a newer one. */
  private reportChain: Promise<void> = Promise.resolve();

  constructor(options: ReplicaAgentOptions) {
    this.options = options;
    this.configKey = options.configKey ?? DEFAULT_POLICY.configKey;
    parseConfigKey(this.configKey);
    this.service = options.service;
    this.replicaId = options.replicaId;
    // Validates both names now rather than at the first report.
    replicaMember(this.service, this.replicaId);
    replicaReportKey(this.configKey, this.service, this.replicaId);
    this.metrics = options.metrics ? new AgentMetrics(options.metrics, this.service, this.replicaId) : undefined;

    this.sections = [...(options.sections ?? HASH_GATED_SECTIONS)];
    for (const s of this.sections) {
      if (!(HASH_GATED_SECTIONS as readonly string[]).includes(s)) throw new RangeError(`unknown section "${s}": expected ${HASH_GATED_SECTIONS.join(', ')}`);
    }
    if (new Set(this.sections).size !== this.sections.length) throw new RangeError(`sections lists a section twice: ${this.sections.join(', ')}`);
    this.subject = options.subject ?? DEFAULT_POLICY.subject;
    this.heartbeatMs = positive(options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS, 'heartbeatMs');
    this.reportTtlMs = positive(options.reportTtlMs ?? 3 * this.heartbeatMs, 'reportTtlMs');
    this.readTimeoutMs = positive(options.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS, 'readTimeoutMs');
    this.reportStatus = options.reportStatus ?? true;

    let poll = positive(options.pollIntervalMs ?? DEFAULT_POLICY.pollIntervalMs, 'pollIntervalMs');
    const variable = options.envOverride === undefined ? DEFAULT_POLICY.envOverride : options.envOverride;
    const raw = variable ? (options.env ?? process.env)[variable] : undefined;
    if (variable && raw !== undefined && raw !== '') {
      // The operator's environment overrides the code default, as SCHEDULER_CONFIG_RELOAD_INTERVAL does in Cordum.
      const parsed = parseTimerDuration(raw, MIN_POLL_INTERVAL_MS);
      if (parsed.error !== undefined) {
        this.warnings.push(`${variable}="${raw}" ${parsed.error}; ignored, polling every ${poll} ms`);
      } else {
        poll = Math.round(parsed.ms);
      }
    }
    this.pollIntervalMs = poll;
    this.startedAt = this.now();
  }

  /**
   * Connects (for endpoints), subscribes, runs the startup check, then starts the poll ticker and the
   * heartbeat. Resolves once the startup check is done, so the service has its config before serving;
   * a check that fails is recorded (see status()) and retried by later triggers, it does not reject.
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`ReplicaAgent ${this.service}:${this.replicaId} was already ${this.state === 'stopped' ? 'stopped' : 'started'}; create a new agent`);
    this.state = 'starting';
    this.startedAt = this.now();
    for (const message of this.warnings) this.emit({ type: 'warning', message });
    try {
      await this.connect();
    } catch (err) {
      await this.stop();
      throw err;
    }
    // stop() during the connect ran before these connections existed.
    if (this.isStopped()) return this.closeOwned();
    if (this.nats) {
      this.subscription = this.nats.subscribe(this.subject, { callback: (err, msg) => this.onMessage(err, msg.data) });
      // Subscribe before the startup read and make sure the server has the SUB: a change published
      // between the read and the subscription would otherwise go unnoticed until the next poll. Bounded,
      // because a shared connection may be reconnecting and the poll covers the gap anyway.
      await withTimeout(this.nats.flush(), FLUSH_TIMEOUT_MS).catch(() => undefined);
      // A notification published while the connection was down (a NATS node died, the network
      // blinked) never arrives: core NATS does not replay. After each reconnect nats.js re-subscribes,
      // and the agent reads Redis at once instead of waiting up to a poll interval. The read is
      // reported as a poll (a read nobody notified), and is hash-gated like every check, so it
      // applies nothing twice.
      this.stopReconnectWatch = onReconnect(this.nats, (server) => {
        this.emit({ type: 'reconnected', transport: 'nats', server });
        void this.requestCheck('poll');
      });
    }
    if (this.isStopped()) return;
    this.state = 'running';
    await this.requestCheck('startup');
    if (this.isStopped()) return;
    this.stopPolls = this.startPollTicker(() => void this.requestCheck('poll'));
    if (this.reportStatus) this.heartbeatTimer = setInterval(() => this.report('heartbeat'), this.heartbeatMs);
  }

  /**
   * Unsubscribes, clears the timers, waits for a running check and queued reports, and closes the
   * connections the agent opened. Idempotent. `deregister` also deletes the durable report and the
   * index entry (a graceful scale-down), so watchers do not list the replica as stale.
   */
  stop(options: { deregister?: boolean } = {}): Promise<void> {
    this.stopping ??= this.shutdown(options.deregister === true);
    return this.stopping;
  }

  /** The replica's current report (what the next heartbeat would publish, with the last reason sent). */
  status(): ReplicaReport {
    return this.snapshot(this.lastReason);
  }

  /** The applied hash of a section, if any. */
  appliedHash(section: SectionName): string | undefined {
    return this.applied.get(section)?.hash;
  }

  /** Resolves when no check is running or pending (for tests and the simulator). */
  async idle(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  // ---------------------------------------------------------------- connections

  private async connect(): Promise<void> {
    const name = `driftlens-agent:${this.service}:${this.replicaId}`;
    const { redis, nats } = this.options;
    if (isRedisClient(redis)) {
      this.redis = redis;
    } else {
      this.redis = await connectRedis(redis, { name });
      this.ownsRedis = true;
    }
    this.store = new ConfigStore(this.redis);
    if (nats === undefined) return;
    if (isNatsConnection(nats)) {
      this.nats = nats;
    } else {
      this.nats = await connectNats(nats, { name });
      this.ownsNats = true;
    }
  }

  private async shutdown(deregister: boolean): Promise<void> {
    this.state = 'stopped';
    this.pendingTrigger = undefined;
    this.stopPolls?.();
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.retryTimer);
    this.stopReconnectWatch?.();
    try {
      this.subscription?.unsubscribe();
    } catch {
      // the connection is already closed: nothing left to unsubscribe
    }
    await this.idle();
    await this.reportChain;
    if (deregister && this.redis) {
      // Best effort: the report expires by itself anyway. Said, not thrown: a watcher lists the
      // replica as stale until then, and whoever stops it should know why.
      const key = replicaReportKey(this.configKey, this.service, this.replicaId);
      const redis = this.redis;
      const failure = await redis
        .multi()
        .del(key)
        .zrem(replicaIndexKey(this.configKey), replicaMember(this.service, this.replicaId))
        .exec()
        .then((results) => {
          const failed = results === null ? new Error('the transaction was aborted') : results.find(([err]) => err)?.[0];
          return failed ? redisErrorText(failed, endpointLabel(redis)) : undefined;
        })
        .catch((err: unknown) => redisErrorText(err, endpointLabel(redis)));
      if (failure !== undefined) this.emit({ type: 'error', kind: 'deregister', message: `cannot delete the report ${key} on stopping: ${failure}` });
    }
    // A stopped replica no longer runs what it applied: it must not be counted in a hash's fleet.
    this.metrics?.clear();
    await this.closeOwned();
  }

  private async closeOwned(): Promise<void> {
    if (this.ownsNats && this.nats) await this.nats.close().catch(() => undefined);
    if (this.ownsRedis && this.redis) await closeRedis(this.redis);
  }

  protected isStopped(): boolean {
    return this.state === 'stopped';
  }

  // ---------------------------------------------------------------- triggers

  private onMessage(err: Error | null, data: Uint8Array): void {
    if (err) {
      this.emit({ type: 'error', kind: 'subscription', message: `subscription to ${this.subject} failed: ${err.message}` });
      return;
    }
    this.counters.notifications++;
    let why: string | undefined;
    try {
      why = whyReceiversDrop(decodeBusPacket(data));
    } catch (e) {
      why = (e as Error).message;
    }
    if (why) {
      // Cordum's receivers drop these silently; counting them makes a misbehaving publisher visible.
      this.counters.invalidNotifications++;
      this.emit({ type: 'notification', outcome: 'invalid', reason: why });
      return;
    }
    this.onValidNotification();
  }

  /** A notification Cordum's receivers would accept arrived: check now. (A simulator overrides it to lose or delay some.) */
  protected onValidNotification(): void {
    this.emit({ type: 'notification', outcome: 'accepted' });
    void this.requestCheck('notification');
  }

  /**
   * Starts the fallback poll ticker; returns what stops it. A real replica starts it when its
   * process starts, so a fleet's polls are spread over the interval by itself.
   */
  protected startPollTicker(tick: () => void): () => void {
    const timer = setInterval(tick, this.pollIntervalMs);
    return () => clearInterval(timer);
  }

  /** Starts a check, or leaves one pending behind the running one; resolves when the check it started or joined has run. */
  protected requestCheck(trigger: CheckTrigger): Promise<void> {
    if (this.isStopped()) return Promise.resolve();
    if (this.state === 'starting' && trigger !== 'startup') {
      // A notification between subscribing and the startup check runs after it, never before.
      this.pendingTrigger ??= trigger;
      return Promise.resolve();
    }
    if (this.inFlight) {
      // One pending slot, like the Go loop's buffered channel of one: bursts collapse into it.
      if (this.pendingTrigger === undefined) this.pendingTrigger = trigger;
      else this.counters.coalescedTriggers++;
      return this.inFlight;
    }
    const run = async () => {
      let next: CheckTrigger | undefined = trigger;
      while (next !== undefined && !this.isStopped()) {
        try {
          await this.check(next);
        } catch (err) {
          // Not expected (check records its own failures), but a rejection here would be unhandled
          // in the timer callbacks and end the service's process.
          this.emit({ type: 'error', kind: 'live-unreadable', message: `check failed unexpectedly: ${(err as Error)?.message ?? String(err)}`, trigger: next });
        }
        next = this.pendingTrigger;
        this.pendingTrigger = undefined;
      }
    };
    const flight = run().finally(() => {
      if (this.inFlight === flight) this.inFlight = undefined;
    });
    this.inFlight = flight;
    return flight;
  }

  // ---------------------------------------------------------------- the check

  private async check(trigger: CheckTrigger): Promise<void> {
    const started = Date.now();
    this.counters.checks++;
    this.lastCheckAt = this.now();
    this.lastCheckTrigger = trigger;
    const appliedNow: SectionName[] = [];
    const errors: ReplicaError[] = [];
    const hadError = this.lastError !== null;

    const live = await this.readLive(trigger, errors);
    if (live === 'failed' && errors.at(-1)?.kind === 'redis-unavailable') this.retrySoon(trigger);
    if (live !== 'failed') {
      this.retryAttempt = 0;
      // No document at all: revision null and nothing to apply; the running config stays.
      this.revision = live?.envelope.revision ?? null;
      if (live) {
        const { data, revision } = live.envelope;
        for (const section of this.sections) {
          if (this.isStopped()) break;
          // An absent section has no hash: nothing to apply, as in Cordum.
          if (!Object.prototype.hasOwnProperty.call(data, section)) continue;
          if (await this.checkSection(section, data[section], revision, trigger, errors)) appliedNow.push(section);
        }
      }
    }

    // last_error describes the latest check: a clean one clears it.
    this.lastError = errors.at(-1) ?? null;
    this.emit({ type: 'check', trigger, revision: this.revision, applied: appliedNow, errors, durationMs: Date.now() - started });

    if (trigger === 'startup') this.report('startup');
    else if (errors.length > 0) this.report('error');
    // A recovery is news too: watchers should not wait for a heartbeat to see the error gone.
    else if (appliedNow.length > 0 || hadError) this.report('apply');
  }

  /**
   * A check that could not reach Redis (a failover, a reconnect in progress) is tried again soon with
   * the same trigger, instead of waiting for the next poll: the notification that started it will not
   * come again, and the publisher's write usually went through on a connection that recovered first.
   */
  private retrySoon(trigger: CheckTrigger): void {
    if (this.retryTimer || this.isStopped()) return;
    const ceiling = Math.min(RETRY_BASE_MS * 2 ** Math.min(this.retryAttempt, 16), RETRY_MAX_MS, this.pollIntervalMs);
    // Equal jitter: a fleet whose reads failed together (one notification, one outage) does not retry in lock-step.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.retryAttempt++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.requestCheck(trigger);
    }, delay);
  }

  /** The live document, undefined when the key does not exist, 'failed' after recording why it could not be read. */
  private async readLive(trigger: CheckTrigger, errors: ReplicaError[]): Promise<LiveConfig | undefined | 'failed'> {
    const label = endpointLabel(this.redis!);
    try {
      const timedOut = () => new RedisUnavailableError(`cannot read ${this.configKey}: Redis at ${label} did not answer within ${this.readTimeoutMs} ms`, label);
      return await withTimeout(this.store!.read(this.configKey), this.readTimeoutMs, timedOut);
    } catch (err) {
      const kind: ReplicaErrorKind = err instanceof RedisUnavailableError ? 'redis-unavailable' : 'live-unreadable';
      const message = `${(err as Error).message}; keeping the last good config`;
      errors.push({ at: this.now(), message, kind });
      this.emit({ type: 'error', kind, message, trigger });
      return 'failed';
    }
  }

  /** Validates, hashes and (when changed) applies one section; true when it was applied. */
  private async checkSection(section: SectionName, raw: JsonValue, revision: number, trigger: CheckTrigger, errors: ReplicaError[]): Promise<boolean> {
    const result = computeSectionHash(section, raw);
    const previous = this.applied.get(section);
    if (!result.hash) {
      const details = result.errors
        .slice(0, 3)
        .map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`)
        .join('; ');
      const keeping = previous ? `keeping hash ${previous.hash.slice(0, 12)}` : 'nothing applied yet';
      const message = `${section} at revision ${revision} is invalid (${details}${result.errors.length > 3 ? `; ${result.errors.length - 3} more` : ''}); ${keeping}`;
      errors.push({ at: this.now(), message, kind: 'invalid', section });
      this.emit({ type: 'rejected', section, kind: 'invalid', hash: undefined, message, trigger });
      return false;
    }
    if (result.hash === previous?.hash) return false;

    try {
      await this.options.apply(section, result.normalised.value, { hash: result.hash, revision, trigger, previousHash: previous?.hash });
    } catch (err) {
      // The previous hash stays, so the next check sees the difference and tries again.
      this.counters.applyFailures++;
      const message = `applying ${section} ${result.hash.slice(0, 12)} from revision ${revision} failed: ${(err as Error)?.message ?? String(err)}`;
      errors.push({ at: this.now(), message, kind: 'apply-failed', section, hash: result.hash });
      this.emit({ type: 'rejected', section, kind: 'apply-failed', hash: result.hash, message, trigger });
      return false;
    }
    this.counters.applies++;
    this.applied.set(section, { hash: result.hash, appliedAt: this.now(), trigger, revision });
    this.metrics?.applied(section, result.hash, revision, trigger);
    this.emit({ type: 'applied', section, hash: result.hash, previousHash: previous?.hash, revision, trigger });
    return true;
  }

  // ---------------------------------------------------------------- reports

  protected snapshot(reason: ReportReason, seq = this.reportSeq): ReplicaReport {
    const sections: Record<string, AppliedSection> = {};
    for (const [name, s] of this.applied) sections[name] = { ...s };
    return {
      v: REPLICA_STATUS_VERSION,
      replicaId: this.replicaId,
      service: this.service,
      configKey: this.configKey,
      revision: this.revision,
      reason,
      reportedAt: this.now(),
      startedAt: this.startedAt,
      pollIntervalMs: this.pollIntervalMs,
      lastCheckAt: this.lastCheckAt,
      lastCheckTrigger: this.lastCheckTrigger,
      sections,
      lastError: this.lastError ? { ...this.lastError } : null,
      ...(seq > 0 ? { seq } : {}),
    };
  }

  /** Queues a report of the state as of now; failures are counted and emitted, never thrown. */
  private report(reason: ReportReason): void {
    if (!this.reportStatus || !this.redis) return;
    // A report already on its way says at least as much as a heartbeat: on a slow or half-open
    // connection, heartbeats must not pile up behind it and replay old states later.
    if (reason === 'heartbeat' && this.reportsPending > 0) return;
    this.lastReason = reason;
    const redis = this.redis;
    const nats = this.nats;
    this.reportsPending++;
    this.reportChain = this.reportChain.then(async () => {
      // The state as of sending, not as of queueing.
      const report = this.snapshot(reason, ++this.reportSeq);
      try {
        const result = await publishReplicaReport(redis, nats, report, this.reportTtlMs);
        this.counters.reports++;
        this.emit({ type: 'report', reason, durable: true, live: result.live, ...(result.liveError ? { error: result.liveError } : {}) });
      } catch (err) {
        // Expected while Redis is down (the live event still went out); the check already recorded it.
        this.counters.reportFailures++;
        const cause = err instanceof ReportWriteError ? err.cause : err;
        // A transaction Redis discarded names the command it refused among its previous errors.
        const firstRefusal = (cause as { previousErrors?: Error[] } | undefined)?.previousErrors?.[0];
        const refused = cause instanceof Error && !(cause instanceof RedisUnavailableError) && !isConnectionError(cause) ? (firstRefusal?.message ?? cause.message) : undefined;
        this.emit({ type: 'report', reason, durable: false, live: err instanceof ReportWriteError && err.live, error: (err as Error).message, ...(refused !== undefined ? { refused } : {}) });
      } finally {
        this.reportsPending--;
      }
    });
  }

  private now(): string {
    const clock = this.options.clock;
    return clock ? formatRfc3339Nano(BigInt(Math.floor(clock.now())) * 1_000_000n) : nowRfc3339Nano();
  }

  protected emit(event: AgentEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch {
      // an observer's bug must not break the reload loop
    }
  }
}

/** `work`, or a rejection with `onTimeout()` (default a plain Error) once `ms` have passed; `work` itself is not cancelled. */
async function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => Error = () => new Error(`no answer within ${ms} ms`)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(onTimeout()), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a number of milliseconds > 0, not ${value}`);
  return value;
}

function isRedisClient(value: RedisClient | RedisEndpoint): value is RedisClient {
  return typeof (value as { get?: unknown }).get === 'function';
}

function isNatsConnection(value: NatsConnection | NatsEndpoint): value is NatsConnection {
  return typeof (value as { subscribe?: unknown }).subscribe === 'function';
}
