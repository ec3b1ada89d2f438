/**
 * Opening an ioredis connection the way DriftLens needs it: the first connect fails fast with a
 * message a person can act on, later drops reconnect on their own with capped backoff, and a command
 * against a dead server fails at once instead of waiting in a queue. ioredis loads on first use.
 *
 * Choices that protect the optimistic-concurrency write in configStore.ts:
 * - `autoResendUnfulfilledCommands: false`: ioredis would otherwise resend a MULTI/SET/EXEC that was
 *   in flight when the socket dropped on the NEW connection, where the WATCH no longer exists: a
 *   blind overwrite, the lost update the protocol exists to prevent.
 * - `maxRetriesPerRequest: 0`: with resending off, ioredis 6 silently drops in-flight commands on a
 *   quick reconnect, leaving their promises pending forever; 0 rejects them as soon as the socket
 *   closes.
 * - `enableOfflineQueue: false` once connected: a publish while Redis is down fails at once with
 *   "nothing was written" rather than running minutes later when a person has moved on. (Before the
 *   first connect nothing is sent, so the queue only matters afterwards.)
 */

import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { hostPort, redactAddress, redactSecrets, redactUrl } from './connections';
import type { RedisEndpoint } from './connections';

/** What ConfigStore accepts: a standalone/Sentinel connection or a Cluster (`isCluster` tells them apart). */
export type RedisClient = Redis | Cluster;

export interface ConnectRedisOptions {
  /** CLIENT SETNAME, so operators can tell DriftLens connections apart in CLIENT LIST. */
  name?: string;
  /** Bound on the whole first connect (TCP, TLS, AUTH, ready check). Default 5000 ms. */
  connectTimeoutMs?: number;
  /** A command without a reply within this time fails (a half-open socket would otherwise hang it). Default 10000 ms. */
  commandTimeoutMs?: number;
  /** Connection state changes (`connect`, `ready`, `reconnecting`, `close`, `end`, `error`); detail is redacted. */
  onStatus?: (status: string, detail?: string) => void;
}

/** The first connect failed. The message names the endpoint (redacted) and what to check. */
export class RedisConnectError extends Error {
  constructor(
    message: string,
    /** The redacted endpoint description. */
    readonly endpoint: string,
    /** The underlying error code (ECONNREFUSED, WRONGPASS, ...), when there is one. */
    readonly code?: string,
  ) {
    super(message);
    this.name = 'RedisConnectError';
  }
}

/** A command could not run because the connection is down (as opposed to Redis answering with an error). */
export class RedisUnavailableError extends Error {
  constructor(
    message: string,
    readonly endpoint: string,
    /** True when the command certainly did not write (a write that failed mid-commit may or may not have). */
    readonly nothingWritten = true,
  ) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}

/**
 * Redis answered a command with an error that is not about the connection (an ACL's NOPERM, OOM,
 * WRONGTYPE): unlike an outage it does not pass by itself, so the message names the command, its
 * key and what the Redis user needs.
 */
export class RedisRefusedError extends Error {
  constructor(
    message: string,
    /** The refused command, upper case (`GET`, `MULTI`). */
    readonly command: string,
    /** The keys of the refused command (never its values: a SET carries the whole document). */
    readonly keys: readonly string[],
    /** Redis's own reply. */
    readonly reply: string,
  ) {
    super(message);
    this.name = 'RedisRefusedError';
  }
}

/** Commands whose every argument is a key; the others we send take one key first, or none. */
const ALL_ARGUMENTS_ARE_KEYS = new Set(['watch', 'mget', 'del', 'unlink', 'exists']);
const NO_KEYS = new Set(['multi', 'exec', 'discard', 'unwatch', 'scan', 'ping', 'select', 'info', 'client']);
/**
 * The writing commands DriftLens sends: a key refused to them needs write access (%W~), the others
 * read access (%R~). WATCH too: DriftLens watches a key only to write it in the transaction after.
 */
