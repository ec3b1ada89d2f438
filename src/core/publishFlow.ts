import { hostname, userInfo } from 'node:os';
import { displayText } from './displayText';
import type { JsonValue } from './canonical';
import { configKeyProblem } from './documentKey';
import { formatDuration, type Bound } from './duration';
import { subjectProblem } from './natsSubject';
import { planPublish, type PublishPlan } from './publishPlan';
import type { SectionName } from './sectionHash';

/**
 * The rules of a publish that the CLI and the extension share, so that both base the
 * compare-and-set on the same revision, refuse the same things before anything is written, and
 * say the same words: which revision a publish is based on, when there is nothing to publish,
 * how a bare section file becomes a document, who the publisher is, and what a failed
 * notification means.
 */

type DataMap = { [key: string]: JsonValue };

/** What DriftLens knows of the live document (a ConfigEnvelope, without importing the Redis side). */
export interface LiveRevision {
  data: DataMap;
  revision: number;
  updatedAt: string;
  meta?: Record<string, string>;
}

/** What is being published: a whole config document, or one section from a bare section file. */
export type PublishSource = { kind: 'document'; data: DataMap; fileRevision?: number } | { kind: 'section'; section: SectionName; value: JsonValue };

export type PublishDecision =
  /** Ready to preview and write: `data` is the whole document the write stores. */
  | { action: 'publish'; plan: PublishPlan; data: DataMap }
  | { action: 'unchanged'; plan: PublishPlan; message: string }
  /** The write would fail its compare-and-set: said before asking, nothing written. */
  | { action: 'conflict'; liveRevision: number; basedOn: number; message: string }
  /** A section file needs a live document to be a section of. */
  | { action: 'no-live-document'; message: string };

export interface DecideOptions {
  /** The hash-gated sections (from the drift policy). */
  sections: readonly SectionName[];
  /** An explicit base revision (--expect-revision, the re-base after a conflict). */
  expectRevision?: number;
}

/**
 * The revision a publish is based on: the one asked for, else the revision an envelope file carries
 * (what pull wrote or the last publish restamped), else the live one; a missing document is 0.
 */
export function baseRevision(source: PublishSource, live: LiveRevision | undefined, expectRevision?: number): number {
  return expectRevision ?? (source.kind === 'document' ? source.fileRevision : undefined) ?? live?.revision ?? 0;
}

/**
 * Everything decided before a write: the base revision, a conflict the write would certainly meet
 * (so the preview never promises a revision the write cannot create), "nothing to publish", and for
 * a section file the whole document it becomes (the live one with that one section replaced).
 */
export function decidePublish(key: string, source: PublishSource, live: LiveRevision | undefined, options: DecideOptions): PublishDecision {
  if (source.kind === 'section' && !live) {
    return { action: 'no-live-document', message: `${key} does not exist in Redis: a ${source.section} section alone is not a document. Publish a whole config document to ${key} first, then its sections.` };
  }
  const basedOn = baseRevision(source, live, options.expectRevision);
  const liveRevision = live?.revision ?? 0;
  if (liveRevision !== basedOn) return { action: 'conflict', liveRevision, basedOn, message: conflictSentence(key, live, basedOn) };
  const data = source.kind === 'section' ? withSection(live!.data, source.section, source.value) : source.data;
  const plan = planPublish(key, data, live, options.sections, basedOn);
  if (plan.identical) {
    const what = source.kind === 'section' ? `this ${source.section} section` : 'this data';
    return { action: 'unchanged', plan, message: `nothing to publish: ${key} revision ${live!.revision} already holds ${what}` };
  }
  return { action: 'publish', plan, data };
}

/** The live data with one section replaced (or added), every other key and their order kept. */
export function withSection(liveData: DataMap, section: SectionName, value: JsonValue): DataMap {
  const out: DataMap = {};
  // defineProperty: a live key "__proto__" stays an own key instead of replacing the prototype.
  const put = (k: string, v: JsonValue) => Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  for (const [k, v] of Object.entries(liveData)) put(k, k === section ? value : v);
  if (!Object.prototype.hasOwnProperty.call(liveData, section)) put(section, value);
  return out;
}

/** "KEY is at revision N (published at T by W), this publish was based on revision B. Nothing was written." */
export function conflictSentence(key: string, live: Omit<LiveRevision, 'data'> | undefined, basedOn: number): string {
  if (!live) return `${key} does not exist in Redis (deleted, or never published to this key and database), this publish was based on revision ${basedOn}. Nothing was written.`;
  const who = live.meta?.published_by ? ` by ${displayText(live.meta.published_by)}` : '';
  return `${key} is at revision ${live.revision} (published at ${live.updatedAt}${who}), this publish was based on revision ${basedOn}. Nothing was written.`;
}

/** What a failed notification means for the replicas, with the policy's bound. */
export function notificationFailedSentence(subject: string, error: string, policy: { pollIntervalMs: number; slo: { notificationLost: Bound } }): string {
  const lost = policy.slo.notificationLost;
  return (
    `the change notification on ${subject} failed (${error}). The write stands: replicas pick it up on their next poll, ` +
    `within ${formatDuration(policy.pollIntervalMs)} (policy: notification_lost ${lost.inclusive ? '<=' : '<'} ${formatDuration(lost.ms)}).`
  );
}

/** NATS could not be connected before the write: the reason, and why that stopped the publish. */
export function natsUnreachableMessage(reason: string): string {
  return `${/[.?!]$/.test(reason) ? reason : `${reason}.`} Nothing was written: DriftLens connects to NATS before it writes, so that replicas hear of a change at once.`;
}

export interface PublisherIdentity {
  /** Recorded in the document's meta.published_by: who published. */
  publishedBy: string;
  /** The notification's sender_id: which tool on which host. */
  senderId: string;
}

export function publisherIdentity(tool: 'cli' | 'vscode'): PublisherIdentity {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers): keep "unknown"
  }
  return { publishedBy: `${user}@${hostname()}`, senderId: `driftlens-${tool}@${hostname()}` };
}

/** The meta DriftLens writes with a document (Go reads meta as map[string]string). */
export function publishMeta(identity: PublisherIdentity, extra: Record<string, string> = {}): Record<string, string> {
  return { published_by: identity.publishedBy, tool: 'driftlens', ...extra };
}

/** Why a publish to this key and subject must not start, checked before any connection. */
export function publishTargetProblem(target: { key: string; subject: string }): string | undefined {
  return configKeyProblem(target.key) ?? subjectProblem(target.subject);
}

/**
 * "Cannot read KEY: why", said once: the store's own errors already begin with what they could not
 * read ("cannot read KEY: Redis at … refused GET KEY …").
 */
export function cannotReadMessage(key: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // The store's form exactly ("cannot read <what>: …", lower case): a JavaScript "Cannot read properties of undefined" keeps its key.
  return /^cannot read \S+: /.test(message) ? message.charAt(0).toUpperCase() + message.slice(1) : `Cannot read ${key}: ${message}`;
}

/**
 * The sentence for a publish whose write threw. The store says itself whether anything was written
 * ("nothing was written", "may or may not have been written", "was committed, but …"): then its
 * words stand alone. Anything else failed before the write.
 */
export function publishFailedMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /nothing was written|may or may not have been written|was committed/i.test(message) ? `Publish failed: ${message}` : `Publish failed, nothing was written: ${message}`;
}
