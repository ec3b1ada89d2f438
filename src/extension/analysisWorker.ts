import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { analyzeDocument, type DocumentAnalysis, type SectionInfo } from '../core/analysis';
import type { DocumentKind } from '../core/classify';
import type { DocumentFormat, ParsedDocument } from '../core/document';
import type { Problem } from '../core/problems';
import { savedFileEncodingProblems } from '../core/textDecoding';

/**
 * Analyses large documents off the extension host's thread (dist/analysisWorker.js). Two roles in
 * one bundle:
 *
 * - the keeper (started by the extension) holds the text of each large document and applies the
 *   edits the editor reports, so that typing sends a few characters, never the whole text: the
 *   host's document.getText() alone takes longer than a frame on a document of several megabytes;
 * - an analyst (started by the keeper) runs analyzeDocument on one version. A newer version of the
 *   same document terminates the analyst of the older one: its run is cancelled, not queued.
 *
 * Results carry what passive views need (problems, section hashes, kind, reader): a structured
 * clone of the data itself would take the host longer to read than the analysis saves.
 */

export interface TextChange {
  /** UTF-16 offset and length of the replaced text, in the text as the previous changes left it. */
  offset: number;
  length: number;
  text: string;
}

export interface AnalyzeJob {
  kind: DocumentKind;
  format: DocumentFormat;
  /** The file the text was read from, when it is saved: bytes that are not UTF-8 are found there. */
  fsPath?: string;
}

export type ToKeeper =
  | { type: 'begin'; key: string; version: number }
  | { type: 'append'; key: string; chunk: string }
  /** `check` is the document's length and one line of its text after the changes: a lost edit shows as a desync. */
  | { type: 'edit'; key: string; version: number; changes: TextChange[]; check: { length: number; offset: number; line: string } }
  | ({ type: 'analyze'; key: string; version: number } & AnalyzeJob)
  | { type: 'close'; key: string };

/** What the extension receives for one version: the DocumentAnalysis without data, policy, spans or canonical bytes. */
export interface AnalysisSummary {
  kind: DocumentKind;
  format: DocumentFormat;
  reader: ParsedDocument['reader'];
  problems: Problem[];
  /** The first `parsedProblems` problems are the reader's (ParsedDocument.problems). */
  parsedProblems: number;
  sections: Omit<SectionInfo, 'canonical'>[];
  ungated: DocumentAnalysis['ungated'];
  isEnvelope: boolean;
  /** Time the analyst spent, for the log. */
  ms: number;
}

export type FromKeeper =
  | { type: 'result'; key: string; version: number; summary: AnalysisSummary }
  /** The keeper's text is not the editor's (an edit went missing): send the whole text again. */
  | { type: 'desync'; key: string; version: number }
  | { type: 'failed'; key: string; version: number; error: string };

type ToAnalyst = { key: string; version: number; text: string } & AnalyzeJob;
type FromAnalyst = { key: string; version: number } & ({ summary: AnalysisSummary } | { error: string });

function analyse(job: ToAnalyst): AnalysisSummary {
  const started = performance.now();
  const analysis = analyzeDocument(job.text, job.format, job.kind, { encodingProblems: savedFileEncodingProblems(job.text, job.fsPath) });
  return {
    kind: analysis.kind,
    format: job.format,
    reader: analysis.parsed.reader,
    problems: analysis.problems,
    parsedProblems: analysis.parsed.problems.length,
    sections: analysis.sections.map(({ canonical: _canonical, ...section }) => section),
    ungated: analysis.ungated,
    isEnvelope: analysis.isEnvelope,
    ms: performance.now() - started,
  };
}

/**
 * On Linux the nice value is per thread: the analyst yields the CPU to the extension host's own
 * thread (keystrokes, other extensions) when the machine is busy. Elsewhere it keeps the default.
 */
function lowerOwnPriority(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 19);
  } catch {
    // not Linux, or not allowed: the analysis runs at the host's priority
  }
}

