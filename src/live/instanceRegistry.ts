import type { Cluster, Redis } from 'ioredis';
import { instanceKey, instanceMatchGlob, INSTANCE_RENEW_MS, INSTANCE_TTL_MS, parseInstanceKey, parseInstanceValue, type RegisteredInstance } from '../core/instanceRegistry';
import type { RedisClient } from './redisConnection';

/**
 * Reads and writes Cordum's instance registry (see src/core/instanceRegistry.ts for the format).
 *
 * Cordum keeps no index of its instances, so reading them is a SCAN. A SCAN walks the whole
 * keyspace in steps of COUNT, so on a large shared Redis it is bounded: at most `maxKeys` matching
 * keys and `maxCalls` SCAN calls per node; past either bound the result says it is incomplete
 * (the watcher then removes nobody on its account). On a Redis Cluster each master holds its own
 * part of the keyspace: every master is scanned, and the values are read on the node that
 * returned the key (one pipeline of GETs per node: the keys lie in different slots, so no MGET).
 */

export interface RegistryScanOptions {
  pattern: string;
  services: readonly string[];
  /** SCAN COUNT hint (default 1000). */
  count?: number;
  /** At most this many matching keys (default 10,000). */
  maxKeys?: number;
  /** At most this many SCAN calls per node (default 1,000: a million keys walked at COUNT 1000). */
  maxCalls?: number;
}

export interface RegistryScan {
  instances: RegisteredInstance[];
  /** False when a bound stopped the scan: instances may be missing. */
  complete: boolean;
  /** Why the scan is incomplete, in our words. */
  warning?: string;
  /** SCAN calls made, over all nodes (for tests and benchmarks). */
  calls: number;
}

export const DEFAULT_SCAN_MAX_KEYS = 10_000;
export const DEFAULT_SCAN_MAX_CALLS = 1_000;

function scanNodes(redis: RedisClient): Redis[] {
  return redis.isCluster ? (redis as Cluster).nodes('master') : [redis as Redis];
}

export async function scanInstanceRegistry(redis: RedisClient, options: RegistryScanOptions): Promise<RegistryScan> {
  const { pattern, services } = options;
  if (services.length === 0) return { instances: [], complete: true, calls: 0 };
  const count = options.count ?? 1000;
  const maxKeys = options.maxKeys ?? DEFAULT_SCAN_MAX_KEYS;
  const maxCalls = options.maxCalls ?? DEFAULT_SCAN_MAX_CALLS;
  const match = instanceMatchGlob(pattern, services);
  let calls = 0;
  let warning: string | undefined;
  const perNode: { node: Redis; keys: string[] }[] = [];
  const seen = new Set<string>();
  let total = 0;
  nodes: for (const node of scanNodes(redis)) {
    const keys: string[] = [];
    perNode.push({ node, keys });
    let cursor = '0';
    let nodeCalls = 0;
    do {
      if (nodeCalls >= maxCalls) {
        warning ??= `the instance registry scan stopped after ${maxCalls} SCAN calls on one node (${total} instances found): the keyspace is larger than the scan bound, some instances may be missing`;
        break;
      }
      const [next, found] = await node.scan(cursor, 'MATCH', match, 'COUNT', count);
      calls++;
      nodeCalls++;
      cursor = next;
      for (const key of found) {
        // SCAN may return a key twice; a key of another service shares the glob when several are scanned.
        if (seen.has(key)) continue;
        const parsed = parseInstanceKey(pattern, key);
        if (!parsed || !services.includes(parsed.service)) continue;
        if (total >= maxKeys) {
          warning = `the instance registry scan stopped at ${maxKeys} instances: some instances may be missing`;
          break nodes;
        }
        seen.add(key);
        keys.push(key);
        total++;
      }
    } while (cursor !== '0');
  }

  // A cluster whose slot map names a master this scan did not reach (one just died, a failover is
  // under way) was scanned in part: nobody may be judged unregistered from it.
  if (redis.isCluster && !warning) {
    const scanned = new Set(perNode.map(({ node }) => `${node.options.host}:${node.options.port}`));
    const masters = new Set(((redis as Cluster).slots as string[][]).map((owners) => owners?.[0]).filter((m): m is string => typeof m === 'string'));
    const missed = [...masters].filter((m) => !scanned.has(m));
    if (missed.length) warning = `the instance registry scan could not reach ${missed.length} of the cluster's masters (a failover?): some instances may be missing`;
  }

  const instances: RegisteredInstance[] = [];
  for (const { node, keys } of perNode) {
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      const values = await readValues(node, chunk, redis.isCluster === true);
      chunk.forEach((key, j) => {
        const value = values[j];
        if (value === MOVED_SINCE_SCAN) {
          warning ??= 'an instance moved to another node during the instance registry scan (a failover?): some instances may be missing';
          return;
        }
        // Expired between SCAN and GET: gone.
        if (value === null) return;
        const { service, id } = parseInstanceKey(pattern, key)!;
        instances.push(parseInstanceValue(key, service, id, value));
      });
    }
  }
  instances.sort((a, b) => a.key.localeCompare(b.key));
  return { instances, complete: warning === undefined, warning, calls };
}

/** What readValues gives for a key whose GET failed (moved since the SCAN, its node failing over). */
const MOVED_SINCE_SCAN = Symbol('moved since the scan');

async function readValues(node: Redis, keys: string[], cluster: boolean): Promise<(string | null | typeof MOVED_SINCE_SCAN)[]> {
  if (!cluster) return node.mget(...keys);
  const pipeline = node.pipeline();
  for (const key of keys) pipeline.get(key);
  const results = (await pipeline.exec()) ?? [];
  // A key moved to another node since the SCAN (resharding, failover) answers MOVED: not expired, so the
  // scan is incomplete (the next one finds it there), never a sign the instance is gone.
  return results.map(([err, value]) => (err ? MOVED_SINCE_SCAN : (value as string | null)));
}

export interface InstanceRegistrationOptions {
  pattern: string;
  service: string;
  id: string;
  version: string;
  commit: string;
  ttlMs?: number;
  renewMs?: number;
  onError?: (error: Error) => void;
}

/**
 * Registers one instance the way Cordum does: SET <key> <json> PX 15000, renewed every 7.5 s,
 * deleted on a clean stop (a crash leaves it to expire). Used by the simulator, so that its
 * replicas are in the registry like real ones, and for instances that run no agent at all.
 */
export class InstanceRegistration {
  private timer: NodeJS.Timeout | undefined;
  private readonly key: string;
  private readonly value: string;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: InstanceRegistrationOptions,
  ) {
    this.key = instanceKey(options.pattern, options.service, options.id);
    this.value = JSON.stringify({ id: options.id, service: options.service, version: options.version, commit: options.commit, started_at: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
  }

  async start(): Promise<void> {
    await this.register();
    this.timer = setInterval(() => void this.register().catch((e: Error) => this.options.onError?.(e)), this.options.renewMs ?? INSTANCE_RENEW_MS);
  }

  private async register(): Promise<void> {
    await this.redis.set(this.key, this.value, 'PX', this.options.ttlMs ?? INSTANCE_TTL_MS);
  }

  /** Stops renewing; `deregister` deletes the key at once (a clean shutdown), else it expires with its TTL (a crash). */
  async stop(options: { deregister?: boolean } = {}): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    if (options.deregister) await this.redis.del(this.key).catch(() => undefined);
  }
}