const WRITES = new Set(['watch', 'set', 'lpush', 'ltrim', 'zadd', 'zremrangebyscore', 'del', 'unlink', 'pexpire', 'expire']);

/**
 * The command Redis refused, with its keys and its reply, from an ioredis reply error (which carries
 * the command) or from a discarded transaction (whose EXEC names the queued command refused first);
 * undefined for a connection failure or anything that is not a Redis reply.
 */
export function redisRefusal(err: unknown): { command: string; keys: string[]; reply: string } | undefined {
  if (!(err instanceof Error) || isConnectionError(err) || err instanceof RedisUnavailableError) return undefined;
  if (err instanceof RedisRefusedError) return { command: err.command, keys: [...err.keys], reply: err.reply };
  // A transaction Redis discarded: the queued command it refused is the one to name.
  const first = (err as { previousErrors?: unknown[] }).previousErrors?.find((e): e is Error => e instanceof Error && (e as { command?: unknown }).command !== undefined);
  const cause = first ?? err;
  const command = (cause as { command?: { name?: unknown; args?: unknown[] } }).command;
  if (typeof command?.name !== 'string') {
    if (err.name !== 'ReplyError') return undefined;
    // EXEC refused by an ACL comes back as EXECABORT naming the command in its text only.
    return { command: /no permissions to run the '([\w|-]+)' command/.exec(err.message)?.[1].toUpperCase() ?? '', keys: [], reply: err.message };
  }
  const name = command.name.toLowerCase();
  const args = (command.args ?? []).map((a) => (typeof a === 'string' ? a : Buffer.isBuffer(a) ? a.toString() : String(a)));
  const keys = NO_KEYS.has(name) ? [] : ALL_ARGUMENTS_ARE_KEYS.has(name) ? args : args.slice(0, 1);
  return { command: name.toUpperCase(), keys, reply: cause.message };
}

/**
 * One sentence about a refusal: what was refused and what the Redis user needs, for example
 * `Redis at X refused GET cfg:system:default (NOPERM ...): the Redis user needs the GET command (ACL SETUSER <user> +get)`.
 * Undefined when `err` is not a Redis reply (see redisRefusal).
 */
export function describeRefusal(err: unknown, endpoint: string): string | undefined {
  const refusal = redisRefusal(err);
  if (!refusal) return undefined;
  const { command, keys, reply } = refusal;
  const what = command === '' ? 'a command' : keys.length > 0 ? `${command} ${keys.join(' ')}` : command;
  let needs = '';
  if (/\bNOPERM .*\bcommand\b/.test(reply) && command !== '') {
    needs = `: the Redis user needs the ${command} command (ACL SETUSER <user> +${command.toLowerCase()})`;
  } else if (/\bNOPERM .*\bkeys?\b/.test(reply) && keys.length > 0) {
    const write = WRITES.has(command.toLowerCase());
    const patterns = keys.map((k) => `${write ? '%RW~' : '%R~'}${k}`).join(' ');
    needs = `: the Redis user needs ${write ? 'write' : 'read'} access to ${keys.length === 1 ? 'the key' : 'the keys'} ${keys.join(' ')} (${keys.length === 1 ? 'a key pattern' : 'key patterns'} such as ${patterns})`;
  }
  return `Redis at ${endpoint} refused ${what} (${reply})${needs}`;
}

