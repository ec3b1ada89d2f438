import { readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import { analyzeDocument, refusedDocumentAnalysis, type DocumentAnalysis } from '../core/analysis';
import { classifyDocument, matchablePath, type DocumentKind } from '../core/classify';
import { documentTooLarge, formatForFileName, MAX_DOCUMENT_BYTES, type DocumentFormat } from '../core/document';
import type { Problem } from '../core/problems';
import { decodeDocumentBytes } from '../core/textDecoding';
import type { ComponentLog } from './log';

/** classifyDocument reads no further than this. */
const CLASSIFY_HEAD_CHARS = 2048;

export interface DriftDocument {
  uri: vscode.Uri;
  version: number;
  kind: DocumentKind;
  analysis: DocumentAnalysis;
}

/**
 * Knows which open documents are DriftLens documents and holds one analysis per document version,
 * shared by diagnostics, hash lenses and commands (parse once per version). Edits are debounced;
 * listeners hear about each new analysis.
 */
export class DriftDocuments implements vscode.Disposable {
  private readonly cache = new Map<string, DriftDocument>();
  /**
   * The document object each analysis was made from. A URI and version do not name a text for
   * good: an untitled document closed and a new one opened get the same "Untitled-1" at version 1,
   * and VS Code reports the close only later, so the old analysis would be taken for the new text.
   */
  private readonly analysedFrom = new WeakMap<DriftDocument, vscode.TextDocument>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly changed = new vscode.EventEmitter<DriftDocument>();
  private readonly closed = new vscode.EventEmitter<vscode.Uri>();
  private readonly disposables: vscode.Disposable[] = [this.changed, this.closed];

  /** Fires after a document version was analysed (debounced while typing). */
  readonly onDidAnalyze = this.changed.event;
  /** Fires when a document stops being a DriftLens document (closed, or no longer matches). */
  readonly onDidForget = this.closed.event;

  constructor(private readonly log: ComponentLog) {
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((d) => this.refresh(d)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length > 0) this.schedule(e.document);
      }),
      vscode.workspace.onDidCloseTextDocument((d) => {
        // A late close of an untitled document whose URI a new one already took: not the new one's.
        const cached = this.cache.get(d.uri.toString());
        if (!cached || this.analysedFrom.get(cached) === d) this.forget(d.uri);
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('driftlens.files')) this.refreshAll();
      }),
    );
  }

  /** Analyses every open document (on activation and when the associations change). */
  refreshAll(): void {
    for (const document of vscode.workspace.textDocuments) this.refresh(document);
  }

  kindOf(document: vscode.TextDocument): DocumentKind | undefined {
    if (document.uri.scheme !== 'file' && document.uri.scheme !== 'untitled') return undefined;
    if (document.languageId !== 'yaml' && document.languageId !== 'json' && document.languageId !== 'jsonc') return undefined;
    const associations = vscode.workspace.getConfiguration('driftlens').get<Record<string, string>>('files.associations') ?? {};
    const folder = vscode.workspace.getWorkspaceFolder(document.uri);
    const path = folder ? vscode.workspace.asRelativePath(document.uri, false) : matchablePath(document.uri.path);
    // Only the head decides (a modeline, the drift_control key): a one-line 40 MB file is not copied to find out.
    return classifyDocument(path, document.getText(new vscode.Range(new vscode.Position(0, 0), document.positionAt(CLASSIFY_HEAD_CHARS))), associations);
  }

  /**
   * The latest analysis, possibly of an older version while the debounce runs (lenses and other
   * passive views use this, so typing is not re-analysed per keystroke); computed once if none.
   */
  peek(document: vscode.TextDocument): DriftDocument | undefined {
    const cached = this.cache.get(document.uri.toString());
    return cached && this.analysedFrom.get(cached) === document ? cached : this.get(document);
  }

  private isCurrent(entry: DriftDocument, document: vscode.TextDocument): boolean {
    return entry.version === document.version && this.analysedFrom.get(entry) === document;
  }

  /** The analysis of the document's current version, computing it now if the debounce has not run (commands). */
  get(document: vscode.TextDocument): DriftDocument | undefined {
    const key = document.uri.toString();
    const cached = this.cache.get(key);
    if (cached && this.isCurrent(cached, document)) return cached;
    return this.analyze(document);
  }

  private schedule(document: vscode.TextDocument): void {
    const key = document.uri.toString();
    clearTimeout(this.timers.get(key));
    const delay = vscode.workspace.getConfiguration('driftlens').get<number>('validation.debounceMs') ?? 200;
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        this.refresh(document);
      }, delay),
    );
  }

  private refresh(document: vscode.TextDocument): void {
    if (document.isClosed) return;
    const cached = this.cache.get(document.uri.toString());
    if (cached && this.isCurrent(cached, document)) {
      this.changed.fire(cached);
      return;
    }
    this.analyze(document);
  }

  private analyze(document: vscode.TextDocument): DriftDocument | undefined {
    const key = document.uri.toString();
    const kind = this.kindOf(document);
    if (!kind) {
      if (this.cache.delete(key)) this.closed.fire(document.uri);
      return undefined;
    }
    const started = performance.now();
    const analysis = analyzeOpenDocument(document, kind, formatForFileName(document.uri.path));
    const entry: DriftDocument = { uri: document.uri, version: document.version, kind, analysis };
    this.cache.set(key, entry);
    this.analysedFrom.set(entry, document);
    this.log.trace(`${vscode.workspace.asRelativePath(document.uri)} v${document.version} (${kind}, ${analysis.parsed.reader}): ${analysis.problems.length} problem(s) in ${(performance.now() - started).toFixed(1)} ms`);
    this.changed.fire(entry);
    return entry;
  }

  private forget(uri: vscode.Uri): void {
    const key = uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    if (this.cache.delete(key)) this.closed.fire(uri);
  }

  dispose(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    for (const d of this.disposables) d.dispose();
  }
}

/**
 * A document over the size limit is refused from its length alone, without copying its text (VS Code
 * hands extensions documents up to 50 MB). The file's bytes are read again only when the text shows
 * replacement characters, to say where the bytes that are not UTF-8 are, as the CLI does.
 */
function analyzeOpenDocument(document: vscode.TextDocument, kind: DocumentKind, format: DocumentFormat): DocumentAnalysis {
  const length = document.offsetAt(document.lineAt(document.lineCount - 1).range.end);
  if (length > MAX_DOCUMENT_BYTES) return refusedDocumentAnalysis(kind, format, documentTooLarge(length));
  const text = document.getText();
  return analyzeDocument(text, format, kind, { encodingProblems: encodingProblemsOf(document, text) });
}

function encodingProblemsOf(document: vscode.TextDocument, text: string): Problem[] | undefined {
  if (!text.includes('\ufffd') || document.uri.scheme !== 'file' || document.isDirty) return undefined;
  try {
    const bytes = readFileSync(document.uri.fsPath);
    if (bytes.length > MAX_DOCUMENT_BYTES) return undefined;
    const decoded = decodeDocumentBytes(bytes);
    // The offsets hold only if the editor decoded the file the same way (as UTF-8, not a guessed encoding).
    return decoded.text === text ? decoded.problems : undefined;
  } catch {
    return undefined; // the file went away or cannot be read: the text is all there is
  }
}
