import { LocatedValue } from './documentModel';
import { parseYamlFast } from './fastYaml';
import { parseJsonLocated } from './jsonParse';
import { problem, type Problem } from './problems';
import { parseYamlComplete } from './yamlCompose';

export type DocumentFormat = 'yaml' | 'json';

/**
 * The largest document DriftLens reads, in UTF-16 characters (about 8 MB of ASCII). Redis allows
 * 512 MB strings, but a runtime config beyond a few MB is a mistake to catch, and the editor must
 * stay responsive while a person types in it.
 */
export const MAX_DOCUMENT_CHARS = 8 * 1024 * 1024;

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

/** Text -> JSON data with spans and the problems of the text itself (syntax, JSON representability). */
export function parseDocumentText(text: string, format: DocumentFormat): ParsedDocument {
  if (text.length > MAX_DOCUMENT_CHARS) {
    const megabytes = (text.length / (1024 * 1024)).toFixed(1);
    const message = `This document is ${megabytes} MB; DriftLens reads documents up to ${MAX_DOCUMENT_CHARS / (1024 * 1024)} MB. Split it, or move bulky data out of the runtime config.`;
    return {
      format,
      located: new LocatedValue(undefined, { start: 0, end: 0 }, new WeakMap()),
      problems: [problem({ start: 0, end: 0 }, message, 'document-too-large')],
      reader: 'none',
    };
  }
  if (format === 'json') {
    const { located, problems } = parseJsonLocated(text);
    return { format, located, problems, reader: 'json' };
  }
  const fast = parseYamlFast(text);
  if (fast) return { format, located: fast.located, problems: fast.problems, reader: 'fast-yaml' };
  const { located, problems } = parseYamlComplete(text);
  return { format, located, problems, reader: 'yaml' };
}
