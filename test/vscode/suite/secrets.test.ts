import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { resolveLiveSettings } from '../../../src/extension/liveSettings';
import { Secrets } from '../../../src/extension/secrets';

/**
 * Issue 9 item 2 inside VS Code: a stored password is used only for the exact endpoint (scheme,
 * every server, user) it was stored for; the real settings and policy lookup decide the endpoint.
 * SecretStorage is kept in memory here so the test leaves nothing in the host's keychain.
 */
class MemorySecretStorage implements vscode.SecretStorage {
  private readonly values = new Map<string, string>();
  private readonly emitter = new vscode.EventEmitter<vscode.SecretStorageChangeEvent>();
  readonly onDidChange = this.emitter.event;
  get(key: string): Thenable<string | undefined> {
    return Promise.resolve(this.values.get(key));
  }
  keys(): Thenable<string[]> {
    return Promise.resolve([...this.values.keys()]);
  }
  store(key: string, value: string): Thenable<void> {
    this.values.set(key, value);
    this.emitter.fire({ key });
    return Promise.resolve();
  }
  delete(key: string): Thenable<void> {
    this.values.delete(key);
    this.emitter.fire({ key });
    return Promise.resolve();
  }
}

suite('Stored passwords stay with their endpoint', () => {
  const config = () => vscode.workspace.getConfiguration('driftlens');
  const settings = ['redis.url', 'redis.sentinel.name', 'redis.sentinel.sentinels', 'nats.servers', 'policyFile'];

  // The test workspace holds several drift policies, and DriftLens never guesses which one applies.
  setup(() => config().update('policyFile', 'drift-policy.yaml', vscode.ConfigurationTarget.Global));

  teardown(async () => {
    for (const key of settings) await config().update(key, undefined, vscode.ConfigurationTarget.Global);
  });

  test('a Redis password stored for rediss:// is not sent when the URL becomes redis:// or a sentinel list appears', async () => {
    const secrets = new Secrets(new MemorySecretStorage());
    await config().update('redis.url', 'rediss://redis.example:6380/0', vscode.ConfigurationTarget.Global);
    const stored = await resolveLiveSettings(secrets);
    // What "DriftLens: Set Redis Password" stores for the window's current endpoint.
    await secrets.set('redis.password', stored.identities.redis, 'tls-only-secret');
    assert.equal((await resolveLiveSettings(secrets)).redis.password, 'tls-only-secret');

    // Same host and port, TLS dropped: the password would travel in clear text.
    await config().update('redis.url', 'redis://redis.example:6380/0', vscode.ConfigurationTarget.Global);
    const clear = await resolveLiveSettings(secrets);
    assert.equal(clear.redis.password, undefined);
    assert.deepEqual(clear.secretNotes, [
      'a Redis password is stored for rediss://redis.example:6380, not for redis://redis.example:6380: connecting without one. Run "DriftLens: Set Redis Password" to store one for this endpoint.',
    ]);

    // Same URL, but sentinels now decide where the password goes.
    await config().update('redis.url', 'rediss://redis.example:6380/0', vscode.ConfigurationTarget.Global);
    await config().update('redis.sentinel.name', 'mymaster', vscode.ConfigurationTarget.Global);
    await config().update('redis.sentinel.sentinels', ['elsewhere.example:26379'], vscode.ConfigurationTarget.Global);
    assert.equal((await resolveLiveSettings(secrets)).redis.password, undefined);
  });

  test('a NATS token stored for some servers is not sent when a server is added', async () => {
    const secrets = new Secrets(new MemorySecretStorage());
    await config().update('nats.servers', ['tls://nats.example:4222'], vscode.ConfigurationTarget.Global);
    await secrets.set('nats.token', (await resolveLiveSettings(secrets)).identities.nats, 'nats-token');
    assert.equal((await resolveLiveSettings(secrets)).nats.token, 'nats-token');
    await config().update('nats.servers', ['tls://nats.example:4222', 'nats://elsewhere.example:4222'], vscode.ConfigurationTarget.Global);
    assert.equal((await resolveLiveSettings(secrets)).nats.token, undefined);
  });
});
