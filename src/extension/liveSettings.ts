import * as vscode from 'vscode';
import { analyzeDocument } from '../core/analysis';
import { formatForFileName } from '../core/document';
import { DEFAULT_POLICY, type DriftPolicy } from '../core/policy';
import type { NatsEndpoint, RedisEndpoint } from '../live/connections';
import { resolveEndpoints } from '../live/endpoints';
import { natsEndpointIdentity, redisEndpointIdentity } from '../live/endpointIdentity';
import type { EndpointIdentities, SecretName, Secrets } from './secrets';

/**
 * The effective live settings of this window: explicit settings win, then the drift policy's
 * `connections`, then Cordum's defaults. In an untrusted workspace, VS Code already ignores
 * workspace values of these settings (restrictedConfigurations) and the policy's endpoints are
 * not used: a repository must not be able to point DriftLens at a server of its choosing.
 */
export interface LiveSettings {
  policy: DriftPolicy;
  policyUri?: vscode.Uri;
  redis: RedisEndpoint;
  nats: NatsEndpoint;
  /** What the secrets above were looked up for (shown when asking for one). */
  identities: EndpointIdentities;
  /** Why a secret was not used although one is stored (for another endpoint), for the log. */
  secretNotes: string[];
  configKeyOverride?: string;
  historyLimit: number;
}

function explicit<T>(config: vscode.WorkspaceConfiguration, key: string): T | undefined {
  const inspected = config.inspect<T>(key);
  const value = inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue;
  if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) return undefined;
  return value;
}

export async function findPolicy(): Promise<{ policy: DriftPolicy; uri?: vscode.Uri }> {
  const configured = vscode.workspace.getConfiguration('driftlens').get<string>('policyFile');
  let uri: vscode.Uri | undefined;
  if (configured && vscode.workspace.workspaceFolders?.[0]) uri = vscode.Uri.joinPath(vscode.workspace.workspaceFolders[0].uri, configured);
  else [uri] = await vscode.workspace.findFiles('**/{drift-policy,*.drift-policy}.{yaml,yml}', '**/node_modules/**', 1);
  if (!uri) return { policy: DEFAULT_POLICY };
  try {
    const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
    const analysis = analyzeDocument(text, formatForFileName(uri.path), 'policy');
    return { policy: analysis.policy ?? DEFAULT_POLICY, uri };
  } catch {
    return { policy: DEFAULT_POLICY };
  }
}

export async function resolveLiveSettings(secrets: Secrets): Promise<LiveSettings> {
  const config = vscode.workspace.getConfiguration('driftlens');
  const trusted = vscode.workspace.isTrusted;
  const { policy, uri } = await findPolicy();
  const fromPolicy = trusted ? policy.connections : {};
  const tls = (prefix: string) => {
    const caFile = explicit<string>(config, `${prefix}.tls.caFile`);
    const certFile = explicit<string>(config, `${prefix}.tls.certFile`);
    const keyFile = explicit<string>(config, `${prefix}.tls.keyFile`);
    const insecureSkipVerify = explicit<boolean>(config, `${prefix}.tls.insecureSkipVerify`);
    return caFile || certFile || keyFile || insecureSkipVerify ? { caFile, certFile, keyFile, insecureSkipVerify } : undefined;
  };
  const sentinelName = explicit<string>(config, 'redis.sentinel.name');
  const sentinels = explicit<string[]>(config, 'redis.sentinel.sentinels');
  const natsCa = explicit<string>(config, 'nats.tls.caFile');
  const { redis, nats } = resolveEndpoints(
    {
      redis: {
        url: explicit<string>(config, 'redis.url'),
        username: explicit<string>(config, 'redis.username'),
        tls: tls('redis'),
        sentinel: sentinelName && sentinels?.length ? { name: sentinelName, sentinels } : undefined,
        cluster: explicit<string[]>(config, 'redis.cluster'),
      },
      nats: { servers: explicit<string[]>(config, 'nats.servers'), user: explicit<string>(config, 'nats.user'), credsFile: explicit<string>(config, 'nats.credsFile'), tls: natsCa ? { caFile: natsCa } : undefined },
    },
    fromPolicy,
    'whole',
  );
  // Secrets are stored per endpoint identity (scheme, every server, user): a workspace that points
  // any of them elsewhere, or drops TLS, does not get them.
  const identities: EndpointIdentities = { redis: redisEndpointIdentity(redis), nats: natsEndpointIdentity(nats) };
  redis.password = await secrets.get('redis.password', identities.redis);
  nats.password = await secrets.get('nats.password', identities.nats);
  nats.token = await secrets.get('nats.token', identities.nats);
  const secretNotes: string[] = [];
  const note = async (name: SecretName, what: string, command: string, identity: string, has: boolean) => {
    const elsewhere = has ? [] : await secrets.storedElsewhere(name, identity);
    if (elsewhere.length > 0) {
      secretNotes.push(`a ${what} is stored for ${elsewhere.join('; ')}, not for ${identity}: connecting without one. Run "${command}" to store one for this endpoint.`);
    }
  };
  await note('redis.password', 'Redis password', 'DriftLens: Set Redis Password', identities.redis, redis.password !== undefined);
  await note('nats.password', 'NATS password', 'DriftLens: Set NATS Password', identities.nats, nats.password !== undefined);
  await note('nats.token', 'NATS token', 'DriftLens: Set NATS Token', identities.nats, nats.token !== undefined);
  return {
    policy,
    policyUri: uri,
    redis,
    nats,
    identities,
    secretNotes,
    configKeyOverride: explicit<string>(config, 'configKey'),
    historyLimit: config.get<number>('history.limit') ?? 50,
  };
}
