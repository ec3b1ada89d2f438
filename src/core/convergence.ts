import type { Bound } from './duration';
import { CLOCK_JITTER_MS, formatAge, formatDuration, withinBound } from './duration';
import { registryMember, registryMemberOfReport, type RegisteredInstance } from './instanceRegistry';

/**
 * The drift model: replica reports + the live document + the policy + a clock -> a state per
 * replica and section, and the convergence clock of the current change. Pure (the caller passes
 * `nowMs`), so every transition is unit-tested with a fake clock; the drift view, the status
 * CLI and the simulator's table only render what this computes.
 */

export const STATES = ['in-sync', 'converging', 'drifted', 'not-checked', 'stale', 'rejected', 'unknown-origin', 'not-reporting'] as const;
export type DriftState = (typeof STATES)[number];

/** What a person reads for each state (tree labels, tables, the README's model). */
export const STATE_LABELS: Record<DriftState, string> = {
  'in-sync': 'in sync',
  converging: 'converging',
  drifted: 'drifted',
  'not-checked': 'not checked',
  stale: 'stale',
  rejected: 'rejected',
  'unknown-origin': 'unknown origin',
  'not-reporting': 'not reporting',
};

/**
 * Worst first: a replica shows its worst section. `not-reporting` (alive per Cordum's instance
 * registry, no DriftLens report) comes just below the problems: nothing says it is wrong, nothing
 * says it is right, and it is never counted as in sync.
 */
export const SEVERITY: DriftState[] = ['rejected', 'drifted', 'unknown-origin', 'stale', 'not-reporting', 'converging', 'not-checked', 'in-sync'];

export type Trigger = 'startup' | 'notification' | 'poll';

/** The parts of a replica status report (protocol v1) the model reads. */
export interface ReplicaObservation {
  service: string;
  replicaId: string;
  revision: number | null;
  reportedAtMs: number;
  pollIntervalMs: number;
  lastCheckTrigger: Trigger | null;
  sections: Record<string, { hash: string; appliedAtMs: number; trigger: Trigger; revision: number }>;
  lastError: { atMs: number; message: string; kind: string; section?: string; hash?: string } | null;
  /** The report says it comes from a simulator, not a real service. */
  simulated?: boolean;
}

export interface LiveSnapshot {
  key: string;
  revision: number;
  /** When the live revision was written (its updated_at): the start of the convergence clock. */
  publishedAtMs: number;
  publishedBy?: string;
  /** Live hash per gated section present; undefined when the live section is invalid (no hash). */
  sections: Record<string, string | undefined>;
  /** Hashes DriftLens published before (history), with the revision they came from. */
  knownHashes: ReadonlyMap<string, number>;
}

export interface ConvergencePolicy {
  notificationOk: Bound;
  notificationLost: Bound;
}

export interface SectionView {
  section: string;
  state: DriftState;
  hash?: string;
  liveHash?: string;
  appliedAtMs?: number;
  trigger?: Trigger;
  /** Time from the publish to this replica applying the live hash (only for this change). */
  convergenceMs?: number;
  /** The budget that applies: notification_ok by notification, notification_lost by poll. */
  budget?: { name: 'notification_ok' | 'notification_lost'; bound: Bound };
  withinBudget?: boolean;
  /** One sentence on why this state, for tooltips and tables. */
  why: string;
}

export interface ReplicaView {
  member: string;
  service: string;
  replicaId: string;
  state: DriftState;
  sections: SectionView[];
  lastReportMs?: number;
  revision?: number | null;
  lastError?: ReplicaObservation['lastError'];
  pollIntervalMs?: number;
  /** A simulated replica (the report's `simulated`): every view marks it. */
  simulated?: boolean;
  /** Its entry in Cordum's instance registry, while it is registered. */
  registry?: RegisteredInstance;
  /** It reports, but the registry (which was read in full) does not list it. */
  reportingOnly?: boolean;
  /** When it was last seen in the registry, if it has left it (it leaves the view after the grace period). */
  leftRegistryMs?: number;
  /** Its report key holds something that does not decode (it is stale for that reason). */
  unreadable?: string;
}

export interface DriftModel {
  live?: LiveSnapshot;
  replicas: ReplicaView[];
  counts: Record<DriftState, number>;
  /** "5/6 in sync, 1 drifted" */
  summary: string;
  /** Sections that converged outside their budget, or are drifted. */
  breaches: number;
  /** Time since the live revision was published. */
  changeAgeMs?: number;
  /** How many of the replicas are simulated. */
  simulated: number;
  /** What the instance registry contributed, when it was read. */
  registry?: { services: readonly string[]; registered: number; complete: boolean };
  /** Members left out because they left the registry and stopped reporting longer than the grace period ago. */
  left?: string[];
}