/** describeRefusal for a Redis reply; the error's own message for anything else. */
export function redisErrorText(err: unknown, endpoint: string): string {
  return describeRefusal(err, endpoint) ?? (err instanceof Error ? err.message : String(err));
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;
const RECONNECT_BASE_DELAY_MS = 100;
const RECONNECT_MAX_DELAY_MS = 5000;

/** Endpoint labels for error messages about commands on a connection made here. */
const labels = new WeakMap<object, string>();

/** How error messages name a connection's endpoint (never with a password). */
export function endpointLabel(client: RedisClient): string {
  return labels.get(client) ?? 'the Redis server';
}

/** A redacted one-line description of where an endpoint points. */
export function describeEndpoint(endpoint: RedisEndpoint): string {
  const scheme = endpoint.url.toLowerCase().startsWith('rediss:') ? 'rediss' : 'redis';
  if (endpoint.cluster?.length) return `${scheme}://${endpoint.cluster.map(redactAddress).join(',')} (cluster)`;
  if (endpoint.sentinel) return `sentinel master "${endpoint.sentinel.name}" via ${endpoint.sentinel.sentinels.map(redactAddress).join(',')}`;
  const url = redactUrl(endpoint.url);
  return endpoint.username && !url.includes('@') ? `${url} (user ${endpoint.username})` : url;
}

const CONNECTION_ERROR_NAMES = new Set(['MaxRetriesPerRequestError', 'AbortError', 'ClusterAllFailedError']);
const CONNECTION_ERROR_TEXT = /^(Connection is closed|Stream isn't writeable|Cluster isn't ready|Cluster is disconnect|Command timed out|None of startup nodes|No master node is available|Node is disconnected)/;

/**
 * Answers of a Cluster or replicated setup in the middle of a failover: the key's slot is served
 * elsewhere or by nobody yet, the node was demoted to a replica, or the master is still loading. The
 * command did not run. ioredis follows MOVED/ASK itself a limited number of times, then gives up with
 * "Too many Cluster redirections" (e.g. while the cluster still points at a master that was just killed).
 */
const FAILOVER_REPLY = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN|READONLY|MASTERDOWN|LOADING) |^Too many Cluster redirections/;

/** True when Redis refused a command (or a whole MULTI) because of a failover in progress: nothing ran, trying again later is safe. */
export function isFailoverError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (FAILOVER_REPLY.test(err.message)) return true;
  // Redis 7 refuses the EXEC itself, naming the cause, when the node was demoted or began loading after
  // the commands were queued: the transaction was discarded.
  if (/^EXECABORT Transaction discarded because of: /.test(err.message) && FAILOVER_REPLY.test(err.message.replace(/^EXECABORT Transaction discarded because of: /, ''))) return true;
  // EXEC of a transaction whose queued commands were refused: nothing in it ran.
  const previous = (err as { previousErrors?: unknown[] }).previousErrors;
  return /^EXECABORT /.test(err.message) && Array.isArray(previous) && previous.length > 0 && previous.every(isFailoverError);
}

/**
 * True when ioredis failed a command because the connection is down or silent, or because a failover
 * is in progress (see isFailoverError) — not when Redis answered with any other error.
 */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return CONNECTION_ERROR_NAMES.has(err.name) || (typeof code === 'string' && /^E[A-Z]+$/.test(code)) || CONNECTION_ERROR_TEXT.test(err.message) || isFailoverError(err);
}

/**
 * Connects and resolves once the connection is ready. Rejects with {@link RedisConnectError} within
 * `connectTimeoutMs`; the first connect never retries, so a wrong port or password fails at once.
 *
 * For a cluster endpoint the value is an ioredis `Cluster` (`isCluster === true`) typed as `Redis`:
 * the command methods are the same, connection internals (`stream`, `condition`) are not.
 */
