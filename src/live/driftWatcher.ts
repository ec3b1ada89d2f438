import type { NatsConnection, Subscription } from 'nats';
import { computeDriftModel, type ConvergencePolicy, type DriftModel, type LiveSnapshot, type ModelInput, type ReplicaObservation } from '../core/convergence';
import { displayText } from '../core/displayText';
import { formatDuration } from '../core/duration';
import { DEFAULT_GONE_AFTER_MS, registryMember, type RegisteredInstance } from '../core/instanceRegistry';
import { scanInstanceRegistry } from './instanceRegistry';
import { computeSectionHash, type SectionName } from '../core/sectionHash';
import { ConfigStore } from './configStore';
import { onReconnect } from './natsConnection';
import { endpointLabel, RedisRefusedError, redisErrorText, type RedisClient } from './redisConnection';
import { decodeReplicaReport, DEFAULT_REPORT_TTL_MS, isNewerReport, readReplicaReports, rfc3339ToEpochMs, STATUS_SUBJECT, type ReplicaReport } from './replicaReports';

/**
 * Watches replicas the way replicas watch config: live status events on NATS for low latency, a
 * periodic read of the durable reports in Redis for anything missed, and a re-read of the live
 * document when a change notification arrives. Emits the drift model, coalesced (at most one
 * recomputation per `minIntervalMs`) and re-emitted every second so that "converging" turns into
 * "drifted" on time even when nothing reports.
 *
 * Per replica only the newest report counts (see isNewerReport): NATS may hand over an older
 * event after a newer one, and a Redis read that started before an event may finish after it.
 *
 * A watcher starts once and stops once. stop() may come at any time, also while start() still
 * waits for the first read: start() then returns false and the watcher owns no timer and no
 * subscription. Restarting means a new watcher (see WatchSupervisor).
 */

export interface DriftWatcherOptions {
  redis: RedisClient;
  nats?: NatsConnection;
  configKey: string;
  sections: readonly SectionName[];
  policy: ConvergencePolicy;
  /** The change notification subject (re-read the live document when it fires). */
  subject: string;
  statusSubject?: string;
  /** Full re-read of reports and document (default 5 s). */
  pollMs?: number;
  /** A report older than this is stale (default: the protocol's 15 s ttl). */
  staleAfterMs?: number;
  /** Coalescing window for recomputations (default 200 ms, VS Code's own tree debounce). */
  minIntervalMs?: number;
  /**
   * Cordum's instance registry, scanned with every full read (the poll cadence, never per report):
   * registered instances without a report show as not reporting. Absent: not read.
   */
  registry?: { pattern: string; services: readonly string[]; goneAfterMs?: number; maxKeys?: number; maxCalls?: number };
  onModel: (model: DriftModel) => void;
  onError?: (error: Error) => void;
  /** A replica left the view (out of the registry, no report, past the grace period): one call per departure. */
  onLeft?: (member: string, message: string) => void;
  /** The registry could not be read in full (a bound, a refused SCAN): one call per distinct message. */
  onWarning?: (message: string) => void;
  now?: () => number;
}

/**
 * The model's view of a report. Given the observation of the replica's previous report, the parts
 * that did not change (applied sections, last error) are that observation's own objects: a replica
 * heartbeats the same sections for hours, and the model keeps their section views by identity.
 */
export function observationOf(report: ReplicaReport, previous?: { report: ReplicaReport; observation: ReplicaObservation }): ReplicaObservation {
  let sections: ReplicaObservation['sections'];
  if (previous && sameSections(report.sections, previous.report.sections)) {
    sections = previous.observation.sections;
  } else {
    sections = {};
    for (const [name, s] of Object.entries(report.sections)) sections[name] = { hash: s.hash, appliedAtMs: rfc3339ToEpochMs(s.appliedAt), trigger: s.trigger, revision: s.revision };
  }
  const error = report.lastError;
  const lastError =
    error === null
      ? null
      : previous && sameError(error, previous.report.lastError)
        ? previous.observation.lastError
        : { atMs: rfc3339ToEpochMs(error.at), message: error.message, kind: error.kind, section: error.section, hash: error.hash };
  return {
    service: report.service,
    replicaId: report.replicaId,
    revision: report.revision,
    reportedAtMs: rfc3339ToEpochMs(report.reportedAt),
    pollIntervalMs: report.pollIntervalMs,
    lastCheckTrigger: report.lastCheckTrigger,
    sections,
    lastError,
    ...(report.simulated ? { simulated: true } : {}),
  };
}

