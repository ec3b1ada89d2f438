import * as assert from 'node:assert/strict';
import type { NatsConnection, Subscription } from 'nats';
import * as vscode from 'vscode';
import { analyzeDocument } from '../../../src/core/analysis';
import type { JsonValue } from '../../../src/core/canonical';
import { renderForDiff } from '../../../src/core/publishPlan';
import { ConfigStore } from '../../../src/live/configStore';
import { connectNats } from '../../../src/live/natsConnection';
import { decodeBusPacket } from '../../../src/live/notifier';
import { connectRedis } from '../../../src/live/redisConnection';
import { open, replaceText, revert, workspaceFile } from './editing';
import { extensionHostLogEntries } from './hostLog';
import { waitFor } from './waitFor';

type PublishResult = { status: string; revision?: number; notified?: boolean; liveRevision?: number; basedOn?: number };

const KEY = 'cfg:system:default';
const REDIS_URL = process.env.DRIFTLENS_TEST_REDIS_URL;
const NATS_URL = process.env.DRIFTLENS_TEST_NATS_URL;

function dataOf(editor: vscode.TextEditor): JsonValue {
  return analyzeDocument(editor.document.getText(), 'yaml', 'config').data as JsonValue;
}

async function firstMessage(sub: Subscription): Promise<Uint8Array> {
  for await (const m of sub) return m.data;
  throw new Error('subscription closed before a message arrived');
}