/** The instance registry as one read saw it, plus the watcher's memory of who was registered when. */
export interface RegistryInput {
  /** The services whose registered instances apply the document. */
  services: readonly string[];
  instances: readonly RegisteredInstance[];
  /** When each registry member (`<service>:<id>`) was last seen registered, including members gone since. */
  lastRegisteredMs?: ReadonlyMap<string, number>;
  /** False when the scan hit its bound: then nobody counts as unregistered (nor leaves the view). */
  complete: boolean;
  /** A replica out of the registry and without a fresh report for this long leaves the view. */
  goneAfterMs: number;
}

export interface ModelInput {
  live?: LiveSnapshot;
  /** `unreadable`: the replica's report exists but does not decode (say, a newer protocol version). */
  replicas: { member: string; report?: ReplicaObservation; lastSeenMs?: number; unreadable?: string }[];
  policy: ConvergencePolicy;
  nowMs: number;
  /** A report older than this is stale (the protocol's report TTL: 3 heartbeats). */
  staleAfterMs: number;
  /** Cordum's instance registry; absent when it is not read. */
  registry?: RegistryInput;
}

function sectionView(section: string, report: ReplicaObservation, live: LiveSnapshot, policy: ConvergencePolicy, nowMs: number): SectionView | undefined {
  if (!Object.prototype.hasOwnProperty.call(live.sections, section)) return undefined;
  const liveHash = live.sections[section];
  const applied = report.sections[section];
  const error = report.lastError;
  const base = { section, liveHash, hash: applied?.hash, appliedAtMs: applied?.appliedAtMs, trigger: applied?.trigger };
  if (error && error.section === section && error.kind === 'apply-failed' && error.hash === liveHash && liveHash !== undefined) {
    return { ...base, state: 'rejected', why: `the replica's apply failed for the live hash: ${error.message}` };
  }
  if (liveHash === undefined) {
    if (error && error.kind === 'invalid' && error.section === section) return { ...base, state: 'rejected', why: 'the live section is invalid: the replica refused it and keeps its last good one' };
    return { ...base, state: 'not-checked', why: 'the live section is invalid (no hash): replicas keep their last good one' };
  }
  if (!applied) return { ...base, state: 'not-checked', why: 'the replica has not applied this section yet' };
  const sinceMs = nowMs - live.publishedAtMs;
  if (applied.hash === liveHash) {
    if (applied.appliedAtMs < live.publishedAtMs) return { ...base, state: 'in-sync', why: 'runs the live hash (unchanged by the last publish)' };
    const convergenceMs = applied.appliedAtMs - live.publishedAtMs;
    const budget = applied.trigger === 'poll' ? { name: 'notification_lost' as const, bound: policy.notificationLost } : { name: 'notification_ok' as const, bound: policy.notificationOk };
    const withinBudget = applied.trigger === 'startup' ? undefined : withinBound(convergenceMs, budget.bound);
    const lost = applied.trigger === 'poll' ? ' by poll: the notification was lost' : applied.trigger === 'notification' ? ' by notification' : ' at startup';
    return { ...base, state: 'in-sync', convergenceMs, budget: applied.trigger === 'startup' ? undefined : budget, withinBudget, why: `converged in ${formatDuration(convergenceMs)}${lost}` };
  }
  if (live.knownHashes.size > 0 && !live.knownHashes.has(applied.hash)) {
    return { ...base, state: 'unknown-origin', why: 'runs a hash that is neither live nor in the published history' };
  }
  if (withinBound(sinceMs, policy.notificationLost)) {
    return { ...base, state: 'converging', budget: { name: 'notification_lost', bound: policy.notificationLost }, why: `not yet on the live hash, ${afterPublish(sinceMs)} (budget ${formatDuration(policy.notificationLost.ms)})` };
  }
  const revision = live.knownHashes.get(applied.hash);
  return { ...base, state: 'drifted', budget: { name: 'notification_lost', bound: policy.notificationLost }, withinBudget: false, why: `still on ${revision === undefined ? 'an older hash' : `revision ${revision}`} ${afterPublish(sinceMs)}, past the ${formatDuration(policy.notificationLost.ms)} budget` };
}

/** "12s after the publish"; a publish dated ahead of our clock says so instead of a negative time. */
function afterPublish(sinceMs: number): string {
  return sinceMs <= -CLOCK_JITTER_MS ? `the publish is dated ${formatDuration(-sinceMs)} in the future (clock skew?)` : `${formatDuration(Math.max(0, sinceMs))} after the publish`;
}

/** The worst state among a replica's sections. */
function worstOf(sections: readonly SectionView[]): DriftState {
  let rank = SEVERITY.length;
  for (const s of sections) rank = Math.min(rank, SEVERITY_RANK.get(s.state) ?? SEVERITY.length);
  return rank < SEVERITY.length ? SEVERITY[rank] : 'not-checked';
}

