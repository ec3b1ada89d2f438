/**
 * The DriftLens replica status protocol, version 1.
 *
 * Cordum replicas apply config changes but report nothing about what they applied. This protocol is
 * the missing acknowledgement: every replica says, per hash-gated section, which hash it runs, since
 * when, and what went wrong last. A watcher compares those hashes with the live document's to tell
 * "in sync" from "drifted" per replica. Everything below is plain JSON over Redis and core NATS, so a
 * Go or Python replica can implement it without DriftLens code.
 *
 * ## Payload (JSON object, snake_case; field order is free, unknown fields must be ignored)
 *
 *   {
 *     "v": 1,                                   // protocol version; readers refuse any other value
 *     "replica_id": "scheduler-7c9f-2",         // unique per replica: no whitespace, no { }
 *     "service": "cordum-scheduler",            // no whitespace, no ':' and no { }
 *     "config_key": "cfg:system:default",       // the document this replica follows
 *     "revision": 42,                           // document revision read by the last successful read; null if none (or no document)
 *     "reason": "apply",                        // why this report was sent: startup | apply | heartbeat | error
 *     "reported_at": "2026-11-27T21:40:05.123456789Z",  // RFC 3339 (UTC, nanoseconds optional), as Go's time.RFC3339Nano
 *     "started_at": "2026-11-27T21:00:00Z",
 *     "poll_interval_ms": 30000,                // the replica's effective fallback poll interval
 *     "last_check_at": "2026-11-27T21:40:05.1Z",         // null before the first check
 *     "last_check_trigger": "notification",     // startup | notification | poll; null before the first check
 *     "sections": {                             // only sections applied at least once
 *       "pools": { "hash": "<64 lowercase hex>", "applied_at": "<RFC 3339>", "trigger": "poll", "revision": 41 }
 *     },
 *     "last_error": null,                       // or { "at", "message", "kind", "section"?, "hash"? }
 *     "seq": 17,                                // optional: counts this process's reports (1, 2, …) since started_at
 *     "simulated": true                         // optional: only simulated replicas send it (see below)
 *   }
 *
 * - `sections.<name>.hash` is the Cordum section hash (SHA-256 hex of the Go-canonical JSON of the
 *   normalised section) of what the replica applied; `revision` is the document revision it came from.
 * - `seq` (optional, added in a backward-compatible way: old readers ignore it, reports without it
 *   stay valid) orders the reports of one process even when its clock steps back. NATS may deliver
 *   an old event after a newer one (a reconnect replays what was buffered): readers keep the newest
 *   report per replica, see {@link isNewerReport}.
 * - `reason`: `startup` after the first check; `apply` after a check that applied a section (or
 *   cleared the previous error); `error` after a check that recorded an error; `heartbeat` periodic.
 * - `last_error.kind`: `invalid` (the live section fails the schema; nothing applied, `section` set,
 *   no `hash` since an invalid section has none), `apply-failed` (the service's setter refused it;
 *   `section` and the rejected live `hash` set), `redis-unavailable` (the document could not be
 *   read), `live-unreadable` (the value at the key is not a config envelope). A replica keeps
 *   running its last good config in every case. `last_error` describes the latest check: a check
 *   that reads the document and applies without error resets it to null.
 * - `simulated`: `true` for a replica that is not a real service (`driftlens replicas`, tests).
 *   It reports like any replica, possibly into the same Redis as the real fleet, so every view marks
 *   it. Absent (the v1 form before this field existed) or `false` means a real replica.
 *
 * ## Durable report (Redis)
 *
 *   SET  driftlens:replica:{<config_key>}:<service>:<replica_id>  <json>  PX <ttl_ms>
 *   ZADD driftlens:replicas:{<config_key>}  <reported_at as epoch ms>  <service>:<replica_id>
 *
 * Both in one MULTI/EXEC. The braces are a Redis Cluster hash tag: the report, the index and the
 * config document share one slot, so MULTI and MGET work on a cluster. Send a report at least every
 * heartbeat (default 5 s) with ttl = 3 x heartbeat (15 s, like Cordum's instance registry).
 * A watcher lists replicas with `ZRANGE <index> 0 -1 WITHSCORES` then one `MGET` of the report
 * keys: an index member whose report key has expired is a *stale* replica (gone or hung). Watchers
 * trim index members older than an hour with `ZREMRANGEBYSCORE <index> -inf (<now-3600000>`.
 *
 * ## Live event (NATS)
 *
 * The same JSON bytes are published on core NATS subject `sys.config.status` (no headers, no
 * JetStream), fire-and-forget, after the Redis write — and also when the Redis write failed, so a
 * replica that cannot reach Redis can still say so.
 */

