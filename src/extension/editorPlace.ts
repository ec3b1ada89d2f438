import * as vscode from 'vscode';
import type { JsonValue } from '../core/canonical';
import type { DocumentKind } from '../core/classify';
import { blockMappingKeys, cursorContext, type CursorContext, type LineSource, type PathSegment } from '../core/cursorContext';
import type { DriftDocument, DriftDocuments } from './driftDocuments';

/**
 * Where the cursor is in a DriftLens YAML document, for completion, hover and refactors: read
 * from the lines around it (the document may not parse while typing) and from the latest analysis
 * (`peek()`: maybe of an older version, maybe without data while it runs elsewhere).
 */
export interface EditorPlace {
  entry: DriftDocument;
  kind: DocumentKind;
  context: CursorContext;
  /** A config document written as the Redis envelope (`data:` at the root). */
  envelope: boolean;
  /** The path of the pools section holding the cursor's topic or pool, when it is in one. */
  poolsSection?: PathSegment[];
  lines: LineSource;
}

/** Lines of a document without copying its text (lineAt reads the editor's own line array). */
export function linesOf(document: vscode.TextDocument): LineSource {
  return { lineCount: document.lineCount, line: (i) => document.lineAt(i).text };
}

const ENVELOPE_ONLY = new Set(['scope', 'scope_id', 'revision', 'updated_at', 'meta']);

export function placeAt(documents: DriftDocuments, document: vscode.TextDocument, position: vscode.Position): EditorPlace | undefined {
  if (document.languageId !== 'yaml') return undefined;
  const entry = documents.peek(document);
  if (!entry) return undefined;
  const lines = linesOf(document);
  const context = cursorContext(lines, position.line, position.character);
  if (!context) return undefined;
  const kind = entry.kind;
  let envelope = false;
  if (kind === 'config') {
    const first = context.path[0];
    if (first === 'data' || (typeof first === 'string' && ENVELOPE_ONLY.has(first))) envelope = true;
    else if (context.path.length === 0 || (context.position === 'key' && context.parentPath.length === 0)) {
      envelope = entry.analysis.data !== undefined ? entry.analysis.isEnvelope : context.presentKeys().some((k) => k === 'data' || ENVELOPE_ONLY.has(k));
    }
  }
  return { entry, kind, context, envelope, poolsSection: poolsSectionOf(kind, context.path), lines };
}

/** The pools section a path runs through: [] in a pools file, ['pools'] or ['data', 'pools'] in a config document. */
function poolsSectionOf(kind: DocumentKind, path: readonly PathSegment[]): PathSegment[] | undefined {
  if (kind === 'pools') return [];
  if (kind !== 'config') return undefined;
  if (path[0] === 'pools' || path[0] === 'Pools') return [];
  if (path[0] === 'data' && (path[1] === 'pools' || path[1] === 'Pools')) return ['data'];
  return undefined;
}

/** The section's own keys (`topics`/`Topics`, `pools`/`Pools`) come right after its path. */
export function sectionRelative(place: EditorPlace): PathSegment[] | undefined {
  if (!place.poolsSection) return undefined;
  const at = place.poolsSection.length + (place.kind === 'config' ? 1 : 0);
  return place.context.path.slice(at);
}

export function isTopicsKey(segment: PathSegment | undefined): boolean {
  return segment === 'topics' || segment === 'Topics';
}

type Obj = { [key: string]: JsonValue };
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The pools the cursor's section defines, name -> definition: from the analysis data when there is
 * some (even of an older version: pool names change rarely while one types a topic), else from a
 * scan of the `pools:` block mapping in the text (definitions unknown then).
 */
export function definedPools(place: EditorPlace): Map<string, JsonValue | undefined> {
  const sectionPath = place.poolsSection ?? [];
  const sectionKey = place.kind === 'config' ? [place.context.path[sectionPath.length] ?? 'pools'] : [];
  const data = place.entry.analysis.data;
  if (data !== undefined) {
    // analysis.data is the data map of a config document, the section itself for a section file.
    let section: JsonValue | undefined = data;
    if (place.kind === 'config') section = isObject(data) ? (data[String(sectionKey[0])] ?? data.pools ?? data.Pools) : undefined;
    const pools = isObject(section) ? (section.pools ?? section.Pools) : undefined;
    if (isObject(pools)) return new Map(Object.keys(pools).map((name) => [name, pools[name]]));
  }
  const names = blockMappingKeys(place.lines, [...sectionPath, ...sectionKey, 'pools']) ?? blockMappingKeys(place.lines, [...sectionPath, ...sectionKey, 'Pools']) ?? [];
  return new Map(names.map((name) => [name, undefined]));
}
