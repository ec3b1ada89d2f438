import type { PolicyConnections } from '../core/policy';
import type { NatsEndpoint, RedisEndpoint, TlsOptions } from './connections';

/** Endpoint values given explicitly (CLI flags and environment, or VS Code settings); no secrets. */
export interface EndpointOverrides {
  redis: { url?: string; username?: string; tls?: TlsOptions; sentinel?: { name: string; sentinels: string[] }; cluster?: string[] };
  nats: { servers?: string[]; user?: string; credsFile?: string; tls?: TlsOptions };
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_NATS_SERVERS = ['nats://127.0.0.1:4222'];

/**
 * Where Redis and NATS are: explicit values, then the drift policy's `connections`, then the defaults.
 * `merge` (the CLI: the person typed every flag) takes each field from the first place that has it.
 * `whole` (the editor) takes each endpoint entirely from one place: the explicit values when they
 * name the server, else the policy. Mixing there (a workspace's URL with the user's TLS files or
 * password) would hand one server's trust to another.
 */
export function resolveEndpoints(overrides: EndpointOverrides, policy: PolicyConnections, mode: 'merge' | 'whole'): { redis: RedisEndpoint; nats: NatsEndpoint } {
  const r = overrides.redis;
  const pr = policy.redis ?? {};
  const n = overrides.nats;
  const pn = policy.nats ?? {};
  if (mode === 'merge') {
    return {
      redis: { url: r.url ?? pr.url ?? DEFAULT_REDIS_URL, username: r.username ?? pr.username, tls: r.tls ?? pr.tls, sentinel: r.sentinel ?? pr.sentinel, cluster: r.cluster ?? pr.cluster },
      nats: { servers: n.servers ?? pn.servers ?? DEFAULT_NATS_SERVERS, user: n.user ?? pn.user, credsFile: n.credsFile ?? pn.credsFile, tls: n.tls ?? pn.tls },
    };
  }
  const redis: RedisEndpoint =
    r.url !== undefined || pr.url === undefined
      ? { url: r.url ?? DEFAULT_REDIS_URL, username: r.username, tls: r.tls, sentinel: r.sentinel, cluster: r.cluster }
      : { url: pr.url, username: pr.username, tls: pr.tls, sentinel: pr.sentinel, cluster: pr.cluster };
  const nats: NatsEndpoint =
    n.servers !== undefined || !pn.servers?.length
      ? { servers: n.servers ?? DEFAULT_NATS_SERVERS, user: n.user, credsFile: n.credsFile, tls: n.tls }
      : { servers: pn.servers, user: pn.user, credsFile: pn.credsFile, tls: pn.tls };
  return { redis, nats };
}

/**
 * The settings of each endpoint that say where its credentials go (the server addresses and the TLS
 * that authenticates them) and that `merge` would take from the policy because nothing explicit
 * names them. The user name is not among them: it does not choose the server.
 */
export function endpointFieldsFromPolicy(overrides: EndpointOverrides, policy: PolicyConnections): { redis: string[]; nats: string[] } {
  const r = overrides.redis;
  const pr = policy.redis ?? {};
  const n = overrides.nats;
  const pn = policy.nats ?? {};
  const redis: string[] = [];
  if (r.url === undefined && pr.url !== undefined) redis.push('url');
  if (r.sentinel === undefined && pr.sentinel !== undefined) redis.push('sentinel');
  if (r.cluster === undefined && pr.cluster !== undefined) redis.push('cluster');
  if (r.tls === undefined && pr.tls !== undefined) redis.push('tls');
  const nats: string[] = [];
  if (n.servers === undefined && pn.servers !== undefined) nats.push('servers');
  if (n.tls === undefined && pn.tls !== undefined) nats.push('tls');
  return { redis, nats };
}