import type { NatsConnection } from 'nats';
import { assertTransactions } from './configStore';
import { endpointLabel, isConnectionError, RedisUnavailableError, type RedisClient } from './redisConnection';

export const REPLICA_STATUS_VERSION = 1;
/** Core NATS subject of the live event. */
export const STATUS_SUBJECT = 'sys.config.status';
export const DEFAULT_HEARTBEAT_MS = 5000;
/** 3 x heartbeat: a replica may miss two heartbeats before its report expires. */
export const DEFAULT_REPORT_TTL_MS = 3 * DEFAULT_HEARTBEAT_MS;
/** How long readReplicaReports keeps an index member after its last report. */
export const DEFAULT_INDEX_RETENTION_MS = 3_600_000;

export const REPORT_REASONS = ['startup', 'apply', 'heartbeat', 'error'] as const;
export type ReportReason = (typeof REPORT_REASONS)[number];
export const CHECK_TRIGGERS = ['startup', 'notification', 'poll'] as const;
export type CheckTrigger = (typeof CHECK_TRIGGERS)[number];
export const REPLICA_ERROR_KINDS = ['invalid', 'apply-failed', 'redis-unavailable', 'live-unreadable'] as const;
export type ReplicaErrorKind = (typeof REPLICA_ERROR_KINDS)[number];

export interface AppliedSection {
  hash: string;
  appliedAt: string;
  trigger: CheckTrigger;
  revision: number;
}

export interface ReplicaError {
  at: string;
  message: string;
  kind: ReplicaErrorKind;
  section?: string;
  /** The live hash that was rejected (apply-failed only). */
  hash?: string;
}

/** A report as TypeScript sees it; {@link encodeReplicaReport} writes the snake_case wire form. */
export interface ReplicaReport {
  v: typeof REPLICA_STATUS_VERSION;
  replicaId: string;
  service: string;
  configKey: string;
  revision: number | null;
  reason: ReportReason;
  reportedAt: string;
  startedAt: string;
  pollIntervalMs: number;
  lastCheckAt: string | null;
  lastCheckTrigger: CheckTrigger | null;
  sections: Record<string, AppliedSection>;
  lastError: ReplicaError | null;
  /** Reports sent by this process so far, this one included (optional on the wire). */
  seq?: number;
  /** Sent by simulators only; absent for a real replica. */
  simulated?: boolean;
}

/** A value that is not a version-1 replica report; the message says which field and why. */
export class ReplicaReportError extends Error {
  constructor(reason: string) {
    super(`not a DriftLens replica report (v${REPLICA_STATUS_VERSION}): ${reason}`);
    this.name = 'ReplicaReportError';
  }
}

