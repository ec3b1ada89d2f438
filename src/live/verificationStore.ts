import type { Measurement, VerifyCheckPolicy, VerifyPolicy } from '../core/verification';
import { inTransactionConnection } from './clusterRouting';
import { assertTransactions, serialised } from './configStore';
import type { RedisClient } from './redisConnection';

/**
 * Where a verification lives, so that every editor and CLI shows the same one: one JSON record per
 * document key and revision, next to the history, and a lease naming who is measuring.
 *
 * Redis keys (DriftLens's own, created only when a policy has `verify`):
 * - `driftlens:verify:{<key>}:<revision>`: the record below, kept 30 days.
 * - `driftlens:verify:{<key>}:<revision>:lease`: the verifier measuring now, with a TTL it renews.
 *   A second verifier of the same revision finds it taken and follows the record instead of racing
 *   it; when the holder stops renewing (its editor closed mid-run), the lease expires and the next
 *   verifier resumes from the stored measurements.
 * The braces are the document key's Redis Cluster hash tag, as for the history list.
 */

export type VerificationState = 'waiting' | 'running' | 'passed' | 'failed' | 'inconclusive' | 'superseded';

export const TERMINAL_STATES: ReadonlySet<VerificationState> = new Set(['passed', 'failed', 'inconclusive', 'superseded']);

/** A check as the policy gave it when the run started, with its baseline and measurements. */
export interface StoredCheck extends VerifyCheckPolicy {
  /** The query at the publish instant; absent when it had no single finite value. */
  baseline?: number;
  /** Why there is no baseline, in a person's words. */
  baselineNote?: string;
  measurements: Measurement[];
}

export interface RollbackRecord {
  /** done: republished; skipped: nothing written (why in message); failed: the write failed. */
  outcome: 'done' | 'skipped' | 'failed';
  /** The revision whose data was republished. */
  toRevision?: number;
  /** The revision the rollback created. */
  newRevision?: number;
  message: string;
}

export interface VerificationRecord {
  v: 1;
  key: string;
  revision: number;
  state: VerificationState;
  /** One line: why the run is where it is. */
  reason: string;
  /** Who measures (or measured): `alice@host (vscode)`. */
  verifier: string;
  /** The verifier's last sign of life (ISO). */
  heartbeatAt: string;
  /** The publish instant of the revision: the baseline's evaluation time. */
  publishedAt: string;
  /** When the first measurement is due (once the replicas converged). */
  startsAt?: string;
  endedAt?: string;
  count: number;
  intervalMs: number;
  initialDelayMs: number;
  onFailure: VerifyPolicy['onFailure'];
  prometheus: string;
  checks: StoredCheck[];
  rollback?: RollbackRecord;
}

const RECORD_TTL_SECONDS = 30 * 24 * 3600;

export function verificationKey(key: string, revision: number): string {
  return `driftlens:verify:{${key}}:${revision}`;
}

export class VerificationRecordError extends Error {}

function decodeRecord(raw: string, where: string): VerificationRecord {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new VerificationRecordError(`${where} is not a DriftLens verification record (not JSON)`);
  }
  const record = value as Partial<VerificationRecord>;
  if (record?.v !== 1 || typeof record.revision !== 'number' || !Array.isArray(record.checks)) {
    throw new VerificationRecordError(`${where} is not a verification record this DriftLens reads (version ${JSON.stringify(record?.v)})`);
  }
  return record as VerificationRecord;
}

export class VerificationStore {
  constructor(private readonly redis: RedisClient) {}

  async read(key: string, revision: number): Promise<VerificationRecord | undefined> {
    const raw = await this.redis.get(verificationKey(key, revision));
    return raw === null ? undefined : decodeRecord(raw, verificationKey(key, revision));
  }

  /** Records of several revisions (history, the tree); unreadable ones are left out. */
  async readMany(key: string, revisions: readonly number[]): Promise<Map<number, VerificationRecord>> {
    const out = new Map<number, VerificationRecord>();
    if (revisions.length === 0) return out;
    // One key at a time keeps this cluster-safe without assuming every key shares a slot's node.
    const raws = await Promise.all(revisions.map((r) => this.redis.get(verificationKey(key, r))));
    raws.forEach((raw, i) => {
      if (raw === null) return;
      try {
        out.set(revisions[i], decodeRecord(raw, verificationKey(key, revisions[i])));
      } catch {
        // a record of a newer DriftLens: shown as unknown, never a crash
      }
    });
    return out;
  }

  /** Who holds the lease of a revision now, if anyone. */
  holder(key: string, revision: number): Promise<string | null> {
    return this.redis.get(`${verificationKey(key, revision)}:lease`);
  }

  /** Takes the lease when it is free, or renews it when `verifier` holds it. */
  async claim(key: string, revision: number, verifier: string, ttlMs: number): Promise<boolean> {
    const lease = `${verificationKey(key, revision)}:lease`;
    if ((await this.redis.set(lease, verifier, 'PX', Math.ceil(ttlMs), 'NX')) === 'OK') return true;
    return this.renew(key, revision, verifier, ttlMs);
  }

  /** Extends the lease only while `verifier` still holds it (WATCH: another verifier may have taken it over). */
  async renew(key: string, revision: number, verifier: string, ttlMs: number): Promise<boolean> {
    return this.whileHolding(key, revision, verifier, (tx) => tx.pexpire(`${verificationKey(key, revision)}:lease`, Math.ceil(ttlMs)));
  }

  /** Stores the record, only while `verifier` holds the lease; false when it lost it (nothing written). */
  async save(record: VerificationRecord, verifier: string, ttlMs: number): Promise<boolean> {
    const lease = `${verificationKey(record.key, record.revision)}:lease`;
    return this.whileHolding(record.key, record.revision, verifier, (tx) =>
      tx.set(verificationKey(record.key, record.revision), JSON.stringify(record), 'EX', RECORD_TTL_SECONDS).pexpire(lease, Math.ceil(ttlMs)),
    );
  }

  async release(key: string, revision: number, verifier: string): Promise<void> {
    await this.whileHolding(key, revision, verifier, (tx) => tx.del(`${verificationKey(key, revision)}:lease`));
  }

  private async whileHolding(key: string, revision: number, verifier: string, work: (tx: ReturnType<RedisClient['multi']>) => unknown): Promise<boolean> {
    const lease = `${verificationKey(key, revision)}:lease`;
    // Queued with ConfigStore's writes on this connection: their WATCHes must never interleave.
    // On a cluster, pinned to the lease's master and started over after a failover: see ConfigStore.casWrite.
    return serialised(this.redis, () =>
      inTransactionConnection(this.redis, lease, async (redis) => {
        // Refused MULTI would run the SET of the record outside the transaction, lease or not.
        await assertTransactions(redis);
        await redis.watch(lease);
        let watching = true;
        try {
          if ((await redis.get(lease)) !== verifier) return false;
          const tx = redis.multi();
          work(tx);
          const results = await tx.exec();
          watching = false;
          return results !== null;
        } finally {
          if (watching) await redis.unwatch().catch(() => undefined);
        }
      }),
    );
  }
}
