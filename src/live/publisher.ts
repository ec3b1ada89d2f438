import type { NatsConnection } from 'nats';
import type { JsonValue } from '../core/canonical';
import type { ConfigStore } from './configStore';
import type { ConfigEnvelope } from './envelope';
import { parseConfigKey } from './envelope';
import { publishConfigChanged } from './notifier';

/**
 * Publish = CAS write to Redis, then the Cordum notification. The order matters: the
 * notification only tells replicas to re-read Redis, so it must never precede the write; and a
 * failed notification never undoes the write (replicas still converge on their next poll).
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

export async function publishDocument(store: ConfigStore, connectNats: () => Promise<NatsConnection>, request: PublishRequest): Promise<PublishOutcome> {
  const envelope = await store.write(request.key, { data: request.data, meta: request.meta, expectedRevision: request.expectedRevision });
  return notifyChange(connectNats, request.key, request.subject, request.senderId, envelope);
}

/** Sends the notification for a document already written (also "re-notify" without writing). */
export async function notifyChange(connectNats: () => Promise<NatsConnection>, key: string, subject: string, senderId: string, envelope: ConfigEnvelope): Promise<PublishOutcome> {
  const { scope, scopeId } = parseConfigKey(key);
  try {
    const nc = await connectNats();
    const { traceId } = await publishConfigChanged(nc, subject, { scope, scopeId, senderId });
    return { envelope, notified: true, traceId };
  } catch (e) {
    return { envelope, notified: false, notifyError: e instanceof Error ? e.message : String(e) };
  }
}
