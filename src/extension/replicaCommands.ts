import * as vscode from 'vscode';
import { displayText, iconLabelText } from '../core/displayText';
import type { JsonValue } from '../core/canonical';
import { publisherIdentity } from '../core/publishFlow';
import { renderForDiff } from '../core/publishPlan';
import { computeSectionHash, isSectionName } from '../core/sectionHash';
import { notifyChange } from '../live/publisher';
import type { LiveConnection } from './liveConnection';
import { PolicyProblem } from './liveSettings';
import type { ComponentLog } from './log';
import type { ReplicaModel } from './replicaModel';
import type { ReplicaTreeNode, ReplicaTreeProvider } from './replicaTree';
import { SEVERITY, STATE_LABELS } from '../core/convergence';
import type { ReplicaFilter } from '../core/fleetLayout';

export const SECTION_SCHEME = 'driftlens-section';

/**
 * A section's data at a revision, normalised for diffs: driftlens-section:/<section>@<revision>.yaml?<key>.
 * History holds the bytes of every revision DriftLens published, so a replica's applied hash can be
 * shown as data when it is one of them.
 */
class SectionContentProvider implements vscode.TextDocumentContentProvider {
  constructor(private readonly connection: LiveConnection) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const match = /^\/(\w+)@(\d+|live)\.yaml$/.exec(uri.path);
    if (!match) return '# unknown section document';
    const [, section, revision] = match;
    const store = await this.connection.store();
    const envelope = revision === 'live' ? (await store.read(uri.query))?.envelope : (await store.history(uri.query)).find((e) => e.revision === Number(revision));
    if (!envelope) return `# revision ${revision} of ${uri.query} is no longer available`;
    return renderForDiff((envelope.data[section] ?? null) as JsonValue);
  }
}

export function registerReplicaCommands(connection: LiveConnection, model: ReplicaModel, tree: ReplicaTreeProvider, log: ComponentLog): vscode.Disposable {
  return vscode.Disposable.from(
    vscode.workspace.registerTextDocumentContentProvider(SECTION_SCHEME, new SectionContentProvider(connection)),
    vscode.commands.registerCommand('driftlens.replicas.refresh', () => model.refresh()),
    vscode.commands.registerCommand('driftlens.replicas.showProblemsOnly', () => tree.setProblemsOnly(true)),
    vscode.commands.registerCommand('driftlens.replicas.showAll', () => tree.setProblemsOnly(false)),
    vscode.commands.registerCommand('driftlens.replicas.filterByState', () => pickReplicaFilter(model, tree)),
    vscode.commands.registerCommand('driftlens.replicas.copyReplicaId', async (node?: ReplicaTreeNode) => {
      if (node?.kind !== 'replica') return;
      await vscode.env.clipboard.writeText(node.replica.replicaId);
      vscode.window.setStatusBarMessage(`$(check) Copied ${iconLabelText(node.replica.replicaId)}`, 3000);
    }),
    vscode.commands.registerCommand('driftlens.replicas.openPolicy', async () => {
      const settings = await connection.settings().catch((e: unknown) => {
        if (e instanceof PolicyProblem) return e;
        throw e;
      });
      if (settings instanceof PolicyProblem) {
        // The policy at fault opens; with several and none chosen, choosing is the way out.
        if (settings.uri) await vscode.window.showTextDocument(settings.uri);
        else await vscode.commands.executeCommand('driftlens.choosePolicy');
      } else if (settings.policyUri) await vscode.window.showTextDocument(settings.policyUri);
      else void vscode.window.showInformationMessage('No drift policy in this workspace: DriftLens uses Cordum\'s defaults. Create a drift-policy.yaml (see the README) to set the key, subject and budgets.');
    }),
    vscode.commands.registerCommand('driftlens.replicas.renotify', async () => {
      const settings = await connection.settings();
      const key = settings.configKeyOverride ?? settings.policy.configKey;
      try {
        const live = (await (await connection.store()).read(key))?.envelope;
        if (!live) {
          void vscode.window.showWarningMessage(`${key} does not exist in Redis: nothing to notify about.`);
          return undefined;
        }
        const outcome = await notifyChange(() => connection.nats(), key, settings.policy.subject, publisherIdentity('vscode').senderId, live);
        if (!outcome.notified) throw new Error(outcome.notifyError);
        log.info(`re-notified ${settings.policy.subject} for ${key} revision ${live.revision} (trace ${outcome.traceId})`);
        vscode.window.setStatusBarMessage(`$(broadcast) Re-notified replicas of ${key} (revision ${live.revision})`, 4000);
        return outcome.traceId;
      } catch (e) {
        void vscode.window.showErrorMessage(`Re-notify failed: ${e instanceof Error ? e.message : String(e)}`);
        return undefined;
      }
    }),
    vscode.commands.registerCommand('driftlens.replicas.compareWithLive', async (node?: ReplicaTreeNode) => {
      if (node?.kind !== 'section' || !isSectionName(node.section.section)) return;
      const section = node.section.section;
      const applied = node.section.hash;
      const settings = await connection.settings();
      const key = settings.configKeyOverride ?? settings.policy.configKey;
      if (!applied) {
        void vscode.window.showInformationMessage(`${displayText(node.replica.replicaId)} has not applied ${section} yet: there is nothing to compare.`);
        return;
      }
      const history = await (await connection.store()).history(key);
      const source = history.find((e) => Object.prototype.hasOwnProperty.call(e.data, section) && computeSectionHash(section, e.data[section]).hash === applied);
      if (!source) {
        void vscode.window.showInformationMessage(`The bytes of ${section} hash ${applied.slice(0, 12)}… are unknown: it is not in DriftLens' history (published by another tool, or older than the history keeps).`);
        return;
      }
      const left = vscode.Uri.from({ scheme: SECTION_SCHEME, path: `/${section}@${source.revision}.yaml`, query: key });
      const right = vscode.Uri.from({ scheme: SECTION_SCHEME, path: `/${section}@live.yaml`, query: key });
      await vscode.commands.executeCommand('vscode.diff', left, right, `${displayText(node.replica.replicaId)}: ${section} (revision ${source.revision}) ↔ live`, { preview: true });
    }),
  );
}

/** One state (or all problems) out of the fleet, with the count of each, so that 3 drifted among 1,000 are one pick away. */
async function pickReplicaFilter(model: ReplicaModel, tree: ReplicaTreeProvider): Promise<void> {
  const m = model.model;
  type Pick = vscode.QuickPickItem & { filter: ReplicaFilter };
  const counts = m?.counts;
  const problems = m ? m.replicas.length - m.counts['in-sync'] : 0;
  const items: Pick[] = [
    { label: '$(warning) Problems', description: `${problems}`, detail: 'every replica not in sync', filter: 'problems' },
    ...SEVERITY.filter((s) => (counts?.[s] ?? 0) > 0).map((s): Pick => ({ label: STATE_LABELS[s], description: `${counts![s]}`, filter: s })),
    { label: '$(list-flat) All replicas', description: `${m?.replicas.length ?? 0}`, filter: undefined },
  ];
  const current = tree.filter;
  for (const item of items) item.picked = item.filter === current;
  const choice = await vscode.window.showQuickPick(items, { title: 'Show replicas in state', placeHolder: 'Filter the Replicas view' });
  if (choice) tree.setFilter(choice.filter);
}
