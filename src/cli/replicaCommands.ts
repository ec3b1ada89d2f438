import { Option, type Command } from 'commander';
import type { NatsConnection } from 'nats';
import type { DriftModel } from '../core/convergence';
import { displayText, terminalSafeJson } from '../core/displayText';
import { formatDuration, MIN_HEARTBEAT_MS, MIN_POLL_INTERVAL_MS, parseTimerDuration } from '../core/duration';
import { redactSecrets } from '../live/connections';
import { DriftWatcher } from '../live/driftWatcher';
import { connectNats } from '../live/natsConnection';
import { connectRedis, describeEndpoint, isConnectionError, redisErrorText, RedisUnavailableError, type RedisClient } from '../live/redisConnection';
import { DEFAULT_GONE_AFTER_MS, instanceKey, instancePatternProblem, registryServiceOfReport, registryServicesProblem, resolveRegistry } from '../core/instanceRegistry';
import { InstanceRegistration } from '../live/instanceRegistry';
import { FleetWorkload } from '../simulator/fleetWorkload';
import { SimulatedReplicaAgent, type AgentFaults, type SimulatedAgentEvent } from '../simulator/simulatedReplicaAgent';
import { defaultShards, parseShardSpec, renderShardSummary, sendToParent, shardRange, startShards, untilParentStops } from './replicaShards';
import { CliError, EXIT } from './documentInput';
import { renderDriftTable } from './driftTable';
import { addLiveOptions, liveSecrets, resolveLive, type LiveFlags, type LiveSettings } from './liveOptions';

declare const DRIFTLENS_VERSION: string | undefined;

interface Connections {
  live: LiveSettings;
  redis: RedisClient;
  /** Undefined when it was not needed, or (status --watch) not reachable: then Redis alone is read. */
  nats: NatsConnection | undefined;
  /** Since when Redis has been unreachable (epoch ms), undefined while it is up. */
  readonly redisDownSince: number | undefined;
  close(): Promise<void>;
}

/**
 * Redis, the source of truth, must be reachable. NATS is `required` for the simulator (replicas
 * must hear notifications), `optional` for `status --watch` (live events are only faster than
 * its periodic reads) and `unused` by a one-shot `status`, which needs nothing but the reports in Redis.
 */
async function connect(flags: LiveFlags, name: string, nats: 'required' | 'optional' | 'unused', natsFirstServer?: number): Promise<Connections> {
  const live = await resolveLive(flags);
  const secrets = liveSecrets(live);
  const failure = (e: unknown) => redactSecrets(e instanceof Error ? e.message : String(e), secrets);
  let redisDownSince: number | undefined;
  let redis: RedisClient;
  try {
    redis = await connectRedis(live.redis, {
      name,
      onStatus: (status) => {
        if (status === 'ready') redisDownSince = undefined;
        else if (status === 'close' || status === 'reconnecting' || status === 'end') redisDownSince ??= Date.now();
      },
    });
  } catch (e) {
    throw new CliError(failure(e), EXIT.unavailable);
  }
  let nc: NatsConnection | undefined;
  if (nats !== 'unused') {
    try {
      nc = await connectNats(live.nats, { name, firstServer: natsFirstServer });
    } catch (e) {
      if (nats === 'required') {
        redis.disconnect();
        throw new CliError(failure(e), EXIT.unavailable);
      }
      process.stderr.write(`driftlens: ${displayText(failure(e))}\ndriftlens: watching without live events: the replica reports are re-read from Redis every 5s\n`);
    }
  }
  return {
    live,
    redis,
    nats: nc,
    get redisDownSince() {
      return redisDownSince;
    },
    close: async () => void (await Promise.allSettled([nc?.close(), Promise.resolve(redis.disconnect())])),
  };
}

/** Why the replicas could not be read, in our words: a dropped connection is not worth ioredis's "Stream isn't writeable". */
function readFailure(connections: Connections, e: unknown): string {
  if (e instanceof RedisUnavailableError || isConnectionError(e) || connections.redisDownSince !== undefined) {
    return `Redis at ${describeEndpoint(connections.live.redis)} is not reachable`;
  }
  // A Redis reply (an ACL's NOPERM): the refused command, its key and what the Redis user needs.
  return displayText(redisErrorText(e, describeEndpoint(connections.live.redis)));
}

/** The replicas started, but what they report cannot be read (an ACL without GET, say): exit 4 with the reason. */
function tableFailure(connections: Connections, e: unknown): CliError {
  return new CliError(`cannot read what the replicas report: ${readFailure(connections, e)}`, EXIT.unavailable);
}

/** Why the replicas could not start, as a CliError (a Redis reply or a dropped connection in our words). */
function startFailure(connections: Connections, e: unknown): CliError {
  return e instanceof CliError ? e : new CliError(`cannot start the replicas: ${readFailure(connections, e)}`, EXIT.unavailable);
}

