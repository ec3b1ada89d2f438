import { randomUUID } from 'node:crypto';
import type { NatsConnection } from 'nats';
import type * as protobuf from 'protobufjs';

/**
 * The change notification of the Cordum protocol (reference §4): after a write to Redis
 * succeeded, the writer publishes a `cordum.agent.v1.BusPacket` carrying a `SystemAlert`
 * on `sys.config.changed` (core NATS, no headers). Replicas only use it as a hint to
 * re-read Redis, but they drop packets without trace_id, sender_id or a payload, so the
 * envelope has to be exactly what Cordum's gateway sends.
 */

export const DEFAULT_CONFIG_CHANGED_SUBJECT = 'sys.config.changed';
export const PROTOCOL_VERSION = 1;
export const CONFIG_CHANGED_MESSAGE = 'config changed';
/** How long publishConfigChanged waits for the server to confirm (a flush round trip). */
export const FLUSH_TIMEOUT_MS = 5000;

/** cordum.agent.v1.AlertSeverity. */
export const AlertSeverity = { UNSPECIFIED: 0, INFO: 1, WARNING: 2, ERROR: 3, CRITICAL: 4 } as const;

/**
 * The subset of Cordum's schema DriftLens needs, field numbers and types copied from the
 * .proto files. Names stay snake_case as in the .proto so that `payloadKind` reads like
 * Cordum's field names. The payloads other than `alert` are declared as empty messages: we
 * never build them, and decoding one only has to recognise which oneof member is set
 * (protobuf skips the unknown fields inside). Defined in code rather than loaded from a
 * .proto so the bundle needs no files at run time. `edition: 'proto3'` gives implicit
 * presence: zero values are omitted on the wire, as Go's encoder does.
 */
