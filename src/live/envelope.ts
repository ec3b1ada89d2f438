/**
 * The Cordum config envelope as it lives in Redis: one string per scope at `cfg:<scope>:<id>`.
 * Encoding reproduces the bytes Go's `json.Marshal` writes for Cordum's `configsvc.Document`, so a
 * document DriftLens publishes is indistinguishable from one the Cordum gateway wrote.
 * No I/O here: the Redis side is in configStore.ts.
 */

import { canonicalJson, quoteGoString } from '../core/canonical';
import type { JsonValue } from '../core/canonical';
import { CONFIG_SCOPES, configKeyProblem, isScope, type ConfigScope } from '../core/documentKey';
import { MAX_NESTING_DEPTH, nestsTooDeep } from '../core/documentModel';

export interface ConfigEnvelope {
  scope: ConfigScope;
  scopeId: string;
  data: { [key: string]: JsonValue };
  revision: number;
  /** RFC 3339 as Go writes it (see {@link formatRfc3339Nano}); written verbatim. */
  updatedAt: string;
  /** Free-form writer notes (who, why); omitted from the JSON when empty. */
  meta?: Record<string, string>;
}

/**
 * A value in Redis that is not a usable envelope. Replicas cannot read such a document either, and
 * whatever wrote it may matter to someone: callers must not overwrite it without explicit consent.
 */
export class LiveDocumentError extends Error {
  constructor(
    readonly reason: string,
    readonly key?: string,
    /** What the caller did about it, e.g. "nothing was written". */
    readonly consequence?: string,
  ) {
    super(`${key ? `the live value at ${key}` : 'the value'} is not a Cordum config envelope: ${reason}${consequence ? `; ${consequence}` : ''}`);
    this.name = 'LiveDocumentError';
  }

  /** The same finding about the value stored at `key`. */
  at(key: string, consequence?: string): LiveDocumentError {
    return new LiveDocumentError(this.reason, key, consequence);
  }
}

/** The largest revision DriftLens can read, compare and increment exactly (2^53 − 1). */
export const MAX_REVISION = Number.MAX_SAFE_INTEGER;

/**
 * An envelope whose revision is a number but not one DriftLens can use: negative, fractional, or
 * beyond 2^53 − 1 (where JavaScript numbers stop being exact, so revision + 1 could equal the
 * revision). Go may read it, so it is not called a broken envelope; it is still never overwritten.
 */
export class UnusableRevisionError extends LiveDocumentError {
  constructor(
    /** The revision exactly as stored (the JSON number text, not a rounded double). */
    readonly storedRevision: string,
    key?: string,
    consequence?: string,
  ) {
    super(`its revision is ${storedRevision}, not a whole number DriftLens can use (0 to ${MAX_REVISION})`, key, consequence);
    this.message = `${key ? `the live document at ${key}` : 'the live document'} has revision ${storedRevision}, not a whole number DriftLens can use (0 to ${MAX_REVISION})${consequence ? `; ${consequence}` : ''}`;
    this.name = 'UnusableRevisionError';
  }

  override at(key: string, consequence?: string): LiveDocumentError {
    return new UnusableRevisionError(this.storedRevision, key, consequence);
  }
}

/** What to tell a person about an unusable live document (the CLI and the extension say the same). */
export function unusableLiveDocumentMessage(error: LiveDocumentError, key: string): string {
  const sentence = error.message.charAt(0).toUpperCase() + error.message.slice(1);
  return `${sentence}. DriftLens will not overwrite it; inspect it with redis-cli GET ${key}`;
}

export class ConfigKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigKeyError';
  }
}

/** The exact bytes Cordum's Go service stores (field order scope, scope_id, data, revision, updated_at, meta). */
export function encodeEnvelope(env: ConfigEnvelope): string {
  if (!Number.isSafeInteger(env.revision)) throw new RangeError(`revision must be an integer, not ${env.revision}`);
  let out =
    '{"scope":' + quoteGoString(env.scope) +
    ',"scope_id":' + quoteGoString(env.scopeId) +
    ',"data":' + canonicalJson(env.data) +
    ',"revision":' + String(env.revision) +
    ',"updated_at":' + quoteGoString(env.updatedAt);
  // `omitempty` on a Go map drops it when it has no entries; canonicalJson sorts keys as Go does.
  if (env.meta && Object.keys(env.meta).length > 0) out += ',"meta":' + canonicalJson(env.meta);
  return out + '}';
}

/** Go's time.Time zero value, which is what Go decodes a missing `updated_at` to. */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parses a stored envelope, accepting what Go's decoder accepts (unknown fields ignored, missing
 * scope_id/meta/updated_at as zero values) and rejecting what would make Go fail or lose data.
 */
