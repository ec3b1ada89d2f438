import { writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { Redis } from 'ioredis';
import { keySlot } from '../../src/live/clusterRouting';
import type { NatsEndpoint, RedisEndpoint } from '../../src/live/connections';
import { freePort, ServerProcess } from './servers';

/**
 * Real multi-server setups for tests, the simulator and benchmarks: a Redis Cluster (3 masters, one
 * replica each), Redis Sentinel (one master, one replica, three sentinels) and a 3-node NATS cluster.
 * Every server is a real process on free loopback ports in its own scratch folder (servers.ts), every
 * start is bounded, and every wait is for a state the servers report (cluster_state, roles, routes).
 * Redis offers no event for "the cluster agreed"; those waits ask the servers every 50 ms until a deadline.
 *
 * All three hand out the endpoint DriftLens is configured with (`endpoint`), so a caller connects
 * exactly as a user would (connectRedis / connectNats), and dispose() always leaves nothing running.
 * Endpoints are plain data: a simulator shard in another process can take them as JSON.
 *
 *   const redis = await RedisCluster.start();      // 3 masters + 1 replica each; .endpoint, .seeds, .nodes
 *   await redis.ownerOf(key);                      // { master, replicas } serving the key's slot now
 *   await redis.manualFailover(replica);           // CLUSTER FAILOVER, resolved when healthy again
 *   await redis.waitReplicated(master, replica);   // the replica has every write the master has now
 *   await redis.kill(master); await redis.restart(master);   // SIGKILL + automatic failover; rejoin as replica
 *   const sentinel = await RedisSentinel.start();  // master + replica + 3 sentinels; .endpoint
 *   await sentinel.killMaster();                   // { killed, promoted } once every sentinel names the new master
 *   const nats = await NatsCluster.start();        // 3 routed nodes; .endpoint (all), .urls[i] (one node)
 *   nats.freeze(node); await nats.kill(node); await nats.restart(node);
 *   await nats.clients(node);                      // client names connected to a node (/connz)
 *   await Promise.all([redis.dispose(), sentinel.dispose(), nats.dispose()]);
 */

export { keySlot };

const HOST = '127.0.0.1';
const POLL_MS = 50;

/** Resolves once `check` returns a value other than undefined; rejects after timeoutMs naming what was awaited and the last state seen. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS)); // no server pushes these states: ask again
  }
}

/** One command on one server, on a connection of its own (opened and closed here, never retried). */
export async function redisCommand(port: number, command: string, ...args: (string | number)[]): Promise<unknown> {
  const client = new Redis({ host: HOST, port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 2000, commandTimeout: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(command, ...args);
  } finally {
    client.disconnect();
  }
}

/**
 * Starts a setup again, on fresh ports, when one of its servers exited before listening: a port
 * handed out by freePort can be taken before the server binds it (two setups start side by side).
 * Other failures are thrown at once.
 */
async function withFreshPorts<T>(start: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (e) {
      if (attempt >= attempts || !/exited \(.*\) before listening/.test(e instanceof Error ? e.message : String(e))) throw e;
    }
  }
}

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

// ---------------------------------------------------------------- Redis Cluster

export interface ClusterNode {
  server: ServerProcess;
  port: number;
  /** host:port, as in the `cluster` endpoint setting. */
  address: string;
  /** The node id (from CLUSTER MYID), stable across restarts (nodes.conf stays in the node's folder). */
  id: string;
  /** False while the process is killed. */
  running: boolean;
}

export interface ClusterNodeState {
  node: ClusterNode;
  role: 'master' | 'replica';
  /** For a replica: the node id of its master. */
  masterId?: string;
  /** For a master: the slot ranges it serves. */
  slots: [number, number][];
}

export interface RedisClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  /** cluster-node-timeout: how long a silent master stays up before its replica takes over. Default 2000 ms. */
  nodeTimeoutMs?: number;
  /** Bound on the whole start (processes, create, every node agreeing). Default 60 s. */
  startTimeoutMs?: number;
}

