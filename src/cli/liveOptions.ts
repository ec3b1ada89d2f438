import { existsSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { DEFAULT_POLICY, type DriftPolicy } from '../core/policy';
import { redactSecrets, type NatsEndpoint, type RedisEndpoint } from '../live/connections';
import { endpointFieldsFromPolicy, resolveEndpoints, type EndpointOverrides } from '../live/endpoints';
import { checkNatsEndpoint } from '../live/natsConnection';
import { checkRedisEndpoint } from '../live/redisConnection';
import { CliError, formatProblems, loadDocument } from './documentInput';

/**
 * Connection options shared by publish, diff, pull, rollback and history. Flags win over
 * environment variables, which win over the drift policy's `connections`, then the defaults.
 * Passwords and tokens are read from the environment only: a flag would show in `ps`.
 */
export interface LiveFlags {
  policy?: string;
  key?: string;
  subject?: string;
  redisUrl?: string;
  redisUser?: string;
  redisCa?: string;
  redisCert?: string;
  redisKey?: string;
  redisInsecure?: boolean;
  redisSentinel?: string;
  redisSentinelName?: string;
  redisCluster?: string;
  natsUrl?: string;
  natsUser?: string;
  natsCreds?: string;
  natsCa?: string;
  history?: boolean;
  trustPolicyEndpoints?: boolean;
}

export function addLiveOptions(command: Command): Command {
  return command
    .addOption(new Option('--policy <file>', 'drift policy to read the key, subject and endpoints from (default: ./drift-policy.yaml if present)').env('DRIFTLENS_POLICY'))
    .addOption(new Option('--key <key>', 'Redis key of the document (default: the policy\'s config_key, else cfg:system:default)').env('DRIFTLENS_CONFIG_KEY'))
    .addOption(new Option('--subject <subject>', 'NATS subject of the change notification (default: the policy\'s, else sys.config.changed)').env('DRIFTLENS_SUBJECT'))
    .addOption(new Option('--redis-url <url>', 'redis://host:port/db or rediss:// for TLS (password: DRIFTLENS_REDIS_PASSWORD)').env('DRIFTLENS_REDIS_URL'))
    .addOption(new Option('--redis-user <name>', 'Redis ACL user').env('DRIFTLENS_REDIS_USERNAME'))
    .addOption(new Option('--redis-ca <file>', 'CA certificate (PEM) for rediss://').env('DRIFTLENS_REDIS_CA'))
    .addOption(new Option('--redis-cert <file>', 'client certificate (PEM), mutual TLS').env('DRIFTLENS_REDIS_CERT'))
    .addOption(new Option('--redis-key <file>', 'client key (PEM), mutual TLS').env('DRIFTLENS_REDIS_KEY'))
    .addOption(new Option('--redis-insecure', 'do not verify the Redis TLS certificate (tests only)'))
    .addOption(new Option('--redis-sentinel <hosts>', 'Sentinel host:port list, comma-separated').env('DRIFTLENS_REDIS_SENTINELS'))
    .addOption(new Option('--redis-sentinel-name <name>', 'Sentinel master group name').env('DRIFTLENS_REDIS_SENTINEL_NAME'))
    .addOption(new Option('--redis-cluster <hosts>', 'Cluster seed host:port list, comma-separated').env('DRIFTLENS_REDIS_CLUSTER'))
    .addOption(new Option('--nats-url <urls>', 'NATS servers, comma-separated (password: DRIFTLENS_NATS_PASSWORD, token: DRIFTLENS_NATS_TOKEN)').env('DRIFTLENS_NATS_URL'))
    .addOption(new Option('--nats-user <name>', 'NATS user').env('DRIFTLENS_NATS_USER'))
    .addOption(new Option('--nats-creds <file>', 'NATS .creds file').env('DRIFTLENS_NATS_CREDS'))
    .addOption(new Option('--nats-ca <file>', 'CA certificate (PEM) for NATS TLS').env('DRIFTLENS_NATS_CA'))
    .addOption(new Option('--trust-policy-endpoints', "send DRIFTLENS_*_PASSWORD / _TOKEN and --nats-creds to the servers the drift policy's connections name (refused without this flag)"))
    .addOption(new Option('--no-history', 'do not keep published revisions in driftlens:history:{<key>} (for shared Cordum installations)'));
}

export interface LiveSettings {
  policy: DriftPolicy;
  /** The drift policy file read, when there was one (messages name it). */
  policyPath?: string;
  key: string;
  subject: string;
  redis: RedisEndpoint;
  nats: NatsEndpoint;
  historyLimit: number;
}

/** The passwords and token a live session holds, to keep out of every message. */
export function liveSecrets(live: LiveSettings): (string | undefined)[] {
  return [live.redis.password, live.nats.password, live.nats.token];
}

async function readPolicy(file: string | undefined): Promise<{ policy: DriftPolicy; path?: string }> {
  const path = file ?? (existsSync('drift-policy.yaml') ? 'drift-policy.yaml' : undefined);
  if (!path) return { policy: DEFAULT_POLICY };
  const { text, analysis } = await loadDocument(path, 'policy');
  const errors = analysis.problems.filter((p) => p.severity === 'error');
  if (errors.length > 0 || !analysis.policy) {
    throw new CliError(`the drift policy ${path} is invalid:\n${formatProblems(path, text, errors).map((line) => '  ' + line).join('\n')}`);
  }
  return { policy: analysis.policy, path };
}

/** Settings errors found before connecting are usage errors (exit 2), not unreachable servers. */
function checkSyntax(redis: RedisEndpoint, nats: NatsEndpoint): void {
  try {
    checkRedisEndpoint(redis);
    checkNatsEndpoint(nats);
  } catch (e) {
    throw new CliError(redactSecrets((e as Error).message, [redis.password, nats.password, nats.token]));
  }
}

/**
 * A drift policy lives in the working tree, where a pull request can edit it: its `connections`
 * must not decide where a password from the environment goes, unless the user says they trust it.
 * Refused rather than connected without the secret, so CI fails loudly instead of mysteriously.
 */
function refuseSecretsForPolicyEndpoints(fromPolicy: { redis: string[]; nats: string[] }, policyPath: string, redis: RedisEndpoint, nats: NatsEndpoint): void {
  const refusals: string[] = [];
  if (redis.password && fromPolicy.redis.length > 0) {
    refusals.push(`DRIFTLENS_REDIS_PASSWORD would go to the Redis server named by ${policyPath} (connections.redis: ${fromPolicy.redis.join(', ')})`);
  }
  const natsSecret = [nats.password && 'DRIFTLENS_NATS_PASSWORD', nats.token && 'DRIFTLENS_NATS_TOKEN', nats.credsFile && 'the NATS creds file'].filter(Boolean).join(' and ');
  if (natsSecret && fromPolicy.nats.length > 0) {
    refusals.push(`${natsSecret} would go to the NATS servers named by ${policyPath} (connections.nats: ${fromPolicy.nats.join(', ')})`);
  }
  if (refusals.length === 0) return;
  throw policyEndpointRefusal(refusals, '--redis-url/--nats-url');
}

/** The one wording of the trust rule, for every server a policy file can name (Redis, NATS, Prometheus). */
export function policyEndpointRefusal(refusals: readonly string[], flags: string): CliError {
  return new CliError(
    `${refusals.join('; ')}. A policy file can be changed by anyone who can change the repository, so DriftLens sends secrets from the environment only to servers given by flags or DRIFTLENS_* variables. ` +
      `Name the servers with ${flags} (or their variables), or pass --trust-policy-endpoints if you trust this policy file.`,
  );
}

const list = (v: string | undefined) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined);