/** A state that can change with time alone (converging turns drifted; both say how long ago). */
const TIMED_STATES: ReadonlySet<DriftState> = new Set(['converging', 'drifted']);
const SEVERITY_RANK = new Map(SEVERITY.map((s, i) => [s, i]));
/** The order localeCompare gives, without building a collator per comparison. */
const MEMBER_ORDER = new Intl.Collator();

/**
 * Section views of a report against a live snapshot and a policy, kept while none of them can change
 * with time alone. A watcher recomputes the model several times a second while each of 1,000
 * replicas reports once a second, mostly the same sections as last time: views depend only on a
 * report's sections and last error, so they are kept by the identity of those (a watcher passes the
 * same objects while they are unchanged, see observationOf) rather than rebuilt with a formatted
 * "why" each for every heartbeat.
 */
const timelessViews = new WeakMap<ReplicaObservation['sections'], { live: LiveSnapshot; policy: ConvergencePolicy; lastError: ReplicaObservation['lastError']; views: ReplicaSectionViews }>();

/** A replica's section views and the worst of their states (the replica's state when it is not stale). */
interface ReplicaSectionViews {
  sections: SectionView[];
  state: DriftState;
}

function sectionViews(sectionNames: string[], report: ReplicaObservation, live: LiveSnapshot, policy: ConvergencePolicy, nowMs: number): ReplicaSectionViews {
  const cached = timelessViews.get(report.sections);
  if (cached && cached.live === live && cached.policy === policy && cached.lastError === report.lastError) return cached.views;
  const sections: SectionView[] = [];
  let timed = false;
  for (const name of sectionNames) {
    const view = sectionView(name, report, live, policy, nowMs);
    if (view === undefined) continue;
    sections.push(view);
    if (TIMED_STATES.has(view.state)) timed = true;
  }
  const views = { sections, state: sections.length > 0 ? worstOf(sections) : 'not-checked' } as const;
  if (!timed) timelessViews.set(report.sections, { live, policy, lastError: report.lastError, views });
  return views;
}

/** A member's service and replica id (the service has no colon, so the first one splits). */
function splitMember(member: string): { service: string; replicaId: string } {
  const colon = member.indexOf(':');
  return colon < 0 ? { service: member, replicaId: '' } : { service: member.slice(0, colon), replicaId: member.slice(colon + 1) };
}

/**
 * Ranks of members in collation order, kept while the same replicas are watched: sorting 1,000
 * views with the collator at every recomputation was a tenth of the model's time, and the set of
 * members rarely changes between two recomputations. Equal-collating members share a rank, so the
 * order is the collator's exactly.
 */
let memberRanks = new Map<string, number>();

function rankMembers(members: string[]): Map<string, number> {
  if (members.every((m) => memberRanks.has(m))) return memberRanks;
  const sorted = [...new Set(members)].sort(MEMBER_ORDER.compare);
  const ranks = new Map<string, number>();
  let rank = 0;
  sorted.forEach((member, i) => {
    if (i > 0 && MEMBER_ORDER.compare(sorted[i - 1], member) !== 0) rank = i;
    ranks.set(member, rank);
  });
  memberRanks = ranks;
  return ranks;
}

export function computeDriftModel(input: ModelInput): DriftModel {
  const { live, policy, nowMs, staleAfterMs } = input;
  const sectionNames = live ? Object.keys(live.sections) : [];
  const replicas: ReplicaView[] = input.replicas.map(({ member, report, lastSeenMs, unreadable }) => {
    const { service, replicaId } = splitMember(member);
    if (!report || nowMs - report.reportedAtMs > staleAfterMs) {
      const since = report?.reportedAtMs ?? lastSeenMs;
      const why = unreadable ? `its report does not decode: ${unreadable}` : since === undefined ? 'no report' : nowMs - since > -CLOCK_JITTER_MS ? `no report for ${formatDuration(Math.max(0, nowMs - since))}` : `its report expired; the last one was dated ${formatAge(nowMs - since)}`;
      return { member, service, replicaId, state: 'stale', sections: sectionNames.map((section) => ({ section, state: 'stale' as const, liveHash: live?.sections[section], hash: report?.sections[section]?.hash, why })), lastReportMs: since, ...(report?.simulated ? { simulated: true } : {}), ...(unreadable ? { unreadable } : {}) };
    }
    const { sections, state } = live ? sectionViews(sectionNames, report, live, policy, nowMs) : { sections: [], state: 'not-checked' as const };
    return { member, service, replicaId, state, sections, lastReportMs: report.reportedAtMs, revision: report.revision, lastError: report.lastError, pollIntervalMs: report.pollIntervalMs, ...(report.simulated ? { simulated: true } : {}) };
  });
  const left = input.registry ? joinRegistry(replicas, input.registry, sectionNames, live, nowMs) : [];
  const ranks = rankMembers(replicas.map((r) => r.member));
  replicas.sort((a, b) => SEVERITY_RANK.get(a.state)! - SEVERITY_RANK.get(b.state)! || ranks.get(a.member)! - ranks.get(b.member)!);
  const counts = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<DriftState, number>;
  let breaches = 0;
  let simulated = 0;
  for (const r of replicas) {
    counts[r.state]++;
    if (r.simulated) simulated++;
    for (const s of r.sections) if (s.state === 'drifted' || s.withinBudget === false) breaches++;
  }
  const registry = input.registry ? { services: input.registry.services, registered: input.registry.instances.length, complete: input.registry.complete } : undefined;
  return { live, replicas, counts, summary: summarize(counts, replicas.length), breaches, changeAgeMs: live ? nowMs - live.publishedAtMs : undefined, simulated, registry, left };
}