function duration(value: string, what: string, minMs = 0): number {
  const parsed = parseTimerDuration(value, minMs);
  if (parsed.error !== undefined) throw new CliError(`${what} ${parsed.error}, not "${displayText(value)}"`);
  return parsed.ms;
}

/** "1,3-4:drop" -> replicas 1, 3, 4 (1-based) get dropNotifications 1. */
export function parseFault(spec: string, count: number): { replicas: number[]; fault: string; apply: (f: AgentFaults) => void; crashEveryMs?: number; pollMs?: number } {
  const match = /^([0-9,-]+):(drop(?:=([0-9.]+))?|delay=(\S+)|stall|reject|crash=(\S+)|poll=(\S+))$/.exec(spec);
  if (!match) throw new CliError(`--fault "${spec}": expected <replicas>:<fault>, e.g. 2:drop, 3:drop=0.5, 1-2:delay=2s, 4:stall, 5:reject, 6:crash=20s, 7:poll=1m`);
  const replicas = new Set<number>();
  for (const part of match[1].split(',')) {
    const [from, to] = part.split('-').map(Number);
    for (let i = from; i <= (to ?? from); i++) {
      if (!(i >= 1 && i <= count)) throw new CliError(`--fault "${spec}": replica ${i} is not between 1 and ${count}`);
      replicas.add(i);
    }
  }
  const fault = match[2];
  if (fault.startsWith('drop')) {
    const fraction = match[3] === undefined ? 1 : Number(match[3]);
    if (!(fraction >= 0 && fraction <= 1)) throw new CliError(`--fault "${spec}": the drop fraction must be between 0 and 1`);
    return { replicas: [...replicas], fault, apply: (f) => (f.dropNotifications = fraction) };
  }
  if (fault.startsWith('delay')) {
    const ms = duration(match[4], `--fault "${spec}" delay`, 1);
    return { replicas: [...replicas], fault, apply: (f) => (f.delayNotificationsMs = ms) };
  }
  if (fault === 'stall') return { replicas: [...replicas], fault, apply: (f) => (f.stalled = true) };
  if (fault === 'reject') return { replicas: [...replicas], fault, apply: (f) => (f.rejectApply = true) };
  // A replica whose own poll interval differs from the fleet's (an old build, a stray environment
  // variable): the time it takes to repair a lost notification differs with it.
  if (fault.startsWith('poll')) return { replicas: [...replicas], fault, apply: () => undefined, pollMs: duration(match[6], `--fault "${spec}" poll`, MIN_POLL_INTERVAL_MS) };
  return { replicas: [...replicas], fault, apply: () => undefined, crashEveryMs: duration(match[5], `--fault "${spec}" crash`, MIN_CRASH_EVERY_MS) };
}

/** Restarting a replica takes a connect and a startup check: more often than this it would never run. */
const MIN_CRASH_EVERY_MS = 1000;

interface RegistryFlags {
  registryPattern?: string;
  registryServices?: string;
  goneAfter?: string;
}

/** Cordum's instance registry options of `status` and `replicas`: flags win over the policy's `registry`, then Cordum's defaults. */
function addRegistryOptions(command: Command): Command {
  return command
    .option('--registry-pattern <pattern>', "Redis key of a registered instance, with {service} and {id} (default: the policy's registry.key_pattern, else cordum:instance:{service}:{id})")
    .option('--registry-services <list>', 'comma-separated services whose registered instances apply the document; "" turns the registry off (default: the policy\'s registry.services, else scheduler)')
    .option('--gone-after <duration>', 'a replica out of the registry and without a report leaves the table after this long', '60s');
}

type RegistrySettings = { pattern: string; services: readonly string[]; goneAfterMs: number };

function registrySettings(live: LiveSettings, flags: RegistryFlags): RegistrySettings {
  const services = flags.registryServices === undefined ? undefined : flags.registryServices.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const resolved = resolveRegistry(live.policy, { keyPattern: flags.registryPattern, services });
  const problem = instancePatternProblem(resolved.pattern) ?? registryServicesProblem(resolved.services);
  if (problem) throw new CliError(displayText(problem));
  return { ...resolved, goneAfterMs: flags.goneAfter === undefined ? DEFAULT_GONE_AFTER_MS : duration(flags.goneAfter, '--gone-after', 1) };
}

/** The registry settings, or a usage error after closing the connections (they are resolved with the policy the connections read). */
async function registryOf(connections: Connections, flags: RegistryFlags): Promise<RegistrySettings> {
  try {
    return registrySettings(connections.live, flags);
  } catch (e) {
    await connections.close();
    throw e;
  }
}