export async function resolveLive(flags: LiveFlags): Promise<LiveSettings> {
  const { policy, path: policyPath } = await readPolicy(flags.policy);
  const sentinels = list(flags.redisSentinel);
  const overrides: EndpointOverrides = {
    redis: {
      url: flags.redisUrl,
      username: flags.redisUser,
      tls: flags.redisCa || flags.redisCert || flags.redisKey || flags.redisInsecure ? { caFile: flags.redisCa, certFile: flags.redisCert, keyFile: flags.redisKey, insecureSkipVerify: flags.redisInsecure } : undefined,
      sentinel: sentinels && flags.redisSentinelName ? { name: flags.redisSentinelName, sentinels } : undefined,
      cluster: list(flags.redisCluster),
    },
    nats: { servers: list(flags.natsUrl), user: flags.natsUser, credsFile: flags.natsCreds, tls: flags.natsCa ? { caFile: flags.natsCa } : undefined },
  };
  const { redis, nats } = resolveEndpoints(overrides, policy.connections, 'merge');
  redis.password = process.env.DRIFTLENS_REDIS_PASSWORD || undefined;
  nats.password = process.env.DRIFTLENS_NATS_PASSWORD || undefined;
  nats.token = process.env.DRIFTLENS_NATS_TOKEN || undefined;
  checkSyntax(redis, nats);
  if (!flags.trustPolicyEndpoints && policyPath) refuseSecretsForPolicyEndpoints(endpointFieldsFromPolicy(overrides, policy.connections), policyPath, redis, nats);
  return {
    policy,
    policyPath,
    key: flags.key ?? policy.configKey,
    subject: flags.subject ?? policy.subject,
    redis,
    nats,
    historyLimit: flags.history === false ? 0 : 50,
  };
}
