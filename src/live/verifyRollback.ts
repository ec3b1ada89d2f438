import type { NatsConnection } from 'nats';
import { conflictSentence, natsUnreachableMessage, notificationFailedSentence, publishMeta, type PublisherIdentity } from '../core/publishFlow';
import type { Bound } from '../core/duration';
import { RevisionConflictError, type ConfigStore } from './configStore';
import type { ConfigEnvelope } from './envelope';
import { NotificationUnavailableError, rollbackDocument } from './publisher';
import type { RollbackRecord, VerificationStore } from './verificationStore';

export interface RollbackRequest {
  config: ConfigStore;
  verifications: VerificationStore;
  key: string;
  /** The revision whose verification failed: the rollback happens only while it is still live. */
  failedRevision: number;
  /** Who rolls back: the rollback's `published_by` and the notification's sender. */
  identity: PublisherIdentity;
  /** Connected before anything is written, as for any publish; undefined: NATS could not be reached, nothing is written. */
  nats: NatsConnection | undefined;
  subject: string;
  /** The poll interval and budget named when the notification fails after the write. */
  policy: { pollIntervalMs: number; slo: { notificationLost: Bound } };
}

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
  return passed ? { envelope: passed, why: 'the last revision whose verification passed' } : { envelope: earlier[0], why: 'the revision before it, as no earlier verification passed' };
}

/**
 * Republishes the last revision whose verification passed (else the one before the failed one)
 * through the same path as any publish: NATS ready first, then the CAS write based on the failed
 * revision, then the notification. If anyone published since, the CAS refuses and nothing is
 * written, so a rollback can never overwrite a newer change.
 */
export async function rollbackFailedRevision(r: RollbackRequest): Promise<RollbackRecord> {
  const found = await rollbackTarget(r.config, r.verifications, r.key, r.failedRevision);
  if (!found) {
    return { outcome: 'skipped', message: `no revision before ${r.failedRevision} is in DriftLens' history, so there is nothing to roll back to; nothing was written` };
  }
  const { envelope: target, why } = found;
  if (!r.nats) return { outcome: 'failed', toRevision: target.revision, message: `no rollback to revision ${target.revision}: ${natsUnreachableMessage('NATS is not connected')}` };
  try {
    const outcome = await rollbackDocument(r.config, r.nats, {
      key: r.key,
      revision: target.revision,
      expectedRevision: r.failedRevision,
      meta: publishMeta(r.identity, { rollback_of: String(target.revision), rollback_reason: `verification of revision ${r.failedRevision} failed` }),
      subject: r.subject,
      senderId: r.identity.senderId,
    });
    const notified = outcome.notified ? 'replicas notified' : notificationFailedSentence(r.subject, outcome.notifyError, r.policy);
    return { outcome: 'done', toRevision: target.revision, newRevision: outcome.envelope.revision, message: `rolled back to the data of revision ${target.revision} (${why}) as revision ${outcome.envelope.revision}; ${notified}` };
  } catch (e) {
    if (e instanceof RevisionConflictError) {
      return { outcome: 'skipped', toRevision: target.revision, message: `no rollback: ${conflictSentence(r.key, e.current, r.failedRevision)} A rollback never overwrites a newer revision` };
    }
    if (e instanceof NotificationUnavailableError) return { outcome: 'failed', toRevision: target.revision, message: `no rollback to revision ${target.revision}: ${natsUnreachableMessage(e.message)}` };
    return { outcome: 'failed', toRevision: target.revision, message: `the rollback to revision ${target.revision} failed: ${e instanceof Error ? e.message : String(e)}` };
  }
}