function watch(connections: Connections, onModel: (model: DriftModel) => void, options: { staleAfterMs?: number; onError?: (e: Error) => void; registry?: RegistrySettings; onLeft?: (member: string, message: string) => void } = {}): DriftWatcher {
  const { live } = connections;
  return new DriftWatcher({
    redis: connections.redis,
    nats: connections.nats,
    configKey: live.key,
    sections: live.policy.sections,
    policy: live.policy.slo,
    subject: live.subject,
    staleAfterMs: options.staleAfterMs,
    registry: options.registry,
    onLeft: options.onLeft,
    onWarning: (message) => process.stderr.write(`driftlens: ${displayText(message)}\n`),
    onModel,
    onError: options.onError ?? ((e) => process.stderr.write(`driftlens: cannot read the replicas of ${displayText(live.key)}: ${readFailure(connections, e)}\n`)),
  });
}

function modelToJson(model: DriftModel): unknown {
  return {
    key: model.live?.key,
    revision: model.live?.revision,
    published_at_ms: model.live?.publishedAtMs,
    live: model.live?.sections,
    summary: model.summary,
    counts: model.counts,
    breaches: model.breaches,
    simulated: model.simulated,
    ...(model.registry ? { registry: { services: model.registry.services, registered: model.registry.registered, complete: model.registry.complete } } : {}),
    replicas: model.replicas.map((r) => ({
      member: r.member,
      ...(r.simulated ? { simulated: true } : {}),
      state: r.state,
      ...(r.registry ? { registry: { key: r.registry.key, service: r.registry.service, id: r.registry.id, version: r.registry.version ?? null, commit: r.registry.commit ?? null, started_at: r.registry.startedAt ?? null, ...(r.registry.problem ? { problem: r.registry.problem } : {}) } } : {}),
      ...(r.reportingOnly ? { reporting_only: true } : {}),
      ...(r.leftRegistryMs !== undefined ? { left_registry_ms: r.leftRegistryMs } : {}),
      revision: r.revision,
      last_report_ms: r.lastReportMs,
      last_error: r.lastError,
      sections: Object.fromEntries(r.sections.map((s) => [s.section, { state: s.state, hash: s.hash, live_hash: s.liveHash, trigger: s.trigger, applied_at_ms: s.appliedAtMs, convergence_ms: s.convergenceMs, within_budget: s.withinBudget, why: s.why }])),
    })),
  };
}

