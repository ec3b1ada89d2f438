import type { JsonValue } from './canonical';
import type { DocumentKind } from './classify';
import { parseDocumentText, refusedDocument, type DocumentFormat, type ParsedDocument } from './document';
import type { JsonPath } from './documentModel';
import { policyFromData, policySemanticProblems, type DriftPolicy } from './policy';
import { verifySemanticProblems } from './verifyPolicy';
import { checkSetAsideMembers, setAsideLargeMaps, type SetAsideMap } from './largeMaps';
import { poolCrossReferences } from './poolRefs';
import { appendProblems, problem, type Problem, type Span } from './problems';
import { validatorFor, type SchemaName } from './schemas';
import { HASH_GATED_SECTIONS, hashValidSection, normaliseSection, type NormalisedSection, type SectionName } from './sectionHash';
import { schedulerSection, type UngatedSection } from './schedulerSection';
import { pointerToPath, schemaErrorsToProblems } from './validation';

/**
 * One pass over a document version: parse, validate, hash. Diagnostics, hash lenses, the CLI and
 * publishing all read this result, so a document is never parsed twice for one version.
 */

export interface SectionInfo {
  name: SectionName;
  /** Where the section starts (its key in a config document, the first line of a section file). */
  anchor: Span;
  /** What replicas compute; absent when the section is invalid (replicas then keep their last applied hash). */
  hash?: string;
  /** The exact canonical JSON the hash covers. */
  canonical?: string;
  /** Why there is no hash. */
  reason?: string;
}

export interface DocumentAnalysis {
  kind: DocumentKind;
  parsed: ParsedDocument;
  problems: Problem[];
  sections: SectionInfo[];
  /** Sections replicas re-apply on every reload with no hash gate (Cordum's `scheduler`), for config documents. */
  ungated: UngatedSection[];
  /** For config documents: whether the text is the Redis envelope rather than the bare data map. */
  isEnvelope: boolean;
  /** For config documents: the data map (what is published); for section files: the section. */
  data?: JsonValue;
  /** For drift policies: the policy read from the document (only when it has no errors). */
  policy?: DriftPolicy;
}

export interface AnalyzeOptions {
  /** Which sections are hash-gated (from the drift policy); Cordum gates pools and timeouts. */
  sections?: readonly SectionName[];
  /** Problems of the bytes the text was decoded from (bytes that are not UTF-8): the data is not what the file says. */
  encodingProblems?: readonly Problem[];
  /**
   * Check large mappings whole with ajv instead of entry by entry beside it (largeMaps.ts): slower
   * on large documents, with the same problems. The reference the tests compare with.
   */
  largeMapsWhole?: boolean;
}

type Obj = { [key: string]: JsonValue };
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const SYNTAX_CODES = new Set(['yaml-syntax', 'json-syntax', 'document-too-large', 'nesting-too-deep', 'yaml-multiple-documents']);

function firstLine(span: Span, text: string): Span {
  const lineBreak = /[\r\n]/g;
  lineBreak.lastIndex = span.start;
  const lineEnd = lineBreak.exec(text)?.index ?? -1;
  return { start: span.start, end: lineEnd === -1 ? Math.max(span.start, span.end) : Math.min(Math.max(span.end, span.start), lineEnd) };
}

/** The analysis of a document that was not read (too large, say): the one problem that says why. */
export function refusedDocumentAnalysis(kind: DocumentKind, format: DocumentFormat, reason: Problem): DocumentAnalysis {
  return { kind, parsed: refusedDocument(format, reason), problems: [reason], sections: [], ungated: [], isEnvelope: false };
}

