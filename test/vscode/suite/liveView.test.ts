import * as assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import type { NatsConnection } from 'nats';
import * as vscode from 'vscode';
import { ConfigStore } from '../../../src/live/configStore';
import { connectNats } from '../../../src/live/natsConnection';
import { publishConfigChanged } from '../../../src/live/notifier';
import { connectRedis } from '../../../src/live/redisConnection';
import type { DriftLensApi } from '../../../src/extension/extension';
import { workspaceFile } from './editing';
import { waitFor } from './waitFor';
import { testPolicy } from './testPolicy';

const KEY = 'cfg:team:live-view';
const REDIS_URL = process.env.DRIFTLENS_TEST_REDIS_URL;
const NATS_URL = process.env.DRIFTLENS_TEST_NATS_URL;
const POLICY_FILE = 'live-view.drift-policy.yaml';

/** A valid policy for KEY; replicas (and so the watcher's durable re-read) poll every second. */
const policy = (notificationOk: string) => testPolicy(KEY, { notificationOk });

/** A bounded wait for something that must NOT happen (no event can announce an absence). */
const quietFor = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Re-checks a server-side condition (Redis sends no event for it) every 100 ms, up to 5 s. */
async function waitUntil(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let tries = 0; tries < 50; tries++) {
    if (await check()) return;
    await quietFor(100);
  }
  assert.fail(`timed out waiting for ${what}`);
}