export class RedisCluster {
  private constructor(
    readonly nodes: ClusterNode[],
    private readonly replicasPerMaster: number,
  ) {}

  /** Host:port of every node: the seed list for `RedisEndpoint.cluster`. */
  get seeds(): string[] {
    return this.nodes.map((n) => n.address);
  }

  /** The endpoint DriftLens is configured with for this cluster. */
  get endpoint(): RedisEndpoint {
    return { url: `redis://${this.nodes[0].address}`, cluster: this.seeds };
  }

  static start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    return withFreshPorts(() => RedisCluster.startOnce(options));
  }

  private static async startOnce(options: RedisClusterOptions): Promise<RedisCluster> {
    const masters = options.masters ?? 3;
    const replicasPerMaster = options.replicasPerMaster ?? 1;
    const nodeTimeout = options.nodeTimeoutMs ?? 2000;
    const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
    const left = () => Math.max(1000, deadline - Date.now());
    const nodes: ClusterNode[] = [];
    const cluster = new RedisCluster(nodes, replicasPerMaster);
    try {
      for (let i = 0; i < masters * (1 + replicasPerMaster); i++) {
        // The bus port is set explicitly (Redis 7 cluster-port): port + 10000 may be taken or out of range.
        const [port, busPort] = [await freePort(), await freePort()];
        const server = new ServerProcess(`redis-cluster-${i}`, port, 'redis-server', [
          '--bind', HOST, '--port', String(port), '--cluster-port', String(busPort),
          '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(nodeTimeout),
          // A replica always qualifies for failover, however long its master was gone: tests kill masters on purpose.
          '--cluster-replica-validity-factor', '0',
          '--save', '', '--appendonly', 'no',
        ]);
        nodes.push({ server, port, address: `${HOST}:${port}`, id: '', running: false });
      }
      await Promise.all(nodes.map(async (n) => {
        await n.server.start();
        n.running = true;
        n.id = String(await redisCommand(n.port, 'CLUSTER', 'MYID'));
      }));
      await run('redis-cli', ['--cluster', 'create', ...cluster.seeds, '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'], left());
      await cluster.waitHealthy(left());
      return cluster;
    } catch (err) {
      await cluster.dispose();
      throw err;
    }
  }

  /** Every running node's view: role, master, slots (from CLUSTER NODES on one running node that agrees with the rest). */
  async state(): Promise<ClusterNodeState[]> {
    const source = this.nodes.find((n) => n.running);
    if (!source) throw new Error('no cluster node is running');
    const text = String(await redisCommand(source.port, 'CLUSTER', 'NODES'));
    const states: ClusterNodeState[] = [];
    for (const line of text.trim().split('\n')) {
      const [id, , flags, masterId, , , , link, ...slotSpecs] = line.split(' ');
      const node = this.nodes.find((n) => n.id === id);
      if (!node || !node.running || flags.includes('fail') || link !== 'connected') continue;
      const role = flags.includes('master') ? 'master' : 'replica';
      const slots = slotSpecs.filter((s) => !s.startsWith('[')).map((s) => s.split('-').map(Number) as [number, number]).map(([a, b]) => [a, b ?? a] as [number, number]);
      states.push({ node, role, slots, ...(role === 'replica' ? { masterId } : {}) });
    }
    return states;
  }

  /**
   * Resolves when every running node says cluster_state:ok, knows every running node, and every master
   * serving slots has its replicas attached (what `--cluster-replicas` promised), bounded by timeoutMs.
   */
  async waitHealthy(timeoutMs = 30_000): Promise<ClusterNodeState[]> {
    return waitFor('every Redis Cluster node to report cluster_state:ok with all masters and replicas in place', async () => {
      const running = this.nodes.filter((n) => n.running);
      for (const n of running) {
        const info = String(await redisCommand(n.port, 'CLUSTER', 'INFO'));
        if (infoField(info, 'cluster_state') !== 'ok' || infoField(info, 'cluster_slots_ok') !== '16384') return undefined;
        // Every node must see every other node as up (a node's own view lags after a failover).
        const view = String(await redisCommand(n.port, 'CLUSTER', 'NODES'));
        if (/\bfail\??\b|handshake|noaddr/.test(view.split('\n').filter((l) => running.some((r) => l.startsWith(r.id))).join('\n'))) return undefined;
        // A replica must have finished its sync, or a failover could not promote it.
        const replication = String(await redisCommand(n.port, 'INFO', 'replication'));
        if (infoField(replication, 'role') === 'slave' && infoField(replication, 'master_link_status') !== 'up') return undefined;
      }
      const states = await this.state();
      const masters = states.filter((s) => s.role === 'master' && s.slots.length > 0);
      const attached = masters.every((m) => states.filter((s) => s.masterId === m.node.id).length >= Math.min(this.replicasPerMaster, running.length - masters.length));
      return attached && states.length === running.length ? states : undefined;
    }, timeoutMs);
  }

  /** The master serving a key's slot now, and its replicas. */
  async ownerOf(key: string): Promise<{ master: ClusterNode; replicas: ClusterNode[] }> {
    const slot = keySlot(key);
    const states = await this.state();
    const master = states.find((s) => s.role === 'master' && s.slots.some(([a, b]) => slot >= a && slot <= b));
    if (!master) throw new Error(`no running master serves slot ${slot} of ${key}`);
    return { master: master.node, replicas: states.filter((s) => s.masterId === master.node.id).map((s) => s.node) };
  }

  /**
   * Resolves when `replica` has every write `master` has now: its replication offset reached the
   * master's. Replication is asynchronous; a `CLUSTER FAILOVER TAKEOVER` promotes a replica without
   * syncing it first, so one taken before this may lose the master's latest writes, as Redis documents.
   */
  async waitReplicated(master: ClusterNode, replica: ClusterNode, timeoutMs = 30_000): Promise<void> {
    const target = Number(infoField(String(await redisCommand(master.port, 'INFO', 'replication')), 'master_repl_offset'));
    await waitFor(`${replica.address} to replicate ${master.address} up to offset ${target}`, async () => {
      const info = String(await redisCommand(replica.port, 'INFO', 'replication'));
      return Number(infoField(info, 'slave_repl_offset') ?? -1) >= target ? true : undefined;
    }, timeoutMs);
  }

  /**
   * A manual `CLUSTER FAILOVER` on a replica (the coordinated, no-data-loss kind an operator runs),
   * resolved when the replica is master, the old master is its replica, and the cluster is healthy.
   */
  async manualFailover(replica: ClusterNode, timeoutMs = 30_000): Promise<void> {
    await redisCommand(replica.port, 'CLUSTER', 'FAILOVER');
    await waitFor(`${replica.address} to become master after CLUSTER FAILOVER`, async () => {
      const info = String(await redisCommand(replica.port, 'INFO', 'replication'));
      return infoField(info, 'role') === 'master' ? true : undefined;
    }, timeoutMs);
    await this.waitHealthy(timeoutMs);
  }

  /**
   * SIGKILLs a node (no shutdown, no goodbye to the cluster). For a master, resolves once a replica
   * took over its slots and every remaining node says cluster_state:ok again; returns the new owner.
   */
  async kill(node: ClusterNode, timeoutMs = 30_000): Promise<ClusterNode | undefined> {
    const before = (await this.state()).find((s) => s.node === node);
    await node.server.stop();
    node.running = false;
    if (before?.role !== 'master' || before.slots.length === 0) return undefined;
    const slot = before.slots[0][0];
    const states = await waitFor(`a replica of killed master ${node.address} to take over its slots`, async () => {
      for (const n of this.nodes.filter((x) => x.running)) {
        const info = String(await redisCommand(n.port, 'CLUSTER', 'INFO'));
        if (infoField(info, 'cluster_state') !== 'ok') return undefined;
      }
      const now = await this.state();
      return now.some((s) => s.role === 'master' && s.node !== node && s.slots.some(([a, b]) => slot >= a && slot <= b)) ? now : undefined;
    }, timeoutMs);
    return states.find((s) => s.role === 'master' && s.slots.some(([a, b]) => slot >= a && slot <= b))!.node;
  }

  /** Starts a killed node again (same port and nodes.conf): it rejoins as a replica of whoever owns its old slots. */
  async restart(node: ClusterNode, timeoutMs = 30_000): Promise<void> {
    if (node.running) return;
    await node.server.start();
    node.running = true;
    await this.waitHealthy(timeoutMs);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map(async (n) => {
      n.running = false;
      await n.server.dispose();
    }));
  }
}