export async function connectRedis(endpoint: RedisEndpoint, options: ConnectRedisOptions = {}): Promise<Redis> {
  const label = describeEndpoint(endpoint);
  const target = checkRedisEndpoint(endpoint);
  const username = endpoint.username ?? target.username;
  const password = endpoint.password ?? target.password;
  const secrets = [password, target.password, endpoint.password];
  const redact = (text: string) => redactSecrets(text, secrets);
  const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;

  let established = false;
  // Before the first ready there is no retry: the caller gets the real reason at once.
  const backoff = (times: number): number | null =>
    established ? Math.min(RECONNECT_BASE_DELAY_MS * 2 ** Math.min(times - 1, 16), RECONNECT_MAX_DELAY_MS) + Math.floor(Math.random() * 100) : null;

  const tls = target.tls || endpoint.tls ? await tlsOptions(endpoint, label) : undefined;
  const common: RedisOptions = {
    username,
    password,
    db: target.db,
    tls,
    connectionName: options.name,
    connectTimeout: timeoutMs,
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    lazyConnect: true,
  };

  const ioredis = await import('ioredis');
  let client: RedisClient;
  if (endpoint.cluster?.length) {
    client = new ioredis.Cluster(
      endpoint.cluster.map((node) => hostPort(node)),
      { redisOptions: common, clusterRetryStrategy: backoff, lazyConnect: true },
    );
  } else if (endpoint.sentinel) {
    client = new ioredis.Redis({
      ...common,
      name: endpoint.sentinel.name,
      sentinels: endpoint.sentinel.sentinels.map((s) => hostPort(s)),
      enableTLSForSentinelMode: tls !== undefined,
      sentinelRetryStrategy: backoff,
      retryStrategy: backoff,
      // A master demoted by a Sentinel failover keeps our socket open and answers every write with
      // READONLY: reconnecting asks the sentinels again and lands on the promoted master. (1 = reconnect
      // without resending the failed command: a resent EXEC would run without its WATCH.)
      reconnectOnError: (err: Error) => (/^READONLY /.test(err.message) ? 1 : false),
    });
  } else {
    client = new ioredis.Redis({ ...common, host: target.host, port: target.port, retryStrategy: backoff });
  }
  labels.set(client, label);

  const errors: Error[] = [];
  const onError = (err: Error) => {
    if (!established) errors.push(err);
    options.onStatus?.('error', redact(err.message));
    // ioredis re-selects the database after a reconnect and, when the server refuses, carries on in
    // database 0: writes would land in the wrong database. Ending the connection is the safe answer.
    if (established && isRefusedSelect(err)) client.disconnect();
  };
  // An 'error' listener also keeps ioredis from printing "[ioredis] Unhandled error event" to stderr.
  client.on('error', onError);
  client.on('node error', onError);
  client.on('sentinelError', onError);
  for (const status of ['connect', 'ready', 'reconnecting', 'close', 'end']) {
    client.on(status, () => options.onStatus?.(status));
  }

  let timer: NodeJS.Timeout | undefined;
  let onEnd: (() => void) | undefined;
  let failure: Error | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
        // A Cluster that gives up does not always reject connect(); 'end' is final either way.
        onEnd = () => reject(new Error('Connection is closed.'));
        client.once('end', onEnd);
      }),
    ]);
  } catch (err) {
    failure = err as Error;
  } finally {
    clearTimeout(timer);
    if (onEnd) client.off('end', onEnd);
  }
  if (failure) {
    client.disconnect();
    let cause = mostTelling(errors, failure);
    // Cluster and Sentinel connect through internal connections whose socket errors ioredis swallows
    // ("Connection is closed."); asking the addresses directly recovers the reason.
    const addresses = endpoint.cluster?.length ? endpoint.cluster : endpoint.sentinel?.sentinels;
    if (errorCode(cause) === undefined && addresses?.length) cause = (await unreachable(addresses, Math.min(timeoutMs, 1000))) ?? cause;
    throw connectError(endpoint, label, timeoutMs, cause, redact);
  }
  // ioredis reports a refused SELECT only as an 'error' event and then uses database 0 anyway; asking
  // again here turns the refusal into a failed connect before the caller can write anything.
  if (target.db !== undefined && !endpoint.cluster?.length) {
    try {
      await client.select(target.db);
    } catch (err) {
      client.disconnect();
      throw new RedisConnectError(
        `cannot use database ${target.db} on Redis at ${label}: the server refused it (${redact((err as Error).message)}) — check the database number in the URL (the server's "databases" setting limits it)`,
        label,
        'EDATABASE',
      );
    }
  }
  established = true;
  client.options.enableOfflineQueue = false;
  return client as Redis;
}

