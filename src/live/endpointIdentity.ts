import { redactUrl, type NatsEndpoint, type RedisEndpoint } from './connections';

/**
 * What a stored password or token is bound to: the scheme (TLS or not, verified or not), every
 * server it can be sent to (the URL's host, or all sentinels, or all cluster seeds) and the user.
 * Any change to these is another endpoint, which has no secret until the user stores one for it:
 * a workspace that adds a sentinel of its own, or turns rediss:// into redis://, gets nothing.
 * The text never contains a secret (it is shown in prompts and logs).
 */

const REDIS_DEFAULT_PORT = '6379';
const NATS_DEFAULT_PORT = '4222';

function sortedUnique(entries: readonly string[]): string {
  return [...new Set(entries.map((e) => e.trim().toLowerCase()))].sort().join(',');
}

function hostAndPort(url: URL, defaultPort: string): string {
  return `${url.hostname.toLowerCase()}:${url.port || defaultPort}`;
}

function qualifiers(parts: (string | false | undefined)[]): string {
  const present = parts.filter((p): p is string => typeof p === 'string' && p !== '');
  return present.length > 0 ? ` (${present.join(', ')})` : '';
}

export function redisEndpointIdentity(endpoint: RedisEndpoint): string {
  let url: URL;
  try {
    url = new URL(endpoint.url);
  } catch {
    // Connecting will fail with a clear message; the identity just has to match nothing else.
    return `invalid ${redactUrl(endpoint.url)}`;
  }
  const tls = url.protocol === 'rediss:' || endpoint.tls !== undefined;
  const scheme = tls ? 'rediss' : 'redis';
  const user = endpoint.username ?? (url.username ? decodeURIComponentOr(url.username) : undefined);
  const unverified = tls && endpoint.tls?.insecureSkipVerify === true && 'certificate not verified';
  if (endpoint.cluster?.length) return `${scheme}://${sortedUnique(endpoint.cluster)}${qualifiers(['cluster', user && `user ${user}`, unverified])}`;
  if (endpoint.sentinel) {
    return `${scheme}://${sortedUnique(endpoint.sentinel.sentinels)}${qualifiers([`sentinel master ${endpoint.sentinel.name}`, user && `user ${user}`, unverified])}`;
  }
  return `${scheme}://${hostAndPort(url, REDIS_DEFAULT_PORT)}${qualifiers([user && `user ${user}`, unverified])}`;
}

export function natsEndpointIdentity(endpoint: NatsEndpoint): string {
  const tlsSettings = endpoint.tls !== undefined;
  let urlUser: string | undefined;
  const servers = endpoint.servers.map((raw) => {
    const text = raw.trim();
    try {
      const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `nats://${text}`);
      const scheme = url.protocol === 'tls:' || tlsSettings ? 'tls' : url.protocol.slice(0, -1).toLowerCase();
      // A user part without a password is a token: never part of the identity.
      if (url.username && url.password) urlUser ??= decodeURIComponentOr(url.username);
      return `${scheme}://${hostAndPort(url, NATS_DEFAULT_PORT)}`;
    } catch {
      return `invalid ${redactUrl(text)}`;
    }
  });
  const user = endpoint.user ?? urlUser;
  const unverified = endpoint.tls?.insecureSkipVerify === true && 'certificate not verified';
  return `${sortedUnique(servers)}${qualifiers([user && `user ${user}`, unverified])}`;
}

function decodeURIComponentOr(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * A Prometheus base URL as a secret's binding: scheme, host, port and path prefix (a Prometheus
 * behind a reverse proxy at /prometheus is another endpoint than the proxy's root), and the user
 * for basic auth. http:// and https:// differ, so a policy that drops TLS gets no token.
 */
export function prometheusEndpointIdentity(rawUrl: string, username?: string): string {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return `invalid ${redactUrl(rawUrl)}`;
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  const port = url.port || (scheme === 'https' ? '443' : '80');
  const path = url.pathname.replace(/\/+$/, '');
  return `${scheme}://${url.hostname.toLowerCase()}:${port}${path}${qualifiers([username && `user ${username}`])}`;
}