export function decodeEnvelope(text: string): ConfigEnvelope {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new LiveDocumentError(`it is not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(parsed)) throw new LiveDocumentError(`it is JSON ${describe(parsed)}, not an object`);
  // Go reads up to 10,000 levels; DriftLens stops where its own readers do (every later step recurses).
  if (nestsTooDeep(parsed)) throw new LiveDocumentError(`it nests deeper than ${MAX_NESTING_DEPTH} levels of objects and arrays`);

  const { scope, scope_id: scopeId, data, revision, updated_at: updatedAt, meta } = parsed;
  if (!isObject(data)) {
    throw new LiveDocumentError(data === undefined ? 'it has no "data" object' : `"data" is ${describe(data)}, not an object`);
  }
  if (revision === undefined) throw new LiveDocumentError('it has no "revision"');
  if (typeof revision !== 'number') throw new LiveDocumentError(`"revision" is ${describe(revision)}, not an integer`);
  // JSON.parse has already rounded 2^53 + 1 to 2^53: the message quotes the stored digits instead.
  if (!Number.isSafeInteger(revision) || revision < 0) throw new UnusableRevisionError(topLevelNumberText(text, 'revision') ?? String(revision));
  if (typeof scope !== 'string' || !isScope(scope)) {
    throw new LiveDocumentError(`"scope" is ${describe(scope)}, not one of ${CONFIG_SCOPES.join(', ')}`);
  }
  if (scopeId !== undefined && typeof scopeId !== 'string') throw new LiveDocumentError(`"scope_id" is ${describe(scopeId)}, not a string`);
  if (updatedAt !== undefined && (typeof updatedAt !== 'string' || !RFC3339.test(updatedAt))) {
    throw new LiveDocumentError(`"updated_at" is ${describe(updatedAt)}, not an RFC 3339 time`);
  }
  const nonFinite = findNonFinite(data, 'data');
  if (nonFinite) throw new LiveDocumentError(`${nonFinite} is a number outside the float64 range`);

  const envelope: ConfigEnvelope = {
    scope,
    scopeId: scopeId ?? '',
    data: data as { [key: string]: JsonValue },
    revision,
    updatedAt: updatedAt ?? GO_ZERO_TIME,
  };
  if (meta !== undefined && meta !== null) {
    if (!isObject(meta)) throw new LiveDocumentError(`"meta" is ${describe(meta)}, not an object of strings`);
    for (const [k, v] of Object.entries(meta)) {
      if (typeof v !== 'string') throw new LiveDocumentError(`"meta"."${k}" is ${describe(v)}, not a string`);
    }
    if (Object.keys(meta).length > 0) envelope.meta = meta as Record<string, string>;
  }
  return envelope;
}

/** `cfg:<scope>:<id>`; for `system` an empty id means `default`, as in Cordum. */
export function configKey(scope: ConfigScope, id: string): string {
  if (!isScope(scope)) throw new ConfigKeyError(`unknown config scope "${scope}": expected one of ${CONFIG_SCOPES.join(', ')}`);
  if (id === '') {
    if (scope !== 'system') throw new ConfigKeyError(`a ${scope} config needs an id`);
    id = 'default';
  }
  return `cfg:${scope}:${id}`;
}

/** Inverse of {@link configKey}; the rules are {@link configKeyProblem}'s. */
export function parseConfigKey(key: string): { scope: ConfigScope; scopeId: string } {
  const problem = configKeyProblem(key);
  if (problem) throw new ConfigKeyError(problem);
  const [, scope, scopeId] = /^cfg:([^:]*):(.*)$/s.exec(key)!;
  return { scope: scope as ConfigScope, scopeId };
}

/**
 * Go's `time.RFC3339Nano` in UTC: `2026-11-27T21:40:05.1234567Z`, fraction trimmed of trailing
 * zeros and left out entirely on a whole second. Go refuses years outside 0..9999; so does this.
 */
export function formatRfc3339Nano(epochNanos: bigint): string {
  let seconds = epochNanos / 1_000_000_000n;
  let nanos = epochNanos % 1_000_000_000n;
  if (nanos < 0n) {
    nanos += 1_000_000_000n;
    seconds -= 1n;
  }
  const date = new Date(Number(seconds) * 1000);
  const year = date.getUTCFullYear();
  if (Number.isNaN(year) || year < 0 || year > 9999) throw new RangeError(`time ${epochNanos} ns is outside the years 0..9999 RFC 3339 can express`);
  const fraction = nanos === 0n ? '' : '.' + nanos.toString().padStart(9, '0').replace(/0+$/, '');
  return date.toISOString().slice(0, 19) + fraction + 'Z';
}

/**
 * Now, with nanosecond digits like Go's time.Now(). The wall clock only has milliseconds; the
 * sub-millisecond digits come from the monotonic clock, which keeps successive stamps distinct
 * without claiming more accuracy than the millisecond.
 */
export function nowRfc3339Nano(): string {
  const subMillisecond = process.hrtime.bigint() % 1_000_000n;
  return formatRfc3339Nano(BigInt(Date.now()) * 1_000_000n + subMillisecond);
}

/**
 * The source text of the number a top-level member of valid JSON holds (the last such member, as
 * JSON.parse keeps the last), for messages that must quote a value exactly.
 */
function topLevelNumberText(text: string, member: string): string | undefined {
  let depth = 0;
  let lastString: string | undefined;
  let found: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      lastString = JSON.parse(text.slice(i, end + 1)) as string;
      i = end;
    } else if (c === '{' || c === '[') {
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ':' && depth === 1 && lastString === member) {
      found = /^\s*(-?[0-9][0-9.eE+-]*)/.exec(text.slice(i + 1, i + 400))?.[1] ?? found;
    }
  }
  return found;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  const shown = typeof value === 'number' ? String(value) : JSON.stringify(value);
  return `${typeof value === 'string' ? 'the string' : `the ${typeof value}`} ${shown.length > 40 ? shown.slice(0, 37) + '...' : shown}`;
}

/** JSON.parse turns 1e400 into Infinity, which Go refuses to decode and canonical JSON cannot write. */
function findNonFinite(value: unknown, path: string): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNonFinite(value[i], `${path}[${i}]`);
      if (found) return found;
    }
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      const found = findNonFinite(v, `${path}.${k}`);
      if (found) return found;
    }
  }
  return undefined;
}
