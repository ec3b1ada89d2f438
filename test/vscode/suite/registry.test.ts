import * as assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import * as vscode from 'vscode';
import { ConfigStore } from '../../../src/live/configStore';
import { connectRedis } from '../../../src/live/redisConnection';
import { SimulatedReplicaAgent } from '../../../src/simulator/simulatedReplicaAgent';
import type { DriftLensApi } from '../../../src/extension/extension';
import type { ReplicaTreeNode } from '../../../src/extension/replicaTree';
import { workspaceFile } from './editing';
import { waitFor } from './waitFor';
import { testPolicy } from './testPolicy';

/**
 * The Replicas view with Cordum's instance registry, in a real VS Code: an instance registered
 * without a report is a "not reporting" item (its icon, description with version and commit,
 * tooltip saying to install the agent), and a reporting replica shows its registered version.
 * Registry keys use a pattern of their own (a setting), so no other suite sees them.
 */

const KEY = 'cfg:team:registry-tests';
const PATTERN = 'registry-tests:instance:{service}:{id}';
const REDIS_URL = process.env.DRIFTLENS_TEST_REDIS_URL;
const NATS_URL = process.env.DRIFTLENS_TEST_NATS_URL;

const POLICY = testPolicy(KEY, { sections: ['pools'] });

