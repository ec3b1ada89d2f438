import { RevisionConflictError, type ConfigStore } from './configStore';
import type { ConfigEnvelope } from './envelope';
import type { PublishOutcome } from './publisher';
import type { RollbackRecord, VerificationStore } from './verificationStore';

export interface RollbackRequest {
  config: ConfigStore;
  verifications: VerificationStore;
  key: string;
  /** The revision whose verification failed: the rollback happens only while it is still live. */
  failedRevision: number;
  /** Recorded as the rollback's `published_by`. */
  publisher: string;
  /** Sends the change notification for the rollback (on a connection made before the write). */
  notify: (envelope: ConfigEnvelope) => Promise<PublishOutcome>;
}

/**
 * Republishes the last revision whose verification passed (else the one before the failed one)
 * through the same CAS path as any publish, based on the failed revision: if anyone published
 * since, the CAS refuses and nothing is written, so a rollback can never overwrite a newer change.
 */
export interface RollbackTarget {
  envelope: ConfigEnvelope;
  /** Why this one, in a person's words. */
  why: string;
}

/** The revision a rollback of `failedRevision` would restore: the last one whose verification passed, else the one before. */
export async function rollbackTarget(config: ConfigStore, verifications: VerificationStore, key: string, failedRevision: number): Promise<RollbackTarget | undefined> {
  const earlier = (await config.history(key)).filter((e) => e.revision < failedRevision);
  if (earlier.length === 0) return undefined;
  const verdicts = await verifications.readMany(key, earlier.map((e) => e.revision));
  const passed = earlier.find((e) => verdicts.get(e.revision)?.state === 'passed');
  return passed ? { envelope: passed, why: 'the last revision whose verification passed' } : { envelope: earlier[0], why: 'the revision before it (no earlier verification passed)' };
}

export async function rollbackFailedRevision(r: RollbackRequest): Promise<RollbackRecord> {
  const found = await rollbackTarget(r.config, r.verifications, r.key, r.failedRevision);
  if (!found) {
    return { outcome: 'skipped', message: `no revision before ${r.failedRevision} is in DriftLens' history, so there is nothing to roll back to; nothing was written` };
  }
  const { envelope: target, why } = found;
  try {
    const envelope = await r.config.write(r.key, {
      data: target.data,
      expectedRevision: r.failedRevision,
      meta: { published_by: r.publisher, tool: 'driftlens', rollback_of: String(target.revision), rollback_reason: `verification of revision ${r.failedRevision} failed` },
    });
    const outcome = await r.notify(envelope);
    const notified = outcome.notified ? 'replicas notified' : `the notification failed (${outcome.notifyError}); replicas converge on their next poll`;
    return { outcome: 'done', toRevision: target.revision, newRevision: envelope.revision, message: `rolled back to the data of revision ${target.revision} (${why}) as revision ${envelope.revision}; ${notified}` };
  } catch (e) {
    if (e instanceof RevisionConflictError) {
      const c = e.current;
      const who = c ? `revision ${c.revision} was published since${c.meta?.published_by ? ` by ${c.meta.published_by}` : ''} at ${c.updatedAt}` : `${r.key} no longer exists`;
      return { outcome: 'skipped', toRevision: target.revision, message: `no rollback: ${who}, and a rollback never overwrites a newer revision; nothing was written` };
    }
    return { outcome: 'failed', toRevision: target.revision, message: `the rollback to revision ${target.revision} failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}
