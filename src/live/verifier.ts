import { randomBytes } from 'node:crypto';
import { describeThresholds, formatValue, judgeMeasurement, runVerdict, summarizeCheck, verdictReason, type VerifyPolicy } from '../core/verification';
import type { ConfigStore } from './configStore';
import { instantQuery, type PrometheusEndpoint } from './prometheus';
import { TERMINAL_STATES, VerificationStore, type RollbackRecord, type StoredCheck, type VerificationRecord } from './verificationStore';

/**
 * Runs (or follows) the verification of one revision: the baseline at the publish instant, then
 * `count` measurements per check every `interval`, starting `initial_delay` after the replicas
 * converged, each stored as it is taken. The run ends when a check fails, when all measurements
 * are in, or when a newer revision is published (superseded: its own verification takes over).
 *
 * Exactly one verifier measures a revision (the lease in VerificationStore); any other caller
 * follows the stored record, and takes over from its last measurement if the holder goes away.
 */

/** Tells apart two clients of one user on one host (two windows, two CI jobs): each holds its own lease. */
const PROCESS_TOKEN = randomBytes(3).toString('hex');

/** A verifier's id as others see it and as its lease holds it: `alice@host (cli) #3f2a1c`. */
export function verifierId(name: string): string {
  return `${name} #${PROCESS_TOKEN}`;
}

export interface VerifierOptions {
  redis: VerificationStore;
  /** Reads the live revision (superseded?) and rolls back. */
  config: ConfigStore;
  prometheus: PrometheusEndpoint;
  policy: VerifyPolicy;
  key: string;
  revision: number;
  publishedAtMs: number;
  /** Who measures, as others see it and as the lease holds it: from verifierId(), unique per process. */
  verifier: string;
  /** Resolves when the replicas converged on the revision, or its budget ran out. Default: at once. */
  converged?: (signal: AbortSignal) => Promise<void>;
  /** Republishes an earlier revision over the failed one (CAS on the failed revision, then notify). */
  rollback?: (record: VerificationRecord) => Promise<RollbackRecord>;
  /** Each stored change of the record, as it happens (also the followed one). */
  onUpdate?: (record: VerificationRecord) => void;
  signal?: AbortSignal;
}

/** Abortable wait; resolves early (never rejects) when the signal aborts. */
function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

const iso = (ms: number) => new Date(ms).toISOString();

function newRecord(o: VerifierOptions): VerificationRecord {
  return {
    v: 1,
    key: o.key,
    revision: o.revision,
    state: 'waiting',
    reason: 'waiting for the replicas to converge',
    verifier: o.verifier,
    heartbeatAt: iso(Date.now()),
    publishedAt: iso(o.publishedAtMs),
    count: o.policy.count,
    intervalMs: o.policy.intervalMs,
    initialDelayMs: o.policy.initialDelayMs,
    onFailure: o.policy.onFailure,
    prometheus: o.policy.prometheus,
    checks: o.policy.checks.map((c) => ({ name: c.name, query: c.query, max: c.max, min: c.min, maxIncrease: c.maxIncrease, failureLimit: c.failureLimit, measurements: [] })),
  };
}


/** The checks' summaries and the verdict of a stored record (every view judges alike). */
export function judgeRecord(record: VerificationRecord) {
  const checks = record.checks.map((c) => summarizeCheck(c, record.count, c.measurements));
  return { checks, verdict: runVerdict(checks), reason: verdictReason(checks) };
}

/** One line per check: `dispatch_latency_p99 0.62 (≤ 0.5) 3/10, 1 failed`. */
export function describeCheck(c: StoredCheck, count: number): string {
  const latest = c.measurements[c.measurements.length - 1];
  const value = latest ? (latest.value !== undefined ? formatValue(latest.value) : latest.outcome) : '-';
  const failed = c.measurements.filter((m) => m.outcome === 'failed').length;
  return `${c.name} ${value} (${describeThresholds(c, c.baseline)}) ${c.measurements.length}/${count}${failed ? `, ${failed} failed` : ''}`;
}

