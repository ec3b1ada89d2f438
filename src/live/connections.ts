/**
 * Where the Redis and NATS servers are, and how to reach them securely. Shared by the CLI,
 * the agent and the extension (which fills passwords from SecretStorage, never from settings).
 * Secrets never reach a log line or an error message: see {@link redactUrl}.
 */

export interface TlsOptions {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
  insecureSkipVerify?: boolean;
}

export interface RedisEndpoint {
  /** redis://host:port/db or rediss://... (TLS). A password in the URL is accepted but discouraged. */
  url: string;
  /** ACL user. */
  username?: string;
  password?: string;
  tls?: TlsOptions;
  /** Sentinel: the master group name and sentinel host:port list. */
  sentinel?: { name: string; sentinels: string[] };
  /** Cluster seed nodes host:port. */
  cluster?: string[];
}

export interface NatsEndpoint {
  servers: string[];
  user?: string;
  password?: string;
  token?: string;
  credsFile?: string;
  tls?: TlsOptions;
}

/** A URL with any password or token replaced, for logs and error messages. */
export function redactUrl(url: string): string {
  // nats.js takes servers without a scheme (`tok@host:4222`, `u:pw@host:4222`): parse them as it does.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `nats://${url}`;
  try {
    const parsed = new URL(withScheme);
    if (parsed.password) parsed.password = '***';
    // In nats:// and tls:// URLs a user part without a password is a token.
    if (parsed.username && !parsed.password && (/^(nats|tls|wss?):$/.test(parsed.protocol) || /token|secret/i.test(parsed.username))) parsed.username = '***';
    // A query or fragment may carry a password (`?password=…`): never show one.
    if (parsed.search) parsed.search = '?***';
    if (parsed.hash) parsed.hash = '#***';
    const shown = parsed.toString().replace(/\/$/, '');
    return withScheme === url ? shown : shown.replace(/^nats:\/\//, '');
  } catch {
    return url.replace(/^([^@/]*\/\/)?[^@/]*@/, '$1***@').replace(/[?#].*$/, '?***');
  }
}

export function redactAddress(address: string): string {
  return address.replace(/^.*@/, '***@');
}

/** Removes every known secret from a message (error texts of client libraries may echo them). */
export function redactSecrets(message: string, secrets: readonly (string | undefined)[]): string {
  let out = message.replace(/(rediss?|nats|tls):\/\/[^\s@/]*@/g, '$1://***@');
  for (const secret of secrets) {
    if (secret && secret.length >= 3) out = out.split(secret).join('***');
  }
  return out;
}

export function hostPort(entry: string): { host: string; port: number } {
  const at = entry.lastIndexOf(':');
  return { host: entry.slice(0, at), port: Number(entry.slice(at + 1)) };
}