/** Quits politely when connected, otherwise just drops the socket and any pending reconnect. */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.status === 'end') return;
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

export interface RedisTarget {
  host: string;
  port: number;
  db?: number;
  username?: string;
  password?: string;
  tls: boolean;
}

/** The largest database index Redis accepts in its configuration (an int). */
const MAX_DATABASE_INDEX = 2 ** 31 - 1;

/**
 * Checks an endpoint's syntax without contacting anything, so a wrong setting is reported as such
 * (not as an unreachable server) before any connection is tried. Throws a {@link RedisConnectError}
 * with code `EINVALID`; returns what the URL says.
 */
export function checkRedisEndpoint(endpoint: RedisEndpoint): RedisTarget {
  const label = describeEndpoint(endpoint);
  const target = parseRedisUrl(endpoint.url, label);
  const invalid = (reason: string) => new RedisConnectError(`invalid Redis endpoint ${label}: ${reason}`, label, 'EINVALID');
  for (const address of [...(endpoint.cluster ?? []), ...(endpoint.sentinel?.sentinels ?? [])]) {
    if (!isHostPort(address)) throw invalid(`"${redactAddress(address)}" is not host:port`);
  }
  // Redis Cluster has only database 0 and refuses SELECT; a /db in the URL would be silently ignored.
  if (endpoint.cluster?.length && target.db !== undefined && target.db !== 0) throw invalid(`a Redis Cluster has only database 0, not ${target.db}`);
  return target;
}

function isHostPort(address: string): boolean {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:@/[\]]+):(\d{1,5})$/.exec(address);
  return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 65535;
}

/** A SELECT the server refused (ioredis attaches the command to the reply error). */
function isRefusedSelect(err: Error): boolean {
  return (err as { command?: { name?: string } }).command?.name === 'select';
}

function parseRedisUrl(url: string, label: string): RedisTarget {
  const invalid = (reason: string) => new RedisConnectError(`"${redactUrl(url)}" is not a valid Redis URL: ${reason}`, label, 'EINVALID');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid('expected redis://host:port/db or rediss://host:port/db');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw invalid(`the scheme must be redis:// or rediss:// (TLS), not ${parsed.protocol}//`);
  // Nothing reads URL options (?password=, ?db=): refusing them beats ignoring them silently.
  if (parsed.search || parsed.hash) throw invalid('options after ? or # are not supported; use the DriftLens settings or flags');
  const decode = (text: string, what: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw invalid(`the ${what} is not correctly percent-encoded`);
    }
  };
  const path = parsed.pathname.replace(/^\//, '');
  if (path !== '' && (!/^\d+$/.test(path) || Number(path) > MAX_DATABASE_INDEX)) {
    throw invalid(`the path must be a database number such as /0, not /${path}`);
  }
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    db: path === '' ? undefined : Number(path),
    username: parsed.username ? decode(parsed.username, 'user') : undefined,
    password: parsed.password ? decode(parsed.password, 'password') : undefined,
    tls: parsed.protocol === 'rediss:',
  };
}

