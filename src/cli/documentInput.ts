import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { analyzeDocument, refusedDocumentAnalysis, type DocumentAnalysis } from '../core/analysis';
import { classifyDocument, matchablePath, sniffKindFromData, type DocumentKind } from '../core/classify';
import { documentTooLarge, formatForFileName, MAX_DOCUMENT_BYTES } from '../core/document';
import { hiddenProblemsNote, problemsToShow, type Problem } from '../core/problems';
import type { SectionName } from '../core/sectionHash';
import { decodeDocumentBytes } from '../core/textDecoding';
import { TextLines } from '../core/textLines';

/** Exit statuses a CI pipeline can rely on (README lists them). */
export const EXIT = {
  ok: 0,
  problems: 1, // validation errors (nothing written), or `diff` found differences
  usage: 2, // bad option, unreadable file
  conflict: 3, // revision conflict: someone else published first; nothing written
  unavailable: 4, // Redis unreachable or the live document unreadable; nothing written
  notifyFailed: 5, // written, but the notification failed: replicas converge on their next poll
  notConfirmed: 6, // the preview was not confirmed (no --yes without a terminal)
  riskNotAccepted: 9, // the change has a risk no --accept-risk named; nothing written (`diff`: risks found)
} as const;

/** A failure printed as one line (`driftlens: ...`), with its exit status (usage by default). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
  }
}

export const KINDS: readonly DocumentKind[] = ['config', 'pools', 'timeouts', 'policy'];

export interface LoadedDocument {
  file: string;
  text: string;
  analysis: DocumentAnalysis;
  /** Whether the kind was decided by --kind or a rule (glob, modeline, content) rather than assumed. */
  kindDecided: boolean;
}

/**
 * Reads and analyses a file. Without --kind, the editor's rules decide (globs, modeline,
 * drift_control sniffing); anything else is taken for a config document.
 */
export async function loadDocument(file: string, kind: DocumentKind | undefined, sections?: readonly SectionName[]): Promise<LoadedDocument> {
  const read = await readDocumentFile(file);
  const text = read.text ?? '';
  const relative = path.relative(process.cwd(), path.resolve(file));
  const decided = kind ?? classifyDocument(relative.startsWith('..') ? matchablePath(path.resolve(file)) : relative, text);
  const format = formatForFileName(file);
  if (read.text === undefined) return { file, text, analysis: refusedDocumentAnalysis(decided ?? 'config', format, documentTooLarge(read.bytes)), kindDecided: decided !== undefined };
  const options = { sections, encodingProblems: read.problems };
  let analysis = analyzeDocument(text, format, decided ?? 'config', options);
  if (!decided) {
    const sniffed = sniffKindFromData(analysis.parsed.located.value);
    if (sniffed !== 'config') analysis = analyzeDocument(text, format, sniffed, options);
  }
  return { file, text, analysis, kindDecided: decided !== undefined };
}

/**
 * Reads a document file without trusting it: a regular file only (a FIFO would block forever, a
 * device such as /dev/zero never ends), its size checked before reading and the read bounded by the
 * limit, so a 400 MB file costs nothing. `text` is absent when the file is over the limit.
 */
async function readDocumentFile(file: string): Promise<{ text?: string; problems: Problem[]; bytes: number }> {
  let handle: FileHandle;
  try {
    // Non-blocking: opening a FIFO would otherwise wait for a writer before stat could refuse it.
    handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(
      code === 'ENOENT' ? `${file}: no such file` : code === 'EISDIR' ? `${file}: is a directory` : code === 'EACCES' ? `${file}: permission denied` : `${file}: cannot read (${code ?? String(e)})`,
    );
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new CliError(`${file}: ${notRegular(stats)}, not a regular file; DriftLens reads documents from regular files only`);
    if (stats.size > MAX_DOCUMENT_BYTES) return { problems: [], bytes: stats.size };
    // The file may have grown since stat: read on until its end, but never past the limit.
    let buffer = Buffer.allocUnsafe(stats.size + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > MAX_DOCUMENT_BYTES) return { problems: [], bytes: length };
        const grown = Buffer.allocUnsafe(Math.min(buffer.length * 2, MAX_DOCUMENT_BYTES + 1));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return { ...decodeDocumentBytes(buffer.subarray(0, length)), bytes: length };
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  } finally {
    await handle.close();
  }
}

function notRegular(stats: Stats): string {
  if (stats.isDirectory()) return 'is a directory';
  if (stats.isFIFO()) return 'is a named pipe (FIFO)';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'is a device';
  if (stats.isSocket()) return 'is a socket';
  return 'is a special file';
}

/** `file:line:col: error|warning|note: message [code]`, the shape editors and CI log parsers understand. */
export function formatProblem(file: string, lines: TextLines, p: Problem): string {
  const { line, character } = lines.positionAt(p.span.start);
  // "note", as compilers print information that needs no action.
  return `${file}:${line + 1}:${character + 1}: ${p.severity === 'info' ? 'note' : p.severity}: ${p.message} [${p.code}]`;
}

/**
 * One file's problems as lines to print, in document order, capped as the editor caps them
 * (errors first), the last line saying how many were left out. Every command that lists a file's
 * problems prints them through this.
 */
export function formatProblems(file: string, text: string, problems: readonly Problem[]): string[] {
  const lines = new TextLines(text);
  const { shown, hidden } = problemsToShow(problems);
  const out = shown.map((p) => formatProblem(file, lines, p));
  if (hidden.length > 0) out.push(`${file}: ${hiddenProblemsNote(hidden)}`);
  return out;
}

export function parseKind(value: string): DocumentKind {
  if (!(KINDS as readonly string[]).includes(value)) throw new CliError(`--kind must be one of ${KINDS.join(', ')}, not "${value}"`);
  return value as DocumentKind;
}
