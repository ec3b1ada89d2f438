import * as vscode from 'vscode';
import { displayText } from '../core/displayText';
import { formatAge, formatDuration } from '../core/duration';
import { formatValue, type CheckState, type Measurement } from '../core/verification';
import { describeCheck, judgeRecord } from '../live/verifier';
import type { StoredCheck, VerificationRecord, VerificationState } from '../live/verificationStore';
import { markdownText } from './markdownText';
import { ownVerifier } from './verificationController';

/**
 * The Verify node of the Replicas view (under the document) and its children: one per check, and
 * the rollback when there was one. It renders the stored record as every client sees it; the
 * judging is the core's (judgeRecord), the same as the CLI's.
 */

export type VerifyTreeNode =
  | { kind: 'verify'; record: VerificationRecord }
  | { kind: 'verify-check'; record: VerificationRecord; check: StoredCheck; state: CheckState }
  | { kind: 'verify-rollback'; record: VerificationRecord };

const STATE_ICONS: Record<VerificationState, [string, string | undefined]> = {
  waiting: ['watch', 'driftlens.converging'],
  running: ['sync~spin', 'driftlens.converging'],
  passed: ['pass-filled', 'driftlens.inSync'],
  failed: ['error', 'driftlens.drifted'],
  inconclusive: ['question', 'driftlens.unknownOrigin'],
  superseded: ['debug-step-over', 'driftlens.quiet'],
};

const CHECK_ICONS: Record<CheckState, [string, string | undefined]> = {
  pending: ['circle-outline', 'driftlens.quiet'],
  running: ['clock', 'driftlens.converging'],
  passed: ['pass', 'driftlens.inSync'],
  failed: ['error', 'driftlens.drifted'],
  inconclusive: ['question', 'driftlens.unknownOrigin'],
};

const OUTCOME_MARKS: Record<Measurement['outcome'], string> = { passed: '✓', failed: '✗', inconclusive: '?', error: '!' };

const themeIcon = ([id, color]: [string, string | undefined]) => new vscode.ThemeIcon(id, color ? new vscode.ThemeColor(color) : undefined);

/** Measurements taken so far: the checks are measured together, the furthest one counts. */
export function measurementsTaken(record: VerificationRecord): number {
  return Math.max(0, ...record.checks.map((c) => c.measurements.length));
}

/** "verify 3/10", "verify failed": the status bar's and the node's short form. */
export function verifySummary(record: VerificationRecord): string {
  if (record.state === 'running' || record.state === 'waiting') return `verify ${measurementsTaken(record)}/${record.count}`;
  // After a rollback the live revision is the restored one: say so, not just "failed".
  if (record.rollback?.outcome === 'done') return `verify ${record.state}, rolled back`;
  return `verify ${record.state}`;
}

/** What the tree compares to decide whether a refresh shows anything new. */
export function verifySignature(record: VerificationRecord | undefined): string {
  return record ? `${record.revision}:${record.state}:${record.checks.map((c) => c.measurements.length).join(',')}:${record.rollback?.outcome ?? ''}` : '';
}

export function verifyChildren(node: VerifyTreeNode): VerifyTreeNode[] {
  if (node.kind !== 'verify') return [];
  const { checks } = judgeRecord(node.record);
  const out: VerifyTreeNode[] = node.record.checks.map((check, i) => ({ kind: 'verify-check', record: node.record, check, state: checks[i].state }));
  if (node.record.rollback) out.push({ kind: 'verify-rollback', record: node.record });
  return out;
}