export function registerReplicaCommands(program: Command): void {
  addLiveOptions(
    program
      .command('status')
      .description('Show which replica runs which hash of each section, and whether it converged within the policy\'s budget.')
      .option('-w, --watch', 'keep updating (live status events + periodic reads)')
      .option('--json', 'print the model as JSON'),
  )
    .addHelpText('after', "\nStates: in sync, converging (inside the budget), drifted (past it), not checked, stale (no heartbeat), rejected (the replica refused the live hash), unknown origin, not reporting (alive in Cordum's instance registry, but no DriftLens report: install the agent). Simulated replicas (driftlens replicas) are marked; REGISTRY shows each replica's registered version and commit, or 'reporting only'.\nExit status (without --watch): 0 all in sync, 1 any other state (not reporting included), 4 Redis unreachable or refusing a read (the instance registry's SCAN included). Reading needs only Redis; --watch also listens on NATS for live events when it can.\n")
    .action(async (options: LiveFlags & RegistryFlags & { watch?: boolean; json?: boolean }) => {
      const connections = await connect(options, 'driftlens-status', options.watch ? 'optional' : 'unused');
      const registry = await registryOf(connections, options);
      const color = process.stdout.isTTY === true && !options.json;
      if (!options.watch) {
        const { model, registryFailure } = await new Promise<{ model: DriftModel; registryFailure: string | undefined }>((resolve, reject) => {
          const fail = (e: unknown) => {
            watcher.stop();
            reject(new CliError(`cannot read the replicas of ${displayText(connections.live.key)}: ${readFailure(connections, e)}`, EXIT.unavailable));
          };
          const watcher = watch(
            connections,
            (m) => {
              watcher.stop();
              resolve({ model: m, registryFailure: watcher.registryFailure });
            },
            { onError: fail, registry },
          );
          watcher.start().catch(fail);
        }).finally(() => void connections.close());
        process.stdout.write(options.json ? terminalSafeJson(modelToJson(model), 2) + '\n' : renderDriftTable(model, { color, nowMs: Date.now() }));
        // Registered instances without a report are "not reporting": unread, they would pass for "all in sync".
        if (registryFailure !== undefined) {
          throw new CliError(`the table leaves out Cordum's registered instances (the reason is above), so it cannot say all replicas are in sync; --registry-services "" reads the reports alone`, EXIT.unavailable);
        }
        process.exitCode = model.replicas.length > 0 && model.counts['in-sync'] === model.replicas.length ? EXIT.ok : EXIT.problems;
        return;
      }
      // While Redis is down the watcher keeps showing the last reports it read, which age into
      // "stale": the banner says why, in our words, and goes away when Redis is back.
      const outage = () => {
        const since = connections.redisDownSince;
        return since === undefined ? undefined : `Redis at ${describeEndpoint(connections.live.redis)} is not reachable since ${new Date(since).toISOString()}; reconnecting. The replicas below are as last read.`;
      };
      let reportedOutage: string | undefined;
      const watcher = watch(
        connections,
        (model) => {
          const down = outage();
          if (options.json) {
            process.stdout.write(terminalSafeJson({ ...(modelToJson(model) as object), ...(down ? { redis_unreachable_since_ms: connections.redisDownSince } : {}) }) + '\n');
            return;
          }
          const banner = down ? `${color ? '\x1b[31m' : ''}${down}${color ? '\x1b[0m' : ''}\n` : '';
          process.stdout.write((color ? '\x1b[H\x1b[2J' : '\n') + banner + renderDriftTable(model, { color, nowMs: Date.now(), maxRows: color ? Math.max(5, (process.stdout.rows ?? 40) - 7) : undefined }));
        },
        {
          registry,
          onLeft: (_member, message) => process.stderr.write(`driftlens: ${displayText(message)}\n`),
          onError: (e) => {
            // One line per outage, not one per failed read; the table's banner shows it meanwhile.
            const why = readFailure(connections, e);
            if (why === reportedOutage) return;
            reportedOutage = why;
            process.stderr.write(`driftlens: cannot read the replicas of ${displayText(connections.live.key)}: ${why}\n`);
          },
        },
      );
      try {
        await watcher.start();
      } catch (e) {
        watcher.stop();
        await connections.close();
        throw new CliError(`cannot read the replicas of ${displayText(connections.live.key)}: ${readFailure(connections, e)}`, EXIT.unavailable);
      }
      await new Promise<void>((resolve) => process.once('SIGINT', resolve));
      watcher.stop();
      await connections.close();
    });

  addLiveOptions(
    program
      .command('replicas')
      .description('Run N reference replica agents against real Redis and NATS, with faults, and show their convergence live.')
      .option('-n, --count <n>', 'how many replicas', (v) => {
        if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 5000) throw new CliError(`--count must be a whole number from 1 to 5000, not "${v}"`);
        return Number(v);
      }, 5)
      .option('--service <name>', 'service name the replicas report', 'scheduler')
      .option('--poll <duration>', "poll interval (default: the policy's)")
      .option('--heartbeat <duration>', 'status heartbeat', '5s')
      .option('--fault <spec>', 'inject a fault, repeatable: <replicas>:drop[=fraction] | delay=<d> | stall | reject | crash=<every> | poll=<d>', (v, all: string[]) => [...all, v], [])
      .option('--for <duration>', 'stop after this long (default: until Ctrl-C)')
      .option('--metrics-port <port>', 'serve Prometheus metrics (the simulated scheduler workload and the agents\' config metrics) on 127.0.0.1:<port>/metrics; 0 = any free port', (v) => {
        if (!/^\d+$/.test(v) || Number(v) > 65535) throw new CliError(`--metrics-port must be a port number from 0 to 65535, not "${v}"`);
        return Number(v);
      })
      .option('--not-reporting <n>', "also register N instances in Cordum's instance registry that run no agent (they show as not reporting)", (v) => {
        if (!/^\d+$/.test(v) || Number(v) > 5000) throw new CliError(`--not-reporting must be a whole number from 0 to 5000, not "${v}"`);
        return Number(v);
      }, 0)
      .option('--no-register', "do not register the replicas in Cordum's instance registry (they show as reporting only)")
      .option('--no-table', 'print one line per change instead of the live table')
      .option('--shards <k>', 'run the replicas in this many child processes, each with its own Redis and NATS connections (default: 1 up to 200 replicas, then one per 250)', (v) => {
        if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 64) throw new CliError(`--shards must be a whole number from 1 to 64, not "${v}"`);
        return Number(v);
      })
      .option('--ramp <duration>', 'start the replicas at random moments over this long, as a real fleet starts (default: 5s above 100 replicas, else all at once)')
      .addOption(new Option('--shard <i/k>', 'internal: run shard i of k (set by --shards)').hideHelp()),
  )
    .addHelpText(
      'after',
      `
Up to 200 replicas run in this one process; more run in shards (child processes, one per 250
replicas by default, or --shards K), each a host of the fleet with its own Redis connection and one
NATS connection per 50 replicas. Each replica has its own subscription, timers, faults, a random
poll phase and (with --ramp) its own start moment. The endpoint options (a Redis Cluster's seeds,
a NATS cluster's servers) reach every shard unchanged; with several NATS servers, NATS connection
k of the fleet dials server k mod n first (shard i's first connection: server i), so the fleet
spreads evenly over a NATS cluster's nodes and fails over to the others. Ctrl-C or SIGTERM stops every shard (their
replicas deregister); a shard whose parent died stops itself. At the end, one line per shard.

Examples:
  driftlens replicas --count 6 --poll 5s --fault 6:drop
  driftlens replicas --count 20 --fault 1-3:drop=0.5 --fault 4:delay=2s --fault 5:reject --fault 6:crash=30s
  driftlens replicas --count 4 --poll 5s --fault 4:drop --fault 4:poll=2m
  driftlens replicas --count 3 --metrics-port 0
  driftlens replicas --count 1000 --shards 4 --poll 30s --ramp 10s --no-table
  driftlens replicas --count 4 --not-reporting 2

Like Cordum's processes, each replica registers in the instance registry (SET
cordum:instance:<service>:<id> PX 15000, renewed every 7.5s, deleted on exit);
--not-reporting adds instances that register but run no agent.

With --metrics-port, each replica also runs a small scheduler workload model with the pools and
timeouts it applied (not the live document: a drifted replica keeps the old behaviour), and
/metrics carries Cordum's scheduler metrics (cordum_scheduler_*) and the agents'
driftlens_config_section_info / driftlens_config_applies_total. See README, "Simulator metrics".
`,
    )
    .action(async (options: ReplicasFlags) => {
      const count = options.count;
      const faults = options.fault.map((f) => parseFault(f, count));
      const pollMs = options.poll ? duration(options.poll, '--poll', MIN_POLL_INTERVAL_MS) : undefined;
      const heartbeatMs = duration(options.heartbeat, '--heartbeat', MIN_HEARTBEAT_MS);
      const stopAfter = options.for ? duration(options.for, '--for', 1) : undefined;
      const rampMs = options.ramp !== undefined ? duration(options.ramp, '--ramp') : count > 100 ? 5000 : 0;
      const shard = options.shard === undefined ? undefined : parseShardSpec(options.shard);
      if (options.shard !== undefined && !shard) throw new CliError(`--shard must be i/k, not "${displayText(options.shard)}"`);
      const shards = shard?.of ?? options.shards ?? defaultShards(count);
      if (shards > count) throw new CliError(`--shards ${shards} is more than the ${count} replicas`);
      if (shards > 1 && options.metricsPort !== undefined) throw new CliError('--metrics-port serves the replicas of one process: use it with --shards 1 (up to 5,000 replicas fit one process, only slower)');
      const run: RangeRun = { options, faults, pollMs, heartbeatMs, rampMs };
      if (shard) return runShard(run, shard.index, shard.of);
      if (shards > 1) return runSharded(run, shards, stopAfter);

      const connections = await connect(options, 'driftlens-replicas', 'required', natsFirstServer({ index: 0, of: 1 }, 0));
      const registry = await registryOf(connections, options);
      const { live } = connections;
      // The workload model runs only when someone can scrape it.
      const fleet = options.metricsPort === undefined ? undefined : new FleetWorkload();
      const replicas = await startReplicaRange(run, connections, registry, 0, count, { index: 0, of: 1 }, fleet).catch(async (e: unknown) => {
        // Worded before closing: once closed, Redis counts as down, and every failure would read "not reachable".
        const failure = startFailure(connections, e);
        await connections.close();
        throw failure;
      });
      const color = process.stdout.isTTY === true && options.table !== false;
      const watcher = watchTable(connections, options, color, heartbeatMs, registry);
      await watcher.start().catch(async (e: unknown) => {
        // The replicas started, but their table cannot be read (an ACL without GET, say): stop them
        // rather than leave them reporting behind an error nobody sees.
        const failure = tableFailure(connections, e);
        await replicas.stop();
        await connections.close();
        throw failure;
      });
      let metricsServer: { port: number; close(): Promise<void> } | undefined;
      if (fleet) {
        try {
          metricsServer = await fleet.metrics.serve(options.metricsPort);
        } catch (e) {
          watcher.stop();
          await replicas.stop();
          await connections.close();
          throw new CliError(`cannot serve metrics on 127.0.0.1:${options.metricsPort}: ${e instanceof Error ? e.message : String(e)}`, EXIT.unavailable);
        }
        fleet.start();
        // On stdout, one line a script can read (the demo and the tests take the port from it).
        process.stdout.write(`metrics: http://127.0.0.1:${metricsServer.port}/metrics\n`);
      }
      process.stderr.write(`${count} simulated replicas of ${options.service}${options.notReporting ? ` and ${options.notReporting} registered without an agent` : ''} following ${live.key} (poll ${formatDuration(pollMs ?? live.policy.pollIntervalMs)}${faults.length ? `; faults: ${options.fault.join(' ')}` : ''}${metricsServer ? `; metrics on http://127.0.0.1:${metricsServer.port}/metrics` : ''}). Ctrl-C stops them.\n`);
      await untilStopped(stopAfter);
      watcher.stop();
      fleet?.stop();
      await metricsServer?.close();
      await replicas.stop();
      await connections.close();
    });
  // Added here rather than in each chain above, to keep those chains as they were.
  for (const command of program.commands) if (command.name() === 'status' || command.name() === 'replicas') addRegistryOptions(command);
}
type ReplicasFlags = LiveFlags & RegistryFlags & { notReporting: number; register?: boolean; count: number; service: string; poll?: string; heartbeat: string; fault: string[]; for?: string; table?: boolean; metricsPort?: number; shards?: number; ramp?: string; shard?: string };

