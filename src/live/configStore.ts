/**
 * Reads and publishes the live config document with Cordum's optimistic concurrency, and keeps a
 * history of what DriftLens published.
 *
 * Redis keys:
 * - `cfg:<scope>:<id>` (Cordum's): a string holding the envelope (envelope.ts). Written exactly as
 *   Cordum's configsvc does — WATCH, GET, compare revisions, MULTI / SET / EXEC, no TTL, no Lua — so
 *   DriftLens and the Cordum gateway can publish to one installation without losing each other's updates.
 * - `driftlens:history:{<key>}` (DriftLens's own, e.g. `driftlens:history:{cfg:system:default}`): a
 *   list of the envelopes DriftLens published, newest first, capped at `historyLimit`. LPUSH and LTRIM
 *   run in the same MULTI as the SET, so history and document never disagree. The braces are a Redis
 *   Cluster hash tag putting the list in the document's slot, which a MULTI over both requires.
 *   Publishes by other tools do not appear in it. `historyLimit: 0` creates no DriftLens key at all,
 *   for shared Cordum installations where only Cordum's keys may exist.
 *
 * WATCH belongs to the connection, not to the caller: writes through any ConfigStore on one connection
 * are serialised here, and nothing else may run MULTI/EXEC or UNWATCH on that connection.
 */

import type { JsonValue } from '../core/canonical';
import { canonicalJson } from '../core/canonical';
import { decodeEnvelope, encodeEnvelope, LiveDocumentError, nowRfc3339Nano, parseConfigKey } from './envelope';
import type { ConfigEnvelope } from './envelope';
import type { Cluster, Redis } from 'ioredis';
import { refreshSlots, transactionConnection } from './clusterRouting';
import { describeRefusal, endpointLabel, isConnectionError, isFailoverError, RedisRefusedError, redisRefusal, RedisUnavailableError } from './redisConnection';
import type { RedisClient } from './redisConnection';

export interface ConfigStoreOptions {
  /** How many published envelopes to keep per document; 0 keeps none and writes no history key. Default 50. */
  historyLimit?: number;
}

export interface ConfigWriteInput {
  data: { [key: string]: JsonValue };
  meta?: Record<string, string>;
  /** The revision this edit started from; 0 creates a document that does not exist yet. */
  expectedRevision: number;
}

export interface LiveConfig {
  envelope: ConfigEnvelope;
  /** The stored string, byte for byte. */
  raw: string;
}

/** Another writer got there first. Carries the live envelope (when there still is one) so the UI can say who and when. */
export class RevisionConflictError extends Error {
  constructor(
    readonly key: string,
    readonly expectedRevision: number,
    /** The live document now; undefined when it was deleted or could not be read back. */
    readonly current: ConfigEnvelope | undefined,
  ) {
    // The first clause is Cordum's ErrRevisionConflict text, so logs read the same whoever wrote.
    super(`config revision conflict: document was modified by another writer (${describeCurrent(key, current)}; this write started from revision ${expectedRevision}); nothing was written`);
    this.name = 'RevisionConflictError';
  }
}

export class ConfigHistoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigHistoryError';
  }
}

export const DEFAULT_HISTORY_LIMIT = 50;

/** How long a write on a Redis Cluster keeps starting over while a failover moves its slot (a killed master takes about cluster-node-timeout + an election). */
const CLUSTER_FAILOVER_WAIT_MS = 15_000;

export class ConfigStore {
  readonly historyLimit: number;

