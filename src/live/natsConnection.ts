import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import type { ConnectionOptions, NatsConnection, Status, TlsOptions as NatsTlsOptions } from 'nats';
import { redactSecrets, type NatsEndpoint } from './connections';

/**
 * Opens a NATS connection for an endpoint: credentials (user/password, token, creds file,
 * or embedded in the server URL), TLS, and a reconnect policy suited to a long-lived
 * watcher. Errors are {@link NatsConnectError}s that name the servers (never a secret) and
 * say what to check.
 */

export interface NatsStatus {
  /** `disconnect`, `reconnect`, `error`, `update`, `ldm` (from nats.js) or `closed`. */
  type: string;
  /** The server (host:port), the NATS error code, or the reason the connection closed. */
  data?: string;
}

export interface NatsConnectOptions {
  /** The client name shown by the server's monitoring (`connz`). */
  name?: string;
  /** Reconnect attempts per server after a disconnect; -1 (the default) reconnects forever. */
  maxReconnectAttempts?: number;
  /** How long one dial (TCP + TLS + CONNECT/PONG) may take. Default 5000 ms. */
  timeoutMs?: number;
  /** Disconnects, reconnects, asynchronous server errors and the final close. */
  onStatus?: (status: NatsStatus) => void;
  /**
   * Dial servers[firstServer mod n] first, then the others in list order, instead of nats.js's
   * shuffled order: connections numbered 0, 1, 2… spread evenly over a cluster's nodes (the
   * simulator's shards), where a shuffle may put them all on one node.
   */
  firstServer?: number;
}