interface RangeRun {
  options: ReplicasFlags;
  faults: ReturnType<typeof parseFault>[];
  pollMs: number | undefined;
  heartbeatMs: number;
  rampMs: number;
}

interface RangeCounters {
  checks: number;
  applies: number;
  reports: number;
  errors: number;
}

/**
 * The NATS server a simulator connection dials first: connection `slot` of shard `index` of `of`
 * is the fleet's connection number index + slot·of, and connection k starts at server k mod n, so
 * with a NATS cluster's servers the fleet spreads evenly over its nodes (nats.js's own shuffle may
 * put every shard on one node, and a test of "every node's replicas hear the notification" would
 * then prove nothing). On a disconnect each connection fails over to the others.
 */
export function natsFirstServer(shard: { index: number; of: number }, slot: number): number {
  return shard.index + slot * shard.of;
}

/**
 * Replicas `from`..`to`-1 (0-based, numbered from 1 in ids and faults) on these connections: one
 * NATS connection per 50 replicas, as replicas on one host would share. Each starts at a random
 * moment within the ramp and polls with its own random phase (SimulatedReplicaAgent).
 */
async function startReplicaRange(run: RangeRun, connections: Connections, registry: RegistrySettings, from: number, to: number, shard: { index: number; of: number }, fleet?: FleetWorkload, counters?: RangeCounters): Promise<{ natsConnections: number; stop(): Promise<void> }> {
  const { options, faults, pollMs, heartbeatMs } = run;
  const { live } = connections;
  const count = options.count;
  const extraNats: NatsConnection[] = [];
  const natsFor = async (i: number) => {
    const slot = Math.floor((i - from) / 50);
    if (slot === 0) return connections.nats;
    while (extraNats.length < slot) extraNats.push(await connectNats(live.nats, { name: `driftlens-replicas-${from + extraNats.length * 50 + 51}`, firstServer: natsFirstServer(shard, extraNats.length + 1) }));
    return extraNats[slot - 1];
  };
  const agents = new Map<number, SimulatedReplicaAgent>();
  // Like Cordum's processes, each replica registers in the instance registry (and the first range
  // adds the --not-reporting instances, registered with no agent behind them).
  const registrations = new Map<number, InstanceRegistration>();
  // Under the name Cordum registers (`scheduler`), which a report's `cordum-scheduler` maps to in
  // the join: registered as `cordum-scheduler`, nobody would find them.
  const registryService = registryServiceOfReport(options.service, registry.services) ?? options.service;
  const register = async (i: number, id: string) => {
    if (options.register === false) return;
    const registration = new InstanceRegistration(connections.redis, {
      pattern: registry.pattern,
      service: registryService,
      id,
      version: `driftlens-sim-${typeof DRIFTLENS_VERSION === 'string' ? DRIFTLENS_VERSION : 'dev'}`,
      commit: 'simulated',
      onError: (e) => process.stderr.write(`driftlens: cannot renew the registration of ${id}: ${displayText(e.message)}\n`),
    });
    try {
      await registration.start();
    } catch (e) {
      // An ACL that does not let this user write Cordum's keys, typically: say which key, and the way out.
      const why = e instanceof Error ? e.message : String(e);
      throw new CliError(`cannot register ${displayText(id)} in Cordum's instance registry (SET ${displayText(instanceKey(registry.pattern, registryService, id))}): ${displayText(why)}; --no-register runs the replicas without registering`, EXIT.unavailable);
    }
    registrations.set(i, registration);
  };
  const timers: NodeJS.Timeout[] = [];
  let stopping = false;
  // A write Redis refuses (an ACL without MULTI or the report keys, OOM) does not pass like an
  // outage: said once per distinct reply, or the replicas would run on with nobody reading them.
  const refusals = new Set<string>();
  let deregisterFailures = 0;
  const onEvent = (event: SimulatedAgentEvent) => {
    if (event.type === 'report' && event.refused !== undefined && !refusals.has(event.refused)) {
      refusals.add(event.refused);
      const acl = /\bNOPERM\b/.test(event.refused) ? ' until the Redis user may write driftlens:replica* keys with MULTI' : '';
      process.stderr.write(`driftlens: Redis refused a replica report: ${displayText(event.refused)}; the replicas run on, but no watcher reads their reports${acl}.\n`);
    }
    // Said once: a refusal is usually every replica's (one ACL), and a line each would bury it.
    if (event.type === 'error' && event.kind === 'deregister' && deregisterFailures++ === 0) {
      process.stderr.write(`driftlens: ${displayText(event.message)}; watchers list the replica as stale until the report expires.\n`);
    }
    if (!counters) return;
    if (event.type === 'check') counters.checks++;
    else if (event.type === 'applied') counters.applies++;
    else if (event.type === 'report') counters.reports++;
    else if (event.type === 'error') counters.errors++;
  };
  const makeAgent = async (i: number) => {
    const agentFaults: AgentFaults = {};
    let ownPollMs: number | undefined;
    for (const f of faults) {
      if (!f.replicas.includes(i + 1)) continue;
      f.apply(agentFaults);
      ownPollMs = f.pollMs ?? ownPollMs;
    }
    const replicaId = `sim-${String(i + 1).padStart(String(count).length, '0')}`;
    fleet?.setRunning(replicaId, true);
    const agent = new SimulatedReplicaAgent({
      configKey: live.key,
      service: options.service,
      replicaId,
      sections: live.policy.sections,
      subject: live.subject,
      pollIntervalMs: ownPollMs ?? pollMs ?? live.policy.pollIntervalMs,
      envOverride: ownPollMs === undefined && pollMs === undefined ? undefined : false,
      heartbeatMs,
      redis: connections.redis,
      nats: await natsFor(i),
      faults: agentFaults,
      apply: (section, value) => fleet?.apply(replicaId, section, value),
      metrics: fleet ? { registry: fleet.metrics.registry } : undefined,
      onEvent,
    });
    // Known before it starts: a start that fails further on stops it with the others.
    agents.set(i, agent);
    await agent.start();
    await register(i, replicaId);
    return agent;
  };
  const stop = async () => {
    stopping = true;
    for (const t of timers) clearInterval(t);
    await Promise.allSettled([...agents.values()].map((a) => a.stop({ deregister: true })));
    if (deregisterFailures > 1) process.stderr.write(`driftlens: ${deregisterFailures - 1} more replicas could not delete their reports on stopping either (the first one's refusal above).\n`);
    await Promise.allSettled([...registrations.values()].map((r) => r.stop({ deregister: true })));
    await Promise.allSettled(extraNats.map((n) => n.close()));
  };
  try {
    // NATS connections first, in order: replicas starting at random moments must not race to open them.
    for (let i = from; i < to; i += 50) await natsFor(i);
    // Every start settles before a failure is acted on: the replicas that did start are stopped
    // (their reports and registrations deleted) instead of reporting on behind the error.
    const starts = await Promise.allSettled(
      Array.from({ length: to - from }, async (_, k) => {
        const i = from + k;
        if (run.rampMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * run.rampMs));
        await makeAgent(i);
      }),
    );
    const failed = starts.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    if (from === 0) for (let k = 0; k < options.notReporting; k++) await register(count + k, `silent-${String(k + 1).padStart(String(options.notReporting).length, '0')}`);
  } catch (e) {
    await stop();
    throw e;
  }
  for (const f of faults) {
    if (f.crashEveryMs === undefined) continue;
    for (const n of f.replicas) {
      if (n - 1 < from || n - 1 >= to) continue;
      timers.push(
        setInterval(async () => {
          if (stopping) return;
          try {
            await agents.get(n - 1)?.stop();
            // A crashed process does not deregister: its key expires, and the restart registers anew.
            await registrations.get(n - 1)?.stop();
            fleet?.setRunning(agents.get(n - 1)!.replicaId, false);
            if (!stopping) await makeAgent(n - 1);
          } catch (e) {
            process.stderr.write(`driftlens: restarting replica ${n} failed: ${e instanceof Error ? e.message : String(e)}\n`);
          }
        }, f.crashEveryMs),
      );
    }
  }
  return { natsConnections: 1 + extraNats.length, stop };
}