// ---------------------------------------------------------------- Sentinel

export interface SentinelNode {
  server: ServerProcess;
  port: number;
  address: string;
  running: boolean;
}

export interface RedisSentinelOptions {
  /** The master group name. Default `driftlens`. */
  name?: string;
  /** down-after-milliseconds: how long a silent master stays up. Default 1000 ms. */
  downAfterMs?: number;
  startTimeoutMs?: number;
}

export class RedisSentinel {
  private constructor(
    readonly name: string,
    /** The data servers: [initial master, initial replica]. */
    readonly servers: SentinelNode[],
    readonly sentinels: SentinelNode[],
  ) {}

  /** The endpoint DriftLens is configured with: the master name and the sentinels, never a data server. */
  get endpoint(): RedisEndpoint {
    return { url: `redis://${this.servers[0].address}`, sentinel: { name: this.name, sentinels: this.sentinels.map((s) => s.address) } };
  }

  static async start(options: RedisSentinelOptions = {}): Promise<RedisSentinel> {
    const name = options.name ?? 'driftlens';
    const downAfter = options.downAfterMs ?? 1000;
    const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
    const left = () => Math.max(1000, deadline - Date.now());
    const node = (server: ServerProcess): SentinelNode => ({ server, port: server.port, address: `${HOST}:${server.port}`, running: false });
    const data: SentinelNode[] = [];
    const sentinels: SentinelNode[] = [];
    const setup = new RedisSentinel(name, data, sentinels);
    try {
      const [masterPort, replicaPort] = [await freePort(), await freePort()];
      const base = ['--bind', HOST, '--save', '', '--appendonly', 'no'];
      data.push(node(new ServerProcess('redis-sentinel-master', masterPort, 'redis-server', [...base, '--port', String(masterPort)])));
      data.push(node(new ServerProcess('redis-sentinel-replica', replicaPort, 'redis-server', [...base, '--port', String(replicaPort), '--replicaof', HOST, String(masterPort)])));
      for (let i = 0; i < 3; i++) {
        const port = await freePort();
        // There is no redis-sentinel binary in Debian's redis-server: `redis-server <file> --sentinel`,
        // with a config file of its own in a writable folder (sentinels rewrite it as they learn).
        const server = new ServerProcess(`redis-sentinel-${i}`, port, 'redis-server', ['sentinel.conf', '--sentinel']);
        writeFileSync(path.join(server.dir, 'sentinel.conf'), [
          `bind ${HOST}`,
          `port ${port}`,
          `sentinel monitor ${name} ${HOST} ${masterPort} 2`,
          `sentinel down-after-milliseconds ${name} ${downAfter}`,
          `sentinel failover-timeout ${name} 10000`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'));
        sentinels.push(node(server));
      }
      for (const n of [...data, ...sentinels]) {
        await n.server.start();
        n.running = true;
      }
      await setup.waitReady(data[0], left());
      return setup;
    } catch (err) {
      await setup.dispose();
      throw err;
    }
  }

  /** The master every running sentinel names now. */
  async master(): Promise<SentinelNode | undefined> {
    const answers = await Promise.all(this.sentinels.filter((s) => s.running).map((s) => redisCommand(s.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name)));
    const ports = new Set(answers.map((a) => (Array.isArray(a) ? Number(a[1]) : 0)));
    if (ports.size !== 1) return undefined;
    const [port] = ports;
    return this.servers.find((s) => s.port === port);
  }

  /**
   * Resolves when every running sentinel names `master`, knows the other sentinels and the replica,
   * and the replica's link to the master is up (bounded by timeoutMs).
   */
  async waitReady(master: SentinelNode, timeoutMs = 30_000): Promise<void> {
    await waitFor(`the sentinels to agree on master ${master.address} with its replica and each other`, async () => {
      if ((await this.master()) !== master) return undefined;
      const runningData = this.servers.filter((s) => s.running);
      for (const s of this.sentinels.filter((x) => x.running)) {
        const fields = (await redisCommand(s.port, 'SENTINEL', 'MASTER', this.name)) as string[];
        const get = (f: string) => fields[fields.indexOf(f) + 1];
        if (Number(get('num-other-sentinels')) < this.sentinels.filter((x) => x.running).length - 1) return undefined;
        if (/down|failover/.test(get('flags'))) return undefined;
        const replicas = (await redisCommand(s.port, 'SENTINEL', 'REPLICAS', this.name)) as string[][];
        const healthy = replicas.filter((r) => !/down|disconnected/.test(r[r.indexOf('flags') + 1]));
        if (healthy.length < runningData.length - 1) return undefined;
      }
      for (const r of runningData.filter((x) => x !== master)) {
        const info = String(await redisCommand(r.port, 'INFO', 'replication'));
        if (infoField(info, 'master_port') !== String(master.port) || infoField(info, 'master_link_status') !== 'up') return undefined;
      }
      return true;
    }, timeoutMs);
  }

  /** SIGKILLs the current master; resolves with the replica the sentinels promoted (every sentinel names it, and it says role:master). */
  async killMaster(timeoutMs = 30_000): Promise<{ killed: SentinelNode; promoted: SentinelNode }> {
    const killed = await this.master();
    if (!killed) throw new Error('the sentinels do not agree on a master');
    await killed.server.stop();
    killed.running = false;
    const promoted = await waitFor(`the sentinels to promote a replica after ${killed.address} was killed`, async () => {
      const now = await this.master();
      if (!now || now === killed) return undefined;
      const info = String(await redisCommand(now.port, 'INFO', 'replication'));
      return infoField(info, 'role') === 'master' ? now : undefined;
    }, timeoutMs);
    return { killed, promoted };
  }

  /** Starts a killed data server again; the sentinels turn it into a replica of the current master. */
  async restart(server: SentinelNode, timeoutMs = 30_000): Promise<void> {
    if (server.running) return;
    await server.server.start();
    server.running = true;
    const master = await this.master();
    if (master) await this.waitReady(master, timeoutMs);
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.sentinels, ...this.servers].map(async (n) => {
      n.running = false;
      await n.server.dispose();
    }));
  }
}

