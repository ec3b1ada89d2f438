import { existsSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { Option, type Command } from 'commander';
import { DEFAULT_POLICY, type DriftPolicy } from '../core/policy';
import type { NatsEndpoint, RedisEndpoint } from '../live/connections';
import { resolveEndpoints } from '../live/endpoints';
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
    .addOption(new Option('--no-history', 'do not keep published revisions in driftlens:history:{<key>} (for shared Cordum installations)'));
}

export interface LiveSettings {
  policy: DriftPolicy;
  key: string;
  subject: string;
  redis: RedisEndpoint;
  nats: NatsEndpoint;
  historyLimit: number;
  /** Who publishes: recorded in the document's meta and as the notification's sender. */
  publisher: string;
  senderId: string;
}

async function readPolicy(file: string | undefined): Promise<DriftPolicy> {
  const path = file ?? (existsSync('drift-policy.yaml') ? 'drift-policy.yaml' : undefined);
  if (!path) return DEFAULT_POLICY;
  const { text, analysis } = await loadDocument(path, 'policy');
  const errors = analysis.problems.filter((p) => p.severity === 'error');
  if (errors.length > 0 || !analysis.policy) {
    throw new CliError(`the drift policy ${path} is invalid:\n${formatProblems(path, text, errors).map((line) => '  ' + line).join('\n')}`);
  }
  return analysis.policy;
}

const list = (v: string | undefined) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : undefined);

export async function resolveLive(flags: LiveFlags): Promise<LiveSettings> {
  const policy = await readPolicy(flags.policy);
  const sentinels = list(flags.redisSentinel);
  const { redis, nats } = resolveEndpoints(
    {
      redis: {
        url: flags.redisUrl,
        username: flags.redisUser,
        tls: flags.redisCa || flags.redisCert || flags.redisKey || flags.redisInsecure ? { caFile: flags.redisCa, certFile: flags.redisCert, keyFile: flags.redisKey, insecureSkipVerify: flags.redisInsecure } : undefined,
        sentinel: sentinels && flags.redisSentinelName ? { name: flags.redisSentinelName, sentinels } : undefined,
        cluster: list(flags.redisCluster),
      },
      nats: { servers: list(flags.natsUrl), user: flags.natsUser, credsFile: flags.natsCreds, tls: flags.natsCa ? { caFile: flags.natsCa } : undefined },
    },
    policy.connections,
    'merge',
  );
  redis.password = process.env.DRIFTLENS_REDIS_PASSWORD || undefined;
  nats.password = process.env.DRIFTLENS_NATS_PASSWORD || undefined;
  nats.token = process.env.DRIFTLENS_NATS_TOKEN || undefined;
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers): keep "unknown"
  }
  return {
    policy,
    key: flags.key ?? policy.configKey,
    subject: flags.subject ?? policy.subject,
    redis,
    nats,
    historyLimit: flags.history === false ? 0 : 50,
    publisher: `${user}@${hostname()}`,
    senderId: `driftlens-cli@${hostname()}`,
  };
}