function sameSections(a: ReplicaReport['sections'], b: ReplicaReport['sections']): boolean {
  const names = Object.keys(a);
  if (names.length !== Object.keys(b).length) return false;
  for (const name of names) {
    const x = a[name];
    const y = b[name];
    if (y === undefined || x.hash !== y.hash || x.appliedAt !== y.appliedAt || x.trigger !== y.trigger || x.revision !== y.revision) return false;
  }
  return true;
}

function sameError(a: NonNullable<ReplicaReport['lastError']>, b: ReplicaReport['lastError']): boolean {
  return b !== null && a.at === b.at && a.message === b.message && a.kind === b.kind && a.section === b.section && a.hash === b.hash;
}

/**
 * Whether a replica's newer observation says only that it is still there: what it applied, its
 * error, revision and poll are the held observation's (the same objects, see observationOf), and
 * the held one was not old enough to be near stale (then the newer one may turn its row back).
 */
export function onlyNewerTime(next: ReplicaObservation, held: ReplicaObservation, nowMs: number, staleAfterMs: number): boolean {
  return (
    next.sections === held.sections &&
    next.lastError === held.lastError &&
    next.revision === held.revision &&
    next.pollIntervalMs === held.pollIntervalMs &&
    next.lastCheckTrigger === held.lastCheckTrigger &&
    next.simulated === held.simulated &&
    nowMs - held.reportedAtMs < staleAfterMs / 2
  );
}

export class DriftWatcher {
  private readonly store: ConfigStore;
  /** The newest report per replica, with its observation (computed once per report, not per tick). */
  private reports = new Map<string, { report: ReplicaReport; observation: ReplicaObservation }>();
  private readonly staleSeen = new Map<string, number>();
  private readonly unreadable = new Map<string, string>();
  private live: LiveSnapshot | undefined;
  private liveRevision = -1;
  private subscriptions: Subscription[] = [];
  private stopReconnectWatch: (() => void) | undefined;
  private timers: NodeJS.Timeout[] = [];
  private pending: NodeJS.Timeout | undefined;
  private lastEmit = 0;
  private started = false;
  private stopped = false;
  /** No model before the first full read: a status event alone knows nothing of the live document. */
  private ready = false;
  /** The registry as last read; `complete` false after a bounded or failed scan. */
  private registered: { instances: RegisteredInstance[]; members: Set<string>; complete: boolean } = { instances: [], members: new Set(), complete: false };
  /** When each registry member was last seen registered (kept past its departure, for the grace period). */
  private readonly lastRegisteredMs = new Map<string, number>();
  private readonly departed = new Set<string>();
  private lastWarning: string | undefined;
  private historyRefused = false;
  private registryError: string | undefined;
  /** Counters for benchmarks, tests and the log. `refreshes` counts the full reads from Redis; `registryScans` the SCAN calls. */
  readonly stats = { events: 0, emits: 0, refreshes: 0, olderIgnored: 0, registryScans: 0 };

