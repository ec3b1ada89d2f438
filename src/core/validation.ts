import type { ErrorObject } from 'ajv';
import type { JsonPath, LocatedValue } from './documentModel';
import { problem, type Problem, type ProblemData, type Span } from './problems';

/**
 * Turns ajv errors into problems placed where a person fixes them: a missing property on its
 * parent's key, an unknown property on that key, a wrong value on the value.
 */

export function pointerToPath(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * A value echoed in a message with whatever precedes an @ in its authority hidden
 * (redis://user:pw@host, nats://token@host, user:pw@host:port): that part can only be credentials.
 * A URL's ?query or #fragment may carry one too (`?password=…`): hidden as well.
 */
function withoutCredentials(value: string): string {
  const hidden = value.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^/\s]*@/i, '$1***@');
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(hidden) ? hidden.replace(/([?#]).*$/s, '$1***') : hidden;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object') return Object.keys(value).length === 0 ? 'an empty mapping' : 'a mapping';
  if (typeof value === 'string') {
    const shown = withoutCredentials(value);
    return `the string ${JSON.stringify(shown.length > 40 ? shown.slice(0, 37) + '...' : shown)}`;
  }
  if (typeof value === 'number') return Number.isInteger(value) ? `the integer ${value}` : `the number ${value}`;
  return `${typeof value} ${String(value)}`;
}

const TYPE_NAMES: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  integer: 'an integer (whole seconds, no fraction)',
  number: 'a number',
  boolean: 'true or false',
  null: 'null',
};

function lastName(path: JsonPath): string | undefined {
  for (let i = path.length - 1; i >= 0; i--) if (typeof path[i] === 'string' && !/^\d+$/.test(String(path[i]))) return String(path[i]);
  return undefined;
}

function subject(path: JsonPath): string {
  const name = lastName(path);
  if (path.length === 0) return 'The document';
  const last = path[path.length - 1];
  if (typeof last === 'number' || /^\d+$/.test(String(last))) return name ? `Item ${last} of "${name}"` : `Item ${last}`;
  return `"${name}"`;
}

/** A short span for the start of a value: the root mapping's first line, not the whole file. */
function headSpan(span: Span, text: string | undefined): Span {
  if (!text) return span;
  const lineEnd = text.indexOf('\n', span.start);
  const end = lineEnd === -1 ? span.end : Math.min(span.end, lineEnd);
  return { start: span.start, end: Math.max(span.start, end) };
}

export interface ErrorMappingOptions {
  located: LocatedValue;
  /** Prefix of the validated value inside the document (e.g. ['data', 'pools']). */
  basePath?: JsonPath;
  /** Maps a path inside the validated value to the source (normalisation renames). */
  sourcePath?: (path: JsonPath) => JsonPath;
  /** The document text, to keep spans of big containers to their first line. */
  text?: string;
}

export function schemaErrorsToProblems(errors: readonly ErrorObject[], options: ErrorMappingOptions): Problem[] {
  const { located, basePath = [], sourcePath = (p) => p, text } = options;
  // A schema with its own errorMessage speaks for everything that failed beneath it.
  const explained = errors.filter((e) => typeof (e.parentSchema as { errorMessage?: unknown } | undefined)?.errorMessage === 'string');
  // Two failures of one explained schema (type and enum, say) give one message, kept once below.
  const suppressed = (e: ErrorObject): boolean =>
    e.keyword === 'if' ||
    explained.some((x) => x !== e && x.parentSchema !== e.parentSchema && (e.instancePath === x.instancePath || e.instancePath.startsWith(x.instancePath + '/')) && e.schemaPath.startsWith(x.schemaPath.slice(0, x.schemaPath.lastIndexOf('/'))));
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    if (suppressed(error)) continue;
    const path = [...basePath, ...sourcePath(pointerToPath(error.instancePath))];
    const here = located.locate(path);
    const parentSchema = error.parentSchema as { errorMessage?: string; patternErrorMessage?: string; properties?: object } | undefined;
    let span: Span = here.value;
    let message: string;
    let data: ProblemData | undefined;
    switch (error.keyword) {
      case 'required': {
        const missing = (error.params as { missingProperty: string }).missingProperty;
        span = here.key ?? headSpan(here.value, text);
        message = path.length === 0 ? `Missing required property "${missing}".` : `${subject(path)} is missing the required property "${missing}".`;
        break;
      }
      case 'additionalProperties': {
        const extra = (error.params as { additionalProperty: string }).additionalProperty;
        const at = located.locate([...basePath, ...sourcePath([...pointerToPath(error.instancePath), extra])]);
        span = at.key ?? at.value;
        const allowed = parentSchema?.properties ? Object.keys(parentSchema.properties) : [];
        data = { key: extra, allowedKeys: allowed };
        message = `Unknown property "${extra}"` + (allowed.length ? ` (allowed here: ${allowed.join(', ')}).` : ' (this mapping takes no other keys).');
        break;
      }
      case 'type': {
        const expected = String((error.params as { type: string }).type)
          .split(',')
          .map((t) => TYPE_NAMES[t] ?? t)
          .join(' or ');
        message = `${subject(path)} must be ${expected}, not ${describeValue(error.data)}.`;
        break;
      }
      case 'enum': {
        data = { allowed: (error.params as { allowedValues: unknown[] }).allowedValues };
        const allowed = data.allowed!.map((v) => JSON.stringify(v)).join(', ');
        message = `${subject(path)} must be one of ${allowed}, not ${describeValue(error.data)}.`;
        break;
      }
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum': {
        const { comparison, limit } = error.params as { comparison: string; limit: number };
        message = `${subject(path)} must be ${comparison} ${limit}, not ${describeValue(error.data)}.`;
        break;
      }
      case 'minProperties':
        message = `${subject(path)} needs at least ${(error.params as { limit: number }).limit} entr${(error.params as { limit: number }).limit === 1 ? 'y' : 'ies'}.`;
        span = here.key ?? headSpan(here.value, text);
        break;
      case 'minItems':
        message = `${subject(path)} needs at least ${(error.params as { limit: number }).limit} item(s).`;
        break;
      case 'minLength':
        message = (error.params as { limit: number }).limit === 1 ? `${subject(path)} must not be empty.` : `${subject(path)} must be at least ${(error.params as { limit: number }).limit} characters.`;
        break;
      case 'uniqueItems': {
        const { i, j } = error.params as { i: number; j: number };
        const [first, second] = [Math.min(i, j), Math.max(i, j)];
        span = located.locate([...path, second]).value;
        message = `${subject(path)} lists the same value twice (items ${first} and ${second}).`;
        break;
      }
      case 'pattern':
        // Which shared definition the value failed: its quick fix rewrites "30 seconds" as 30s.
        if (/\/definitions\/duration\//.test(error.schemaPath)) data = { format: 'duration' };
        else if (/\/definitions\/bound\//.test(error.schemaPath)) data = { format: 'bound' };
        message = `${subject(path)} ${parentSchema?.patternErrorMessage ?? `must match ${(error.params as { pattern: string }).pattern}`}, not ${describeValue(error.data)}.`;
        break;
      case 'not': {
        const text = parentSchema?.errorMessage;
        message = text ? `${subject(path)}: ${text}.` : `${subject(path)} is not allowed here.`;
        span = here.key ?? here.value;
        break;
      }
      default:
        message = `${subject(path)} ${error.message ?? 'is invalid'}.`;
    }
    if (error.keyword !== 'not' && parentSchema?.errorMessage && error.keyword !== 'required' && error.keyword !== 'additionalProperties') {
      message = `${subject(path)} ${parentSchema.errorMessage}, not ${describeValue(error.data)}.`;
    }
    const dedupe = `${span.start}:${span.end}:${message}`;
    if (seen.has(dedupe)) continue;
    seen.add(dedupe);
    problems.push(problem(span, message, error.keyword, 'error', data));
  }
  return problems;
}
