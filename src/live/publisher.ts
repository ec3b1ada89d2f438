import type { NatsConnection } from 'nats';
import type { JsonValue } from '../core/canonical';
import type { ConfigStore } from './configStore';
import type { ConfigEnvelope } from './envelope';
import { parseConfigKey } from './envelope';
import { boundedFlush, prepareConfigChanged, publishConfigChanged } from './notifier';

/**
 * Publish = NATS confirmed ready, CAS write to Redis, then the Cordum notification. The order
 * matters both ways: the notification only tells replicas to re-read Redis, so it must never
 * precede the write; and it must leave right after the write, on a connection that is already
 * open and authenticated — a connection made after the write would cost every replica's
 * convergence clock the dial, and a wrong NATS password would only be found once the write stood.
 * A notification that still fails never undoes the write (replicas converge on their next poll).
 */

export interface PublishRequest {
  key: string;
  data: { [key: string]: JsonValue };
  expectedRevision: number;
  meta?: Record<string, string>;
  subject: string;
  senderId: string;
}

export type PublishOutcome =
  | { envelope: ConfigEnvelope; notified: true; traceId: string }
  | { envelope: ConfigEnvelope; notified: false; notifyError: string };

/** NATS cannot carry the notification right now; raised before anything was written. */
export class NotificationUnavailableError extends Error {
  override readonly name = 'NotificationUnavailableError';
}

/**
 * Checks, just before a write, that the connection the notification will leave on is open and
 * answering (one bounded round trip): a connection opened before a confirmation prompt may have
 * dropped while a person read the preview. Also readies the encoder, so that nothing slow is left
 * between the write and the notification.
 */
export async function assertNotifierReady(nats: NatsConnection): Promise<void> {
  prepareConfigChanged();
  const server = nats.getServer();
  try {
    if (nats.isClosed()) throw new Error('the connection is closed');
    await boundedFlush(nats, 'that it is connected');
  } catch (e) {
    throw new NotificationUnavailableError(`NATS at ${server} is not available to notify replicas (${e instanceof Error ? e.message : String(e)}); nothing was written`);
  }
}

export async function publishDocument(store: ConfigStore, nats: NatsConnection, request: PublishRequest): Promise<PublishOutcome> {
  await assertNotifierReady(nats);
  const envelope = await store.write(request.key, { data: request.data, meta: request.meta, expectedRevision: request.expectedRevision });
  return notifyWritten(nats, request.key, request.subject, request.senderId, envelope);
}

export interface RollbackRequest {
  key: string;
  /** The DriftLens history revision whose data is published again. */
  revision: number;
  expectedRevision: number;
  meta?: Record<string, string>;
  subject: string;
  senderId: string;
}

/** A rollback is a publish of old data: the same order, ready NATS first. */
export async function rollbackDocument(store: ConfigStore, nats: NatsConnection, request: RollbackRequest): Promise<PublishOutcome> {
  await assertNotifierReady(nats);
  const envelope = await store.rollback(request.key, request.revision, request.expectedRevision, request.meta);
  return notifyWritten(nats, request.key, request.subject, request.senderId, envelope);
}

/** Sends the notification for a document already written; a failure is reported, never thrown. */
async function notifyWritten(nats: NatsConnection, key: string, subject: string, senderId: string, envelope: ConfigEnvelope): Promise<PublishOutcome> {
  const { scope, scopeId } = parseConfigKey(key);
  try {
    const { traceId } = await publishConfigChanged(nats, subject, { scope, scopeId, senderId });
    return { envelope, notified: true, traceId };
  } catch (e) {
    return { envelope, notified: false, notifyError: e instanceof Error ? e.message : String(e) };
  }
}

/** "Re-notify" without writing: the connection is made on demand. */
export async function notifyChange(connectNats: () => Promise<NatsConnection>, key: string, subject: string, senderId: string, envelope: ConfigEnvelope): Promise<PublishOutcome> {
  try {
    return await notifyWritten(await connectNats(), key, subject, senderId, envelope);
  } catch (e) {
    return { envelope, notified: false, notifyError: e instanceof Error ? e.message : String(e) };
  }
}
