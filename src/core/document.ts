import { LocatedValue } from './documentModel';
import { parseYamlFast } from './fastYaml';
import { parseJsonLocated } from './jsonParse';
import { problem, type Problem } from './problems';
import { parseYamlComplete } from './yamlCompose';

export type DocumentFormat = 'yaml' | 'json';

/**
 * The largest document DriftLens reads: 8 MB of UTF-8, what a file's size says. Redis allows 512 MB
 * strings, but a runtime config beyond a few MB is a mistake to catch, and the editor must stay
 * responsive while a person types in it.
 */
export const MAX_DOCUMENT_BYTES = 8 * 1024 * 1024;

export interface ParsedDocument {
  readonly format: DocumentFormat;
  readonly located: LocatedValue;
  readonly problems: readonly Problem[];
  /** Which reader answered: the fast subset reader, the full YAML reader, or the JSON reader. */
  readonly reader: 'fast-yaml' | 'yaml' | 'json' | 'none';
}

export function formatForFileName(fileName: string): DocumentFormat {
  return /\.json$/i.test(fileName) ? 'json' : 'yaml';
}

/** The problem of a document over the size limit (`bytes` may be a lower bound: reading stopped there). */
export function documentTooLarge(bytes: number): Problem {
  const megabytes = (bytes / (1024 * 1024)).toFixed(1);
  const message = `This document is ${megabytes} MB; DriftLens reads documents up to ${MAX_DOCUMENT_BYTES / (1024 * 1024)} MB. Split it, or move bulky data out of the runtime config.`;
  return problem({ start: 0, end: 0 }, message, 'document-too-large');
}

/** A document that was not read at all, for the one problem that says why. */
export function refusedDocument(format: DocumentFormat, reason: Problem): ParsedDocument {
  return { format, located: new LocatedValue(undefined, { start: 0, end: 0 }, new Map()), problems: [reason], reader: 'none' };
}

/** UTF-8 bytes of the text, counted only when they could exceed the limit (a character takes 1 to 3 bytes). */
function exceedsSizeLimit(text: string): number | undefined {
  if (text.length > MAX_DOCUMENT_BYTES) return text.length;
  if (text.length * 3 <= MAX_DOCUMENT_BYTES) return undefined;
  const bytes = Buffer.byteLength(text, 'utf8');
  return bytes > MAX_DOCUMENT_BYTES ? bytes : undefined;
}

const LONE_CR = /\r(?!\n)/g;

/** Text -> JSON data with spans and the problems of the text itself (syntax, JSON representability). */
export function parseDocumentText(text: string, format: DocumentFormat): ParsedDocument {
  const tooLarge = exceedsSizeLimit(text);
  if (tooLarge !== undefined) return refusedDocument(format, documentTooLarge(tooLarge));
  if (format === 'json') {
    const { located, problems } = parseJsonLocated(text);
    return { format, located, problems, reader: 'json' };
  }
  // A carriage return alone ends a line in YAML 1.2 (and in the editor), but the `yaml` package reads
  // it as text. The same line breaks as line feeds keep every offset where it was.
  const yaml = text.includes('\r') ? text.replace(LONE_CR, '\n') : text;
  const fast = parseYamlFast(yaml);
  if (fast) return { format, located: fast.located, problems: fast.problems, reader: 'fast-yaml' };
  const { located, problems } = parseYamlComplete(yaml);
  return { format, located, problems, reader: 'yaml' };
}