export class NatsConnectError extends Error {
  override readonly name = 'NatsConnectError';
  constructor(
    message: string,
    /** The servers as shown to the user, without credentials. */
    readonly servers: readonly string[],
    /** The nats.js or Node error code (`CONNECTION_REFUSED`, `AUTHORIZATION_VIOLATION`, `TIMEOUT`, ...). */
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

const DEFAULT_TIMEOUT_MS = 5000;
const NATS_DEFAULT_PORT = 4222;

/** Reconnect delays: exponential from 250 ms to 8 s, half of each delay random. */
const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 8000;

export interface ParsedServer {
  /** host:port as given to nats.js: credentials and scheme removed so nats.js never echoes them. */
  hostPort: string;
  /** scheme://host:port for messages. */
  display: string;
  tls: boolean;
  user?: string;
  password?: string;
}

function parseServer(raw: string, secrets: readonly (string | undefined)[]): ParsedServer {
  const text = raw.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `nats://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new NatsConnectError(`Invalid NATS server "${redactSecrets(text, secrets)}": expected nats://host:port or tls://host:port.`, [redactSecrets(text, secrets)], 'INVALID_SERVER');
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (scheme !== 'nats' && scheme !== 'tls') {
    const shown = `${scheme}://${url.host}`;
    throw new NatsConnectError(`Unsupported NATS server scheme in ${shown}: use nats:// or tls:// (websockets are not supported here).`, [shown], 'INVALID_SERVER');
  }
  // url.hostname keeps the brackets of an IPv6 literal, which nats.js expects.
  const hostPort = `${url.hostname}:${url.port || NATS_DEFAULT_PORT}`;
  const display = `${scheme}://${hostPort}`;
  const decode = (part: string) => {
    try {
      return decodeURIComponent(part);
    } catch {
      throw new NatsConnectError(`Invalid NATS server ${display}: the credentials in the URL are not correctly percent-encoded.`, [display], 'INVALID_SERVER');
    }
  };
  return {
    hostPort,
    display,
    tls: scheme === 'tls',
    ...(url.username ? { user: decode(url.username) } : {}),
    ...(url.password ? { password: decode(url.password) } : {}),
  };
}

/**
 * Checks the server list's syntax without contacting anything, so a wrong setting is reported as
 * such before any connection is tried. Throws a {@link NatsConnectError} with code `INVALID_SERVER`.
 */
export function checkNatsEndpoint(endpoint: NatsEndpoint): ParsedServer[] {
  if (endpoint.servers.length === 0) throw new NatsConnectError('No NATS server configured: set at least one nats://host:port.', [], 'INVALID_SERVER');
  const secrets = endpointSecrets(endpoint);
  return endpoint.servers.map((s) => parseServer(s, secrets));
}

/** Every secret the endpoint carries, for {@link redactSecrets}. */
function endpointSecrets(endpoint: NatsEndpoint): (string | undefined)[] {
  const secrets: (string | undefined)[] = [endpoint.password, endpoint.token];
  for (const server of endpoint.servers) {
    const userInfo = /^(?:[a-z][a-z0-9+.-]*:\/\/)?([^@/]*)@/i.exec(server.trim())?.[1];
    if (!userInfo) continue;
    const [user, password] = userInfo.split(':', 2);
    // A bare user part is a token (nats://token@host), as in the Go client.
    secrets.push(password === undefined ? user : password);
    for (const s of [user, password]) {
      try {
        if (s) secrets.push(decodeURIComponent(s));
      } catch {
        // not percent-encoded: the raw form above already covers it
      }
    }
  }
  return secrets;
}

function checkReadable(file: string, what: string, servers: readonly string[]): void {
  try {
    accessSync(file, fsConstants.R_OK);
  } catch (e) {
    throw new NatsConnectError(`Cannot read the NATS ${what} ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'}): check the path in the NATS endpoint settings.`, servers, (e as NodeJS.ErrnoException).code);
  }
}

/**
 * Reconnect delay with exponential backoff and jitter. nats.js asks for "the" delay before
 * each pass over its server list but does not tell the attempt number, so the delay is
 * re-drawn on each dial (the `reconnecting` debug event) and reset after a reconnect.
 */
class ReconnectBackoff {
  private attempt = 0;
  private current = this.draw();

  delay(): number {
    return this.current;
  }
  dialed(): void {
    this.attempt++;
    this.current = this.draw();
  }
  reset(): void {
    this.attempt = 0;
    this.current = this.draw();
  }
  private draw(): number {
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(this.attempt, 16));
    // "Equal jitter": replicas restarted together do not all reconnect in the same instant.
    return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
  }
}

/**
 * Connects, or rejects with a {@link NatsConnectError}. The first connection is not retried
 * (a down server fails fast with a clear message); once connected, the client reconnects
 * with backoff forever by default and re-subscribes by itself. nats.js still gives up when
 * the server rejects the credentials twice in a row: a `closed` status reports it.
 */
export async function connectNats(endpoint: NatsEndpoint, options: NatsConnectOptions = {}): Promise<NatsConnection> {
  const secrets = endpointSecrets(endpoint);
  const parsed = checkNatsEndpoint(endpoint);
  const displays = parsed.map((p) => p.display);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  // Loaded here, not at the top: activating the extension should not pay for the client.
  const nats = await import('nats');

  const hostPorts = parsed.map((p) => p.hostPort);
  const first = options.firstServer === undefined ? 0 : options.firstServer % hostPorts.length;
  const connectOptions: ConnectionOptions = {
    servers: [...hostPorts.slice(first), ...hostPorts.slice(0, first)],
    ...(options.firstServer === undefined ? {} : { noRandomize: true }),
    timeout: timeoutMs,
    maxReconnectAttempts: options.maxReconnectAttempts ?? -1,
    waitOnFirstConnect: false,
    ...(options.name ? { name: options.name } : {}),
  };

  const urlUser = parsed.find((p) => p.user !== undefined);
  // For error messages: what kind of credentials went out (never their values).
  let credentialsSent = 'no credentials';
  if (endpoint.credsFile) {
    credentialsSent = `the creds file ${endpoint.credsFile}`;
    const file = endpoint.credsFile;
    checkReadable(file, 'creds file', displays);
    let last = readFileSync(file);
    // Read on every (re)connect so a rotated creds file is picked up; keep the last good copy if it vanishes.
    connectOptions.authenticator = nats.credsAuthenticator(() => {
      try {
        last = readFileSync(file);
      } catch {
        // the previous contents are still the best guess
      }
      return last;
    });
  } else if (endpoint.token) {
    credentialsSent = 'a token';
    connectOptions.token = endpoint.token;
  } else if (endpoint.user) {
    credentialsSent = `user "${endpoint.user}" ${endpoint.password ? 'with a password' : 'without a password'}`;
    connectOptions.user = endpoint.user;
    if (endpoint.password !== undefined) connectOptions.pass = endpoint.password;
  } else if (urlUser?.password !== undefined) {
    credentialsSent = `user "${urlUser.user}" with a password (from the server URL)`;
    connectOptions.user = urlUser.user;
    connectOptions.pass = urlUser.password;
  } else if (urlUser?.user) {
    credentialsSent = 'a token (from the server URL)';
    connectOptions.token = urlUser.user;
  }

  // nats.js ignores the URL scheme, so tls:// has to become "TLS required" explicitly.
  if (endpoint.tls || parsed.some((p) => p.tls)) {
    const tls = endpoint.tls ?? {};
    for (const [file, what] of [
      [tls.caFile, 'CA file'],
      [tls.certFile, 'client certificate'],
      [tls.keyFile, 'client key'],
    ] as const) {
      if (file) checkReadable(file, what, displays);
    }
    // nats.js passes unknown TLS keys through to tls.connect, which is where servername and
    // rejectUnauthorized belong; its TlsOptions type does not declare them.
    const natsTls: NatsTlsOptions & { servername?: string; rejectUnauthorized?: boolean } = {
      ...(tls.caFile ? { caFile: tls.caFile } : {}),
      ...(tls.certFile ? { certFile: tls.certFile } : {}),
      ...(tls.keyFile ? { keyFile: tls.keyFile } : {}),
      ...(tls.serverName ? { servername: tls.serverName } : {}),
      ...(tls.insecureSkipVerify ? { rejectUnauthorized: false } : {}),
    };
    connectOptions.tls = natsTls;
  }

  const backoff = new ReconnectBackoff();
  connectOptions.reconnectDelayHandler = () => backoff.delay();

  let nc: NatsConnection;
  try {
    nc = await nats.connect(connectOptions);
  } catch (e) {
    throw explainConnectError(e, displays, secrets, credentialsSent, timeoutMs);
  }
  watchStatus(nc, backoff, secrets, options.onStatus);
  return nc;
}

/**
 * Calls `callback` with the server after every reconnect of `nc` (nats.js re-subscribes by itself,
 * but whatever was published while the connection was down is lost: core NATS has no replay, so a
 * subscriber catches up by reading the source of truth). Returns what stops listening; closing the
 * connection stops it too.
 */
export function onReconnect(nc: NatsConnection, callback: (server: string) => void): () => void {
  // nats.js hands every status() caller its own iterator; stop() removes it from the connection.
  const statuses = nc.status() as AsyncIterable<Status> & { stop?: () => void };
  let stopped = false;
  void (async () => {
    for await (const s of statuses) {
      if (stopped) break;
      if (s.type !== 'reconnect') continue;
      try {
        callback(typeof s.data === 'string' ? s.data : '');
      } catch {
        // a listener's bug must not end the loop
      }
    }
  })();
  void nc.closed().then(() => statuses.stop?.());
  return () => {
    stopped = true;
    statuses.stop?.();
  };
}

function watchStatus(nc: NatsConnection, backoff: ReconnectBackoff, secrets: readonly (string | undefined)[], onStatus: NatsConnectOptions['onStatus']): void {
  const emit = (status: NatsStatus) => {
    try {
      onStatus?.(status);
    } catch {
      // a listener's bug must not stop the status loop (and with it the backoff bookkeeping)
    }
  };
  // Typed as AsyncIterable, but it is nats.js's QueuedIterator: stop() ends the loop below,
  // which nats.js itself does not do for this iterator when the connection closes.
  const statuses = nc.status() as AsyncIterable<Status> & { stop?: () => void };
  void (async () => {
    for await (const s of statuses) {
      if (s.type === 'reconnecting') backoff.dialed();
      else if (s.type === 'reconnect') backoff.reset();
      // The other debug events (pingTimer, staleConnection, ...) are noise for a user.
      if (!['disconnect', 'reconnect', 'error', 'update', 'ldm'].includes(s.type)) continue;
      // Every server INFO yields an `update`, most with nothing added or deleted.
      if (s.type === 'update' && typeof s.data === 'object' && !s.data.added.length && !s.data.deleted.length) continue;
      const data = typeof s.data === 'string' ? s.data : JSON.stringify(s.data);
      emit({ type: s.type, data: redactSecrets(data, secrets) });
    }
  })();
  void nc.closed().then((err) => {
    statuses.stop?.();
    emit(err ? { type: 'closed', data: redactSecrets(`${(err as { code?: string }).code ?? ''} ${err.message}`.trim(), secrets) } : { type: 'closed' });
  });
}

function explainConnectError(e: unknown, servers: string[], secrets: readonly (string | undefined)[], credentialsSent: string, timeoutMs: number): NatsConnectError {
  const err = e as Error & { code?: string; chainedError?: Error & { code?: string } };
  const code = err.code ?? err.chainedError?.code;
  const at = servers.join(', ');
  let reason: string;
  if (code === 'CONNECTION_REFUSED' || code === 'ECONNREFUSED') {
    reason = `connection refused. Is nats-server running at ${at}?`;
  } else if (['AUTHORIZATION_VIOLATION', 'AUTHENTICATION_EXPIRED', 'AUTHENTICATION_TIMEOUT', 'BAD_AUTHENTICATION', 'BAD_CREDS'].includes(code ?? '')) {
    reason = `the server rejected the credentials (${err.message}; DriftLens sent ${credentialsSent}). Check the NATS user and password, token or creds file.`;
  } else if (code === 'TIMEOUT' || code === 'CONNECTION_TIMEOUT') {
    reason = `no answer within ${timeoutMs} ms. Is ${at} reachable (host, port, firewall), and is it a NATS server?`;
  } else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    reason = `host not found (${code}). Check the host name.`;
  } else if (code === 'SERVER_OPT_NA' && /tls/i.test(err.message)) {
    reason = 'TLS was requested (tls:// or TLS settings) but the server does not offer it.';
  } else if (code && /CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO|ALTNAME/.test(code)) {
    reason = `TLS handshake failed (${code}: ${err.message}). Check the CA file, server name and client certificate.`;
  } else {
    reason = `${err.message || String(e)}${code && code !== err.message ? ` (${code})` : ''}.`;
  }
  return new NatsConnectError(redactSecrets(`Cannot connect to NATS at ${at}: ${reason}`, secrets), servers, code);
}