/** TLS is on for rediss:// URLs and whenever TLS settings are given (a setting is never silently ignored). */
async function tlsOptions(endpoint: RedisEndpoint, label: string): Promise<ConnectionOptions> {
  const settings = endpoint.tls ?? {};
  const read = async (file: string | undefined, what: string) => {
    if (!file) return undefined;
    try {
      return await readFile(file);
    } catch (err) {
      throw new RedisConnectError(`cannot connect to Redis at ${label}: cannot read the TLS ${what} file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, label);
    }
  };
  const [ca, cert, key] = await Promise.all([read(settings.caFile, 'CA'), read(settings.certFile, 'certificate'), read(settings.keyFile, 'key')]);
  const options: ConnectionOptions = { rejectUnauthorized: !settings.insecureSkipVerify };
  if (ca) options.ca = ca;
  if (cert) options.cert = cert;
  if (key) options.key = key;
  if (settings.serverName) options.servername = settings.serverName;
  return options;
}

/** The first address's socket error when none of them accepts a TCP connection; undefined when one does. */
async function unreachable(addresses: readonly string[], timeoutMs: number): Promise<Error | undefined> {
  const failures = await Promise.all(
    addresses.map(
      (address) =>
        new Promise<Error | undefined>((resolve) => {
          const socket = connect(hostPort(address));
          const done = (err?: Error) => {
            socket.destroy();
            resolve(err);
          };
          socket.setTimeout(timeoutMs, () => done(Object.assign(new Error('no answer'), { code: 'ETIMEDOUT' })));
          socket.once('connect', () => done());
          socket.once('error', done);
        }),
    ),
  );
  return failures.every((f) => f !== undefined) ? failures[0] : undefined;
}

/** ioredis reports a failed first connect as "Connection is closed."; the telling error came earlier as an event. */
function mostTelling(events: readonly Error[], final: Error): Error {
  // A cluster wraps the node's error: "Failed to refresh slots cache." with lastNodeError beside it.
  const all = [...events, final].map((e) => (e as { lastNodeError?: Error }).lastNodeError ?? e);
  return all.reverse().find((e) => errorCode(e) !== undefined) ?? events.at(-1) ?? final;
}

function errorCode(err: Error): string | undefined {
  return (err as NodeJS.ErrnoException).code ?? /^(WRONGPASS|NOAUTH|NOPERM|LOADING|MASTERDOWN) /.exec(err.message)?.[1];
}

function connectError(endpoint: RedisEndpoint, label: string, timeoutMs: number, err: Error, redact: (text: string) => string): RedisConnectError {
  const code = errorCode(err);
  const message = redact(err.message);
  const fail = (verb: string, reason: string, hint: string) => new RedisConnectError(`cannot ${verb} Redis at ${label}: ${reason} — ${hint}`, label, code);

  switch (code) {
    case 'ECONNREFUSED':
      return fail('reach', 'connection refused', endpoint.sentinel ? 'are the sentinels running at those addresses?' : 'is redis-server running and listening on that host and port?');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return fail('reach', 'host name not found', 'check the host name');
    case 'ETIMEDOUT':
      return fail('reach', `no answer within ${timeoutMs} ms`, 'check the host, the port and any firewall in between (a TLS server behind redis:// also stays silent)');
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return fail('reach', 'host unreachable', 'check the network route to the host');
    case 'ECONNRESET':
    case 'EPIPE':
      return fail('reach', 'the server closed the connection during setup', 'if the server expects TLS use rediss://, if it does not use redis://');
    case 'WRONGPASS':
      return fail('connect to', `authentication failed (${message})`, 'check the username and password');
    case 'NOAUTH':
      return fail('connect to', 'the server requires a password', 'set the password (and the ACL username, if any)');
    case 'NOPERM':
      return fail('connect to', `permission denied (${message})`, "check the ACL user's permissions");
  }
  if (code && /^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED)/.test(code)) {
    return fail('connect to', `TLS handshake failed (${code}: ${message})`, 'check the CA file, the server name and that the server speaks TLS');
  }
  if (endpoint.sentinel) {
    // Redis 7 sentinels answer "ERR No such master with that name"; older ones a null reply.
    return /No such master|got an invalid reply: null/i.test(message)
      ? fail('connect to', `no sentinel knows a master named "${endpoint.sentinel.name}"`, 'check the master name (sentinel monitor <name> ...)')
      : fail('reach', message, 'check the sentinel addresses and the master name');
  }
  if (/^Unknown RESP type/.test(message)) return fail('connect to', 'the server does not speak the Redis protocol', 'check the port: something other than Redis answered');
  if (message === 'Connection is closed.') return fail('reach', 'the server closed the connection during setup', 'if the server expects TLS use rediss://, if it does not use redis://');
  return fail('connect to', message, 'check the endpoint settings');
}
