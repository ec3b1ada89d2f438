import * as vscode from 'vscode';
import { STATE_LABELS, type DriftModel, type DriftState, type ReplicaView, type SectionView } from '../core/convergence';
import { displayText } from '../core/displayText';
import { ChangePacer } from '../core/changePacer';
import { filterLabel, FleetLayout, GROUP_ABOVE, groupKey, stateCounts, type ReplicaFilter } from '../core/fleetLayout';
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

type ServiceNode = { kind: 'service'; service: string; replicas: ReplicaView[] };
type GroupNode = { kind: 'group'; service: string; state: DriftState; replicas: ReplicaView[] };
type ReplicaNode = { kind: 'replica'; replica: ReplicaView };

export type ReplicaTreeNode =
  | { kind: 'document'; model: DriftModel }
  | ServiceNode
  | GroupNode
  | ReplicaNode
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
 * The Replicas view: document → services → (state groups, past GROUP_ABOVE replicas) → replicas →
 * sections. It renders the model the core computed (no state logic here). Nodes keep their
 * identity across models, and each model fires `onDidChangeTreeData` only for the rows that
 * changed (FleetLayout decides which): at 1,000 replicas a whole-tree refresh per model makes
 * VS Code fetch and redraw every row. Those changes go out paced past VS Code's own debounce
 * (ChangePacer), so that each is refreshed at once. The counts per state live in the view header,
 * which costs no refresh; tooltips are built on hover (resolveTreeItem), so their "2s ago" is always now.
 */