suite('The live view: resets, pausing and the drift policy it acts on', () => {
  let redis: Redis;
  let nats: NatsConnection;
  let api: DriftLensApi;
  const config = () => vscode.workspace.getConfiguration('driftlens');

  const writePolicy = (text: string) => vscode.workspace.fs.writeFile(workspaceFile(POLICY_FILE), new TextEncoder().encode(text));
  const watching = (what: string, timeoutMs = 20_000) => waitFor(what, () => api.replicaModel.model?.live?.key === KEY && api.replicaModel.state !== 'loading' && !api.replicaModel.paused, [api.replicaModel.onDidChange], timeoutMs);
  const zrangeCalls = async () => Number(/cmdstat_zrange:calls=(\d+)/.exec(String(await redis.info('commandstats')))?.[1] ?? 0);

  suiteSetup(async () => {
    assert.ok(REDIS_URL && NATS_URL, 'DRIFTLENS_TEST_REDIS_URL and DRIFTLENS_TEST_NATS_URL are set by scripts/test-all.sh');
    await writePolicy(policy('500ms'));
    await config().update('redis.url', REDIS_URL, vscode.ConfigurationTarget.Global);
    await config().update('nats.servers', [NATS_URL], vscode.ConfigurationTarget.Global);
    await config().update('policyFile', POLICY_FILE, vscode.ConfigurationTarget.Global);
    redis = await connectRedis({ url: REDIS_URL });
    nats = await connectNats({ servers: [NATS_URL] });
    await redis.del(KEY, `driftlens:history:{${KEY}}`, `driftlens:replicas:{${KEY}}`);
    await new ConfigStore(redis).write(KEY, { data: { pools: { topics: {}, pools: {} } }, expectedRevision: 0 });
    api = vscode.extensions.getExtension<DriftLensApi>('driftlens.driftlens')!.exports;
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('driftlens.replicas.focus');
    await api.replicaModel.ensureStarted();
    await watching('the first model of the live-view key');
  });

  suiteTeardown(async () => {
    await redis?.call('CLIENT', 'UNPAUSE').catch(() => undefined);
    await config().update('policyFile', undefined, vscode.ConfigurationTarget.Workspace);
    for (const key of ['redis.url', 'nats.servers', 'policyFile']) await config().update(key, undefined, vscode.ConfigurationTarget.Global);
    await vscode.workspace.fs.delete(workspaceFile(POLICY_FILE)).then(undefined, () => undefined);
    redis?.disconnect();
    await nats?.close();
  });

  test('two policy edits while the first read hangs: the view still gets its model (no lasting "loading")', async () => {
    let restarts = 0;
    const counting = api.replicaModel.onDidChange((m) => m === undefined && restarts++);
    try {
      // Every Redis command waits for 4 s: the watcher's first read after a reset is in flight meanwhile.
      await redis.call('CLIENT', 'PAUSE', '4000', 'ALL');
      await writePolicy(policy('400ms'));
      await waitFor('the first restart (the policy changed)', () => restarts >= 1, [api.replicaModel.onDidChange]);
      await writePolicy(policy('450ms'));
      await waitFor('the second restart, during the first read', () => restarts >= 2, [api.replicaModel.onDidChange]);
      await watching('a model after both resets', 30_000);
      assert.equal(api.replicaModel.state === 'ready' || api.replicaModel.state === 'empty', true, `the view shows the model, not "${api.replicaModel.state}"`);
    } finally {
      counting.dispose();
      await redis.call('CLIENT', 'UNPAUSE');
    }
  });

  test('hidden view and no config editor: no Redis reads; shown again: a fresh read', async () => {
    await watching('watching before hiding');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('workbench.view.explorer'); // the DriftLens side bar (and its view) is hidden
    await waitFor('the watcher to pause', () => api.replicaModel.paused, [api.replicaModel.onDidChange]);
    const reads = api.replicaModel.reads;
    const zranges = await zrangeCalls();
    // A change notification would make a running watcher re-read at once; its poll would re-read every second.
    await publishConfigChanged(nats, 'sys.config.changed', { scope: 'team', scopeId: 'live-view', senderId: 'driftlens-tests' });
    await quietFor(3000);
    assert.equal(api.replicaModel.reads, reads, 'the paused watcher read nothing');
    assert.equal(await zrangeCalls(), zranges, 'Redis served no replica-index read (INFO commandstats)');

    await vscode.commands.executeCommand('driftlens.replicas.focus');
    await waitFor('a fresh read after showing the view', () => api.replicaModel.reads > reads && !api.replicaModel.paused && api.replicaModel.model !== undefined, [api.replicaModel.onDidChange], 20_000);
    assert.ok((await zrangeCalls()) > zranges, 'the view being shown again read the replica index');
  });

  test('an invalid policy is refused: no watching, no publishing, the view says which policy', async () => {
    await config().update('policyFile', 'bad-duration.drift-policy.yaml', vscode.ConfigurationTarget.Global);
    await waitFor('the view to refuse the invalid policy', () => api.replicaModel.state === 'policyInvalid', [api.replicaModel.onDidChange]);
    assert.equal(api.replicaModel.model, undefined, 'no model on a guessed (default) policy');
    assert.equal(api.replicaView.description, 'bad-duration.drift-policy.yaml is invalid');
    // The reset closed the old connections; the server notices that a moment later.
    await waitUntil('no DriftLens connection on the server', async () => !/name=driftlens-vscode/.test(String(await redis.client('LIST'))));
    await quietFor(1000);
    assert.doesNotMatch(String(await redis.client('LIST')), /name=driftlens-vscode/, 'no connection is made on a guess');
    const before = await redis.get('cfg:system:default');
    const result = await vscode.commands.executeCommand<{ status: string; reason: string }>('driftlens.publishConfig', workspaceFile('cfg.system.default.yaml'), { assumeYes: true });
    assert.equal(result.status, 'refused');
    assert.match(result.reason, /^The drift policy bad-duration\.drift-policy\.yaml is invalid \(\d+ errors?, first at line 8: /);
    assert.equal(await redis.get('cfg:system:default'), before, 'nothing was published');
  });

  test('several policies and none chosen: nothing is guessed; choosing one watches again', async () => {
    await config().update('policyFile', undefined, vscode.ConfigurationTarget.Global);
    await waitFor('the view to ask for a choice', () => api.replicaModel.state === 'policyAmbiguous', [api.replicaModel.onDidChange]);
    assert.equal(api.replicaView.description, 'several drift policies: choose one');
    const result = await vscode.commands.executeCommand<{ status: string; reason: string }>('driftlens.publishConfig', workspaceFile('cfg.system.default.yaml'), { assumeYes: true });
    assert.equal(result.status, 'refused');
    assert.match(result.reason, /drift policies \(.*drift-policy\.yaml.*\) and driftlens\.policyFile does not say which one to use/);
    const chosen = await vscode.commands.executeCommand<string>('driftlens.choosePolicy', workspaceFile(POLICY_FILE));
    assert.equal(chosen, POLICY_FILE);
    assert.equal(config().inspect('policyFile')?.workspaceValue, POLICY_FILE, 'the choice is stored in the workspace settings');
    await watching('watching with the chosen policy');
    assert.equal(api.replicaView.description, POLICY_FILE);
  });
});
