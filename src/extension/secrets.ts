import * as vscode from 'vscode';

/**
 * Passwords and tokens live only in VS Code's SecretStorage (the OS keychain where there is one),
 * asked for with a password input box, never in settings, never in logs. Keys are per kind,
 * not per endpoint: one Redis and one NATS deployment per window is the common case.
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

  get(name: SecretName): Thenable<string | undefined> {
    return this.storage.get(`driftlens.${name}`);
  }

  async ask(name: SecretName): Promise<void> {
    const value = await vscode.window.showInputBox({
      title: `DriftLens: ${LABELS[name]}`,
      prompt: 'Kept in VS Code secret storage, never in settings or logs. Leave empty to remove it.',
      password: true,
      ignoreFocusOut: true,
    });
    if (value === undefined) return;
    if (value === '') await this.storage.delete(`driftlens.${name}`);
    else await this.storage.store(`driftlens.${name}`, value);
    this.changed.fire(name);
    vscode.window.setStatusBarMessage(`$(lock) DriftLens: ${value === '' ? 'removed' : 'stored'} the ${LABELS[name].split(' (')[0]}`, 3000);
  }

  async clear(): Promise<void> {
    for (const name of Object.keys(LABELS) as SecretName[]) {
      await this.storage.delete(`driftlens.${name}`);
      this.changed.fire(name);
    }
  }

  register(): vscode.Disposable {
    return vscode.Disposable.from(
      this.changed,
      vscode.commands.registerCommand('driftlens.setRedisPassword', () => this.ask('redis.password')),
      vscode.commands.registerCommand('driftlens.setNatsPassword', () => this.ask('nats.password')),
      vscode.commands.registerCommand('driftlens.setNatsToken', () => this.ask('nats.token')),
      vscode.commands.registerCommand('driftlens.clearSecrets', async () => {
        await this.clear();
        void vscode.window.showInformationMessage('DriftLens: forgot the stored Redis and NATS passwords and tokens.');
      }),
    );
  }
}
