import * as vscode from 'vscode';
import { analyzeDocument } from '../core/analysis';
import { formatForFileName } from '../core/document';
import { DEFAULT_POLICY, type DriftPolicy } from '../core/policy';
import type { NatsEndpoint, RedisEndpoint } from '../live/connections';
import { resolveEndpoints } from '../live/endpoints';
import { TextLines } from '../core/textLines';
import { natsEndpointIdentity, prometheusEndpointIdentity, redisEndpointIdentity } from '../live/endpointIdentity';
import type { PrometheusEndpoint } from '../live/prometheus';
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
  /** The policy's `verify` Prometheus with its credentials; undefined without `verify` or without trust. */
  prometheus?: PrometheusEndpoint;
}

function explicit<T>(config: vscode.WorkspaceConfiguration, key: string): T | undefined {
  const inspected = config.inspect<T>(key);
  const value = inspected?.workspaceFolderValue ?? inspected?.workspaceValue ?? inspected?.globalValue;
  if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) return undefined;
  return value;
}

/** A drift policy DriftLens must not act on: invalid, unreadable, or one of several with none chosen. */
export class PolicyProblem extends Error {
  constructor(
    readonly kind: 'invalid' | 'unreadable' | 'ambiguous',
    message: string,
    /** The policy at fault (invalid, unreadable). */
    readonly uri?: vscode.Uri,
    /** The policies to choose from (ambiguous). */
    readonly candidates: readonly vscode.Uri[] = [],
  ) {
    super(message);
    this.name = 'PolicyProblem';
  }
}

export const POLICY_GLOB = '**/{drift-policy,*.drift-policy}.{yaml,yml}';

/** Every drift policy file of the workspace, in a stable order. */
export async function findPolicyFiles(): Promise<vscode.Uri[]> {
  const found = await vscode.workspace.findFiles(POLICY_GLOB, '**/node_modules/**');
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

/**
 * The drift policy this window acts on, never a guess: `driftlens.policyFile` when set, else the
 * workspace's only policy file, else Cordum's defaults (no policy file at all). Throws a
 * PolicyProblem for an invalid or unreadable policy (the CLI refuses those too) and for several
 * policy files with none chosen.
 */
export async function findPolicy(): Promise<{ policy: DriftPolicy; uri?: vscode.Uri }> {
  const configured = vscode.workspace.getConfiguration('driftlens').get<string>('policyFile');
  let uri: vscode.Uri | undefined;
  if (configured && vscode.workspace.workspaceFolders?.[0]) {
    uri = vscode.Uri.joinPath(vscode.workspace.workspaceFolders[0].uri, configured);
  } else {
    const found = await findPolicyFiles();
    if (found.length > 1) {
      const names = found.map((u) => vscode.workspace.asRelativePath(u));
      throw new PolicyProblem('ambiguous', `This workspace has ${found.length} drift policies (${names.slice(0, 4).join(', ')}${names.length > 4 ? ', …' : ''}) and driftlens.policyFile does not say which one to use. DriftLens does not watch or publish on a guess: choose one.`, undefined, found);
    }
    uri = found[0];
  }
  if (!uri) return { policy: DEFAULT_POLICY };
  const name = vscode.workspace.asRelativePath(uri);
  let text: string;
  try {
    text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
  } catch (e) {
    throw new PolicyProblem('unreadable', `The drift policy ${name}${configured ? ' (driftlens.policyFile)' : ''} cannot be read: ${e instanceof vscode.FileSystemError && e.code === 'FileNotFound' ? 'there is no such file' : e instanceof Error ? e.message : String(e)}.`, uri);
  }
  const analysis = analyzeDocument(text, formatForFileName(uri.path), 'policy');
  const errors = analysis.problems.filter((p) => p.severity === 'error');
  if (errors.length > 0 || !analysis.policy) {
    const first = errors[0];
    const where = first ? `, first at line ${new TextLines(text).positionAt(first.span.start).line + 1}: ${first.message}` : '';
    throw new PolicyProblem('invalid', `The drift policy ${name} is invalid (${errors.length} error${errors.length === 1 ? '' : 's'}${where}). DriftLens does not watch or publish until it is fixed.`, uri);
  }
  return { policy: analysis.policy, uri };
}

export async function resolveLiveSettings(secrets: Secrets): Promise<LiveSettings> {
  const config = vscode.workspace.getConfiguration('driftlens');
  const trusted = vscode.workspace.isTrusted;
  const { policy, uri } = await findPolicy();
  // A creds file signs the server's nonce with the user's key: a workspace's policy could pair the
  // user's creds file with servers of its choosing and relay the signature. The editor takes a
  // creds file only from the settings (driftlens.nats.credsFile), never from a policy file.
  const policyNats = trusted ? policy.connections.nats : undefined;
  const fromPolicy = trusted ? { ...policy.connections, ...(policyNats ? { nats: { ...policyNats, credsFile: undefined } } : {}) } : {};
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
  // Prometheus is named by the policy (a workspace file): never queried, never sent a token, from an
  // untrusted workspace.
  let prometheus: PrometheusEndpoint | undefined;
  if (trusted && policy.verify) {
    const username = explicit<string>(config, 'prometheus.username');
    identities.prometheus = prometheusEndpointIdentity(policy.verify.prometheus, username);
    prometheus = {
      url: policy.verify.prometheus,
      token: await secrets.get('prometheus.token', identities.prometheus),
      username,
      password: username ? await secrets.get('prometheus.password', identities.prometheus) : undefined,
    };
  }
  const secretNotes: string[] = [];
  if (policyNats?.credsFile) secretNotes.push('the drift policy names a NATS creds file (connections.nats.creds_file); DriftLens does not use credentials a workspace file points at. Set driftlens.nats.credsFile in your user settings to use one.');
  const note = async (name: SecretName, what: string, command: string, identity: string, has: boolean) => {
    const elsewhere = has ? [] : await secrets.storedElsewhere(name, identity);
    if (elsewhere.length > 0) {
      secretNotes.push(`a ${what} is stored for ${elsewhere.join('; ')}, not for ${identity}: connecting without one. Run "${command}" to store one for this endpoint.`);
    }
  };
  await note('redis.password', 'Redis password', 'DriftLens: Set Redis Password', identities.redis, redis.password !== undefined);
  await note('nats.password', 'NATS password', 'DriftLens: Set NATS Password', identities.nats, nats.password !== undefined);
  await note('nats.token', 'NATS token', 'DriftLens: Set NATS Token', identities.nats, nats.token !== undefined);
  if (prometheus && identities.prometheus) await note('prometheus.token', 'Prometheus token', 'DriftLens: Set Prometheus Token', identities.prometheus, prometheus.token !== undefined);
  return {
    policy,
    policyUri: uri,
    redis,
    nats,
    identities,
    secretNotes,
    configKeyOverride: explicit<string>(config, 'configKey'),
    historyLimit: config.get<number>('history.limit') ?? 50,
    prometheus,
  };
}
