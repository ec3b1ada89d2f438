import * as vscode from 'vscode';
import { STATE_LABELS, type DriftModel, type DriftState, type ReplicaView, type SectionView } from '../core/convergence';
import { displayText } from '../core/displayText';
import { formatAge, formatDuration } from '../core/duration';
import { markdownText } from './markdownText';
import type { ReplicaModel } from './replicaModel';
import type { VerificationController } from './verificationController';
import { verifyChildren, verifyItem, verifySignature, verifySummary, type VerifyTreeNode } from './verifyTree';

/** Icon and colour per state; colours are contributed (driftlens.*) so themes can change them. */
const ICONS: Record<DriftState, [string, string]> = {
  'in-sync': ['pass-filled', 'driftlens.inSync'],
  converging: ['clock', 'driftlens.converging'],
  drifted: ['warning', 'driftlens.drifted'],
  rejected: ['error', 'driftlens.drifted'],
  'unknown-origin': ['question', 'driftlens.unknownOrigin'],
  stale: ['debug-disconnect', 'driftlens.quiet'],
  'not-checked': ['circle-outline', 'driftlens.quiet'],
  'not-reporting': ['eye-closed', 'driftlens.notReporting'],
};

function icon(state: DriftState): vscode.ThemeIcon {
  const [id, color] = ICONS[state];
  return new vscode.ThemeIcon(id, new vscode.ThemeColor(color));
}

const short = (hash: string | undefined) => (hash ? hash.slice(0, 12) : '—');
const ago = (ms: number | undefined, now: number) => (ms === undefined ? 'never' : formatAge(now - ms));
const SIMULATED_NOTE = 'Simulated replica (`driftlens replicas` or a test), not a real service: its report says `simulated: true`.';

export type ReplicaTreeNode =
  | { kind: 'document'; model: DriftModel }
  | { kind: 'service'; service: string; replicas: ReplicaView[] }
  | { kind: 'replica'; replica: ReplicaView }
  | { kind: 'section'; replica: ReplicaView; section: SectionView }
  | VerifyTreeNode;

function sectionDescription(s: SectionView, now: number): string {
  if (s.state === 'in-sync' && s.convergenceMs !== undefined) {
    return `${short(s.hash).slice(0, 8)} · ${formatDuration(s.convergenceMs)} by ${s.trigger}${s.withinBudget === false ? ' · over budget' : ''}`;
  }
  if (s.state === 'in-sync') return `${short(s.hash).slice(0, 8)} · in sync`;
  if (s.state === 'converging' || s.state === 'drifted') return `${short(s.hash).slice(0, 8)} · ${STATE_LABELS[s.state]}`;
  return `${STATE_LABELS[s.state]}${s.appliedAtMs ? ` · applied ${ago(s.appliedAtMs, now)}` : ''}`;
}

function sectionTooltip(r: ReplicaView, s: SectionView, model: DriftModel, now: number): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${markdownText(r.member)}** · \`${s.section}\` · $(${ICONS[s.state][0]}) ${STATE_LABELS[s.state]}\n\n`);
  if (r.simulated) md.appendMarkdown(`${SIMULATED_NOTE}\n\n`);
  md.appendMarkdown(`${markdownText(s.why)}\n\n`);
  md.appendMarkdown(`| | |\n|---|---|\n`);
  md.appendMarkdown(`| applied hash | \`${s.hash ?? '—'}\` |\n| live hash | \`${s.liveHash ?? '— (invalid live section)'}\` |\n`);
  if (s.appliedAtMs !== undefined) md.appendMarkdown(`| applied | ${new Date(s.appliedAtMs).toISOString()} (${ago(s.appliedAtMs, now)}) by ${s.trigger} |\n`);
  if (model.live) md.appendMarkdown(`| published | revision ${model.live.revision}, ${new Date(model.live.publishedAtMs).toISOString()} (${ago(model.live.publishedAtMs, now)}) |\n`);
  if (s.convergenceMs !== undefined && s.budget) {
    md.appendMarkdown(`| convergence | ${formatDuration(s.convergenceMs)} against ${s.budget.name} ${s.budget.bound.inclusive ? '≤' : '<'} ${formatDuration(s.budget.bound.ms)} ${s.withinBudget ? '✓' : '**✗ over budget**'} |\n`);
  }
  if (s.trigger === 'poll' && s.convergenceMs !== undefined) md.appendMarkdown(`\nConverged by **poll**: the notification did not reach this replica.\n`);
  if (r.lastError) md.appendMarkdown(`\nLast error (${r.lastError.kind}, ${ago(r.lastError.atMs, now)}): ${markdownText(r.lastError.message)}\n`);
  return md;
}

