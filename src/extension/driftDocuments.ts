import * as path from 'node:path';
import * as vscode from 'vscode';
import { analyzeDocument, refusedDocumentAnalysis, type DocumentAnalysis } from '../core/analysis';
import type { DocumentKind } from '../core/classify';
import { documentTooLarge, formatForFileName, MAX_DOCUMENT_BYTES, type DocumentFormat } from '../core/document';
import { LocatedValue } from '../core/documentModel';
import { savedFileEncodingProblems } from '../core/textDecoding';
import { lineEndingChange } from '../core/textLines';
import { AnalysisClient } from './analysisClient';
import { CLASSIFY_HEAD_CHARS, documentKind } from './documentKind';
import type { AnalysisSummary } from './analysisWorker';
import type { ComponentLog } from './log';

/**
 * Documents longer than this (UTF-16 code units) are analysed in the worker. Measured on the
 * Cordum-shaped bench documents: about 8 ms on the host at 50 KB, 17 ms at 100 KB, 44 ms at 200 KB
 * and 150 ms at 1 MB; below this size the answer comes at once and costs the host under 15 ms.
 */
export const WORKER_THRESHOLD_CHARS = 64 * 1024;

/** The text goes to the worker in chunks of about this many characters, one per host task, when a large document opens. */
const CHUNK_CHARS = 256 * 1024;

export interface DriftDocument {
  uri: vscode.Uri;
  version: number;
  kind: DocumentKind;
  analysis: DocumentAnalysis;
  /**
   * True when the analysis came from the worker (large documents, passive views): it has the
   * problems, sections with their hashes (not their canonical bytes), isEnvelope and the reader,
   * but no data, no policy and no spans (parsed.located.value is undefined). get() computes the
   * complete analysis for commands.
   */
  offThread: boolean;
}

/** What stands in for the spans a worker analysis does not carry. */
const NOT_LOCATED = new LocatedValue(undefined, { start: 0, end: 0 }, new Map());

function fromSummary(summary: AnalysisSummary): DocumentAnalysis {
  return {
    kind: summary.kind,
    parsed: { format: summary.format, reader: summary.reader, problems: summary.problems.slice(0, summary.parsedProblems), located: NOT_LOCATED },
    problems: summary.problems,
    sections: summary.sections,
    ungated: summary.ungated,
    isEnvelope: summary.isEnvelope,
  };
}

/**
 * The document's length without copying its text. offsetAt makes the extension host re-add the
 * lengths of every line below the last edit, so an analysis uses the length kept beside the
 * worker's copy when it has one (DriftDocuments.lengthNow).
 */
function lengthOf(document: vscode.TextDocument): number {
  return document.offsetAt(document.lineAt(document.lineCount - 1).range.end);
}

/** The file a document's text was read from, while it is saved (its bytes then say what the text should be). */
function savedPath(document: vscode.TextDocument): string | undefined {
  return document.uri.scheme === 'file' && !document.isDirty ? document.uri.fsPath : undefined;
}

