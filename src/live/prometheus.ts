import type { QueryAnswer } from '../core/verification';
import { redactUrl } from './connections';

/**
 * Instant queries against Prometheus' HTTP API (`/api/v1/query`), bounded in time and size so a
 * slow or hostile server can never hang a verification or fill memory. Every failure is worded
 * with Prometheus named, and never with a credential in it.
 */

export interface PrometheusEndpoint {
  /** Base URL, e.g. http://prometheus:9090 (no credentials). */
  url: string;
  /** Bearer token (secret storage / DRIFTLENS_PROMETHEUS_TOKEN). */
  token?: string;
  /** Basic auth (user from settings, password from secret storage / DRIFTLENS_PROMETHEUS_PASSWORD). */
  username?: string;
  password?: string;
  /** Per query, including reading the answer. Default 10 s. */
  timeoutMs?: number;
  /** Largest answer read. Default 4 MiB: a check's query reduces to one series, a few hundred bytes. */
  maxBytes?: number;
}

export const DEFAULT_QUERY_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/** Prometheus writes special floats as strings: "NaN", "+Inf", "-Inf". */
export function parseSampleValue(text: unknown): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return typeof text === 'string' ? Number(text) : NaN;
}

interface ApiResponse {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

/** Turns the JSON body of `/api/v1/query` into an answer (exported for tests on recorded responses). */
export function answerFromBody(body: ApiResponse, fallbackAt: number, name: string): QueryAnswer {
  if (body.status !== 'success') return { ok: false, error: `${name} refused the query: ${body.errorType ? `${body.errorType}: ` : ''}${body.error ?? 'no reason given'}` };
  const resultType = body.data?.resultType;
  const result = body.data?.result;
  if (resultType === 'scalar' && Array.isArray(result)) return { ok: true, values: [parseSampleValue(result[1])], at: Number(result[0]) * 1000 || fallbackAt };
  if (resultType === 'vector' && Array.isArray(result)) {
    const values: number[] = [];
    let at = fallbackAt;
    for (const series of result as { value?: [number, string] }[]) {
      values.push(parseSampleValue(series.value?.[1]));
      if (typeof series.value?.[0] === 'number') at = series.value[0] * 1000;
    }
    return { ok: true, values, at };
  }
  if (resultType === 'matrix') return { ok: false, error: `${name} answered a range vector: a check's query must be an instant vector or scalar (drop the [range] or wrap it in a function such as rate)` };
  return { ok: false, error: `${name} answered a ${resultType ?? 'malformed'} result, not a number` };
}

async function readBounded(response: Response, maxBytes: number): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > maxBytes) return undefined;
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * One instant query. `atMs`: the evaluation time (the publish instant for a baseline), default
 * Prometheus' now. Never throws: an unreachable or failing Prometheus is an `error` answer.
 */
export async function instantQuery(endpoint: PrometheusEndpoint, query: string, atMs?: number): Promise<QueryAnswer> {
  const name = `Prometheus at ${redactUrl(endpoint.url)}`;
  const timeoutMs = endpoint.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  const maxBytes = endpoint.maxBytes ?? DEFAULT_MAX_ANSWER_BYTES;
  const form = new URLSearchParams({ query, timeout: `${Math.max(1, Math.floor(timeoutMs / 1000))}s` });
  if (atMs !== undefined) form.set('time', (atMs / 1000).toFixed(3));
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (endpoint.token) headers.authorization = `Bearer ${endpoint.token}`;
  else if (endpoint.password !== undefined || endpoint.username) headers.authorization = `Basic ${Buffer.from(`${endpoint.username ?? ''}:${endpoint.password ?? ''}`).toString('base64')}`;
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(`${endpoint.url.replace(/\/+$/, '')}/api/v1/query`, { method: 'POST', body: form, headers, signal, redirect: 'error' });
    const text = await readBounded(response, maxBytes);
    const serverDate = Date.parse(response.headers.get('date') ?? '');
    const fallbackAt = Number.isFinite(serverDate) ? serverDate : Date.now();
    if (text === undefined) return { ok: false, error: `${name} answered more than ${Math.round(maxBytes / 1024)} KiB: a check's query must reduce to one series` };
    if (response.status === 401 || response.status === 403) {
      return { ok: false, error: `${name} refused the credentials (HTTP ${response.status}): set its token with "DriftLens: Set Prometheus Token" or DRIFTLENS_PROMETHEUS_TOKEN` };
    }
    let body: ApiResponse;
    try {
      body = JSON.parse(text) as ApiResponse;
    } catch {
      return { ok: false, error: `${name} answered HTTP ${response.status} with a body that is not Prometheus' JSON (is this the Prometheus API?)` };
    }
    return answerFromBody(body, fallbackAt, name);
  } catch (e) {
    if (signal.aborted) return { ok: false, error: `${name} did not answer within ${timeoutMs} ms` };
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, error: `${name} is unreachable: ${cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e))}` };
  }
}