export function verifyItem(node: VerifyTreeNode, now: number): vscode.TreeItem {
  const r = node.record;
  switch (node.kind) {
    case 'verify': {
      // Expanded: a few checks, and their values are what a person looks for (passed or not).
      const item = new vscode.TreeItem(`Verify revision ${r.revision}`, vscode.TreeItemCollapsibleState.Expanded);
      item.id = `verify:${r.revision}`;
      const other = r.verifier !== ownVerifier() && (r.state === 'running' || r.state === 'waiting') ? ` · by ${displayText(r.verifier)}` : '';
      const rolledBack = r.rollback?.outcome === 'done' ? ` · rolled back to ${r.rollback.toRevision}` : '';
      item.description = `${r.state} · ${measurementsTaken(r)}/${r.count} measurements${other}${rolledBack}`;
      item.iconPath = themeIcon(STATE_ICONS[r.state]);
      item.tooltip = recordTooltip(r, now);
      item.contextValue = `verify:${r.state}`;
      return item;
    }
    case 'verify-check': {
      const c = node.check;
      const item = new vscode.TreeItem(displayText(c.name), vscode.TreeItemCollapsibleState.None);
      item.id = `verify:${r.revision}:${c.name}`;
      // describeCheck starts with the name, which is the label already.
      item.description = displayText(describeCheck(c, r.count).slice(c.name.length + 1));
      item.iconPath = themeIcon(CHECK_ICONS[node.state]);
      item.tooltip = checkTooltip(r, c, node.state);
      item.contextValue = `verify-check:${node.state}`;
      return item;
    }
    case 'verify-rollback': {
      const b = r.rollback!;
      const item = new vscode.TreeItem(b.outcome === 'done' ? `Rolled back to revision ${b.toRevision}` : b.outcome === 'skipped' ? 'Rollback skipped' : 'Rollback failed', vscode.TreeItemCollapsibleState.None);
      item.id = `verify:${r.revision}:rollback`;
      item.description = b.newRevision !== undefined ? `as revision ${b.newRevision}` : displayText(b.message);
      item.iconPath = new vscode.ThemeIcon(b.outcome === 'done' ? 'history' : 'warning', new vscode.ThemeColor(b.outcome === 'done' ? 'driftlens.inSync' : 'driftlens.drifted'));
      item.tooltip = new vscode.MarkdownString(markdownText(b.message), true);
      item.contextValue = `verify-rollback:${b.outcome}`;
      return item;
    }
  }
}

function recordTooltip(r: VerificationRecord, now: number): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**Verify** ${markdownText(r.key)} revision ${r.revision} · $(${STATE_ICONS[r.state][0].replace('~spin', '')}) ${r.state}\n\n`);
  md.appendMarkdown(`${markdownText(r.reason)}\n\n`);
  md.appendMarkdown(`| | |\n|---|---|\n`);
  md.appendMarkdown(`| verifier | ${markdownText(r.verifier)}, last seen ${formatAge(now - Date.parse(r.heartbeatAt))} |\n`);
  md.appendMarkdown(`| Prometheus | ${markdownText(r.prometheus)} |\n`);
  md.appendMarkdown(`| schedule | ${r.count} measurements per check, every ${formatDuration(r.intervalMs)}, ${formatDuration(r.initialDelayMs)} after convergence |\n`);
  md.appendMarkdown(`| published | ${markdownText(r.publishedAt)} |\n`);
  if (r.startsAt) md.appendMarkdown(`| first measurement | ${markdownText(r.startsAt)} |\n`);
  if (r.endedAt) md.appendMarkdown(`| ended | ${markdownText(r.endedAt)} |\n`);
  md.appendMarkdown(`| on failure | ${r.onFailure} |\n`);
  for (const c of r.checks) md.appendMarkdown(`\n- \`${markdownText(c.name)}\`: ${c.measurements.map((m) => OUTCOME_MARKS[m.outcome]).join(' ') || 'no measurement yet'}`);
  if (r.rollback) md.appendMarkdown(`\n\n**Rollback ${r.rollback.outcome}**: ${markdownText(r.rollback.message)}`);
  return md;
}

function checkTooltip(r: VerificationRecord, c: StoredCheck, state: CheckState): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${markdownText(c.name)}** · $(${CHECK_ICONS[state][0]}) ${state} · ${c.measurements.length}/${r.count} measurements, failure limit ${c.failureLimit}\n\n`);
  md.appendMarkdown(`Query: ${markdownText(c.query)}\n\n`);
  md.appendMarkdown(`Baseline at the publish instant: ${c.baseline !== undefined ? formatValue(c.baseline) : markdownText(c.baselineNote ?? 'none')}\n\n`);
  if (c.measurements.length > 0) {
    md.appendMarkdown(`| # | at | value | | why |\n|---|---|---|---|---|\n`);
    for (const m of c.measurements) {
      md.appendMarkdown(`| ${m.index} | ${markdownText(m.at)} | ${m.value !== undefined ? formatValue(m.value) : '—'} | ${OUTCOME_MARKS[m.outcome]} ${m.outcome} | ${markdownText(m.reason)} |\n`);
    }
  }
  return md;
}
