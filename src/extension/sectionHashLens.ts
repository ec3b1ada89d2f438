import * as vscode from 'vscode';
import type { DriftModel } from '../core/convergence';
import type { DriftDocuments } from './driftDocuments';
import { NOT_HASH_GATED, NOT_HASH_GATED_WHY } from '../core/schedulerSection';
import { toRange } from './ranges';
import type { ReplicaModel } from './replicaModel';

/** How a hash reads inline: enough to compare by eye, the full value one click away. */
export function shortHash(hash: string): string {
  return `${hash.slice(0, 12)}…${hash.slice(-4)}`;
}

/**
 * Above each hash-gated section: the hash every replica computes from it, with Copy and Explain;
 * or, when the section is invalid, why replicas will not apply it. Above `scheduler`: that it has
 * no hash at all (replicas re-apply it on every reload), so nobody looks for one.
 */
export class SectionHashLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];

  private replicaSignature = '';
  /** Who runs what, counted once per model (not once per lens): undefined without replicas. */
  private counts: ReplicaCounts | undefined;

  constructor(
    private readonly documents: DriftDocuments,
    replicas?: ReplicaModel,
  ) {
    const model = replicas?.model;
    this.counts = model && model.replicas.length > 0 ? runningCounts(model) : undefined;
    this.subscriptions = [
      documents.onDidAnalyze(() => this.changed.fire()),
      // The model ticks every second; lenses change only when who-runs-what changes.
      ...(replicas
        ? [
            replicas.onDidChange((model) => {
              // What the lenses show, small: a per-replica string of hashes was 130 KB per model at 1,000 replicas.
              this.counts = model && model.replicas.length > 0 ? runningCounts(model) : undefined;
              const counts = this.counts;
              const signature = model ? `${counts === undefined}|${counts?.reporting ?? 0}|${counts ? [...counts.running].map(([k, v]) => `${k}=${v.running}/${v.simulated}`).sort().join(';') : ''}` : '';
              if (signature !== this.replicaSignature) {
                this.replicaSignature = signature;
                this.changed.fire();
              }
            }),
          ]
        : []),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('driftlens.sectionHash.show')) this.changed.fire();
      }),
    ];
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (!vscode.workspace.getConfiguration('driftlens').get<boolean>('sectionHash.show', true)) return [];
    const entry = this.documents.peek(document);
    if (!entry) return [];
    const lenses: vscode.CodeLens[] = [];
    for (const section of entry.analysis.sections) {
      const range = toRange(document, { start: section.anchor.start, end: section.anchor.start });
      if (section.hash) {
        lenses.push(
          new vscode.CodeLens(range, {
            title: `$(key) ${section.name} sha256 ${shortHash(section.hash)}${this.replicaCount(section.name, section.hash)}`,
            tooltip: `${section.name} section hash, as every replica computes it:\n${section.hash}\nClick to copy.`,
            command: 'driftlens.copySectionHash',
            arguments: [document.uri, section.name],
          }),
          new vscode.CodeLens(range, {
            title: 'Explain',
            tooltip: 'Open the canonical JSON bytes that were hashed',
            command: 'driftlens.explainSectionHash',
            arguments: [document.uri, section.name],
          }),
        );
      } else {
        lenses.push(
          new vscode.CodeLens(range, {
            title: `$(error) ${section.name}: no hash, replicas will not apply it`,
            tooltip: section.reason ?? 'The section is invalid.',
            command: 'workbench.actions.view.problems',
          }),
        );
      }
    }
    for (const section of entry.analysis.ungated) {
      // Plain text (no command): there is nothing to copy or explain, only a fact to state.
      lenses.push(
        new vscode.CodeLens(toRange(document, { start: section.anchor.start, end: section.anchor.start }), {
          title: `$(sync) ${section.name}: not hash-gated, ${NOT_HASH_GATED}`,
          tooltip: NOT_HASH_GATED_WHY,
          command: '',
        }),
      );
    }
    return lenses;
  }

  /** " · 3/4 replicas (3 simulated)": how many live (not stale) replicas run exactly this hash, simulated ones marked. */
  private replicaCount(section: string, hash: string): string {
    const counts = this.counts;
    if (!counts) return '';
    const { running = 0, simulated = 0 } = counts.running.get(`${section}\u0000${hash}`) ?? {};
    return ` · ${running}/${counts.reporting} replicas${simulated ? ` (${simulated} simulated)` : ''}`;
  }

  dispose(): void {
    this.changed.dispose();
    for (const s of this.subscriptions) s.dispose();
  }
}

interface ReplicaCounts {
  reporting: number;
  running: Map<string, { running: number; simulated: number }>;
}

/** Live (not stale) replicas, and how many of them run each section hash (`section\0hash`), simulated ones apart. */
function runningCounts(model: DriftModel): ReplicaCounts {
  let reporting = 0;
  const running = new Map<string, { running: number; simulated: number }>();
  for (const r of model.replicas) {
    if (r.state === 'stale') continue;
    reporting++;
    // One view per section in a replica: each key counts a replica once.
    for (const section of r.sections) {
      const key = `${section.section}\u0000${section.hash}`;
      const count = running.get(key) ?? { running: 0, simulated: 0 };
      count.running++;
      if (r.simulated) count.simulated++;
      running.set(key, count);
    }
  }
  return { reporting, running };
}