/** Version and commit from Cordum's instance registry, or why there are none; for descriptions. */
function registryText(r: ReplicaView): string | undefined {
  if (r.registry) return displayText([r.registry.version, r.registry.commit?.slice(0, 12)].filter(Boolean).join(' ') || 'registered');
  if (r.reportingOnly) return 'reporting only';
  return undefined;
}

function registryTooltip(md: vscode.MarkdownString, r: ReplicaView, now: number): void {
  const i = r.registry;
  if (i) {
    md.appendMarkdown(`Registered as ${markdownText(i.key)}: version **${markdownText(i.version ?? 'none')}**, commit **${markdownText(i.commit ?? 'none')}**${i.startedAt ? `, started ${markdownText(i.startedAt)}` : ''}\n\n`);
    if (i.problem) md.appendMarkdown(`The registry value is odd: ${markdownText(i.problem)}\n\n`);
  } else if (r.reportingOnly) {
    md.appendMarkdown('Reporting only: it sends DriftLens reports, but Cordum\'s instance registry does not list it.\n\n');
  }
  if (r.leftRegistryMs !== undefined) md.appendMarkdown(`Left the instance registry ${ago(r.leftRegistryMs, now)}.\n\n`);
}

function replicaTooltip(r: ReplicaView, now: number): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${markdownText(r.replicaId)}** (${markdownText(r.service)}) · $(${ICONS[r.state][0]}) ${STATE_LABELS[r.state]}\n\n`);
  if (r.simulated) md.appendMarkdown(`${SIMULATED_NOTE}\n\n`);
  registryTooltip(md, r, now);
  if (r.state === 'not-reporting') {
    const why = r.sections[0]?.why ?? 'alive per the instance registry, but it sends no DriftLens report: install the agent';
    md.appendMarkdown(`${markdownText(why.charAt(0).toUpperCase() + why.slice(1))}.\n`);
    return md;
  }
  md.appendMarkdown(`Last report ${ago(r.lastReportMs, now)}`);
  if (r.revision !== undefined && r.revision !== null) md.appendMarkdown(` · read revision ${r.revision}`);
  if (r.pollIntervalMs) md.appendMarkdown(` · polls every ${formatDuration(r.pollIntervalMs)}`);
  md.appendMarkdown('\n\n');
  for (const s of r.sections) md.appendMarkdown(`- \`${s.section}\`: ${STATE_LABELS[s.state]}, ${markdownText(s.why)}\n`);
  if (r.lastError) md.appendMarkdown(`\nLast error (${r.lastError.kind}): ${markdownText(r.lastError.message)}\n`);
  return md;
}

function documentTooltip(model: DriftModel, now: number): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  const live = model.live;
  if (!live) return md.appendMarkdown('The config document does not exist in Redis yet.');
  md.appendMarkdown(`**${markdownText(live.key)}** · revision ${live.revision}\n\n`);
  md.appendMarkdown(`Published ${new Date(live.publishedAtMs).toISOString()} (${ago(live.publishedAtMs, now)})${live.publishedBy ? ` by ${markdownText(live.publishedBy)}` : ''}\n\n`);
  for (const [name, hash] of Object.entries(live.sections)) md.appendMarkdown(`- \`${name}\` \`${hash ?? 'invalid: no hash'}\`\n`);
  md.appendMarkdown(`\n${model.summary}${model.breaches ? ` · **${model.breaches} over budget**` : ''}`);
  if (model.simulated) md.appendMarkdown(`\n\n${model.simulated} of the replicas are simulated (\`driftlens replicas\`), not real services.`);
  return md;
}

/**
 * The Replicas view: document → services → replicas → sections. It renders the model the core
 * computed (no state logic here); the watcher coalesces bursts of reports, the tree skips ticks
 * that change nothing a person would see.
 */