function runAnalyst(): void {
  lowerOwnPriority();
  parentPort!.on('message', (job: ToAnalyst) => {
    let reply: FromAnalyst;
    try {
      reply = { key: job.key, version: job.version, summary: analyse(job) };
    } catch (e) {
      reply = { key: job.key, version: job.version, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    }
    parentPort!.postMessage(reply);
  });
}

function runKeeper(): void {
  const port = parentPort!;
  const texts = new Map<string, { version: number; parts: string[]; text?: string }>();
  const running = new Map<string, { analyst: Worker; version: number }>();
  // One warm analyst: a cancelled run is replaced without waiting for a new thread to load the schemas.
  let spare: Worker | undefined;
  const post = (message: FromKeeper) => port.postMessage(message);
  const textOf = (entry: { parts: string[]; text?: string }): string => {
    if (entry.text === undefined) {
      entry.text = entry.parts.join('');
      entry.parts = [];
    }
    return entry.text;
  };
  const startAnalyst = (): Worker => {
    const analyst = new Worker(__filename, { workerData: { role: 'analyst' } });
    // A spare that fails to start is dropped; the next run starts another (and reports its failure).
    analyst.on('error', () => {
      if (spare === analyst) spare = undefined;
    });
    analyst.unref();
    return analyst;
  };
  const takeAnalyst = (): Worker => {
    const analyst = spare ?? startAnalyst();
    spare = undefined;
    return analyst;
  };
  const cancel = (key: string) => {
    const run = running.get(key);
    if (!run) return;
    running.delete(key);
    void run.analyst.terminate();
  };

  port.on('message', (message: ToKeeper) => {
    switch (message.type) {
      case 'begin':
        cancel(message.key);
        texts.set(message.key, { version: message.version, parts: [] });
        return;
      case 'append':
        texts.get(message.key)?.parts.push(message.chunk);
        return;
      case 'edit': {
        const entry = texts.get(message.key);
        if (!entry) return post({ type: 'desync', key: message.key, version: message.version });
        let text = textOf(entry);
        for (const change of message.changes) text = text.slice(0, change.offset) + change.text + text.slice(change.offset + change.length);
        entry.text = text;
        entry.version = message.version;
        const { length, offset, line } = message.check;
        if (text.length !== length || text.slice(offset, offset + line.length) !== line) {
          texts.delete(message.key);
          cancel(message.key);
          post({ type: 'desync', key: message.key, version: message.version });
        }
        return;
      }
      case 'analyze': {
        const { key, version } = message;
        const entry = texts.get(key);
        if (!entry || entry.version !== version) return post({ type: 'desync', key, version });
        cancel(key);
        const analyst = takeAnalyst();
        running.set(key, { analyst, version });
        const onMessage = (reply: FromAnalyst) => finish('summary' in reply ? { type: 'result', key, version, summary: reply.summary } : { type: 'failed', key, version, error: reply.error });
        const onError = (e: Error) => finish({ type: 'failed', key, version, error: e.stack ?? e.message });
        const onExit = (code: number) => finish({ type: 'failed', key, version, error: `the analysis thread exited (code ${code})` });
        const finish = (reply: FromKeeper) => {
          analyst.off('message', onMessage).off('error', onError).off('exit', onExit);
          if (running.get(key)?.analyst !== analyst) return; // cancelled meanwhile: a newer run answers
          running.delete(key);
          if (reply.type === 'failed' || spare) void analyst.terminate();
          else spare = analyst;
          post(reply);
        };
        analyst.on('message', onMessage).on('error', onError).on('exit', onExit);
        analyst.postMessage({ key, version, text: textOf(entry), kind: message.kind, format: message.format, fsPath: message.fsPath } satisfies ToAnalyst);
        spare ??= startAnalyst();
        return;
      }
      case 'close':
        cancel(message.key);
        texts.delete(message.key);
        return;
    }
  });
}

if (!isMainThread && parentPort) {
  if ((workerData as { role?: string } | undefined)?.role === 'analyst') runAnalyst();
  else runKeeper();
}
