import * as assert from 'node:assert/strict';
import type { NatsConnection } from 'nats';
import * as vscode from 'vscode';
import type { JsonValue } from '../../../src/core/canonical';
import type { DriftModel, DriftState } from '../../../src/core/convergence';
import { displayText } from '../../../src/core/displayText';
import { computeSectionHash } from '../../../src/core/sectionHash';
import { ConfigStore } from '../../../src/live/configStore';
import { connectNats } from '../../../src/live/natsConnection';
import { publishConfigChanged } from '../../../src/live/notifier';
import { connectRedis } from '../../../src/live/redisConnection';
import { publishReplicaReport } from '../../../src/live/replicaReports';
import { SimulatedReplicaAgent, type AgentFaults } from '../../../src/simulator/simulatedReplicaAgent';
import type { DriftLensApi } from '../../../src/extension/extension';
import type { ReplicaTreeNode } from '../../../src/extension/replicaTree';
import { open, workspaceFile } from './editing';
import { waitFor } from './waitFor';
import { testPolicy } from './testPolicy';

const KEY = 'cfg:team:drift-tests';
const REDIS_URL = process.env.DRIFTLENS_TEST_REDIS_URL;
const NATS_URL = process.env.DRIFTLENS_TEST_NATS_URL;

// Short budgets so that "drifted" arrives within the test: poll 1s, notification 500ms, lost 2s.
const POLICY = testPolicy(KEY);

type Data = { [key: string]: JsonValue };
const timeouts = { workflows: {}, topics: {}, reconciler: { dispatch_timeout_seconds: 300, running_timeout_seconds: 900, scan_interval_seconds: 30 } };
const dataWith = (pool: string): Data => ({ pools: { topics: { 'job.default': pool }, pools: { [pool]: { requires: [] } } }, timeouts });