suite('Publish Config against real Redis and NATS', () => {
  let store: ConfigStore;
  let redisQuit: () => void;
  let nats: NatsConnection;

  suiteSetup(async () => {
    assert.ok(REDIS_URL && NATS_URL, 'DRIFTLENS_TEST_REDIS_URL and DRIFTLENS_TEST_NATS_URL are set by scripts/test-all.sh');
    const config = vscode.workspace.getConfiguration('driftlens');
    await config.update('redis.url', REDIS_URL, vscode.ConfigurationTarget.Global);
    await config.update('nats.servers', [NATS_URL], vscode.ConfigurationTarget.Global);
    // The workspace holds two drift policies: DriftLens publishes only with the one chosen.
    await config.update('policyFile', 'drift-policy.yaml', vscode.ConfigurationTarget.Global);
    const redis = await connectRedis({ url: REDIS_URL });
    redisQuit = () => redis.disconnect();
    store = new ConfigStore(redis);
    nats = await connectNats({ servers: [NATS_URL] });
    // The workspace file says revision 7: make the live document revision 7 too.
    await redis.del(KEY, `driftlens:history:{${KEY}}`);
    const seed = (await open('cfg.system.default.yaml')).document;
    const data = analyzeDocument(seed.getText(), 'yaml', 'config').data as { [k: string]: JsonValue };
    for (let revision = 0; revision < 7; revision++) await store.write(KEY, { data, expectedRevision: revision });
  });

  suiteTeardown(async () => {
    const config = vscode.workspace.getConfiguration('driftlens');
    await config.update('redis.url', undefined, vscode.ConfigurationTarget.Global);
    await config.update('nats.servers', undefined, vscode.ConfigurationTarget.Global);
    await config.update('policyFile', undefined, vscode.ConfigurationTarget.Global);
    redisQuit?.();
    await nats?.close();
  });

  test('Publish Config writes revision 8, notifies replicas, and restamps the file', async () => {
    const editor = await open('cfg.system.default.yaml');
    await replaceText(editor, 'job.default: default', 'job.default: fraud-detection');
    const sub = nats.subscribe('sys.config.changed', { max: 1 });
    const result = await vscode.commands.executeCommand<PublishResult>('driftlens.publishConfig', editor.document.uri, { assumeYes: true });
    assert.deepEqual({ status: result.status, revision: result.revision, notified: result.notified }, { status: 'published', revision: 8, notified: true });
    const packet = decodeBusPacket(await firstMessage(sub));
    assert.equal(packet.alert?.details.scope_id, 'default');
    const live = await store.read(KEY);
    assert.equal(live?.envelope.revision, 8);
    assert.match(live?.envelope.meta?.published_by ?? '', /@/);
    assert.deepEqual(live?.envelope.data, dataOf(editor));
    assert.match(editor.document.getText(), /^revision: 8$/m);
    await revert(editor);
  });

  test('a stale file meets a revision conflict, nothing is written, and a re-based publish succeeds', async () => {
    const editor = await open('cfg.system.default.yaml'); // reverted: still says revision 7
    await replaceText(editor, 'max_retries: 2', 'max_retries: 5');
    const before = await store.read(KEY);
    const conflict = await vscode.commands.executeCommand<PublishResult>('driftlens.publishConfig', editor.document.uri, { assumeYes: true, onConflict: 'report' });
    assert.deepEqual(conflict, { status: 'conflict', liveRevision: 8, basedOn: 7 });
    assert.equal((await store.read(KEY))?.raw, before?.raw);
    const rebased = await vscode.commands.executeCommand<PublishResult>('driftlens.publishConfig', editor.document.uri, { assumeYes: true, expectRevision: 8 });
    assert.equal(rebased.status, 'published');
    assert.equal(rebased.revision, 9);
    assert.equal((await store.read(KEY))?.envelope.data.timeouts && JSON.stringify((await store.read(KEY))?.envelope.data.timeouts).includes('"max_retries":5'), true);
    await revert(editor);
  });

  test('Compare with Live opens live against local, normalised: only data differences show', async () => {
    const editor = await open('cfg.system.default.yaml');
    await vscode.commands.executeCommand('driftlens.compareWithLive', editor.document.uri);
    const diff = await waitFor(
      'the Compare with Live diff editor',
      () => {
        const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
        return input instanceof vscode.TabInputTextDiff && input.original.scheme === 'driftlens-live' ? input : undefined;
      },
      [vscode.window.tabGroups.onDidChangeTabs, vscode.window.onDidChangeVisibleTextEditors],
    );
    const left = await vscode.workspace.openTextDocument(diff.original);
    const right = await vscode.workspace.openTextDocument(diff.modified);
    const live = await store.read(KEY);
    assert.equal(left.getText(), renderForDiff(live!.envelope.data));
    assert.equal(right.getText(), renderForDiff(dataOf(editor)));
    assert.match(vscode.window.tabGroups.activeTabGroup.activeTab?.label ?? '', /cfg:system:default \(revision 9\)/);
    // The reverted file lacks revision 9's max_retries: 5, and that is the only difference.
    const changed = left.getText().split('\n').filter((line, i) => line !== right.getText().split('\n')[i]);
    assert.deepEqual(changed.map((l) => l.trim()), ['max_retries: 5']);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  test('an invalid document is refused before anything is written', async () => {
    const editor = await open('cfg.broken.yaml');
    const before = await store.read(KEY);
    const result = await vscode.commands.executeCommand<PublishResult & { reason?: string }>('driftlens.publishConfig', editor.document.uri, { assumeYes: true });
    assert.equal(result.status, 'refused');
    assert.match(result.reason ?? '', /6 error/);
    assert.equal((await store.read(KEY))?.raw, before?.raw);
  });

  test('with NATS unreachable nothing is written (NATS is connected before the write); with NATS back the publish goes through', async () => {
    await vscode.workspace.getConfiguration('driftlens').update('nats.servers', ['nats://127.0.0.1:1'], vscode.ConfigurationTarget.Global);
    const editor = await open('cfg.system.default.yaml');
    try {
      await replaceText(editor, 'revision: 7', 'revision: 9');
      await replaceText(editor, 'scan_interval_seconds: 30', 'scan_interval_seconds: 15');
      const before = await store.read(KEY);
      const result = await vscode.commands.executeCommand<PublishResult & { reason?: string }>('driftlens.publishConfig', editor.document.uri, { assumeYes: true });
      assert.equal(result.status, 'failed');
      assert.match(result.reason ?? '', /NATS at nats:\/\/127\.0\.0\.1:1.* Nothing was written: DriftLens connects to NATS before it writes/);
      assert.equal((await store.read(KEY))?.raw, before?.raw);
      assert.match(editor.document.getText(), /^revision: 9$/m, 'the file is not restamped');
    } finally {
      await vscode.workspace.getConfiguration('driftlens').update('nats.servers', [NATS_URL], vscode.ConfigurationTarget.Global);
    }
    const sub = nats.subscribe('sys.config.changed', { max: 1 });
    const retried = await vscode.commands.executeCommand<PublishResult>('driftlens.publishConfig', editor.document.uri, { assumeYes: true });
    assert.deepEqual({ status: retried.status, revision: retried.revision, notified: retried.notified }, { status: 'published', revision: 10, notified: true });
    await firstMessage(sub);
    await revert(editor);
  });

  test('Pull Live Config writes the live envelope with its revision, and it validates', async () => {
    const target = workspaceFile('cfg.pulled.yaml');
    const written = await vscode.commands.executeCommand<vscode.Uri>('driftlens.pullLiveConfig', { target });
    assert.equal(written?.toString(), target.toString());
    const text = new TextDecoder().decode(await vscode.workspace.fs.readFile(target));
    const live = await store.read(KEY);
    assert.match(text, new RegExp(`^# Pulled from ${KEY} \\(revision ${live!.envelope.revision}\\)`));
    const analysis = analyzeDocument(text, 'yaml', 'config');
    assert.deepEqual(analysis.problems, []);
    assert.deepEqual(analysis.data, live!.envelope.data);
    await vscode.workspace.fs.delete(target);
  });

  test('Rollback republishes an earlier revision as a new one and notifies', async () => {
    const history = await store.history(KEY);
    const eighth = history.find((e) => e.revision === 8);
    assert.ok(eighth, 'revision 8 is in the history DriftLens keeps');
    const sub = nats.subscribe('sys.config.changed', { max: 1 });
    const revision = await vscode.commands.executeCommand<number>('driftlens.rollback', { revision: 8, assumeYes: true });
    assert.equal(revision, 11);
    await firstMessage(sub);
    const live = await store.read(KEY);
    assert.deepEqual(live?.envelope.data, eighth.data);
    assert.equal(live?.envelope.meta?.rollback_of, '8');
  });

  test('a bare section file (config/pools.yaml) publishes as the pools section of the live document', async () => {
    const before = await store.read(KEY);
    assert.ok(before, 'a live document exists');
    const editor = await open('config/pools.yaml');
    try {
      await replaceText(editor, 'job.default: default', 'job.default: fraud-detection');
      const sub = nats.subscribe('sys.config.changed', { max: 1 });
      const result = await vscode.commands.executeCommand<PublishResult & { reason?: string }>('driftlens.publishConfig', editor.document.uri, { assumeYes: true });
      assert.deepEqual({ status: result.status, revision: result.revision, notified: result.notified }, { status: 'published', revision: before.envelope.revision + 1, notified: true });
      await firstMessage(sub);
      const live = await store.read(KEY);
      const pools = analyzeDocument(editor.document.getText(), 'yaml', 'pools').data;
      assert.deepEqual(live?.envelope.data.pools, pools);
      assert.deepEqual(Object.keys(live!.envelope.data), Object.keys(before.envelope.data));
      for (const k of Object.keys(before.envelope.data)) if (k !== 'pools') assert.deepEqual(live?.envelope.data[k], before.envelope.data[k], k);
      assert.doesNotMatch(editor.document.getText(), /revision/, 'a section file is not restamped');

      // Compare with Live on a section file compares it with the live section, not the whole document.
      await vscode.commands.executeCommand('driftlens.compareWithLive', editor.document.uri);
      const diff = await waitFor(
        'the Compare with Live diff editor of the pools section',
        () => {
          const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
          return input instanceof vscode.TabInputTextDiff && input.original.scheme === 'driftlens-live' && input.original.path.endsWith('.pools.yaml') ? input : undefined;
        },
        [vscode.window.tabGroups.onDidChangeTabs, vscode.window.onDidChangeVisibleTextEditors],
      );
      const left = await vscode.workspace.openTextDocument(diff.original);
      assert.equal(left.getText(), renderForDiff(live!.envelope.data.pools));
      assert.equal((await vscode.workspace.openTextDocument(diff.modified)).getText(), left.getText(), 'the published file matches the live section');
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');

      // The key without a document: a section alone is not a document.
      await vscode.workspace.getConfiguration('driftlens').update('configKey', 'cfg:team:no-such-document', vscode.ConfigurationTarget.Global);
      const refused = await vscode.commands.executeCommand<PublishResult & { reason?: string }>('driftlens.publishConfig', editor.document.uri, { assumeYes: true });
      assert.equal(refused.status, 'refused');
      assert.equal(refused.reason, 'cfg:team:no-such-document does not exist in Redis: a pools section alone is not a document. Publish a whole config document to cfg:team:no-such-document first, then its sections.');
    } finally {
      await vscode.workspace.getConfiguration('driftlens').update('configKey', undefined, vscode.ConfigurationTarget.Global);
      await revert(editor);
    }
  });

  test('Compare with Live follows edits of the local file and publishes, and each provider fires only for its own scheme', async () => {
    const document = (await open('cfg.system.default.yaml')).document;
    const live = (await store.read(KEY))!.envelope;
    await replaceInDocument(document, 'revision: 7', `revision: ${live.revision}`);
    const { right } = await compareWithLive(document, live.revision);
    assert.equal(right.getText(), renderForDiff(analyzeDocument(document.getText(), 'yaml', 'config').data as JsonValue));
    // An edit of the local file shows in the open diff.
    await replaceInDocument(document, 'max_retries: 2', 'max_retries: 6');
    await waitFor('the normalised local side to show the edit', () => right.getText().includes('max_retries: 6'), [vscode.workspace.onDidChangeTextDocument]);
    // A publish: the diff against the new live revision shows no difference.
    const result = await vscode.commands.executeCommand<PublishResult>('driftlens.publishConfig', document.uri, { assumeYes: true });
    assert.equal(result.revision, live.revision + 1);
    const after = await compareWithLive(document, live.revision + 1);
    assert.equal(after.left.getText(), after.right.getText());
    assert.match(after.left.getText(), /max_retries: 6/);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await revert(await vscode.window.showTextDocument(document));
    // VS Code drops (and logs) a content-change event whose scheme is not the provider's own: the
    // view it was meant for would not refresh.
    assert.deepEqual(await extensionHostLogEntries(/Provider for scheme 'driftlens-[\w-]+' is firing event for schema/), []);
  });
});

async function replaceInDocument(document: vscode.TextDocument, from: string, to: string): Promise<void> {
  const at = document.getText().indexOf(from);
  assert.ok(at >= 0, `"${from}" is in ${document.uri.path}`);
  const edit = new vscode.WorkspaceEdit();
  edit.replace(document.uri, new vscode.Range(document.positionAt(at), document.positionAt(at + from.length)), to);
  assert.ok(await vscode.workspace.applyEdit(edit));
}

/** Runs Compare with Live on the document; both sides of the diff it opens against that live revision. */
async function compareWithLive(document: vscode.TextDocument, revision: number): Promise<{ left: vscode.TextDocument; right: vscode.TextDocument }> {
  await vscode.commands.executeCommand('driftlens.compareWithLive', document.uri);
  const diff = await waitFor(
    `the Compare with Live diff editor against revision ${revision}`,
    () => {
      const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
      return input instanceof vscode.TabInputTextDiff && input.original.scheme === 'driftlens-live' && input.original.fragment === String(revision) ? input : undefined;
    },
    [vscode.window.tabGroups.onDidChangeTabs, vscode.window.onDidChangeVisibleTextEditors],
  );
  return { left: await vscode.workspace.openTextDocument(diff.original), right: await vscode.workspace.openTextDocument(diff.modified) };
}