/** The live table (a TTY) or one line per change. */
function watchTable(connections: Connections, options: ReplicasFlags, color: boolean, heartbeatMs: number, registry?: RegistrySettings): DriftWatcher {
  let lastSummary = '';
  return watch(
    connections,
    (model) => {
      if (options.table !== false && process.stdout.isTTY) {
        process.stdout.write('\x1b[H\x1b[2J' + renderDriftTable(model, { color, nowMs: Date.now(), maxRows: Math.max(5, (process.stdout.rows ?? 40) - 6) }));
      } else if (`${model.live?.revision} ${model.summary}` !== lastSummary) {
        lastSummary = `${model.live?.revision} ${model.summary}`;
        process.stdout.write(`${new Date().toISOString()}  revision ${model.live?.revision ?? '-'}  ${model.summary}\n`);
      }
    },
    { staleAfterMs: 3 * heartbeatMs, registry },
  );
}

function untilStopped(stopAfter: number | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    if (stopAfter !== undefined) setTimeout(resolve, stopAfter).unref();
  });
}

/** A shard (child process): its replicas until the parent says stop or goes away. */
async function runShard(run: RangeRun, index: number, of: number): Promise<void> {
  const started = Date.now();
  const cpu = process.cpuUsage();
  const { from, to } = shardRange(run.options.count, of, index);
  const stopRequested = untilParentStops();
  let connections: Connections | undefined;
  let replicas: Awaited<ReturnType<typeof startReplicaRange>>;
  const counters: RangeCounters = { checks: 0, applies: 0, reports: 0, errors: 0 };
  try {
    connections = await connect(run.options, `driftlens-replicas-shard-${index + 1}`, 'required', natsFirstServer({ index, of }, 0));
    replicas = await startReplicaRange(run, connections, registrySettings(connections.live, run.options), from, to, { index, of }, undefined, counters);
  } catch (e) {
    // startReplicaRange stopped what it started; the connections close here, so nothing outlives the
    // failure. Worded before closing, for the same reason as in one process.
    const message = connections ? startFailure(connections, e).message : e instanceof Error ? e.message : String(e);
    await connections?.close();
    sendToParent({ type: 'failed', shard: index, message });
    process.exitCode = EXIT.unavailable;
    process.disconnect?.();
    return;
  }
  sendToParent({ type: 'ready', shard: index, pid: process.pid, replicas: to - from, first: from + 1, redisConnections: 1, natsConnections: replicas.natsConnections, startMs: Date.now() - started });
  await stopRequested;
  await replicas.stop();
  await connections.close();
  const used = process.cpuUsage(cpu);
  sendToParent({
    type: 'stopped',
    shard: index,
    summary: { shard: index, pid: process.pid, replicas: to - from, first: from + 1, last: to, redisConnections: 1, natsConnections: replicas.natsConnections, ...counters, cpuMs: (used.user + used.system) / 1000, wallMs: Date.now() - started, rssMb: process.memoryUsage().rss / 2 ** 20 },
  });
  process.disconnect?.();
}