export class ReplicaTreeProvider implements vscode.TreeDataProvider<ReplicaTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ReplicaTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private problemsOnly = false;
  private readonly subscriptions: vscode.Disposable[];
  /** Counts tree refreshes. */
  refreshes = 0;
  private lastSignature = '';
  private lastRefresh = 0;

  constructor(
    private readonly model: ReplicaModel,
    private readonly verification: VerificationController,
  ) {
    // The model ticks every second so that converging turns into drifted on time. The tree
    // refreshes at once when a state, hash or revision changed, and every 5 s otherwise, only
    // to age the "2s ago" labels: with 1,000 replicas a full refresh per tick is wasted work.
    const refresh = () => {
      const m = this.model.model;
      const signature = m ? `${verifySignature(this.verification.current)}|${m.live?.revision}|${m.replicas.map((r) => `${r.member}:${r.state}:${r.sections.map((x) => `${x.state}${x.hash ?? ''}`).join(',')}`).join(';')}` : '';
      const now = Date.now();
      if (signature === this.lastSignature && now - this.lastRefresh < 5000) return;
      this.lastSignature = signature;
      this.lastRefresh = now;
      this.refreshes++;
      this.changed.fire(undefined);
    };
    this.subscriptions = [model.onDidChange(refresh), verification.onDidChange(refresh)];
    void vscode.commands.executeCommand('setContext', 'driftlens.replicas.problemsOnly', false);
  }

  setProblemsOnly(value: boolean): void {
    this.problemsOnly = value;
    this.lastSignature = '';
    void vscode.commands.executeCommand('setContext', 'driftlens.replicas.problemsOnly', value);
    this.changed.fire(undefined);
  }

  getChildren(node?: ReplicaTreeNode): ReplicaTreeNode[] {
    const model = this.model.model;
    const verify = this.verification.current;
    // A verification shows even with no replica reporting (its checks measure the service anyway).
    if (!model || (model.replicas.length === 0 && !verify)) return [];
    if (!node) return [{ kind: 'document', model }];
    if (node.kind === 'verify') return verifyChildren(node);
    if (node.kind === 'document') {
      const visible = model.replicas.filter((r) => !this.problemsOnly || r.state !== 'in-sync');
      const services = new Map<string, ReplicaView[]>();
      for (const r of visible) services.set(r.service, [...(services.get(r.service) ?? []), r]);
      const verifyNode: ReplicaTreeNode[] = verify && verify.key === model.live?.key ? [{ kind: 'verify', record: verify }] : [];
      return [...verifyNode, ...[...services].map(([service, replicas]): ReplicaTreeNode => ({ kind: 'service', service, replicas }))];
    }
    if (node.kind === 'service') return node.replicas.map((replica) => ({ kind: 'replica', replica }));
    if (node.kind === 'replica') return node.replica.sections.map((section) => ({ kind: 'section', replica: node.replica, section }));
    return [];
  }

  getTreeItem(node: ReplicaTreeNode): vscode.TreeItem {
    const now = Date.now();
    const verify = this.verification.current;
    switch (node.kind) {
      case 'verify':
      case 'verify-check':
      case 'verify-rollback':
        return verifyItem(node, now);
      case 'document': {
        const m = node.model;
        const item = new vscode.TreeItem(m.live?.key ?? 'no live document', vscode.TreeItemCollapsibleState.Expanded);
        item.id = 'document';
        item.description = (m.live ? `revision ${m.live.revision} · ${m.summary}` : m.summary) + (m.simulated ? ` · ${m.simulated} simulated` : '') + (verify ? ` · ${verifySummary(verify)}` : '');
        item.tooltip = documentTooltip(m, now);
        const worst = m.replicas[0]?.state ?? 'not-checked';
        item.iconPath = icon(worst);
        item.contextValue = 'document';
        return item;
      }
      case 'service': {
        const inSync = node.replicas.filter((r) => r.state === 'in-sync').length;
        const problems = node.replicas.length - inSync;
        const item = new vscode.TreeItem(displayText(node.service), problems > 0 || node.replicas.length <= 20 ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `service:${node.service}`;
        const simulated = node.replicas.filter((r) => r.simulated).length;
        item.description = `${inSync}/${node.replicas.length} in sync${simulated === node.replicas.length ? ' · simulated' : simulated ? ` · ${simulated} simulated` : ''}`;
        item.iconPath = new vscode.ThemeIcon('server-environment');
        item.contextValue = 'service';
        return item;
      }
      case 'replica': {
        const r = node.replica;
        const item = new vscode.TreeItem(displayText(r.replicaId), vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `replica:${r.member}`;
        const registered = registryText(r);
        item.description = `${r.simulated ? 'simulated · ' : ''}${STATE_LABELS[r.state]}${r.state === 'not-reporting' ? '' : ` · ${ago(r.lastReportMs, now)}`}${registered ? ` · ${registered}` : ''}`;
        item.tooltip = replicaTooltip(r, now);
        item.iconPath = icon(r.state);
        item.contextValue = `replica:${r.state}`;
        return item;
      }
      case 'section': {
        const s = node.section;
        const item = new vscode.TreeItem(s.section, vscode.TreeItemCollapsibleState.None);
        item.id = `section:${node.replica.member}:${s.section}`;
        item.description = sectionDescription(s, now);
        item.tooltip = sectionTooltip(node.replica, s, this.model.model ?? { replicas: [], counts: {} as DriftModel['counts'], summary: '', breaches: 0, simulated: 0 }, now);
        item.iconPath = icon(s.state);
        item.contextValue = `section:${s.state}`;
        return item;
      }
    }
  }

  dispose(): void {
    this.changed.dispose();
    for (const s of this.subscriptions) s.dispose();
  }
}
