import * as vscode from 'vscode';

/**
 * Passwords and tokens live only in VS Code's SecretStorage (the OS keychain where there is one),
 * asked for with a password input box, never in settings, never in logs. Each is stored for one
 * server (host:port), so a workspace that points DriftLens elsewhere is not sent the password.
 */
export type SecretName = 'redis.password' | 'nats.password' | 'nats.token';

const LABELS: Record<SecretName, string> = {
  'redis.password': 'Redis password (for the ACL user, or the default user)',
  'nats.password': 'NATS password',
  'nats.token': 'NATS token',
};

export class Secrets {
  private readonly changed = new vscode.EventEmitter<SecretName>();
  /** Fires when a secret is set or cleared (connections are rebuilt). */
  readonly onDidChange = this.changed.event;

  constructor(private readonly storage: vscode.SecretStorage) {}

  private readonly known = new Set<string>();

  get(name: SecretName, endpoint: string): Thenable<string | undefined> {
    return this.storage.get(`driftlens.${name}@${endpoint}`);
  }

  async ask(name: SecretName, endpoint: string): Promise<void> {
    const value = await vscode.window.showInputBox({
      title: `DriftLens: ${LABELS[name]} for ${endpoint}`,
      prompt: 'Kept in VS Code secret storage, never in settings or logs. Leave empty to remove it.',
      password: true,
      ignoreFocusOut: true,
    });
    if (value === undefined) return;
    const key = `driftlens.${name}@${endpoint}`;
    if (value === '') await this.storage.delete(key);
    else await this.storage.store(key, value);
    this.known.add(key);
    this.changed.fire(name);
    vscode.window.setStatusBarMessage(`$(lock) DriftLens: ${value === '' ? 'removed' : 'stored'} the ${LABELS[name].split(' (')[0]}`, 3000);
  }

  /** Forgets the secrets of the given servers (SecretStorage cannot list its keys). */
  async clear(endpoints: { redis: string; nats: string }): Promise<void> {
    const keys = new Set([...this.known, `driftlens.redis.password@${endpoints.redis}`, `driftlens.nats.password@${endpoints.nats}`, `driftlens.nats.token@${endpoints.nats}`]);
    for (const key of keys) await this.storage.delete(key);
    this.known.clear();
    this.changed.fire('redis.password'); // one reconnect, not one per secret
  }

  /** `endpoints` says which servers the window uses now (from the effective settings). */
  register(endpoints: () => Promise<{ redis: string; nats: string }>): vscode.Disposable {
    return vscode.Disposable.from(
      this.changed,
      vscode.commands.registerCommand('driftlens.setRedisPassword', async () => this.ask('redis.password', (await endpoints()).redis)),
      vscode.commands.registerCommand('driftlens.setNatsPassword', async () => this.ask('nats.password', (await endpoints()).nats)),
      vscode.commands.registerCommand('driftlens.setNatsToken', async () => this.ask('nats.token', (await endpoints()).nats)),
      vscode.commands.registerCommand('driftlens.clearSecrets', async () => {
        const current = await endpoints();
        await this.clear(current);
        void vscode.window.showInformationMessage(`DriftLens: forgot the stored passwords and tokens for ${current.redis} and ${current.nats}.`);
      }),
    );
  }
}