/**
 * Joins the registry into the replica views (in place) and returns the members that left the view:
 * a registered instance without a report becomes `not-reporting`; a reporting replica of a registry
 * service that is not registered is `reportingOnly`; a replica out of the registry whose report
 * expired (or that never reported) stays, stale, for `goneAfterMs` after the later of its last
 * report and its last registration, then leaves.
 */
function joinRegistry(replicas: ReplicaView[], registry: RegistryInput, sectionNames: string[], live: LiveSnapshot | undefined, nowMs: number): string[] {
  const registered = new Map(registry.instances.map((i) => [registryMember(i.service, i.id), i]));
  const matched = new Set<string>();
  const left: string[] = [];
  const keep: ReplicaView[] = [];
  for (const r of replicas) {
    const member = registryMemberOfReport(r.service, r.replicaId, registry.services);
    const instance = member === undefined ? undefined : registered.get(member);
    if (member === undefined) {
      keep.push(r);
      continue;
    }
    matched.add(member);
    if (instance) {
      r.registry = instance;
      keep.push(r);
      continue;
    }
    if (!registry.complete) {
      keep.push(r);
      continue;
    }
    const lastRegistered = registry.lastRegisteredMs?.get(member);
    if (lastRegistered !== undefined) r.leftRegistryMs = lastRegistered;
    // Unreadable reports are live keys: the replica still talks, only not in a form we read.
    if (r.state !== 'stale' || r.unreadable !== undefined) {
      r.reportingOnly = true;
      keep.push(r);
      continue;
    }
    const lastSign = Math.max(r.lastReportMs ?? -Infinity, lastRegistered ?? -Infinity);
    if (nowMs - lastSign > registry.goneAfterMs) left.push(r.member);
    else keep.push(r);
  }
  for (const instance of registry.instances) {
    const member = registryMember(instance.service, instance.id);
    if (matched.has(member)) continue;
    matched.add(member);
    const what = [instance.version && `version ${instance.version}`, instance.commit && `commit ${instance.commit}`].filter(Boolean).join(', ');
    const why = `alive per Cordum's instance registry${what ? ` (${what})` : ''} and applies the config, but sends no DriftLens report, so nothing tells which hash it runs: install the agent`;
    keep.push({ member, service: instance.service, replicaId: instance.id, state: 'not-reporting', sections: sectionNames.map((section) => ({ section, state: 'not-reporting' as const, liveHash: live?.sections[section], why })), registry: instance });
  }
  // Registered before, gone from the registry now, never reported: stale for the grace period, then gone.
  if (registry.complete) {
    for (const [member, lastRegistered] of registry.lastRegisteredMs ?? []) {
      if (matched.has(member) || registered.has(member)) continue;
      const [service, ...rest] = member.split(':');
      if (!registry.services.includes(service)) continue;
      if (nowMs - lastRegistered > registry.goneAfterMs) {
        left.push(member);
        continue;
      }
      const why = `left the instance registry ${formatAge(nowMs - lastRegistered)} and never sent a report`;
      keep.push({ member, service, replicaId: rest.join(':'), state: 'stale', sections: sectionNames.map((section) => ({ section, state: 'stale' as const, liveHash: live?.sections[section], why })), leftRegistryMs: lastRegistered });
    }
  }
  replicas.splice(0, replicas.length, ...keep);
  return left;
}

export function summarize(counts: Record<DriftState, number>, total: number): string {
  if (total === 0) return 'no replica reports';
  const others = SEVERITY.filter((s) => s !== 'in-sync' && counts[s] > 0).map((s) => `${counts[s]} ${STATE_LABELS[s]}`);
  return [`${counts['in-sync']}/${total} in sync`, ...others].join(', ');
}
