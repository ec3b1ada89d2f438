import * as assert from 'node:assert/strict';
import type { NatsConnection } from 'nats';
import * as vscode from 'vscode';
import { analyzeDocument } from '../../../src/core/analysis';
import type { JsonValue } from '../../../src/core/canonical';
import { ConfigStore } from '../../../src/live/configStore';
import { connectNats } from '../../../src/live/natsConnection';
import { publishDocument } from '../../../src/live/publisher';
import { connectRedis } from '../../../src/live/redisConnection';
import type { DriftLensApi } from '../../../src/extension/extension';
import { open, replaceText, workspaceFile } from './editing';
import { waitFor } from './waitFor';

type PublishResult = { status: string; revision?: number; reason?: string };
type DataMap = { [key: string]: JsonValue };

const KEY = 'cfg:team:impact';
const FILE = 'cfg.impact.yaml';
const REDIS_URL = process.env.DRIFTLENS_TEST_REDIS_URL;
const NATS_URL = process.env.DRIFTLENS_TEST_NATS_URL;

suite('Change impact: the change set, its risks, and live ahead of the file', () => {
  let store: ConfigStore;
  let redisQuit: () => void;
  let nats: NatsConnection;
  let api: DriftLensApi;

  const config = () => vscode.workspace.getConfiguration('driftlens');

  suiteSetup(async () => {
    assert.ok(REDIS_URL && NATS_URL, 'DRIFTLENS_TEST_REDIS_URL and DRIFTLENS_TEST_NATS_URL are set by scripts/test-all.sh');
    await config().update('redis.url', REDIS_URL, vscode.ConfigurationTarget.Global);
    await config().update('nats.servers', [NATS_URL], vscode.ConfigurationTarget.Global);
    await config().update('policyFile', 'drift-policy.yaml', vscode.ConfigurationTarget.Global);
    // The watched key is this suite's own: the lens compares the file with what the replica model watches.
    await config().update('configKey', KEY, vscode.ConfigurationTarget.Global);
    const redis = await connectRedis({ url: REDIS_URL });
    redisQuit = () => redis.disconnect();
    store = new ConfigStore(redis);
    nats = await connectNats({ servers: [NATS_URL] });
    await redis.del(KEY, `driftlens:history:{${KEY}}`);
    // A copy of the workspace's config document at this key, published once by "DriftLens" (revision 1).
    const seed = new TextDecoder().decode(await vscode.workspace.fs.readFile(workspaceFile('cfg.system.default.yaml')));
    const text = seed.replace(/^scope_id: default$/m, 'scope_id: impact').replace(/^scope: system$/m, 'scope: team').replace(/^revision: 7$/m, 'revision: 1');
    await vscode.workspace.fs.writeFile(workspaceFile(FILE), new TextEncoder().encode(text));
    const data = analyzeDocument(text, 'yaml', 'config').data as DataMap;
    await store.write(KEY, { data, expectedRevision: 0, meta: { published_by: 'tests' } });
    api = vscode.extensions.getExtension<DriftLensApi>('driftlens.driftlens')!.exports;
  });

  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    for (const key of ['redis.url', 'nats.servers', 'policyFile', 'configKey']) await config().update(key, undefined, vscode.ConfigurationTarget.Global);
    await vscode.workspace.fs.delete(workspaceFile(FILE)).then(undefined, () => undefined);
    redisQuit?.();
    await nats?.close();
  });

  test('Show Change Set opens every property the publish changes, risks first, in a readable document', async () => {
    const editor = await open(FILE);
    await replaceText(editor, 'timeout_seconds: 120', 'timeout_seconds: 30');
    await replaceText(editor, 'job.default: default', 'job.default: [default]');
    const uri = await vscode.commands.executeCommand<vscode.Uri>('driftlens.showChangeSet', editor.document.uri);
    assert.ok(uri, 'the command returns the change set document');
    const text = (await vscode.workspace.openTextDocument(uri)).getText();
    assert.match(text, new RegExp(`^### ${KEY} revision 1 → ${FILE.replace('.', '\\.')}\\n\\n2 changes \\(1 hash-only\\), 1 risk\\.\\n`));
    assert.match(text, /\n- ⚠️ \*\*timeout-cut\*\*: timeouts\.topics\["job\.fraud-detection\.process"\]\.timeout_seconds is cut by more than half, from 120 s to 30 s/);
    assert.match(text, /\n\| changed \| `pools\.topics\["job\.default"\]` \| `"default"` \| `\["default"\]` \| same pools, written another way/);
    // Shown in the markdown preview (a webview tab), not as raw text.
    await waitFor('the change set preview tab', () => vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => /changes\.md/.test(t.label))), [vscode.window.tabGroups.onDidChangeTabs]);
  });

  test('a risky publish is refused until its risks are accepted by name; then it is written', async () => {
    const editor = await open(FILE);
    const refused = await vscode.commands.executeCommand<PublishResult>('driftlens.publishConfig', editor.document.uri, { assumeYes: true, acceptRisks: [] });
    assert.deepEqual(refused, { status: 'refused', reason: 'risks not accepted: timeout-cut' });
    assert.equal((await store.read(KEY))?.envelope.revision, 1, 'nothing written');
    const accepted = await vscode.commands.executeCommand<PublishResult>('driftlens.publishConfig', editor.document.uri, { assumeYes: true, acceptRisks: ['timeout-cut'] });
    assert.equal(accepted.status, 'published');
    assert.equal(accepted.revision, 2);
    assert.match(editor.document.getText(), /^revision: 2$/m);
  });

  test('someone else publishes: the first line says live is ahead, who changed what and when', async () => {
    // Nothing else starts the replica model here (no Replicas view): the envelope file itself does.
    const editor = await open(FILE);
    const live = (await store.read(KEY))!.envelope;
    const pools = JSON.parse(JSON.stringify(live.data.pools)) as { pools: { [name: string]: { status?: string } } };
    pools.pools['fraud-detection'].status = 'draining';
    await publishDocument(store, nats, { key: KEY, data: { ...live.data, pools }, expectedRevision: 2, meta: { published_by: '$(pass) alice@laptop' }, subject: 'sys.config.changed', senderId: 'driftlens-tests' });
    const lens = await waitFor(
      'the live-ahead lens naming what alice changed',
      async () => {
        const lenses = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', editor.document.uri)) ?? [];
        return lenses.find((l) => l.range.start.line === 0 && /pools changed/.test(l.command?.title ?? ''));
      },
      [api.replicaModel.onDidChange],
    );
    // published_by is anyone's text: its `$(pass)` shows as written, not as a tick.
    assert.equal(lens.command?.title, '$(arrow-circle-up) live is revision 3, 1 ahead of this file: pools changed by \\$(pass) alice@laptop just now');
    assert.equal(lens.command?.command, 'driftlens.compareWithLive');
    // Pulled up to date (the file says revision 3 now): the lens goes.
    await replaceText(editor, 'revision: 2', 'revision: 3');
    await waitFor(
      'no live-ahead lens once the file is at the live revision',
      async () => !((await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', editor.document.uri)) ?? []).some((l) => /live is revision/.test(l.command?.title ?? '')),
      [api.replicaModel.onDidChange],
    );
    assert.ok(await editor.document.save());
  });
});