suite('The Replicas view with the instance registry', () => {
  let redis: Redis;
  let agent: SimulatedReplicaAgent | undefined;
  let api: DriftLensApi;
  const registered = (id: string) => PATTERN.replace('{service}', 'scheduler').replace('{id}', id);

  suiteSetup(async () => {
    assert.ok(REDIS_URL && NATS_URL, 'DRIFTLENS_TEST_REDIS_URL and DRIFTLENS_TEST_NATS_URL are set by scripts/test-all.sh');
    await vscode.workspace.fs.writeFile(workspaceFile('registry.drift-policy.yaml'), new TextEncoder().encode(POLICY));
    redis = await connectRedis({ url: REDIS_URL });
    await redis.del(KEY, `driftlens:history:{${KEY}}`, `driftlens:replicas:{${KEY}}`);
    await new ConfigStore(redis).write(KEY, { data: { pools: { topics: { 'job.default': 'p' }, pools: { p: {} } } }, expectedRevision: 0 });
    const config = vscode.workspace.getConfiguration('driftlens');
    await config.update('redis.url', REDIS_URL, vscode.ConfigurationTarget.Global);
    await config.update('nats.servers', [NATS_URL], vscode.ConfigurationTarget.Global);
    await config.update('policyFile', 'registry.drift-policy.yaml', vscode.ConfigurationTarget.Global);
    await config.update('registry.keyPattern', PATTERN, vscode.ConfigurationTarget.Global);
    api = vscode.extensions.getExtension<DriftLensApi>('driftlens.driftlens')!.exports;
  });

  suiteTeardown(async () => {
    await agent?.stop({ deregister: true });
    await redis.del(registered('reporter'), registered('silent-1'));
    const config = vscode.workspace.getConfiguration('driftlens');
    for (const key of ['redis.url', 'nats.servers', 'policyFile', 'registry.keyPattern']) await config.update(key, undefined, vscode.ConfigurationTarget.Global);
    redis.disconnect();
  });

  test('a registered instance without a report is a "not reporting" item with its version, commit and what to do', async () => {
    await redis.set(registered('silent-1'), JSON.stringify({ id: 'silent-1', service: 'scheduler', version: 'v0.9.1', commit: '1f2e3d4c5b6a7980', started_at: '2026-11-30T10:00:00Z' }), 'PX', 120_000);
    await redis.set(registered('reporter'), JSON.stringify({ id: 'reporter', service: 'scheduler', version: 'v0.9.2', commit: 'aaaabbbbcccc' }), 'PX', 120_000);
    agent = new SimulatedReplicaAgent({ configKey: KEY, service: 'scheduler', replicaId: 'reporter', pollIntervalMs: 1000, envOverride: false, heartbeatMs: 300, redis: { url: REDIS_URL! }, nats: { servers: [NATS_URL!] }, apply: () => undefined });
    await agent.start();

    await vscode.commands.executeCommand('driftlens.replicas.focus');
    await api.replicaModel.ensureStarted();
    const model = await waitFor(
      'the registered instance and the reporter in the model',
      () => {
        const m = api.replicaModel.model;
        const states = m?.replicas.map((r) => `${r.replicaId} ${r.state}`).sort().join(', ');
        return states === 'reporter in-sync, silent-1 not-reporting' ? m : undefined;
      },
      [api.replicaModel.onDidChange],
      20_000,
    );
    assert.equal(model.summary, '1/2 in sync, 1 not reporting');

    const tree = api.replicaTree;
    const [documentNode] = tree.getChildren();
    const [service] = tree.getChildren(documentNode);
    const items = new Map(tree.getChildren(service).map((n) => [String(tree.getTreeItem(n).label), { node: n as ReplicaTreeNode, item: tree.getTreeItem(n) }]));
    const silent = items.get('silent-1')!.item;
    assert.equal(silent.contextValue, 'replica:not-reporting');
    assert.equal((silent.iconPath as vscode.ThemeIcon).id, 'eye-closed');
    assert.equal(((silent.iconPath as vscode.ThemeIcon).color as vscode.ThemeColor).id, 'driftlens.notReporting');
    assert.equal(silent.description, 'not reporting · v0.9.1 1f2e3d4c5b6a');
    // Tooltips are built on hover (resolveTreeItem), so that their ages are those of the moment.
    const tooltipOf = (name: string) => (tree.resolveTreeItem(items.get(name)!.item, items.get(name)!.node).tooltip as vscode.MarkdownString).value;
    const tooltip = tooltipOf('silent-1');
    assert.match(tooltip, /not reporting/);
    assert.match(tooltip, /version \*\*v0\\\.9\\\.1\*\*, commit \*\*1f2e3d4c5b6a7980\*\*/);
    assert.match(tooltip, /sends no DriftLens report.*install the agent/);
    const sections = tree.getChildren(items.get('silent-1')!.node).map((n) => tree.getTreeItem(n));
    assert.deepEqual(sections.map((s) => [s.label, s.contextValue]), [['pools', 'section:not-reporting']]);

    const reporter = items.get('reporter')!.item;
    // In-sync rows carry no age (they are not redrawn as they age: FleetLayout); the tooltip has it.
    assert.match(String(reporter.description), /^simulated · in sync · v0\.9\.2 aaaabbbbcccc$/, 'a reporting replica shows its registered version too');
    assert.match(tooltipOf('reporter'), /version \*\*v0\\\.9\\\.2\*\*/);
  });

  test('a reporting replica that is not registered says "reporting only", and the registry services are a setting', async () => {
    await redis.del(registered('reporter'));
    const tree = api.replicaTree;
    await api.replicaModel.refresh();
    const reporter = await waitFor(
      'the reporter as reporting only',
      () => {
        const service = tree.getChildren(tree.getChildren()[0])[0];
        const node = service && tree.getChildren(service).find((n) => n.kind === 'replica' && n.replica.replicaId === 'reporter');
        return node && node.kind === 'replica' && node.replica.reportingOnly ? tree.resolveTreeItem(tree.getTreeItem(node), node) : undefined;
      },
      [api.replicaModel.onDidChange],
      20_000,
    );
    assert.match(String(reporter.description), /^simulated · in sync · reporting only$/);
    assert.match((reporter.tooltip as vscode.MarkdownString).value, /Reporting only: it sends DriftLens reports, but Cordum's instance registry does not list it\./);

    // No registry services: the registry is off, the not-reporting instance leaves the view.
    await vscode.workspace.getConfiguration('driftlens').update('registry.services', [], vscode.ConfigurationTarget.Global);
    try {
      await api.replicaModel.ensureStarted();
      await waitFor('the model without the registry', () => (api.replicaModel.model?.replicas.map((r) => r.replicaId).join() === 'reporter' ? true : undefined), [api.replicaModel.onDidChange], 20_000);
    } finally {
      await vscode.workspace.getConfiguration('driftlens').update('registry.services', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  test('a registry setting the CLI would refuse is a settings problem saying which and why, not a silently empty registry; fixed, the view watches again', async () => {
    const config = () => vscode.workspace.getConfiguration('driftlens');
    const problem = (what: string, pattern: RegExp) => waitFor(what, () => (api.replicaModel.state === 'settingsInvalid' && pattern.test(api.replicaModel.problem ?? '') ? api.replicaModel.problem : undefined), [api.replicaModel.onDidChange], 20_000);
    await vscode.commands.executeCommand('driftlens.replicas.focus');
    try {
      // Without {id} no key parses: the scan would find nobody and every replica would turn "reporting only".
      await config().update('registry.keyPattern', 'registry-tests:instance:{service}', vscode.ConfigurationTarget.Global);
      await api.replicaModel.ensureStarted();
      assert.equal(
        await problem('the view to refuse the key pattern', /keyPattern/),
        'The setting driftlens.registry.keyPattern is invalid: the instance key pattern "registry-tests:instance:{service}" must contain {id} exactly once (Cordum\'s: cordum:instance:{service}:{id}). DriftLens does not watch replicas until it is fixed.',
      );
      assert.equal(api.replicaModel.model, undefined, 'nothing is shown on a pattern that parses no key');

      await config().update('registry.keyPattern', PATTERN, vscode.ConfigurationTarget.Global);
      await config().update('registry.services', ['sched*'], vscode.ConfigurationTarget.Global);
      await api.replicaModel.ensureStarted();
      assert.equal(
        await problem('the view to refuse the services', /services/),
        'The setting driftlens.registry.services is invalid: a registry service must be a name without whitespace, \':\', braces or glob characters, not "sched*". DriftLens does not watch replicas until it is fixed.',
      );
    } finally {
      await config().update('registry.keyPattern', PATTERN, vscode.ConfigurationTarget.Global);
      await config().update('registry.services', undefined, vscode.ConfigurationTarget.Global);
    }
    await api.replicaModel.ensureStarted();
    await waitFor('the view to watch again with valid settings', () => (api.replicaModel.model?.live?.key === KEY && api.replicaModel.problem === undefined ? true : undefined), [api.replicaModel.onDidChange], 20_000);
  });
});