/** Decoding a whole message at once keeps no state between calls, so one decoder serves all. */
const UTF8 = new TextDecoder('utf-8', { fatal: false });
const RFC3339 = /^(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const SERVICE = /^[^\s:{}]+$/;
const REPLICA_ID = /^[^\s{}]+$/;

// ---------------------------------------------------------------- keys and subjects

/** Redis key of one replica's durable report. */
export function replicaReportKey(configKey: string, service: string, replicaId: string): string {
  checkConfigKey(configKey);
  return `driftlens:replica:{${configKey}}:${replicaMember(service, replicaId)}`;
}

/** Redis key of the sorted set listing the replicas of a document. */
export function replicaIndexKey(configKey: string): string {
  checkConfigKey(configKey);
  return `driftlens:replicas:{${configKey}}`;
}

/** The index member of a replica: `<service>:<replicaId>` (the service has no colon, so the first one splits). */
export function replicaMember(service: string, replicaId: string): string {
  if (!SERVICE.test(service)) throw new RangeError(`service "${service}" must be non-empty without whitespace, ':' or braces`);
  if (!REPLICA_ID.test(replicaId)) throw new RangeError(`replica id "${replicaId}" must be non-empty without whitespace or braces`);
  return `${service}:${replicaId}`;
}

export function parseReplicaMember(member: string): { service: string; replicaId: string } {
  const colon = member.indexOf(':');
  return colon < 0 ? { service: member, replicaId: '' } : { service: member.slice(0, colon), replicaId: member.slice(colon + 1) };
}

/** A brace in the config key would end or nest the hash tag and split report, index and document across slots. */
function checkConfigKey(configKey: string): void {
  if (configKey === '' || /[{}\s]/.test(configKey)) throw new RangeError(`config key "${configKey}" must be non-empty without whitespace or braces`);
}

/** Epoch milliseconds of an RFC 3339 time (sub-millisecond digits dropped), or NaN. */
export function rfc3339ToEpochMs(time: string): number {
  const fast = rfc3339Fast(time);
  return fast !== undefined ? fast : rfc3339ByDateParse(time);
}

/** The reference reading: the pattern, then Date.parse. Every time the fast path does not take ends here. */
export function rfc3339ByDateParse(time: string): number {
  const match = RFC3339.exec(time);
  if (!match) return NaN;
  const fraction = (match[2] ?? '.0').slice(1, 4).padEnd(3, '0');
  return Date.parse(`${match[1].toUpperCase()}.${fraction}${match[3].toUpperCase()}`);
}

/** The value of `count` ASCII digits at `from`, or -1. */
function digitsAt(text: string, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return -1;
    value = value * 10 + d;
  }
  return value;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Epoch ms of a well-formed RFC 3339 time whose fields are all in range, without a regular
 * expression or Date.parse; undefined for anything else (which the reference reading then decides,
 * so both agree on every input). A watcher reads several times per report, a thousand reports a
 * second; this was a sixth of its decoding.
 */
function rfc3339Fast(t: string): number | undefined {
  if (t.length < 20 || t.charCodeAt(4) !== 45 || t.charCodeAt(7) !== 45 || t.charCodeAt(13) !== 58 || t.charCodeAt(16) !== 58) return undefined;
  const sep = t.charCodeAt(10);
  if (sep !== 84 && sep !== 116) return undefined; // T t
  const year = digitsAt(t, 0, 4);
  const month = digitsAt(t, 5, 2);
  const day = digitsAt(t, 8, 2);
  const hour = digitsAt(t, 11, 2);
  const minute = digitsAt(t, 14, 2);
  const second = digitsAt(t, 17, 2);
  // Years below 100 mean 19xx to Date.UTC: leave them (and every out-of-range field) to Date.parse.
  if (year < 100 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  const leap = month === 2 && (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0));
  if (day > DAYS_IN_MONTH[month - 1] + (leap ? 1 : 0)) return undefined;
  let i = 19;
  let millis = 0;
  if (t.charCodeAt(i) === 46) {
    // A fraction: at least one digit; the first three are milliseconds.
    let n = 0;
    for (i++; i < t.length; i++, n++) {
      const d = t.charCodeAt(i) - 48;
      if (!(d >= 0 && d <= 9)) break;
      if (n < 3) millis = millis * 10 + d;
    }
    if (n === 0) return undefined;
    for (; n < 3; n++) millis *= 10;
  }
  let offsetMinutes = 0;
  const zone = t.charCodeAt(i);
  if (zone === 90 || zone === 122) {
    if (i + 1 !== t.length) return undefined; // Z z
  } else if (zone === 43 || zone === 45) {
    if (i + 6 !== t.length || t.charCodeAt(i + 3) !== 58) return undefined; // + - HH:MM
    const oh = digitsAt(t, i + 1, 2);
    const om = digitsAt(t, i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return undefined;
    offsetMinutes = (zone === 43 ? 1 : -1) * (oh * 60 + om);
  } else {
    return undefined;
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000;
}

// ---------------------------------------------------------------- encode / decode

/** The wire JSON of a report. Throws ReplicaReportError for a report other replicas could not decode. */
export function encodeReplicaReport(report: ReplicaReport): string {
  const sections: Record<string, unknown> = {};
  for (const name of Object.keys(report.sections).sort()) {
    const s = report.sections[name];
    sections[name] = { hash: s.hash, applied_at: s.appliedAt, trigger: s.trigger, revision: s.revision };
  }
  const e = report.lastError;
  const wire = {
    v: report.v,
    replica_id: report.replicaId,
    service: report.service,
    config_key: report.configKey,
    revision: report.revision,
    reason: report.reason,
    reported_at: report.reportedAt,
    started_at: report.startedAt,
    poll_interval_ms: report.pollIntervalMs,
    last_check_at: report.lastCheckAt,
    last_check_trigger: report.lastCheckTrigger,
    sections,
    last_error: e
      ? { at: e.at, message: e.message, ...(e.section !== undefined ? { section: e.section } : {}), ...(e.hash !== undefined ? { hash: e.hash } : {}), kind: e.kind }
      : null,
    ...(report.seq !== undefined ? { seq: report.seq } : {}),
    // Written only when true, so a real replica's report is byte for byte what readers knew before.
    ...(report.simulated ? { simulated: true } : {}),
  };
  // Validating our own output keeps a buggy producer from publishing what every reader would refuse.
  fromWire(wire);
  return JSON.stringify(wire);
}

/** Parses and validates a report (JSON text or UTF-8 bytes). Unknown fields are ignored; a wrong version or shape throws ReplicaReportError. */
export function decodeReplicaReport(input: string | Uint8Array): ReplicaReport {
  const text = typeof input === 'string' ? input : UTF8.decode(input);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ReplicaReportError(`it is not valid JSON (${(err as Error).message})`);
  }
  return fromWire(parsed);
}

function fromWire(value: unknown): ReplicaReport {
  if (!isObject(value)) throw new ReplicaReportError(`it is ${describe(value)}, not a JSON object`);
  const o = value;
  if (o.v === undefined) throw new ReplicaReportError('it has no "v" (protocol version) field');
  if (o.v !== REPLICA_STATUS_VERSION) throw new ReplicaReportError(`unsupported version "v": ${JSON.stringify(o.v)}; this reader understands ${REPLICA_STATUS_VERSION}`);

  const service = field(o, 'service', (x) => typeof x === 'string' && SERVICE.test(x), 'a non-empty string without whitespace, ":" or braces') as string;
  const replicaId = field(o, 'replica_id', (x) => typeof x === 'string' && REPLICA_ID.test(x), 'a non-empty string without whitespace or braces') as string;
  const configKey = field(o, 'config_key', (x) => typeof x === 'string' && x !== '' && !/[{}\s]/.test(x), 'a config key such as cfg:system:default') as string;
  const revision = field(o, 'revision', (x) => x === null || isRevision(x), 'a whole number >= 0 or null') as number | null;
  const reason = field(o, 'reason', (x) => isOneOf(x, REPORT_REASONS), `one of ${REPORT_REASONS.join(', ')}`) as ReportReason;
  const reportedAt = field(o, 'reported_at', isTime, 'an RFC 3339 time') as string;
  const startedAt = field(o, 'started_at', isTime, 'an RFC 3339 time') as string;
  const pollIntervalMs = field(o, 'poll_interval_ms', (x) => typeof x === 'number' && Number.isFinite(x) && x > 0, 'a number of milliseconds > 0') as number;
  const lastCheckAt = field(o, 'last_check_at', (x) => x === null || isTime(x), 'an RFC 3339 time or null') as string | null;
  const lastCheckTrigger = field(o, 'last_check_trigger', (x) => x === null || isOneOf(x, CHECK_TRIGGERS), `one of ${CHECK_TRIGGERS.join(', ')} or null`) as CheckTrigger | null;

  const rawSections = field(o, 'sections', isObject, 'an object') as Record<string, unknown>;
  const sections: Record<string, AppliedSection> = {};
  for (const [name, s] of Object.entries(rawSections)) {
    const where = `sections.${name}`;
    if (!isObject(s)) throw new ReplicaReportError(`"${where}" is ${describe(s)}, not an object`);
    sections[name] = {
      hash: field(s, 'hash', isHash, '64 lowercase hex digits (SHA-256)', where) as string,
      appliedAt: field(s, 'applied_at', isTime, 'an RFC 3339 time', where) as string,
      trigger: field(s, 'trigger', (x) => isOneOf(x, CHECK_TRIGGERS), `one of ${CHECK_TRIGGERS.join(', ')}`, where) as CheckTrigger,
      revision: field(s, 'revision', isRevision, 'a whole number >= 0', where) as number,
    };
  }

  let lastError: ReplicaError | null = null;
  const rawError = field(o, 'last_error', (x) => x === null || isObject(x), 'an object or null');
  if (isObject(rawError)) {
    const where = 'last_error';
    lastError = {
      at: field(rawError, 'at', isTime, 'an RFC 3339 time', where) as string,
      message: field(rawError, 'message', (x) => typeof x === 'string', 'a string', where) as string,
      kind: field(rawError, 'kind', (x) => isOneOf(x, REPLICA_ERROR_KINDS), `one of ${REPLICA_ERROR_KINDS.join(', ')}`, where) as ReplicaErrorKind,
    };
    if (rawError.section !== undefined) lastError.section = field(rawError, 'section', (x) => typeof x === 'string' && x !== '', 'a section name', where) as string;
    if (rawError.hash !== undefined) lastError.hash = field(rawError, 'hash', isHash, '64 lowercase hex digits (SHA-256)', where) as string;
  }

  const report: ReplicaReport = { v: REPLICA_STATUS_VERSION, replicaId, service, configKey, revision, reason, reportedAt, startedAt, pollIntervalMs, lastCheckAt, lastCheckTrigger, sections, lastError };
  const simulated = o.simulated === undefined ? false : (field(o, 'simulated', (x) => typeof x === 'boolean', 'true or false') as boolean);
  if (simulated) report.simulated = true;
  if (o.seq !== undefined) report.seq = field(o, 'seq', (x) => isRevision(x) && (x as number) > 0, 'a whole number > 0') as number;
  return report;
}

/** [epoch ms, nanoseconds within the ms] of an RFC 3339 time: reports compare at the precision they were written with. */
function preciseTime(time: string): [number, number] {
  return [rfc3339ToEpochMs(time), subMillisecondNs(time)];
}

/** Digits 4 to 9 of the fraction (nanoseconds within the millisecond) of a time the decoder accepted. */
function subMillisecondNs(time: string): number {
  if (time.charCodeAt(19) !== 46) return 0;
  let ns = 0;
  let n = 0; // fraction digits read
  for (let i = 20; n < 9; i++, n++) {
    const d = time.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) break;
    if (n >= 3) ns = ns * 10 + d;
  }
  for (; n < 9; n++) if (n >= 3) ns *= 10;
  return ns;
}

/**
 * Whether `candidate` is a newer report of the same replica than `than`. Within one process
 * (same started_at) `seq` decides when both carry it, else the replica's own reported_at (to the
 * nanosecond); across processes the later started_at. A tie counts as newer: the same report
 * arriving twice changes nothing.
 */
export function isNewerReport(candidate: ReplicaReport, than: ReplicaReport): boolean {
  if (candidate.startedAt === than.startedAt && candidate.seq !== undefined && than.seq !== undefined) return candidate.seq >= than.seq;
  // Another process of the same replica: the later start is the one running now. (Comparing
  // reported_at across processes would let one report from a clock set ahead hide every report of
  // the restarted process until the wall clock caught up.)
  if (candidate.startedAt !== than.startedAt) {
    const [sa, saNs] = preciseTime(candidate.startedAt);
    const [sb, sbNs] = preciseTime(than.startedAt);
    return sa !== sb ? sa > sb : saNs > sbNs;
  }
  const [a, aNs] = preciseTime(candidate.reportedAt);
  const [b, bNs] = preciseTime(than.reportedAt);
  return a !== b ? a > b : aNs >= bNs;
}

function field(o: Record<string, unknown>, name: string, ok: (x: unknown) => boolean, expected: string, within?: string): unknown {
  const value = o[name];
  const path = within ? `${within}.${name}` : name;
  if (value === undefined) throw new ReplicaReportError(`"${path}" is missing (expected ${expected})`);
  if (!ok(value)) throw new ReplicaReportError(`"${path}" is ${describe(value)}, expected ${expected}`);
  return value;
}

const isTime = (x: unknown): boolean => typeof x === 'string' && !Number.isNaN(rfc3339ToEpochMs(x));
const isHash = (x: unknown): boolean => typeof x === 'string' && SHA256_HEX.test(x);
const isRevision = (x: unknown): boolean => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

function isOneOf<T extends string>(x: unknown, values: readonly T[]): x is T {
  return typeof x === 'string' && (values as readonly string[]).includes(x);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const shown = JSON.stringify(value) ?? String(value);
  return `${typeof value} ${shown.length > 40 ? shown.slice(0, 37) + '...' : shown}`;
}

// ---------------------------------------------------------------- Redis and NATS

export interface PublishReportResult {
  /** The durable report key written. */
  key: string;
  /** Whether the live event was handed to the NATS client (false without a connection or when publish failed). */
  live: boolean;
  /** Why the live event was not sent, when it was attempted. */
  liveError?: string;
}

/**
 * Writes the durable report and its index entry in one MULTI, then publishes the live event.
 * The live event also goes out when the Redis write failed (then the Redis error is thrown
 * afterwards as a ReportWriteError); a NATS failure never throws, since the live event is only a hint.
 */
/** Connections whose user may run transactions (see assertTransactions). */
const transactionsChecked = new WeakSet<RedisClient>();

export async function publishReplicaReport(redis: RedisClient, nats: NatsConnection | undefined, report: ReplicaReport, ttlMs: number = DEFAULT_REPORT_TTL_MS): Promise<PublishReportResult> {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs must be a whole number > 0, not ${ttlMs}`);
  const text = encodeReplicaReport(report);
  const key = replicaReportKey(report.configKey, report.service, report.replicaId);
  const index = replicaIndexKey(report.configKey);

  let durableError: unknown;
  try {
    // Once per connection: without MULTI the SET and ZADD would run on their own and only EXEC fail.
    if (!transactionsChecked.has(redis)) {
      await assertTransactions(redis);
      transactionsChecked.add(redis);
    }
    const results = await redis.multi().set(key, text, 'PX', ttlMs).zadd(index, String(rfc3339ToEpochMs(report.reportedAt)), replicaMember(report.service, report.replicaId)).exec();
    if (results === null) throw new Error(`the MULTI writing ${key} was aborted`);
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
  } catch (err) {
    durableError = err;
  }

  const result: PublishReportResult = { key, live: false };
  if (nats) {
    try {
      nats.publish(STATUS_SUBJECT, text);
      result.live = true;
    } catch (err) {
      result.liveError = (err as Error).message;
    }
  }
  if (durableError !== undefined) throw new ReportWriteError(key, durableError, result);
  return result;
}

/** The durable report could not be written (typically: Redis is down). `live` tells whether the NATS event still went out. */
export class ReportWriteError extends Error {
  readonly live: boolean;
  constructor(
    readonly key: string,
    override readonly cause: unknown,
    result: PublishReportResult,
  ) {
    super(`cannot write the replica report ${key}: ${(cause as Error)?.message ?? String(cause)}${result.live ? ' (the live event was published)' : ''}`);
    this.name = 'ReportWriteError';
    this.live = result.live;
  }
}

export interface StaleReplica {
  member: string;
  service: string;
  replicaId: string;
  /** The index score: reported_at of the last report, epoch ms. */
  lastSeenMs: number;
}

export interface ReplicaReports {
  /** Live reports, in index order (oldest report first). */
  reports: ReplicaReport[];
  /** Replicas in the index whose report has expired: stopped, crashed or hung. */
  stale: StaleReplica[];
  /** Report keys holding something that does not decode (another writer, or a newer protocol version). */
  invalid: { member: string; key: string; error: string }[];
}

export interface ReadReplicaReportsOptions {
  /** Index members older than this are removed. Default one hour. */
  retentionMs?: number;
  /** Now, epoch ms (for tests). */
  now?: number;
}

/**
 * Lists the replicas of a document: one ZRANGE and one MGET. A dropped connection rejects with a
 * RedisUnavailableError in our words (ioredis would say "Stream isn't writeable...").
 */
export async function readReplicaReports(redis: RedisClient, configKey: string, options: ReadReplicaReportsOptions = {}): Promise<ReplicaReports> {
  try {
    return await readReports(redis, configKey, options);
  } catch (err) {
    if (!isConnectionError(err)) throw err;
    throw new RedisUnavailableError(`cannot read the replica reports of ${configKey}: Redis at ${endpointLabel(redis)} is not reachable`, endpointLabel(redis));
  }
}

async function readReports(redis: RedisClient, configKey: string, options: ReadReplicaReportsOptions): Promise<ReplicaReports> {
  const index = replicaIndexKey(configKey);
  const cutoff = (options.now ?? Date.now()) - (options.retentionMs ?? DEFAULT_INDEX_RETENTION_MS);
  // Plain reads, no MULTI: an EXEC on a connection shared with a publisher would drop the
  // publisher's WATCH. The trim is best effort, so that a read-only ACL user can still watch.
  await redis.zremrangebyscore(index, '-inf', `(${cutoff}`).catch(() => undefined);
  const flat = await redis.zrange(index, '0', '-1', 'WITHSCORES');

  const out: ReplicaReports = { reports: [], stale: [], invalid: [] };
  if (flat.length === 0) return out;
  const members: { member: string; score: number; key: string }[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const member = flat[i];
    members.push({ member, score: Number(flat[i + 1]), key: `driftlens:replica:{${configKey}}:${member}` });
  }
  const values = await redis.mget(...members.map((m) => m.key));
  members.forEach((m, i) => {
    const value = values[i];
    if (value === null) {
      out.stale.push({ member: m.member, ...parseReplicaMember(m.member), lastSeenMs: m.score });
      return;
    }
    try {
      out.reports.push(decodeReplicaReport(value));
    } catch (err) {
      out.invalid.push({ member: m.member, key: m.key, error: (err as Error).message });
    }
  });
  return out;
}