  constructor(
    private readonly redis: RedisClient,
    options: ConfigStoreOptions = {},
  ) {
    const limit = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`historyLimit must be a whole number >= 0, not ${limit}`);
    this.historyLimit = limit;
  }

  /** The live document, or undefined when the key does not exist. Throws LiveDocumentError when it is not an envelope. */
  async read(key: string): Promise<LiveConfig | undefined> {
    parseConfigKey(key);
    const raw = await this.command(`read ${key}`, () => this.redis.get(key));
    if (raw === null) return undefined;
    return { envelope: decodeLive(raw, key), raw };
  }

  /**
   * Publishes `data` as revision expectedRevision + 1. Throws RevisionConflictError when the live
   * revision differs (or another writer commits in between), LiveDocumentError when the live value is
   * not an envelope, RedisUnavailableError when the connection is down; only a success writes anything.
   */
  async write(key: string, input: ConfigWriteInput): Promise<ConfigEnvelope> {
    const { scope, scopeId } = parseConfigKey(key);
    if (!Number.isSafeInteger(input.expectedRevision) || input.expectedRevision < 0) {
      throw new RangeError(`expectedRevision must be a whole number >= 0, not ${input.expectedRevision}`);
    }
    if (typeof input.data !== 'object' || input.data === null || Array.isArray(input.data)) throw new TypeError('data must be an object');
    canonicalJson(input.data); // throws on values JSON cannot carry, before anything is sent
    for (const [k, v] of Object.entries(input.meta ?? {})) {
      // Go decodes meta as map[string]string: any other value would make the document unreadable to Cordum.
      if (typeof v !== 'string') throw new TypeError(`meta.${k} must be a string, not ${typeof v}`);
    }
    this.assertSafeConnection();
    return serialised(this.redis, () => this.casWrite(key, scope, scopeId, input));
  }

  /** DriftLens-published envelopes of a document, newest first (empty when history is off or nothing was published). */
  async history(key: string): Promise<ConfigEnvelope[]> {
    parseConfigKey(key);
    const list = historyKey(key);
    const items = await this.command(`read the history of ${key}`, () => this.redis.lrange(list, 0, -1));
    return items.map((item, i) => decodeLive(item, `${list}[${i}]`));
  }

  /** Publishes the data of an earlier revision as a new revision; history only ever grows. */
  async rollback(key: string, revision: number, expectedRevision: number, meta?: Record<string, string>): Promise<ConfigEnvelope> {
    const entry = (await this.history(key)).find((e) => e.revision === revision);
    if (!entry) {
      const kept = this.historyLimit === 0 ? 'history is off: historyLimit 0' : `it keeps the last ${this.historyLimit} revisions DriftLens published`;
      throw new ConfigHistoryError(`revision ${revision} of ${key} is not in the DriftLens history (${kept}); nothing was written`);
    }
    return this.write(key, { data: entry.data, meta, expectedRevision });
  }

  /**
   * On a Redis Cluster the whole transaction runs on the cluster's connection to the key's master,
   * never through the Cluster client: ioredis answers a MOVED (a failover moved the slot while the
   * MULTI was queued) by sending MULTI/SET/EXEC again to the new master, where the WATCH does not
   * exist, so two writers from one revision could both "win". Pinned to one node, a moved slot fails
   * the attempt with nothing written, and the write starts over from WATCH on the new master.
   */
  private async casWrite(key: string, scope: ConfigEnvelope['scope'], scopeId: string, input: ConfigWriteInput): Promise<ConfigEnvelope> {
    // Not inTransactionConnection: besides failover answers, a master that died before EXEC (a closed
    // connection, nothing written) also starts the write over here.
    if (!this.redis.isCluster) return this.casWriteOn(this.redis, key, scope, scopeId, input);
    const cluster = this.redis as Cluster;
    const deadline = Date.now() + CLUSTER_FAILOVER_WAIT_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        let node: RedisClient;
        try {
          node = transactionConnection(cluster, key);
        } catch (err) {
          throw this.unavailable(err, input, key, false);
        }
        return await this.casWriteOn(node, key, scope, scopeId, input);
      } catch (err) {
        // The slot moved, has no master yet, or its master just died: nothing was written. Learn the
        // new slot map and start over from WATCH, for as long as a failover takes.
        if (!(err instanceof RedisUnavailableError && err.nothingWritten) || Date.now() > deadline) throw err;
        await refreshSlots(cluster);
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * attempt, 500)));
      }
    }
  }

  private async casWriteOn(redis: RedisClient, key: string, scope: ConfigEnvelope['scope'], scopeId: string, input: ConfigWriteInput): Promise<ConfigEnvelope> {
    const list = this.historyLimit > 0 ? historyKey(key) : undefined;
    let watching = false;
    let committing = false;
    let committed = false;
    try {
      await assertTransactions(redis);
      await redis.watch(list ? [key, list] : [key]);
      watching = true;
      const [raw, listType] = await Promise.all([redis.get(key), list ? redis.type(list) : 'none']);
      const current = raw === null ? undefined : decodeLive(raw, key, 'nothing was written: DriftLens does not overwrite it — repair or delete it in Redis first');
      // A missing document is revision 0; expecting more means it was deleted since the edit began.
      if ((current?.revision ?? 0) !== input.expectedRevision) throw new RevisionConflictError(key, input.expectedRevision, current);
      if (list && listType !== 'none' && listType !== 'list') {
        throw new ConfigHistoryError(`${list} holds a ${listType}, not the history list DriftLens expects; nothing was written — delete it or turn history off (historyLimit 0)`);
      }

      const envelope: ConfigEnvelope = { scope, scopeId, data: input.data, revision: input.expectedRevision + 1, updatedAt: nowRfc3339Nano() };
      if (input.meta && Object.keys(input.meta).length > 0) envelope.meta = { ...input.meta };
      const text = encodeEnvelope(envelope);
      const tx = redis.multi().set(key, text);
      if (list) tx.lpush(list, text).ltrim(list, 0, this.historyLimit - 1);
      committing = true;
      const results = await tx.exec();
      watching = false; // EXEC ends the WATCH, committed or not
      if (results === null) throw new RevisionConflictError(key, input.expectedRevision, await this.readBack(key));
      committed = true;
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0];
      return envelope;
    } catch (err) {
      if (!isConnectionError(err)) throw this.refused(err, committed ? `revision ${input.expectedRevision + 1} of ${key} was committed, but` : `cannot publish ${key}:`, committed ? 'the document may stand without its history entry — reload the live document and check its history' : 'nothing was written');
      // A commit that timed out is still queued on the server (a master holding writes during a
      // failover): ioredis gave up but kept the socket, so the transaction could land after the user
      // reloaded and saw it missing. Closing the connection makes Redis drop it with the client, so the
      // reload the message asks for tells the truth. The client reconnects for the next command.
      if (committing && /^Command timed out/.test((err as Error).message)) {
        watching = false;
        (redis as Redis).disconnect(true);
      }
      // A failover answer (MOVED, READONLY, EXECABORT of refused commands...) means Redis ran nothing.
      throw this.unavailable(err, input, key, committing && !isFailoverError(err));
    } finally {
      // A WATCH left behind would make this connection's next transaction fail for no reason.
      if (watching) await redis.unwatch().catch(() => undefined);
    }
  }

  private unavailable(err: unknown, input: ConfigWriteInput, key: string, maybeWritten: boolean): RedisUnavailableError {
    const label = endpointLabel(this.redis);
    const reason = (err as Error).message;
    return new RedisUnavailableError(
      maybeWritten
        ? `the connection to Redis at ${label} failed while revision ${input.expectedRevision + 1} of ${key} was being committed (${reason}); it may or may not have been written — reload the live document before publishing again`
        : `cannot publish ${key}: Redis at ${label} is not available (${reason}); nothing was written`,
      label,
      !maybeWritten,
    );
  }

  /**
   * A Redis reply that is an error (an ACL's NOPERM, OOM...) in our words: the command, its key and
   * what the Redis user needs. Anything else (a conflict, an unusable live document) passes unchanged.
   */
  private refused(err: unknown, what: string, consequence?: string): unknown {
    const refusal = redisRefusal(err);
    const sentence = describeRefusal(err, endpointLabel(this.redis));
    if (!refusal || sentence === undefined) return err;
    return new RedisRefusedError(`${what} ${sentence}${consequence ? `; ${consequence}` : ''}`, refusal.command, refusal.keys, refusal.reply);
  }

  /** The live envelope after a lost race, for the error message; best effort. */
  private async readBack(key: string): Promise<ConfigEnvelope | undefined> {
    try {
      return (await this.read(key))?.envelope;
    } catch {
      return undefined;
    }
  }

  private async command<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (!isConnectionError(err)) throw this.refused(err, `cannot ${action}:`);
      throw new RedisUnavailableError(`cannot ${action}: Redis at ${endpointLabel(this.redis)} is not available (${(err as Error).message})`, endpointLabel(this.redis));
    }
  }

  /** See redisConnection.ts: a resent MULTI after a reconnect would run without its WATCH. */
  private assertSafeConnection(): void {
    const options = this.redis.isCluster ? undefined : (this.redis.options as { autoResendUnfulfilledCommands?: boolean });
    if (options && options.autoResendUnfulfilledCommands !== false) {
      throw new TypeError('ConfigStore.write needs a connection with autoResendUnfulfilledCommands: false (use connectRedis): ioredis would otherwise resend an interrupted MULTI without its WATCH and overwrite blindly');
    }
  }
}

