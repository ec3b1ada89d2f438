import * as vscode from 'vscode';
import { analyzeDocument } from '../core/analysis';
import { formatForFileName } from '../core/document';
import { DEFAULT_POLICY, type DriftPolicy } from '../core/policy';
import type { NatsEndpoint, RedisEndpoint } from '../live/connections';
import type { Secrets } from './secrets';

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
  const sentinelName = explicit<string>(config, 'redis.sentinel.name') ?? fromPolicy.redis?.sentinel?.name;
  const sentinels = explicit<string[]>(config, 'redis.sentinel.sentinels') ?? fromPolicy.redis?.sentinel?.sentinels;
  const redis: RedisEndpoint = {
    url: explicit<string>(config, 'redis.url') ?? fromPolicy.redis?.url ?? 'redis://127.0.0.1:6379',
    username: explicit<string>(config, 'redis.username') ?? fromPolicy.redis?.username,
    password: await secrets.get('redis.password'),
    tls: tls('redis') ?? fromPolicy.redis?.tls,
    sentinel: sentinelName && sentinels?.length ? { name: sentinelName, sentinels } : undefined,
    cluster: explicit<string[]>(config, 'redis.cluster') ?? fromPolicy.redis?.cluster,
  };
  const nats: NatsEndpoint = {
    servers: explicit<string[]>(config, 'nats.servers') ?? fromPolicy.nats?.servers ?? ['nats://127.0.0.1:4222'],
    user: explicit<string>(config, 'nats.user') ?? fromPolicy.nats?.user,
    password: await secrets.get('nats.password'),
    token: await secrets.get('nats.token'),
    credsFile: explicit<string>(config, 'nats.credsFile') ?? fromPolicy.nats?.credsFile,
    tls: tls('nats') ?? fromPolicy.nats?.tls,
  };
  return {
    policy,
    policyUri: uri,
    redis,
    nats,
    configKeyOverride: explicit<string>(config, 'configKey'),
    historyLimit: config.get<number>('history.limit') ?? 50,
  };
}