  constructor(private readonly options: DriftWatcherOptions) {
    this.store = new ConfigStore(options.redis, { historyLimit: 50 });
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Timers this watcher owns now (intervals and the pending emit): none once stopped. */
  get activeTimers(): number {
    return this.timers.length + (this.pending ? 1 : 0);
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /**
   * Why the last read of the instance registry failed (a Redis that refuses SCAN), undefined after a
   * read that worked: then registered instances without a report are missing from the model, and
   * "all in sync" is not an answer.
   */
  get registryFailure(): string | undefined {
    return this.registryError;
  }

  /**
   * Subscribes, reads reports and the live document once, then emits and keeps watching.
   * Resolves true once watching, false when stop() came first (nothing is left running then);
   * rejects when the first read fails (the caller stops the watcher).
   */
  async start(): Promise<boolean> {
    if (this.started) throw new Error('a DriftWatcher starts once: create a new one to watch again');
    this.started = true;
    if (this.stopped) return false;
    const { nats } = this.options;
    if (nats) {
      this.subscriptions.push(
        nats.subscribe(this.options.statusSubject ?? STATUS_SUBJECT, {
          callback: (err, msg) => {
            if (err || this.stopped) return;
            try {
              const report = decodeReplicaReport(msg.data);
              if (report.configKey !== this.options.configKey) return;
              this.stats.events++;
              // A heartbeat that says only "still here" waits for the once-a-second tick: at 1,000
              // replicas heartbeating, each was a model per 200 ms that no row needed.
              if (this.keep(report) === 'changed') this.schedule();
            } catch {
              // not a v1 report: ignore, as the protocol says
            }
          },
        }),
        nats.subscribe(this.options.subject, { callback: () => void this.refresh(true) }),
      );
      // Status events and change notifications sent while the connection was down are gone (core
      // NATS keeps nothing): after a reconnect, read Redis now rather than at the next poll.
      this.stopReconnectWatch = onReconnect(nats, () => void this.refresh(true));
    }
    // The first read must succeed: without it there is no model to show, and callers would wait forever.
    await this.read(true);
    // stop() while the read was in flight: whoever stopped us has moved on, so own nothing.
    if (this.stopped) return false;
    this.ready = true;
    this.schedule(true);
    // The poll reads the live document too (one GET; unchanged revisions stop there): a publish whose
    // notification was lost, with no replica yet reporting its revision, must still reach the view.
    this.timers.push(setInterval(() => void this.refresh(true), this.options.pollMs ?? 5000));
    this.timers.push(setInterval(() => this.schedule(), 1000));
    return true;
  }

  /**
   * Keeps a report unless an equal or newer one of that replica is already held. Says whether it
   * kept it, and if so whether the model would show more than a newer report time: `heartbeat` when
   * the replica says what its held report said, and that report was not old enough to be near stale.
   */
  private keep(report: ReplicaReport): 'changed' | 'heartbeat' | undefined {
    const member = `${report.service}:${report.replicaId}`;
    const held = this.reports.get(member);
    if (held && !isNewerReport(report, held.report)) {
      this.stats.olderIgnored++;
      return undefined;
    }
    const observation = observationOf(report, held);
    this.reports.set(member, { report, observation });
    return held && onlyNewerTime(observation, held.observation, this.now(), this.options.staleAfterMs ?? DEFAULT_REPORT_TTL_MS) ? 'heartbeat' : 'changed';
  }

  /** Re-reads the durable reports (and the live document when asked or when its revision moved). */
  async refresh(readLive: boolean): Promise<void> {
    if (this.stopped) return;
    try {
      await this.read(readLive);
      this.schedule(true);
    } catch (e) {
      if (!this.stopped) this.options.onError?.(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private async read(readLive: boolean): Promise<void> {
    this.stats.refreshes++;
    const { redis, configKey } = this.options;
    // A live value that does not decode (written out of band) is reported, but once a snapshot is
    // held the reports and the registry are still read: replicas keep coming and going meanwhile.
    let liveFailure: unknown;
    if (readLive || !this.live) {
      try {
        await this.readLive();
      } catch (e) {
        if (!this.live) throw e;
        liveFailure = e;
      }
    }
    const { reports, stale, invalid } = await readReplicaReports(redis, configKey);
    if (this.stopped) return;
    // Redis says which replicas exist; a report held from a newer live event wins over Redis' older copy.
    const previous = this.reports;
    this.reports = new Map();
    for (const r of reports) {
      const member = `${r.service}:${r.replicaId}`;
      const held = previous.get(member);
      if (held) this.reports.set(member, held);
      this.keep(r);
    }
    this.staleSeen.clear();
    for (const s of stale) this.staleSeen.set(s.member, s.lastSeenMs);
    // A report that does not decode (a newer protocol, a bug) still names a replica: show it.
    this.unreadable.clear();
    for (const i of invalid) this.unreadable.set(i.member, i.error);
    // A replica read a newer revision than the one we know: someone published without notifying us.
    if (liveFailure === undefined && reports.some((r) => r.revision !== null && r.revision > this.liveRevision)) await this.readLive();
    await this.readRegistry();
    if (liveFailure !== undefined) throw liveFailure;
  }

  private async readRegistry(): Promise<void> {
    const registry = this.options.registry;
    if (!registry || registry.services.length === 0) return;
    let warning: string | undefined;
    try {
      const scan = await scanInstanceRegistry(this.options.redis, registry);
      this.stats.registryScans += scan.calls;
      if (this.stopped) return;
      const now = this.now();
      for (const i of scan.instances) this.lastRegisteredMs.set(registryMember(i.service, i.id), now);
      // An incomplete scan makes nobody unregistered: whom it did not reach stays as last read.
      const members = new Set(scan.instances.map((i) => registryMember(i.service, i.id)));
      const instances = scan.complete ? scan.instances : [...scan.instances, ...this.registered.instances.filter((i) => !members.has(registryMember(i.service, i.id)))];
      this.registered = { instances, members: new Set(instances.map((i) => registryMember(i.service, i.id))), complete: scan.complete };
      warning = scan.warning;
      this.registryError = undefined;
    } catch (e) {
      // The registry only adds to the reports: a Redis that refuses SCAN (an ACL) must not stop the watch.
      this.registered = { ...this.registered, complete: false };
      this.registryError = `cannot read the instance registry: ${redisErrorText(e, endpointLabel(this.options.redis))}`;
      warning = this.registryError;
    }
    if (warning !== undefined && warning !== this.lastWarning) this.options.onWarning?.(warning);
    this.lastWarning = warning;
  }

  private async readLive(): Promise<void> {
    const current = await this.store.read(this.options.configKey);
    if (!current) {
      this.live = undefined;
      this.liveRevision = -1;
      return;
    }
    const envelope = current.envelope;
    if (envelope.revision === this.liveRevision && this.live) return;
    const sections: Record<string, string | undefined> = {};
    for (const name of this.options.sections) {
      if (Object.prototype.hasOwnProperty.call(envelope.data, name)) sections[name] = computeSectionHash(name, envelope.data[name]).hash;
    }
    const knownHashes = new Map<string, number>();
    for (const entry of (await this.readHistory()).reverse()) {
      for (const name of this.options.sections) {
        if (!Object.prototype.hasOwnProperty.call(entry.data, name)) continue;
        const hash = computeSectionHash(name, entry.data[name]).hash;
        if (hash) knownHashes.set(hash, entry.revision);
      }
    }
    for (const hash of Object.values(sections)) if (hash && !knownHashes.has(hash)) knownHashes.set(hash, envelope.revision);
    this.live = { key: this.options.configKey, revision: envelope.revision, publishedAtMs: rfc3339ToEpochMs(envelope.updatedAt), publishedBy: envelope.meta?.published_by, sections, knownHashes };
    this.liveRevision = envelope.revision;
  }

  /**
   * DriftLens's history, which only names the revisions of older hashes: a Redis user refused it
   * (one that may hold only Cordum's keys, publishing with --no-history) still watches, without
   * those names, and is told so once.
   */
  private async readHistory(): Promise<Awaited<ReturnType<ConfigStore['history']>>> {
    try {
      return await this.store.history(this.options.configKey);
    } catch (e) {
      if (!(e instanceof RedisRefusedError)) throw e;
      if (!this.historyRefused) this.options.onWarning?.(`${e.message}; replicas are watched without it (older hashes are not named by revision, and none is of unknown origin)`);
      this.historyRefused = true;
      return [];
    }
  }

  /** Coalesces bursts of events into one recomputation per window. */
  private schedule(immediate = false): void {
    if (this.stopped || this.pending || !this.ready) return;
    const wait = immediate ? 0 : Math.max(0, (this.options.minIntervalMs ?? 200) - (this.now() - this.lastEmit));
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.emit();
    }, wait);
  }

  private emit(): void {
    if (this.stopped) return;
    const nowMs = this.now();
    const replicas: ModelInput['replicas'] = [...this.reports].map(([member, { observation }]) => ({ member, report: observation }));
    for (const [member, lastSeenMs] of this.staleSeen) if (!this.reports.has(member)) replicas.push({ member, lastSeenMs });
    for (const [member, unreadable] of this.unreadable) if (!this.reports.has(member)) replicas.push({ member, unreadable });
    this.lastEmit = nowMs;
    this.stats.emits++;
    const registry = this.options.registry;
    const goneAfterMs = registry?.goneAfterMs ?? DEFAULT_GONE_AFTER_MS;
    const model = computeDriftModel({
      live: this.live,
      replicas,
      policy: this.options.policy,
      nowMs,
      staleAfterMs: this.options.staleAfterMs ?? DEFAULT_REPORT_TTL_MS,
      registry: registry && registry.services.length > 0 ? { services: registry.services, instances: this.registered.instances, complete: this.registered.complete, lastRegisteredMs: this.lastRegisteredMs, goneAfterMs } : undefined,
    });
    for (const member of model.left ?? []) {
      if (this.departed.has(member)) continue;
      this.departed.add(member);
      // The member comes from a registry key, which whoever can write Redis chooses: escaped, so a
      // newline in it cannot forge a line of the log this message goes to.
      this.options.onLeft?.(member, `${displayText(member)} left the view: it is not in the instance registry and has sent no report for more than ${formatDuration(goneAfterMs)}`);
    }
    for (const r of model.replicas) this.departed.delete(r.member);
    // Forget registrations older than the grace period: their replicas have left the view for good.
    for (const [member, ms] of this.lastRegisteredMs) if (nowMs - ms > goneAfterMs && !this.registered.members.has(member)) this.lastRegisteredMs.delete(member);
    this.options.onModel(model);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    clearTimeout(this.pending);
    this.pending = undefined;
    for (const s of this.subscriptions) s.unsubscribe();
    this.subscriptions = [];
    this.stopReconnectWatch?.();
    this.stopReconnectWatch = undefined;
  }
}
