import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { analyzeDocument, type DocumentAnalysis } from '../core/analysis';
import { classifyDocument, matchablePath, sniffKindFromData, type DocumentKind } from '../core/classify';
import { formatForFileName } from '../core/document';
import type { Problem } from '../core/problems';
import type { SectionName } from '../core/sectionHash';
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
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `${file}: no such file` : code === 'EISDIR' ? `${file}: is a directory` : `${file}: cannot read (${code ?? String(e)})`);
  }
  const relative = path.relative(process.cwd(), path.resolve(file));
  const decided = kind ?? classifyDocument(relative.startsWith('..') ? matchablePath(path.resolve(file)) : relative, text);
  const format = formatForFileName(file);
  let analysis = analyzeDocument(text, format, decided ?? 'config', { sections });
  if (!decided) {
    const sniffed = sniffKindFromData(analysis.parsed.located.value);
    if (sniffed !== 'config') analysis = analyzeDocument(text, format, sniffed, { sections });
  }
  return { file, text, analysis, kindDecided: decided !== undefined };
}

/** `file:line:col: severity: message [code]`, the shape editors and CI log parsers understand. */
export function formatProblem(file: string, lines: TextLines, p: Problem): string {
  const { line, character } = lines.positionAt(p.span.start);
  return `${file}:${line + 1}:${character + 1}: ${p.severity}: ${p.message} [${p.code}]`;
}

export function parseKind(value: string): DocumentKind {
  if (!(KINDS as readonly string[]).includes(value)) throw new CliError(`--kind must be one of ${KINDS.join(', ')}, not "${value}"`);
  return value as DocumentKind;
}
