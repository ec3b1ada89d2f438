/**
 * Where a key lives in a Redis Cluster, for the commands that must all run on one node connection:
 * WATCH state belongs to the connection it was sent on, so a WATCH / GET / MULTI / EXEC must reach
 * the same master, and must fail (not follow a MOVED to another node) when the slot moved meanwhile.
 */

import type { Cluster, Redis } from 'ioredis';
import { isFailoverError, type RedisClient } from './redisConnection';

/** The Redis Cluster hash slot of a key: CRC16/XMODEM of the key, or of its first non-empty `{hash tag}`, mod 16384. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  const close = open < 0 ? -1 : key.indexOf('}', open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  let crc = 0;
  for (const byte of Buffer.from(hashed)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/**
 * The cluster's own connection to the master that serves `key` according to its slot map, or
 * undefined when the map names no master it has a connection for (during a failover; the caller
 * refreshes the map and tries again).
 */
export function masterConnectionFor(cluster: Cluster, key: string): Redis | undefined {
  const owner = cluster.slots[keySlot(key)]?.[0];
  if (!owner) return undefined;
  return cluster.nodes('master').find((node) => `${node.options.host}:${node.options.port}` === owner);
}

/** Asks a node for the current slot map; resolves when the cluster has it (or the refresh failed: the next attempt sees). */
export function refreshSlots(cluster: Cluster): Promise<void> {
  return new Promise((resolve) => cluster.refreshSlotsCache(() => resolve()));
}

/**
 * The connection a WATCH / MULTI / EXEC on `key` must use: the client itself, or on a cluster its
 * connection to the key's master (a MOVED then fails the transaction instead of being followed
 * without the WATCH). Throws a CLUSTERDOWN-style error (a failover error) while no master is known.
 */
export function transactionConnection(redis: RedisClient, key: string): RedisClient {
  if (!redis.isCluster) return redis;
  const node = masterConnectionFor(redis as Cluster, key);
  if (!node) {
    void refreshSlots(redis as Cluster);
    throw new Error(`CLUSTERDOWN no master serves the slot of ${key} yet`);
  }
  return node;
}

/**
 * Runs a WATCH / MULTI / EXEC `work` on the connection transactionConnection() picks; on a cluster,
 * when a failover answer says the slot moved (nothing ran), learns the new slot map and runs `work`
 * again from its WATCH, for up to `waitMs`.
 */
export async function inTransactionConnection<T>(redis: RedisClient, key: string, work: (connection: RedisClient) => Promise<T>, waitMs = 15_000): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(transactionConnection(redis, key));
    } catch (err) {
      if (!redis.isCluster || !isFailoverError(err) || Date.now() > deadline) throw err;
      await refreshSlots(redis as Cluster);
      await new Promise((resolve) => setTimeout(resolve, Math.min(50 * attempt, 500)));
    }
  }
}