export function analyzeDocument(text: string, format: DocumentFormat, kind: DocumentKind, options: AnalyzeOptions = {}): DocumentAnalysis {
  let parsed = parseDocumentText(text, format);
  if (options.encodingProblems?.length) parsed = { ...parsed, problems: [...options.encodingProblems, ...parsed.problems] };
  const problems: Problem[] = [...parsed.problems];
  const analysis: DocumentAnalysis = { kind, parsed, problems, sections: [], ungated: [], isEnvelope: false };
  const root = parsed.located.value;
  if (root === undefined || problems.some((p) => SYNTAX_CODES.has(p.code))) return analysis;
  if (root === null) {
    problems.push(problem({ start: 0, end: 0 }, 'The document is empty.', 'empty-document'));
    return analysis;
  }
  const located = parsed.located;
  const gated = options.sections ?? HASH_GATED_SECTIONS;

  if (kind === 'policy') {
    const validate = validatorFor('drift-policy');
    if (!validate(root)) {
      appendProblems(problems, schemaErrorsToProblems(validate.errors ?? [], { located, text }));
    } else {
      appendProblems(problems, policySemanticProblems(located));
      appendProblems(problems, verifySemanticProblems(located, text));
      analysis.policy = policyFromData(root);
    }
    return analysis;
  }

  // The view replicas validate: each gated section normalised as Cordum does before its schema.
  let base: JsonPath = [];
  let data: JsonValue = root;
  if (kind === 'config') {
    analysis.isEnvelope = isObject(root) && Object.prototype.hasOwnProperty.call(root, 'data');
    if (analysis.isEnvelope) {
      base = ['data'];
      data = (root as Obj).data;
    }
  }
  analysis.data = data;
  const normalised = new Map<SectionName, NormalisedSection>();
  // Large mappings are checked entry by entry beside ajv (see largeMaps.ts).
  const setAside: SetAsideMap[] = [];
  const schema: SchemaName = kind === 'config' ? 'config-document' : kind;
  const setAsideFrom = (name: SectionName, value: JsonValue, at: string[]) => (options.largeMapsWhole ? value : setAsideLargeMaps(schema, at, name, value, located, setAside));
  let view: JsonValue;
  if (kind === 'config') {
    let viewData: JsonValue = data;
    if (isObject(data)) {
      viewData = { ...data };
      for (const name of gated) {
        if (Object.prototype.hasOwnProperty.call(data, name)) {
          const n = normaliseSection(name, data[name]);
          normalised.set(name, n);
          viewData[name] = setAsideFrom(name, n.value, [...base.map(String), name]);
        }
      }
    }
    view = analysis.isEnvelope ? { ...(root as Obj), data: viewData } : viewData;
  } else {
    const n = normaliseSection(kind, root);
    normalised.set(kind, n);
    view = setAsideFrom(kind, n.value, []);
  }

  const validate = validatorFor(schema);
  const errors = validate(view) ? [] : [...(validate.errors ?? [])];
  for (const error of checkSetAsideMembers(setAside)) errors.push(error);
  const sectionOf = (instancePath: string): SectionName | undefined => {
    const path = pointerToPath(instancePath);
    if (kind !== 'config') return kind;
    const name = path[base.length];
    return path.length > base.length && base.every((b, i) => path[i] === b) && normalised.has(name as SectionName) ? (name as SectionName) : undefined;
  };
  const sourcePath = (path: JsonPath): JsonPath => {
    if (kind !== 'config') return normalised.get(kind)!.sourcePath(path);
    const name = path[base.length] as SectionName;
    const n = normalised.get(name);
    if (!n || path.length <= base.length || !base.every((b, i) => path[i] === b)) return path;
    return [...base, name, ...n.sourcePath(path.slice(base.length + 1))];
  };
  // A value JSON cannot hold was already reported (and read as null): its type error would be noise.
  const unrepresentable = new Set(problems.filter((p) => p.code === 'json-non-finite').map((p) => p.span.start));
  appendProblems(problems, schemaErrorsToProblems(errors, { located, sourcePath, text }).filter((p) => !unrepresentable.has(p.span.start)));

  if (kind === 'config') {
    const scheduler = schedulerSection(data, base, located);
    if (scheduler.section) analysis.ungated.push(scheduler.section);
    appendProblems(problems, scheduler.problems);
  }

  for (const [name, n] of normalised) {
    const sectionPath = kind === 'config' ? [...base, name] : [];
    for (const ignored of n.ignored) {
      const at = located.locate([...sectionPath, ignored.key]);
      problems.push(problem(at.key ?? at.value, ignored.reason, 'ignored-by-replicas', 'warning', { key: ignored.key }));
    }
    if (name === 'pools') appendProblems(problems, poolCrossReferences(n.value, located, sectionPath, n.sourcePath));
    const where = located.locate(sectionPath);
    const anchor = kind === 'config' ? (where.key ?? where.value) : firstLine(located.rootSpan, text);
    // Count what the person sees (ajv also reports each failed oneOf branch).
    const sectionSpan = kind === 'config' ? where.value : located.rootSpan;
    const sectionErrors = errors.some((e) => sectionOf(e.instancePath) === name)
      ? Math.max(1, problems.filter((p) => p.severity === 'error' && p.span.start >= sectionSpan.start && p.span.end <= sectionSpan.end).length)
      : 0;
    if (sectionErrors > 0) {
      analysis.sections.push({ name, anchor, reason: `${sectionErrors} schema error${sectionErrors === 1 ? '' : 's'}: replicas reject this ${name} section and keep the one they applied last.` });
    } else {
      const result = hashValidSection(name, n, (object) => located.memberNames(object));
      analysis.sections.push({ name, anchor, hash: result.hash, canonical: result.canonical });
    }
  }
  return analysis;
}