/**
 * The history list of a document key, in the key's cluster slot. Redis hashes only the part inside the
 * first `{...}` when there is one: a key with its own hash tag lends it; any other key becomes the tag.
 */
export function historyKey(key: string): string {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  if (close > open + 1) return `driftlens:history:{${key.slice(open + 1, close)}}:${key}`;
  // Without a usable tag the slot is the whole key, which can only be a tag when it has no `}`.
  if (!key.includes('}')) return `driftlens:history:{${key}}`;
  return `driftlens:history:${key}`; // standalone and Sentinel only: a cluster would refuse the MULTI (CROSSSLOT)
}

/**
 * MULTI and EXEC alone, before a transaction. ioredis sends MULTI, the queued commands and EXEC in
 * one go, so when Redis refuses MULTI (an ACL user without it) the commands run one by one outside
 * any transaction — a SET without its WATCH, a document without its history entry — and only EXEC
 * fails. An empty transaction runs nothing either way and says whether the real one will be one.
 * Not inside a WATCH: its EXEC would end it.
 */
export async function assertTransactions(redis: RedisClient): Promise<void> {
  await redis.multi().exec();
}

/**
 * Chains every WATCH/MULTI on one connection (ConfigStore's writes, VerificationStore's leases):
 * WATCH state is per connection, and one caller's UNWATCH would silently drop another's WATCH.
 */
const writeQueues = new WeakMap<object, Promise<unknown>>();

export function serialised<T>(connection: object, work: () => Promise<T>): Promise<T> {
  const previous = writeQueues.get(connection) ?? Promise.resolve();
  const run = previous.then(work);
  writeQueues.set(connection, run.catch(() => undefined));
  return run;
}

function decodeLive(raw: string, key: string, consequence?: string): ConfigEnvelope {
  try {
    return decodeEnvelope(raw);
  } catch (err) {
    if (err instanceof LiveDocumentError) throw err.at(key, consequence);
    throw err;
  }
}

function describeCurrent(key: string, current: ConfigEnvelope | undefined): string {
  if (!current) return `${key} no longer exists`;
  const meta = current.meta ? `, meta ${Object.entries(current.meta).map(([k, v]) => `${k}=${v}`).join(' ')}` : '';
  return `${key} is at revision ${current.revision}, updated ${current.updatedAt}${meta}`;
}