suite('The Replicas view against real replicas', () => {
  let redisQuit: () => void;
  let nats: NatsConnection;
  let withHistory: ConfigStore;
  let withoutHistory: ConfigStore;
  const agents = new Map<string, SimulatedReplicaAgent>();
  let api: DriftLensApi;

  const startAgent = async (id: string, options: { faults?: AgentFaults; sections?: ('pools' | 'timeouts')[] } = {}) => {
    const agent = new SimulatedReplicaAgent({
      configKey: KEY,
      service: 'scheduler',
      replicaId: id,
      sections: options.sections,
      pollIntervalMs: 1000,
      envOverride: false,
      heartbeatMs: 300,
      redis: { url: REDIS_URL! },
      nats: { servers: [NATS_URL!] },
      faults: options.faults,
      apply: () => undefined,
    });
    await agent.start();
    agents.set(id, agent);
    return agent;
  };

  const publish = async (store: ConfigStore, data: Data) => {
    const revision = (await store.read(KEY))?.envelope.revision ?? 0;
    await store.write(KEY, { data, expectedRevision: revision, meta: { published_by: 'tests@drift' } });
    await publishConfigChanged(nats, 'sys.config.changed', { scope: 'team', scopeId: 'drift-tests', senderId: 'driftlens-tests' });
  };

  suiteSetup(async () => {
    assert.ok(REDIS_URL && NATS_URL, 'DRIFTLENS_TEST_REDIS_URL and DRIFTLENS_TEST_NATS_URL are set by scripts/test-all.sh');
    await vscode.workspace.fs.writeFile(workspaceFile('fast.drift-policy.yaml'), new TextEncoder().encode(POLICY));
    const config = vscode.workspace.getConfiguration('driftlens');
    await config.update('redis.url', REDIS_URL, vscode.ConfigurationTarget.Global);
    await config.update('nats.servers', [NATS_URL], vscode.ConfigurationTarget.Global);
    await config.update('policyFile', 'fast.drift-policy.yaml', vscode.ConfigurationTarget.Global);
    await config.update('replicas.staleAfter', '1500ms', vscode.ConfigurationTarget.Global);
    const redis = await connectRedis({ url: REDIS_URL });
    redisQuit = () => redis.disconnect();
    withHistory = new ConfigStore(redis, { historyLimit: 50 });
    withoutHistory = new ConfigStore(redis, { historyLimit: 0 });
    nats = await connectNats({ servers: [NATS_URL] });
    await redis.del(KEY, `driftlens:history:{${KEY}}`, `driftlens:replicas:{${KEY}}`);
    api = vscode.extensions.getExtension<DriftLensApi>('driftlens.driftlens')!.exports;
  });

  suiteTeardown(async () => {
    await Promise.allSettled([...agents.values()].map((a) => a.stop({ deregister: true })));
    const config = vscode.workspace.getConfiguration('driftlens');
    for (const key of ['redis.url', 'nats.servers', 'policyFile', 'replicas.staleAfter']) await config.update(key, undefined, vscode.ConfigurationTarget.Global);
    redisQuit?.();
    await nats?.close();
  });

  test('every state of the model shows in the tree, with its icon, description and tooltip', async () => {
    // Revision 1 is published outside DriftLens' history: only "unknown" keeps it.
    await publish(withoutHistory, dataWith('p0'));
    await startAgent('unknown');
    assert.ok(agents.get('unknown')!.appliedHash('pools'), 'start() returns after the startup check applied p0');
    agents.get('unknown')!.faults.stalled = true;
    // Revision 2, in history: the others start on it.
    await publish(withHistory, dataWith('p1'));
    for (const id of ['notified', 'polled', 'stuck', 'refuser', 'gone']) await startAgent(id);
    await startAgent('newcomer', { sections: ['timeouts'] });
    agents.get('polled')!.faults.dropNotifications = 1;
    agents.get('stuck')!.faults.stalled = true;
    agents.get('refuser')!.faults.rejectApply = true;
    await agents.get('gone')!.stop();

    await vscode.commands.executeCommand('driftlens.replicas.focus');
    await api.replicaModel.ensureStarted();
    await publish(withHistory, dataWith('p2'));
    const expected: Record<string, DriftState> = { notified: 'in-sync', polled: 'in-sync', stuck: 'drifted', refuser: 'rejected', gone: 'stale', unknown: 'unknown-origin', newcomer: 'not-checked' };
    const model = await waitFor<DriftModel>(
      'every replica in its expected state',
      () => {
        const m = api.replicaModel.model;
        if (!m || m.live?.revision !== 3) return undefined;
        const states = Object.fromEntries(m.replicas.map((r) => [r.replicaId, r.state]));
        const polled = m.replicas.find((r) => r.replicaId === 'polled')?.sections.find((s) => s.section === 'pools');
        return JSON.stringify(states) === JSON.stringify({ ...states, ...expected }) && polled?.trigger === 'poll' ? m : undefined;
      },
      [api.replicaModel.onDidChange],
      30_000,
    );
    assert.equal(model.summary, '2/7 in sync, 1 rejected, 1 drifted, 1 unknown origin, 1 stale, 1 not checked');

    const tree = api.replicaTree;
    const [documentNode] = tree.getChildren();
    const documentItem = tree.getTreeItem(documentNode);
    assert.equal(documentItem.label, KEY);
    // "gone" is simulated too, but once its report expired nothing says so any more.
    // The counts per state are above the tree (the view's message), not on the row.
    assert.match(String(documentItem.description), /^revision 3 · [67] simulated$/);
    const [service] = tree.getChildren(documentNode);
    assert.equal(tree.getTreeItem(service).label, 'scheduler');
    assert.match(String(tree.getTreeItem(service).description), /^2\/7 in sync · (6 )?simulated$/);
    const replicaNodes = tree.getChildren(service);
    const items = new Map(replicaNodes.map((n) => [String(tree.getTreeItem(n).label), { node: n, item: tree.getTreeItem(n) }]));
    assert.equal(items.get('refuser')?.item.contextValue, 'replica:rejected');
    assert.equal((items.get('stuck')?.item.iconPath as vscode.ThemeIcon).id, 'warning');
    assert.equal(((items.get('stuck')?.item.iconPath as vscode.ThemeIcon).color as vscode.ThemeColor).id, 'driftlens.drifted');
    assert.match(String(items.get('gone')?.item.description), /^(simulated · )?stale · /);
    assert.match(String(items.get('refuser')?.item.description), /^simulated · rejected · /, 'a simulated replica says so in its description');
    // Tooltips are built on hover, as VS Code asks for them.
    const tooltipOf = (node: ReplicaTreeNode, item: vscode.TreeItem) => (tree.resolveTreeItem(item, node).tooltip as vscode.MarkdownString).value;
    assert.match(tooltipOf(items.get('refuser')!.node, items.get('refuser')!.item), /Simulated replica/);

    const sectionsOf = (id: string) => tree.getChildren(items.get(id)!.node).map((n) => ({ node: n as ReplicaTreeNode, item: tree.getTreeItem(n) }));
    const polledPools = sectionsOf('polled').find((s) => s.item.label === 'pools')!;
    assert.match(String(polledPools.item.description), /^[0-9a-f]{8} · \S+ by poll$/);
    const tooltip = tooltipOf(polledPools.node, polledPools.item);
    assert.match(tooltip, /Converged by \*\*poll\*\*: the notification did not reach this replica\./);
    assert.match(tooltip, /against notification_lost ≤ 2s/);
    const stuckPools = sectionsOf('stuck').find((s) => s.item.label === 'pools')!;
    assert.equal(stuckPools.item.contextValue, 'section:drifted');
    assert.match(tooltipOf(stuckPools.node, stuckPools.item), /still on revision 2 .* after the publish, past the 2s budget/);

    // Problems only hides the replicas in sync.
    tree.setProblemsOnly(true);
    const problems = tree.getChildren(tree.getChildren(tree.getChildren()[0])[0]).map((n) => String(tree.getTreeItem(n).label));
    assert.deepEqual(problems.sort(), ['gone', 'newcomer', 'refuser', 'stuck', 'unknown']);
    assert.equal(tree.header, '1 rejected · 1 drifted · 1 unknown origin · 1 stale · 1 not checked · 2 in sync — showing problems only: 5 of 7', 'the counts per state, worst first, and the filter, above the tree');
    tree.setProblemsOnly(false);
    assert.equal(tree.header, '1 rejected · 1 drifted · 1 unknown origin · 1 stale · 1 not checked · 2 in sync');

    // issue 12: a row is redrawn alone (here the stale one, whose "20s ago" ages), never by
    // redrawing the whole tree, which at 1,000 replicas would fetch every row again.
    const fired: (ReplicaTreeNode | ReplicaTreeNode[] | undefined)[] = [];
    const listening = tree.onDidChangeTreeData((e) => fired.push(e));
    try {
      const namesGone = (e: ReplicaTreeNode | ReplicaTreeNode[] | undefined) => Array.isArray(e) && e.some((n) => n.kind === 'replica' && n.replica.replicaId === 'gone');
      await waitFor('the stale row redrawn as it ages', () => fired.some(namesGone) || undefined, [tree.onDidChangeTreeData], 15_000);
      const event = fired.find(namesGone) as ReplicaTreeNode[];
      assert.ok(event.length < 7, `only the rows that changed: ${event.map((n) => n.kind).join('+')}`);
    } finally {
      listening.dispose();
    }
  });

  test('the editor shows how many replicas run a section, and a replica rejection as a diagnostic', async () => {
    const live = (await withHistory.read(KEY))!.envelope;
    const text = `# driftlens: config\n${JSON.stringify({ data: live.data }, null, 2)}\n`.replace(/^#.*\n/, '');
    const file = workspaceFile('cfg.team.drift-tests.json');
    await vscode.workspace.fs.writeFile(file, new TextEncoder().encode(text));
    const editor = await open('cfg.team.drift-tests.json');
    const poolsHash = computeSectionHash('pools', live.data.pools).hash!;
    const title = await waitFor(
      'the pools lens with a replica count',
      async () => {
        const lenses = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', editor.document.uri, 10)) ?? [];
        return lenses.map((l) => l.command?.title ?? '').find((t) => t.includes(' replicas'));
      },
      [api.replicaModel.onDidChange, vscode.languages.onDidChangeDiagnostics],
    );
    assert.equal(title, `$(key) pools sha256 ${poolsHash.slice(0, 12)}…${poolsHash.slice(-4)} · 2/6 replicas (2 simulated)`, 'the lens marks simulated replicas');
    const rejection = await waitFor('the replica-rejected diagnostic', () => vscode.languages.getDiagnostics(editor.document.uri).find((d) => d.code === 'replica-rejected'), [vscode.languages.onDidChangeDiagnostics], 10_000);
    assert.match(rejection.message, /^1 replica rejected this pools section \(hash [0-9a-f]{12}…\): scheduler:refuser: /);
    assert.equal(editor.document.getText(rejection.range), '"pools"');
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    await vscode.workspace.fs.delete(file);
  });

  test('Re-notify publishes the notification again without writing, and replicas hear it', async () => {
    const before = (await withHistory.read(KEY))!.raw;
    const notified = agents.get('notified')!;
    const heard = notified.counters.notifications;
    const counted = waitFor('the replica to hear the re-notification', () => notified.counters.notifications > heard, [api.replicaModel.onDidChange], 10_000);
    const traceId = await vscode.commands.executeCommand<string>('driftlens.replicas.renotify');
    assert.match(traceId ?? '', /^[0-9a-f-]{36}$/);
    await counted;
    assert.equal((await withHistory.read(KEY))!.raw, before, 'nothing was written');
  });

  test('text from the network is shown escaped: no control character, bidi override or Markdown reaches a label or tooltip', async () => {
    // Another writer on the same Redis: a replica id with an ESC sequence and a right-to-left
    // override, an error message with Markdown, a command link and an icon.
    const replicaId = 'evil\x1b]0;pwned\x07-\u202egnirts';
    const message = 'apply failed \x1b[2J[click me](command:workbench.action.terminal.new) $(zap) **loud**';
    const live = (await withHistory.read(KEY))!.envelope;
    const now = new Date().toISOString();
    const redis = await connectRedis({ url: REDIS_URL! });
    try {
      await publishReplicaReport(
        redis,
        nats,
        { v: 1, replicaId, service: 'scheduler', configKey: KEY, revision: live.revision, reason: 'error', reportedAt: now, startedAt: now, pollIntervalMs: 1000, lastCheckAt: now, lastCheckTrigger: 'poll', sections: {}, lastError: { at: now, message, kind: 'redis-unavailable' } },
        60_000,
      );
      const tree = api.replicaTree;
      const node = await waitFor(
        'the hostile replica in the tree',
        () => {
          const service = tree.getChildren(tree.getChildren()[0]).find((n) => tree.getTreeItem(n).label === 'scheduler');
          return service ? tree.getChildren(service).find((n) => n.kind === 'replica' && n.replica.replicaId === replicaId) : undefined;
        },
        [api.replicaModel.onDidChange],
        15_000,
      );
      const item = tree.getTreeItem(node);
      assert.equal(item.label, displayText(replicaId));
      assert.equal(item.label, 'evil\\x1b]0;pwned\\x07-\\u202egnirts');
      assert.doesNotMatch(String(item.description), /simulated/, 'a report without the marker is not called simulated');
      const tooltip = (tree.resolveTreeItem(item, node).tooltip as vscode.MarkdownString).value;
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(tooltip, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/, 'no raw control character in the tooltip');
      assert.ok(tooltip.includes('\\[click me\\]\\(command:workbench\\.action\\.terminal\\.new\\)'), `the link is escaped: ${tooltip}`);
      assert.ok(tooltip.includes('\\$\\(zap\\)'), 'the icon syntax is escaped');
      assert.ok(tooltip.includes('\\*\\*loud\\*\\*'), 'the emphasis is escaped');
      assert.ok(tooltip.includes('\\\\x1b\\[2J'), 'the ESC is shown as \\x1b');
    } finally {
      await redis.multi().del(`driftlens:replica:{${KEY}}:scheduler:${replicaId}`).zrem(`driftlens:replicas:{${KEY}}`, `scheduler:${replicaId}`).exec();
      redis.disconnect();
    }
  });
});
