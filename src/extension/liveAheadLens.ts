import * as vscode from 'vscode';
import type { JsonValue } from '../core/canonical';
import { changeSet } from '../core/changeSet';
import type { LiveSnapshot } from '../core/convergence';
import { iconLabelText } from '../core/displayText';
import { documentConfigKey } from '../core/documentKey';
import type { DriftDocuments } from './driftDocuments';
import type { LiveConnection } from './liveConnection';
import type { ReplicaModel } from './replicaModel';

type DataMap = { [key: string]: JsonValue };

/** "just now", "5 min ago", "3 h ago", "2 days ago": coarse, so the lens changes at most once a minute. */
export function roughAge(elapsedMs: number): string {
  const min = Math.floor(Math.max(0, elapsedMs) / 60_000);
  if (min < 1) return 'just now';
  if (min < 60) return `${min} min ago`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} days ago`;
}

/** "pools changed", "pools and timeouts changed", "scheduler changed": what live changed since `base`. */
function changedSections(base: DataMap, live: DataMap, sections: Parameters<typeof changeSet>[2]): string {
  const names = [...new Set(changeSet(base, live, sections).changes.map((c) => iconLabelText(c.section)))];
  if (names.length === 0) return '';
  const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  return `${list} changed`;
}

/**
 * On the first line of an envelope file that live has moved past (someone published since it was
 * pulled or last published): "live is revision 12, 2 ahead of this file: pools changed by alice
 * 5 min ago". It follows the replica model, which re-reads live on every change notification, so it
 * appears as soon as another person publishes. What changed is read from DriftLens' history (the
 * file's own revision against live); without that revision in history, only who and when are said.
 */
export class LiveAheadLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];
  private signature = '';
  /** `key@fileRevision->liveRevision` -> "pools changed" ('' once known to be nothing, undefined while read). */
  private readonly what = new Map<string, string | undefined>();

  constructor(
    private readonly documents: DriftDocuments,
    private readonly replicas: ReplicaModel,
    private readonly connection: LiveConnection,
  ) {
    this.subscriptions = [
      this.changed,
      documents.onDidAnalyze(() => this.changed.fire()),
      // The model ticks every second; the lens changes with the live revision and the minute.
      replicas.onDidChange((model) => {
        const live = model?.live;
        const signature = live ? `${live.key}@${live.revision} ${roughAge(Date.now() - live.publishedAtMs)}` : '';
        if (signature !== this.signature) {
          this.signature = signature;
          this.changed.fire();
        }
      }),
    ];
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const entry = this.documents.peek(document);
    if (!entry || entry.kind !== 'config' || !entry.analysis.isEnvelope) return [];
    const root = entry.analysis.parsed.located.value as DataMap;
    const fileRevision = root.revision;
    if (typeof fileRevision !== 'number') return [];
    const live = this.replicas.model?.live;
    // An envelope file with a revision was pulled or published: it is worth watching live for
    // (idempotent; the model pauses again when no such editor is visible, see replicaConsumers.ts).
    if (!live) {
      if (vscode.workspace.isTrusted) void this.replicas.ensureStarted();
      return [];
    }
    if (live.revision <= fileRevision) return [];
    const key = documentConfigKey(entry.analysis);
    if (key !== undefined && key !== live.key) return [];
    const ahead = live.revision - fileRevision;
    const what = this.whatChanged(live, fileRevision);
    const by = live.publishedBy ? ` by ${iconLabelText(live.publishedBy)}` : '';
    const title = `$(arrow-circle-up) live is revision ${live.revision}, ${ahead} ahead of this file${what || by ? ': ' : ''}${what}${by} ${roughAge(Date.now() - live.publishedAtMs)}`;
    return [
      new vscode.CodeLens(new vscode.Range(0, 0, 0, 0), {
        title,
        tooltip: `${live.key} is at revision ${live.revision}; this file was pulled or last published at revision ${fileRevision}. Publishing it as it is would be a revision conflict. Click to compare with live.`,
        command: 'driftlens.compareWithLive',
        arguments: [document.uri],
      }),
    ];
  }

  /** What live changed since the file's revision, read once per (file revision, live revision); '' until known. */
  private whatChanged(live: LiveSnapshot, fileRevision: number): string {
    const id = `${live.key}@${fileRevision}->${live.revision}`;
    if (this.what.has(id)) return this.what.get(id) ?? '';
    this.what.set(id, undefined);
    void (async () => {
      try {
        const [settings, store] = await Promise.all([this.connection.settings(), this.connection.store()]);
        const [history, current] = await Promise.all([store.history(live.key), store.read(live.key)]);
        const base = history.find((e) => e.revision === fileRevision);
        this.what.set(id, base && current ? changedSections(base.data, current.envelope.data, settings.policy.sections) : '');
      } catch {
        this.what.set(id, '');
      }
      this.changed.fire();
    })();
    return '';
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
  }
}