export async function verifyRevision(o: VerifierOptions): Promise<VerificationRecord> {
  const signal = o.signal ?? new AbortController().signal;
  const leaseMs = o.policy.intervalMs + Math.max(15_000, o.policy.intervalMs);
  for (;;) {
    const stored = await o.redis.read(o.key, o.revision);
    if (stored && TERMINAL_STATES.has(stored.state)) return stored;
    if (await o.redis.claim(o.key, o.revision, o.verifier, leaseMs)) return measure(o, stored, leaseMs, signal);
    // Someone else measures: follow the record until it ends, or until their lease lapses.
    let last = stored?.heartbeatAt;
    if (stored) o.onUpdate?.(stored);
    while (!signal.aborted) {
      await wait(Math.min(o.policy.intervalMs / 2, 2_000), signal);
      const now = await o.redis.read(o.key, o.revision);
      if (now && now.heartbeatAt !== last) {
        last = now.heartbeatAt;
        o.onUpdate?.(now);
      }
      if (now && TERMINAL_STATES.has(now.state)) return now;
      if ((await o.redis.holder(o.key, o.revision)) === null) break; // lapsed: take over
    }
    if (signal.aborted) return (await o.redis.read(o.key, o.revision)) ?? newRecord(o);
  }
}

async function measure(o: VerifierOptions, resumed: VerificationRecord | undefined, leaseMs: number, signal: AbortSignal): Promise<VerificationRecord> {
  const record = resumed ? { ...resumed, verifier: o.verifier } : newRecord(o);
  let lost = false;
  const save = async () => {
    record.heartbeatAt = iso(Date.now());
    if (!(await o.redis.save(record, o.verifier, leaseMs))) lost = true;
    o.onUpdate?.({ ...record });
  };
  try {
    await save();
    // The baseline: the same query at the publish instant, on Prometheus' own clock. (A resumed run
    // may have stopped before its baselines were stored: the missing ones are taken now.)
    await Promise.all(
      record.checks
        .filter((c) => c.baseline === undefined && c.baselineNote === undefined)
        .map(async (c) => {
          const answer = await instantQuery(o.prometheus, c.query, o.publishedAtMs);
          if (answer.ok && answer.values.length === 1 && Number.isFinite(answer.values[0])) c.baseline = answer.values[0];
          else c.baselineNote = answer.ok ? (answer.values.length === 0 ? 'no data at the publish instant' : answer.values.length > 1 ? `${answer.values.length} series at the publish instant` : `${formatValue(answer.values[0])} at the publish instant`) : answer.error;
        }),
    );
    if (!record.startsAt) {
      // Replicas converge in seconds (or by the poll budget): keep the lease and the heartbeat meanwhile.
      const converging = new AbortController();
      const abort = () => converging.abort();
      signal.addEventListener('abort', abort);
      const keepalive = (async () => {
        while (!converging.signal.aborted && !lost) {
          await wait(Math.min(leaseMs / 3, 5_000), converging.signal);
          if (!converging.signal.aborted) await save();
        }
      })();
      try {
        await (o.converged?.(converging.signal) ?? Promise.resolve());
      } finally {
        converging.abort();
        signal.removeEventListener('abort', abort);
        await keepalive;
      }
      if (signal.aborted || lost) return record;
      record.startsAt = iso(Date.now() + o.policy.initialDelayMs);
      record.state = 'running';
      record.reason = `first measurement at ${record.startsAt}`;
      await save();
    }
    const startMs = Date.parse(record.startsAt);
    for (;;) {
      if (signal.aborted || lost) return record;
      const judged = judgeRecord(record);
      if (judged.verdict !== 'running') {
        record.state = judged.verdict;
        record.reason = judged.reason;
        record.endedAt = iso(Date.now());
        if (judged.verdict === 'failed' && o.policy.onFailure === 'rollback' && o.rollback) {
          await save();
          record.rollback = await o.rollback({ ...record });
        }
        await save();
        return record;
      }
      const index = Math.min(...record.checks.map((c) => c.measurements.length)) + 1;
      const dueAt = startMs + (index - 1) * o.policy.intervalMs;
      while (Date.now() < dueAt && !signal.aborted) {
        await wait(Math.min(dueAt - Date.now(), leaseMs / 3), signal);
        if (Date.now() < dueAt && !signal.aborted) await save();
        if (lost) return record;
      }
      if (signal.aborted) return record;
      const live = (await o.config.read(o.key))?.envelope;
      if (live && live.revision !== o.revision) {
        record.state = 'superseded';
        record.reason = `revision ${live.revision} was published${live.meta?.published_by ? ` by ${live.meta.published_by}` : ''} at ${live.updatedAt}; its own verification takes over`;
        record.endedAt = iso(Date.now());
        await save();
        return record;
      }
      await Promise.all(
        record.checks.map(async (c) => {
          if (c.measurements.length >= index) return;
          const answer = await instantQuery(o.prometheus, c.query);
          c.measurements.push(judgeMeasurement(c, answer, c.baseline, index, Date.now()));
        }),
      );
      record.reason = judgeRecord(record).reason;
      await save();
    }
  } finally {
    if (!lost) await o.redis.release(o.key, o.revision, o.verifier).catch(() => undefined);
  }
}