// ---------------------------------------------------------------- NATS cluster

export interface NatsNode {
  server: ServerProcess;
  port: number;
  /** nats://host:port of this node. */
  url: string;
  clusterPort: number;
  monitorPort: number;
  running: boolean;
  /** SIGSTOPped by freeze(), until thaw() or kill(). */
  frozen?: boolean;
}

export class NatsCluster {
  private constructor(readonly nodes: NatsNode[]) {}

  /** Every node's URL: the `servers` setting. */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  /** The endpoint DriftLens is configured with for the whole cluster. */
  get endpoint(): NatsEndpoint {
    return { servers: this.urls };
  }

  static start(options: { size?: number; startTimeoutMs?: number } = {}): Promise<NatsCluster> {
    return withFreshPorts(() => NatsCluster.startOnce(options));
  }

  private static async startOnce(options: { size?: number; startTimeoutMs?: number }): Promise<NatsCluster> {
    const size = options.size ?? 3;
    const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
    const nodes: NatsNode[] = [];
    const cluster = new NatsCluster(nodes);
    try {
      const ports: { port: number; clusterPort: number; monitorPort: number }[] = [];
      for (let i = 0; i < size; i++) ports.push({ port: await freePort(), clusterPort: await freePort(), monitorPort: await freePort() });
      for (const [i, p] of ports.entries()) {
        const routes = ports.filter((_, j) => j !== i).map((o) => `nats://${HOST}:${o.clusterPort}`).join(',');
        const server = new ServerProcess(`nats-cluster-${i}`, p.port, 'nats-server', [
          '-a', HOST, '-p', String(p.port), '-m', String(p.monitorPort), '-n', `dl-nats-${i}`,
          '--cluster_name', 'driftlens', '--cluster', `nats://${HOST}:${p.clusterPort}`, '--routes', routes,
        ]);
        nodes.push({ server, ...p, url: `nats://${HOST}:${p.port}`, running: false });
      }
      await Promise.all(nodes.map(async (n) => {
        await n.server.start();
        n.running = true;
      }));
      await cluster.waitRoutes(Math.max(1000, deadline - Date.now()));
      return cluster;
    } catch (err) {
      await cluster.dispose();
      throw err;
    }
  }