export class ReplicaTreeProvider implements vscode.TreeDataProvider<ReplicaTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ReplicaTreeNode | ReplicaTreeNode[] | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly layout = new FleetLayout();
  private readonly subscriptions: vscode.Disposable[];
  private view: vscode.TreeView<ReplicaTreeNode> | undefined;
  /** Stable nodes: VS Code keys rows by element, so a row redraws in place. */
  private readonly documentNode: { kind: 'document'; model: DriftModel } = { kind: 'document', model: EMPTY_MODEL };
  private readonly serviceNodes = new Map<string, ServiceNode>();
  private readonly groupNodes = new Map<string, GroupNode>();
  private readonly replicaNodes = new Map<string, ReplicaNode>();
  /** Tree refreshes fired, and rows named in them (a whole refresh counts as one row). */
  refreshes = 0;
  refreshedRows = 0;
  /** Whether VS Code was last given the document row as the root's child (see update). */
  private rootHasDocument = false;
  /** Fires changes far enough apart for VS Code to refresh each at once (see ChangePacer). */
  private readonly pacer = new ChangePacer<ReplicaTreeNode>((change) => this.deliver(change));

  constructor(
    private readonly model: ReplicaModel,
    private readonly verification: VerificationController,
  ) {
    // The model ticks every second (converging turns into drifted on time); a tick that changes
    // no row fires nothing.
    this.subscriptions = [model.onDidChange(() => this.update()), verification.onDidChange(() => this.update())];
    void vscode.commands.executeCommand('setContext', 'driftlens.replicas.filtered', false);
  }

  /** The view whose header shows the counts and the filter. */
  attach(view: vscode.TreeView<ReplicaTreeNode>): void {
    this.view = view;
    this.updateHeader();
  }

  /** The line above the tree: the counts per state, and the filter when one is set. */
  get header(): string | undefined {
    return this.view?.message;
  }

  get filter(): ReplicaFilter {
    return this.layout.filter;
  }

  setFilter(filter: ReplicaFilter): void {
    void vscode.commands.executeCommand('setContext', 'driftlens.replicas.filtered', filter !== undefined);
    this.update({ filter });
  }

  setProblemsOnly(value: boolean): void {
    this.setFilter(value ? 'problems' : undefined);
  }

  /** `filter` given: a new filter (undefined = none); else the current one stays. */
  private update(filter?: { filter: ReplicaFilter }): void {
    const m = this.model.model;
    const verify = this.verification.current;
    // The document row shows the revision, the simulated count, the verification and the worst state (its icon).
    const root = m ? `${m.live?.key}|${m.live?.revision}|${m.simulated}|${m.replicas[0]?.state}|${m.replicas.length === 0}|${verifySignature(verify)}` : `none|${verifySignature(verify)}`;
    const change = this.layout.update(m, root, Date.now(), filter);
    this.documentNode.model = m ?? EMPTY_MODEL;
    for (const s of this.layout.services) {
      const node = this.serviceNodes.get(s.service);
      if (node) node.replicas = s.replicas;
      for (const g of s.groups ?? []) {
        const group = this.groupNodes.get(groupKey(s.service, g.state));
        if (group) group.replicas = g.replicas;
      }
    }
    const members = new Set<string>();
    for (const r of m?.replicas ?? []) {
      members.add(r.member);
      const node = this.replicaNodes.get(r.member);
      if (node) node.replica = r;
    }
    // A replica that left the model leaves with its parent's refresh (its group or service changed).
    for (const member of this.replicaNodes.keys()) if (!members.has(member)) this.replicaNodes.delete(member);
    // A node never handed to VS Code has no row to redraw.
    const rows = [
      ...change.services.map((s) => this.serviceNodes.get(s)),
      ...change.groups.map((g) => this.groupNodes.get(g)),
      ...change.replicas.map((r) => this.replicaNodes.get(r)),
    ].filter((n): n is NonNullable<typeof n> => n !== undefined);
    this.pacer.add(rows, change.whole);
    // A new filter is the person's own click: drawn at once, whatever the pace.
    this.pacer.flush(filter !== undefined);
  }

  /** Fires the rows (or everything), then brings the counts above the tree up to date; says whether it did either. */
  private deliver(change: { whole: boolean; rows: ReplicaTreeNode[] }): boolean {
    let fired = false;
    if (change.whole) {
      this.refreshes++;
      this.refreshedRows++;
      // The document row and everything under it, rather than the root, while VS Code holds that row:
      // a root refresh makes the extension host forget every row at once, and the workbench's pending
      // request for the document's children then fails ("No tree item with id '1/document'"), leaving
      // it open and empty until the next root refresh (a UI scenario caught it). A refresh of an
      // element keeps the rows the workbench may still ask about until it completes.
      const m = this.model.model;
      const hasDocument = m !== undefined && (m.replicas.length > 0 || this.verification.current !== undefined);
      this.changed.fire(hasDocument && this.rootHasDocument ? [this.documentNode] : undefined);
      fired = true;
    } else if (change.rows.length > 0) {
      this.refreshes++;
      this.refreshedRows += change.rows.length;
      this.changed.fire(change.rows);
      fired = true;
    }
    // The message after the rows: a change of it restarts VS Code's debounce too, and set first it
    // would hold the rows back by 200 ms.
    return this.updateHeader() || fired;
  }

  /**
   * The counts go in the view's message, the line above the tree: a view alone in its container
   * (the Replicas view is) has no header of its own to show a description in.
   */
  private updateHeader(): boolean {
    if (!this.view) return false;
    const m = this.model.model;
    const filter = this.layout.filter;
    const shown = this.layout.services.reduce((n, s) => n + s.replicas.length, 0);
    const counts = m && m.replicas.length ? stateCounts(m) : undefined;
    const message = counts === undefined ? undefined : filter === undefined ? counts : `${counts} — showing ${filterLabel(filter)} only: ${shown} of ${m!.replicas.length}`;
    if (this.view.message === message) return false;
    this.view.message = message;
    return true;
  }

  getChildren(node?: ReplicaTreeNode): ReplicaTreeNode[] {
    const model = this.model.model;
    const verify = this.verification.current;
    // A verification shows even with no replica reporting (its checks measure the service anyway).
    if (!node) this.rootHasDocument = false;
    if (!model || (model.replicas.length === 0 && !verify)) return [];
    if (!node) {
      this.rootHasDocument = true;
      return [this.documentNode];
    }
    if (node.kind === 'verify') return verifyChildren(node);
    if (node.kind === 'document') {
      const verifyNode: ReplicaTreeNode[] = verify && verify.key === model.live?.key ? [{ kind: 'verify', record: verify }] : [];
      return [...verifyNode, ...this.layout.services.map((s) => this.cached<ServiceNode>(this.serviceNodes, s.service, { kind: 'service', service: s.service, replicas: s.replicas }))];
    }
    if (node.kind === 'service') {
      const layout = this.layout.services.find((s) => s.service === node.service);
      if (layout?.groups) return layout.groups.map((g) => this.cached<GroupNode>(this.groupNodes, groupKey(node.service, g.state), { kind: 'group', service: node.service, state: g.state, replicas: g.replicas }));
      return node.replicas.map((replica) => this.replicaNode(replica));
    }
    if (node.kind === 'group') return node.replicas.map((replica) => this.replicaNode(replica));
    if (node.kind === 'replica') return node.replica.sections.map((section) => ({ kind: 'section', replica: node.replica, section }));
    return [];
  }

  private replicaNode(replica: ReplicaView): ReplicaTreeNode {
    return this.cached<ReplicaNode>(this.replicaNodes, replica.member, { kind: 'replica', replica });
  }

  private cached<N extends ServiceNode | GroupNode | ReplicaNode>(map: Map<string, N>, key: string, fresh: N): N {
    const node = map.get(key);
    if (!node) return map.set(key, fresh).get(key)!;
    Object.assign(node, fresh);
    return node;
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
        // The counts per state are in the view header: here they would redraw the whole tree per change.
        item.description = [m.live ? `revision ${m.live.revision}` : m.summary, ...(m.simulated ? [`${m.simulated} simulated`] : []), ...(verify ? [verifySummary(verify)] : [])].join(' · ');
        const worst = m.replicas[0]?.state ?? 'not-checked';
        item.iconPath = icon(worst);
        item.contextValue = 'document';
        return item;
      }
      case 'service': {
        const layout = this.layout.services.find((s) => s.service === node.service);
        const all = layout?.all ?? node.replicas;
        const inSync = all.filter((r) => r.state === 'in-sync').length;
        // Always open: VS Code keeps a row's first collapsible state through every refresh, so a
        // service drawn collapsed while all was in sync would hide the drifted group that appears
        // under it later. Its children are a handful of state groups (the large in-sync one closed)
        // or at most GROUP_ABOVE replicas, so open costs little.
        const item = new vscode.TreeItem(displayText(node.service), vscode.TreeItemCollapsibleState.Expanded);
        item.id = `service:${node.service}`;
        const simulated = all.filter((r) => r.simulated).length;
        // Grouped, the group rows count each state (and the line above the tree counts them all): here
        // only the size, so that a replica changing state does not redraw the service and its open groups.
        item.description = `${layout?.groups ? `${all.length} replicas` : `${inSync}/${all.length} in sync`}${simulated === all.length ? ' · simulated' : simulated ? ` · ${simulated} simulated` : ''}`;
        item.iconPath = new vscode.ThemeIcon('server-environment');
        item.contextValue = 'service';
        return item;
      }
      case 'group': {
        // Problems open, the (large) in-sync group stays closed: its rows are fetched only when opened.
        const open = node.state !== 'in-sync' || node.replicas.length <= GROUP_ABOVE;
        const item = new vscode.TreeItem(STATE_LABELS[node.state], open ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `group:${node.service}:${node.state}`;
        item.description = `${node.replicas.length}`;
        item.iconPath = icon(node.state);
        item.contextValue = `group:${node.state}`;
        return item;
      }
      case 'replica': {
        const r = node.replica;
        const item = new vscode.TreeItem(displayText(r.replicaId), vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `replica:${r.member}`;
        // Rows in sync are not redrawn as they age (see FleetLayout): their age is in the tooltip. A
        // replica that does not report has no age at all.
        const registered = registryText(r);
        item.description = `${r.simulated ? 'simulated · ' : ''}${STATE_LABELS[r.state]}${r.state === 'in-sync' || r.state === 'not-reporting' ? '' : ` · ${ago(r.lastReportMs, now)}`}${registered ? ` · ${registered}` : ''}`;
        item.iconPath = icon(r.state);
        item.contextValue = `replica:${r.state}`;
        return item;
      }
      case 'section': {
        const s = node.section;
        const item = new vscode.TreeItem(s.section, vscode.TreeItemCollapsibleState.None);
        item.id = `section:${node.replica.member}:${s.section}`;
        item.description = sectionDescription(s, now);
        item.iconPath = icon(s.state);
        item.contextValue = `section:${s.state}`;
        return item;
      }
    }
  }

  /** Tooltips on hover, with ages as of now. */
  resolveTreeItem(item: vscode.TreeItem, node: ReplicaTreeNode): vscode.TreeItem {
    const now = Date.now();
    if (node.kind === 'document') item.tooltip = documentTooltip(node.model, now);
    else if (node.kind === 'replica') item.tooltip = replicaTooltip(node.replica, now);
    else if (node.kind === 'section') item.tooltip = sectionTooltip(node.replica, node.section, this.model.model ?? EMPTY_MODEL, now);
    return item;
  }

  dispose(): void {
    this.pacer.dispose();
    this.changed.dispose();
    for (const s of this.subscriptions) s.dispose();
  }
}

const EMPTY_MODEL: DriftModel = { replicas: [], counts: {} as DriftModel['counts'], summary: '', breaches: 0, simulated: 0 };
