import { Worker } from 'node:worker_threads';
import type { AnalysisSummary, AnalyzeJob, FromKeeper, TextChange, ToKeeper } from './analysisWorker';

export type AnalysisOutcome =
  | { status: 'done'; summary: AnalysisSummary }
  /** A newer version of the document was sent for analysis before this one was answered. */
  | { status: 'superseded' }
  /** The worker's text is not the editor's: send the whole text (begin, append) and ask again. */
  | { status: 'desync' };

/**
 * The extension host's side of dist/analysisWorker.js (no `vscode` here, so unit tests drive it
 * against the real worker). The worker starts on first use. When it cannot start or dies, every
 * pending and later analyze() rejects and `onFailure` hears why once: the caller then analyses on
 * its own thread, as before the worker existed.
 */
export class AnalysisClient {
  private worker: Worker | undefined;
  private failure: string | undefined;
  private readonly pending = new Map<string, { version: number; resolve: (outcome: AnalysisOutcome) => void; reject: (error: Error) => void }>();

  constructor(
    private readonly workerFile: string,
    private readonly onFailure: (reason: string) => void,
  ) {}

  /** Why the worker is not used, once it failed. */
  get failed(): string | undefined {
    return this.failure;
  }

  /** Starts a document's text over at `version`; the text follows in append() chunks. */
  begin(key: string, version: number): void {
    this.post({ type: 'begin', key, version });
  }

  append(key: string, chunk: string): void {
    this.post({ type: 'append', key, chunk });
  }

  edit(key: string, version: number, changes: TextChange[], check: { length: number; offset: number; line: string }): void {
    this.post({ type: 'edit', key, version, changes, check });
  }

  /** Analyses the worker's text of `key` at `version`; an earlier call for the same key resolves as superseded. */
  analyze(key: string, version: number, job: AnalyzeJob): Promise<AnalysisOutcome> {
    if (this.failure !== undefined) return Promise.reject(new Error(this.failure));
    this.pending.get(key)?.resolve({ status: 'superseded' });
    return new Promise((resolve, reject) => {
      this.pending.set(key, { version, resolve, reject });
      this.post({ type: 'analyze', key, version, ...job });
    });
  }

  close(key: string): void {
    this.pending.get(key)?.resolve({ status: 'superseded' });
    this.pending.delete(key);
    if (this.worker) this.post({ type: 'close', key });
  }

  dispose(): void {
    this.fail('the extension is shutting down', false);
  }

  private post(message: ToKeeper): void {
    if (this.failure !== undefined) return;
    try {
      this.start().postMessage(message);
    } catch (e) {
      this.fail(`the analysis worker cannot start: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.workerFile);
    // The host may exit while a long run is under way; the worker must not hold it.
    worker.unref();
    worker.on('message', (message: FromKeeper) => this.receive(message));
    worker.on('error', (e) => this.fail(`the analysis worker failed: ${e.stack ?? e.message}`));
    worker.on('exit', (code) => this.fail(`the analysis worker exited (code ${code})`));
    this.worker = worker;
    return worker;
  }

  private receive(message: FromKeeper): void {
    const waiting = this.pending.get(message.key);
    if (!waiting) return;
    if (message.type === 'desync') {
      this.pending.delete(message.key);
      waiting.resolve({ status: 'desync' });
      return;
    }
    if (waiting.version !== message.version) return; // an answer to a run that was superseded
    this.pending.delete(message.key);
    if (message.type === 'result') waiting.resolve({ status: 'done', summary: message.summary });
    else waiting.reject(new Error(`the analysis of version ${message.version} failed in the worker: ${message.error}`));
  }

  private fail(reason: string, report = true): void {
    if (this.failure !== undefined) return;
    this.failure = reason;
    const worker = this.worker;
    this.worker = undefined;
    void worker?.terminate();
    for (const waiting of this.pending.values()) waiting.reject(new Error(reason));
    this.pending.clear();
    if (report) this.onFailure(reason);
  }
}
