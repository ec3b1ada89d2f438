import * as vscode from 'vscode';

/**
 * Passwords and tokens live only in VS Code's SecretStorage (the OS keychain where there is one),
 * asked for with a password input box, never in settings, never in logs. Each is stored for one
 * endpoint identity (scheme, every server address, user: see endpointIdentity.ts), so a workspace
 * that points DriftLens at another server, adds a sentinel or drops TLS is not sent the password.
 */
export type SecretName = 'redis.password' | 'nats.password' | 'nats.token' | 'prometheus.token' | 'prometheus.password';

export interface EndpointIdentities {
  redis: string;
  nats: string;
  /** The Prometheus of the policy's `verify` block (undefined: no verify, or an untrusted workspace). */
  prometheus?: string;
}

const LABELS: Record<SecretName, string> = {
  'redis.password': 'Redis password (for the ACL user, or the default user)',
  'nats.password': 'NATS password',
  'nats.token': 'NATS token',
  'prometheus.token': 'Prometheus bearer token',
  'prometheus.password': 'Prometheus password (basic auth, user from driftlens.prometheus.username)',
};

/** SecretStorage cannot list its keys: this entry lists which endpoints have a secret (no values). */
const INDEX_KEY = 'driftlens.storedSecrets';

interface IndexEntry {
  name: SecretName;
  identity: string;
}

export class Secrets {
  private readonly changed = new vscode.EventEmitter<SecretName>();
  /** Fires when a secret is set or cleared (connections are rebuilt). */
  readonly onDidChange = this.changed.event;

  constructor(private readonly storage: vscode.SecretStorage) {}

  get(name: SecretName, identity: string): Thenable<string | undefined> {
    return this.storage.get(secretKey(name, identity));
  }

  /** The endpoints that have this secret stored, other than `identity` (to explain a missing one). */
  async storedElsewhere(name: SecretName, identity: string): Promise<string[]> {
    return (await this.index()).filter((e) => e.name === name && e.identity !== identity).map((e) => e.identity);
  }

  async ask(name: SecretName, identity: string): Promise<void> {
    const value = await vscode.window.showInputBox({
      title: `DriftLens: ${LABELS[name]} for ${identity}`,
      prompt: 'Kept in VS Code secret storage for exactly this endpoint (scheme, servers, user), never in settings or logs. Leave empty to remove it.',
      password: true,
      ignoreFocusOut: true,
    });
    if (value === undefined) return;
    await this.set(name, identity, value);
    vscode.window.setStatusBarMessage(`$(lock) DriftLens: ${value === '' ? 'removed' : 'stored'} the ${LABELS[name].split(' (')[0]}`, 3000);
  }

  /** Stores (or, with '', removes) the secret for one endpoint identity. */
  async set(name: SecretName, identity: string, value: string): Promise<void> {
    const index = (await this.index()).filter((e) => !(e.name === name && e.identity === identity));
    if (value === '') await this.storage.delete(secretKey(name, identity));
    else {
      await this.storage.store(secretKey(name, identity), value);
      index.push({ name, identity });
    }
    await this.storage.store(INDEX_KEY, JSON.stringify(index));
    this.changed.fire(name);
  }

  /** Forgets every stored secret, for every endpoint, plus those of the current endpoints. */
  async clear(current: EndpointIdentities): Promise<void> {
    const entries: IndexEntry[] = [
      ...(await this.index()),
      { name: 'redis.password', identity: current.redis },
      { name: 'nats.password', identity: current.nats },
      { name: 'nats.token', identity: current.nats },
      ...(current.prometheus ? (['prometheus.token', 'prometheus.password'] as const).map((name) => ({ name, identity: current.prometheus as string })) : []),
    ];
    for (const entry of entries) {
      await this.storage.delete(secretKey(entry.name, entry.identity));
      // Versions before the endpoint binding stored secrets under host:port alone: forget those too.
      for (const hostPort of entry.identity.match(/[^\s/,@()#]+:\d{1,5}/g) ?? []) await this.storage.delete(`driftlens.${entry.name}@${hostPort}`);
    }
    await this.storage.delete(INDEX_KEY);
    this.changed.fire('redis.password'); // one reconnect, not one per secret
  }

  /** `endpoints` says which endpoints the window uses now (from the effective settings). */
  register(endpoints: () => Promise<EndpointIdentities>): vscode.Disposable {
    return vscode.Disposable.from(
      this.changed,
      vscode.commands.registerCommand('driftlens.setRedisPassword', async () => this.ask('redis.password', (await endpoints()).redis)),
      vscode.commands.registerCommand('driftlens.setNatsPassword', async () => this.ask('nats.password', (await endpoints()).nats)),
      vscode.commands.registerCommand('driftlens.setNatsToken', async () => this.ask('nats.token', (await endpoints()).nats)),
      vscode.commands.registerCommand('driftlens.setPrometheusToken', async () => this.askPrometheus('prometheus.token', await endpoints())),
      vscode.commands.registerCommand('driftlens.setPrometheusPassword', async () => this.askPrometheus('prometheus.password', await endpoints())),
      vscode.commands.registerCommand('driftlens.clearSecrets', async () => {
        await this.clear(await endpoints());
        void vscode.window.showInformationMessage('DriftLens: forgot every stored password and token.');
      }),
    );
  }

  /** Prometheus is named by the policy's `verify` block: without one (or without trust) there is nothing to bind a secret to. */
  private async askPrometheus(name: 'prometheus.token' | 'prometheus.password', current: EndpointIdentities): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage('DriftLens queries Prometheus only from a trusted workspace: trust it first, then store the secret.');
      return;
    }
    if (!current.prometheus) {
      void vscode.window.showWarningMessage('DriftLens: the drift policy has no `verify` block naming a Prometheus, so there is no endpoint to store a secret for.');
      return;
    }
    await this.ask(name, current.prometheus);
  }

  private async index(): Promise<IndexEntry[]> {
    try {
      const parsed: unknown = JSON.parse((await this.storage.get(INDEX_KEY)) ?? '[]');
      return Array.isArray(parsed) ? parsed.filter((e): e is IndexEntry => typeof e?.name === 'string' && typeof e?.identity === 'string') : [];
    } catch {
      return [];
    }
  }
}

function secretKey(name: SecretName, identity: string): string {
  return `driftlens.${name}@${identity}`;
}