  /** The routes a node's monitoring port lists (/routez). */
  async routes(node: NatsNode): Promise<number> {
    const response = await fetch(`http://${HOST}:${node.monitorPort}/routez`);
    const body = (await response.json()) as { num_routes?: number };
    return body.num_routes ?? 0;
  }

  /** Client connections on a node, by client name (/connz). */
  async clients(node: NatsNode): Promise<string[]> {
    const response = await fetch(`http://${HOST}:${node.monitorPort}/connz?limit=1024`);
    const body = (await response.json()) as { connections?: { name?: string }[] };
    return (body.connections ?? []).map((c) => c.name ?? '');
  }

  /** Resolves when every running node has a route to every other running node. */
  async waitRoutes(timeoutMs = 30_000): Promise<void> {
    await waitFor('every NATS node to route to every other running node', async () => {
      const running = this.nodes.filter((n) => n.running);
      const counts = await Promise.all(running.map((n) => this.routes(n)));
      return counts.every((c) => c >= running.length - 1) ? true : undefined;
    }, timeoutMs);
  }

  /**
   * SIGSTOPs a node: its clients and routes stay connected but nothing it receives is delivered, as
   * with a hung server or a network partition. Messages routed to it meanwhile are lost once it is
   * killed. kill() or thaw() ends the freeze.
   */
  freeze(node: NatsNode): void {
    node.server.signal('SIGSTOP');
    node.frozen = true;
  }

  thaw(node: NatsNode): void {
    node.server.signal('SIGCONT');
    node.frozen = false;
  }

  /** SIGKILLs a node (a frozen one too). */
  async kill(node: NatsNode): Promise<void> {
    await node.server.stop();
    node.running = false;
    node.frozen = false;
  }

  /**
   * Starts a killed node again and waits for its routes. A node still frozen (a test that failed
   * between freeze and kill) is killed first: left frozen, it would hang every later test that
   * connects to it.
   */
  async restart(node: NatsNode, timeoutMs = 30_000): Promise<void> {
    if (node.frozen) await this.kill(node);
    if (node.running) return;
    await node.server.start();
    node.running = true;
    await this.waitRoutes(timeoutMs);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map(async (n) => {
      n.running = false;
      await n.server.dispose();
    }));
  }
}

/** Runs a command to completion within timeoutMs; rejects with its output when it fails. */
function run(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.slice(0, 2).join(' ')} failed (${signal ?? code}): ${output.trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}