const SCHEMA: protobuf.INamespace = {
  nested: {
    google: {
      nested: {
        protobuf: {
          nested: {
            Timestamp: {
              edition: 'proto3',
              fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } },
            },
          },
        },
      },
    },
    cordum: {
      nested: {
        agent: {
          nested: {
            v1: {
              nested: {
                AlertSeverity: {
                  values: {
                    ALERT_SEVERITY_UNSPECIFIED: 0,
                    ALERT_SEVERITY_INFO: 1,
                    ALERT_SEVERITY_WARNING: 2,
                    ALERT_SEVERITY_ERROR: 3,
                    ALERT_SEVERITY_CRITICAL: 4,
                  },
                },
                // Only the zero value is known to DriftLens; proto3 enums are open, so other
                // values decode as their numbers.
                ErrorCode: { values: { ERROR_CODE_UNSPECIFIED: 0 } },
                SystemAlert: {
                  edition: 'proto3',
                  fields: {
                    level: { type: 'string', id: 1 },
                    message: { type: 'string', id: 2 },
                    component: { type: 'string', id: 3 },
                    code: { type: 'string', id: 4 },
                    severity: { type: 'AlertSeverity', id: 5 },
                    error_code_enum: { type: 'ErrorCode', id: 6 },
                    source_component: { type: 'string', id: 7 },
                    details: { keyType: 'string', type: 'string', id: 8 } as protobuf.IMapField,
                    trace_id: { type: 'string', id: 9 },
                  },
                },
                JobRequest: { edition: 'proto3', fields: {} },
                JobResult: { edition: 'proto3', fields: {} },
                Heartbeat: { edition: 'proto3', fields: {} },
                JobProgress: { edition: 'proto3', fields: {} },
                JobCancel: { edition: 'proto3', fields: {} },
                Handshake: { edition: 'proto3', fields: {} },
                BusPacket: {
                  edition: 'proto3',
                  oneofs: {
                    payload: { oneof: ['job_request', 'job_result', 'heartbeat', 'alert', 'job_progress', 'job_cancel', 'handshake'] },
                  },
                  fields: {
                    trace_id: { type: 'string', id: 1 },
                    sender_id: { type: 'string', id: 2 },
                    created_at: { type: 'google.protobuf.Timestamp', id: 3 },
                    protocol_version: { type: 'int32', id: 4 },
                    job_request: { type: 'JobRequest', id: 10 },
                    job_result: { type: 'JobResult', id: 11 },
                    heartbeat: { type: 'Heartbeat', id: 12 },
                    alert: { type: 'SystemAlert', id: 13 },
                    signature: { type: 'bytes', id: 14 },
                    job_progress: { type: 'JobProgress', id: 15 },
                    job_cancel: { type: 'JobCancel', id: 16 },
                    handshake: { type: 'Handshake', id: 17 },
                    auth_token: { type: 'string', id: 18 },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

let busPacketType: protobuf.Type | undefined;

/** Built on first use: loading the extension should not pay for schema resolution. */
function busPacket(): protobuf.Type {
  // Loaded on first use: the extension bundles protobufjs, but activation should not evaluate it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const runtime = require('protobufjs') as typeof protobuf;
  busPacketType ??= runtime.Root.fromJSON(SCHEMA).lookupType('cordum.agent.v1.BusPacket');
  return busPacketType;
}

/**
 * Loads protobufjs and resolves the schema now. A publisher calls it before its write: done on the
 * first notification instead, it cost a fresh CLI process tens of milliseconds between the write
 * and the notification, which every replica's convergence clock pays.
 */
export function prepareConfigChanged(): void {
  busPacket();
}

export interface ConfigChangedInput {
  /** The config scope that changed, e.g. `system`. */
  scope: string;
  /** The id within the scope, e.g. `default`. */
  scopeId: string;
  /** Who wrote Redis; Cordum's gateway uses `api-gateway`. Also used as component. */
  senderId: string;
  /** Defaults to a random UUID, like the gateway's. */
  traceId?: string;
  /** Defaults to the current time. */
  now?: Date;
}

/** Go's time.RFC3339 for a UTC time: whole seconds, `Z` suffix (`2026-11-27T21:40:05Z`). */
export function rfc3339Utc(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Encodes the packet Cordum's gateway publishes after a config write. */
export function encodeConfigChanged(input: ConfigChangedInput): Uint8Array {
  const traceId = input.traceId ?? randomUUID();
  const now = input.now ?? new Date();
  const millis = now.getTime();
  if (!Number.isFinite(millis)) throw new RangeError('encodeConfigChanged: invalid date');
  // Floor (not truncate) so times before 1970 still get 0 <= nanos < 1e9, as Timestamp requires.
  const seconds = Math.floor(millis / 1000);
  const nanos = (millis - seconds * 1000) * 1_000_000;
  const type = busPacket();
  const packet = type.fromObject({
    trace_id: traceId,
    sender_id: input.senderId,
    created_at: { seconds, nanos },
    protocol_version: PROTOCOL_VERSION,
    alert: {
      level: 'INFO',
      message: CONFIG_CHANGED_MESSAGE,
      component: input.senderId,
      severity: AlertSeverity.INFO,
      source_component: input.senderId,
      details: { scope: input.scope, scope_id: input.scopeId, changed_at: rfc3339Utc(now) },
      // Cordum's gateway leaves this empty; DriftLens repeats the packet's trace id so that a
      // receiver that only logs the alert can still correlate it.
      trace_id: traceId,
    },
  });
  // protobufjs hands out a Node Buffer (possibly a slice of its shared pool); callers get a
  // plain Uint8Array of their own.
  return new Uint8Array(type.encode(packet).finish());
}

export interface DecodedAlert {
  level: string;
  message: string;
  component: string;
  code: string;
  severity: number;
  errorCodeEnum: number;
  sourceComponent: string;
  details: Record<string, string>;
  traceId: string;
}

export interface DecodedBusPacket {
  traceId: string;
  senderId: string;
  createdAt?: Date;
  protocolVersion: number;
  /** The oneof member that is set, named as in Cordum's .proto (`alert`, `job_request`, ...). */
  payloadKind: string | undefined;
  /** Only when the payload is a SystemAlert. */
  alert?: DecodedAlert;
}

/** Raised for bytes that are not a protobuf message at all. */
export class BusPacketDecodeError extends Error {
  override readonly name = 'BusPacketDecodeError';
}

/** Decodes a BusPacket as a replica would, without judging it (see {@link whyReceiversDrop}). */
export function decodeBusPacket(bytes: Uint8Array): DecodedBusPacket {
  const type = busPacket();
  let message: protobuf.Message;
  try {
    message = type.decode(bytes);
  } catch (e) {
    throw new BusPacketDecodeError(`not a BusPacket: ${(e as Error).message}`);
  }
  // longs: Number is safe for Timestamp.seconds (dates up to year 275760 fit in 2^53).
  const o = type.toObject(message, { longs: Number, enums: Number, oneofs: true, defaults: false });
  const createdAt = o.created_at as { seconds?: number; nanos?: number } | undefined;
  const rawAlert = o.alert as Record<string, unknown> | undefined;
  return {
    traceId: str(o.trace_id),
    senderId: str(o.sender_id),
    ...(createdAt ? { createdAt: new Date((createdAt.seconds ?? 0) * 1000 + Math.floor((createdAt.nanos ?? 0) / 1_000_000)) } : {}),
    protocolVersion: typeof o.protocol_version === 'number' ? o.protocol_version : 0,
    payloadKind: typeof o.payload === 'string' ? o.payload : undefined,
    ...(rawAlert
      ? {
          alert: {
            level: str(rawAlert.level),
            message: str(rawAlert.message),
            component: str(rawAlert.component),
            code: str(rawAlert.code),
            severity: typeof rawAlert.severity === 'number' ? rawAlert.severity : 0,
            errorCodeEnum: typeof rawAlert.error_code_enum === 'number' ? rawAlert.error_code_enum : 0,
            sourceComponent: str(rawAlert.source_component),
            details: { ...((rawAlert.details as Record<string, string> | undefined) ?? {}) },
            traceId: str(rawAlert.trace_id),
          },
        }
      : {}),
  };
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Why Cordum's receivers would silently drop this packet, or undefined if they accept it. */
export function whyReceiversDrop(packet: DecodedBusPacket): string | undefined {
  const missing = [!packet.traceId && 'trace_id', !packet.senderId && 'sender_id', !packet.payloadKind && 'payload'].filter(Boolean);
  return missing.length ? `missing ${missing.join(', ')}` : undefined;
}

/**
 * Publishes the change notification and waits for the server to acknowledge it (a PING/PONG
 * round trip after the PUB). When the promise resolves the server has the message and has
 * handed it to the subscriptions it knew of at that moment; core NATS gives no delivery
 * guarantee beyond that (a replica that is disconnected right now misses it, which is why
 * replicas also poll Redis). Rejects if the connection is closed or the flush fails.
 */
export async function publishConfigChanged(nc: NatsConnection, subject: string, input: ConfigChangedInput): Promise<{ traceId: string }> {
  const traceId = input.traceId ?? randomUUID();
  nc.publish(subject, encodeConfigChanged({ ...input, traceId }));
  await boundedFlush(nc, 'the notification');
  return { traceId };
}

/**
 * A PING/PONG round trip, bounded: on a half-open socket the client would wait for its reconnect,
 * while a person waits on it. Past FLUSH_TIMEOUT_MS it rejects, saying what was not confirmed.
 */
export async function boundedFlush(nc: NatsConnection, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`NATS did not confirm ${what} within ${FLUSH_TIMEOUT_MS / 1000}s`)), FLUSH_TIMEOUT_MS);
  });
  try {
    await Promise.race([nc.flush(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