/** The parent of the shards: starts them, shows the live table, stops them, prints their summary. */
async function runSharded(run: RangeRun, shards: number, stopAfter: number | undefined): Promise<void> {
  const { options } = run;
  const connections = await connect(options, 'driftlens-replicas', 'optional');
  const args = process.argv.slice(2).filter((a, i, all) => !(a === '--shards' || all[i - 1] === '--shards' || a.startsWith('--shards=')));
  const running = startShards(process.argv[1], args, shards);
  // Ctrl-C while the shards start stops them too; --for counts from when they all run.
  const interrupted = untilStopped(undefined);
  let ready: Awaited<typeof running.ready>;
  try {
    ready = await Promise.race([running.ready, interrupted.then(() => Promise.reject(new CliError('interrupted while the shards were starting')))]);
  } catch (e) {
    await running.stop();
    await connections.close();
    throw e instanceof CliError ? e : new CliError(e instanceof Error ? e.message : String(e), EXIT.unavailable);
  }
  const { live } = connections;
  process.stderr.write(
    `${options.count} simulated replicas of ${options.service} following ${live.key} in ${shards} shards (${ready.map((r) => `pid ${r.pid}: ${r.replicas}`).join(', ')}; ` +
      `${ready.reduce((n, r) => n + r.redisConnections, 0)} Redis clients and ${ready.reduce((n, r) => n + r.natsConnections, 0)} NATS connections; poll ${formatDuration(run.pollMs ?? live.policy.pollIntervalMs)}, started over ${formatDuration(run.rampMs)}${run.faults.length ? `; faults: ${options.fault.join(' ')}` : ''}). Ctrl-C stops them.\n`,
  );
  const registry = await registryOf(connections, options);
  const watcher = watchTable(connections, options, process.stdout.isTTY === true && options.table !== false, run.heartbeatMs, registry);
  await watcher.start().catch(async (e: unknown) => {
    // As in one process: replicas whose reports nobody can read are stopped, not left running to a 0.
    const failure = tableFailure(connections, e);
    watcher.stop();
    const summaries = await running.stop();
    await connections.close();
    process.stderr.write(`shards:\n${renderShardSummary(summaries)}`);
    throw failure;
  });
  await Promise.race([interrupted, ...(stopAfter === undefined ? [] : [new Promise((resolve) => setTimeout(resolve, stopAfter).unref())])]);
  watcher.stop();
  const summaries = await running.stop();
  await connections.close();
  process.stderr.write(`shards:\n${renderShardSummary(summaries)}`);
  if (summaries.length < shards) process.stderr.write(`driftlens: ${shards - summaries.length} shard(s) did not report a summary (killed after the stop timeout)\n`);
}
