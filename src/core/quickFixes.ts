import type { JsonValue } from './canonical';
import type { JsonPath, LocatedValue } from './documentModel';
import { parseBound, parseGoDuration } from './duration';
import { resolvePlainScalar } from './fastYaml';
import type { Problem, Span } from './problems';

/**
 * The edits that fix a DriftLens problem, computed from the problem (and the facts it carries in
 * `data`) and the text. The editor offers them as quick fixes; they live here, beside the checks,
 * so that each fix is tested without an editor.
 */

export interface TextEdit {
  span: Span;
  text: string;
}

export interface Fix {
  title: string;
  edits: TextEdit[];
  /** The one fix to apply without asking (Auto Fix, the first of the list). */
  preferred?: boolean;
}

/** Levenshtein distance, case-insensitive (a `Draining` is one fix away from `draining`). */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const current = [i];
    for (let j = 1; j <= t.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (s[i - 1] === t[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[t.length];
}

/**
 * The candidates close enough to `word` to be what was meant, nearest first: within a third of the
 * longer word's length (at least 2 edits), or one that starts with it (`drain` -> `draining`).
 */
export function didYouMean(word: string, candidates: readonly string[]): string[] {
  const scored = candidates
    .filter((c) => c !== word)
    .map((c) => ({ c, d: editDistance(word, c), prefix: word.length >= 3 && c.toLowerCase().startsWith(word.toLowerCase()) }))
    .filter(({ c, d, prefix }) => prefix || d <= Math.max(2, Math.floor(Math.max(word.length, c.length) / 3)));
  return scored.sort((x, y) => x.d - y.d || x.c.localeCompare(y.c)).map((x) => x.c);
}

const UNIT_WORDS: [RegExp, string][] = [
  [/^(h|hr|hrs|hour|hours)$/i, 'h'],
  [/^(m|min|mins|minute|minutes)$/i, 'm'],
  [/^(s|sec|secs|second|seconds)$/i, 's'],
  [/^(ms|msec|msecs|millisecond|milliseconds)$/i, 'ms'],
  [/^(us|µs|μs|microsecond|microseconds)$/i, 'us'],
  [/^(ns|nanosecond|nanoseconds)$/i, 'ns'],
];

/**
 * A Go duration for what a person wrote in words: "30 seconds" -> 30s, "1 minute 30 seconds" ->
 * 1m30s, "1.5 hours" -> 1.5h, "250 ms" -> 250ms. Undefined when the text says no duration.
 */
export function goDurationFromText(text: string): string | undefined {
  const s = text.trim().replace(/^["']|["']$/g, '').trim();
  if (s === '') return undefined;
  if (parseGoDuration(s) !== undefined) return s;
  // A bare number: seconds, as the *_seconds fields of Cordum count.
  if (/^\d+(\.\d+)?$/.test(s)) return parseFloat(s) > 0 ? `${s}s` : undefined;
  const parts = s.replace(/,|\band\b/gi, ' ').match(/(\d+(?:\.\d+)?)\s*([a-zµμ]+)/gi);
  if (!parts || parts.join('').replace(/\s/g, '').length !== s.replace(/,|\band\b|\s/gi, '').length) return undefined;
  let out = '';
  for (const part of parts) {
    const match = /^(\d+(?:\.\d+)?)\s*([a-zµμ]+)$/i.exec(part);
    const unit = match && UNIT_WORDS.find(([re]) => re.test(match[2]))?.[1];
    if (!match || !unit) return undefined;
    out += match[1] + unit;
  }
  return parseGoDuration(out) !== undefined ? out : undefined;
}

/** A bound for what was written: "5s" -> "<= 5s", "< 30 seconds" -> "< 30s". */
export function boundFromText(text: string): string | undefined {
  const s = text.trim().replace(/^["']|["']$/g, '').trim();
  const match = /^(<=?|=<)?\s*(.+)$/.exec(s);
  if (!match) return undefined;
  const duration = goDurationFromText(match[2]);
  if (!duration) return undefined;
  const bound = `${match[1] === '<' ? '<' : '<='} ${duration}`;
  return parseBound(bound) ? bound : undefined;
}

function lineStart(text: string, at: number): number {
  return Math.max(text.lastIndexOf('\n', at - 1), text.lastIndexOf('\r', at - 1)) + 1;
}

function columnOf(text: string, at: number): number {
  return at - lineStart(text, at);
}

/** Whether only spaces (and sequence dashes) stand before `at` on its line: a block entry. */
function startsItsLine(text: string, at: number): boolean {
  return /^[ -]*$/.test(text.slice(lineStart(text, at), at));
}

/** The end of the block entry whose key starts at `keyStart`: before the next line indented no deeper. */
function blockEntryEnd(text: string, keyStart: number): number {
  const column = columnOf(text, keyStart);
  const lineBreak = /\r\n|\r|\n/g;
  lineBreak.lastIndex = keyStart;
  let match: RegExpExecArray | null;
  let end = text.length;
  while ((match = lineBreak.exec(text))) {
    const next = match.index + match[0].length;
    const rest = /^( *)(\S?)/.exec(text.slice(next, next + 4096))!;
    if (rest[2] === '') continue; // a blank line belongs to whatever follows
    // A block sequence may sit at its key's own column (`key:\n- a`): it is still the key's value.
    const sequenceEntry = rest[1].length === column && rest[2] === '-' && /^-(?:[ \t\r\n]|$)/.test(text.slice(next + column, next + column + 2));
    if (rest[1].length <= column && !sequenceEntry) {
      end = next;
      break;
    }
  }
  return end;
}

/** The end of a flow entry `key: value` starting at `keyStart`, with the comma after it. */
function flowEntryEnd(text: string, keyStart: number): number {
  let depth = 0;
  let quote = '';
  for (let i = keyStart; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++; // an escaped character, such as \", does not end the string
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') {
      if (depth === 0) return i;
      depth--;
    } else if (c === ',' && depth === 0) {
      let j = i + 1;
      while (text[j] === ' ') j++;
      return j;
    }
  }
  return text.length;
}

/**
 * Removes the entry whose key is at `key`: its whole lines in block style; in a flow mapping (and
 * in JSON) the entry with the comma after it, or, for the last entry, the comma before it.
 */
export function removeEntry(text: string, key: Span): TextEdit {
  const inFlow = text.trimStart().startsWith('{') || !startsItsLine(text, key.start) || /^[ ]*-/.test(text.slice(lineStart(text, key.start), key.start));
  if (!inFlow) return { span: { start: lineStart(text, key.start), end: blockEntryEnd(text, key.start) }, text: '' };
  const end = flowEntryEnd(text, key.start);
  if (text[end] === '}' || text[end] === ']' || end === text.length) {
    let start = key.start;
    let j = start - 1;
    while (j >= 0 && /\s/.test(text[j])) j--;
    if (text[j] === ',') start = j;
    let e = end;
    while (e > key.start && /\s/.test(text[e - 1])) e--;
    return { span: { start, end: e }, text: '' };
  }
  return { span: { start: key.start, end }, text: '' };
}

/** The source text of the value at `span` with its quotes kept as written. */
function quoteLike(original: string, value: string): string {
  if (original.startsWith('"')) return JSON.stringify(value);
  if (original.startsWith("'")) return `'${value.replace(/'/g, "''")}'`;
  return value;
}

/**
 * Defines pool `name` in the pools mapping of the section at `sectionPath`, in the style the
 * mapping already uses (flow `{requires: []}` entries or block ones), at the indentation of its entries.
 */
export function definePool(text: string, located: LocatedValue, sectionPath: JsonPath, name: string): TextEdit | undefined {
  const key = /^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$/.test(name) ? name : JSON.stringify(name);
  const section = located.locate(sectionPath);
  const sectionValue = located.value === undefined ? undefined : valueAt(located.value, sectionPath);
  if (!section.exact || typeof sectionValue !== 'object' || sectionValue === null || Array.isArray(sectionValue)) return undefined;
  const poolsName = Object.prototype.hasOwnProperty.call(sectionValue, 'pools') ? 'pools' : Object.prototype.hasOwnProperty.call(sectionValue, 'Pools') ? 'Pools' : undefined;
  // Without a pools mapping no pool is reported undefined (see poolRefs.ts): nothing to add to.
  if (!poolsName) return undefined;
  const pools = located.locate([...sectionPath, poolsName]);
  const poolsValue = (sectionValue as Record<string, JsonValue>)[poolsName];
  if (typeof poolsValue !== 'object' || poolsValue === null || Array.isArray(poolsValue)) return undefined;
  const existing = Object.keys(poolsValue);
  if (text[pools.value.start] === '{') {
    const inner = text.slice(pools.value.start + 1, pools.value.end - 1).trim();
    const separator = !inner ? '' : inner.endsWith(',') ? ' ' : ', '; // YAML allows a trailing comma: keep one, not two
    return { span: { start: pools.value.end - 1, end: pools.value.end - 1 }, text: `${separator}${key}: {requires: []}` };
  }
  if (existing.length === 0) {
    // `pools:` with nothing (or `{}` handled above): the entry goes on the next line, one level in.
    const column = columnOf(text, pools.key?.start ?? pools.value.start);
    const indent = ' '.repeat(column + 2);
    const end = pools.value.end > pools.value.start ? pools.value.end : (pools.key?.end ?? pools.value.end) + 1;
    return { span: { start: pools.value.start, end }, text: `\n${indent}${key}:\n${indent}  requires: []` };
  }
  const last = located.locate([...sectionPath, poolsName, existing[existing.length - 1]]);
  const firstEntry = located.locate([...sectionPath, poolsName, existing[0]]);
  const indent = ' '.repeat(columnOf(text, firstEntry.key?.start ?? last.value.start));
  const flowEntries = text[firstEntry.value.start] === '{';
  const entry = flowEntries ? `${key}: {requires: []}` : `${key}:\n${indent}  requires: []`;
  // After the rest of the last entry's line: a comment there stays with the line it explains.
  const at = endOfLine(text, pools.value.end);
  return { span: { start: at, end: at }, text: `\n${indent}${entry}` };
}

/** Where the line holding `offset` ends: before its CR or LF, or at the end of the text. */
function endOfLine(text: string, offset: number): number {
  const match = /[\r\n]/g;
  match.lastIndex = offset;
  return match.exec(text)?.index ?? text.length;
}

function valueAt(root: JsonValue, path: JsonPath): JsonValue | undefined {
  let current: JsonValue | undefined = root;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = Array.isArray(current) ? current[Number(segment)] : (current as Record<string, JsonValue>)[String(segment)];
  }
  return current;
}

/**
 * The quick fixes for one problem of a document. `located` is the document as read (the define-pool
 * fix needs it); the other fixes need only the text.
 */
export function fixesFor(problem: Problem, text: string, located?: LocatedValue): Fix[] {
  const written = text.slice(problem.span.start, problem.span.end);
  const data = problem.data ?? {};
  switch (problem.code) {
    case 'enum': {
      const allowed = (data.allowed ?? []).filter((v): v is string => typeof v === 'string');
      const unquoted = written.replace(/^["']|["']$/g, '');
      const near = didYouMean(unquoted, allowed);
      const others = allowed.filter((v) => !near.includes(v));
      return [...near, ...others].map((value, i) => ({
        title: i < near.length ? `Did you mean "${value}"?` : `Change to "${value}"`,
        edits: [{ span: problem.span, text: quoteLike(written, value) }],
        preferred: i === 0 && near.length > 0,
      }));
    }
    case 'additionalProperties': {
      if (!data.key) return [];
      const near = didYouMean(data.key, data.allowedKeys ?? []);
      return near.slice(0, 3).map((key, i) => ({ title: `Did you mean "${key}"?`, edits: [{ span: problem.span, text: quoteLike(written, key) }], preferred: i === 0 }));
    }
    case 'pattern': {
      const fixed = data.format === 'duration' ? goDurationFromText(written) : data.format === 'bound' ? boundFromText(written) : undefined;
      if (!fixed || fixed === written) return [];
      const value = /^[<]/.test(fixed) ? JSON.stringify(fixed) : fixed;
      return [{ title: `Write it as the Go ${data.format === 'bound' ? 'bound' : 'duration'} ${fixed}`, edits: [{ span: problem.span, text: value }], preferred: true }];
    }
    case 'ignored-by-replicas': {
      if (!data.key) return [];
      return [{ title: `Remove "${data.key}" (replicas ignore it)`, edits: [removeEntry(text, problem.span)], preferred: true }];
    }
    case 'undefined-pool': {
      if (!data.pool || !data.sectionPath || !located) return [];
      const edit = definePool(text, located, data.sectionPath, data.pool);
      return edit ? [{ title: `Define pool "${data.pool}" in pools`, edits: [edit], preferred: true }] : [];
    }
    default:
      return [];
  }
}

/**
 * The other way to write a topic's route: "p" as ["p"], or a one-pool list as "p". Both route the
 * same, but the pools hash changes, so every replica re-applies routing: the title says so.
 */
export function topicFormConversion(text: string, located: LocatedValue, topicPath: JsonPath): Fix | undefined {
  const at = located.locate(topicPath);
  if (!at.exact || !at.key || located.value === undefined) return undefined;
  const value = valueAt(located.value, topicPath);
  // Written from the value, not copied from the source: `a,b` in brackets would be two pools, and a
  // block scalar or a tag would not survive the move. An anchored node would change its aliases too.
  if (hasProperties(text, at.key.end, at.value.start)) return undefined;
  if (typeof value === 'string') {
    const written = poolNameText(value);
    return { title: `Convert to the list [${written}] (routes the same; the pools hash changes)`, edits: [{ span: at.value, text: `[${written}]` }] };
  }
  if (Array.isArray(value) && value.length === 1 && typeof value[0] === 'string') {
    const item = located.locate([...topicPath, 0]);
    if (hasProperties(text, at.value.start, item.value.start)) return undefined;
    const itemText = poolNameText(value[0]);
    // A block list sits on the lines below its key: the single value goes back beside the key.
    const from = text[at.value.start] === '[' ? at.value.start : at.key.end;
    const replacement = text[at.value.start] === '[' ? itemText : `${text.slice(at.key.end, text.indexOf(':', at.key.end) + 1)} ${itemText}`;
    return { title: `Convert to the single pool ${itemText} (routes the same; the pools hash changes)`, edits: [{ span: { start: from, end: at.value.end }, text: replacement }] };
  }
  return undefined;
}

/**
 * Whether the node at `at` has an anchor or a tag (written between `from`, the end of what precedes
 * it, and `at`, outside its span) or is an alias or a block scalar.
 */
function hasProperties(text: string, from: number, at: number): boolean {
  return /[&!]/.test(text.slice(from, at)) || /^[&!*|>]/.test(text.slice(at, at + 1));
}

/** A pool name as YAML reads it back as the same string: plain when that is safe, else double-quoted. */
function poolNameText(name: string): string {
  return /^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$/.test(name) && resolvePlainScalar(name) === name ? name : JSON.stringify(name);
}