/** Lets the host run other tasks (keystrokes, other extensions) between two chunks of work. */
const yieldToHost = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Knows which open documents are DriftLens documents and holds one analysis per document version,
 * shared by diagnostics, hash lenses and commands (parse once per version). Edits are debounced;
 * listeners hear about each new analysis.
 *
 * A large document is analysed in a worker thread (analysisWorker.ts), which keeps its own copy of
 * the text: it gets the text once, in chunks, then only the edits. A newer version cancels the
 * run of an older one; an answer for a version that is no longer current is never shown. If the
 * worker cannot start or dies, analysis goes on here, as for small documents.
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
  private readonly worker: AnalysisClient;
  /** The version of each document whose text the worker holds, its length, and the document object it came from. */
  private readonly synced = new Map<string, { document: vscode.TextDocument; version: number; length: number }>();
  /** A token per document while its text is being sent: a newer send (or a close) replaces it. */
  private readonly syncing = new Map<string, object>();
  /**
   * Open documents found not to be DriftLens documents, whose head has not been edited since.
   * documentKind reads only the head, so an edit past it cannot make them one: typing there costs
   * DriftLens nothing, not even a debounce, and the lenses and quick fixes VS Code asks for after
   * every change and cursor move do not classify them again (peek, get).
   */
  private readonly notDriftDocuments = new WeakSet<vscode.TextDocument>();
  /** The version each document is being analysed at in the worker. */
  private readonly inFlight = new Map<string, { document: vscode.TextDocument; version: number }>();

  /** Fires after a document version was analysed (debounced while typing). */
  readonly onDidAnalyze = this.changed.event;
  /** Fires when a document stops being a DriftLens document (closed, or no longer matches). */
  readonly onDidForget = this.closed.event;

  constructor(
    private readonly log: ComponentLog,
    workerFile = path.join(__dirname, 'analysisWorker.js'),
  ) {
    this.worker = new AnalysisClient(workerFile, (reason) => {
      log.error(`${reason}; large documents are analysed on the extension host from now on`);
      this.synced.clear();
      this.syncing.clear();
    });
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((d) => this.refresh(d)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length === 0) return;
        if (this.notDriftDocuments.has(e.document)) {
          if (e.contentChanges.every((c) => c.rangeOffset >= CLASSIFY_HEAD_CHARS)) return;
          // An edit in its head may make it one: classified afresh, at once for a command (get), after the debounce for the rest.
          this.notDriftDocuments.delete(e.document);
        }
        this.forwardEdit(e);
        this.schedule(e.document);
      }),
      vscode.workspace.onDidCloseTextDocument((d) => {
        // A late close of an untitled document whose URI a new one already took: not the new one's.
        const cached = this.cache.get(d.uri.toString());
        if (!cached || this.analysedFrom.get(cached) === d) this.forget(d.uri);
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('driftlens.files')) this.refreshAll();
      }),
      // The associations match paths relative to the workspace folder: new folders, new kinds.
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.refreshAll()),
    );
  }

  /** Analyses every open document (on activation and when the associations change). */
  refreshAll(): void {
    for (const document of vscode.workspace.textDocuments) this.refresh(document);
  }

  kindOf(document: vscode.TextDocument): DocumentKind | undefined {
    return documentKind(document);
  }

  /**
   * The latest analysis, possibly of an older version while the debounce runs (lenses and other
   * passive views use this, so typing is not re-analysed per keystroke); computed once if none.
   * For a large document it may come from the worker (`offThread`: no data, no spans), and it is
   * undefined until the worker's first answer (onDidAnalyze fires then).
   */
  peek(document: vscode.TextDocument): DriftDocument | undefined {
    const cached = this.cache.get(document.uri.toString());
    if (cached && this.analysedFrom.get(cached) === document) return cached;
    // VS Code asks for lenses in every YAML file after every change: one known not to be a DriftLens
    // document is not classified again for them.
    return this.notDriftDocuments.has(document) ? undefined : this.analyze(document);
  }

  private isCurrent(entry: DriftDocument, document: vscode.TextDocument): boolean {
    return entry.version === document.version && this.analysedFrom.get(entry) === document;
  }

  /**
   * The analysis of the document's current version if there is one already, never computing it:
   * it may come from the worker (`offThread`: hashes, no data). Enough to copy a hash the lens shows.
   */
  current(document: vscode.TextDocument): DriftDocument | undefined {
    const cached = this.cache.get(document.uri.toString());
    return cached && this.isCurrent(cached, document) ? cached : undefined;
  }

  /**
   * The complete analysis of the document's current version (data, spans, canonical bytes),
   * computing it now if there is none (commands). On a large document that is the host's own
   * analysis of its exact text: a command the person ran waits for it (about 2 s at 8 MB).
   */
  get(document: vscode.TextDocument): DriftDocument | undefined {
    const key = document.uri.toString();
    const cached = this.cache.get(key);
    if (cached && this.isCurrent(cached, document) && !cached.offThread) return cached;
    return this.notDriftDocuments.has(document) ? undefined : this.analyze(document, { here: true });
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

  /**
   * Analyses the current version: here for a small document (or when `here`, for a command), else
   * in the worker, returning undefined; the worker's answer is stored and announced when it comes.
   */
  private analyze(document: vscode.TextDocument, { here = false } = {}): DriftDocument | undefined {
    const key = document.uri.toString();
    const kind = this.kindOf(document);
    if (!kind) {
      this.notDriftDocuments.add(document);
      this.dropWorkerText(key);
      if (this.cache.delete(key)) this.closed.fire(document.uri);
      return undefined;
    }
    this.notDriftDocuments.delete(document);
    const length = this.lengthNow(key, document);
    const offThread = length > WORKER_THRESHOLD_CHARS && length <= MAX_DOCUMENT_BYTES && this.worker.failed === undefined;
    if (offThread && !here) {
      void this.analyzeInWorker(document, kind);
      return undefined;
    }
    if (!offThread) this.dropWorkerText(key);
    const started = performance.now();
    const analysis = analyzeOpenDocument(document, kind, formatForFileName(document.uri.path), length);
    this.log.trace(`${vscode.workspace.asRelativePath(document.uri)} v${document.version} (${kind}, ${analysis.parsed.reader}): ${analysis.problems.length} problem(s) in ${(performance.now() - started).toFixed(1)} ms`);
    return this.store(document, { uri: document.uri, version: document.version, kind, analysis, offThread: false });
  }

  private store(document: vscode.TextDocument, entry: DriftDocument): DriftDocument {
    this.cache.set(document.uri.toString(), entry);
    this.analysedFrom.set(entry, document);
    this.changed.fire(entry);
    return entry;
  }

  private async analyzeInWorker(document: vscode.TextDocument, kind: DocumentKind): Promise<void> {
    const key = document.uri.toString();
    const version = document.version;
    const running = this.inFlight.get(key);
    if (running && running.document === document && running.version === version) return;
    this.inFlight.set(key, { document, version });
    const format = formatForFileName(document.uri.path);
    try {
      // A desync (an edit the worker missed) is answered by sending the whole text once more.
      for (let attempt = 0; attempt < 2; attempt++) {
        if (!this.isSynced(key, document) && !(await this.sendText(document))) return;
        if (document.isClosed || document.version !== version) return; // edited meanwhile: that version's own run follows
        const outcome = await this.worker.analyze(key, version, { kind, format, fsPath: savedPath(document) });
        if (outcome.status === 'superseded') return;
        if (outcome.status === 'desync') {
          this.log.warn(`${vscode.workspace.asRelativePath(document.uri)} v${version}: the worker's copy of the text differs from the editor's; sending it again`);
          this.synced.delete(key);
          continue;
        }
        // Never an older version as current: its ranges and hashes are not the text's.
        if (document.isClosed || document.version !== version) return;
        const current = this.cache.get(key);
        if (current && this.isCurrent(current, document)) return; // a command analysed this version here meanwhile
        const { summary } = outcome;
        this.log.trace(`${vscode.workspace.asRelativePath(document.uri)} v${version} (${kind}, ${summary.reader}, worker): ${summary.problems.length} problem(s) in ${summary.ms.toFixed(1)} ms`);
        this.store(document, { uri: document.uri, version, kind, analysis: fromSummary(summary), offThread: true });
        return;
      }
      this.log.warn(`${vscode.workspace.asRelativePath(document.uri)} v${version}: analysed on the extension host (the worker's text kept differing)`);
      this.analyze(document, { here: true });
    } catch (e) {
      // The worker failed (the client logged why, once, if it is gone for good): this version is analysed here.
      this.log.warn(`${vscode.workspace.asRelativePath(document.uri)} v${version}: ${e instanceof Error ? e.message : String(e)}; analysing on the extension host`);
      try {
        if (!document.isClosed && document.version === version) this.analyze(document, { here: true });
      } catch (error) {
        this.log.error(`${vscode.workspace.asRelativePath(document.uri)} v${version} cannot be analysed: ${error instanceof Error ? error.message : String(error)}`);
      }
    } finally {
      if (this.inFlight.get(key)?.version === version) this.inFlight.delete(key);
    }
  }

  /** The document's length: the one kept with the worker's copy when that is this version's, else asked of the host. */
  private lengthNow(key: string, document: vscode.TextDocument): number {
    const synced = this.synced.get(key);
    return synced && synced.document === document && synced.version === document.version ? synced.length : lengthOf(document);
  }

  private isSynced(key: string, document: vscode.TextDocument): boolean {
    const synced = this.synced.get(key);
    return synced !== undefined && synced.document === document && synced.version === document.version;
  }

  /**
   * Sends the whole text to the worker, a chunk per host task (document.getText() of 8 MB alone
   * blocks the host for about 100 ms). An edit meanwhile starts it over. False when a newer send
   * or a close took over.
   */
  private async sendText(document: vscode.TextDocument): Promise<boolean> {
    const key = document.uri.toString();
    const token = {};
    this.syncing.set(key, token);
    this.synced.delete(key);
    const superseded = () => this.syncing.get(key) !== token || document.isClosed || this.worker.failed !== undefined;
    for (;;) {
      const version = document.version;
      this.worker.begin(key, version);
      let line = 0;
      let lines = 4096;
      let length = 0;
      while (line < document.lineCount && document.version === version) {
        const end = Math.min(document.lineCount, line + lines);
        const to = end === document.lineCount ? document.lineAt(end - 1).range.end : new vscode.Position(end, 0);
        const chunk = document.getText(new vscode.Range(new vscode.Position(line, 0), to));
        this.worker.append(key, chunk);
        length += chunk.length;
        line = end;
        lines = Math.max(64, Math.min(1 << 20, Math.round((lines * CHUNK_CHARS) / Math.max(1, chunk.length))));
        await yieldToHost();
        if (superseded()) return false;
      }
      if (document.version === version) {
        this.syncing.delete(key);
        this.synced.set(key, { document, version, length });
        return true;
      }
    }
  }

  /** Keeps the worker's copy of the text in step with the editor: the changes, plus a check it can verify. */
  private forwardEdit(e: vscode.TextDocumentChangeEvent): void {
    const document = e.document;
    const key = document.uri.toString();
    const synced = this.synced.get(key);
    if (!synced || synced.document !== document) {
      // A send under way starts over by itself (it sees the version move).
      return;
    }
    const changes = e.contentChanges.map((c) => ({ offset: c.rangeOffset, length: c.rangeLength, text: c.text }));
    // The check the worker verifies: the length both sides kept, and the text of the line the last
    // change ends on, read from the editor (a lost or misapplied edit shows in either). Found from
    // the change itself where it can be, since positionAt and offsetAt cost O(lines) after an edit.
    synced.length += changes.reduce((sum, c) => sum + c.text.length - c.length, 0);
    const last = e.contentChanges[e.contentChanges.length - 1];
    const ends = lineEndingChange(last);
    const line = ends ? document.lineAt(ends.line) : document.lineAt(document.positionAt(last.rangeOffset + last.text.length).line);
    this.worker.edit(key, document.version, changes, { length: synced.length, offset: ends ? ends.offset : document.offsetAt(line.range.start), line: line.text });
    synced.version = document.version;
  }

  /** The worker forgets a document's text (closed, no longer a DriftLens document, or now small). */
  private dropWorkerText(key: string): void {
    const sending = this.syncing.delete(key);
    const held = this.synced.delete(key);
    this.inFlight.delete(key);
    if (sending || held) this.worker.close(key);
  }

  private forget(uri: vscode.Uri): void {
    const key = uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    this.dropWorkerText(key);
    if (this.cache.delete(key)) this.closed.fire(uri);
  }

  dispose(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    for (const d of this.disposables) d.dispose();
    this.worker.dispose();
  }
}

/**
 * A document over the size limit is refused from its length alone, without copying its text (VS Code
 * hands extensions documents up to 50 MB). The file's bytes are read again only when the text shows
 * replacement characters, to say where the bytes that are not UTF-8 are, as the CLI does.
 */
function analyzeOpenDocument(document: vscode.TextDocument, kind: DocumentKind, format: DocumentFormat, length: number): DocumentAnalysis {
  if (length > MAX_DOCUMENT_BYTES) return refusedDocumentAnalysis(kind, format, documentTooLarge(length));
  const text = document.getText();
  return analyzeDocument(text, format, kind, { encodingProblems: savedFileEncodingProblems(text, savedPath(document)) });
}
